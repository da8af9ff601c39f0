// The introspection interface every door of the runtime answers (describe, health, stats), over a
// real door served in this process. The figures are process-wide and only grow: the tests compare
// them before and after what they do, for the interface they look at, so that they also pass when
// the whole binary runs in one process.
#include <capnp/message.h>
#include <capnp/schema-loader.h>
#include <capnp/serialize.h>
#include <door.h>
#include <doors/ext.h>
#include <doors/runtime.h>
#include <doors/runtime/introspection.h>
#include <doors/runtime/schema_text.h>
#include <errno.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "door_support.h"
#include "served_tester.h"

namespace doors::test {
namespace {

using introspection::ServingStatus;

// One method's figures, copied out of a stats() reply.
struct MethodFigures {
  uint64_t calls = 0;
  uint64_t errors = 0;
  uint32_t in_flight = 0;
  uint64_t p50 = 0, p90 = 0, p99 = 0, max = 0, mean = 0;
};

// One interface's figures; found == false when stats() did not list it.
struct InterfaceFigures {
  bool found = false;
  std::string name;
  uint64_t rejected = 0;
  std::map<std::string, MethodFigures> methods;
  std::vector<uint16_t> ordinals;  // in list order
};

InterfaceFigures figures(const IntrospectionClient& client, uint64_t interface_id) {
  auto reply = client.stats();
  InterfaceFigures out;
  for (auto i : reply->getStats().getInterfaces()) {
    if (i.getId() != interface_id) continue;
    out.found = true;
    out.name = i.getName();
    out.rejected = i.getRejected();
    for (auto m : i.getMethods()) {
      MethodFigures f;
      f.calls = m.getCalls();
      f.errors = m.getErrors();
      f.in_flight = m.getInFlight();
      auto l = m.getLatency();
      f.p50 = l.getP50Ns();
      f.p90 = l.getP90Ns();
      f.p99 = l.getP99Ns();
      f.max = l.getMaxNs();
      f.mean = l.getMeanNs();
      out.methods[m.getName()] = f;
      out.ordinals.push_back(m.getOrdinal());
    }
  }
  return out;
}

InterfaceFigures tester_figures(const ServedTester& s) {
  return figures(s.introspection, rt::TesterDoor::kInterfaceId);
}

InterfaceFigures introspection_figures(const ServedTester& s) {
  return figures(s.introspection, kIntrospectionId);
}

// Raw typed messages (runtime/README.md "The wire format of a typed call"), for requests no
// generated client would send.
std::string header(uint16_t kind, uint16_t code, uint64_t interface,
                   uint32_t magic = wire::kMagic) {
  wire::Header h{magic, kind, code, interface};
  return std::string(reinterpret_cast<const char*>(&h), sizeof h);
}

std::string request(uint16_t ordinal, uint64_t interface = rt::TesterDoor::kInterfaceId) {
  return header(static_cast<uint16_t>(wire::Kind::kRequest), ordinal, interface);
}

// A one-segment message of `words` zero words after a null root... (the root pointer is word 0).
std::string zero_message(uint32_t words) {
  std::string s;
  uint32_t table[2] = {0, words};
  s.append(reinterpret_cast<const char*>(table), sizeof table);
  s.append(size_t{words} * 8, '\0');
  return s;
}

// Sends `bytes` with door_call and returns the code of the error reply (kOk for a reply).
Code raw_call(int fd, const std::string& bytes) {
  CallOutcome out = call_door(fd, bytes);
  for (auto& d : out.descs) ::close(d.d_data.d_desc.d_descriptor);
  if (out.rc != 0) {
    ADD_FAILURE() << "door_call: " << std::strerror(out.err);
    return Code::kUnknown;
  }
  if (out.data.size() < sizeof(wire::Header)) {
    ADD_FAILURE() << "short reply";
    return Code::kUnknown;
  }
  wire::Header h;
  std::memcpy(&h, out.data.data(), sizeof h);
  return h.kind == static_cast<uint16_t>(wire::Kind::kError) ? static_cast<Code>(h.code)
                                                             : Code::kOk;
}

// Restores the process-wide facts a test changes.
struct ProcessFactsGuard {
  ~ProcessFactsGuard() {
    set_serving_status(ServingStatus::SERVING);
    set_server_identity(program_invocation_short_name, "");
    set_pool_bounds(0, 0);
  }
};

// ---------------------------------------------------------------------------------------------
// describe

TEST(IntrospectionDescribe, Nodes_LoadIntoAFreshSchemaLoader) {
  ServedTester s;

  auto sut = s.introspection.describe();

  capnp::SchemaLoader loader;
  auto d = sut->getDescription();
  ASSERT_GT(d.getNodes().size(), 0u);
  for (auto node : d.getNodes()) EXPECT_NO_THROW(loader.load(node)) << node.getDisplayName().cStr();
  EXPECT_EQ(d.getNodes()[0].getId(), rt::TesterDoor::kInterfaceId) << "the interface comes first";
  capnp::Schema root = loader.get(d.getInterfaceId());
  ASSERT_TRUE(root.getProto().isInterface());
  auto add = root.asInterface().getMethodByName("add");
  EXPECT_TRUE(add.getParamType().getFieldByName("a").getType().isInt64());
  EXPECT_TRUE(add.getResultType().getFieldByName("sum").getType().isInt64());
}

TEST(IntrospectionDescribe, Nodes_AreTheInterfacesClosure) {
  ServedTester s;
  std::set<uint64_t> expected;
  for (capnp::Schema n : schema_closure(capnp::Schema::from<rt::Tester>())) {
    expected.insert(n.getProto().getId());
  }

  auto sut = s.introspection.describe();

  std::set<uint64_t> got;
  for (auto node : sut->getDescription().getNodes()) got.insert(node.getId());
  EXPECT_EQ(got, expected);
}

TEST(IntrospectionDescribe, Tester_NameIdPathAndAttributes) {
  ServedTester s;

  auto sut = s.introspection.describe();

  auto d = sut->getDescription();
  EXPECT_EQ(std::string(d.getInterfaceName().cStr()), "Tester");
  EXPECT_EQ(d.getInterfaceId(), rt::TesterDoor::kInterfaceId);
  EXPECT_EQ(std::string(d.getDefaultPath().cStr()), "runtime-tester");
  EXPECT_EQ(d.getDoorAttributes(), 0u);
}

class PlainSession final : public rt::SessionDoor::Server {};

TEST(IntrospectionDescribe, SessionWithoutPath_EmptyPathAndUnrefAttribute) {
  Service service(std::make_shared<PlainSession>());
  TempDir dir;
  service.attach(dir.file("session"));
  IntrospectionClient client(DoorHandle::open(dir.file("session")));

  auto sut = client.describe();

  auto d = sut->getDescription();
  EXPECT_EQ(std::string(d.getInterfaceName().cStr()), "Session");
  EXPECT_EQ(d.getInterfaceId(), rt::SessionDoor::kInterfaceId);
  EXPECT_FALSE(d.hasDefaultPath() && d.getDefaultPath().size() > 0);
  EXPECT_EQ(d.getDoorAttributes(), uint32_t{DOOR_UNREF});
}

// A server whose InterfaceInfo has no schema (hand-written, not generated): it cannot describe
// itself, and a client asking must not bring it down.
const MethodInfo kBareMethods[] = {{.name = "m", .ordinal = 0, .limits = {}}};
const InterfaceInfo kBareInfo = {.name = "Bare",
                                 .id = 0xb0b0b0b0b0b0b0b0ull,
                                 .default_path = nullptr,
                                 .door_attributes = 0,
                                 .methods = kBareMethods,
                                 .method_count = 1,
                                 .schema = nullptr};

class BareServer final : public ServerBase {
 public:
  const InterfaceInfo& interface_info() const override { return kBareInfo; }

