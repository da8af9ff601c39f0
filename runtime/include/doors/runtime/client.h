// The client side of typed calls: ClientBase (what generated clients derive from), Request<P, R>
// (parameters built in place, send()) and Reply<R> (results read in place).
#pragma once

#include <capnp/any.h>
#include <capnp/capability.h>
#include <doors/door.capnp.h>

#include <memory>
#include <optional>
#include <utility>

#include "doors/runtime/detail/message.h"
#include "doors/runtime/door_handle.h"
#include "doors/runtime/error.h"
#include "doors/runtime/interface.h"
#include "doors/runtime/owned_fd.h"

namespace doors {

template <class P, class R>
class Request;
template <class R>
class Reply;
class ClientBase;

namespace detail {

struct ReplyState;
struct RequestCore;

// `operator->` of Request and Reply: a Cap'n Proto builder or reader held by value.
template <class T>
class Arrow {
 public:
  explicit Arrow(T value) : value_(value) {}
  T* operator->() { return &value_; }

 private:
  T value_;
};

// The type-independent part of Reply<R>.
class ReplyBase {
 public:
  ReplyBase() noexcept = default;
  ReplyBase(ReplyBase&& other) noexcept;
  ReplyBase& operator=(ReplyBase&& other) noexcept;
  ReplyBase(const ReplyBase&) = delete;
  ReplyBase& operator=(const ReplyBase&) = delete;
  ~ReplyBase();

  // Descriptor `index` of the reply, now the caller's. Throws Error(kInvalidArgument) for an
  // index the reply does not have, or one already taken.
  OwnedFd take_fd(uint32_t index);
  // Copies the results out of the memory libdoors lends (README "Results are read in place"), so
  // that the Reply stays valid across later door operations of this thread and may be handed
  // to another thread. Readers obtained before detach() point into the old memory: get them
  // again. No-op when already detached.
  void detach();
  // False for a default-constructed or moved-from Reply.
  bool valid() const noexcept { return state_ != nullptr; }
  // True while the results are read where libdoors left them.
  bool in_place() const noexcept;

 protected:
  explicit ReplyBase(ReplyState* state) noexcept;
  // The results' root; throws Error(kFailedPrecondition) for an empty Reply.
  capnp::AnyPointer::Reader root() const;

 private:
  friend struct ReplyState;
  ReplyState* state_ = nullptr;
};

// The type-independent part of Request<P, R>.
class RequestBase {
 public:
  RequestBase(RequestBase&& other) noexcept;
  RequestBase& operator=(RequestBase&& other) noexcept;
  RequestBase(const RequestBase&) = delete;
  RequestBase& operator=(const RequestBase&) = delete;
  ~RequestBase();

  // Sends `fd` with the call; the caller keeps its descriptor (which must stay open until
  // send()).
  void set_fd(::doors::schema::Fd::Builder field, int fd);
  // Sends `fd` with the call and closes it once the call is done (sent or not).
  void set_fd(::doors::schema::Fd::Builder field, OwnedFd fd);

  // A Data value that refers to `bytes` instead of holding a copy, for a large argument the
  // caller already has in memory: `request->adoptPayload(request.reference_data(bytes))`. The
  // message is then copied once, when sent, straight into shared memory (setPayload(bytes)
  // instead zeroes the room for the value in shared memory, then copies into it). `bytes` must
  // stay valid and unchanged until send() returns, and begin 8-byte aligned (as malloc'ed
  // memory does): Error(kInvalidArgument) otherwise.
  capnp::Orphan<capnp::Data> reference_data(kj::ArrayPtr<const kj::byte> bytes);

 protected:
  RequestBase(std::shared_ptr<const DoorHandle> door, const InterfaceInfo& interface,
              const MethodInfo& method, const CallOptions& options);
  // The message being built; throws Error(kFailedPrecondition) once sent.
  OutMessage& message() const;
  // Performs the call. Returns the reply's state or throws Error. The request is spent either
  // way.
  ReplyState* send_raw();

