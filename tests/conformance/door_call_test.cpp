// door_call(3C) and the server side of a call, with client and server in one process.
#include <door.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "async.h"
#include "deadline.h"
#include "door_support.h"
#include "fd.h"
#include "gate.h"
#include "local_door.h"
#include "not_a_door.h"
#include "temp_dir.h"

namespace doors::test {
namespace {

// What a server procedure was handed.
struct Seen {
  bool argp_null = false;
  std::uint64_t arg_size = 0;
  bool dp_null = false;
  std::uint32_t n_desc = 0;
};

// A handler that records what it was handed into `seen` (and closes received descriptors).
Handler recording_handler(std::shared_ptr<std::mutex> mu, std::shared_ptr<Seen> seen) {
  return [mu, seen](char* argp, std::size_t n, door_desc_t* dp, uint_t n_desc) {
    {
      std::lock_guard lock(*mu);
      *seen = Seen{argp == nullptr, n, dp == nullptr, n_desc};
    }
    for (uint_t i = 0; dp != nullptr && i < n_desc; ++i)
      if (dp[i].d_attributes & DOOR_DESCRIPTOR) ::close(dp[i].d_data.d_desc.d_descriptor);
    door_return(nullptr, 0, nullptr, 0);
  };
}

struct RecordingDoor {
  std::shared_ptr<std::mutex> mu = std::make_shared<std::mutex>();
  std::shared_ptr<Seen> seen = std::make_shared<Seen>();
  LocalDoor door{recording_handler(mu, seen)};
  Seen last() const {
    std::lock_guard lock(*mu);
    return *seen;
  }
};

// A handler whose reply is transformed(arguments).
Handler transform_handler() {
  return [](char* argp, std::size_t n, door_desc_t*, uint_t) {
    char* out = reply_buffer(n);
    transform_into(out, argp, n);
    reply(std::string_view(out, n));
  };
}

// A handler whose arguments are a std::uint64_t n and whose reply is pattern(n, n).
Handler sized_reply_handler() {
  return [](char* argp, std::size_t n, door_desc_t*, uint_t) {
    std::uint64_t size = 0;
    if (argp != nullptr && n == sizeof size) std::memcpy(&size, argp, sizeof size);
    reply_pattern(size, size);
  };
}

door_arg_t args_for(std::uint64_t* size, char* rbuf, std::size_t rsize) {
  door_arg_t arg{};
  arg.data_ptr = reinterpret_cast<char*>(size);
  arg.data_size = sizeof *size;
  arg.rbuf = rbuf;
  arg.rsize = rsize;
  return arg;
}

// --- calls that succeed ---------------------------------------------------------------------

// door_call(3C) on door_create's own descriptor: a local call.
TEST(DoorCall, LocalDoor_ResultsAreTheProceduresReply) {
  LocalDoor door(transform_handler());
  ASSERT_GE(door.fd(), 0);

  CallOutcome sut = call_door(door.fd(), "hello, door");

  ASSERT_EQ(sut.rc, 0) << std::strerror(sut.err);
  EXPECT_EQ(sut.data, transformed("hello, door"));
}

TEST(DoorCall, LocalDoor_LargeArgumentsAndResults_RoundTrip) {
  LocalDoor door(transform_handler());
  ASSERT_GE(door.fd(), 0);
  std::string args = pattern(4 << 20, 11);

  CallOutcome sut = call_door(door.fd(), args);

  ASSERT_EQ(sut.rc, 0) << std::strerror(sut.err);
  ASSERT_EQ(sut.data.size(), args.size());
  EXPECT_TRUE(sut.data == transformed(args));
}

TEST(DoorCall, ThroughDupOfDoorDescriptor_Works) {
  LocalDoor door(transform_handler());
  ASSERT_GE(door.fd(), 0);
  UniqueFd copy(::dup(door.fd()));
  ASSERT_TRUE(copy.valid());

  CallOutcome sut = call_door(copy.get(), "dup");

  ASSERT_EQ(sut.rc, 0) << std::strerror(sut.err);
  EXPECT_EQ(sut.data, transformed("dup"));
}

TEST(DoorCall, ThroughOwnAttachedPath_Works) {
  TempDir dir;
  std::string path = dir.make_file("door");
  LocalDoor door(transform_handler());
  ASSERT_GE(door.fd(), 0);
  ASSERT_EQ(fattach(door.fd(), path.c_str()), 0) << std::strerror(errno);
  UniqueFd client = open_door(path);
  ASSERT_TRUE(client.valid());

  CallOutcome sut = call_door(client.get(), "by path");

  EXPECT_EQ(sut.rc, 0) << std::strerror(sut.err);
  EXPECT_EQ(sut.data, transformed("by path"));
  fdetach(path.c_str());
}

// door_call(3C): "params may be set to NULL" when there are no arguments and no results.
TEST(DoorCall, NullParams_Succeeds) {
  LocalDoor door(empty_handler());
  ASSERT_GE(door.fd(), 0);

  int rc = door_call(door.fd(), nullptr);

  EXPECT_EQ(rc, 0) << std::strerror(errno);
}

TEST(DoorCall, NullParams_ProcedureSeesNoArgumentsAndNoDescriptors) {
  RecordingDoor recording;
  ASSERT_GE(recording.door.fd(), 0);

  ASSERT_EQ(door_call(recording.door.fd(), nullptr), 0) << std::strerror(errno);

  Seen sut = recording.last();
  EXPECT_TRUE(sut.argp_null);
  EXPECT_EQ(sut.arg_size, 0u);
  EXPECT_TRUE(sut.dp_null);
  EXPECT_EQ(sut.n_desc, 0u);
}

// door_create(3C): the procedure's argp is NULL when data_size is 0.
TEST(DoorCall, ZeroDataSize_ProcedureSeesNullArgp) {
  RecordingDoor recording;
  ASSERT_GE(recording.door.fd(), 0);

  CallOutcome call = call_door(recording.door.fd(), "");

  ASSERT_EQ(call.rc, 0) << std::strerror(call.err);
  Seen sut = recording.last();
  EXPECT_TRUE(sut.argp_null);
  EXPECT_EQ(sut.arg_size, 0u);
}

TEST(DoorCall, WithData_ProcedureSeesArgumentsAndSize) {
  RecordingDoor recording;
  ASSERT_GE(recording.door.fd(), 0);

  CallOutcome call = call_door(recording.door.fd(), "12345");

  ASSERT_EQ(call.rc, 0) << std::strerror(call.err);
  Seen sut = recording.last();
  EXPECT_FALSE(sut.argp_null);
  EXPECT_EQ(sut.arg_size, 5u);
}

// door_create(3C): dp is NULL when n_desc is 0.
TEST(DoorCall, NoDescriptors_ProcedureSeesNullDp) {
  RecordingDoor recording;
  ASSERT_GE(recording.door.fd(), 0);

  CallOutcome call = call_door(recording.door.fd(), "data but no descriptors");

  ASSERT_EQ(call.rc, 0) << std::strerror(call.err);
  Seen sut = recording.last();
  EXPECT_TRUE(sut.dp_null);
  EXPECT_EQ(sut.n_desc, 0u);
}

// --- where results land ----------------------------------------------------------------------

// door_call(3C): results that fit are written into rbuf; rbuf and rsize are left as they were.
TEST(DoorCall, ResultsFitRbuf_RbufAndRsizeUnchanged) {
  LocalDoor door(sized_reply_handler());
  ASSERT_GE(door.fd(), 0);
  std::vector<char> rbuf(4096);
  std::uint64_t size = 100;
  door_arg_t sut = args_for(&size, rbuf.data(), rbuf.size());

  ASSERT_EQ(door_call(door.fd(), &sut), 0) << std::strerror(errno);

  EXPECT_EQ(sut.rbuf, rbuf.data());
  EXPECT_EQ(sut.rsize, rbuf.size());
}

TEST(DoorCall, ResultsFitRbuf_DataPtrIsRbufAndDataSizeIsResultSize) {
  LocalDoor door(sized_reply_handler());
  ASSERT_GE(door.fd(), 0);
  std::vector<char> rbuf(4096);
  std::uint64_t size = 100;
  door_arg_t sut = args_for(&size, rbuf.data(), rbuf.size());

  ASSERT_EQ(door_call(door.fd(), &sut), 0) << std::strerror(errno);

  EXPECT_EQ(sut.data_ptr, rbuf.data());
  ASSERT_EQ(sut.data_size, 100u);
  EXPECT_EQ(std::string(rbuf.data(), 100), pattern(100, 100));
  EXPECT_EQ(sut.desc_num, 0u);
}

// illumos door_results(): without descriptors the results fit when data_size <= rsize.
TEST(DoorCall, ResultsExactlyRsize_ComeBackInPlace) {
  LocalDoor door(sized_reply_handler());
  ASSERT_GE(door.fd(), 0);
  std::vector<char> rbuf(4096);
  std::uint64_t size = rbuf.size();
  door_arg_t sut = args_for(&size, rbuf.data(), rbuf.size());

  ASSERT_EQ(door_call(door.fd(), &sut), 0) << std::strerror(errno);

  EXPECT_EQ(sut.rbuf, rbuf.data());
  EXPECT_EQ(sut.data_ptr, rbuf.data());
  EXPECT_EQ(sut.data_size, rbuf.size());
}

// door_call(3C): "If the results are larger than rbuf, the system allocates a new buffer with
// mmap(2) and places the results there; rbuf and rsize are updated; the caller must munmap(2)
// it."
TEST(DoorCall, ResultsExceedRbuf_ComeBackInNewMapping) {
  LocalDoor door(sized_reply_handler());
  ASSERT_GE(door.fd(), 0);
  std::vector<char> rbuf(64);
  std::uint64_t size = 10000;
  door_arg_t sut = args_for(&size, rbuf.data(), rbuf.size());

  ASSERT_EQ(door_call(door.fd(), &sut), 0) << std::strerror(errno);

  ASSERT_NE(sut.rbuf, rbuf.data());
  ASSERT_NE(sut.rbuf, nullptr);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(sut.rbuf) % ::sysconf(_SC_PAGESIZE), 0u);
  EXPECT_GE(sut.rsize, size);
  EXPECT_EQ(sut.data_ptr, sut.rbuf);
  ASSERT_EQ(sut.data_size, size);
  EXPECT_TRUE(std::string(sut.data_ptr, size) == pattern(size, size));
  EXPECT_EQ(::munmap(sut.rbuf, sut.rsize), 0) << std::strerror(errno);
}

// door_call(3C): the caller's own buffer is not written when results come back in a new one.
TEST(DoorCall, ResultsExceedRbuf_CallersBufferIsNotWritten) {
  LocalDoor door(sized_reply_handler());
  ASSERT_GE(door.fd(), 0);
  std::vector<char> rbuf(64, '\xEE');
  std::uint64_t size = 10000;
  door_arg_t sut = args_for(&size, rbuf.data(), rbuf.size());

  ASSERT_EQ(door_call(door.fd(), &sut), 0) << std::strerror(errno);

  EXPECT_EQ(rbuf, std::vector<char>(64, '\xEE'));
  if (sut.rbuf != rbuf.data()) ::munmap(sut.rbuf, sut.rsize);
}

TEST(DoorCall, NullRbufWithResults_ComeBackInNewMapping) {
  LocalDoor door(sized_reply_handler());
  ASSERT_GE(door.fd(), 0);
  std::uint64_t size = 100;
  door_arg_t sut = args_for(&size, nullptr, 0);

  ASSERT_EQ(door_call(door.fd(), &sut), 0) << std::strerror(errno);

  ASSERT_NE(sut.rbuf, nullptr);
  EXPECT_GE(sut.rsize, size);
  EXPECT_EQ(sut.data_ptr, sut.rbuf);
  ASSERT_EQ(sut.data_size, size);
  EXPECT_EQ(std::string(sut.data_ptr, size), pattern(size, size));
  EXPECT_EQ(::munmap(sut.rbuf, sut.rsize), 0) << std::strerror(errno);
}

TEST(DoorCall, NoResults_DataSizeAndDescNumAreZero) {
  LocalDoor door(empty_handler());
  ASSERT_GE(door.fd(), 0);
  std::vector<char> rbuf(64);
  std::string args = "x";
  door_arg_t sut{args.data(), args.size(), nullptr, 0, rbuf.data(), rbuf.size()};

  ASSERT_EQ(door_call(door.fd(), &sut), 0) << std::strerror(errno);

  EXPECT_EQ(sut.data_size, 0u);
  EXPECT_EQ(sut.desc_num, 0u);
  EXPECT_EQ(sut.rbuf, rbuf.data());
  EXPECT_EQ(sut.rsize, rbuf.size());
}

// illumos door_results(): with descriptors, they follow the data rounded up to
// sizeof(door_desc_t), all inside rbuf when that fits.
TEST(DoorCall, ResultDescriptorsFitRbuf_DescPtrFollowsDataRoundedUp) {
  LocalDoor door([](char*, std::size_t, door_desc_t*, uint_t) {
    door_desc_t d = descriptor(::open("/dev/null", O_RDONLY | O_CLOEXEC), DOOR_RELEASE);
    reply("12345", &d, 1);
  });
  ASSERT_GE(door.fd(), 0);
  std::vector<char> rbuf(4096);
  door_arg_t sut{nullptr, 0, nullptr, 0, rbuf.data(), rbuf.size()};

  ASSERT_EQ(door_call(door.fd(), &sut), 0) << std::strerror(errno);

  EXPECT_EQ(sut.rbuf, rbuf.data());
  EXPECT_EQ(sut.data_ptr, rbuf.data());
  EXPECT_EQ(sut.data_size, 5u);
  ASSERT_EQ(sut.desc_num, 1u);
  EXPECT_EQ(reinterpret_cast<char*>(sut.desc_ptr), rbuf.data() + sizeof(door_desc_t));
  EXPECT_TRUE(sut.desc_ptr[0].d_attributes & DOOR_DESCRIPTOR);
  int received = sut.desc_ptr[0].d_data.d_desc.d_descriptor;
  EXPECT_TRUE(fd_is_open(received));
  ::close(received);
}

// --- descriptors, one process ----------------------------------------------------------------

// door_call(3C): passed descriptors arrive as new descriptors for the same open file.
TEST(DoorCall, PassedDescriptor_ProcedureCanWriteThroughIt) {
  LocalDoor door([](char*, std::size_t, door_desc_t* dp, uint_t n) {
    if (n == 1 && (dp[0].d_attributes & DOOR_DESCRIPTOR)) {
      int fd = dp[0].d_data.d_desc.d_descriptor;
      (void)!::write(fd, "ping", 4);
      ::close(fd);
    }
    door_return(nullptr, 0, nullptr, 0);
  });
  ASSERT_GE(door.fd(), 0);
  Pipe pipe = Pipe::make();

  CallOutcome call = call_door(door.fd(), "", {descriptor(pipe.write_end.get())});

  ASSERT_EQ(call.rc, 0) << std::strerror(call.err);
  char got[4] = {};
  ASSERT_TRUE(read_exact(pipe.read_end.get(), got, sizeof got, Deadline::standard()));
  EXPECT_EQ(std::string(got, 4), "ping");
}

TEST(DoorCall, PassedDescriptor_ArrivesWithDoorDescriptorAttribute) {
  auto attrs = std::make_shared<std::atomic<unsigned>>(0);
  LocalDoor door([attrs](char*, std::size_t, door_desc_t* dp, uint_t n) {
    if (n == 1) {
      attrs->store(dp[0].d_attributes);
      ::close(dp[0].d_data.d_desc.d_descriptor);
    }
    door_return(nullptr, 0, nullptr, 0);
  });
  ASSERT_GE(door.fd(), 0);
  UniqueFd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));

  CallOutcome call = call_door(door.fd(), "", {descriptor(devnull.get())});

  ASSERT_EQ(call.rc, 0) << std::strerror(call.err);
  EXPECT_TRUE(attrs->load() & DOOR_DESCRIPTOR) << std::hex << attrs->load();
}

