// Unreferenced notifications (door_create(3C) DOOR_UNREF, DOOR_UNREF_MULTI) and door_info(3C)'s
// DOOR_IS_UNREF, with every reference in this process. libdoors counts what illumos' kernel
// counts (DEVIATIONS.md, "Reference counting"): door descriptors, as open file descriptions (a
// dup() shares one), plus fattach(3C) attachments. Here a second reference comes from fattach
// or from open() of the attached path; tests/integration/unref_remote_test.cpp has references in
// other processes (open, fork, descriptor passing).
#include <door.h>
#include <doors/ext.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "async.h"
#include "deadline.h"
#include "door_support.h"
#include "fd.h"
#include "gate.h"
#include "local_door.h"
#include "temp_dir.h"

namespace doors::test {
namespace {

// The unreferenced notifications one door received. Shared with the door's handler, which may
// outlive a failed test's stack frame, hence held by shared_ptr.
struct Notifications {
  Gate arrived;  // one signal per notification
  std::atomic<int> count{0};
  std::atomic<int> malformed{0};  // notifications not handed (DOOR_UNREF_DATA, 0, NULL, 0)
};

bool is_unref_invocation(const char* argp) { return argp == static_cast<char*>(DOOR_UNREF_DATA); }

// door_create(3C): "DOOR_UNREF_DATA designates an unreferenced invocation, as the argp argument
// passed to server_procedure. In the case of an unreferenced invocation, the values for arg_size,
// dp and n_did are 0." Counts those; `on_call` runs for ordinary calls (default: reply nothing).
Handler counting_handler(std::shared_ptr<Notifications> seen,
                         std::function<void()> on_call = nullptr) {
  return [seen, on_call](char* argp, std::size_t size, door_desc_t* dp, uint_t n_desc) {
    if (is_unref_invocation(argp)) {
      if (size != 0 || dp != nullptr || n_desc != 0) seen->malformed.fetch_add(1);
      seen->count.fetch_add(1);
      seen->arrived.signal();
      door_return(nullptr, 0, nullptr, 0);
    }
    if (on_call) on_call();
    door_return(nullptr, 0, nullptr, 0);
  };
}

// A local door with `attrs` whose notifications are counted.
struct CountedDoor {
  explicit CountedDoor(uint_t attrs, std::function<void()> on_call = nullptr)
      : door(counting_handler(seen, std::move(on_call)), attrs) {}
  std::shared_ptr<Notifications> seen = std::make_shared<Notifications>();
  LocalDoor door;
  int count() const { return seen->count.load(); }
  bool wait_notified(std::size_t n = 1) const {
    return seen->arrived.wait(Deadline::standard(), n);
  }
};

// fattach(3C) of a door to a fresh file: one more reference while attached. Detached on
// destruction unless the test detached it.
class Attachment {
 public:
  Attachment(const TempDir& dir, int d, std::string_view name = "door")
      : path_(dir.make_file(name)) {
    attached_ = fattach(d, path_.c_str()) == 0;
    err_ = attached_ ? 0 : errno;
  }
  ~Attachment() {
    if (attached_) fdetach(path_.c_str());
  }
  Attachment(const Attachment&) = delete;
  Attachment& operator=(const Attachment&) = delete;

  bool attached() const { return attached_; }
  int err() const { return err_; }
  const std::string& path() const { return path_; }
  // fdetach(3C): the attachment's reference goes.
  int detach() {
    attached_ = false;
    return fdetach(path_.c_str());
  }

