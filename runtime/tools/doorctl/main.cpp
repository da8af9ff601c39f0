// doorctl: list, inspect, call and measure door servers (help.cpp has the manual).
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <optional>
#include <string>

#include "commands.h"
#include "help.h"

namespace doorctl {
namespace {

struct Command {
  const char* name;
  int (*run)(Args&, GlobalOptions&);
};

constexpr Command kCommands[] = {
    {"ls", run_ls},     {"info", run_info},   {"schema", run_schema},
    {"call", run_call}, {"stats", run_stats}, {"bench", run_bench},
};

int usage_error(const std::string& message, const char* command) {
  std::fprintf(stderr, "doorctl: error: %s\nTry 'doorctl help%s%s' for more information.\n",
               message.c_str(), command != nullptr ? " " : "", command != nullptr ? command : "");
  return kExitUsage;
}

int print_help(std::string_view command) {
  const char* text = help_text(command);
  if (text == nullptr) return usage_error("no command '" + std::string(command) + "'", nullptr);
  std::fputs(text, stdout);
  return std::fflush(stdout) == 0 ? kExitOk : kExitCallFailed;
}

int main_impl(int argc, char** argv) {
  GlobalOptions global;
  Args args(argc, argv, 1);
  const Command* command = nullptr;
  try {
    while (!args.done() && !command) {
      if (global_option(args, global)) continue;
      std::string word = args.next();
      if (word == "--help" || word == "-h") return print_help("");
      if (word == "--version") {
        std::printf("doorctl %s\n", doors::runtime_version());
        return kExitOk;
      }
      if (word == "help") {
        std::string topic = args.done() ? "" : args.next();
        if (!args.done()) return usage_error("help takes one COMMAND", nullptr);
        return print_help(topic);
      }
      for (const Command& c : kCommands) {
        if (word == c.name) command = &c;
      }
      if (command == nullptr) {
        return usage_error(
            word.rfind("-", 0) == 0 ? "unknown option '" + word + "'" : "no command '" + word + "'",
            nullptr);
      }
    }
    if (command == nullptr) return usage_error("a command is needed", nullptr);
    for (Args look = args; !look.done();) {
      std::string a = look.next();
      if (a == "--help" || a == "-h") return print_help(command->name);
    }
    return command->run(args, global);
  } catch (const UsageError& e) {
    return usage_error(e.message, command != nullptr ? command->name : nullptr);
  } catch (const Failure& f) {
    std::fprintf(stderr, "doorctl: error: %s\n", f.message.c_str());
    return f.status;
  } catch (const doors::Error& e) {
    // An error no subcommand classified: the door or a call failed.
    std::fprintf(stderr, "doorctl: error: %s\n", e.what());
    return kExitCallFailed;
  }
}

}  // namespace

bool global_option(Args& args, GlobalOptions& global) {
  if (args.flag("--json")) {
    global.json = true;
    return true;
  }
  if (auto t = args.option("--timeout")) {
    global.timeout = parse_timeout("--timeout", *t);
    global.timeout_given = true;
    return true;
  }
  return false;
}

std::string operand(Args& args, const char* what) {
  if (args.done()) throw UsageError{std::string(what) + " is missing"};
  std::string a = args.next();
  if (a.size() > 1 && a[0] == '-' && a != "-") throw UsageError{"unknown option '" + a + "'"};
  return a;
}

std::string lone_path(Args& args, GlobalOptions& global) {
  std::optional<std::string> path;
  while (!args.done()) {
    if (global_option(args, global)) continue;
    if (path) throw UsageError{"unexpected argument '" + args.peek() + "'"};
    path = operand(args, "PATH");
  }
  if (!path) throw UsageError{"PATH is missing"};
  return *path;
}

}  // namespace doorctl

int main(int argc, char** argv) {
  // A reader that goes away (doorctl ... | head) ends output with EPIPE, not a signal.
  ::signal(SIGPIPE, SIG_IGN);
  return doorctl::main_impl(argc, argv);
}
