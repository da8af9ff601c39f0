// Cap'n Proto values as JSON for doorctl: Cap'n Proto's JsonCodec (field names as in the schema,
// enums by name, unions as the member set, 64-bit integers as strings, non-finite floats as
// strings) with doorctl's choices for what JSON has no type of:
//   Data       a base64 string (as grpcurl shows bytes); parameters also take an array of bytes.
//   Door.Fd    in parameters {"index": N}: the Nth descriptor given with --fd (from 0); in results
//              {"index": N, "fd": "<what it refers to>"} (readlink of /proc/self/fd; doorctl
//              closes it when done).
//   a door     (an interface-typed field) in parameters the path of a door to pass; in results
//              {"door": "<its interface>", "pid": <its server>} (null interface when untyped).
#pragma once

#include <capnp/compat/json.h>
#include <capnp/dynamic.h>
#include <doors/runtime.h>

#include <memory>
#include <string>
#include <string_view>

namespace doorctl {

class ValueCodec {
 public:
  // For the values of `interface`'s methods. `pretty`: indented output.
  ValueCodec(std::shared_ptr<const doors::RemoteInterface> interface, bool pretty);
  ~ValueCodec();
  ValueCodec(const ValueCodec&) = delete;
  ValueCodec& operator=(const ValueCodec&) = delete;

  // Fills `params` from a JSON object. Unknown fields are refused. Throws UsageError saying
  // what does not fit (bad JSON, a wrong type, a door path that is no door).
  void decode(std::string_view json, capnp::DynamicStruct::Builder params) const;
  // The results as JSON; descriptors of Door.Fd fields are taken from `reply` (and closed).
  std::string encode(capnp::DynamicStruct::Reader results, doors::detail::ReplyBase& reply) const;

 private:
  struct Handlers;
  std::shared_ptr<const doors::RemoteInterface> interface_;
  std::unique_ptr<Handlers> handlers_;
  capnp::JsonCodec codec_;
};

}  // namespace doorctl
