// Doors served by the test process itself, for single-process conformance tests. This
// executable never forks, so it may create doors freely.
#pragma once

#include <door.h>

#include <functional>
#include <memory>
#include <string>

#include "deadline.h"
#include "gate.h"

namespace doors::test {

// What a LocalDoor runs for each invocation. It must end with door_return() (reply() does).
using Handler =
    std::function<void(char* argp, std::size_t arg_size, door_desc_t* dp, uint_t n_desc)>;

// A door created by this process whose procedure calls `handler`. The cookie is the handler's
// address, stable for the door's life. Revokes the door on destruction unless the test already
// did (forget()). Not copyable, not movable.
class LocalDoor {
 public:
  explicit LocalDoor(Handler handler, uint_t attrs = 0);
  ~LocalDoor();
  LocalDoor(const LocalDoor&) = delete;
  LocalDoor& operator=(const LocalDoor&) = delete;

  // door_create's descriptor, or -1 (then create_errno() says why).
  int fd() const { return fd_; }
  int create_errno() const { return create_errno_; }
  // The procedure and cookie given to door_create, as door_info reports them.
  static door_server_procedure_t* procedure();
  void* cookie() const { return handler_.get(); }
  // The test revoked or closed the descriptor itself.
  void forget() { fd_ = -1; }

 private:
  std::unique_ptr<Handler> handler_;
  int fd_ = -1;
  int create_errno_ = 0;
};

// Holds a server procedure inside a call until the test releases it. The procedure calls hold()
// (or hold_cancellable()); the test waits with wait_entered() and ends the hold with release().
// Declare it before the LocalDoor whose procedure uses it: the door is revoked first (no new
// invocations), then this destructor releases a procedure still held and waits (bounded) until
// it has left or was cancelled, so that no server thread touches the test's objects afterwards,
// even when the test failed half-way. Not copyable, not movable.
class HeldProcedure {
 public:
  HeldProcedure() = default;
  ~HeldProcedure();
  HeldProcedure(const HeldProcedure&) = delete;
  HeldProcedure& operator=(const HeldProcedure&) = delete;

  // In the procedure: says "entered", then waits (bounded) for release().
  void hold();
  // hold(), but the wait is a cancellation point and a cancellation (pthread_cancel) is
  // recorded: wait_cancelled() then returns true.
  void hold_cancellable();

  // In the test.
  bool wait_entered(Deadline deadline = Deadline::standard());
  void release() { release_.signal(); }
  bool wait_left(Deadline deadline = Deadline::standard());       // released and left hold()
  bool wait_cancelled(Deadline deadline = Deadline::standard());  // cancelled in hold_cancellable

 private:
  static void on_cancel(void* self);
  Gate entered_, release_, left_, cancelled_;
  Gate gone_;  // left or cancelled: no longer in hold()
  bool entered_seen_ = false;
};

// A handler that replies with its arguments.
Handler echo_handler();
// A handler that replies with nothing.
Handler empty_handler();

// Sets the effective uid for its lifetime (seteuid), restoring the old one at destruction.
class EffectiveUid {
 public:
  explicit EffectiveUid(uid_t uid);
  ~EffectiveUid();
  EffectiveUid(const EffectiveUid&) = delete;
  EffectiveUid& operator=(const EffectiveUid&) = delete;
  bool ok() const { return ok_; }

 private:
  uid_t old_;
  bool ok_;
};

}  // namespace doors::test
