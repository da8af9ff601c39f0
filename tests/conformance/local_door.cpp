#include "local_door.h"

#include <pthread.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "door_support.h"

namespace doors::test {
namespace {

void dispatch(void* cookie, char* argp, std::size_t arg_size, door_desc_t* dp, uint_t n_desc) {
  (*static_cast<Handler*>(cookie))(argp, arg_size, dp, n_desc);
}

}  // namespace

LocalDoor::LocalDoor(Handler handler, uint_t attrs)
    : handler_(std::make_unique<Handler>(std::move(handler))) {
  fd_ = door_create(dispatch, handler_.get(), attrs);
  create_errno_ = fd_ < 0 ? errno : 0;
}

LocalDoor::~LocalDoor() {
  // Tests release every procedure they block before this runs, so no server thread is inside
  // the handler when it is destroyed.
  if (fd_ >= 0 && door_revoke(fd_) != 0) ::close(fd_);
}

door_server_procedure_t* LocalDoor::procedure() { return dispatch; }

HeldProcedure::~HeldProcedure() {
  release_.signal();
  // Always wait for gone_ once the procedure entered: it signals left_ (or cancelled_) before
  // gone_, so having seen those does not mean it has stopped touching this object.
  if (entered_seen_ || entered_.signaled()) gone_.wait(Deadline::standard());
}

void HeldProcedure::hold() {
  entered_.signal();
  release_.wait(Deadline::standard());
  left_.signal();
  gone_.signal();
}

void HeldProcedure::on_cancel(void* self) {
  auto* held = static_cast<HeldProcedure*>(self);
  held->cancelled_.signal();
  held->gone_.signal();
}

void HeldProcedure::hold_cancellable() {
  // The handler goes first: entered_.signal()'s write(2) is itself a cancellation point.
  pthread_cleanup_push(on_cancel, this);
  entered_.signal();
  release_.wait(Deadline::standard());  // poll(2) and read(2): cancellation points
  pthread_cleanup_pop(0);
  left_.signal();
  gone_.signal();
}

bool HeldProcedure::wait_entered(Deadline deadline) {
  entered_seen_ = entered_.wait(deadline);
  return entered_seen_;
}

bool HeldProcedure::wait_left(Deadline deadline) { return left_.wait(deadline); }

bool HeldProcedure::wait_cancelled(Deadline deadline) { return cancelled_.wait(deadline); }

Handler echo_handler() {
  return [](char* argp, std::size_t n, door_desc_t*, uint_t) {
    reply(std::string_view(argp, argp == nullptr ? 0 : n));
  };
}

Handler empty_handler() {
  return [](char*, std::size_t, door_desc_t*, uint_t) { door_return(nullptr, 0, nullptr, 0); };
}

EffectiveUid::EffectiveUid(uid_t uid) : old_(::geteuid()), ok_(::seteuid(uid) == 0) {}

EffectiveUid::~EffectiveUid() {
  if (ok_ && ::seteuid(old_) != 0) std::perror("seteuid (restoring)");
}

}  // namespace doors::test
