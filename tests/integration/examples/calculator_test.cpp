// The calculator example end to end: the real calculator_server binary, called through the
// generated CalculatorDoor::Client from this process.
#include <doors/runtime.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <limits>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "calculator.door.h"
#include "call_error.h"
#include "example_process.h"
#include "temp_dir.h"

namespace doors::test {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

kj::ArrayPtr<const kj::byte> bytes(const std::string& s) {
  return kj::arrayPtr(reinterpret_cast<const kj::byte*>(s.data()), s.size());
}

std::string as_string(capnp::Data::Reader d) {
  return std::string(reinterpret_cast<const char*>(d.begin()), d.size());
}

class CalculatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ExampleServer>(Binaries::calculator_server(), path_,
                                              std::vector<std::string>{"--log-dir", log_dir_});
    ASSERT_TRUE(server_->ready());
    sut_ = calc::CalculatorDoor::Client::open(path_);
  }
  void TearDown() override {
    sut_ = {};
    if (server_ && server_->ready()) server_->stop();
  }

  TempDir dir_;
  std::string path_ = dir_.file("calculator");
  std::string log_dir_ = dir_.file("logs");
  std::unique_ptr<ExampleServer> server_;
  calc::CalculatorDoor::Client sut_;
};

TEST_F(CalculatorTest, Add_ReturnsTheSum) {
  EXPECT_EQ(sut_.add(2, 3)->getSum(), 5);
  EXPECT_EQ(sut_.add(-7, 4)->getSum(), -3);
  EXPECT_EQ(sut_.add(INT64_MAX, INT64_MIN)->getSum(), -1);
}

TEST_F(CalculatorTest, Add_Overflow_FailsWithOutOfRange) {
  auto e = error_of([&] { sut_.add(INT64_MAX, 1); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), Code::kOutOfRange);
  EXPECT_TRUE(e->remote());
}

TEST_F(CalculatorTest, Divide_RoundsTowardZero) {
  EXPECT_EQ(sut_.divide(7, 2)->getQuotient(), 3);
  EXPECT_EQ(sut_.divide(-7, 2)->getQuotient(), -3);
  EXPECT_EQ(sut_.divide(INT64_MIN, 1)->getQuotient(), INT64_MIN);
}

TEST_F(CalculatorTest, Divide_ByZero_FailsWithInvalidArgumentAndItsMessage) {
  auto e = error_of([&] { sut_.divide(1, 0); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), Code::kInvalidArgument);
  EXPECT_EQ(e->message(), "division by zero");
  EXPECT_TRUE(e->remote());
  EXPECT_STREQ(e->what(), "INVALID_ARGUMENT: division by zero");
  // A typed error, not a crash: the server goes on serving.
  EXPECT_EQ(sut_.add(1, 1)->getSum(), 2);
}

TEST_F(CalculatorTest, Divide_MinByMinusOne_FailsWithOutOfRange) {
  auto e = error_of([&] { sut_.divide(INT64_MIN, -1); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), Code::kOutOfRange);
}

TEST_F(CalculatorTest, Total_SumsTheValues) {
  auto req = sut_.totalRequest();
  auto values = req->initValues(3);
  values.set(0, 1);
  values.set(1, 2.5);
  values.set(2, 3);
  EXPECT_DOUBLE_EQ(req.send()->getSum(), 6.5);
}

TEST_F(CalculatorTest, Total_NoValues_IsZero) {
  auto req = sut_.totalRequest();
  req->initValues(0);
  EXPECT_EQ(req.send()->getSum(), 0.0);
}

TEST_F(CalculatorTest, Total_ListLargerThanInlineData_TravelsThroughSharedMemory) {
  constexpr unsigned kCount = 20'000;  // 160 KB of values: more than DOORS_INLINE_DATA_MAX
  auto req = sut_.totalRequest();
  auto values = req->initValues(kCount);
  for (unsigned i = 0; i < kCount; ++i) values.set(i, static_cast<double>(i));
  EXPECT_DOUBLE_EQ(req.send()->getSum(), double{kCount} * (kCount - 1) / 2);
}

TEST_F(CalculatorTest, OpenLog_ReturnsAnAppendingWritableDescriptor) {
  auto first = sut_.openLog("app");
  OwnedFd fd1 = first.take_fd(first->getLog());
  ASSERT_GE(fd1.get(), 0);
  int flags = ::fcntl(fd1.get(), F_GETFL);
  EXPECT_EQ(flags & O_ACCMODE, O_WRONLY);
  EXPECT_NE(flags & O_APPEND, 0);
  ASSERT_EQ(::write(fd1.get(), "one\n", 4), 4);

  auto second = sut_.openLog("app");
  OwnedFd fd2 = second.take_fd(second->getLog());
  ASSERT_EQ(::write(fd2.get(), "two\n", 4), 4);
  ASSERT_EQ(::write(fd1.get(), "three\n", 6), 6);

  EXPECT_EQ(read_file(log_dir_ + "/app.log"), "one\ntwo\nthree\n");
}

