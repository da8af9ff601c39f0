// Calls to a door known from its description (dynamic.h).
#include "doors/runtime/dynamic.h"

#include <kj/exception.h>

#include "doors/runtime/introspection.h"
#include "doors/runtime/schema_text.h"
#include "thread_state.h"

namespace doors {
namespace {

// $Door.timeoutMs (idl/door.capnp; its id is fixed).
constexpr uint64_t kTimeoutMsAnnotation = 0xa553849acccffa37;

// A description's names are the server's words: kept short enough for messages and tables.
constexpr size_t kMaxName = 256;

std::string clipped_name(kj::StringPtr text) {
  return std::string(text.cStr(), text.size() < kMaxName ? text.size() : kMaxName);
}

uint32_t timeout_ms_of(capnp::List<capnp::schema::Annotation>::Reader annotations) {
  for (auto a : annotations) {
    if (a.getId() == kTimeoutMsAnnotation && a.getValue().isUint32())
      return a.getValue().getUint32();
  }
  return 0;
}

}  // namespace

std::shared_ptr<const RemoteInterface> RemoteInterface::describe(const ClientBase& door,
                                                                 const CallOptions& options) {
  IntrospectionClient client(door.door());
  auto reply = client.describe(options);
  std::shared_ptr<RemoteInterface> r(new RemoteInterface);
  try {
    auto d = reply->getDescription();
    for (auto node : d.getNodes()) r->loader_.load(node);
    capnp::Schema root = r->loader_.get(d.getInterfaceId());
    if (!root.getProto().isInterface()) {
      throw Error(Code::kDataLoss, "the door's description names a type that is not an interface");
    }
    r->schema_ = root.asInterface();
    r->name_ = clipped_name(d.getInterfaceName());
    r->default_path_ = clipped_name(d.getDefaultPath());
    r->info_.door_attributes = d.getDoorAttributes();
    r->info_.id = d.getInterfaceId();
    uint32_t interface_timeout = timeout_ms_of(root.getProto().getAnnotations());
    auto methods = r->schema_.getMethods();
    r->method_names_.reserve(methods.size());
    for (auto m : methods) r->method_names_.push_back(clipped_name(m.getProto().getName()));
    r->methods_.reserve(methods.size());
    for (auto m : methods) {
      MethodInfo info{};
      info.name = r->method_names_[m.getIndex()].c_str();
      info.ordinal = static_cast<uint16_t>(m.getIndex());
      uint32_t timeout = timeout_ms_of(m.getProto().getAnnotations());
      info.limits.timeout_ms = timeout != 0 ? timeout : interface_timeout;
      r->methods_.push_back(info);
    }
  } catch (const kj::Exception& e) {
    throw Error(Code::kDataLoss, std::string("the door's description is not a valid schema: ") +
                                     e.getDescription().cStr());
  }
  r->info_.name = r->name_.c_str();
  r->info_.default_path = r->default_path_.empty() ? nullptr : r->default_path_.c_str();
  r->info_.methods = r->methods_.data();
  r->info_.method_count = r->methods_.size();
  r->info_.schema = nullptr;  // only a served interface needs it (its own introspection)
  return r;
}

std::optional<capnp::InterfaceSchema::Method> RemoteInterface::method(std::string_view name) const {
  for (size_t i = 0; i < method_names_.size(); ++i) {
    if (method_names_[i] == name) return schema_.getMethods()[static_cast<unsigned>(i)];
  }
  return std::nullopt;
}

std::optional<capnp::Schema> RemoteInterface::type(uint64_t id) const {
  KJ_IF_MAYBE (s, loader_.tryGet(id)) {
    return *s;
  }
  return std::nullopt;
}

std::vector<capnp::Schema> RemoteInterface::types() const {
  std::vector<capnp::Schema> out;
  for (capnp::Schema s : loader_.getAllLoaded()) out.push_back(s);
  return out;
}

std::string RemoteInterface::text() const { return schema_text(schema_); }

namespace {

std::shared_ptr<const DoorHandle> usable_door(const ClientBase& door) {
  if (!door) throw Error(Code::kFailedPrecondition, "a request on an empty client");
  return door.door();
}

const MethodInfo& method_info(const RemoteInterface& interface,
                              capnp::InterfaceSchema::Method method) {
  if (method.getContainingInterface() != interface.schema()) {
    throw Error(Code::kInvalidArgument, "a method of another interface");
  }
  return interface.info().methods[method.getIndex()];
}

}  // namespace

DynamicRequest::DynamicRequest(const ClientBase& door,
                               std::shared_ptr<const RemoteInterface> interface,
                               capnp::InterfaceSchema::Method method, const CallOptions& options)
    : RequestBase(usable_door(door), interface->info(), method_info(*interface, method), options),
      interface_(std::move(interface)),
      method_(method) {
  detail::imbue<capnp::AnyPointer>(message().getRoot<capnp::AnyPointer>(), &message().caps())
      .initAs<capnp::DynamicStruct>(method_.getParamType());
}

capnp::DynamicStruct::Builder DynamicRequest::params() {
  return detail::imbue<capnp::AnyPointer>(message().getRoot<capnp::AnyPointer>(), &message().caps())
      .getAs<capnp::DynamicStruct>(method_.getParamType());
}

void DynamicRequest::set_params(capnp::DynamicStruct::Reader params) {
  if (params.getSchema() != method_.getParamType()) {
    throw Error(Code::kInvalidArgument, "parameters of another type");
  }
  detail::imbue<capnp::AnyPointer>(message().getRoot<capnp::AnyPointer>(), &message().caps())
      .setAs<capnp::DynamicStruct>(params);
}

uint32_t DynamicRequest::add_fd(int fd) { return message().caps().add_copy(fd); }

DynamicReply DynamicRequest::send() {
  capnp::StructSchema results = method_.getResultType();
  return DynamicReply(send_raw(), results);
}

}  // namespace doors
