// The server side of typed calls: ServerBase (what generated servers derive from), the
// invocation a handler sees (IncomingCall, CallContext<P, R>), Service (a door serving a
// ServerBase, attached to a path) and export_door (an object served by a door of its own).
#pragma once

#include <capnp/any.h>
#include <capnp/capability.h>
#include <doors/door.capnp.h>
#include <sys/types.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "doors/runtime/detail/message.h"
#include "doors/runtime/error.h"
#include "doors/runtime/interface.h"
#include "doors/runtime/owned_fd.h"

namespace doors {

// Who made a call, as the kernel vouched for it at call time (door_cred(3C)).
struct Caller {
  pid_t pid;
  uid_t uid;  // real
  gid_t gid;  // real
  uid_t euid;
  gid_t egid;
};

namespace detail {
struct CallState;
struct DoorTarget;
struct Dispatcher;
}  // namespace detail

// One invocation on the server side, valid for the duration of the handler. The parameters are
// read in place (possibly from the client's read-only shared memory); the results are built
// where they will be sent from.
class IncomingCall {
 public:
  IncomingCall(const IncomingCall&) = delete;
  IncomingCall& operator=(const IncomingCall&) = delete;

  // The method's ordinal.
  uint16_t method() const noexcept;
  const InterfaceInfo& interface_info() const noexcept;
  const MethodInfo& method_info() const noexcept;

  // The parameters (capability fields readable).
  template <class P>
  typename P::Reader params() const {
    return params_root().template getAs<P>();
  }
  // The results, created on first use.
  template <class R>
  typename R::Builder results() {
    if (!results_started_) {
      results_started_ = true;
      return detail::imbue<R>(reply_message().template initRoot<R>(), &reply_message().caps());
    }
    return detail::imbue<R>(reply_message().template getRoot<R>(), &reply_message().caps());
  }

  // Descriptor `index` of the call, now the handler's. Throws Error(kInvalidArgument) for an
  // index the call does not have, or one already taken.
  OwnedFd take_fd(uint32_t index);
  // Sends `fd` with the reply and closes it afterwards.
  void set_fd(::doors::schema::Fd::Builder field, OwnedFd fd);
  // Sends a copy of `fd` with the reply; the handler keeps its descriptor.
  void set_fd(::doors::schema::Fd::Builder field, int fd);

  // The caller's credentials. Throws Error(kInternal) if libdoors cannot tell.
  Caller caller() const;

  // Throws Error(kUnimplemented, "<Interface>.<method>: this server does not provide the method").
  [[noreturn]] void unimplemented() const;

 private:
  friend struct detail::CallState;
  friend struct detail::Dispatcher;
  explicit IncomingCall(detail::CallState* state) noexcept : state_(state) {}
  capnp::AnyPointer::Reader params_root() const noexcept;
  detail::OutMessage& reply_message();

  detail::CallState* state_;
  bool results_started_ = false;
};

// What a handler of method M (params P, results R) gets.
template <class P, class R>
class CallContext {
 public:
  explicit CallContext(IncomingCall& call) noexcept : call_(call) {}
  CallContext(const CallContext&) = delete;
  CallContext& operator=(const CallContext&) = delete;

  typename P::Reader params() const { return call_.params<P>(); }
  typename R::Builder results() { return call_.results<R>(); }
  OwnedFd take_fd(::doors::schema::Fd::Reader fd) { return call_.take_fd(fd.getIndex()); }
  void set_fd(::doors::schema::Fd::Builder field, OwnedFd fd) {
    call_.set_fd(field, std::move(fd));
  }
  void set_fd(::doors::schema::Fd::Builder field, int fd) { call_.set_fd(field, fd); }
  Caller caller() const { return call_.caller(); }
  [[noreturn]] void unimplemented() const { call_.unimplemented(); }
  IncomingCall& call() noexcept { return call_; }

 private:
  IncomingCall& call_;
};

// Implements one interface: the door procedure behind it validates each request (header,
// interface id, ordinal, the method's limits, the message), calls dispatch(), and answers with
// the results or, when the handler throws, a typed error (README "Server side"). Not copyable.
class ServerBase {
 public:
  virtual ~ServerBase();
  ServerBase(const ServerBase&) = delete;
  ServerBase& operator=(const ServerBase&) = delete;

  virtual const InterfaceInfo& interface_info() const = 0;
  // The door's last client reference went away (DOOR_UNREF; for export_door always). Runs on a
  // server thread. Default: nothing.
  virtual void unreferenced() {}

 protected:
  ServerBase() = default;
  // Calls the handler of call.method() (generated: a switch on the ordinal).
  virtual void dispatch(IncomingCall& call) = 0;

 private:
  friend struct detail::Dispatcher;
};

// A door serving a ServerBase (door_create(3C) with the interface's attributes). Not copyable,
// not movable. Destruction detaches every path, revokes the door (door_revoke(3C): calls in
// progress finish) and waits for the handlers still running, unless it runs in one of them (then
// the last of them releases the server).
class Service {
 public:
  // Throws Error (kResourceExhausted...) when the door cannot be created.
  explicit Service(std::shared_ptr<ServerBase> server);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Attaches the door to resolve_door_path(path) (fattach(3C)), creating the file with exactly
  // `mode` when it is missing (and the directory of a bare name, 0755, when that is missing).
  // Throws Error: kAlreadyExists (something is attached there already), kPermissionDenied,
  // kNotFound, ...
  void attach(std::string_view path, mode_t mode = 0666);
  // Detaches every path attached (fdetach(3C)) and removes the files attach() created.
  void detach() noexcept;

  // The door descriptor (owned by the Service).
  int fd() const noexcept { return fd_; }
  ServerBase& server() const noexcept { return *server_; }
  const std::vector<std::string>& paths() const noexcept { return paths_; }

 private:
  std::shared_ptr<ServerBase> server_;
  detail::DoorTarget* target_ = nullptr;
  int fd_ = -1;
  std::vector<std::string> paths_;
  std::vector<bool> created_;
};

namespace detail {
// export_door's work: a door (DOOR_UNREF) serving `server`; its object is destroyed once the
// last client reference is gone.
capnp::Capability::Client export_server(std::unique_ptr<ServerBase> server);
}  // namespace detail

// Serves `server` through a new door (DOOR_UNREF plus the interface's attributes) and returns it
// as the interface's Cap'n Proto client type, to store in a message. When the last reference to
// the door is gone (the returned capability, and whatever copies of it were sent), the server's
// unreferenced() runs, then the door is revoked and the object destroyed.
template <class S>
typename S::CapnpInterface::Client export_door(std::unique_ptr<S> server) {
  return detail::export_server(std::unique_ptr<ServerBase>(std::move(server)))
      .template castAs<typename S::CapnpInterface>();
}

}  // namespace doors