// What a procedure saw of a door descriptor passed to it.
struct PassedDoorSeen {
  std::uint32_t n_desc;
  std::uint32_t attributes;  // d_attributes
  std::uint64_t d_id;
  std::int32_t info_rc;
  std::uint64_t uniquifier;  // door_info() of the received descriptor
};

// door_call(3C): a door descriptor passed to the procedure keeps its identity: d_id is the door's
// di_uniquifier, and d_attributes has DOOR_LOCAL when the receiver serves that door. (The reply
// direction, across processes, is in tests/integration/descriptor_passing_test.cpp.)
TEST(DoorCall, PassedDoorDescriptor_DIdIsItsUniquifier) {
  LocalDoor passed(empty_handler());
  ASSERT_GE(passed.fd(), 0);
  door_info_t expected{};
  ASSERT_EQ(door_info(passed.fd(), &expected), 0) << std::strerror(errno);
  LocalDoor door([](char*, std::size_t, door_desc_t* dp, uint_t n) {
    PassedDoorSeen seen{};
    seen.n_desc = n;
    if (n == 1) {
      seen.attributes = dp[0].d_attributes;
      seen.d_id = dp[0].d_data.d_desc.d_id;
      door_info_t info{};
      seen.info_rc = door_info(dp[0].d_data.d_desc.d_descriptor, &info);
      seen.uniquifier = info.di_uniquifier;
      ::close(dp[0].d_data.d_desc.d_descriptor);
    }
    reply_value(seen);
  });
  ASSERT_GE(door.fd(), 0);

  CallOutcome call = call_door(door.fd(), "", {descriptor(passed.fd())});

  ASSERT_EQ(call.rc, 0) << std::strerror(call.err);
  PassedDoorSeen sut{};
  ASSERT_TRUE(read_value(call.data, &sut));
  ASSERT_EQ(sut.n_desc, 1u);
  EXPECT_TRUE(sut.attributes & DOOR_DESCRIPTOR) << std::hex << sut.attributes;
  EXPECT_TRUE(sut.attributes & DOOR_LOCAL) << std::hex << sut.attributes;
  EXPECT_EQ(sut.d_id, value_of(expected.di_uniquifier));
  EXPECT_EQ(sut.info_rc, 0);
  EXPECT_EQ(sut.uniquifier, value_of(expected.di_uniquifier));
}

