// doors::ServerMain's drain, seen from outside: SIGTERM while a call is in progress. The helper
// server (drain_helper_server.cpp) works on a waitFor call for as long as it is asked to and does
// not listen to on_stop, so the drain has to wait for it.
#include <doors/runtime.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "async.h"
#include "example_process.h"
#include "kv_store.door.h"
#include "temp_dir.h"

namespace doors::test {
namespace {

using namespace std::chrono_literals;

struct CallResult {
  bool ok = false;
  Code code = Code::kOk;
  std::string message;
  std::string value;
};

CallResult slow_call(kv::KvStoreDoor::Client client, std::string key, uint32_t work_ms) {
  CallResult r;
  try {
    auto reply = client.waitFor(kj::StringPtr(key.c_str(), key.size()), work_ms);
    r.ok = true;
    auto v = reply->getValue();
    r.value.assign(reinterpret_cast<const char*>(v.begin()), v.size());
  } catch (const Error& e) {
    r.code = e.code();
    r.message = e.what();
  }
  return r;
}

TEST(ServerMainDrain, SigtermWhileACallRuns_TheCallCompletesAndTheServerExitsZero) {
  TempDir dir;
  std::string path = dir.file("door");
  ExampleServer server(DOORS_DRAIN_HELPER_SERVER, path);
  ASSERT_TRUE(server.ready());
  auto client = kv::KvStoreDoor::Client::open(path);
  Async<CallResult> call([client] { return slow_call(client, "k", 300); });
  ASSERT_TRUE(server.process().wait_for_stderr("working 300 ms on 'k'"));
  auto start = std::chrono::steady_clock::now();
  server.stop();  // SIGTERM; exit status 0 and the path gone
  ASSERT_TRUE(call.wait(Deadline::standard()));
  EXPECT_TRUE(call.result().ok) << call.result().message;
  EXPECT_EQ(call.result().value, "k");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST(ServerMainDrain, CallOutlastingTheDrain_IsAbandonedAndTheServerStillExitsZero) {
  TempDir dir;
  std::string path = dir.file("door");
  ExampleServer server(DOORS_DRAIN_HELPER_SERVER, path, {"--drain-timeout", "200ms"});
  ASSERT_TRUE(server.ready());
  auto client = kv::KvStoreDoor::Client::open(path);
  Async<CallResult> call([client] { return slow_call(client, "k", 20'000); });
  ASSERT_TRUE(server.process().wait_for_stderr("working 20000 ms on 'k'"));
  auto start = std::chrono::steady_clock::now();
  server.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_TRUE(server.process().wait_for_stderr("calls still in progress 200 ms after the stop"));
  ASSERT_TRUE(call.wait(Deadline::standard()));
  EXPECT_FALSE(call.result().ok);
  EXPECT_EQ(call.result().code, Code::kUnavailable) << call.result().message;
}

}  // namespace
}  // namespace doors::test
