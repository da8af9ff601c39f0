// Calls from a door's own description: RemoteInterface::describe, DynamicRequest, DynamicReply,
// against a Tester served in this process, and descriptions a broken server might send (a raw
// door procedure answering describe with crafted bytes).
#include <capnp/dynamic.h>
#include <capnp/message.h>
#include <capnp/schema.h>
#include <capnp/serialize.h>
#include <door.h>
#include <doors/ext.h>
#include <doors/runtime.h>
#include <doors/runtime/dynamic.h>
#include <doors/runtime/introspection.h>
#include <doors/runtime/schema_text.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "served_tester.h"

namespace doors::test {
namespace {

using capnp::DynamicList;
using capnp::DynamicStruct;

std::shared_ptr<const RemoteInterface> describe_tester(const ServedTester& s) {
  return RemoteInterface::describe(s.client);
}

// The error code a call throws, or kOk.
template <class F>
Code code_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  return Code::kOk;
}

// ---------------------------------------------------------------------------------------------
// RemoteInterface

TEST(RemoteInterface, Tester_NameIdPathAndAttributes) {
  ServedTester s;

  auto sut = describe_tester(s);

  ASSERT_NE(sut, nullptr);
  EXPECT_EQ(sut->name(), "Tester");
  EXPECT_EQ(sut->id(), rt::TesterDoor::kInterfaceId);
  EXPECT_EQ(sut->default_path(), "runtime-tester");
  EXPECT_EQ(sut->door_attributes(), 0u);
  EXPECT_EQ(sut->schema().getProto().getId(), rt::TesterDoor::kInterfaceId);
}

TEST(RemoteInterface, Tester_MethodsLikeTheGeneratedInfo) {
  ServedTester s;

  auto sut = describe_tester(s);

  const InterfaceInfo& info = sut->info();
  ASSERT_EQ(info.method_count, rt::TesterDoor::kInfo.method_count);
  EXPECT_EQ(info.id, rt::TesterDoor::kInterfaceId);
  EXPECT_STREQ(info.name, "Tester");
  EXPECT_STREQ(info.default_path, "runtime-tester");
  for (size_t i = 0; i < info.method_count; ++i) {
    EXPECT_STREQ(info.methods[i].name, rt::TesterDoor::kInfo.methods[i].name);
    EXPECT_EQ(info.methods[i].ordinal, i);
  }
}

TEST(RemoteInterface, TimeoutAnnotation_InTheMethodLimits) {
  ServedTester s;

  auto sut = describe_tester(s);

  EXPECT_EQ(sut->info().methods[19].limits.timeout_ms, 200u);  // slowDefault $Door.timeoutMs(200)
  EXPECT_EQ(sut->info().methods[1].limits.timeout_ms, 0u);     // add
}

TEST(RemoteInterface, MethodByName_Found) {
  ServedTester s;
  auto remote = describe_tester(s);

  auto sut = remote->method("echoPerson");

  ASSERT_TRUE(sut.has_value());
  EXPECT_EQ(sut->getIndex(), 7u);
  EXPECT_EQ(sut->getContainingInterface(), remote->schema());
}

TEST(RemoteInterface, MethodByName_MissingIsNullopt) {
  ServedTester s;
  auto remote = describe_tester(s);

  EXPECT_FALSE(remote->method("noSuchMethod").has_value());
  EXPECT_FALSE(remote->method("").has_value());
  EXPECT_FALSE(remote->method("Add").has_value());
}

TEST(RemoteInterface, Types_DescribedOnesFoundOthersNot) {
  ServedTester s;
  auto remote = describe_tester(s);
  uint64_t person = capnp::typeId<rt::Person>();

  auto sut = remote->type(person);

  ASSERT_TRUE(sut.has_value());
  EXPECT_EQ(sut->getProto().getDisplayName().size() > 0, true);
  EXPECT_TRUE(sut->getProto().isStruct());
  EXPECT_FALSE(remote->type(0x8000000000001234ull).has_value());
  bool listed = false;
  for (capnp::Schema t : remote->types()) listed |= t.getProto().getId() == person;
  EXPECT_TRUE(listed);
}

TEST(RemoteInterface, Text_PrintsTheInterface) {
  ServedTester s;
  auto remote = describe_tester(s);

  std::string sut = remote->text();

  EXPECT_NE(sut.find("interface Tester"), std::string::npos) << sut;
  EXPECT_NE(sut.find("echoPerson"), std::string::npos) << sut;
}

TEST(RemoteInterface, EmptyClient_Throws) {
  EXPECT_THROW(RemoteInterface::describe(ClientBase()), Error);
}

// ---------------------------------------------------------------------------------------------
// DynamicRequest / DynamicReply on the Tester

TEST(DynamicRequest, ScalarParams_SameResultAsTheGeneratedClient) {
  ServedTester s;
  auto remote = describe_tester(s);
  DynamicRequest sut(s.client, remote, *remote->method("add"));
  sut.params().set("a", int64_t{40});
  sut.params().set("b", int64_t{2});

  DynamicReply reply = sut.send();

  EXPECT_EQ(reply.results().get("sum").as<int64_t>(), 42);
  EXPECT_EQ(reply.results().get("sum").as<int64_t>(), s.client.add(40, 2)->getSum());
}

TEST(DynamicRequest, Reply_SchemaIsTheMethodsResults) {
  ServedTester s;
  auto remote = describe_tester(s);
  auto method = *remote->method("add");
  DynamicRequest sut(s.client, remote, method);

  DynamicReply reply = sut.send();

  EXPECT_EQ(reply.schema(), method.getResultType());
  EXPECT_TRUE(reply.valid());
}

TEST(DynamicRequest, NestedStructsAndLists_SameAsTheGeneratedClient) {
  ServedTester s;
  auto remote = describe_tester(s);
  DynamicRequest sut(s.client, remote, *remote->method("echoPerson"));
  auto p = sut.params().init("p").as<DynamicStruct>();
  p.set("name", "Ada");
  p.set("age", uint32_t{36});
  auto tags = p.init("tags", 2).as<DynamicList>();
  tags.set(0, "math");
  tags.set(1, "engines");
  p.init("address").as<DynamicStruct>().set("zip", uint32_t{12345});
  p.init("friends", 1).as<DynamicList>()[0].as<DynamicStruct>().set("name", "Charles");

  DynamicReply reply = sut.send();
  reply.detach();  // the generated call below is another door operation of this thread
  auto typed = s.client.echoPersonRequest();
  {
    auto tp = typed->initP();
    tp.setName("Ada");
    tp.setAge(36);
    auto tt = tp.initTags(2);
    tt.set(0, "math");
    tt.set(1, "engines");
    tp.initAddress().setZip(12345);
    tp.initFriends(1)[0].setName("Charles");
  }
  auto expected = typed.send();

  auto got = reply.results().get("p").as<DynamicStruct>();
  auto want = expected->getP();
  EXPECT_EQ(got.get("name").as<capnp::Text>(), want.getName());
  EXPECT_EQ(got.get("age").as<uint32_t>(), want.getAge());
  auto got_tags = got.get("tags").as<DynamicList>();
  ASSERT_EQ(got_tags.size(), want.getTags().size());
  for (unsigned i = 0; i < got_tags.size(); ++i) {
    EXPECT_EQ(got_tags[i].as<capnp::Text>(), want.getTags()[i]);
  }
  EXPECT_EQ(got.get("address").as<DynamicStruct>().get("zip").as<uint32_t>(),
            want.getAddress().getZip());
  auto got_friends = got.get("friends").as<DynamicList>();
  ASSERT_EQ(got_friends.size(), 1u);
  EXPECT_EQ(got_friends[0].as<DynamicStruct>().get("name").as<capnp::Text>(),
            want.getFriends()[0].getName());
}

TEST(DynamicRequest, ListParam_Summed) {
  ServedTester s;
  auto remote = describe_tester(s);
  DynamicRequest sut(s.client, remote, *remote->method("sumList"));
  auto values = sut.params().init("values", 3).as<DynamicList>();
  values.set(0, 1.5);
  values.set(1, 2.5);
  values.set(2, 4.0);

  DynamicReply reply = sut.send();

  EXPECT_EQ(reply.results().get("total").as<double>(), 8.0);
  EXPECT_EQ(reply.results().get("count").as<uint32_t>(), 3u);
}

TEST(DynamicRequest, SetParams_CopiesTheGivenStruct) {
  ServedTester s;
  auto remote = describe_tester(s);
  auto method = *remote->method("add");
  capnp::MallocMessageBuilder built;
  auto params = built.initRoot<DynamicStruct>(method.getParamType());
  params.set("a", int64_t{-5});
  params.set("b", int64_t{12});
  DynamicRequest sut(s.client, remote, method);

  sut.set_params(params.asReader());
  params.set("a", int64_t{1000});  // a copy was taken: later changes are not sent

  EXPECT_EQ(sut.send().results().get("sum").as<int64_t>(), 7);
}

TEST(DynamicRequest, SetParamsOfAnotherType_InvalidArgument) {
  ServedTester s;
  auto remote = describe_tester(s);
  capnp::MallocMessageBuilder built;
  auto other = built.initRoot<DynamicStruct>(remote->method("echoText")->getParamType());
  DynamicRequest sut(s.client, remote, *remote->method("add"));

  Code code = code_of([&] { sut.set_params(other.asReader()); });

  EXPECT_EQ(code, Code::kInvalidArgument);
}

TEST(DynamicRequest, AddFd_DescriptorReachesAFdParameterAndCallerKeepsIt) {
  ServedTester s;
  auto remote = describe_tester(s);
  int fd = ::memfd_create("dynamic-test", MFD_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "through the door", 16), 16);
  DynamicRequest sut(s.client, remote, *remote->method("readFd"));

