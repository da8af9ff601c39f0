// Calls to a door whose interface is known only at run time, from the door's own description
// (the introspection interface's describe()): the parameters are built and the results read
// with Cap'n Proto's dynamic API, over the same zero-copy path as generated clients. What
// doorctl uses to call any method of any door server without its .capnp file.
#pragma once

#include <capnp/dynamic.h>
#include <capnp/schema-loader.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "doors/runtime/client.h"
#include "doors/runtime/interface.h"

namespace doors {

// A door's interface as its server describes it. Immutable once made; share it freely.
class RemoteInterface {
 public:
  // Asks the door for its description (IntrospectionClient::describe) and loads it. Throws
  // Error: what the call throws, or kDataLoss when the description is not a valid schema of an
  // interface (the server is not trusted: every node is checked by capnp::SchemaLoader).
  static std::shared_ptr<const RemoteInterface> describe(const ClientBase& door,
                                                         const CallOptions& options = {});

  RemoteInterface(const RemoteInterface&) = delete;
  RemoteInterface& operator=(const RemoteInterface&) = delete;

  const std::string& name() const noexcept { return name_; }
  uint64_t id() const noexcept { return info_.id; }
  const std::string& default_path() const noexcept { return default_path_; }
  uint32_t door_attributes() const noexcept { return info_.door_attributes; }
  capnp::InterfaceSchema schema() const noexcept { return schema_; }
  // For requests: the name, id and methods (with their $Door.timeoutMs) of the interface.
  const InterfaceInfo& info() const noexcept { return info_; }

  // The method called `name`, if the interface has one.
  std::optional<capnp::InterfaceSchema::Method> method(std::string_view name) const;
  // The types the server described (for tools that print or convert values), by id, and all.
  std::optional<capnp::Schema> type(uint64_t id) const;
  std::vector<capnp::Schema> types() const;

  // The schema as Cap'n Proto text (schema_text()).
  std::string text() const;

 private:
  RemoteInterface() = default;

  capnp::SchemaLoader loader_;
  capnp::InterfaceSchema schema_;
  std::string name_;
  std::string default_path_;
  std::vector<std::string> method_names_;
  std::vector<MethodInfo> methods_;
  InterfaceInfo info_{};
};

// The results of a dynamic call, read in place like Reply<R> (client.h: the same lifetime rules).
class DynamicReply : public detail::ReplyBase {
 public:
  DynamicReply() noexcept = default;
  capnp::DynamicStruct::Reader results() const {
    return root().getAs<capnp::DynamicStruct>(schema_);
  }
  capnp::StructSchema schema() const noexcept { return schema_; }

 private:
  friend class DynamicRequest;
  DynamicReply(detail::ReplyState* state, capnp::StructSchema schema) noexcept
      : ReplyBase(state), schema_(schema) {}
  capnp::StructSchema schema_;
};

// One call of `method` of a RemoteInterface, its parameters built in place. Move-only; belongs
// to the thread that made it (like Request<P, R>).
class DynamicRequest : public detail::RequestBase {
 public:
  // Throws Error(kFailedPrecondition) for an empty client, kInvalidArgument for a method of
  // another interface.
  DynamicRequest(const ClientBase& door, std::shared_ptr<const RemoteInterface> interface,
                 capnp::InterfaceSchema::Method method, const CallOptions& options = {});

  capnp::DynamicStruct::Builder params();
  // Copies `params` (of the method's parameter type) into the request.
  void set_params(capnp::DynamicStruct::Reader params);
  // Appends a copy of `fd` to the call's descriptor list (the caller keeps fd, open until
  // send()) and returns its index, for a Door.Fd field to name.
  uint32_t add_fd(int fd);
  DynamicReply send();

 private:
  std::shared_ptr<const RemoteInterface> interface_;
  capnp::InterfaceSchema::Method method_;
};

}  // namespace doors