TEST_F(CalculatorTest, OpenLog_NameOf64Bytes_IsAccepted) {
  std::string name(64, 'x');
  auto reply = sut_.openLog(kj::StringPtr(name.c_str(), name.size()));
  OwnedFd fd = reply.take_fd(reply->getLog());
  EXPECT_GE(fd.get(), 0);
  struct stat st;
  EXPECT_EQ(::stat((log_dir_ + "/" + name + ".log").c_str(), &st), 0);
}

TEST_F(CalculatorTest, OpenLog_BadNames_FailWithInvalidArgument) {
  std::string too_long(65, 'x');
  for (std::string name : {std::string(), std::string("a/b"), std::string(".."),
                           std::string("x..y"), std::string("/etc/passwd"), too_long}) {
    SCOPED_TRACE("name \"" + name + "\"");
    auto e = error_of([&] { sut_.openLog(kj::StringPtr(name.c_str(), name.size())); });
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), Code::kInvalidArgument);
  }
  // Nothing was created outside the log directory, and nothing odd inside it.
  struct stat st;
  EXPECT_NE(::stat((dir_.path() + "/b.log").c_str(), &st), 0);
}

TEST_F(CalculatorTest, Session_PutThenGet_ReturnsTheValue) {
  calc::SessionDoor::Client session(sut_.session()->getS());
  session.put("k", bytes("value one"));
  EXPECT_EQ(as_string(session.get("k")->getValue()), "value one");
  session.put("k", bytes("value two"));
  EXPECT_EQ(as_string(session.get("k")->getValue()), "value two");
}

TEST_F(CalculatorTest, Session_GetOfMissingKey_FailsWithNotFound) {
  calc::SessionDoor::Client session(sut_.session()->getS());
  auto e = error_of([&] { session.get("missing"); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), Code::kNotFound);
  EXPECT_TRUE(e->remote());
}

TEST_F(CalculatorTest, Session_TwoSessions_AreIndependent) {
  calc::SessionDoor::Client a(sut_.session()->getS());
  calc::SessionDoor::Client b(sut_.session()->getS());
  a.put("k", bytes("a"));
  b.put("k", bytes("b"));
  EXPECT_EQ(as_string(a.get("k")->getValue()), "a");
  EXPECT_EQ(as_string(b.get("k")->getValue()), "b");
}

TEST_F(CalculatorTest, Session_LastReferenceClosed_ServerDropsTheSession) {
  {
    calc::SessionDoor::Client session(sut_.session()->getS());
    session.put("k", bytes("v"));
    ASSERT_TRUE(server_->process().wait_for_stderr("session 1 opened"));
    // A copy shares the reference: the session lives until the last copy is gone.
    calc::SessionDoor::Client copy = session;
    session = {};
    EXPECT_EQ(as_string(copy.get("k")->getValue()), "v");
  }
  // DOOR_UNREF at the server: the runtime destroys the Session object, which logs it.
  EXPECT_TRUE(server_->process().wait_for_stderr("session 1 closed"));
  // And the server is healthy.
  EXPECT_EQ(sut_.add(20, 22)->getSum(), 42);
  calc::SessionDoor::Client next(sut_.session()->getS());
  next.put("k", bytes("w"));
  EXPECT_EQ(as_string(next.get("k")->getValue()), "w");
}

TEST_F(CalculatorTest, Session_DoorOutlivesTheCalculatorClient) {
  calc::SessionDoor::Client session(sut_.session()->getS());
  sut_ = {};  // the session is a door of its own
  session.put("k", bytes("still here"));
  EXPECT_EQ(as_string(session.get("k")->getValue()), "still here");
}

// Expressions: parse and evaluate. Trees are compared as text, `add(1, multiply(2, x))`, and
// built from E values, so that each test shows the tree it means.

// A tree the way the tests write it.
struct E {
  calc::Expression::Which kind = calc::Expression::LITERAL;
  double literal = 0;
  std::string variable;
  calc::Operator op = calc::Operator::ADD;
  std::vector<E> operands;  // operation: all; negate: one
};

E lit(double v) {
  E e;
  e.literal = v;
  return e;
}
E var(std::string name) {
  E e;
  e.kind = calc::Expression::VARIABLE;
  e.variable = std::move(name);
  return e;
}
E operation(calc::Operator op, std::vector<E> operands) {
  E e;
  e.kind = calc::Expression::OPERATION;
  e.op = op;
  e.operands = std::move(operands);
  return e;
}
E add(std::vector<E> operands) { return operation(calc::Operator::ADD, std::move(operands)); }
E subtract(std::vector<E> operands) {
  return operation(calc::Operator::SUBTRACT, std::move(operands));
}
E multiply(std::vector<E> operands) {
  return operation(calc::Operator::MULTIPLY, std::move(operands));
}
E divide(std::vector<E> operands) { return operation(calc::Operator::DIVIDE, std::move(operands)); }
E negate(E operand) {
  E e;
  e.kind = calc::Expression::NEGATE;
  e.operands.push_back(std::move(operand));
  return e;
}