// --- errors ----------------------------------------------------------------------------------

// door_call(3C) EBADF: "d is not a valid door descriptor."
class DoorCall_NotADoor : public ::testing::TestWithParam<NotADoor> {};

TEST_P(DoorCall_NotADoor, FailsWithEBADF) {
  TempDir dir;
  UniqueFd fd = GetParam().make(dir);
  ASSERT_TRUE(fd.valid()) << std::strerror(errno);

  CallOutcome sut = call_door(fd.get(), "x");

  EXPECT_EQ(sut.rc, -1);
  EXPECT_EQ(sut.err, EBADF) << std::strerror(sut.err);
}

INSTANTIATE_TEST_SUITE_P(DoorCall, DoorCall_NotADoor, ::testing::ValuesIn(not_a_door_rows()),
                         not_a_door_name);

TEST(DoorCall, MinusOne_FailsWithEBADF) {
  CallOutcome sut = call_door(-1, "x");

  EXPECT_EQ(sut.rc, -1);
  EXPECT_EQ(sut.err, EBADF);
}

// door_call(3C) ENOTSUP: "The desc_num argument is non-zero and the door has the
// DOOR_REFUSE_DESC flag set."
TEST(DoorCall, DescriptorsToRefusingDoor_FailsWithENOTSUP) {
  LocalDoor door(empty_handler(), DOOR_REFUSE_DESC);
  ASSERT_GE(door.fd(), 0);
  UniqueFd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));

  CallOutcome sut = call_door(door.fd(), "x", {descriptor(devnull.get())});

  EXPECT_EQ(sut.rc, -1);
  EXPECT_EQ(sut.err, ENOTSUP) << std::strerror(sut.err);
}

