// Unreferenced notifications (door_create(3C) DOOR_UNREF, DOOR_UNREF_MULTI) with references held
// by other processes. libdoors' model (DEVIATIONS.md, "Reference counting"): a reference is a
// door descriptor's open file description, so open() of the attached path makes a new one, while
// fork() and descriptor passing share one; fattach(3C) attachments count too. The server is a
// forked child whose procedure reports each notification on a Gate the test waits on.
// One-process cases are in tests/conformance/door_unref_test.cpp.
#include <door.h>
#include <gtest/gtest.h>
#include <stropts.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "deadline.h"
#include "door_support.h"
#include "fd.h"
#include "forked_server.h"
#include "gate.h"
#include "procedures.h"
#include "temp_dir.h"

namespace doors::test {
namespace {

// --- state of the server child (set before its doors exist) --------------------------------

Gate* g_notified = nullptr;             // signalled once per notification
std::atomic<std::uint32_t> g_count{0};  // notifications so far

bool is_unref_invocation(const char* argp) { return argp == static_cast<char*>(DOOR_UNREF_DATA); }

// Counts notifications; an ordinary call is answered with the count so far.
void counting_proc(void*, char* argp, std::size_t, door_desc_t*, uint_t) {
  if (is_unref_invocation(argp)) {
    g_count.fetch_add(1);
    g_notified->signal();
    door_return(nullptr, 0, nullptr, 0);
  }
  reply_value(g_count.load());
}

// A ControlledServer of counting_proc with `attrs`.
struct UnrefServer {
  explicit UnrefServer(uint_t attrs)
      : server(path, counting_proc, {.attrs = attrs, .setup = [this] { g_notified = &notified; }}) {
  }
  bool wait_notified() const { return notified.wait(Deadline::standard()); }
  TempDir dir;
  std::string path = dir.file("door");
  Gate notified;
  ControlledServer server;
};

// A descriptor from open() of the attached path, made a door descriptor by a first door
// operation (DEVIATIONS.md 2): a reference of its own.
UniqueFd open_and_use(const std::string& path) {
  UniqueFd fd = open_door(path);
  door_info_t info{};
  if (fd.valid() && door_info(fd.get(), &info) != 0) fd.reset();
  return fd;
}

// The server's notification count, asked through `d`.
std::uint32_t count_through(int d) {
  CallOutcome call = call_door(d, "count");
  std::uint32_t count = 0;
  EXPECT_EQ(call.rc, 0) << std::strerror(call.err);
  EXPECT_TRUE(read_value(call.data, &count));
  return count;
}

door_attr_t attributes_of(int d) {
  door_info_t info{};
  EXPECT_EQ(door_info(d, &info), 0) << std::strerror(errno);
  return info.di_attributes;
}

// --- open() and close() by clients -----------------------------------------------------------

// door_create(3C) DOOR_UNREF: "Delivers a special invocation on the door when the number of
// descriptors that refer to this door drops to one." The server keeps only the attachment (it
// closed its own descriptor while a client held one); the client's close leaves one reference.
TEST(DoorUnref, LastClientClosesAfterServerClosedItsDescriptor_Notified) {
  UnrefServer s(DOOR_UNREF);
  ASSERT_TRUE(s.server.ready());
  UniqueFd client = open_and_use(s.path);
  ASSERT_TRUE(client.valid()) << std::strerror(errno);
  ASSERT_EQ(s.server.command('C'), 0);  // three references, then two
  ASSERT_EQ(count_through(client.get()), 0u) << "notified while a client still held the door";

  client.reset();

  EXPECT_TRUE(s.wait_notified()) << "no notification when the last client closed";
}

// door_create(3C) DOOR_UNREF_MULTI: notified "if the number of descriptors referring to the door
// drops to one more than once". Stevens' pattern: the server closes its descriptor after fattach
// (one reference: notified at once, DEVIATIONS.md), then each client that opens and closes the
// path raises the count to two and drops it back to one.
TEST(DoorUnrefMulti, EachClientOpenAndClose_NotifiedAgain) {
  UnrefServer s(DOOR_UNREF_MULTI);
  ASSERT_TRUE(s.server.ready());
  ASSERT_EQ(s.server.command('C'), 0);
  ASSERT_TRUE(s.wait_notified()) << "closing the server's own descriptor delivered nothing";

  for (int client = 0; client < 2; ++client) {
    UniqueFd d = open_and_use(s.path);
    ASSERT_TRUE(d.valid()) << std::strerror(errno);
    d.reset();
    ASSERT_TRUE(s.wait_notified()) << "client " << client << " closed: no notification";
  }

  UniqueFd d = open_and_use(s.path);
  ASSERT_TRUE(d.valid()) << std::strerror(errno);
  EXPECT_EQ(count_through(d.get()), 3u);
}

// door_info(3C) DOOR_IS_UNREF ("There is currently only one descriptor referring to the door") as
// a client sees it: not while the client's descriptor is a second reference.
TEST(DoorInfo, RemoteDoorWithClientDescriptor_HasNoIsUnref) {
  UnrefServer s(DOOR_UNREF_MULTI);
  ASSERT_TRUE(s.server.ready());
  ASSERT_EQ(s.server.command('C'), 0);
  ASSERT_TRUE(s.wait_notified());
  UniqueFd client = open_and_use(s.path);
  ASSERT_TRUE(client.valid()) << std::strerror(errno);

  door_attr_t attrs = attributes_of(client.get());

  EXPECT_FALSE(attrs & DOOR_IS_UNREF) << std::hex << attrs;
}

// --- fork -----------------------------------------------------------------------------------

// fork(2) copies the descriptor, not the open file description: a child that calls through its
// copy and closes it leaves the count as it was; the parent's close is what drops it to one.
TEST(DoorUnref, ForkedChildClosesInheritedDescriptor_NoNotificationUntilParentCloses) {
  UnrefServer s(DOOR_UNREF_MULTI);
  ASSERT_TRUE(s.server.ready());
  ASSERT_EQ(s.server.command('C'), 0);
  ASSERT_TRUE(s.wait_notified());  // one reference left: the attachment
  UniqueFd client = open_and_use(s.path);
  ASSERT_TRUE(client.valid()) << std::strerror(errno);

  ChildStatus child = run_in_child([d = client.get()] {
    CallOutcome call = call_door(d, "count");
    ::close(d);
    return call.rc == 0 ? 0 : 1;
  });

  ASSERT_TRUE(child.exited_with(0)) << "the child (1: its call failed) " << child.describe();
  EXPECT_FALSE(attributes_of(client.get()) & DOOR_IS_UNREF) << "the child's close was counted";
  EXPECT_EQ(count_through(client.get()), 1u) << "notified when the child closed its copy";
  client.reset();
  EXPECT_TRUE(s.wait_notified()) << "the parent's close delivered nothing";
}

// --- descriptor passing ----------------------------------------------------------------------

// The server attaches an outer door whose procedure, on "give", returns its inner door
// (DOOR_UNREF_MULTI, never attached) without DOOR_RELEASE; on "cycle" it attaches the inner door
// to a second path and detaches it (a drop to one that certainly notifies); otherwise it replies
// an InnerState.
int g_inner = -1;
std::string* g_cycle_path = nullptr;

struct InnerState {
  std::uint32_t count;       // the inner door's notifications
  std::uint32_t attributes;  // door_info() of the inner door in the server
};

void outer_proc(void*, char* argp, std::size_t n, door_desc_t*, uint_t) {
  std::string_view args(argp, argp == nullptr ? 0 : n);
  if (args == "give") {
    door_desc_t d = descriptor(g_inner);
    reply("", &d, 1);
    return;
  }
  if (args == "cycle") {
    std::int32_t err = 0;
    if (fattach(g_inner, g_cycle_path->c_str()) != 0 || fdetach(g_cycle_path->c_str()) != 0)
      err = errno;
    reply_value(err);
    return;
  }
  door_info_t info{};
  door_info(g_inner, &info);
  reply_value(InnerState{g_count.load(), info.di_attributes});
}

struct PassingServer {
  TempDir dir;
  std::string path = dir.file("outer");
  std::string cycle_path = dir.make_file("cycle");
  Gate notified;
  std::unique_ptr<ForkedServer> server =
      fork_door_server(path, outer_proc, {.setup = [this] {
                         g_notified = &notified;
                         g_cycle_path = &cycle_path;
                         g_inner = door_create(counting_proc, nullptr, DOOR_UNREF_MULTI);
                         if (g_inner < 0) child_fail("door_create (inner)");
                       }});
  UniqueFd outer = open_door(path);

