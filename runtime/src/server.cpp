// The server side: the door procedure behind every typed door (validate, dispatch, answer),
// IncomingCall, Service and export_door.
#include "doors/runtime/server.h"

#include <cxxabi.h>
#include <door.h>
#include <doors/ext.h>
#include <errno.h>
#include <fcntl.h>
#include <kj/exception.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <string>

#include "doors/runtime/capability.h"
#include "doors/runtime/door_handle.h"
#include "doors/runtime/introspection.h"
#include "doors/runtime/metrics.h"
#include "introspection_server.h"
#include "thread_state.h"

// Catching abi::__forced_unwind (a thread cancellation unwinding) by reference trips UBSan's
// null-reference check, a known false positive for that special exception object. GCC 12
// ignores no_sanitize("null") there; no_sanitize_undefined works (the functions carrying it do
// little but catch).
#define DOORS_CATCHES_FORCED_UNWIND __attribute__((no_sanitize_undefined))

namespace doors {
namespace detail {

// What a door created by the runtime serves: the cookie of its door procedure. Invocations
// enter and leave it; closing it releases the server once no invocation is left (README
// "Server side", Service's destructor).
struct DoorTarget {
  std::shared_ptr<ServerBase> server;
  const InterfaceInfo* info = nullptr;
  InterfaceMetrics* metrics = nullptr;  // info's figures
  uint32_t attributes = 0;              // door_create's attributes, for describe()
  bool exported = false;  // export_door: revoke and destroy on the unreferenced invocation
  // The server's own descriptor of the door (door_create's), -1 once revoked. Atomic: the
  // introspection's stats read it while the door is being revoked.
  std::atomic<int> own_fd{-1};

  // Bit 0: closing; the rest: invocations inside, times two.
  std::atomic<uint64_t> state{0};
  std::atomic<bool> release_claimed{false};
  std::atomic<bool> released{false};

  bool enter() noexcept {
    uint64_t s = state.fetch_add(2);
    if (s & 1) {
      leave();
      return false;
    }
    return true;
  }
  void leave() noexcept {
    uint64_t s = state.fetch_sub(2) - 2;
    if (s == 1) release();
  }
  // No more invocations; the server is released now if none is inside, else by the last to
  // leave. Returns true when the server is released already.
  bool close() noexcept {
    uint64_t s = state.fetch_or(1);
    if ((s >> 1) == 0) release();
    return released.load();
  }
  void release() noexcept {
    if (release_claimed.exchange(true)) return;
    server.reset();
    released.store(true);
    released.notify_all();
  }
};

namespace {

thread_local DoorTarget* tl_current_target = nullptr;

// Reply memory that outlives the invocation's C++ objects (README: door_return never returns).
struct ReplyOut {
  char* data = nullptr;
  size_t size = 0;
  door_desc_t* desc = nullptr;
  uint_t ndesc = 0;
  // The method whose call was counted as answered: an error after all if door_return fails.
  MethodMetrics* answered = nullptr;
};

Scratch* take_reply_scratch(ThreadState& ts) {
  if (ts.reply_scratch.base == nullptr) {
    ts.reply_scratch.base =
        static_cast<char*>(::operator new (Scratch::kBytes, std::align_val_t{16}));
    std::memset(ts.reply_scratch.base, 0, Scratch::kBytes);
  }
  if (ts.reply_scratch.in_use) return nullptr;
  ts.reply_scratch.in_use = true;
  return &ts.reply_scratch;
}

// Truncates to at most kMaxErrorText bytes on a UTF-8 character boundary, NULs replaced.
size_t sanitize_error_text(const std::string& in, char* out) {
  size_t n = in.size();
  if (n > wire::kMaxErrorText) {
    n = wire::kMaxErrorText;
    while (n > 0 && (static_cast<unsigned char>(in[n]) & 0xC0) == 0x80) --n;
  }
  for (size_t i = 0; i < n; ++i) out[i] = in[i] == '\0' ? ' ' : in[i];
  return n;
}

void error_reply(ReplyOut* out, Code code, const std::string& message) noexcept {
  if (code == Code::kOk) code = Code::kUnknown;  // an error reply always says what went wrong
  ThreadState& ts = thread_state();
  wire::Header h{wire::kMagic, static_cast<uint16_t>(wire::Kind::kError),
                 static_cast<uint16_t>(code), 0};
  std::memcpy(ts.error_reply, &h, sizeof h);
  size_t n = sanitize_error_text(message, ts.error_reply + wire::kHeaderSize);
  out->data = ts.error_reply;
  out->size = wire::kHeaderSize + n;
  out->desc = nullptr;
  out->ndesc = 0;
}

// Runtime code is not cancellable: only the handler is (README "Deadlines"). Restores the state
// libdoors set for the handler's duration, and disables it again afterwards.
class HandlerCancellation {
 public:
  explicit HandlerCancellation(int state) noexcept { pthread_setcancelstate(state, nullptr); }
  ~HandlerCancellation() { pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, nullptr); }
  HandlerCancellation(const HandlerCancellation&) = delete;
  HandlerCancellation& operator=(const HandlerCancellation&) = delete;
};

}  // namespace

// What is counted of one invocation (metrics.h), recorded when it ends, however it ends: a
// handler's thread cancelled by its caller giving up unwinds through it too.
class CallRecord {
 public:
  explicit CallRecord(InterfaceMetrics* interface) noexcept
      : interface_(interface), start_(std::chrono::steady_clock::now()) {}
  ~CallRecord() {
    if (method_ == nullptr) {
      interface_->rejected.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::steady_clock::now() - start_);
    method_->latency.record(static_cast<uint64_t>(ns.count()));
    if (failed_) method_->errors.fetch_add(1, std::memory_order_relaxed);
    method_->in_flight.fetch_sub(1, std::memory_order_relaxed);
  }
  CallRecord(const CallRecord&) = delete;
  CallRecord& operator=(const CallRecord&) = delete;

