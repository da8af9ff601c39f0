// doors::codegen's naming rules: Cap'n Proto's C++ names, the generated door names, escaping,
// which parameters a convenience method takes, and string literals.
#include "doors/codegen/names.h"

#include <gtest/gtest.h>

#include <string>

namespace {

doors::idl::Type scalar(doors::idl::TypeKind kind) {
  doors::idl::Type t;
  t.kind = kind;
  return t;
}

using doors::codegen::accessor;
using doors::codegen::capnp_header_name;
using doors::codegen::convenience_param_type;
using doors::codegen::cxx_string_literal;
using doors::codegen::cxx_type_name;
using doors::codegen::door_header_name;
using doors::codegen::door_source_name;
using doors::codegen::door_struct_name;
using doors::codegen::door_type_name;
using doors::codegen::escape_identifier;
using doors::codegen::has_convenience;
using doors::codegen::params_type;
using doors::codegen::results_type;
using doors::codegen::title_case;
using doors::idl::Field;
using doors::idl::Interface;
using doors::idl::Method;
using doors::idl::NamedRef;
using doors::idl::Type;
using doors::idl::TypeKind;

NamedRef ref(std::string name, std::string ns) {
  return NamedRef{
      .id = 1, .name = std::move(name), .file = "x.capnp", .cxx_namespace = std::move(ns)};
}

Type named(TypeKind kind, NamedRef r) {
  return Type{.kind = kind, .element = {}, .named = std::move(r)};
}

Field param(std::string name, Type type) {
  Field f;
  f.name = std::move(name);
  f.type = std::move(type);
  return f;
}

TEST(Names, TitleCase_UpperCasesTheFirstLetterOnly) {
  EXPECT_EQ(title_case("openLog"), "OpenLog");
  EXPECT_EQ(title_case("a"), "A");
  EXPECT_EQ(title_case("Already"), "Already");
  EXPECT_EQ(title_case(""), "");
}

TEST(Names, CxxTypeName_QualifiesWithTheNamespace) {
  EXPECT_EQ(cxx_type_name(ref("Calculator", "calc")), "::calc::Calculator");
  EXPECT_EQ(cxx_type_name(ref("Calculator", "a::b")), "::a::b::Calculator");
  EXPECT_EQ(cxx_type_name(ref("Calculator", "::a::b")), "::a::b::Calculator");
}

TEST(Names, CxxTypeName_GlobalNamespace_IsRootQualified) {
  EXPECT_EQ(cxx_type_name(ref("Calculator", "")), "::Calculator");
}

TEST(Names, CxxTypeName_NestedScopesAndGroups) {
  EXPECT_EQ(cxx_type_name(ref("Outer.Inner", "ns")), "::ns::Outer::Inner");
  EXPECT_EQ(cxx_type_name(ref("Entry.meta", "ns")), "::ns::Entry::Meta");
}

TEST(Names, DoorStructName_JoinsNestedScopesWithUnderscore) {
  EXPECT_EQ(door_struct_name(ref("Calculator", "calc")), "CalculatorDoor");
  EXPECT_EQ(door_struct_name(ref("Outer.Inner", "calc")), "Outer_InnerDoor");
  EXPECT_EQ(door_type_name(ref("Outer.Inner", "calc")), "::calc::Outer_InnerDoor");
  EXPECT_EQ(door_type_name(ref("Session", "")), "::SessionDoor");
}

TEST(Names, ParamsAndResultsTypes_AreCapnpImplicitStructs) {
  Interface iface;
  iface.ref = ref("Calculator", "calc");
  Method m;
  m.name = "openLog";
  EXPECT_EQ(params_type(iface, m), "::calc::Calculator::OpenLogParams");
  EXPECT_EQ(results_type(iface, m), "::calc::Calculator::OpenLogResults");
}

TEST(Names, Accessor_TitleCasesTheField) {
  EXPECT_EQ(accessor("set", "a"), "setA");
  EXPECT_EQ(accessor("init", "log"), "initLog");
  EXPECT_EQ(accessor("set", "class"), "setClass");
}

TEST(Names, EscapeIdentifier_Keywords_GetUnderscore) {
  EXPECT_EQ(escape_identifier("delete"), "delete_");
  EXPECT_EQ(escape_identifier("class"), "class_");
  EXPECT_EQ(escape_identifier("and"), "and_");
  EXPECT_EQ(escape_identifier("co_await"), "co_await_");
  EXPECT_EQ(escape_identifier("errno"), "errno_");
  EXPECT_EQ(escape_identifier("add"), "add");
}

TEST(Names, EscapeIdentifier_TakenNames_GetUnderscore) {
  EXPECT_EQ(escape_identifier("open", {"open", "capability"}), "open_");
  EXPECT_EQ(escape_identifier("opened", {"open", "capability"}), "opened");
}

TEST(Names, ConvenienceParamType_ScalarsTextDataFdAndInterfaces) {
  EXPECT_EQ(convenience_param_type(scalar(TypeKind::kBool)), "bool");
  EXPECT_EQ(convenience_param_type(scalar(TypeKind::kInt64)), "::int64_t");
  EXPECT_EQ(convenience_param_type(scalar(TypeKind::kUInt8)), "::uint8_t");
  EXPECT_EQ(convenience_param_type(scalar(TypeKind::kFloat32)), "float");
  EXPECT_EQ(convenience_param_type(scalar(TypeKind::kFloat64)), "double");
  EXPECT_EQ(convenience_param_type(scalar(TypeKind::kText)), "::kj::StringPtr");
  EXPECT_EQ(convenience_param_type(scalar(TypeKind::kData)), "::kj::ArrayPtr<const ::kj::byte>");
  EXPECT_EQ(convenience_param_type(scalar(TypeKind::kFd)), "int");
  EXPECT_EQ(convenience_param_type(named(TypeKind::kEnum, ref("Outer.Color", "ns"))),
            "::ns::Outer::Color");
  EXPECT_EQ(convenience_param_type(named(TypeKind::kInterface, ref("Session", "ns"))),
            "const ::ns::SessionDoor::Client&");
  EXPECT_EQ(convenience_param_type(scalar(TypeKind::kVoid)), "");
}

TEST(Names, ConvenienceParamType_StructsListsGroups_HaveNone) {
  EXPECT_EQ(convenience_param_type(named(TypeKind::kStruct, ref("Point", "ns"))), std::nullopt);
  EXPECT_EQ(convenience_param_type(named(TypeKind::kGroup, ref("Point.g", "ns"))), std::nullopt);
  Type list{.kind = TypeKind::kList, .element = {scalar(TypeKind::kInt32)}, .named = {}};
  EXPECT_EQ(convenience_param_type(list), std::nullopt);
}

TEST(Names, HasConvenience_OnlyWhenEveryParamQualifies) {
  Method sut;
  EXPECT_TRUE(has_convenience(sut));  // no parameters: m(options)
  sut.params.push_back(param("a", scalar(TypeKind::kInt64)));
  sut.params.push_back(param("fd", scalar(TypeKind::kFd)));
  sut.params.push_back(param("v", scalar(TypeKind::kVoid)));
  EXPECT_TRUE(has_convenience(sut));
  Type list{.kind = TypeKind::kList, .element = {scalar(TypeKind::kFd)}, .named = {}};
  sut.params.push_back(param("fds", list));
  EXPECT_FALSE(has_convenience(sut));
}

TEST(Names, CxxStringLiteral_EscapesQuotesBackslashesAndNonPrintables) {
  EXPECT_EQ(cxx_string_literal("calculator"), "\"calculator\"");
  EXPECT_EQ(cxx_string_literal("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(cxx_string_literal("a\nb"), "\"a\\012b\"");
  EXPECT_EQ(cxx_string_literal("\xc3\xa9"
                               "1"),
            "\"\\303\\2511\"");
}

TEST(Names, FileNames_ReplaceTheCapnpSuffix) {
  EXPECT_EQ(door_header_name("dir/calc.capnp"), "dir/calc.door.h");
  EXPECT_EQ(door_source_name("calc.capnp"), "calc.door.c++");
  EXPECT_EQ(door_header_name("x.schema"), "x.schema.door.h");
  EXPECT_EQ(capnp_header_name("calc.capnp"), "calc.capnp.h");
}

}  // namespace
