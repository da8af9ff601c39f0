// calculator_server: serves the Calculator interface of calculator.capnp.
//
//   calculator_server [--path PATH] [--log-dir DIR]
//
// doors::ServerMain does the daemon work (options, signals, attaching, "ready", drain on
// SIGTERM); this file is the interface's handlers, with the expression parser and evaluator
// behind parse and evaluate. See README.md.
#include <doors/runtime.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

#include "calculator.door.h"

namespace {

using doors::Code;
using doors::Error;

constexpr size_t kMaxLogName = 64;

// A key or name as it may appear in an error message: at most 64 bytes, unprintable bytes as '?'.
std::string printable(std::string_view key) {
  std::string out(key.substr(0, 64));
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  if (key.size() > 64) out += "...";
  return out;
}

// A session: a door of its own (export_door), one map per session. The runtime destroys the
// object when the last reference to its door is closed, which the destructor reports.
class Session final : public calc::SessionDoor::Server {
 public:
  explicit Session(uint64_t number) : number_(number) {
    DOORS_LOG_INFO("session %llu opened", static_cast<unsigned long long>(number_));
  }
  ~Session() override {
    DOORS_LOG_INFO("session %llu closed", static_cast<unsigned long long>(number_));
  }

  void put(PutContext& ctx) override {
    auto p = ctx.params();
    auto value = p.getValue();
    std::lock_guard lock(mu_);
    values_[std::string(p.getKey().cStr(), p.getKey().size())].assign(value.begin(), value.end());
  }

  void get(GetContext& ctx) override {
    auto text = ctx.params().getKey();
    std::string key(text.cStr(), text.size());
    std::lock_guard lock(mu_);
    auto it = values_.find(key);
    if (it == values_.end()) throw Error(Code::kNotFound, "no value for '" + printable(key) + "'");
    ctx.results().setValue(kj::arrayPtr(it->second.data(), it->second.size()));
  }

 private:
  const uint64_t number_;
  std::mutex mu_;  // handlers run concurrently, one thread per call in progress
  std::map<std::string, std::vector<kj::byte>> values_;
};

// Expressions (parse, evaluate). Both take untrusted input, so every walk is bounded: the text's
// length, the nesting the parser recurses through, a tree's depth and its number of nodes.
// kMaxDepth also keeps evaluate's own check ahead of Cap'n Proto's nesting limit (64): a tree
// level costs the reader at most two (the operand list, then its element), and evaluate refuses
// a node at level 32 that has children before it reads them.
constexpr size_t kMaxExpressionText = 4096;  // bytes of parse's text
constexpr int kMaxNesting = 32;              // parentheses and unary minus inside one another
constexpr int kMaxDepth = 32;                // levels of a tree, the root being level 1
constexpr size_t kMaxNodes = 1000;           // nodes of a tree (nodes visited, for evaluate)
constexpr size_t kMaxVariables = 1000;       // entries of evaluate's variables
constexpr size_t kMaxName = 4096;            // bytes of a variable's name in evaluate

using Kind = calc::Expression::Which;

// The schema's name of `op`; nullptr for a value this server does not know (a newer schema's).
const char* operator_name(calc::Operator op) {
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
  return nullptr;
}

std::string too_deep_message() {
  return "expression deeper than " + std::to_string(kMaxDepth) + " levels";
}

std::string too_many_nodes_message() {
  return "expression of more than " + std::to_string(kMaxNodes) + " nodes";
}

// An expression tree held by the server: parse builds one before writing the reply (a Cap'n
// Proto list is sized when it is made, and a chain `1 + 2 + 3` grows as it is parsed); evaluate
// copies the request's tree into one, checking it, so that the arithmetic never reads the
// message again (a large request lies in memory its sender can still write).
struct Node {
  Kind kind = Kind::LITERAL;
  double number = 0;          // literal; for evaluate also a variable's value
  std::string_view variable;  // parse: the name, a slice of the text
  calc::Operator op = calc::Operator::ADD;
  std::vector<size_t> operands;  // operation: two or more; negate: one (indexes in the tree)
  int height = 1;                // levels of the subtree this node is the root of
};
using Tree = std::vector<Node>;

// Recursive descent over
//
//   sum     := product (('+' | '-') product)*
//   product := unary (('*' | '/') unary)*
//   unary   := '-' unary | primary
//   primary := number | variable | '(' sum ')'
//
// It recurses only through '(' and unary '-', whose nesting is bounded, so its stack is too.
// Every error is Error(kInvalidArgument) naming a byte offset of the text.
class ExpressionParser {
 public:
  // Keeps a copy of `text` (at most kMaxExpressionText bytes), which a large request's sender
  // can no longer change while it is parsed.
  explicit ExpressionParser(std::string_view text) {
    if (text.size() > kMaxExpressionText)
      throw Error(Code::kInvalidArgument, "expression text is " + std::to_string(text.size()) +
                                              " bytes, more than " +
                                              std::to_string(kMaxExpressionText));
    text_.assign(text);
  }