  // The request passed every check: from here it is a call of `ordinal` of `interface`.
  void dispatched(InterfaceMetrics* interface, uint16_t ordinal) noexcept {
    interface_ = interface;
    method_ = &interface->methods[ordinal];
    method_->in_flight.fetch_add(1, std::memory_order_relaxed);
  }
  // The request was for `interface` (known once the header is read), refused or not.
  void for_interface(InterfaceMetrics* interface) noexcept { interface_ = interface; }
  void succeeded() noexcept { failed_ = false; }
  MethodMetrics* method() const noexcept { return method_; }

 private:
  InterfaceMetrics* interface_;
  MethodMetrics* method_ = nullptr;
  bool failed_ = true;
  std::chrono::steady_clock::time_point start_;
};

InterfaceMetrics& introspection_metrics() {
  static InterfaceMetrics& m = metrics_for(IntrospectionClient::kInfo);
  return m;
}

// One invocation's state, on the door procedure's stack.
struct CallState {
  CallState(DoorTarget* t, Scratch* scratch, CallRecord* r)
      : target(t),
        info(t->info),
        record(r),
        reply(scratch != nullptr ? OutMessage::Mode::kServerScratch : OutMessage::Mode::kHeap,
              scratch, -1) {}

  DoorTarget* target;
  const InterfaceInfo* info;  // the door's interface, or Introspection
  CallRecord* record;
  const MethodInfo* method = nullptr;
  uint16_t ordinal = 0;
  InMessage params;
  OutMessage reply;
};

struct Dispatcher {
  DOORS_CATCHES_FORCED_UNWIND static void serve(DoorTarget* target, char* argp, size_t size,
                                                door_desc_t* dp, uint_t ndesc, ReplyOut* out);
  DOORS_CATCHES_FORCED_UNWIND static void unreferenced(DoorTarget* target);
  static void run(CallState& st, char* argp, size_t size, uint_t ndesc, int cancel_state,
                  ReplyOut* out);
};

namespace {

[[noreturn]] void refuse(Code code, const std::string& what) { throw Error(code, what); }

}  // namespace

void Dispatcher::run(CallState& st, char* argp, size_t size, uint_t ndesc, int cancel_state,
                     ReplyOut* out) {
  wire::Header h;
  wire::HeaderError herr = wire::check_header(argp, size, &h);
  if (herr != wire::HeaderError::kNone && herr != wire::HeaderError::kMisaligned) {
    refuse(Code::kInvalidArgument, std::string("malformed request: ") + wire::describe(herr));
  }
  if (h.kind != static_cast<uint16_t>(wire::Kind::kRequest)) {
    refuse(Code::kInvalidArgument, "malformed request: not a request");
  }
  // Every door answers the runtime's introspection interface besides its own.
  bool introspection = h.interface == kIntrospectionId && h.interface != st.info->id;
  InterfaceMetrics* metrics = st.target->metrics;
  if (introspection) {
    st.info = &IntrospectionClient::kInfo;
    metrics = &introspection_metrics();
    st.record->for_interface(metrics);
  }
  const InterfaceInfo& info = *st.info;
  if (h.interface != info.id) {
    char buf[64];
    snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h.interface));
    refuse(Code::kUnimplemented,
           std::string("this door serves ") + info.name + ", not interface 0x" + buf);
  }
  if (h.code >= info.method_count) {
    refuse(Code::kUnimplemented,
           std::string(info.name) + " has no method @" + std::to_string(h.code));
  }
  st.ordinal = h.code;
  st.method = &info.methods[h.code];
  const MethodLimits& limits = st.method->limits;
  uint64_t max_bytes = limits.max_arg_bytes != 0 ? limits.max_arg_bytes : kDefaultMaxArgBytes;
  uint32_t max_descs =
      limits.max_descriptors != UINT32_MAX ? limits.max_descriptors : kDefaultMaxDescriptors;
  if (size - wire::kHeaderSize > max_bytes) {
    refuse(Code::kResourceExhausted, std::string(info.name) + "." + st.method->name + ": " +
                                         std::to_string(size - wire::kHeaderSize) +
                                         " bytes of arguments, more than " +
                                         std::to_string(max_bytes));
  }
  if (ndesc > max_descs) {
    refuse(Code::kResourceExhausted, std::string(info.name) + "." + st.method->name + ": " +
                                         std::to_string(ndesc) + " descriptors, more than " +
                                         std::to_string(max_descs));
  }
  wire::FramingError ferr = st.params.open(argp + wire::kHeaderSize, size - wire::kHeaderSize);
  if (ferr != wire::FramingError::kNone) {
    refuse(Code::kInvalidArgument, std::string("malformed request: ") + wire::describe(ferr));
  }

  IncomingCall call(&st);
  st.record->dispatched(metrics, st.ordinal);
  if (introspection) {
    answer_introspection(call, *st.target->info, st.target->attributes, st.target->own_fd);
  } else {
    HandlerCancellation cancellable(cancel_state);
    st.target->server->dispatch(call);
  }

  ThreadState& ts = thread_state();
  wire::Header rh{wire::kMagic, static_cast<uint16_t>(wire::Kind::kReply), 0, 0};
  kj::ArrayPtr<const char> bytes = st.reply.finish(rh, &ts.reply_flat);
  uint32_t n = st.reply.caps().size();
  st.reply.caps().hand_over(ts.reply_descs);  // last: nothing throws after it
  out->data = const_cast<char*>(bytes.begin());
  out->size = bytes.size();
  out->desc = n > 0 ? ts.reply_descs : nullptr;
  out->ndesc = n;
  st.record->succeeded();
  out->answered = st.record->method();
}