 protected:
  void dispatch(IncomingCall& call) override { call.unimplemented(); }
};

TEST(IntrospectionDescribe, InterfaceWithoutSchema_UnimplementedAndStillServing) {
  Service service(std::make_shared<BareServer>());
  TempDir dir;
  service.attach(dir.file("bare"));
  IntrospectionClient sut(DoorHandle::open(dir.file("bare")));

  Code code = Code::kOk;
  try {
    sut.describe();
  } catch (const Error& e) {
    code = e.code();
  }

  EXPECT_EQ(code, Code::kUnimplemented);
  EXPECT_EQ(std::string(sut.health()->getHealth().getInterfaceName().cStr()), "Bare");
}

// ---------------------------------------------------------------------------------------------
// health

TEST(IntrospectionHealth, Default_ServingWithPidNameAndVersion) {
  ServedTester s;

  auto sut = s.introspection.health();

  auto h = sut->getHealth();
  EXPECT_EQ(h.getStatus(), ServingStatus::SERVING);
  EXPECT_EQ(h.getPid(), static_cast<uint32_t>(::getpid()));
  EXPECT_EQ(std::string(h.getInterfaceName().cStr()), "Tester");
  EXPECT_EQ(std::string(h.getRuntimeVersion().cStr()), runtime_version());
  EXPECT_GT(std::strlen(runtime_version()), 0u);
  EXPECT_GT(h.getUptimeNs(), 0u);
}

TEST(IntrospectionHealth, ServerIdentitySet_Reported) {
  ProcessFactsGuard restore;
  ServedTester s;
  set_server_identity("tester_server", "9.8.7");

  auto sut = s.introspection.health();

  EXPECT_EQ(std::string(sut->getHealth().getProgram().cStr()), "tester_server");
  EXPECT_EQ(std::string(sut->getHealth().getVersion().cStr()), "9.8.7");
}

TEST(IntrospectionHealth, Draining_Reported) {
  ProcessFactsGuard restore;
  ServedTester s;
  set_serving_status(ServingStatus::DRAINING);

  auto sut = s.introspection.health();

  EXPECT_EQ(sut->getHealth().getStatus(), ServingStatus::DRAINING);
  EXPECT_EQ(serving_status(), ServingStatus::DRAINING);
}

// ---------------------------------------------------------------------------------------------
// stats

TEST(IntrospectionStats, ServedInterface_ListedWithEveryMethodByOrdinal) {
  ServedTester s;
  s.client.null();

  InterfaceFigures sut = tester_figures(s);

  ASSERT_TRUE(sut.found);
  EXPECT_EQ(sut.name, "Tester");
  ASSERT_EQ(sut.ordinals.size(), rt::TesterDoor::kInfo.method_count);
  for (size_t i = 0; i < sut.ordinals.size(); ++i) EXPECT_EQ(sut.ordinals[i], i);
  EXPECT_EQ(sut.methods.count("add"), 1u);
  EXPECT_EQ(sut.methods.count("caller"), 1u);
}

TEST(IntrospectionStats, MethodCalledNTimes_NCallsNoErrors) {
  ServedTester s;
  MethodFigures before = tester_figures(s).methods["add"];

  for (int i = 0; i < 7; ++i) s.client.add(i, 1);

  MethodFigures sut = tester_figures(s).methods["add"];
  EXPECT_EQ(sut.calls - before.calls, 7u);
  EXPECT_EQ(sut.errors - before.errors, 0u);
  EXPECT_EQ(sut.in_flight, 0u);
}

TEST(IntrospectionStats, HandlerThrows_CountedAsCallWithError) {
  ServedTester s;
  MethodFigures before = tester_figures(s).methods["fail"];

  EXPECT_THROW(s.client.fail(static_cast<uint16_t>(Code::kNotFound), "gone"), Error);

  MethodFigures sut = tester_figures(s).methods["fail"];
  EXPECT_EQ(sut.calls - before.calls, 1u);
  EXPECT_EQ(sut.errors - before.errors, 1u);
}

TEST(IntrospectionStats, UnimplementedMethod_AnErrorNotARejection) {
  ServedTester s;
  InterfaceFigures before = tester_figures(s);

  EXPECT_THROW(s.client.notImplemented(), Error);

  InterfaceFigures sut = tester_figures(s);
  EXPECT_EQ(sut.methods["notImplemented"].calls - before.methods["notImplemented"].calls, 1u);
  EXPECT_EQ(sut.methods["notImplemented"].errors - before.methods["notImplemented"].errors, 1u);
  EXPECT_EQ(sut.rejected, before.rejected);
}

TEST(IntrospectionStats, CallInProgress_InFlightOne) {
  ServedTester s;
  MethodFigures before = tester_figures(s).methods["block"];
  std::thread caller([&] { s.client.block(0); });
  ASSERT_TRUE(s.impl->entered.wait(Deadline::standard()));

  MethodFigures during = tester_figures(s).methods["block"];
  s.impl->release.signal();
  caller.join();
  MethodFigures after = tester_figures(s).methods["block"];

  EXPECT_EQ(during.in_flight, 1u);
  EXPECT_EQ(during.calls, before.calls) << "a call in progress is not answered yet";
  EXPECT_EQ(after.in_flight, 0u);
  EXPECT_EQ(after.calls - before.calls, 1u);
}

// Named ...ServerThreadIsCancelled: the sanitizer stages of .ci/run skip it (the caller giving up
// cancels the handler's thread; ASan's runtime does not survive that forced unwind).
TEST(IntrospectionStats, CallerGivesUp_CountedAsErrorAndNoLongerInFlight_ServerThreadIsCancelled) {
  ServedTester s;
  MethodFigures before = tester_figures(s).methods["slowDefault"];

  Code code = Code::kOk;
  try {
    s.client.slowDefault(0, {.timeout = std::chrono::milliseconds(20)});
  } catch (const Error& e) {
    code = e.code();
  }

  // The handler's thread is cancelled and unwinds on its own: nothing signals the moment the
  // runtime has recorded the call, so look (bounded) until it has.
  Deadline deadline = Deadline::standard();
  MethodFigures sut;
  do {
    sut = tester_figures(s).methods["slowDefault"];
  } while ((sut.calls == before.calls || sut.in_flight != 0) && !deadline.expired());
  EXPECT_EQ(code, Code::kDeadlineExceeded);
  EXPECT_EQ(sut.calls - before.calls, 1u);
  EXPECT_EQ(sut.errors - before.errors, 1u);
  EXPECT_EQ(sut.in_flight, 0u);
}

TEST(IntrospectionStats, AfterCalls_LatencyFiguresOrdered) {
  ServedTester s;
  for (int i = 0; i < 50; ++i) s.client.echoText("latency");

  MethodFigures sut = tester_figures(s).methods["echoText"];

  EXPECT_GE(sut.calls, 50u);
  EXPECT_GT(sut.max, 0u);
  EXPECT_LE(sut.p50, sut.p90);
  EXPECT_LE(sut.p90, sut.p99);
  EXPECT_LE(sut.p99, sut.max);
  EXPECT_GT(sut.mean, 0u);
  EXPECT_LE(sut.mean, sut.max);
}

TEST(IntrospectionStats, MalformedRequest_CountedAsRejected) {
  ServedTester s;
  InterfaceFigures before = tester_figures(s);

  Code code = raw_call(s.client.fd(),
                       header(1, 0, rt::TesterDoor::kInterfaceId, 0x12345678) + zero_message(1));

  InterfaceFigures sut = tester_figures(s);
  EXPECT_EQ(code, Code::kInvalidArgument);
  EXPECT_EQ(sut.rejected - before.rejected, 1u);
  EXPECT_EQ(sut.methods["null"].calls, before.methods["null"].calls);
}

TEST(IntrospectionStats, UnknownMethod_CountedAsRejected) {
  ServedTester s;
  InterfaceFigures before = tester_figures(s);

  Code code = raw_call(s.client.fd(), request(999) + zero_message(1));

  EXPECT_EQ(code, Code::kUnimplemented);
  EXPECT_EQ(tester_figures(s).rejected - before.rejected, 1u);
}

TEST(IntrospectionStats, BadFraming_CountedAsRejected) {
  ServedTester s;
  InterfaceFigures before = tester_figures(s);

  Code code = raw_call(s.client.fd(), request(0) + zero_message(1) + std::string(8, '\0'));

  InterfaceFigures sut = tester_figures(s);
  EXPECT_EQ(code, Code::kInvalidArgument);
  EXPECT_EQ(sut.rejected - before.rejected, 1u);
  EXPECT_EQ(sut.methods["null"].calls, before.methods["null"].calls);
  EXPECT_EQ(sut.methods["null"].in_flight, 0u);
}

TEST(IntrospectionStats, OverMethodLimit_CountedAsRejected) {
  ServedTester s;
  InterfaceFigures before = tester_figures(s);

  // limited @18 takes at most 1024 bytes of arguments.
  Code code = raw_call(s.client.fd(), request(18) + zero_message(256));

  InterfaceFigures sut = tester_figures(s);
  EXPECT_EQ(code, Code::kResourceExhausted);
  EXPECT_EQ(sut.rejected - before.rejected, 1u);
  EXPECT_EQ(sut.methods["limited"].calls, before.methods["limited"].calls);
}

TEST(IntrospectionStats, UnknownIntrospectionMethod_RejectedForIntrospectionNotTheDoor) {
  ServedTester s;
  uint64_t tester_before = tester_figures(s).rejected;
  uint64_t introspection_before = introspection_figures(s).rejected;

  Code code = raw_call(s.client.fd(), request(99, kIntrospectionId) + zero_message(1));

  EXPECT_EQ(code, Code::kUnimplemented);
  EXPECT_EQ(introspection_figures(s).rejected - introspection_before, 1u);
  EXPECT_EQ(tester_figures(s).rejected, tester_before);
}

TEST(IntrospectionStats, PoolBoundsSet_Reported) {
  ProcessFactsGuard restore;
  ServedTester s;
  set_pool_bounds(3, 17);

  auto sut = s.introspection.stats();

  EXPECT_EQ(sut->getStats().getPool().getMinThreads(), 3u);
  EXPECT_EQ(sut->getStats().getPool().getMaxThreads(), 17u);
}

TEST(IntrospectionStats, Draining_Reported) {
  ProcessFactsGuard restore;
  ServedTester s;
  set_serving_status(ServingStatus::DRAINING);

  auto sut = s.introspection.stats();

  EXPECT_EQ(sut->getStats().getStatus(), ServingStatus::DRAINING);
}

TEST(IntrospectionStats, ProcessFigures_PidDoorsAndTheServingThread) {
  ServedTester s;

  auto sut = s.introspection.stats();

  auto st = sut->getStats();
  EXPECT_EQ(st.getPid(), static_cast<uint32_t>(::getpid()));
  EXPECT_GE(st.getDoors(), 1u);
  EXPECT_GE(st.getAttachments(), 1u);
  EXPECT_GE(st.getPool().getThreads(), 1u);
  EXPECT_GE(st.getPool().getBusyThreads(), 1u) << "the thread answering stats is busy";
  EXPECT_EQ(st.getPool().getThreads(),
            st.getPool().getIdleThreads() + st.getPool().getBusyThreads());
}

// ---------------------------------------------------------------------------------------------
// The introspection interface beside the served one

TEST(IntrospectionDispatch, IntrospectionRequest_NotTakenForTheServedMethod) {
  ServedTester s;
  uint64_t null_before = tester_figures(s).methods["null"].calls;
  uint64_t describe_before = introspection_figures(s).methods["describe"].calls;

  auto sut = s.introspection.describe();  // ordinal 0, like Tester.null

  EXPECT_EQ(std::string(sut->getDescription().getInterfaceName().cStr()), "Tester");
  EXPECT_EQ(tester_figures(s).methods["null"].calls, null_before);
  EXPECT_EQ(introspection_figures(s).methods["describe"].calls - describe_before, 1u);
}

TEST(IntrospectionDispatch, ServedRequest_NotTakenForIntrospection) {
  ServedTester s;
  uint64_t null_before = tester_figures(s).methods["null"].calls;
  uint64_t describe_before = introspection_figures(s).methods["describe"].calls;

  s.client.null();

  EXPECT_EQ(tester_figures(s).methods["null"].calls - null_before, 1u);
  EXPECT_EQ(introspection_figures(s).methods["describe"].calls, describe_before);
}

// A server of the Introspection interface itself: its requests are its own, not the runtime's.
class OwnIntrospection final : public ServerBase {
 public:
  const InterfaceInfo& interface_info() const override { return IntrospectionClient::kInfo; }