 private:
  void release() noexcept;

  OutMessage* message_ = nullptr;
  bool on_heap_ = false;  // message_ is ours on the heap (not the thread's scratch builder)
  std::shared_ptr<const DoorHandle> door_;
  const InterfaceInfo* interface_ = nullptr;
  const MethodInfo* method_ = nullptr;
  std::optional<std::chrono::nanoseconds> timeout_;
};

}  // namespace detail

// A call's results, read in place. Move-only. A Reply not detach()ed stays usable until this
// thread's next door operation through the runtime (which first copies it out) — but a Reply
// given to another thread must be detach()ed first, and a door operation made directly with
// libdoors (door_call, door_info...) while a Reply is in place invalidates it.
template <class R>
class Reply : public detail::ReplyBase {
 public:
  Reply() noexcept = default;

  // The results (a Cap'n Proto reader; capability fields readable).
  typename R::Reader results() const { return root().template getAs<R>(); }
  detail::Arrow<typename R::Reader> operator->() const {
    return detail::Arrow<typename R::Reader>(results());
  }

  // The descriptor a Door.Fd field of the results names, now the caller's.
  OwnedFd take_fd(::doors::schema::Fd::Reader fd) { return ReplyBase::take_fd(fd.getIndex()); }
  using ReplyBase::take_fd;

 private:
  template <class, class>
  friend class Request;
  explicit Reply(detail::ReplyState* state) noexcept : ReplyBase(state) {}
};

// The parameters of one call, built in place. Move-only; belongs to the thread that made it
// (README "Zero copy": the first one on a thread uses the thread's scratch, a second one built
// at the same time the heap).
template <class P, class R>
class Request : public detail::RequestBase {
 public:
  // The parameters (a Cap'n Proto builder). Throws Error(kFailedPrecondition) once sent.
  typename P::Builder params() {
    message();
    return params_;
  }
  detail::Arrow<typename P::Builder> operator->() {
    return detail::Arrow<typename P::Builder>(params());
  }

  // Performs the call: the results, or Error (README "Errors from the call itself"). The
  // request is spent afterwards.
  Reply<R> send() { return Reply<R>(send_raw()); }

 private:
  friend class ::doors::ClientBase;
  Request(std::shared_ptr<const DoorHandle> door, const InterfaceInfo& interface,
          const MethodInfo& method, const CallOptions& options)
      : RequestBase(std::move(door), interface, method, options),
        params_(detail::imbue<P>(message().template initRoot<P>(), &message().caps())) {}

  typename P::Builder params_;
};

// A shared reference to a door, the base of generated clients. Copyable: copies share the
// DoorHandle; the last one closes the descriptor. Calls from many threads at once are fine.
class ClientBase {
 public:
  ClientBase() = default;
  explicit ClientBase(DoorHandle door);
  explicit ClientBase(std::shared_ptr<const DoorHandle> door) noexcept : door_(std::move(door)) {}
  // The door an interface value from a message holds. Throws Error(kInvalidArgument) when the
  // capability is null or not a door.
  explicit ClientBase(capnp::Capability::Client capability);

  // A capability holding this door (sharing it), to store in a message.
  capnp::Capability::Client capability() const;

  const std::shared_ptr<const DoorHandle>& door() const noexcept { return door_; }
  // The door descriptor, or -1 for an empty client.
  int fd() const noexcept { return door_ ? door_->fd() : -1; }
  explicit operator bool() const noexcept { return door_ != nullptr && door_->valid(); }

 protected:
  // A request for `method` of `interface` (generated code: one per method). Throws
  // Error(kFailedPrecondition) for an empty client.
  template <class P, class R>
  Request<P, R> request(const InterfaceInfo& interface, const MethodInfo& method,
                        const CallOptions& options) const {
    check_usable();
    return Request<P, R>(door_, interface, method, options);
  }

 private:
  void check_usable() const;

  std::shared_ptr<const DoorHandle> door_;
};

}  // namespace doors
