// Typed calls end to end: a forked server child serves Tester through doors::Service, the test
// process calls it through the (hand-written, doorc-shaped) typed client.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "async.h"
#include "door_support.h"
#include "tester_server.h"

namespace doors::test {
namespace {

kj::ArrayPtr<const kj::byte> bytes_of(const std::string& s) {
  return kj::arrayPtr(reinterpret_cast<const kj::byte*>(s.data()), s.size());
}

std::string_view view_of(capnp::Data::Reader d) {
  return std::string_view(reinterpret_cast<const char*>(d.begin()), d.size());
}

#define ASSERT_FIXTURE(f) ASSERT_TRUE((f).ok())

TEST(TypedCall, Null_Succeeds) {
  TesterFixture f;
  ASSERT_FIXTURE(f);

  auto sut = f.client.null();

  EXPECT_TRUE(sut.valid());
}

TEST(TypedCall, Add_ReturnsSum) {
  TesterFixture f;
  ASSERT_FIXTURE(f);

  auto sut = f.client.add(2, 3);

  EXPECT_EQ(sut->getSum(), 5);
}

TEST(TypedCall, EchoScalars_EveryKindComesBack) {
  TesterFixture f;
  ASSERT_FIXTURE(f);
  auto req = f.client.echoScalarsRequest();
  auto s = req->initS();
  s.setB(true);
  s.setI8(-8);
  s.setI16(-1600);
  s.setI32(-320000);
  s.setI64(-6400000000000LL);
  s.setU8(200);
  s.setU16(60000);
  s.setU32(4000000000u);
  s.setU64(18000000000000000000ull);
  s.setF32(1.5f);
  s.setF64(-2.25e300);
  s.setColor(rt::Color::BLUE);

  auto sut = req.send();

  auto r = sut->getS();
  EXPECT_TRUE(r.getB());
  EXPECT_EQ(r.getI8(), -8);
  EXPECT_EQ(r.getI16(), -1600);
  EXPECT_EQ(r.getI32(), -320000);
  EXPECT_EQ(r.getI64(), -6400000000000LL);
  EXPECT_EQ(r.getU8(), 200);
  EXPECT_EQ(r.getU16(), 60000);
  EXPECT_EQ(r.getU32(), 4000000000u);
  EXPECT_EQ(r.getU64(), 18000000000000000000ull);
  EXPECT_EQ(r.getF32(), 1.5f);
  EXPECT_EQ(r.getF64(), -2.25e300);
  EXPECT_EQ(r.getColor(), rt::Color::BLUE);
}

TEST(TypedCall, EchoText_EmptyUnicodeAndLarge) {
  TesterFixture f;
  ASSERT_FIXTURE(f);
  std::string large(1 << 20, 'x');
  for (const std::string& text : {std::string(), std::string("héllo, wörld ✓"), large}) {
    auto sut = f.client.echoText(text);

    EXPECT_EQ(std::string(sut->getT().cStr()), text);
  }
}

class TypedCall_DataOfSize : public ::testing::TestWithParam<size_t> {};

// Below, at and above the scratch (64 KiB) and libdoors' inline limit, then shared memory.
TEST_P(TypedCall_DataOfSize, EchoedIntact) {
  TesterFixture f;
  ASSERT_FIXTURE(f);
  std::string data = pattern(GetParam(), GetParam() + 3);

  auto sut = f.client.echoData(bytes_of(data));

  EXPECT_EQ(sut->getDigest(), digest(data.data(), data.size()));
  ASSERT_EQ(sut->getD().size(), data.size());
  EXPECT_TRUE(view_of(sut->getD()) == data);
}

// The argument refers to the caller's bytes (reference_data) and is copied once, when sent.
TEST_P(TypedCall_DataOfSize, ReferencedDataEchoedIntact) {
  TesterFixture f;
  ASSERT_FIXTURE(f);
  std::string data = pattern(GetParam(), GetParam() + 5);  // std::string's buffer: 16-aligned
  auto req = f.client.echoDataRequest();

  req->adoptD(req.reference_data(bytes_of(data)));
  auto sut = req.send();

  EXPECT_EQ(sut->getDigest(), digest(data.data(), data.size()));
  ASSERT_EQ(sut->getD().size(), data.size());
  EXPECT_TRUE(view_of(sut->getD()) == data);
}

TEST_P(TypedCall_DataOfSize, MadeByServerArriveIntact) {
  TesterFixture f;
  ASSERT_FIXTURE(f);

  auto sut = f.client.makeData(GetParam(), 42);

  ASSERT_EQ(sut->getD().size(), GetParam());
  EXPECT_TRUE(is_pattern(view_of(sut->getD()), 42));
}

const size_t kDataSizes[] = {
    0, 1, 1000, 60 * 1024, 64 * 1024 - 1, 64 * 1024, 64 * 1024 + 1, 1 << 20, 16 << 20, 64 << 20};

INSTANTIATE_TEST_SUITE_P(TypedCall, TypedCall_DataOfSize, ::testing::ValuesIn(kDataSizes),
                         [](const ::testing::TestParamInfo<size_t>& info) {
                           return "Size" + std::to_string(info.param);
                         });

TEST(TypedCall, SumList_OfManyValues) {
  TesterFixture f;
  ASSERT_FIXTURE(f);
  for (unsigned n : {0u, 3u, 100000u}) {
    auto req = f.client.sumListRequest();
    auto values = req->initValues(n);
    double expected = 0;
    for (unsigned i = 0; i < n; ++i) {
      values.set(i, i * 0.5);
      expected += i * 0.5;
    }

    auto sut = req.send();

    EXPECT_EQ(sut->getCount(), n);
    EXPECT_DOUBLE_EQ(sut->getTotal(), expected);
  }
}

TEST(TypedCall, EchoPerson_NestedStructsAndLists) {
  TesterFixture f;
  ASSERT_FIXTURE(f);
  auto req = f.client.echoPersonRequest();
  auto p = req->initP();
  p.setName("Ada");
  p.setAge(36);
  auto tags = p.initTags(2);
  tags.set(0, "math");
  tags.set(1, "engines");
  p.initAddress().setStreet("St James's Square");
  p.getAddress().setZip(12345);
  auto friends = p.initFriends(1);
  friends[0].setName("Charles");

  auto sut = req.send();

  auto r = sut->getP();
  EXPECT_EQ(std::string(r.getName().cStr()), "Ada");
  EXPECT_EQ(r.getAge(), 36u);
  ASSERT_EQ(r.getTags().size(), 2u);
  EXPECT_EQ(std::string(r.getTags()[1].cStr()), "engines");
  EXPECT_EQ(std::string(r.getAddress().getStreet().cStr()), "St James's Square");
  EXPECT_EQ(r.getAddress().getZip(), 12345u);
  ASSERT_EQ(r.getFriends().size(), 1u);
  EXPECT_EQ(std::string(r.getFriends()[0].getName().cStr()), "Charles");
}

// Many small objects: the request outgrows the scratch and the shared-memory block, so it has
// several segments and is sent through the copying path.
TEST(TypedCall, JoinTexts_ManySegments) {
  TesterFixture f;
  ASSERT_FIXTURE(f);
  const unsigned n = 3000;
  auto req = f.client.joinTextsRequest();
  auto texts = req->initTexts(n);
  std::string expected;
  for (unsigned i = 0; i < n; ++i) {
    std::string t = pattern(100 + i % 50, i);
    for (char& c : t) c = static_cast<char>('a' + static_cast<unsigned char>(c) % 26);
    texts.set(i, t);
    expected += t;
  }

  auto sut = req.send();

  EXPECT_EQ(sut->getCount(), n);
  EXPECT_TRUE(std::string_view(sut->getJoined().cStr()) == expected);
}

TEST(TypedCall, HandlerThrowsError_ClientGetsCodeAndMessage) {
  TesterFixture f;
  ASSERT_FIXTURE(f);

  try {
    f.client.fail(static_cast<uint16_t>(Code::kInvalidArgument), "division by zero");
    FAIL() << "no error";
  } catch (const Error& sut) {
    EXPECT_EQ(sut.code(), Code::kInvalidArgument);
    EXPECT_EQ(sut.message(), "division by zero");
    EXPECT_TRUE(sut.remote());
    EXPECT_EQ(sut.sys_errno(), 0);
    EXPECT_STREQ(sut.what(), "INVALID_ARGUMENT: division by zero");
  }
}

TEST(TypedCall, HandlerThrowsErrorWithHugeMessage_TruncatedTo4KiB) {
  TesterFixture f;
  ASSERT_FIXTURE(f);
  std::string message(10000, 'm');

  try {
    f.client.fail(static_cast<uint16_t>(Code::kAborted), message);
    FAIL() << "no error";
  } catch (const Error& sut) {
    EXPECT_EQ(sut.code(), Code::kAborted);
    EXPECT_EQ(sut.message(), std::string(4096, 'm'));
  }
}

TEST(TypedCall, HandlerThrowsStdException_Internal) {
  TesterFixture f;
  ASSERT_FIXTURE(f);

  try {
    f.client.failStd("out of cheese");
    FAIL() << "no error";
  } catch (const Error& sut) {
    EXPECT_EQ(sut.code(), Code::kInternal);
    EXPECT_EQ(sut.message(), "out of cheese");
    EXPECT_TRUE(sut.remote());
  }
  EXPECT_EQ(f.client.add(1, 1)->getSum(), 2) << "the server keeps serving";
}

TEST(TypedCall, MethodNotOverridden_Unimplemented) {
  TesterFixture f;
  ASSERT_FIXTURE(f);

  try {
    f.client.notImplemented();
    FAIL() << "no error";
  } catch (const Error& sut) {
    EXPECT_EQ(sut.code(), Code::kUnimplemented);
    EXPECT_EQ(sut.message(), "Tester.notImplemented: this server does not provide the method");
  }
}

TEST(TypedCall, Caller_IsThisProcess) {
  TesterFixture f;
  ASSERT_FIXTURE(f);

  auto sut = f.client.caller();

  EXPECT_EQ(sut->getPid(), ::getpid());
  EXPECT_EQ(sut->getUid(), ::getuid());
  EXPECT_EQ(sut->getEuid(), ::geteuid());
  EXPECT_EQ(sut->getGid(), ::getgid());
  EXPECT_EQ(sut->getEgid(), ::getegid());
}

// The first reply is in place; the second call copies it out first, so it stays valid.
TEST(TypedCall, ReplyKeptAcrossLaterCalls_StaysValid) {
  TesterFixture f;
  ASSERT_FIXTURE(f);
  auto first = f.client.add(1, 2);
  EXPECT_TRUE(first.in_place());
  auto big = f.client.makeData(1 << 20, 9);
  EXPECT_FALSE(first.in_place()) << "the second call detaches the first reply";

  auto third = f.client.add(3, 4);

  EXPECT_EQ(first->getSum(), 3);
  EXPECT_TRUE(is_pattern(view_of(big->getD()), 9));
  EXPECT_EQ(third->getSum(), 7);
  EXPECT_TRUE(third.in_place());
}

TEST(TypedCall, ReplyDetachedAndMovedToAnotherThread_Readable) {
  TesterFixture f;
  ASSERT_FIXTURE(f);
  auto reply = f.client.echoText("across threads");
  reply.detach();

  Async<std::string> other([r = std::make_shared<doors::Reply<rt::Tester::EchoTextResults>>(
                                std::move(reply))] { return std::string((*r)->getT().cStr()); });

  ASSERT_TRUE(other.wait(Deadline::standard()));
  EXPECT_EQ(other.result(), "across threads");
}

TEST(TypedCall, TwoRequestsBuiltAtOnce_BothCorrect) {
  TesterFixture f;
  ASSERT_FIXTURE(f);
  auto first = f.client.addRequest();
  auto second = f.client.echoDataRequest();
  first->setA(40);
  std::string data = pattern(200000, 5);  // the second one on the heap, large
  second->setD(bytes_of(data));
  first->setB(2);

  auto second_reply = second.send();
  auto first_reply = first.send();

  EXPECT_EQ(first_reply->getSum(), 42);
  EXPECT_EQ(second_reply->getDigest(), digest(data.data(), data.size()));
}

TEST(TypedCall, LargeRequestHoldsAreaAndAnotherLargeOneSent_FailsCleanly) {
  TesterFixture f;
  ASSERT_FIXTURE(f);
  std::string data = pattern(300000, 1);
  auto first = f.client.echoDataRequest();
  first->setD(bytes_of(data));  // the scratch request: holds a shared-memory block
  auto second = f.client.echoDataRequest();
  second->setD(bytes_of(data));

  try {
    second.send();
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kFailedPrecondition);
  }
  auto sut = first.send();