  uint32_t index = sut.add_fd(fd);
  sut.params().init("file").as<DynamicStruct>().set("index", index);
  DynamicReply reply = sut.send();

  EXPECT_EQ(reply.results().get("content").as<capnp::Text>(), "through the door");
  EXPECT_EQ(::fcntl(fd, F_GETFD), FD_CLOEXEC) << "the caller's descriptor stays open";
  ::close(fd);
}

TEST(DynamicRequest, HandlerThrows_RemoteErrorWithItsCode) {
  ServedTester s;
  auto remote = describe_tester(s);
  DynamicRequest sut(s.client, remote, *remote->method("fail"));
  sut.params().set("code", static_cast<uint16_t>(Code::kNotFound));
  sut.params().set("message", "nothing here");

  try {
    sut.send();
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Code::kNotFound);
    EXPECT_EQ(e.message(), "nothing here");
    EXPECT_TRUE(e.remote());
  }
}

TEST(DynamicRequest, MethodOfAnotherInterface_InvalidArgument) {
  ServedTester s;
  auto remote = describe_tester(s);
  auto compiled = capnp::Schema::from<rt::Tester>().getMethodByName("add");

  Code code = code_of([&] { DynamicRequest sut(s.client, remote, compiled); });

  EXPECT_EQ(code, Code::kInvalidArgument);
}

