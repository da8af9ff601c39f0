// Deadlines (per call, per method) and per-method limits.
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <chrono>
#include <string>

#include "door_support.h"
#include "tester_server.h"

namespace doors::test {
namespace {

using namespace std::chrono_literals;

kj::ArrayPtr<const kj::byte> bytes_of(const std::string& s) {
  return kj::arrayPtr(reinterpret_cast<const kj::byte*>(s.data()), s.size());
}

// Named ...ServerThreadIsCancelled: the sanitizer stages of .ci/run skip it (their runtimes do not
// survive a thread cancelled inside an intercepted call).
TEST(TypedDeadline, CallOutlivesTimeout_DeadlineExceeded_ServerThreadIsCancelled) {
  TesterFixture f;
  ASSERT_TRUE(f.ok());
  auto start = std::chrono::steady_clock::now();

  try {
    f.client.block(20000, {.timeout = 100ms});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kDeadlineExceeded);
    EXPECT_EQ(e.sys_errno(), ETIMEDOUT);
    EXPECT_FALSE(e.remote());
  }

  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s) << "the deadline was not prompt";
  EXPECT_TRUE(f.witnesses.cancelled.wait(Deadline::standard()))
      << "the handler was not unwound by cancellation";
  EXPECT_FALSE(f.witnesses.returned.signaled());
  EXPECT_EQ(f.client.add(2, 2)->getSum(), 4) << "the server keeps serving";
}

TEST(TypedDeadline, CallWithinTimeout_Succeeds) {
  TesterFixture f;
  ASSERT_TRUE(f.ok());

  f.client.block(10, {.timeout = 10s});

  EXPECT_TRUE(f.witnesses.returned.wait(Deadline::standard()));
}

TEST(TypedDeadline, NoTimeLeft_FailsAtOnce) {
  TesterFixture f;
  ASSERT_TRUE(f.ok());

  try {
    f.client.null({.timeout = 0ns});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kDeadlineExceeded);
  }
}

// The abandoned handler's thread is cancelled: the name puts it among the tests .ci/run keeps
// out of the sanitizer stages (their runtimes lose track of a cancelled thread's locks).
TEST(TypedDeadline, MethodDefaultTimeout_Applies_ServerThreadIsCancelled) {
  TesterFixture f;
  ASSERT_TRUE(f.ok());

  try {
    f.client.slowDefault(20000);  // $Door.timeoutMs(200)
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kDeadlineExceeded);
  }
}

TEST(TypedDeadline, CallOptionsOverrideMethodDefault) {
  TesterFixture f;
  ASSERT_TRUE(f.ok());

  EXPECT_NO_THROW(f.client.slowDefault(400, {.timeout = 10s}));
}

TEST(TypedLimits, ArgumentsOverMaxArgBytes_ResourceExhausted) {
  TesterFixture f;
  ASSERT_TRUE(f.ok());
  std::string small(100, 's');
  std::string big(2000, 'b');

  EXPECT_NO_THROW(f.client.limited(bytes_of(small)));
  try {
    f.client.limited(bytes_of(big));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kResourceExhausted);
    EXPECT_TRUE(e.remote());
  }
}

TEST(TypedLimits, DescriptorsOverMaxDescriptors_ResourceExhausted) {
  TesterFixture f;
  ASSERT_TRUE(f.ok());
  auto req = f.client.limitedRequest();
  OwnedFd fd(::memfd_create("limit", MFD_CLOEXEC));
  // limited() has no Door.Fd field: the index goes to a field elsewhere, the descriptor still
  // travels with the call.
  capnp::MallocMessageBuilder elsewhere;
  req.set_fd(elsewhere.initRoot<doors::schema::Fd>(), fd.get());

  try {
    req.send();
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kResourceExhausted);
  }
}

}  // namespace
}  // namespace doors::test
