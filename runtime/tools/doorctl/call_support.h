// What call, stats and bench share: a typed door's description, its methods, parameters.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common.h"

namespace doorctl {

// The interface of a typed door (Introspection describe). Throws Failure: kExitUnreachable when
// the door is not typed, kExitCallFailed when describing fails.
std::shared_ptr<const doors::RemoteInterface> describe(const Door& door,
                                                       const GlobalOptions& global);
// The method `name`; UsageError listing the methods when there is none.
capnp::InterfaceSchema::Method find_method(const doors::RemoteInterface& interface,
                                           const std::string& name);
// The JSON argument: itself, or stdin's contents for "-".
std::string read_json_argument(const std::string& arg);

// What call and bench call: their operands PATH METHOD [JSON|-], resolved.
struct CallTarget {
  Door door;
  std::shared_ptr<const doors::RemoteInterface> interface;
  capnp::InterfaceSchema::Method method;
  std::string json;            // the parameters ("{}" when not given)
  doors::CallOptions options;  // --timeout, or the method's $Door.timeoutMs
};
// Throws UsageError for missing or extra operands or an unknown method, Failure when the door
// cannot be used or described.
CallTarget open_call(const std::vector<std::string>& operands, const GlobalOptions& global);

// The descriptors of --fd options: opened files (closed at the end) or inherited numbers.
struct Descriptors {
  Descriptors() = default;
  ~Descriptors();
  Descriptors(const Descriptors&) = delete;
  Descriptors& operator=(const Descriptors&) = delete;
  // FILE (opened read-only) or N (doorctl's descriptor N). Throws UsageError.
  void add(const std::string& spec);
  std::vector<int> fds;  // in --fd order: a Door.Fd {"index": i} names fds[i]
  std::vector<int> owned;
};

}  // namespace doorctl
