// calculator_client: calls a calculator_server through the generated CalculatorDoor::Client.
//
//   calculator_client [--path PATH] add A B           prints A + B
//   calculator_client [--path PATH] divide A B        prints A / B (rounded toward zero)
//   calculator_client [--path PATH] total [X...]      prints the sum of the numbers
//   calculator_client [--path PATH] log NAME TEXT...  appends TEXT to the server's NAME.log
//                                                     through the descriptor openLog returns
//   calculator_client [--path PATH] session [KEY [VALUE]]
//                                                     opens a session, puts VALUE under KEY,
//                                                     gets it back (default: greeting, hello)
//   calculator_client [--path PATH] eval TEXT [NAME=VALUE...]
//                                                     parses TEXT (parse), then evaluates the
//                                                     tree with the variables (evaluate) and
//                                                     prints the value
//
// Without --path the client opens the interface's default path ($Door.path "calculator").
// Exit statuses: 0 success, 1 the call failed (one line on stderr, `error: CODE: message`),
// 2 bad usage.
#include <doors/runtime.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "calculator.door.h"

namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

void usage(std::FILE* out) {
  std::fputs(
      "usage: calculator_client [--path PATH] COMMAND [ARGS...]\n"
      "commands:\n"
      "  add A B              print A + B (64-bit integers)\n"
      "  divide A B           print A / B, rounded toward zero\n"
      "  total [X...]         print the sum of the numbers\n"
      "  log NAME TEXT...     append TEXT to the server's log NAME.log\n"
      "  session [KEY [VALUE]]  put VALUE under KEY in a new session and get it back\n"
      "  eval TEXT [NAME=VALUE...]\n"
      "                       print the value of the expression TEXT (one argument, say\n"
      "                       '1 + 2 * (3 - x)'), each NAME standing for its VALUE\n",
      out);
}

struct UsageError {
  std::string message;
};

int64_t parse_int(std::string_view s) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size())
    throw UsageError{"not a 64-bit integer: '" + std::string(s) + "'"};
  return v;
}

double parse_double(std::string_view s) {
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size())
    throw UsageError{"not a number: '" + std::string(s) + "'"};
  return v;
}

std::string format_double(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);  // shortest exact form: 6.5
  return ec == std::errc() ? std::string(buf, end) : std::to_string(v);
}

kj::ArrayPtr<const kj::byte> bytes(const std::string& s) {
  return kj::arrayPtr(reinterpret_cast<const kj::byte*>(s.data()), s.size());
}

kj::StringPtr text(const std::string& s) { return kj::StringPtr(s.c_str(), s.size()); }

std::string join(const std::vector<std::string>& words, size_t from) {
  std::string out;
  for (size_t i = from; i < words.size(); ++i) out += (i > from ? " " : "") + words[i];
  return out;
}

// Opens the door only once the arguments are known to be good, so that a usage error is
// reported as one whether or not a server is running.
calc::CalculatorDoor::Client open_door(const std::string& path) {
  return path.empty() ? calc::CalculatorDoor::Client::open()
                      : calc::CalculatorDoor::Client::open(path);
}

