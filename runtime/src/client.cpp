// The client side: per-thread state, Request (send), Reply (in place, detach) and ClientBase.
#include "doors/runtime/client.h"

#include <doors/ext.h>
#include <errno.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "doors/runtime/capability.h"
#include "thread_state.h"

namespace doors::detail {

// ---------------------------------------------------------------------------------------------
// Per-thread state

namespace {

char* new_scratch() {
  return static_cast<char*>(::operator new (Scratch::kBytes, std::align_val_t{16}));
}

// Owns the thread's state; at thread exit frees it unless something still uses it (a Request or
// Reply of this thread alive elsewhere, which the README forbids), in which case it is leaked.
struct StateHolder {
  ThreadState* state = nullptr;
  ~StateHolder() {
    if (state == nullptr) return;
    if (state->request_scratch.in_use || state->reply_slot.busy || state->reply_scratch.in_use) {
      return;
    }
    delete state;
  }
};

thread_local StateHolder tl_state;

}  // namespace

ThreadState::ThreadState() {
  request_scratch.base = new_scratch();
  std::memset(request_scratch.base, 0, Scratch::kBytes);
  reply_slot.in_place = true;
}

ThreadState::~ThreadState() {
  ::operator delete (request_scratch.base, std::align_val_t{16});
  if (reply_scratch.base != nullptr) ::operator delete (reply_scratch.base, std::align_val_t{16});
}

ThreadState& thread_state() {
  if (tl_state.state == nullptr) tl_state.state = new ThreadState;
  return *tl_state.state;
}

void before_door_operation() {
  ThreadState& ts = thread_state();
  if (ts.reply_slot.busy) ts.reply_slot.detach_to_heap();
}

// ---------------------------------------------------------------------------------------------
// ReplyState / ReplyBase

void ReplyState::detach_to_heap() {
  auto* heap = new ReplyState;
  try {
    heap->message.copy_from(message);
  } catch (...) {
    delete heap;
    // The bytes changed under us (a hostile peer): the Reply becomes empty.
    if (owner != nullptr) owner->state_ = nullptr;
    finish();
    throw;
  }
  heap->owner = owner;
  heap->busy = true;
  if (owner != nullptr) owner->state_ = heap;
  owner = nullptr;
  busy = false;
  message.close();
}

void ReplyState::finish() noexcept {
  if (!in_place) {
    delete this;
    return;
  }
  message.close();
  message.caps().close_all();
  owner = nullptr;
  busy = false;
}

ReplyBase::ReplyBase(ReplyState* state) noexcept : state_(state) {
  if (state_ != nullptr) state_->owner = this;
}

ReplyBase::ReplyBase(ReplyBase&& other) noexcept : state_(std::exchange(other.state_, nullptr)) {
  if (state_ != nullptr) state_->owner = this;
}

ReplyBase& ReplyBase::operator=(ReplyBase&& other) noexcept {
  if (this != &other) {
    if (state_ != nullptr) state_->finish();
    state_ = std::exchange(other.state_, nullptr);
    if (state_ != nullptr) state_->owner = this;
  }
  return *this;
}

ReplyBase::~ReplyBase() {
  if (state_ != nullptr) state_->finish();
}

OwnedFd ReplyBase::take_fd(uint32_t index) {
  if (state_ == nullptr) throw Error(Code::kFailedPrecondition, "take_fd on an empty Reply");
  return state_->message.caps().take(index);
}

void ReplyBase::detach() {
  if (state_ != nullptr && state_->in_place) state_->detach_to_heap();
}

bool ReplyBase::in_place() const noexcept { return state_ != nullptr && state_->in_place; }

capnp::AnyPointer::Reader ReplyBase::root() const {
  if (state_ == nullptr) throw Error(Code::kFailedPrecondition, "results of an empty Reply");
  return state_->message.root();
}

// ---------------------------------------------------------------------------------------------
// RequestBase

RequestBase::RequestBase(std::shared_ptr<const DoorHandle> door, const InterfaceInfo& interface,
                         const MethodInfo& method, const CallOptions& options)
    : door_(std::move(door)), interface_(&interface), method_(&method) {
  if (options.timeout.has_value()) {
    timeout_ = options.timeout;
  } else if (method.limits.timeout_ms != 0) {
    timeout_ = std::chrono::milliseconds(method.limits.timeout_ms);
  }
  ThreadState& ts = thread_state();
  if (!ts.request_scratch.in_use) {
    ts.request_scratch.in_use = true;
    message_ = new (ts.request_builder)
        OutMessage(OutMessage::Mode::kClientScratch, &ts.request_scratch, door_->fd());
    ts.block_door = door_->id();
  } else {
    // Another Request is being built on this thread: this one gets heap segments.
    message_ = new OutMessage(OutMessage::Mode::kHeap, nullptr, -1);
    on_heap_ = true;
  }
}

RequestBase::RequestBase(RequestBase&& other) noexcept
    : message_(std::exchange(other.message_, nullptr)),
      on_heap_(other.on_heap_),
      door_(std::move(other.door_)),
      interface_(other.interface_),
      method_(other.method_),
      timeout_(other.timeout_) {}

RequestBase& RequestBase::operator=(RequestBase&& other) noexcept {
  if (this != &other) {
    release();
    message_ = std::exchange(other.message_, nullptr);
    on_heap_ = other.on_heap_;
    door_ = std::move(other.door_);
    interface_ = other.interface_;
    method_ = other.method_;
    timeout_ = other.timeout_;
  }
  return *this;
}

RequestBase::~RequestBase() { release(); }

void RequestBase::release() noexcept {
  if (message_ == nullptr) return;
  try {
    if (on_heap_) {
      delete message_;
    } else {
      message_->~OutMessage();
    }
  } catch (...) {
    // ~MessageBuilder is noexcept(false) in Cap'n Proto but throws only for bugs.
  }
  message_ = nullptr;
}

OutMessage& RequestBase::message() const {
  if (message_ == nullptr) {
    throw Error(Code::kFailedPrecondition, "the request was already sent (or moved from)");
  }
  return *message_;
}

void RequestBase::set_fd(::doors::schema::Fd::Builder field, int fd) {
  field.setIndex(message().caps().add_copy(fd));
}

void RequestBase::set_fd(::doors::schema::Fd::Builder field, OwnedFd fd) {
  OutMessage& m = message();
  field.setIndex(m.caps().add_owned(std::move(fd)));
}

capnp::Orphan<capnp::Data> RequestBase::reference_data(kj::ArrayPtr<const kj::byte> bytes) {
  if (reinterpret_cast<uintptr_t>(bytes.begin()) % sizeof(capnp::word) != 0) {
    throw Error(Code::kInvalidArgument, "reference_data: the bytes are not 8-byte aligned");
  }
  OutMessage& m = message();
  // Cap'n Proto cannot refer to an empty segment: an empty value is simply built; so is one past
  // the few references a message keeps track of.
  if (bytes.size() == 0 || !m.note_external(bytes.begin(), bytes.size())) {
    return m.getOrphanage().newOrphanCopy(capnp::Data::Reader(bytes));
  }
  return m.getOrphanage().referenceExternalData(capnp::Data::Reader(bytes));
}

namespace {

std::string call_context(const InterfaceInfo* interface, const MethodInfo* method) {
  std::string s = "call ";
  s += interface->name != nullptr ? interface->name : "?";
  s += '.';
  s += method->name != nullptr ? method->name : "?";
  return s;
}

[[noreturn]] void malformed_reply(const InterfaceInfo* interface, const MethodInfo* method,
                                  const char* what) {
  throw Error(Code::kDataLoss, call_context(interface, method) + ": malformed reply: " + what);
}

}  // namespace

ReplyState* RequestBase::send_raw() {
  OutMessage& msg = message();
  struct Spend {
    RequestBase* request;
    ~Spend() { request->release(); }
  } spend{this};

  long long timeout_ns = 0;
  if (timeout_.has_value()) {
    if (timeout_->count() <= 0) {
      throw Error(Code::kDeadlineExceeded, call_context(interface_, method_) + ": no time left");
    }
    timeout_ns = static_cast<long long>(timeout_->count());
  }
  wire::Header header{wire::kMagic, static_cast<uint16_t>(wire::Kind::kRequest), method_->ordinal,
                      interface_->id};
  kj::ArrayPtr<const char> bytes = msg.finish(header);
  ThreadState& ts = thread_state();
  if (on_heap_ && ts.block_held && bytes.size() > DOORS_INLINE_DATA_MAX &&
      (ts.block_door == 0 || door_->id() == 0 || ts.block_door == door_->id())) {
    // Sending it would make libdoors reuse the argument area that the Request being built on
    // this thread (which holds a doors_call_buffer block of the same door) is written into.
    throw Error(Code::kFailedPrecondition,
                call_context(interface_, method_) +
                    ": another large request to this door is being built on this thread; send "
                    "it first");
  }
  before_door_operation();

  uint32_t ndesc = msg.caps().size();
  door_desc_t inline_descs[8];
  std::unique_ptr<door_desc_t[]> heap_descs;
  door_desc_t* descs = inline_descs;
  if (ndesc > 8) {
    heap_descs.reset(new door_desc_t[ndesc]);
    descs = heap_descs.get();
  }
  msg.caps().describe(descs);

  door_arg_t arg{};
  arg.data_ptr = const_cast<char*>(bytes.begin());
  arg.data_size = bytes.size();
  arg.desc_ptr = ndesc > 0 ? descs : nullptr;
  arg.desc_num = ndesc;
  doors_call_options_t options{};
  options.timeout_ns = timeout_ns;
  options.flags = DOORS_RESULTS_IN_PLACE;
  if (::doors_call(door_->fd(), &arg, &options) != 0) {
    int err = errno;
    throw Error::from_errno(code_for_call_errno(err), err, call_context(interface_, method_));
  }

  ReplyState& slot = ts.reply_slot;
  InMessage& in = slot.message;
  in.caps().adopt(arg.desc_ptr, arg.desc_num);  // ours from now on, whatever the reply says
  struct Drop {
    InMessage* in;
    bool armed = true;
    ~Drop() {
      if (armed) {
        in->close();
        in->caps().close_all();
      }
    }
  } drop{&in};

  wire::Header reply;
  wire::HeaderError herr = wire::check_header(arg.data_ptr, arg.data_size, &reply);
  if (herr != wire::HeaderError::kNone && herr != wire::HeaderError::kMisaligned) {
    malformed_reply(interface_, method_, wire::describe(herr));
  }
  const char* body = arg.data_ptr + wire::kHeaderSize;
  size_t body_size = arg.data_size - wire::kHeaderSize;
  if (reply.kind == static_cast<uint16_t>(wire::Kind::kError)) {
    std::string_view text(body, body_size);
    if (!wire::valid_error_text(text)) malformed_reply(interface_, method_, "bad error text");
    Code code = static_cast<Code>(reply.code);
    if (reply.code == 0 || reply.code > static_cast<uint16_t>(kLastCode)) code = Code::kUnknown;
    throw Error::from_remote(code, std::string(text));
  }
  if (reply.kind != static_cast<uint16_t>(wire::Kind::kReply)) {
    malformed_reply(interface_, method_, "not a reply");
  }
  wire::FramingError ferr = in.open(body, body_size);
  if (ferr != wire::FramingError::kNone) malformed_reply(interface_, method_, wire::describe(ferr));
  drop.armed = false;
  slot.busy = true;
  return &slot;
}

}  // namespace doors::detail

namespace doors {

ClientBase::ClientBase(DoorHandle door)
    : door_(std::make_shared<const DoorHandle>(std::move(door))) {}

ClientBase::ClientBase(capnp::Capability::Client capability) : door_(door_of(capability)) {}

capnp::Capability::Client ClientBase::capability() const { return door_capability(door_); }

void ClientBase::check_usable() const {
  if (door_ == nullptr || !door_->valid()) {
    throw Error(Code::kFailedPrecondition, "the client holds no door");
  }
}

}  // namespace doors