TEST(DoorCall, NoDescriptorsToRefusingDoor_Succeeds) {
  LocalDoor door(empty_handler(), DOOR_REFUSE_DESC);
  ASSERT_GE(door.fd(), 0);

  CallOutcome sut = call_door(door.fd(), "x");

  EXPECT_EQ(sut.rc, 0) << std::strerror(sut.err);
}

// door_call(3C) EINVAL: "a descriptor was passed without DOOR_DESCRIPTOR set" (the kernel
// rejects a door_desc_t whose attributes lack DOOR_DESCRIPTOR).
TEST(DoorCall, DescriptorWithoutDoorDescriptorAttribute_FailsWithEINVAL) {
  LocalDoor door(empty_handler());
  ASSERT_GE(door.fd(), 0);
  UniqueFd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  door_desc_t d = descriptor(devnull.get());
  d.d_attributes = 0;

  CallOutcome sut = call_door(door.fd(), "x", {d});

  EXPECT_EQ(sut.rc, -1);
  EXPECT_EQ(sut.err, EINVAL) << std::strerror(sut.err);
}

// door_call(3C) EINVAL: a descriptor in desc_ptr that is not open.
TEST(DoorCall, PassedDescriptorNotOpen_FailsWithEINVAL) {
  LocalDoor door(empty_handler());
  ASSERT_GE(door.fd(), 0);
  int not_open = unused_descriptor();

  CallOutcome sut = call_door(door.fd(), "x", {descriptor(not_open)});

  EXPECT_EQ(sut.rc, -1);
  EXPECT_EQ(sut.err, EINVAL) << std::strerror(sut.err);
}