// A tree of `levels` levels (the root being 1): operations of two operands, each holding the
// next level as its second operand, the last level the literal 1. The costliest shape for Cap'n
// Proto's nesting limit: each level is a list and a struct.
E operation_chain(int levels) {
  E e = lit(1);
  for (int i = 1; i < levels; ++i) e = add({lit(1), std::move(e)});
  return e;
}

E negate_chain(int levels) {
  E e = lit(1);
  for (int i = 1; i < levels; ++i) e = negate(std::move(e));
  return e;
}

void build(const E& e, calc::Expression::Builder out) {
  switch (e.kind) {
    case calc::Expression::LITERAL:
      out.setLiteral(e.literal);
      return;
    case calc::Expression::VARIABLE:
      out.setVariable(kj::StringPtr(e.variable.c_str(), e.variable.size()));
      return;
    case calc::Expression::OPERATION: {
      auto group = out.initOperation();
      group.setOperator(e.op);
      auto list = group.initOperands(static_cast<unsigned>(e.operands.size()));
      for (unsigned i = 0; i < list.size(); ++i) build(e.operands[i], list[i]);
      return;
    }
    case calc::Expression::NEGATE:
      build(e.operands.at(0), out.initNegate());
      return;
  }
}

std::string number(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, ec == std::errc() ? end : buf);
}

const char* name_of(calc::Operator op) {
  switch (op) {
    case calc::Operator::ADD:
      return "add";
    case calc::Operator::SUBTRACT:
      return "subtract";
    case calc::Operator::MULTIPLY:
      return "multiply";
    case calc::Operator::DIVIDE:
      return "divide";
  }
  return "?";
}

// `add(1, multiply(2, x))`, `negate(0.5)`.
std::string render(calc::Expression::Reader e) {
  switch (e.which()) {
    case calc::Expression::LITERAL:
      return number(e.getLiteral());
    case calc::Expression::VARIABLE:
      return e.getVariable().cStr();
    case calc::Expression::OPERATION: {
      std::string out = std::string(name_of(e.getOperation().getOperator())) + "(";
      const char* separator = "";
      for (auto operand : e.getOperation().getOperands()) {
        out += separator + render(operand);
        separator = ", ";
      }
      return out + ")";
    }
    case calc::Expression::NEGATE:
      return "negate(" + render(e.getNegate()) + ")";
  }
  return "?";
}

using Variables = std::vector<std::pair<std::string, double>>;

void set_variables(capnp::List<calc::Variable>::Builder list, const Variables& variables) {
  for (unsigned i = 0; i < list.size(); ++i) {
    list[i].setName(kj::StringPtr(variables[i].first.c_str(), variables[i].first.size()));
    list[i].setValue(variables[i].second);
  }
}

// Text "(((...(x)...)))" with `n` parentheses; "--...-x" with `n` minus signs.
std::string parenthesized(int n, const std::string& inner) {
  return std::string(static_cast<size_t>(n), '(') + inner +
         std::string(static_cast<size_t>(n), ')');
}
std::string minuses(int n, const std::string& inner) {
  return std::string(static_cast<size_t>(n), '-') + inner;
}

// What parse returns for `n` minus signs before 1: "negate(negate(...(1)...))".
std::string render_negations(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += "negate(";
  return out + "1" + std::string(static_cast<size_t>(n), ')');
}

// "1 + 1 + ... + 1" with `n` ones: one operation of n operands, n + 1 nodes.
std::string ones(int n) {
  std::string out = "1";
  for (int i = 1; i < n; ++i) out += "+1";
  return out;
}

class CalculatorExpressionTest : public CalculatorTest {
 protected:
  std::string parsed(const std::string& text) {
    auto reply = sut_.parse(kj::StringPtr(text.c_str(), text.size()));
    return render(reply->getExpression());
  }

  std::optional<Error> parse_error(const std::string& text) {
    return error_of([&] { sut_.parse(kj::StringPtr(text.c_str(), text.size())); });
  }

  double evaluate(const E& e, const Variables& variables = {}) {
    auto req = sut_.evaluateRequest();
    build(e, req->initExpression());
    set_variables(req->initVariables(static_cast<unsigned>(variables.size())), variables);
    return req.send()->getValue();
  }

  std::optional<Error> evaluate_error(const E& e, const Variables& variables = {}) {
    return error_of([&] { evaluate(e, variables); });
  }