  // The inner door, received from the server (the caller owns it).
  UniqueFd receive_inner() {
    CallOutcome give = call_door(outer.get(), "give");
    EXPECT_EQ(give.rc, 0) << std::strerror(give.err);
    if (give.rc != 0 || give.descs.size() != 1) return UniqueFd();
    return UniqueFd(give.descs[0].d_data.d_desc.d_descriptor);
  }
  InnerState inner_state() {
    CallOutcome call = call_door(outer.get(), "state");
    InnerState state{};
    EXPECT_EQ(call.rc, 0) << std::strerror(call.err);
    EXPECT_TRUE(read_value(call.data, &state));
    return state;
  }
};

#define ASSERT_PASSING_OK(p)      \
  ASSERT_NE((p).server, nullptr); \
  ASSERT_TRUE((p).outer.valid()) << std::strerror(errno)

// A passed door descriptor shares the sender's open file description (DEVIATIONS.md): the door
// still has one reference, as door_info's DOOR_IS_UNREF says in both processes.
TEST(DoorUnref, DoorDescriptorPassedToAnotherProcess_StillOneReference) {
  PassingServer p;
  ASSERT_PASSING_OK(p);

  UniqueFd inner = p.receive_inner();

  ASSERT_TRUE(inner.valid());
  EXPECT_TRUE(attributes_of(inner.get()) & DOOR_IS_UNREF) << "in the receiver";
  EXPECT_TRUE(p.inner_state().attributes & DOOR_IS_UNREF) << "in the server";
}

// ... so the receiver closing its copy drops nothing. Afterwards a drop that certainly notifies
// (attach, detach) is notified alone.
TEST(DoorUnref, PassedDoorDescriptorClosedByReceiver_NoNotification) {
  PassingServer p;
  ASSERT_PASSING_OK(p);
  UniqueFd inner = p.receive_inner();
  ASSERT_TRUE(inner.valid());

  inner.reset();

  CallOutcome cycle = call_door(p.outer.get(), "cycle");
  ASSERT_EQ(cycle.rc, 0) << std::strerror(cycle.err);
  std::int32_t err = -1;
  ASSERT_TRUE(read_value(cycle.data, &err));
  ASSERT_EQ(err, 0) << "fattach/fdetach of the inner door: " << std::strerror(err);
  ASSERT_TRUE(p.notified.wait(Deadline::standard())) << "detaching the inner door notified nothing";
  EXPECT_EQ(p.inner_state().count, 1u) << "the receiver's close was notified too";
}

}  // namespace
}  // namespace doors::test