// door_call(3C) E2BIG: more descriptors than the system passes in one call (1024 on illumos).
TEST(DoorCall, MoreThan1024Descriptors_FailsWithE2BIG) {
  LocalDoor door(empty_handler());
  ASSERT_GE(door.fd(), 0);
  UniqueFd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  std::vector<door_desc_t> descs(1025, descriptor(devnull.get()));

  CallOutcome sut = call_door(door.fd(), "x", descs);

  EXPECT_EQ(sut.rc, -1);
  EXPECT_EQ(sut.err, E2BIG) << std::strerror(sut.err);
}

// --- interrupted calls -----------------------------------------------------------------------

// Installs a no-op handler for `sig` with SA_RESTART for the test's lifetime.
class CatchSignal {
 public:
  explicit CatchSignal(int sig) : sig_(sig) {
    struct sigaction sa {};
    sa.sa_handler = [](int) {};
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    ::sigaction(sig_, &sa, &old_);
  }
  ~CatchSignal() { ::sigaction(sig_, &old_, nullptr); }
  CatchSignal(const CatchSignal&) = delete;
  CatchSignal& operator=(const CatchSignal&) = delete;

 private:
  int sig_;
  struct sigaction old_ {};
};

// A door_call on another thread, which the test can interrupt with a signal.
class InterruptibleCall {
 public:
  InterruptibleCall(int d, std::string args) {
    auto id = std::make_shared<std::promise<pthread_t>>();
    caller_ = id->get_future();
    call_ = std::make_unique<Async<CallOutcome>>([d, args, id] {
      id->set_value(::pthread_self());
      return call_door(d, args);
    });
  }
  void interrupt(int sig) { ::pthread_kill(caller_.get(), sig); }
  Async<CallOutcome>& call() { return *call_; }