  // parse, then evaluate the tree it returned, as calculator_client's eval does.
  double parse_and_evaluate(const std::string& text, const Variables& variables = {}) {
    auto tree = sut_.parse(kj::StringPtr(text.c_str(), text.size()));
    auto req = sut_.evaluateRequest();
    req->setExpression(tree->getExpression());
    set_variables(req->initVariables(static_cast<unsigned>(variables.size())), variables);
    return req.send()->getValue();
  }
};

// An INVALID_ARGUMENT error with exactly `message`.
::testing::AssertionResult invalid_argument(const std::optional<Error>& e,
                                            const std::string& message) {
  if (!e) return ::testing::AssertionFailure() << "no error; expected " << message;
  if (e->code() != Code::kInvalidArgument || e->message() != message || !e->remote())
    return ::testing::AssertionFailure() << e->what() << "; expected " << message;
  return ::testing::AssertionSuccess();
}

TEST_F(CalculatorExpressionTest, Parse_MultiplyAndDivide_BindTighterThanAddAndSubtract) {
  EXPECT_EQ(parsed("1 + 2 * 3"), "add(1, multiply(2, 3))");
  EXPECT_EQ(parsed("1 * 2 + 3"), "add(multiply(1, 2), 3)");
  EXPECT_EQ(parsed("1 - 6 / x * 2"), "subtract(1, multiply(divide(6, x), 2))");
}

TEST_F(CalculatorExpressionTest, Parse_RunOfOneOperator_IsOneOperation) {
  EXPECT_EQ(parsed("1 - 2 - 3"), "subtract(1, 2, 3)");
  EXPECT_EQ(parsed("8 / 4 / 2 / 1"), "divide(8, 4, 2, 1)");
  EXPECT_EQ(parsed("a + b + c"), "add(a, b, c)");
}

TEST_F(CalculatorExpressionTest, Parse_MixedOperatorsOfOneLevel_AreLeftAssociative) {
  EXPECT_EQ(parsed("1 - 2 + 3"), "add(subtract(1, 2), 3)");
  EXPECT_EQ(parsed("1 + 2 - 3 + 4"), "add(subtract(add(1, 2), 3), 4)");
  EXPECT_EQ(parsed("8 / 4 * 2"), "multiply(divide(8, 4), 2)");
}

TEST_F(CalculatorExpressionTest, Parse_Parentheses_GroupWithoutANodeOfTheirOwn) {
  EXPECT_EQ(parsed("(1 + 2) * 3"), "multiply(add(1, 2), 3)");
  EXPECT_EQ(parsed("1 - (2 - 3)"), "subtract(1, subtract(2, 3))");
  // A parenthesized operation is not merged with the same operator outside it.
  EXPECT_EQ(parsed("(1 - 2) - 3"), "subtract(subtract(1, 2), 3)");
  EXPECT_EQ(parsed("((x))"), "x");
}

TEST_F(CalculatorExpressionTest, Parse_UnaryMinus_IsNegateAndBindsTightest) {
  EXPECT_EQ(parsed("-2"), "negate(2)");
  EXPECT_EQ(parsed("-2 * x"), "multiply(negate(2), x)");
  EXPECT_EQ(parsed("1 - -x"), "subtract(1, negate(x))");
  EXPECT_EQ(parsed("--1"), "negate(negate(1))");
  EXPECT_EQ(parsed("-(1 + 2)"), "negate(add(1, 2))");
  EXPECT_EQ(parsed("1 + 2 * (3 - x) / -y"),
            "add(1, divide(multiply(2, subtract(3, x)), negate(y)))");
}

TEST_F(CalculatorExpressionTest, Parse_NumbersVariablesAndWhiteSpace_AreRead) {
  EXPECT_EQ(parsed("0.5+.25+1e3+2.5E-1+7.+1e+2"), "add(0.5, 0.25, 1000, 0.25, 7, 100)");
  EXPECT_EQ(parsed("x + _a1 + Xy_2"), "add(x, _a1, Xy_2)");
  EXPECT_EQ(parsed(" \t1\n+\r\v2\f "), "add(1, 2)");
  auto reply = sut_.parse("0.1");
  EXPECT_EQ(reply->getExpression().getLiteral(), 0.1);  // exactly the nearest double
}

TEST_F(CalculatorExpressionTest, Parse_NothingToParse_FailsWithInvalidArgument) {
  EXPECT_TRUE(invalid_argument(
      parse_error(""),
      "expected a number, a variable, '-' or '(' at byte 0, found the end of the text"));
  EXPECT_TRUE(invalid_argument(
      parse_error("  "),
      "expected a number, a variable, '-' or '(' at byte 2, found the end of the text"));
}

