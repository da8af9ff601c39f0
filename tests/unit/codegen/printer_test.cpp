// The emitters' printer: placeholders, indentation, doc comments, wrapping.
#include "printer.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace {

using doors::codegen::detail::Printer;

TEST(Printer, Print_ReplacesVariablesAndDollarDollar) {
  Printer sut;
  sut.print("$a$ costs $$$b$\n", {{"a", "x"}, {"b", "5"}});
  EXPECT_EQ(sut.text(), "x costs $5\n");
}

TEST(Printer, Print_UnknownVariable_Throws) {
  Printer sut;
  EXPECT_THROW(sut.print("$nope$\n"), std::logic_error);
  EXPECT_THROW(sut.print("$open\n"), std::logic_error);
}

TEST(Printer, Indent_IndentsNonEmptyLinesByTwo) {
  Printer sut;
  sut.print("a {\n");
  sut.indent();
  sut.print("b;\n\nc;\n");
  sut.outdent();
  sut.print("}\n");
  EXPECT_EQ(sut.text(), "a {\n  b;\n\n  c;\n}\n");
}

TEST(Printer, DocComment_OneCommentLinePerLine) {
  Printer sut;
  sut.indent();
  sut.doc_comment("First line.\n\nThird, trailing space \nends in \\\n");
  EXPECT_EQ(sut.text(), "  // First line.\n  //\n  // Third, trailing space\n  // ends in \\ //\n");
}

TEST(Printer, DocComment_Empty_PrintsNothing) {
  Printer sut;
  sut.doc_comment("");
  EXPECT_EQ(sut.text(), "");
}

TEST(Printer, Function_FitsOnOneLine) {
  Printer sut;
  sut.function("int", "f", {"int a", "int b"}, ";");
  EXPECT_EQ(sut.text(), "int f(int a, int b);\n");
}

TEST(Printer, Function_LongParameters_GoOnTheNextLine) {
  Printer sut;
  std::string type(40, 't');
  sut.function(type, "function", {type + " a", "int b"}, " const;");
  EXPECT_EQ(sut.text(), type + " function(\n    " + type + " a, int b) const;\n");
}

TEST(Printer, Function_VeryLongParameters_OnePerLine) {
  Printer sut;
  std::string type(60, 't');
  sut.function("void", "f", {type + " a", type + " b"}, ";");
  EXPECT_EQ(sut.text(), "void f(\n    " + type + " a,\n    " + type + " b);\n");
}

TEST(Printer, Function_LongReturnType_GoesOnItsOwnLine) {
  Printer sut;
  std::string type(98, 't');
  sut.function(type, "f", {"int a"}, ";");
  EXPECT_EQ(sut.text(), type + "\nf(int a);\n");
}

}  // namespace
