// The key-value store example end to end: the real kv_server binary, called through the
// generated KvStoreDoor::Client; 64 MiB values, a blocking call, a deadline and a stop signal
// while a call is in progress.
#include <doors/runtime.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "async.h"
#include "call_error.h"
#include "door_support.h"
#include "example_process.h"
#include "kv_store.door.h"
#include "temp_dir.h"

namespace doors::test {
namespace {

using namespace std::chrono_literals;

constexpr size_t k64MiB = size_t{64} << 20;

kj::ArrayPtr<const kj::byte> bytes(const std::string& s) {
  return kj::arrayPtr(reinterpret_cast<const kj::byte*>(s.data()), s.size());
}

std::string as_string(capnp::Data::Reader d) {
  return std::string(reinterpret_cast<const char*>(d.begin()), d.size());
}

// What a call made on another thread came to.
struct CallResult {
  bool ok = false;
  Code code = Code::kOk;
  bool remote = false;
  std::string message;
  std::string value;
};

CallResult wait_for_call(kv::KvStoreDoor::Client client, std::string key, uint32_t wait_ms,
                         CallOptions options = {}) {
  CallResult r;
  try {
    auto reply = client.waitFor(kj::StringPtr(key.c_str(), key.size()), wait_ms, options);
    r.ok = true;
    r.value = as_string(reply->getValue());
  } catch (const Error& e) {
    r.code = e.code();
    r.remote = e.remote();
    r.message = e.message();
  }
  return r;
}

class KvStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ExampleServer>(Binaries::kv_server(), path_);
    ASSERT_TRUE(server_->ready());
    sut_ = kv::KvStoreDoor::Client::open(path_);
  }
  void TearDown() override {
    sut_ = {};
    if (server_ && server_->ready()) server_->stop();
  }

  TempDir dir_;
  std::string path_ = dir_.file("kv");
  std::unique_ptr<ExampleServer> server_;
  kv::KvStoreDoor::Client sut_;
};

TEST_F(KvStoreTest, PutThenGet_ReturnsTheValue) {
  sut_.put("k", bytes("v1"));
  EXPECT_EQ(as_string(sut_.get("k")->getValue()), "v1");
  sut_.put("k", bytes("v2"));
  EXPECT_EQ(as_string(sut_.get("k")->getValue()), "v2");
}

TEST_F(KvStoreTest, EmptyValue_RoundTrips) {
  sut_.put("empty", bytes(""));
  EXPECT_EQ(as_string(sut_.get("empty")->getValue()), "");
}

TEST_F(KvStoreTest, GetOfMissingKey_FailsWithNotFound) {
  auto e = error_of([&] { sut_.get("missing"); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), Code::kNotFound);
  EXPECT_EQ(e->message(), "no value for 'missing'");
}

TEST_F(KvStoreTest, Delete_RemovesTheKey) {
  sut_.put("k", bytes("v"));
  sut_.delete_("k");
  auto e = error_of([&] { sut_.get("k"); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), Code::kNotFound);
}

TEST_F(KvStoreTest, DeleteOfMissingKey_FailsWithNotFound) {
  auto e = error_of([&] { sut_.delete_("missing"); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), Code::kNotFound);
}

TEST_F(KvStoreTest, List_ReturnsTheKeysWithThePrefixInOrder) {
  for (const char* k : {"b/2", "a", "b/1", "c", "b/10"}) sut_.put(k, bytes("x"));
  auto reply = sut_.list("b/");
  std::vector<std::string> keys;
  for (auto k : reply->getKeys()) keys.emplace_back(k.cStr());
  EXPECT_EQ(keys, (std::vector<std::string>{"b/1", "b/10", "b/2"}));
  EXPECT_EQ(sut_.list("")->getKeys().size(), 5u);
  EXPECT_EQ(sut_.list("zzz")->getKeys().size(), 0u);
}

TEST_F(KvStoreTest, BadKeys_FailWithInvalidArgument) {
  std::string too_long(1025, 'k');
  for (const std::string& key : {std::string(), too_long}) {
    auto e = error_of([&] { sut_.put(kj::StringPtr(key.c_str(), key.size()), bytes("v")); });
    ASSERT_TRUE(e) << key.size();
    EXPECT_EQ(e->code(), Code::kInvalidArgument);
  }
  std::string longest(1024, 'k');
  sut_.put(kj::StringPtr(longest.c_str(), longest.size()), bytes("v"));
}

TEST_F(KvStoreTest, Value64MiB_RoundTripsIntact) {
  constexpr uint64_t kSeed = 0x64;
  uint64_t sent_digest;
  {
    auto req = sut_.putRequest();
    req->setKey("big");
    auto value = req->initValue(static_cast<unsigned>(k64MiB));
    fill_pattern(reinterpret_cast<char*>(value.begin()), value.size(), kSeed);
    sent_digest = digest(value.begin(), value.size());
    req.send();
  }
  auto reply = sut_.get("big");
  auto got = reply->getValue();
  ASSERT_EQ(got.size(), k64MiB);
  EXPECT_EQ(digest(got.begin(), got.size()), sent_digest);
  EXPECT_TRUE(
      is_pattern(std::string_view(reinterpret_cast<const char*>(got.begin()), got.size()), kSeed));
}