TEST_F(CalculatorExpressionTest, Parse_UnbalancedParentheses_FailWithInvalidArgumentAndOffset) {
  EXPECT_TRUE(invalid_argument(parse_error("(1 + 2"),
                               "unclosed '(' at byte 0: expected an operator or ')' at byte 6, "
                               "found the end of the text"));
  EXPECT_TRUE(invalid_argument(parse_error("2 * ((1) + 2"),
                               "unclosed '(' at byte 4: expected an operator or ')' at byte 12, "
                               "found the end of the text"));
  EXPECT_TRUE(invalid_argument(parse_error("1 + 2)"), "unmatched ')' at byte 5"));
  EXPECT_TRUE(invalid_argument(parse_error("()"),
                               "expected a number, a variable, '-' or '(' at byte 1, found ')'"));
}

TEST_F(CalculatorExpressionTest, Parse_TrailingOrMisplacedText_FailsWithInvalidArgumentAndOffset) {
  EXPECT_TRUE(invalid_argument(parse_error("1 2"), "expected an operator at byte 2, found '2'"));
  EXPECT_TRUE(invalid_argument(parse_error("1 + 2 #"), "unexpected character '#' at byte 6"));
  EXPECT_TRUE(
      invalid_argument(parse_error(std::string("1\0", 2)), "unexpected byte 0x00 at byte 1"));
  EXPECT_TRUE(invalid_argument(parse_error("x + \xff"), "unexpected byte 0xff at byte 4"));
  EXPECT_TRUE(
      invalid_argument(parse_error("1 +"),
                       "expected a number, a variable, '-' or '(' at byte 3, found the end of "
                       "the text"));
  EXPECT_TRUE(invalid_argument(parse_error("1 + * 2"),
                               "expected a number, a variable, '-' or '(' at byte 4, found '*'"));
  EXPECT_TRUE(
      invalid_argument(parse_error("(1) (2)"), "expected an operator at byte 4, found '('"));
}

TEST_F(CalculatorExpressionTest, Parse_MalformedNumbers_FailWithInvalidArgumentAndOffset) {
  for (std::string text : {"2x", "1.2.3", "1e", "1e+", "3..", "x + 4e2y"}) {
    SCOPED_TRACE(text);
    auto e = parse_error(text);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), Code::kInvalidArgument);
    EXPECT_EQ(e->message().rfind("malformed number at byte ", 0), 0u) << e->message();
  }
  EXPECT_TRUE(invalid_argument(parse_error("x + 4e2y"), "malformed number at byte 4"));
  EXPECT_TRUE(invalid_argument(parse_error("1 + 1e999"),
                               "number 1e999 out of a Float64's range at byte 4"));
  EXPECT_TRUE(
      invalid_argument(parse_error("1e-999"), "number 1e-999 out of a Float64's range at byte 0"));
}

TEST_F(CalculatorExpressionTest, Parse_TextOf4096Bytes_IsAccepted) {
  std::string text = "1" + std::string(4095, ' ');
  EXPECT_EQ(parsed(text), "1");
}

TEST_F(CalculatorExpressionTest, Parse_TextLongerThan4096Bytes_FailsWithInvalidArgument) {
  std::string text = "1" + std::string(4096, ' ');
  EXPECT_TRUE(invalid_argument(parse_error(text), "expression text is 4097 bytes, more than 4096"));
}

TEST_F(CalculatorExpressionTest, Parse_NestingOf32_IsAccepted) {
  EXPECT_EQ(parsed(parenthesized(32, "x")), "x");
  EXPECT_EQ(parsed(minuses(31, "1")), render_negations(31));  // 32 levels: the most a tree has
}

TEST_F(CalculatorExpressionTest, Parse_NestingDeeperThan32_FailsWithInvalidArgumentAndOffset) {
  EXPECT_TRUE(
      invalid_argument(parse_error(parenthesized(33, "x")),
                       "parentheses and unary minus nested deeper than 32 levels at byte 32"));
  EXPECT_TRUE(
      invalid_argument(parse_error(parenthesized(1000, "x")),
                       "parentheses and unary minus nested deeper than 32 levels at byte 32"));
  EXPECT_TRUE(
      invalid_argument(parse_error(minuses(33, "1")),
                       "parentheses and unary minus nested deeper than 32 levels at byte 32"));
  EXPECT_TRUE(
      invalid_argument(parse_error("-(" + parenthesized(31, "1") + ")"),
                       "parentheses and unary minus nested deeper than 32 levels at byte 32"));
}