  EXPECT_EQ(sut->getDigest(), digest(data.data(), data.size()));
}

TEST(TypedCall, RequestSentTwice_FailedPrecondition) {
  TesterFixture f;
  ASSERT_FIXTURE(f);
  auto req = f.client.nullRequest();
  req.send();

  try {
    req.send();
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kFailedPrecondition);
  }
}

TEST(TypedCall, ManyThreadsAtOnce_AllCorrect) {
  TesterFixture f;
  ASSERT_FIXTURE(f);
  constexpr int kThreads = 8;
  constexpr int kCalls = 200;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      try {
        for (int i = 0; i < kCalls; ++i) {
          if (f.client.add(t, i)->getSum() != t + i) ++wrong;
          if (i % 20 == 0) {
            std::string data = pattern(100000 + t, i);
            auto r = f.client.echoData(bytes_of(data));
            if (r->getDigest() != digest(data.data(), data.size())) ++wrong;
          }
        }
      } catch (const std::exception& e) {
        ADD_FAILURE() << e.what();
        ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();

  EXPECT_EQ(wrong.load(), 0);
}

TEST(TypedCall, OpenMissingPath_NotFound) {
  TempDir dir;
  try {
    rt::TesterDoor::Client::open(dir.file("missing"));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kNotFound);
    EXPECT_EQ(e.sys_errno(), ENOENT);
    EXPECT_FALSE(e.remote());
  }
}

TEST(TypedCall, OpenPlainFile_FailedPrecondition) {
  TempDir dir;
  std::string path = dir.make_file("plain");
  try {
    rt::TesterDoor::Client::open(path);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kFailedPrecondition);
  }
}

TEST(TypedCall, ServerGone_Unavailable) {
  TesterFixture f;
  ASSERT_FIXTURE(f);
  f.client.null();
  f.server->kill_and_reap(SIGKILL);

  try {
    f.client.null();
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kUnavailable);
    EXPECT_FALSE(e.remote());
  }
}

}  // namespace
}  // namespace doors::test