void Dispatcher::serve(DoorTarget* target, char* argp, size_t size, door_desc_t* dp, uint_t ndesc,
                       ReplyOut* out) {
  int cancel_state = PTHREAD_CANCEL_DISABLE;
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
  if (!target->enter()) {
    for (uint_t i = 0; i < ndesc; ++i) {
      if (dp[i].d_attributes & DOOR_DESCRIPTOR) ::close(dp[i].d_data.d_desc.d_descriptor);
    }
    error_reply(out, Code::kUnavailable, "the service is shutting down");
    return;
  }
  struct Leave {
    DoorTarget* target;
    ~Leave() {
      tl_current_target = nullptr;
      target->leave();
    }
  } leave{target};
  tl_current_target = target;

  ThreadState& ts = thread_state();
  if (ts.reply_flat.words > (size_t{1} << 17)) ts.reply_flat.release();  // > 1 MiB: give back
  CallRecord record(target->metrics);
  try {
    CallState st(target, take_reply_scratch(ts), &record);
    st.params.caps().adopt(dp, ndesc);  // owned from here: closed unless a handler takes them
    run(st, argp, size, ndesc, cancel_state, out);
  } catch (abi::__forced_unwind&) {
    throw;  // the thread is being cancelled (its client gave up): let it unwind
  } catch (const Error& e) {
    error_reply(out, e.code(), e.message());
  } catch (const kj::Exception& e) {
    error_reply(out, Code::kInternal, e.getDescription().cStr());
  } catch (const std::exception& e) {
    error_reply(out, Code::kInternal, e.what());
  } catch (...) {
    error_reply(out, Code::kUnknown, "the handler threw something that is not an exception");
  }
}