TEST_F(CalculatorExpressionTest, Parse_TreeDeeperThan32Levels_FailsWithInvalidArgument) {
  // Each "1+2*(" adds two levels (add, multiply) but only one of nesting: 16 of them make 33
  // levels with 16 parentheses.
  auto text = [](int n) {
    std::string out;
    for (int i = 0; i < n; ++i) out += "1+2*(";
    return out + "3" + std::string(static_cast<size_t>(n), ')');
  };
  EXPECT_EQ(sut_.parse(text(15).c_str())->getExpression().which(), calc::Expression::OPERATION);
  // The outermost add, made by the '+' at byte 1, makes the tree 33 levels deep.
  EXPECT_TRUE(
      invalid_argument(parse_error(text(16)), "expression deeper than 32 levels at byte 1"));
  // 32 negations of a literal are 33 levels: the outermost '-' makes the 33rd.
  EXPECT_TRUE(invalid_argument(parse_error(minuses(32, "1")),
                               "expression deeper than 32 levels at byte 0"));
}

TEST_F(CalculatorExpressionTest, Parse_1000Nodes_AreAccepted) {
  auto reply = sut_.parse(ones(999).c_str());  // one operation and 999 literals
  EXPECT_EQ(reply->getExpression().getOperation().getOperands().size(), 999u);
}

TEST_F(CalculatorExpressionTest, Parse_MoreThan1000Nodes_FailsWithInvalidArgumentAndOffset) {
  // The 1001st node is the 1000th literal, at byte 2 * 999.
  EXPECT_TRUE(
      invalid_argument(parse_error(ones(1000)), "expression of more than 1000 nodes at byte 1998"));
  EXPECT_TRUE(
      invalid_argument(parse_error(ones(2000)), "expression of more than 1000 nodes at byte 1998"));
}

TEST_F(CalculatorExpressionTest, ParseThenEvaluate_InfixText_GivesItsValue) {
  EXPECT_EQ(parse_and_evaluate("1 + 2 * (3 - x) / -y", {{"x", 1}, {"y", 4}}), 0);
  EXPECT_EQ(parse_and_evaluate("2 * (x + 1) - 10 / 4", {{"x", 3}}), 5.5);
  EXPECT_EQ(parse_and_evaluate("1 - 2 - 3"), -4);
  EXPECT_EQ(parse_and_evaluate("1 - 2 + 3"), 2);
  EXPECT_EQ(parse_and_evaluate("8 / 4 / 2"), 1);
  EXPECT_EQ(parse_and_evaluate("-2 * -3"), 6);
  EXPECT_EQ(parse_and_evaluate("-(1 - 4) * 0.5"), 1.5);
}

TEST_F(CalculatorExpressionTest, ParseThenEvaluate_LargestTrees_AreAccepted) {
  // Whatever parse returns, evaluate takes: the deepest tree and the largest one.
  EXPECT_EQ(parse_and_evaluate(minuses(31, "1")), -1);
  EXPECT_EQ(parse_and_evaluate(ones(999)), 999);
}

TEST_F(CalculatorExpressionTest, Evaluate_EachOperator_AppliesLeftToRight) {
  EXPECT_EQ(evaluate(add({lit(1), lit(2), lit(3.5)})), 6.5);
  EXPECT_EQ(evaluate(subtract({lit(10), lit(2), lit(3)})), 5);
  EXPECT_EQ(evaluate(multiply({lit(2), lit(3), lit(4)})), 24);
  EXPECT_EQ(evaluate(divide({lit(24), lit(2), lit(3)})), 4);
  EXPECT_EQ(evaluate(divide({lit(1), lit(4)})), 0.25);
}

TEST_F(CalculatorExpressionTest, Evaluate_Negate_NegatesItsOperand) {
  EXPECT_EQ(evaluate(negate(lit(2))), -2);
  EXPECT_EQ(evaluate(negate(negate(var("x"))), {{"x", 5}}), 5);
}

TEST_F(CalculatorExpressionTest, Evaluate_NestedOperationsAndVariables_GiveTheValue) {
  // (x + 2) * (10 - -y) / 4 with x = 1, y = 2: 3 * 12 / 4.
  E e =
      divide({multiply({add({var("x"), lit(2)}), subtract({lit(10), negate(var("y"))})}), lit(4)});
  EXPECT_EQ(evaluate(e, {{"x", 1}, {"y", 2}}), 9);
  EXPECT_EQ(evaluate(add({var("x"), var("y")}), {{"y", 2.25}, {"x", 1.5}, {"unused", 7}}), 3.75);
}

TEST_F(CalculatorExpressionTest, Evaluate_UnsetExpression_IsTheLiteralZero) {
  auto req = sut_.evaluateRequest();
  EXPECT_EQ(req.send()->getValue(), 0);
}

TEST_F(CalculatorExpressionTest, Evaluate_DivisionByZero_FailsWithInvalidArgument) {
  EXPECT_TRUE(invalid_argument(evaluate_error(divide({lit(1), lit(0)})), "division by zero"));
  EXPECT_TRUE(invalid_argument(
      evaluate_error(divide({lit(1), lit(2), subtract({var("x"), var("x")})}), {{"x", 3}}),
      "division by zero"));
  EXPECT_TRUE(
      invalid_argument(evaluate_error(divide({lit(0), negate(lit(0))})), "division by zero"));
  EXPECT_EQ(sut_.add(1, 1)->getSum(), 2);  // the server goes on serving
}