 protected:
  void dispatch(IncomingCall& call) override {
    if (call.method() != 1) call.unimplemented();
    call.results<introspection::Introspection::HealthResults>().initHealth().setProgram("own");
  }
};

TEST(IntrospectionDispatch, DoorServingIntrospectionItself_ItsHandlerAnswers) {
  Service service(std::make_shared<OwnIntrospection>());
  TempDir dir;
  service.attach(dir.file("own"));
  IntrospectionClient sut(DoorHandle::open(dir.file("own")));

  auto health = sut.health();

  EXPECT_EQ(std::string(health->getHealth().getProgram().cStr()), "own");
  EXPECT_THROW(sut.describe(), Error);
}

// ---------------------------------------------------------------------------------------------
// Exported doors

TEST(IntrospectionExported, ExportedDoor_DescribeHealthAndStatsAnswer) {
  rt::TesterDoor::Client door(export_door(std::make_unique<GatedTester>()));
  ASSERT_TRUE(door);
  IntrospectionClient sut(door.door());

  auto description = sut.describe();
  EXPECT_EQ(description->getDescription().getInterfaceId(), rt::TesterDoor::kInterfaceId);
  auto health = sut.health();
  EXPECT_EQ(std::string(health->getHealth().getInterfaceName().cStr()), "Tester");
  auto stats = sut.stats();
  EXPECT_GE(stats->getStats().getDoors(), 1u);
}

TEST(IntrospectionExported, ExportedDoorCalls_CountedForTheInterface) {
  rt::TesterDoor::Client door(export_door(std::make_unique<GatedTester>()));
  IntrospectionClient introspection(door.door());
  uint64_t before = figures(introspection, rt::TesterDoor::kInterfaceId).methods["add"].calls;

  door.add(1, 2);
  door.add(3, 4);

  EXPECT_EQ(figures(introspection, rt::TesterDoor::kInterfaceId).methods["add"].calls - before, 2u);
}

// introspection.capnp: doorAttributes is "DOOR_UNREF | ... as the door was created", and
// export_door creates every door with DOOR_UNREF (Tester's annotations have none).
TEST(IntrospectionExported, ExportedDoor_AttributesAsCreated) {
  rt::TesterDoor::Client door(export_door(std::make_unique<GatedTester>()));
  IntrospectionClient sut(door.door());
  door_info_t info{};
  ASSERT_EQ(::door_info(door.fd(), &info), 0);

  auto description = sut.describe();

  uint32_t attributes = description->getDescription().getDoorAttributes();
  EXPECT_TRUE(value_of(info.di_attributes) & DOOR_UNREF);
  EXPECT_EQ(attributes & DOOR_UNREF, uint32_t{DOOR_UNREF});
}

TEST(IntrospectionClientTag, ServedDoor_TaggedWithTheInterfaceId) {
  ServedTester s;
  doors_server_stats_t st{};

  ASSERT_EQ(::doors_server_stats(s.client.fd(), &st), 0) << std::strerror(errno);

  EXPECT_EQ(value_of(st.dss_tag), rt::TesterDoor::kInterfaceId);
}

}  // namespace
}  // namespace doors::test