void Dispatcher::unreferenced(DoorTarget* target) {
  pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, nullptr);
  if (!target->enter()) return;
  try {
    target->server->unreferenced();
  } catch (abi::__forced_unwind&) {
    throw;
  } catch (...) {
    // An unreferenced() that throws has nobody to tell.
  }
  if (target->exported) {
    // No client reference is left and none can be made: nothing calls this door again.
    ::door_revoke(target->own_fd.exchange(-1));
    target->close();
    target->leave();  // releases (destroys) the server
    delete target;
    return;
  }
  target->leave();
}

namespace {

// The door procedure of every door the runtime creates. Nothing with a destructor lives in this
// frame: door_return(3C) does not return.
void door_procedure(void* cookie, char* argp, size_t size, door_desc_t* dp, uint_t ndesc) {
  auto* target = static_cast<DoorTarget*>(cookie);
  if (argp == DOOR_UNREF_DATA) {
    Dispatcher::unreferenced(target);
    return;
  }
  ReplyOut out;
  Dispatcher::serve(target, argp, size, dp, ndesc, &out);
  ::door_return(out.data, out.size, out.desc, out.ndesc);
  // door_return failed (results too large, too many descriptors...): nothing was sent.
  int err = errno;
  if (out.answered != nullptr) out.answered->errors.fetch_add(1, std::memory_order_relaxed);
  for (uint_t i = 0; i < out.ndesc; ++i) ::close(out.desc[i].d_data.d_desc.d_descriptor);
  error_reply(&out, Code::kResourceExhausted,
              std::string("the reply could not be sent: ") + strerror(err));
  ::door_return(out.data, out.size, nullptr, 0);
  ::door_return(nullptr, 0, nullptr, 0);  // the caller asked for no results
}

// Tells clients, before they call, that the door speaks the typed protocol for `info`'s
// interface (doors_server_stats' dss_tag): tools ask its introspection only then.
void tag_door(int fd, const InterfaceInfo& info) {
  // Cannot fail for a live door of this process, and a door without a tag still serves.
  (void)::doors_set_tag(fd, info.id);
}

uint32_t create_attributes(const InterfaceInfo& info) {
  return info.door_attributes & DOOR_CREATE_MASK;
}

// A second reference to the door `fd` of this process (a new open file description): a
// descriptor passed in a message shares the sender's reference (doors/DEVIATIONS.md), so
// export_door keeps its own descriptor and sends this one, and DOOR_UNREF fires when the
// receivers let go of theirs.
DoorHandle new_door_reference(int fd) {
  OwnedFd ref(::doors_new_reference(fd));
  if (!ref.valid()) {
    int err = errno;
    throw Error::from_errno(Code::kResourceExhausted, err, "export_door: doors_new_reference");
  }
  door_info_t info{};
  if (::door_info(ref.get(), &info) != 0) {
    int err = errno;
    throw Error::from_errno(Code::kResourceExhausted, err, "export_door: door_info");
  }
  door_id_t id;
  std::memcpy(&id, &info.di_uniquifier, sizeof id);
  return DoorHandle(std::move(ref), id);
}

}  // namespace

capnp::Capability::Client export_server(std::unique_ptr<ServerBase> server) {
  if (server == nullptr) throw Error(Code::kInvalidArgument, "export_door: no server");
  const InterfaceInfo& info = server->interface_info();
  auto* target = new DoorTarget;
  target->server = std::shared_ptr<ServerBase>(std::move(server));
  target->info = &info;
  target->metrics = &metrics_for(info);
  target->exported = true;
  // DOOR_UNREF once (the object goes with the first notification). Not DOOR_PRIVATE: nothing
  // binds threads to an exported door.
  uint32_t attrs =
      (create_attributes(info) & ~uint32_t{DOOR_UNREF_MULTI | DOOR_PRIVATE}) | DOOR_UNREF;
  target->attributes = attrs;
  int fd = ::door_create(&door_procedure, target, attrs);
  if (fd < 0) {
    int err = errno;
    delete target;
    throw Error::from_errno(code_for_errno(err), err, "export_door: door_create");
  }
  target->own_fd = fd;
  tag_door(fd, info);
  try {
    DoorHandle ref = new_door_reference(fd);
    return door_capability(std::make_shared<const DoorHandle>(std::move(ref)));
  } catch (...) {
    // No reference was ever handed out: nothing can call or notify the door any more.
    ::door_revoke(fd);
    target->close();
    delete target;
    throw;
  }
}

}  // namespace detail