TEST_F(CalculatorExpressionTest, Evaluate_UnknownVariable_FailsWithInvalidArgument) {
  EXPECT_TRUE(invalid_argument(evaluate_error(add({lit(1), var("x")})), "unknown variable 'x'"));
  EXPECT_TRUE(invalid_argument(evaluate_error(var("y"), {{"x", 1}}), "unknown variable 'y'"));
  EXPECT_TRUE(invalid_argument(evaluate_error(var("a\x01z")), "unknown variable 'a?z'"));
}

TEST_F(CalculatorExpressionTest, Evaluate_TreeOf32Levels_IsAccepted) {
  EXPECT_EQ(evaluate(operation_chain(32)), 32);
  EXPECT_EQ(evaluate(negate_chain(32)), -1);  // 31 negations
}

TEST_F(CalculatorExpressionTest, Evaluate_TreeDeeperThan32Levels_FailsWithInvalidArgument) {
  // Not INTERNAL: the server's own limit meets the tree before Cap'n Proto's nesting limit (64)
  // does, which operations of 33 levels would pass (a list and a struct each).
  for (int levels : {33, 40, 100}) {
    SCOPED_TRACE(levels);
    EXPECT_TRUE(invalid_argument(evaluate_error(operation_chain(levels)),
                                 "expression deeper than 32 levels"));
    EXPECT_TRUE(
        invalid_argument(evaluate_error(negate_chain(levels)), "expression deeper than 32 levels"));
  }
}

TEST_F(CalculatorExpressionTest, Evaluate_1000Nodes_AreAccepted) {
  std::vector<E> operands(999, lit(1));
  EXPECT_EQ(evaluate(add(std::move(operands))), 999);
}

TEST_F(CalculatorExpressionTest, Evaluate_MoreThan1000Nodes_FailsWithInvalidArgument) {
  std::vector<E> operands(1000, lit(1));
  EXPECT_TRUE(invalid_argument(evaluate_error(add(std::move(operands))),
                               "expression of more than 1000 nodes"));
  std::vector<E> nested(10, add(std::vector<E>(100, lit(1))));  // 1 + 10 * 101 nodes
  EXPECT_TRUE(invalid_argument(evaluate_error(multiply(std::move(nested))),
                               "expression of more than 1000 nodes"));
}

TEST_F(CalculatorExpressionTest,
       Evaluate_OperationWithFewerThanTwoOperands_FailsWithInvalidArgument) {
  EXPECT_TRUE(invalid_argument(evaluate_error(add({})), "add needs 2 or more operands, got 0"));
  EXPECT_TRUE(invalid_argument(evaluate_error(negate(divide({lit(1)}))),
                               "divide needs 2 or more operands, got 1"));
}

TEST_F(CalculatorExpressionTest, Evaluate_DuplicateVariables_FailsWithInvalidArgument) {
  EXPECT_TRUE(invalid_argument(evaluate_error(lit(1), {{"x", 1}, {"y", 2}, {"x", 1}}),
                               "duplicate variable 'x'"));
}

TEST_F(CalculatorExpressionTest, Evaluate_1000Variables_AreAccepted) {
  Variables variables;
  for (int i = 0; i < 1000; ++i) variables.emplace_back("v" + std::to_string(i), i);
  EXPECT_EQ(evaluate(var("v999"), variables), 999);
}

TEST_F(CalculatorExpressionTest, Evaluate_MoreThan1000Variables_FailsWithInvalidArgument) {
  Variables variables;
  for (int i = 0; i < 1001; ++i) variables.emplace_back("v" + std::to_string(i), i);
  EXPECT_TRUE(
      invalid_argument(evaluate_error(lit(1), variables), "1001 variables, more than 1000"));
}

TEST_F(CalculatorExpressionTest, Evaluate_VariableNameOf4096Bytes_IsAccepted) {
  std::string name(4096, 'n');
  EXPECT_EQ(evaluate(var(name), {{name, 2}}), 2);
}

TEST_F(CalculatorExpressionTest,
       Evaluate_VariableNameLongerThan4096Bytes_FailsWithInvalidArgument) {
  std::string name(4097, 'n');
  EXPECT_TRUE(invalid_argument(evaluate_error(lit(1), {{name, 2}}),
                               "variable name of 4097 bytes, more than 4096"));
  EXPECT_TRUE(
      invalid_argument(evaluate_error(var(name)), "variable name of 4097 bytes, more than 4096"));
}