 private:
  std::future<pthread_t> caller_;
  std::unique_ptr<Async<CallOutcome>> call_;
};

// door_call(3C) EINTR: "A signal was caught in the client"; never restarted, even with
// SA_RESTART.
TEST(DoorCall, CaughtSignalDuringCall_FailsWithEINTR) {
  HeldProcedure held;
  LocalDoor door(
      [&](char*, std::size_t, door_desc_t*, uint_t) {
        held.hold();
        reply("late");
      },
      DOOR_NO_CANCEL);
  ASSERT_GE(door.fd(), 0);
  CatchSignal catching(SIGUSR1);
  InterruptibleCall sut(door.fd(), "x");
  ASSERT_TRUE(held.wait_entered());

  sut.interrupt(SIGUSR1);

  ASSERT_TRUE(sut.call().wait(Deadline::standard())) << "door_call was not interrupted";
  EXPECT_EQ(sut.call().result().rc, -1);
  EXPECT_EQ(sut.call().result().err, EINTR) << std::strerror(sut.call().result().err);
}

// door_call(3C): when the client is interrupted, the server thread is cancelled
// (pthread_cancel) unless the door was created with DOOR_NO_CANCEL.
TEST(DoorCall, ClientInterrupted_ServerThreadIsCancelled) {
  HeldProcedure held;
  LocalDoor door([&](char*, std::size_t, door_desc_t*, uint_t) {
    held.hold_cancellable();
    reply("not cancelled");
  });
  ASSERT_GE(door.fd(), 0);
  CatchSignal catching(SIGUSR1);
  InterruptibleCall call(door.fd(), "x");
  ASSERT_TRUE(held.wait_entered());

  call.interrupt(SIGUSR1);

  EXPECT_TRUE(held.wait_cancelled()) << "the server thread was not cancelled";
  ASSERT_TRUE(call.call().wait(Deadline::standard())) << "door_call was not interrupted";
  EXPECT_EQ(call.call().result().err, EINTR);
}