// ---------------------------------------------------------------------------------------------
// IncomingCall

uint16_t IncomingCall::method() const noexcept { return state_->ordinal; }

const InterfaceInfo& IncomingCall::interface_info() const noexcept { return *state_->info; }

const MethodInfo& IncomingCall::method_info() const noexcept { return *state_->method; }

capnp::AnyPointer::Reader IncomingCall::params_root() const noexcept {
  return state_->params.root();
}

detail::OutMessage& IncomingCall::reply_message() { return state_->reply; }

OwnedFd IncomingCall::take_fd(uint32_t index) { return state_->params.caps().take(index); }

void IncomingCall::set_fd(::doors::schema::Fd::Builder field, OwnedFd fd) {
  field.setIndex(state_->reply.caps().add_owned(std::move(fd)));
}

void IncomingCall::set_fd(::doors::schema::Fd::Builder field, int fd) {
  field.setIndex(state_->reply.caps().add_copy(fd));
}

Caller IncomingCall::caller() const {
  door_cred_t cred;
  if (::door_cred(&cred) != 0) {
    int err = errno;
    throw Error::from_errno(Code::kInternal, err, "door_cred");
  }
  return Caller{cred.dc_pid, cred.dc_ruid, cred.dc_rgid, cred.dc_euid, cred.dc_egid};
}

void IncomingCall::unimplemented() const {
  throw Error(Code::kUnimplemented, std::string(state_->info->name) + "." + state_->method->name +
                                        ": this server does not provide the method");
}

// ---------------------------------------------------------------------------------------------
// ServerBase, Service

ServerBase::~ServerBase() = default;

Service::Service(std::shared_ptr<ServerBase> server) : server_(std::move(server)) {
  if (server_ == nullptr) throw Error(Code::kInvalidArgument, "Service: no server");
  auto* target = new detail::DoorTarget;
  target->server = server_;
  target->info = &server_->interface_info();
  target->metrics = &detail::metrics_for(*target->info);
  target->attributes = detail::create_attributes(*target->info);
  int fd = ::door_create(&detail::door_procedure, target, target->attributes);
  if (fd < 0) {
    int err = errno;
    delete target;
    throw Error::from_errno(code_for_errno(err), err, "door_create");
  }
  target->own_fd = fd;
  detail::tag_door(fd, *target->info);
  target_ = target;
  fd_ = fd;
}

Service::~Service() {
  detach();
  target_->own_fd = -1;
  ::door_revoke(fd_);  // closes fd_; calls in progress finish
  fd_ = -1;
  bool inside = detail::tl_current_target == target_;
  if (!target_->close() && !inside) {
    while (!target_->released.load()) target_->released.wait(false);
  }
  // The target stays allocated: an invocation dispatched just before the revocation may still
  // enter it (and is refused). It holds nothing but the (released) server.
}

void Service::attach(std::string_view name, mode_t mode) {
  std::string path = resolve_door_path(name);
  if (name.find('/') == std::string_view::npos) {
    std::string dir = path.substr(0, path.rfind('/'));
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      int err = errno;
      throw Error::from_errno(code_for_errno(err), err, "mkdir " + dir);
    }
  }
  bool created = false;
  int f = ::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (f >= 0) {
    created = true;
    ::fchmod(f, mode);  // exactly `mode`, whatever the umask
    ::close(f);
  } else if (errno != EEXIST) {
    int err = errno;
    throw Error::from_errno(code_for_errno(err), err, "create " + path);
  }
  if (::fattach(fd_, path.c_str()) != 0) {
    int err = errno;
    if (created) ::unlink(path.c_str());
    throw Error::from_errno(code_for_errno(err), err, "fattach " + path);
  }
  paths_.push_back(path);
  created_.push_back(created);
}

void Service::detach() noexcept {
  for (size_t i = 0; i < paths_.size(); ++i) {
    ::fdetach(paths_[i].c_str());
    if (created_[i]) ::unlink(paths_[i].c_str());
  }
  paths_.clear();
  created_.clear();
}

}  // namespace doors