TEST(DynamicRequest, MethodOfAnotherDescription_InvalidArgument) {
  ServedTester s;
  auto remote = describe_tester(s);
  auto other = describe_tester(s);

  Code code = code_of([&] { DynamicRequest sut(s.client, remote, *other->method("add")); });

  EXPECT_EQ(code, Code::kInvalidArgument);
}

TEST(DynamicRequest, EmptyClient_FailedPrecondition) {
  ServedTester s;
  auto remote = describe_tester(s);

  Code code = code_of([&] { DynamicRequest sut(ClientBase(), remote, *remote->method("add")); });

  EXPECT_EQ(code, Code::kFailedPrecondition);
}

TEST(DynamicRequest, SendTwice_FailedPrecondition) {
  ServedTester s;
  auto remote = describe_tester(s);
  DynamicRequest sut(s.client, remote, *remote->method("null"));
  sut.send();

  EXPECT_EQ(code_of([&] { sut.send(); }), Code::kFailedPrecondition);
}

// ---------------------------------------------------------------------------------------------
// Descriptions a broken or hostile server sends

// A door of this process whose procedure answers every call with the same bytes. The bytes are
// kept for the life of the process: under ThreadSanitizer the sendmsg(2) interceptor marks the
// buffer read only after the system call returns, which may be after the caller has its reply
// and the test has ended (a report about memory the kernel had long copied).
class FakeDoor {
 public:
  explicit FakeDoor(std::string reply) : reply_(&kept().emplace_back(std::move(reply))) {
    fd_ = ::door_create(&procedure, reply_, 0);
  }
  ~FakeDoor() {
    if (fd_ >= 0) ::door_revoke(fd_);
  }
  FakeDoor(const FakeDoor&) = delete;
  FakeDoor& operator=(const FakeDoor&) = delete;

  bool ok() const { return fd_ >= 0; }
  ClientBase client() const { return ClientBase(DoorHandle(OwnedFd(::doors_new_reference(fd_)))); }

 private:
  static std::deque<std::string>& kept() {
    static auto* replies = new std::deque<std::string>;  // never destroyed: see above
    return *replies;
  }
  static void procedure(void* cookie, char*, size_t, door_desc_t*, uint_t) {
    auto* reply = static_cast<std::string*>(cookie);
    ::door_return(reply->data(), reply->size(), nullptr, 0);
  }
  std::string* reply_;
  int fd_ = -1;
};

std::string reply_bytes(capnp::MessageBuilder& message) {
  wire::Header h{wire::kMagic, static_cast<uint16_t>(wire::Kind::kReply), 0, 0};
  std::string out(reinterpret_cast<const char*>(&h), sizeof h);
  auto flat = capnp::messageToFlatArray(message);
  out.append(reinterpret_cast<const char*>(flat.begin()), flat.size() * sizeof(capnp::word));
  return out;
}