  // Parses the whole text; the index of the root in tree(), whose variables are slices of this
  // object's copy of the text.
  size_t parse() {
    size_t root = sum();
    skip_space();
    if (pos_ < text_.size()) {
      if (text_[pos_] == ')') fail("unmatched ')'", pos_);
      expected("an operator", pos_);
    }
    return root;
  }

  const Tree& tree() const { return nodes_; }

 private:
  [[noreturn]] static void fail(const std::string& what, size_t at) {
    throw Error(Code::kInvalidArgument, what + " at byte " + std::to_string(at));
  }

  // "[CONTEXT: ]expected WHAT at byte N, found X"; "unexpected ..." for a byte outside the
  // grammar.
  [[noreturn]] void expected(const std::string& what, size_t at,
                             const std::string& context = "") const {
    std::string found = "the end of the text";
    if (at < text_.size()) {
      char c = text_[at];
      if (!in_grammar(c)) {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", static_cast<unsigned>(static_cast<uint8_t>(c)));
        fail(c > 0x20 && c < 0x7f ? std::string("unexpected character '") + c + "'"
                                  : std::string("unexpected byte ") + hex,
             at);
      }
      found = std::string("'") + c + "'";
    }
    throw Error(Code::kInvalidArgument, context + "expected " + what + " at byte " +
                                            std::to_string(at) + ", found " + found);
  }

  static bool is_digit(char c) { return c >= '0' && c <= '9'; }
  static bool is_name_start(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  }
  static bool is_name(char c) { return is_name_start(c) || is_digit(c); }
  static bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
  }
  static bool in_grammar(char c) {
    return is_name(c) || is_space(c) ||
           std::string_view("+-*/().").find(c) != std::string_view::npos;
  }

  void skip_space() {
    while (pos_ < text_.size() && is_space(text_[pos_])) ++pos_;
  }

  // A new node, made by the text at byte `at`.
  size_t add_node(Node node, size_t at) {
    if (nodes_.size() == kMaxNodes) fail(too_many_nodes_message(), at);
    if (node.height > kMaxDepth) fail(too_deep_message(), at);
    nodes_.push_back(std::move(node));
    return nodes_.size() - 1;
  }

  // A '(' or unary '-' at byte `at` opens a level, closed when its operand is parsed.
  void open_level(size_t at) {
    if (++nesting_ > kMaxNesting)
      fail("parentheses and unary minus nested deeper than " + std::to_string(kMaxNesting) +
               " levels",
           at);
  }
  void close_level() { --nesting_; }

  // sum and product: operands joined by left-associative operators. The same operator again
  // extends the operation this loop made last; another one makes a new operation around it.
  size_t chain(bool additive) {
    size_t left = additive ? product() : unary();
    std::optional<size_t> last;  // the operation this loop made last
    for (;;) {
      skip_space();
      if (pos_ == text_.size()) return left;
      calc::Operator op;
      switch (text_[pos_]) {
        case '+':
          op = calc::Operator::ADD;
          break;
        case '-':
          op = calc::Operator::SUBTRACT;
          break;
        case '*':
          op = calc::Operator::MULTIPLY;
          break;
        case '/':
          op = calc::Operator::DIVIDE;
          break;
        default:
          return left;
      }
      if ((op == calc::Operator::ADD || op == calc::Operator::SUBTRACT) != additive) return left;
      size_t at = pos_++;
      size_t right = additive ? product() : unary();
      if (last && nodes_[*last].op == op) {
        Node& n = nodes_[*last];
        n.operands.push_back(right);
        n.height = std::max(n.height, nodes_[right].height + 1);
        if (n.height > kMaxDepth) fail(too_deep_message(), at);
      } else {
        Node n;
        n.kind = Kind::OPERATION;
        n.op = op;
        n.operands = {left, right};
        n.height = std::max(nodes_[left].height, nodes_[right].height) + 1;
        left = add_node(std::move(n), at);
        last = left;
      }
    }
  }
  size_t sum() { return chain(/*additive=*/true); }
  size_t product() { return chain(/*additive=*/false); }