TEST_F(KvStoreTest, ValueOverTheLimit_FailsWithResourceExhausted) {
  // Just over 64 MiB: within the method's argument limit, refused by the handler.
  {
    auto req = sut_.putRequest();
    req->setKey("big");
    req->initValue(static_cast<unsigned>(k64MiB + 1));
    auto e = error_of([&] { req.send(); });
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), Code::kResourceExhausted);
  }
  // Over the method's $Door.maxArgBytes: refused before any handler runs.
  {
    auto req = sut_.putRequest();
    req->setKey("big");
    req->initValue(static_cast<unsigned>(k64MiB + (1 << 20)));
    auto e = error_of([&] { req.send(); });
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code(), Code::kResourceExhausted);
  }
  EXPECT_EQ(error_of([&] { sut_.get("big"); })->code(), Code::kNotFound);
}

TEST_F(KvStoreTest, WaitFor_KeyAlreadyThere_ReturnsAtOnce) {
  sut_.put("k", bytes("v"));
  EXPECT_EQ(as_string(sut_.waitFor("k", 10'000)->getValue()), "v");
}

TEST_F(KvStoreTest, WaitFor_KeyPutWhileWaiting_ReturnsTheValue) {
  Async<CallResult> waiter([client = sut_] { return wait_for_call(client, "later", 10'000); });
  ASSERT_TRUE(server_->process().wait_for_stderr("waits for 'later'"));
  sut_.put("later", bytes("here"));
  ASSERT_TRUE(waiter.wait(Deadline::standard()));
  EXPECT_TRUE(waiter.result().ok) << waiter.result().message;
  EXPECT_EQ(waiter.result().value, "here");
}

TEST_F(KvStoreTest, WaitFor_NothingComes_FailsWithDeadlineExceededFromTheServer) {
  auto e = error_of([&] { sut_.waitFor("never", 50); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), Code::kDeadlineExceeded);
  EXPECT_TRUE(e->remote());
  EXPECT_EQ(e->message(), "no value for 'never' within 50 ms");
}

// The call's own deadline passes while the handler waits: the client gets DEADLINE_EXCEEDED at
// once (locally), the server thread is cancelled, and the server carries on. (The name ends in
// ServerThreadIsCancelled so that the sanitizer stages of CI, whose runtimes do not survive a
// cancelled thread, skip it as they skip libdoors' own cancellation test.)
TEST_F(KvStoreTest, WaitForPastTheCallDeadline_ServerThreadIsCancelled) {
  auto start = std::chrono::steady_clock::now();
  auto e = error_of([&] { sut_.waitFor("never", 10'000, {.timeout = 200ms}); });
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), Code::kDeadlineExceeded);
  EXPECT_FALSE(e->remote());
  EXPECT_LT(took, 5s);
  // The server is healthy, and a waiter that is not cancelled still gets its value.
  Async<CallResult> waiter([client = sut_] { return wait_for_call(client, "later", 10'000); });
  ASSERT_TRUE(server_->process().wait_for_stderr("waits for 'later'"));
  sut_.put("later", bytes("v"));
  ASSERT_TRUE(waiter.wait(Deadline::standard()));
  EXPECT_TRUE(waiter.result().ok) << waiter.result().message;
  EXPECT_EQ(as_string(sut_.get("later")->getValue()), "v");
}

// SIGTERM while a call is in progress: ServerMain runs the server's on_stop (which wakes the
// waiter with UNAVAILABLE), lets the call finish, and the server exits 0 with its path removed.
TEST_F(KvStoreTest, SigtermWhileACallWaits_CallFailsClearlyAndServerExitsZero) {
  Async<CallResult> waiter([client = sut_] { return wait_for_call(client, "pending", 10'000); });
  ASSERT_TRUE(server_->process().wait_for_stderr("waits for 'pending'"));
  server_->skip_leak_check("stopped while a call is in progress, which is what the test checks");
  auto start = std::chrono::steady_clock::now();
  server_->stop();  // SIGTERM; checks exit status 0 and that the path is gone
  ASSERT_TRUE(waiter.wait(Deadline::standard()));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  const CallResult& r = waiter.result();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.code, Code::kUnavailable) << r.message;
  EXPECT_TRUE(r.remote) << "the reply of the call in progress was lost: " << r.message;
  EXPECT_EQ(r.message, "the server is stopping");
  // New calls fail clearly too.
  auto e = error_of([&] { sut_.get("k"); });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code(), Code::kUnavailable);
}

TEST_F(KvStoreTest, ManyThreadsAtOnce_AllServed) {
  constexpr int kThreads = 8;
  std::vector<std::unique_ptr<Async<CallResult>>> calls;
  for (int t = 0; t < kThreads; ++t) {
    calls.push_back(std::make_unique<Async<CallResult>>([client = sut_, t] {
      CallResult r;
      try {
        for (int i = 0; i < 50; ++i) {
          std::string key = "t" + std::to_string(t) + "/" + std::to_string(i);
          std::string value = key + "=" + std::to_string(i * t);
          client.put(kj::StringPtr(key.c_str(), key.size()),
                     kj::arrayPtr(reinterpret_cast<const kj::byte*>(value.data()), value.size()));
          auto got = client.get(kj::StringPtr(key.c_str(), key.size()));
          if (as_string(got->getValue()) != value) {
            r.message = "wrong value for " + key;
            return r;
          }
        }
        r.ok = true;
      } catch (const Error& e) {
        r.code = e.code();
        r.message = e.what();
      }
      return r;
    }));
  }
  for (auto& c : calls) {
    ASSERT_TRUE(c->wait(Deadline::standard()));
    EXPECT_TRUE(c->result().ok) << c->result().message;
  }
  EXPECT_EQ(sut_.list("t")->getKeys().size(), size_t{kThreads} * 50);
}

}  // namespace
}  // namespace doors::test
