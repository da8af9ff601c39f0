// doorctl schema and doorctl call: a typed door's interface, and calls to any of its methods.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <iterator>
#include <optional>

#include "call_support.h"
#include "commands.h"
#include "json.h"

namespace doorctl {

std::shared_ptr<const doors::RemoteInterface> describe(const Door& door,
                                                       const GlobalOptions& global) {
  require_typed(door, "describe its interface");
  try {
    return doors::RemoteInterface::describe(door.client, global.call_options());
  } catch (const doors::Error& e) {
    fail_call(e);
  }
}

capnp::InterfaceSchema::Method find_method(const doors::RemoteInterface& interface,
                                           const std::string& name) {
  if (auto m = interface.method(name)) return *m;
  std::string known;
  for (auto m : interface.schema().getMethods()) {
    known += known.empty() ? "" : ", ";
    known += m.getProto().getName().cStr();
  }
  throw UsageError{interface.name() + " has no method '" + name + "' (it has: " + known + ")"};
}

std::string read_json_argument(const std::string& arg) {
  if (arg != "-") return arg;
  std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  if (std::cin.bad()) throw Failure{kExitUsage, "cannot read the parameters from stdin"};
  return text;
}

CallTarget open_call(const std::vector<std::string>& operands, const GlobalOptions& global) {
  if (operands.size() < 2)
    throw UsageError{operands.empty() ? "PATH is missing" : "METHOD is missing"};
  if (operands.size() > 3) throw UsageError{"unexpected argument '" + operands[3] + "'"};
  std::string json = operands.size() == 3 ? read_json_argument(operands[2]) : "{}";
  Door door = open_door(operands[0]);
  auto interface = describe(door, global);
  auto method = find_method(*interface, operands[1]);
  doors::CallOptions options = global.call_options(interface->info().methods[method.getIndex()]);
  return CallTarget{std::move(door), std::move(interface), method, std::move(json), options};
}

Descriptors::~Descriptors() {
  for (int fd : owned) ::close(fd);
}

void Descriptors::add(const std::string& spec) {
  int n = 0;
  auto [end, ec] = std::from_chars(spec.data(), spec.data() + spec.size(), n);
  if (ec == std::errc() && end == spec.data() + spec.size()) {
    if (::fcntl(n, F_GETFD) < 0) throw UsageError{"--fd " + spec + ": no such descriptor"};
    fds.push_back(n);
    return;
  }
  int fd = ::open(spec.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) throw UsageError{"--fd " + spec + ": " + std::strerror(errno)};
  owned.push_back(fd);
  fds.push_back(fd);
}

int run_schema(Args& args, GlobalOptions& global) {
  Door door = open_door(lone_path(args, global));
  auto interface = describe(door, global);
  std::string text = interface->text();
  if (global.json) {
    JsonWriter w;
    w.begin_object()
        .key("interface")
        .value(interface->name())
        .key("interfaceId")
        .value(hex_id(interface->id()))
        .key("defaultPath")
        .value(interface->default_path())
        .key("schema")
        .value(text)
        .end_object();
    std::printf("%s\n", w.str().c_str());
  } else {
    std::fputs(text.c_str(), stdout);
  }
  return kExitOk;
}

int run_call(Args& args, GlobalOptions& global) {
  Descriptors fds;
  bool pretty = is_terminal(STDOUT_FILENO);
  std::vector<std::string> operands;
  while (!args.done()) {
    if (global_option(args, global)) continue;
    if (auto spec = args.option("--fd")) {
      fds.add(*spec);
    } else if (args.flag("--pretty")) {
      pretty = true;
    } else if (args.flag("--compact")) {
      pretty = false;
    } else {
      operands.push_back(operand(args, "PATH"));
    }
  }
  CallTarget target = open_call(operands, global);
  ValueCodec codec(target.interface, pretty);
  try {
    doors::DynamicRequest request(target.door.client, target.interface, target.method,
                                  target.options);
    for (int fd : fds.fds) request.add_fd(fd);
    codec.decode(target.json, request.params());
    doors::DynamicReply reply = request.send();
    std::string out = codec.encode(reply.results(), reply);
    std::printf("%s\n", out.c_str());
  } catch (const doors::Error& e) {
    fail_call(e);
  }
  return std::fflush(stdout) == 0 ? kExitOk : kExitCallFailed;
}

}  // namespace doorctl