  size_t unary() {
    skip_space();
    if (pos_ == text_.size() || text_[pos_] != '-') return primary();
    size_t at = pos_++;
    open_level(at);
    size_t operand = unary();
    close_level();
    Node n;
    n.kind = Kind::NEGATE;
    n.operands = {operand};
    n.height = nodes_[operand].height + 1;
    return add_node(std::move(n), at);
  }

  size_t primary() {
    skip_space();
    size_t at = pos_;
    const char c = at < text_.size() ? text_[at] : '\0';
    if (is_digit(c) || (c == '.' && at + 1 < text_.size() && is_digit(text_[at + 1])))
      return number();
    if (at < text_.size() && is_name_start(c)) {
      while (pos_ < text_.size() && is_name(text_[pos_])) ++pos_;
      Node n;
      n.kind = Kind::VARIABLE;
      n.variable = std::string_view(text_).substr(at, pos_ - at);
      return add_node(std::move(n), at);
    }
    if (at < text_.size() && c == '(') {
      ++pos_;
      open_level(at);
      size_t inner = sum();
      skip_space();
      if (pos_ == text_.size() || text_[pos_] != ')')
        expected("an operator or ')'", pos_, "unclosed '(' at byte " + std::to_string(at) + ": ");
      ++pos_;
      close_level();
      return inner;
    }
    expected("a number, a variable, '-' or '('", at);
  }

  // digits ['.' digits] [exponent], or '.' digits [exponent]; exponent: ('e'|'E') [sign] digits.
  size_t number() {
    size_t at = pos_;
    auto digits = [this] {
      while (pos_ < text_.size() && is_digit(text_[pos_])) ++pos_;
    };
    digits();
    if (pos_ < text_.size() && text_[pos_] == '.') {
      ++pos_;
      digits();
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      size_t e = pos_ + 1;
      if (e < text_.size() && (text_[e] == '+' || text_[e] == '-')) ++e;
      if (e < text_.size() && is_digit(text_[e])) {
        pos_ = e;
        digits();
      }
    }
    // `2x`, `1.2.3`, `1e`: a number running into a name or another point.
    if (pos_ < text_.size() && (is_name(text_[pos_]) || text_[pos_] == '.'))
      fail("malformed number", at);
    Node n;
    auto [end, ec] = std::from_chars(text_.data() + at, text_.data() + pos_, n.number);
    if (ec == std::errc::result_out_of_range)
      fail("number " + printable(std::string_view(text_).substr(at, pos_ - at)) +
               " out of a Float64's range",
           at);
    if (ec != std::errc() || end != text_.data() + pos_) fail("malformed number", at);
    return add_node(std::move(n), at);
  }

  std::string text_;
  size_t pos_ = 0;
  int nesting_ = 0;
  Tree nodes_;
};

// Writes the subtree of `tree` at `index` into `out` (recursion bounded by kMaxDepth).
void write_expression(const Tree& tree, size_t index, calc::Expression::Builder out) {
  const Node& n = tree[index];
  switch (n.kind) {
    case Kind::LITERAL:
      out.setLiteral(n.number);
      return;
    case Kind::VARIABLE: {
      auto name = out.initVariable(static_cast<unsigned>(n.variable.size()));
      std::memcpy(name.begin(), n.variable.data(), n.variable.size());
      return;
    }
    case Kind::OPERATION: {
      auto operation = out.initOperation();
      operation.setOperator(n.op);
      auto operands = operation.initOperands(static_cast<unsigned>(n.operands.size()));
      for (unsigned i = 0; i < operands.size(); ++i)
        write_expression(tree, n.operands[i], operands[i]);
      return;
    }
    case Kind::NEGATE:
      write_expression(tree, n.operands[0], out.initNegate());
      return;
  }
}

// A variable's name in evaluate's request. At most kMaxName bytes (as long as parse's longest
// name), so that looking names up stays cheap however often a hostile request points at one
// large text.
std::string_view variable_name(capnp::Text::Reader text) {
  if (text.size() > kMaxName)
    throw Error(Code::kInvalidArgument, "variable name of " + std::to_string(text.size()) +
                                            " bytes, more than " + std::to_string(kMaxName));
  return {text.cStr(), text.size()};
}