 private:
  std::string path_;
  bool attached_ = false;
  int err_ = 0;
};

// Two references, then one again: fattach and fdetach on a fresh file in `dir`.
::testing::AssertionResult attach_then_detach(const TempDir& dir, int d, std::string_view name) {
  Attachment a(dir, d, name);
  if (!a.attached()) return ::testing::AssertionFailure() << "fattach: " << std::strerror(a.err());
  if (a.detach() != 0) return ::testing::AssertionFailure() << "fdetach: " << std::strerror(errno);
  return ::testing::AssertionSuccess();
}

// A descriptor from open() of an attached path, made a door descriptor by a first door
// operation (DEVIATIONS.md 2): a reference of its own.
UniqueFd open_and_use(const std::string& path) {
  UniqueFd fd = open_door(path);
  door_info_t info{};
  if (fd.valid() && door_info(fd.get(), &info) != 0) fd.reset();
  return fd;
}

door_attr_t attributes_of(int d) {
  door_info_t info{};
  EXPECT_EQ(door_info(d, &info), 0) << std::strerror(errno);
  return info.di_attributes;
}

// Checks that a notification is NOT delivered need something that certainly is: a sentinel, a
// DOOR_UNREF_MULTI door of the same (shared) pool whose notification the test brings about after
// the moment a wrong notification would have been queued. The pool takes up queued notifications
// as they become ready, so by the time the sentinel's has arrived a wrong earlier one has had its
// chance to arrive too, and the count is read then: an event, not a sleep.
struct Sentinel {
  CountedDoor door{DOOR_UNREF_MULTI};
  ::testing::AssertionResult flush(const TempDir& dir) {
    auto r = attach_then_detach(dir, door.door.fd(), "sentinel" + std::to_string(rounds_++));
    if (!r) return r;
    if (!door.wait_notified())
      return ::testing::AssertionFailure() << "the sentinel's "
                                              "notification never came";
    return ::testing::AssertionSuccess();
  }