TEST_F(CalculatorExpressionTest, Evaluate_NonFiniteInput_FailsWithInvalidArgument) {
  double inf = std::numeric_limits<double>::infinity();
  EXPECT_TRUE(invalid_argument(evaluate_error(add({lit(1), lit(inf)})), "literal is not finite"));
  EXPECT_TRUE(invalid_argument(evaluate_error(lit(std::nan(""))), "literal is not finite"));
  EXPECT_TRUE(
      invalid_argument(evaluate_error(lit(1), {{"x", -inf}}), "variable 'x' is not finite"));
}

TEST_F(CalculatorExpressionTest, Evaluate_Overflow_FailsWithOutOfRange) {
  for (const E& e : {multiply({lit(1e308), lit(10)}), add({lit(1.5e308), lit(1.5e308)}),
                     divide({lit(1e308), lit(1e-10)})}) {
    auto error = evaluate_error(e);
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code(), Code::kOutOfRange) << error->what();
  }
  auto error = evaluate_error(multiply({lit(1e308), lit(10)}));
  ASSERT_TRUE(error);
  EXPECT_EQ(error->message(), "multiply overflows a Float64");
}

TEST_F(CalculatorExpressionTest, Evaluate_UnknownOperator_FailsWithInvalidArgument) {
  auto req = sut_.evaluateRequest();
  auto group = req->initExpression().initOperation();
  group.setOperator(static_cast<calc::Operator>(9));  // from a newer schema, say
  build(lit(1), group.initOperands(2)[0]);
  auto e = error_of([&] { req.send(); });
  EXPECT_TRUE(invalid_argument(e, "unknown operator 9"));
}

TEST_F(CalculatorExpressionTest, Evaluate_StructuralErrors_ComeBeforeArithmeticOnes) {
  // The division by zero comes first from left to right, but the unknown variable is reported:
  // the whole tree is checked before any arithmetic.
  EXPECT_TRUE(invalid_argument(evaluate_error(add({divide({lit(1), lit(0)}), var("x")})),
                               "unknown variable 'x'"));
}

// The server's own contract, as an operator sees it.

TEST(CalculatorServer, PathFileMadeBeforeStart_IsLeftInPlaceAtStop) {
  TempDir dir;
  std::string path = dir.make_file("calculator", 0600);
  ExampleServer server(Binaries::calculator_server(), path);
  ASSERT_TRUE(server.ready());
  EXPECT_EQ(calc::CalculatorDoor::Client::open(path).add(1, 2)->getSum(), 3);
  server.stop(/*keep_file=*/true);
}

TEST(CalculatorServer, MissingParentDirectory_IsCreated) {
  TempDir dir;
  std::string path = dir.file("a/b/calculator");
  ExampleServer server(Binaries::calculator_server(), path);
  ASSERT_TRUE(server.ready());
  EXPECT_EQ(calc::CalculatorDoor::Client::open(path).add(1, 2)->getSum(), 3);
  // The default log directory sits beside the door.
  struct stat st;
  EXPECT_EQ(::stat((path + ".logs").c_str(), &st), 0);
}

TEST(CalculatorServer, SecondServerOnTheSamePath_FailsAndLeavesTheFirstAlone) {
  TempDir dir;
  std::string path = dir.file("calculator");
  ExampleServer first(Binaries::calculator_server(), path);
  ASSERT_TRUE(first.ready());
  ProgramResult second =
      run_program(Binaries::calculator_server(), {"--path", path, "--log-dir", dir.file("l2")});
  EXPECT_TRUE(second.status.exited_with(1)) << second.status.describe();
  EXPECT_EQ(second.out, "");
  EXPECT_NE(second.err.find("calculator_server: error: "), std::string::npos) << second.err;
  EXPECT_EQ(calc::CalculatorDoor::Client::open(path).add(1, 2)->getSum(), 3);
}

TEST(CalculatorServer, SigintStopsLikeSigterm) {
  TempDir dir;
  std::string path = dir.file("calculator");
  ExampleProcess server(Binaries::calculator_server(), {"--path", path});
  ASSERT_TRUE(server.wait_ready());
  ChildStatus s = server.signal_and_reap(SIGINT);
  EXPECT_TRUE(s.exited_with(0)) << s.describe();
  struct stat st;
  EXPECT_NE(::lstat(path.c_str(), &st), 0);
}

TEST(CalculatorServer, Sighup_ServerKeepsServing) {
  TempDir dir;
  std::string path = dir.file("calculator");
  ExampleServer server(Binaries::calculator_server(), path);
  ASSERT_TRUE(server.ready());
  ::kill(server.process().pid(), SIGHUP);
  ASSERT_TRUE(server.process().wait_for_stderr("SIGHUP: reopened the log"));
  auto client = calc::CalculatorDoor::Client::open(path);
  EXPECT_EQ(client.add(1, 2)->getSum(), 3);
  EXPECT_EQ(client.add(3, 4)->getSum(), 7);
}

}  // namespace
}  // namespace doors::test