// Hash and equality for looking a std::string key up by std::string_view, without a copy.
struct NameHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// evaluate's input: the variables, then the tree, each field read once and checked. Throws
// Error(kInvalidArgument) for anything but a tree within the limits whose variables are known.
class ExpressionReader {
 public:
  explicit ExpressionReader(capnp::List<calc::Variable>::Reader variables) {
    if (variables.size() > kMaxVariables)
      throw Error(Code::kInvalidArgument, std::to_string(variables.size()) +
                                              " variables, more than " +
                                              std::to_string(kMaxVariables));
    for (auto v : variables) {
      std::string name(variable_name(v.getName()));
      double value = v.getValue();
      if (!std::isfinite(value))
        throw Error(Code::kInvalidArgument, "variable '" + printable(name) + "' is not finite");
      if (!values_.emplace(name, value).second)
        throw Error(Code::kInvalidArgument, "duplicate variable '" + printable(name) + "'");
    }
  }

  // Copies `e`, at `level` (the root being 1), and what is under it into tree(), a variable
  // becoming the literal of its value. Returns its index.
  size_t read(calc::Expression::Reader e, int level) {
    if (nodes_.size() == kMaxNodes) throw Error(Code::kInvalidArgument, too_many_nodes_message());
    size_t index = nodes_.size();
    nodes_.emplace_back();
    const Kind kind = e.which();
    switch (kind) {
      case Kind::LITERAL: {
        double value = e.getLiteral();
        if (!std::isfinite(value)) throw Error(Code::kInvalidArgument, "literal is not finite");
        nodes_[index].number = value;
        return index;
      }
      case Kind::VARIABLE: {
        std::string_view name = variable_name(e.getVariable());
        auto it = values_.find(name);
        if (it == values_.end())
          throw Error(Code::kInvalidArgument, "unknown variable '" + printable(name) + "'");
        nodes_[index].number = it->second;
        return index;
      }
      case Kind::OPERATION: {
        auto operation = e.getOperation();
        calc::Operator op = operation.getOperator();
        if (operator_name(op) == nullptr)
          throw Error(Code::kInvalidArgument,
                      "unknown operator " + std::to_string(static_cast<unsigned>(op)));
        if (level >= kMaxDepth)
          throw Error(Code::kInvalidArgument, too_deep_message());  // before the operands are read
        auto operands = operation.getOperands();
        if (operands.size() < 2)
          throw Error(Code::kInvalidArgument, std::string(operator_name(op)) +
                                                  " needs 2 or more operands, got " +
                                                  std::to_string(operands.size()));
        std::vector<size_t> children;
        for (auto operand : operands) children.push_back(read(operand, level + 1));
        nodes_[index].kind = Kind::OPERATION;
        nodes_[index].op = op;
        nodes_[index].operands = std::move(children);
        return index;
      }
      case Kind::NEGATE: {
        if (level >= kMaxDepth)
          throw Error(Code::kInvalidArgument, too_deep_message());  // before the operand is read
        size_t child = read(e.getNegate(), level + 1);
        nodes_[index].kind = Kind::NEGATE;
        nodes_[index].operands = {child};
        return index;
      }
    }
    throw Error(Code::kInvalidArgument,
                "unknown expression member " + std::to_string(static_cast<unsigned>(kind)));
  }

  const Tree& tree() const { return nodes_; }

 private:
  std::unordered_map<std::string, double, NameHash, std::equal_to<>> values_;
  Tree nodes_;
};

// The value of a tree ExpressionReader made: literals only, all finite, at most kMaxDepth deep.
// INVALID_ARGUMENT for division by zero, OUT_OF_RANGE when a step overflows.
double evaluate_tree(const Tree& tree, size_t index) {
  const Node& n = tree[index];
  switch (n.kind) {
    case Kind::LITERAL:
    case Kind::VARIABLE:
      return n.number;
    case Kind::NEGATE:
      return -evaluate_tree(tree, n.operands[0]);
    case Kind::OPERATION:
      break;
  }
  double acc = evaluate_tree(tree, n.operands[0]);
  for (size_t i = 1; i < n.operands.size(); ++i) {
    double v = evaluate_tree(tree, n.operands[i]);
    switch (n.op) {
      case calc::Operator::ADD:
        acc += v;
        break;
      case calc::Operator::SUBTRACT:
        acc -= v;
        break;
      case calc::Operator::MULTIPLY:
        acc *= v;
        break;
      case calc::Operator::DIVIDE:
        if (v == 0) throw Error(Code::kInvalidArgument, "division by zero");
        acc /= v;
        break;
    }
    // Finite operands and a non-zero divisor: only an overflow is not finite.
    if (!std::isfinite(acc))
      throw Error(Code::kOutOfRange, std::string(operator_name(n.op)) + " overflows a Float64");
  }
  return acc;
}