 private:
  int rounds_ = 0;
};

// --- delivery ----------------------------------------------------------------------------------

// door_create(3C) DOOR_UNREF: "Delivers a special invocation on the door when the number of
// descriptors that refer to this door drops to one." The attachment is the second reference.
TEST(DoorUnref, CountDropsToOne_ProcedureGetsUnrefInvocation) {
  TempDir dir;
  CountedDoor sut(DOOR_UNREF);
  ASSERT_GE(sut.door.fd(), 0);
  Attachment attachment(dir, sut.door.fd());
  ASSERT_TRUE(attachment.attached()) << std::strerror(attachment.err());

  ASSERT_EQ(attachment.detach(), 0) << std::strerror(errno);

  ASSERT_TRUE(sut.wait_notified()) << "no unreferenced invocation";
  EXPECT_EQ(sut.count(), 1);
  EXPECT_EQ(sut.seen->malformed.load(), 0)
      << "an unreferenced invocation was not (DOOR_UNREF_DATA, 0, NULL, 0)";
}

// The last extra reference is a descriptor from open(): closing it is what drops the count.
TEST(DoorUnref, LastExtraDescriptorClosed_Notified) {
  TempDir dir;
  CountedDoor sut(DOOR_UNREF);
  ASSERT_GE(sut.door.fd(), 0);
  Attachment attachment(dir, sut.door.fd());
  ASSERT_TRUE(attachment.attached()) << std::strerror(attachment.err());
  UniqueFd opened = open_and_use(attachment.path());
  ASSERT_TRUE(opened.valid()) << std::strerror(errno);
  ASSERT_EQ(attachment.detach(), 0) << std::strerror(errno);  // 3 references, then 2

  opened.reset();  // 1

  ASSERT_TRUE(sut.wait_notified()) << "closing the last extra descriptor delivered nothing";
  EXPECT_EQ(sut.count(), 1);
}

// DEVIATIONS.md, "Reference counting": "As in Stevens' first example, a server that closes its
// own descriptor right after fattach drops the count from two to one and gets its notification
// at once."
TEST(DoorUnref, OwnDescriptorClosedAfterFattach_NotifiedAtOnce) {
  TempDir dir;
  CountedDoor sut(DOOR_UNREF);
  ASSERT_GE(sut.door.fd(), 0);
  Attachment attachment(dir, sut.door.fd());  // keeps the door alive, then ends it
  ASSERT_TRUE(attachment.attached()) << std::strerror(attachment.err());

  ASSERT_EQ(::close(sut.door.fd()), 0);
  sut.door.forget();

  EXPECT_TRUE(sut.wait_notified()) << "no notification once only the attachment referred to it";
}

// door_create(3C) DOOR_UNREF: "In order to trigger this condition, more than one descriptor must
// have referred to this door at some time." A dup(2) shares the open file description: it is no
// second reference, and closing it delivers nothing.
TEST(DoorUnref, DupOfOnlyDescriptorClosed_NoNotification) {
  TempDir dir;
  CountedDoor sut(DOOR_UNREF_MULTI);
  ASSERT_GE(sut.door.fd(), 0);
  Sentinel sentinel;
  ASSERT_GE(sentinel.door.door.fd(), 0);
  UniqueFd copy(::dup(sut.door.fd()));
  ASSERT_TRUE(copy.valid());

  copy.reset();

  ASSERT_TRUE(sentinel.flush(dir));
  EXPECT_EQ(sut.count(), 0) << "closing a dup() counted as dropping a reference";
}

// door_create(3C) DOOR_UNREF: "Only one unreferenced invocation is delivered on behalf of a door."
TEST(DoorUnref, CountDropsToOneTwice_NotifiedOnce) {
  TempDir dir;
  CountedDoor sut(DOOR_UNREF);
  ASSERT_GE(sut.door.fd(), 0);
  Sentinel sentinel;
  ASSERT_GE(sentinel.door.door.fd(), 0);
  ASSERT_TRUE(attach_then_detach(dir, sut.door.fd(), "first"));
  ASSERT_TRUE(sut.wait_notified());

  ASSERT_TRUE(attach_then_detach(dir, sut.door.fd(), "second"));

  ASSERT_TRUE(sentinel.flush(dir));
  EXPECT_EQ(sut.count(), 1) << "DOOR_UNREF delivered more than once";
}

// door_create(3C) DOOR_UNREF_MULTI: "multiple unreferenced invocations can be delivered on the
// same door if the number of descriptors referring to the door drops to one more than once."
TEST(DoorUnrefMulti, CountDropsToOneTwice_NotifiedTwice) {
  TempDir dir;
  CountedDoor sut(DOOR_UNREF_MULTI);
  ASSERT_GE(sut.door.fd(), 0);
  ASSERT_TRUE(attach_then_detach(dir, sut.door.fd(), "first"));
  ASSERT_TRUE(sut.wait_notified());

  ASSERT_TRUE(attach_then_detach(dir, sut.door.fd(), "second"));

  EXPECT_TRUE(sut.wait_notified()) << "no second notification";
  EXPECT_EQ(sut.count(), 2);
  EXPECT_EQ(sut.seen->malformed.load(), 0);
}

// A door created without DOOR_UNREF or DOOR_UNREF_MULTI never gets an unreferenced invocation.
TEST(DoorUnref, DoorWithoutUnrefAttribute_NoNotification) {
  TempDir dir;
  CountedDoor sut(0);
  ASSERT_GE(sut.door.fd(), 0);
  Sentinel sentinel;
  ASSERT_GE(sentinel.door.door.fd(), 0);

  ASSERT_TRUE(attach_then_detach(dir, sut.door.fd(), "door"));

  ASSERT_TRUE(sentinel.flush(dir));
  EXPECT_EQ(sut.count(), 0) << "a door without DOOR_UNREF was notified";
}

// door_getparam(3C): "The DOOR_PARAM_DATA_MIN parameter will not prevent DOOR_UNREF_DATA
// notifications from being sent to the door." (They carry no data.)
TEST(DoorUnref, DataMinAboveZero_StillNotified) {
  TempDir dir;
  CountedDoor sut(DOOR_UNREF);
  ASSERT_GE(sut.door.fd(), 0);
  ASSERT_EQ(door_setparam(sut.door.fd(), DOOR_PARAM_DATA_MIN, 64), 0) << std::strerror(errno);

  ASSERT_TRUE(attach_then_detach(dir, sut.door.fd(), "door"));

  EXPECT_TRUE(sut.wait_notified()) << "DATA_MIN kept the notification from the door";
}

// illumos: the notification "is delayed while invocations are active" on the door; it is
// delivered once the last of them has returned.
TEST(DoorUnref, InvocationRunning_NotificationWaitsUntilItEnds) {
  TempDir dir;
  HeldProcedure held;
  std::atomic<bool> released{false};
  auto released_first = std::make_shared<std::atomic<int>>(-1);  // released at delivery?
  auto seen = std::make_shared<Notifications>();
  LocalDoor sut(
      [&held, &released, released_first, seen](char* argp, std::size_t, door_desc_t*, uint_t) {
        if (is_unref_invocation(argp)) {
          released_first->store(released.load() ? 1 : 0);
          seen->count.fetch_add(1);
          seen->arrived.signal();
          door_return(nullptr, 0, nullptr, 0);
        }
        held.hold();
        door_return(nullptr, 0, nullptr, 0);
      },
      DOOR_UNREF);
  ASSERT_GE(sut.fd(), 0);
  Sentinel sentinel;
  ASSERT_GE(sentinel.door.door.fd(), 0);
  Attachment attachment(dir, sut.fd());
  ASSERT_TRUE(attachment.attached()) << std::strerror(attachment.err());
  Async<CallOutcome> call([d = sut.fd()] { return call_door(d, "held"); });
  ASSERT_TRUE(held.wait_entered());

  ASSERT_EQ(attachment.detach(), 0) << std::strerror(errno);  // the count drops to one

  ASSERT_TRUE(sentinel.flush(dir));
  EXPECT_EQ(seen->count.load(), 0) << "notified while an invocation was running";
  released.store(true);
  held.release();
  ASSERT_TRUE(seen->arrived.wait(Deadline::standard())) << "no notification after the call ended";
  EXPECT_EQ(released_first->load(), 1);
  ASSERT_TRUE(call.wait(Deadline::standard()));
  EXPECT_EQ(call.result().rc, 0) << std::strerror(call.result().err);
}

// --- door_info ---------------------------------------------------------------------------------

// door_info(3C) DOOR_IS_UNREF: "There is currently only one descriptor referring to the door."
TEST(DoorInfo, OnlyDescriptor_HasIsUnref) {
  LocalDoor sut(empty_handler());
  ASSERT_GE(sut.fd(), 0);

  door_attr_t attrs = attributes_of(sut.fd());

  EXPECT_TRUE(attrs & DOOR_IS_UNREF) << std::hex << attrs;
}

// A dup(2) of the only descriptor shares its open file description: still one reference.
TEST(DoorInfo, DupOfOnlyDescriptor_HasIsUnref) {
  LocalDoor sut(empty_handler());
  ASSERT_GE(sut.fd(), 0);
  UniqueFd copy(::dup(sut.fd()));
  ASSERT_TRUE(copy.valid());

  door_attr_t attrs = attributes_of(copy.get());

  EXPECT_TRUE(attrs & DOOR_IS_UNREF) << std::hex << attrs;
}

TEST(DoorInfo, AttachedDoor_HasNoIsUnref) {
  TempDir dir;
  LocalDoor sut(empty_handler());
  ASSERT_GE(sut.fd(), 0);
  Attachment attachment(dir, sut.fd());
  ASSERT_TRUE(attachment.attached()) << std::strerror(attachment.err());

  door_attr_t attrs = attributes_of(sut.fd());

  EXPECT_FALSE(attrs & DOOR_IS_UNREF) << std::hex << attrs;
}

TEST(DoorInfo, SecondDescriptorFromOpen_HasNoIsUnref) {
  TempDir dir;
  LocalDoor sut(empty_handler());
  ASSERT_GE(sut.fd(), 0);
  Attachment attachment(dir, sut.fd());
  ASSERT_TRUE(attachment.attached()) << std::strerror(attachment.err());
  UniqueFd opened = open_and_use(attachment.path());
  ASSERT_TRUE(opened.valid()) << std::strerror(errno);
  ASSERT_EQ(attachment.detach(), 0);  // two descriptors remain

  door_attr_t attrs = attributes_of(opened.get());

  EXPECT_FALSE(attrs & DOOR_IS_UNREF) << std::hex << attrs;
}

// door_create(3C) DOOR_UNREF_MULTI: "the DOOR_IS_UNREF attribute returned by the door_info(3C)
// call can be used to determine if the door is still unreferenced."
TEST(DoorInfo, AfterUnrefMultiNotification_HasIsUnref) {
  TempDir dir;
  CountedDoor sut(DOOR_UNREF_MULTI);
  ASSERT_GE(sut.door.fd(), 0);
  ASSERT_TRUE(attach_then_detach(dir, sut.door.fd(), "door"));
  ASSERT_TRUE(sut.wait_notified());

  door_attr_t attrs = attributes_of(sut.door.fd());

  EXPECT_TRUE(attrs & DOOR_IS_UNREF) << std::hex << attrs;
}

// illumos: once a DOOR_UNREF notification has been queued, DOOR_UNREF is cleared from the door's
// attributes (door_info(3C) DOOR_UNREF: "The door has requested notification when all but the
// last reference has gone away": no longer, once it has had it).
TEST(DoorInfo, AfterUnrefNotification_UnrefIsCleared) {
  TempDir dir;
  CountedDoor sut(DOOR_UNREF);
  ASSERT_GE(sut.door.fd(), 0);
  ASSERT_TRUE(attributes_of(sut.door.fd()) & DOOR_UNREF);
  ASSERT_TRUE(attach_then_detach(dir, sut.door.fd(), "door"));
  ASSERT_TRUE(sut.wait_notified());

  door_attr_t attrs = attributes_of(sut.door.fd());

  EXPECT_FALSE(attrs & DOOR_UNREF) << std::hex << attrs;
}

// DOOR_UNREF_MULTI stays: more notifications may come.
TEST(DoorInfo, AfterUnrefMultiNotification_UnrefMultiStays) {
  TempDir dir;
  CountedDoor sut(DOOR_UNREF_MULTI);
  ASSERT_GE(sut.door.fd(), 0);
  ASSERT_TRUE(attach_then_detach(dir, sut.door.fd(), "door"));
  ASSERT_TRUE(sut.wait_notified());

  door_attr_t attrs = attributes_of(sut.door.fd());

  EXPECT_TRUE(attrs & DOOR_UNREF_MULTI) << std::hex << attrs;
}

// --- doors_new_reference (<doors/ext.h>) ---------------------------------------------------

// A reference made by doors_new_reference counts on its own, unlike a dup(): while it is open
// the count is two; when it closes, the count drops to one and the notification comes.
TEST(DoorsNewReference, ReferenceOfItsOwn_ClosingItNotifies) {
  TempDir dir;
  Sentinel sentinel;
  CountedDoor door(DOOR_UNREF);
  ASSERT_GE(door.door.fd(), 0);
  UniqueFd sut(doors_new_reference(door.door.fd()));
  ASSERT_TRUE(sut.valid()) << std::strerror(errno);
  ASSERT_TRUE(sentinel.flush(dir));
  EXPECT_EQ(door.count(), 0) << "notified while two references exist";

  sut.reset();

  EXPECT_TRUE(door.wait_notified());
}

TEST(DoorsNewReference, CallableLikeTheDoor) {
  LocalDoor door(echo_handler());
  ASSERT_GE(door.fd(), 0);
  UniqueFd sut(doors_new_reference(door.fd()));
  ASSERT_TRUE(sut.valid()) << std::strerror(errno);

  CallOutcome out = call_door(sut.get(), "same door");

  ASSERT_EQ(out.rc, 0) << std::strerror(out.err);
  EXPECT_EQ(out.data, "same door");
}

TEST(DoorsNewReference, NotADoorOrRevoked_Ebadf) {
  int p[2];
  ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
  UniqueFd r(p[0]), w(p[1]);
  EXPECT_EQ(doors_new_reference(r.get()), -1);
  EXPECT_EQ(errno, EBADF);

  LocalDoor door(echo_handler());
  ASSERT_GE(door.fd(), 0);
  UniqueFd kept(doors_new_reference(door.fd()));
  ASSERT_TRUE(kept.valid());
  ASSERT_EQ(door_revoke(door.fd()), 0);
  door.forget();
  EXPECT_EQ(doors_new_reference(kept.get()), -1);
  EXPECT_EQ(errno, EBADF);
}

}  // namespace
}  // namespace doors::test