TEST(DoorCall, ClientInterruptedOnNoCancelDoor_ProcedureRunsToCompletion) {
  HeldProcedure held;
  LocalDoor door(
      [&](char*, std::size_t, door_desc_t*, uint_t) {
        held.hold_cancellable();
        reply("finished");
      },
      DOOR_NO_CANCEL);
  ASSERT_GE(door.fd(), 0);
  CatchSignal catching(SIGUSR1);
  InterruptibleCall call(door.fd(), "x");
  ASSERT_TRUE(held.wait_entered());
  call.interrupt(SIGUSR1);
  ASSERT_TRUE(call.call().wait(Deadline::standard())) << "door_call was not interrupted";

  held.release();

  EXPECT_TRUE(held.wait_left()) << "the procedure did not run to its end";
}

// door_return(3C) with no caller left discards the results; the door keeps serving.
TEST(DoorCall, AfterClientInterrupted_DoorStillServes) {
  HeldProcedure held;
  LocalDoor door(
      [&](char* argp, std::size_t n, door_desc_t*, uint_t) {
        if (std::string_view(argp, n) == "block") held.hold();
        reply(std::string_view(argp, n));
      },
      DOOR_NO_CANCEL);
  ASSERT_GE(door.fd(), 0);
  CatchSignal catching(SIGUSR1);
  {
    InterruptibleCall call(door.fd(), "block");
    ASSERT_TRUE(held.wait_entered());
    call.interrupt(SIGUSR1);
    ASSERT_TRUE(call.call().wait(Deadline::standard())) << "door_call was not interrupted";
    held.release();
    ASSERT_TRUE(held.wait_left());
  }

  CallOutcome sut = call_door(door.fd(), "again");

  ASSERT_EQ(sut.rc, 0) << std::strerror(sut.err);
  EXPECT_EQ(sut.data, "again");
}

// illumos: a server procedure that returns without door_return(3C) ends its thread, and the
// caller's door_call fails with EINTR.
TEST(DoorCall, ProcedureReturnsWithoutDoorReturn_FailsWithEINTR) {
  LocalDoor door([](char*, std::size_t, door_desc_t*, uint_t) {});
  ASSERT_GE(door.fd(), 0);

  Async<CallOutcome> sut([d = door.fd()] { return call_door(d, "x"); });

  ASSERT_TRUE(sut.wait(Deadline::standard())) << "door_call hangs";
  EXPECT_EQ(sut.result().rc, -1);
  EXPECT_EQ(sut.result().err, EINTR) << std::strerror(sut.result().err);
}

TEST(DoorCall, AfterProcedureReturnedWithoutDoorReturn_DoorStillServes) {
  LocalDoor door([](char* argp, std::size_t n, door_desc_t*, uint_t) {
    if (std::string_view(argp, n) == "fall off") return;
    reply(std::string_view(argp, n));
  });
  ASSERT_GE(door.fd(), 0);
  Async<CallOutcome> first([d = door.fd()] { return call_door(d, "fall off"); });
  ASSERT_TRUE(first.wait(Deadline::standard())) << "door_call hangs";

  Async<CallOutcome> sut([d = door.fd()] { return call_door(d, "hello"); });

  ASSERT_TRUE(sut.wait(Deadline::standard())) << "door_call hangs";
  ASSERT_EQ(sut.result().rc, 0) << std::strerror(sut.result().err);
  EXPECT_EQ(sut.result().data, "hello");
}

}  // namespace
}  // namespace doors::test