class Calculator final : public calc::CalculatorDoor::Server {
 public:
  // `log_dir` is an open descriptor of the directory openLog creates files in (owned).
  explicit Calculator(int log_dir) : log_dir_(log_dir) {}
  ~Calculator() override { ::close(log_dir_); }

  void add(AddContext& ctx) override {
    auto p = ctx.params();
    int64_t sum;
    if (__builtin_add_overflow(p.getA(), p.getB(), &sum))
      throw Error(Code::kOutOfRange, "sum does not fit in 64 bits");
    ctx.results().setSum(sum);
  }

  void divide(DivideContext& ctx) override {
    auto p = ctx.params();
    int64_t a = p.getA(), b = p.getB();
    if (b == 0) throw Error(Code::kInvalidArgument, "division by zero");
    if (a == INT64_MIN && b == -1)
      throw Error(Code::kOutOfRange, "quotient does not fit in 64 bits");
    ctx.results().setQuotient(a / b);
  }

  void total(TotalContext& ctx) override {
    double sum = 0;
    for (double v : ctx.params().getValues()) sum += v;
    ctx.results().setSum(sum);
  }

  void openLog(OpenLogContext& ctx) override {
    auto name = ctx.params().getName();
    std::string_view n(name.cStr(), name.size());
    if (n.empty() || n.size() > kMaxLogName)
      throw Error(Code::kInvalidArgument, "log name must be 1 to 64 bytes long");
    if (n.find('/') != n.npos || n.find("..") != n.npos || n.find('\0') != n.npos)
      throw Error(Code::kInvalidArgument, "log name must not contain '/', \"..\" or NUL");
    std::string file = std::string(n) + ".log";
    // O_NOFOLLOW: a symbolic link planted in the log directory is not followed out of it.
    int fd = ::openat(log_dir_, file.c_str(),
                      O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0640);
    if (fd < 0) {
      int err = errno;
      throw Error(err == EACCES ? Code::kPermissionDenied : Code::kInternal,
                  "cannot open " + file + ": " + std::strerror(err));
    }
    doors::Caller caller = ctx.caller();
    DOORS_LOG_INFO("uid %u opened log %s", static_cast<unsigned>(caller.uid), file.c_str());
    ctx.set_fd(ctx.results().initLog(), doors::OwnedFd(fd));
  }

  void session(SessionContext& ctx) override {
    uint64_t number = ++sessions_;
    ctx.results().setS(doors::export_door(std::make_unique<Session>(number)));
  }

  void parse(ParseContext& ctx) override {
    auto text = ctx.params().getText();
    ExpressionParser parser(std::string_view(text.cStr(), text.size()));
    size_t root = parser.parse();
    write_expression(parser.tree(), root, ctx.results().initExpression());
  }

  void evaluate(EvaluateContext& ctx) override {
    auto p = ctx.params();
    ExpressionReader reader(p.getVariables());
    size_t root = reader.read(p.getExpression(), /*level=*/1);
    ctx.results().setValue(evaluate_tree(reader.tree(), root));
  }

 private:
  const int log_dir_;
  std::atomic<uint64_t> sessions_{0};
};

// The log directory: --log-dir, or `<door path>.logs` beside the door. Created (0750) when
// missing; opened once, so that openLog works relative to it whatever happens to the name later.
int open_log_dir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST) {
    int err = errno;
    throw Error(Code::kFailedPrecondition,
                "cannot create log directory " + dir + ": " + std::strerror(err));
  }
  int fd = ::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    throw Error(Code::kFailedPrecondition,
                "cannot open log directory " + dir + ": " + std::strerror(err));
  }
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  std::string log_dir;
  doors::ServerMain server_main(calc::CalculatorDoor::kInfo, "calculator_server",
                                "Serves the Calculator interface (examples/calculator).");
  server_main.add_option("--log-dir", "DIR",
                         "directory of the files openLog opens (default: PATH.logs)", &log_dir);
  return server_main.run(argc, argv, [&](doors::ServerMain& m) {
    return std::make_shared<Calculator>(
        open_log_dir(log_dir.empty() ? m.path() + ".logs" : log_dir));
  });
}