// A describe reply: Tester's real closure (when `with_tester`), then what `extra` adds; the
// description names interface `root`.
std::string description(uint64_t root, bool with_tester,
                        const std::function<void(capnp::List<capnp::schema::Node>::Builder,
                                                 unsigned first)>& extra = {},
                        unsigned extra_count = 0) {
  capnp::MallocMessageBuilder message;
  auto d = message.initRoot<introspection::Introspection::DescribeResults>().initDescription();
  d.setInterfaceName("Broken");
  d.setInterfaceId(root);
  std::vector<capnp::Schema> closure;
  if (with_tester) closure = schema_closure(capnp::Schema::from<rt::Tester>());
  auto nodes = d.initNodes(static_cast<unsigned>(closure.size()) + extra_count);
  for (unsigned i = 0; i < closure.size(); ++i) nodes.setWithCaveats(i, closure[i].getProto());
  if (extra) extra(nodes, static_cast<unsigned>(closure.size()));
  return reply_bytes(message);
}

Code describe_code(const std::string& reply) {
  FakeDoor door(reply);
  if (!door.ok()) {
    ADD_FAILURE() << "door_create failed";
    return Code::kUnknown;
  }
  return code_of([&] { RemoteInterface::describe(door.client()); });
}

TEST(RemoteInterfaceHostile, ValidDescriptionFromARawDoor_Accepted) {
  // The fake door itself works: Tester's own description is loaded.
  EXPECT_EQ(describe_code(description(rt::TesterDoor::kInterfaceId, true)), Code::kOk);
}

TEST(RemoteInterfaceHostile, NodeWithDuplicateFieldNames_DataLoss) {
  auto bad = [](capnp::List<capnp::schema::Node>::Builder nodes, unsigned at) {
    auto n = nodes[at];
    n.setId(0xc0ffee0000000001ull);
    n.setDisplayName("bad.capnp:Bad");
    n.setDisplayNamePrefixLength(10);
    auto s = n.initStruct();
    s.setDataWordCount(1);
    auto fields = s.initFields(2);
    for (unsigned i = 0; i < 2; ++i) {
      fields[i].setName("same");
      fields[i].setCodeOrder(static_cast<uint16_t>(i));
      fields[i].setDiscriminantValue(0xffff);
      auto slot = fields[i].initSlot();
      slot.setOffset(i);
      slot.initType().setUint32();
      slot.initDefaultValue().setUint32(0);
      fields[i].initOrdinal().setExplicit(static_cast<uint16_t>(i));
    }
  };

  EXPECT_EQ(describe_code(description(rt::TesterDoor::kInterfaceId, true, bad, 1)),
            Code::kDataLoss);
}

TEST(RemoteInterfaceHostile, MethodParamsNamingAnEnum_DataLoss) {
  // An interface whose method's parameter "struct" is the Color enum (described too).
  auto bad = [](capnp::List<capnp::schema::Node>::Builder nodes, unsigned at) {
    auto i = nodes[at];
    i.setId(0xc0ffee0000000002ull);
    i.setDisplayName("bad.capnp:Bad");
    i.setDisplayNamePrefixLength(10);
    auto m = i.initInterface().initMethods(1)[0];
    m.setName("m");
    m.setParamStructType(capnp::typeId<rt::Color>());
    m.setResultStructType(capnp::typeId<rt::Color>());
  };

  EXPECT_EQ(describe_code(description(0xc0ffee0000000002ull, true, bad, 1)), Code::kDataLoss);
}

TEST(RemoteInterfaceHostile, RootNotDescribed_DataLoss) {
  EXPECT_EQ(describe_code(description(0xc0ffee0000000003ull, true)), Code::kDataLoss);
}

TEST(RemoteInterfaceHostile, RootIsAStruct_DataLoss) {
  EXPECT_EQ(describe_code(description(capnp::typeId<rt::Person>(), true)), Code::kDataLoss);
}

TEST(RemoteInterfaceHostile, RootOnlyReferencedNotDescribed_DataLoss) {
  // Only UseSessionParams, whose field `s` is a Session: the loader knows Session as a
  // placeholder, but the server never described it.
  auto only_params = [](capnp::List<capnp::schema::Node>::Builder nodes, unsigned at) {
    nodes.setWithCaveats(at, capnp::Schema::from<rt::Tester::UseSessionParams>().getProto());
  };

  EXPECT_EQ(describe_code(description(rt::SessionDoor::kInterfaceId, false, only_params, 1)),
            Code::kDataLoss);
}

TEST(RemoteInterfaceHostile, NoNodes_DataLoss) {
  EXPECT_EQ(describe_code(description(rt::TesterDoor::kInterfaceId, false)), Code::kDataLoss);
}

TEST(RemoteInterfaceHostile, ReplyNotAMessage_DataLoss) {
  wire::Header h{wire::kMagic, static_cast<uint16_t>(wire::Kind::kReply), 0, 0};
  std::string reply(reinterpret_cast<const char*>(&h), sizeof h);
  reply.append("\x05\x00\x00\x00garbage!", 12);

  EXPECT_EQ(describe_code(reply), Code::kDataLoss);
}

}  // namespace
}  // namespace doors::test