int run(const std::string& path, const std::vector<std::string>& args) {
  const std::string& cmd = args[0];
  if (cmd == "add" || cmd == "divide") {
    if (args.size() != 3) throw UsageError{cmd + " takes two integers"};
    int64_t a = parse_int(args[1]), b = parse_int(args[2]);
    auto door = open_door(path);
    if (cmd == "add")
      std::printf("%lld\n", static_cast<long long>(door.add(a, b)->getSum()));
    else
      std::printf("%lld\n", static_cast<long long>(door.divide(a, b)->getQuotient()));
    return 0;
  }
  if (cmd == "total") {
    std::vector<double> values;
    for (size_t i = 1; i < args.size(); ++i) values.push_back(parse_double(args[i]));
    auto door = open_door(path);
    auto req = door.totalRequest();
    auto list = req->initValues(static_cast<unsigned>(values.size()));
    for (size_t i = 0; i < values.size(); ++i) list.set(static_cast<unsigned>(i), values[i]);
    std::printf("%s\n", format_double(req.send()->getSum()).c_str());
    return 0;
  }
  if (cmd == "log") {
    if (args.size() < 3) throw UsageError{"log takes a name and some text"};
    const std::string& name = args[1];
    std::string line = join(args, 2) + "\n";
    auto door = open_door(path);
    auto reply = door.openLog(text(name));
    doors::OwnedFd fd = reply.take_fd(reply->getLog());
    for (size_t done = 0; done < line.size();) {
      ssize_t n = ::write(fd.get(), line.data() + done, line.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        std::fprintf(stderr, "error: write to %s.log: %s\n", name.c_str(), std::strerror(errno));
        return kExitFailure;
      }
      done += static_cast<size_t>(n);
    }
    std::printf("appended %zu bytes to %s.log\n", line.size(), name.c_str());
    return 0;
  }
  if (cmd == "session") {
    if (args.size() > 3) throw UsageError{"session takes at most a key and a value"};
    std::string key = args.size() > 1 ? args[1] : "greeting";
    std::string value = args.size() > 2 ? args[2] : "hello";
    // The session is a door of its own; this client holds the only reference, so the server
    // drops the session when `session` goes out of scope (or the process ends).
    auto door = open_door(path);
    calc::SessionDoor::Client session(door.session()->getS());
    session.put(text(key), bytes(value));
    std::printf("session: put %s = %s\n", key.c_str(), value.c_str());
    auto got = session.get(text(key));
    auto data = got->getValue();
    std::printf("session: get %s -> %.*s\n", key.c_str(), static_cast<int>(data.size()),
                reinterpret_cast<const char*>(data.begin()));
    return 0;
  }
  if (cmd == "eval") {
    if (args.size() < 2) throw UsageError{"eval takes an expression and NAME=VALUE pairs"};
    std::vector<std::pair<std::string, double>> variables;
    for (size_t i = 2; i < args.size(); ++i) {
      size_t eq = args[i].find('=');
      if (eq == 0 || eq == std::string::npos) throw UsageError{"not NAME=VALUE: '" + args[i] + "'"};
      variables.emplace_back(args[i].substr(0, eq), parse_double(args[i].substr(eq + 1)));
    }
    // Two calls: the server parses the text into an Expression (a tree of structs), which goes
    // back to it, with a list of Variable structs, to be evaluated.
    auto door = open_door(path);
    auto parsed = door.parse(text(args[1]));
    auto req = door.evaluateRequest();
    req->setExpression(parsed->getExpression());
    auto list = req->initVariables(static_cast<unsigned>(variables.size()));
    for (size_t i = 0; i < variables.size(); ++i) {
      list[static_cast<unsigned>(i)].setName(text(variables[i].first));
      list[static_cast<unsigned>(i)].setValue(variables[i].second);
    }
    std::printf("%s\n", format_double(req.send()->getValue()).c_str());
    return 0;
  }
  throw UsageError{"unknown command '" + cmd + "'"};
}

}  // namespace

int main(int argc, char** argv) {
  std::string path;
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (args.empty() && (a == "--help" || a == "-h")) {
      usage(stdout);
      return 0;
    }
    if (args.empty() && a == "--path" && i + 1 < argc) {
      path = argv[++i];
    } else if (args.empty() && a.substr(0, 7) == "--path=") {
      path = std::string(a.substr(7));
    } else if (args.empty() && a.substr(0, 2) == "--") {
      std::fprintf(stderr, "error: unknown option '%s'\n", argv[i]);
      usage(stderr);
      return kExitUsage;
    } else {
      args.emplace_back(a);
    }
  }
  if (args.empty()) {
    usage(stderr);
    return kExitUsage;
  }
  try {
    int rc = run(path, args);
    if (std::fflush(stdout) != 0) return kExitFailure;
    return rc;
  } catch (const UsageError& e) {
    std::fprintf(stderr, "error: %s\n", e.message.c_str());
    usage(stderr);
    return kExitUsage;
  } catch (const doors::Error& e) {
    std::fprintf(stderr, "error: %s: %s\n", doors::code_name(e.code()), e.message().c_str());
    return kExitFailure;
  }
}
