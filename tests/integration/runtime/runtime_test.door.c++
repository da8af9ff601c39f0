// Written by hand in the shape doorc generates (see runtime_test.door.h).
#include "runtime_test.door.h"

#include <door.h>

namespace rt {

// ---------------------------------------------------------------------------------------------
// Session

namespace {
const ::doors::MethodInfo kSessionMethods[] = {
    {"put", 0, {}},
    {"get", 1, {}},
};
}  // namespace

const ::doors::InterfaceInfo SessionDoor::kInfo = {
    "Session", SessionDoor::kInterfaceId, nullptr, DOOR_UNREF, kSessionMethods, 2, [] {
      return ::capnp::Schema::from<::rt::Session>();
    }};

::doors::Request<::rt::Session::PutParams, ::rt::Session::PutResults>
SessionDoor::Client::putRequest(const ::doors::CallOptions& options) const {
  return request<::rt::Session::PutParams, ::rt::Session::PutResults>(kInfo, kInfo.methods[0],
                                                                      options);
}

::doors::Reply<::rt::Session::PutResults> SessionDoor::Client::put(
    ::kj::StringPtr key, ::kj::ArrayPtr<const ::kj::byte> value,
    const ::doors::CallOptions& options) const {
  auto request = putRequest(options);
  request->setKey(key);
  request->setValue(value);
  return request.send();
}

::doors::Request<::rt::Session::GetParams, ::rt::Session::GetResults>
SessionDoor::Client::getRequest(const ::doors::CallOptions& options) const {
  return request<::rt::Session::GetParams, ::rt::Session::GetResults>(kInfo, kInfo.methods[1],
                                                                      options);
}

::doors::Reply<::rt::Session::GetResults> SessionDoor::Client::get(
    ::kj::StringPtr key, const ::doors::CallOptions& options) const {
  auto request = getRequest(options);
  request->setKey(key);
  return request.send();
}

void SessionDoor::Server::put(PutContext& context) { context.unimplemented(); }
void SessionDoor::Server::get(GetContext& context) { context.unimplemented(); }

const ::doors::InterfaceInfo& SessionDoor::Server::interface_info() const { return kInfo; }

void SessionDoor::Server::dispatch(::doors::IncomingCall& call) {
  switch (call.method()) {
    case 0: {
      PutContext context(call);
      put(context);
      return;
    }
    case 1: {
      GetContext context(call);
      get(context);
      return;
    }
    default:
      call.unimplemented();
  }
}

// ---------------------------------------------------------------------------------------------
// Tester

namespace {
constexpr ::doors::MethodLimits kDefaultLimits{};
const ::doors::MethodInfo kTesterMethods[] = {
    {"null", 0, kDefaultLimits},
    {"add", 1, kDefaultLimits},
    {"echoScalars", 2, kDefaultLimits},
    {"echoText", 3, kDefaultLimits},
    {"echoData", 4, kDefaultLimits},
    {"makeData", 5, kDefaultLimits},
    {"sumList", 6, kDefaultLimits},
    {"echoPerson", 7, kDefaultLimits},
    {"joinTexts", 8, kDefaultLimits},
    {"fail", 9, kDefaultLimits},
    {"failStd", 10, kDefaultLimits},
    {"notImplemented", 11, kDefaultLimits},
    {"openFile", 12, kDefaultLimits},
    {"readFd", 13, kDefaultLimits},
    {"readFds", 14, kDefaultLimits},
    {"session", 15, kDefaultLimits},
    {"useSession", 16, kDefaultLimits},
    {"block", 17, kDefaultLimits},
    {"limited", 18, {/*max_arg_bytes=*/1024, /*max_descriptors=*/0, /*timeout_ms=*/0}},
    {"slowDefault", 19, {0, UINT32_MAX, /*timeout_ms=*/200}},
    {"depth", 20, kDefaultLimits},
    {"countVoids", 21, kDefaultLimits},
    {"caller", 22, kDefaultLimits},
};
}  // namespace

const ::doors::InterfaceInfo TesterDoor::kInfo = {
    "Tester",
    TesterDoor::kInterfaceId,
    TesterDoor::kDefaultPath,
    0,
    kTesterMethods,
    sizeof(kTesterMethods) / sizeof(kTesterMethods[0]),
    [] { return ::capnp::Schema::from<::rt::Tester>(); }};

#define RT_REQUEST(ordinal, name, Name)                                              \
  ::doors::Request<::rt::Tester::Name##Params, ::rt::Tester::Name##Results>          \
      TesterDoor::Client::name##Request(const ::doors::CallOptions& options) const { \
    return request<::rt::Tester::Name##Params, ::rt::Tester::Name##Results>(         \
        kInfo, kInfo.methods[ordinal], options);                                     \
  }
RT_REQUEST(0, null, Null)
RT_REQUEST(1, add, Add)
RT_REQUEST(2, echoScalars, EchoScalars)
RT_REQUEST(3, echoText, EchoText)
RT_REQUEST(4, echoData, EchoData)
RT_REQUEST(5, makeData, MakeData)
RT_REQUEST(6, sumList, SumList)
RT_REQUEST(7, echoPerson, EchoPerson)
RT_REQUEST(8, joinTexts, JoinTexts)
RT_REQUEST(9, fail, Fail)
RT_REQUEST(10, failStd, FailStd)
RT_REQUEST(11, notImplemented, NotImplemented)
RT_REQUEST(12, openFile, OpenFile)
RT_REQUEST(13, readFd, ReadFd)
RT_REQUEST(14, readFds, ReadFds)
RT_REQUEST(15, session, Session)
RT_REQUEST(16, useSession, UseSession)
RT_REQUEST(17, block, Block)
RT_REQUEST(18, limited, Limited)
RT_REQUEST(19, slowDefault, SlowDefault)
RT_REQUEST(20, depth, Depth)
RT_REQUEST(21, countVoids, CountVoids)
RT_REQUEST(22, caller, Caller)
#undef RT_REQUEST

::doors::Reply<::rt::Tester::NullResults> TesterDoor::Client::null(
    const ::doors::CallOptions& options) const {
  auto request = nullRequest(options);
  return request.send();
}

::doors::Reply<::rt::Tester::AddResults> TesterDoor::Client::add(
    int64_t a, int64_t b, const ::doors::CallOptions& options) const {
  auto request = addRequest(options);
  request->setA(a);
  request->setB(b);
  return request.send();
}

::doors::Reply<::rt::Tester::EchoTextResults> TesterDoor::Client::echoText(
    ::kj::StringPtr t, const ::doors::CallOptions& options) const {
  auto request = echoTextRequest(options);
  request->setT(t);
  return request.send();
}

::doors::Reply<::rt::Tester::EchoDataResults> TesterDoor::Client::echoData(
    ::kj::ArrayPtr<const ::kj::byte> d, const ::doors::CallOptions& options) const {
  auto request = echoDataRequest(options);
  request->setD(d);
  return request.send();
}

::doors::Reply<::rt::Tester::MakeDataResults> TesterDoor::Client::makeData(
    uint64_t size, uint64_t seed, const ::doors::CallOptions& options) const {
  auto request = makeDataRequest(options);
  request->setSize(size);
  request->setSeed(seed);
  return request.send();
}

::doors::Reply<::rt::Tester::FailResults> TesterDoor::Client::fail(
    uint16_t code, ::kj::StringPtr message, const ::doors::CallOptions& options) const {
  auto request = failRequest(options);
  request->setCode(code);
  request->setMessage(message);
  return request.send();
}

::doors::Reply<::rt::Tester::FailStdResults> TesterDoor::Client::failStd(
    ::kj::StringPtr message, const ::doors::CallOptions& options) const {
  auto request = failStdRequest(options);
  request->setMessage(message);
  return request.send();
}

::doors::Reply<::rt::Tester::NotImplementedResults> TesterDoor::Client::notImplemented(
    const ::doors::CallOptions& options) const {
  auto request = notImplementedRequest(options);
  return request.send();
}

::doors::Reply<::rt::Tester::OpenFileResults> TesterDoor::Client::openFile(
    ::kj::StringPtr content, const ::doors::CallOptions& options) const {
  auto request = openFileRequest(options);
  request->setContent(content);
  return request.send();
}

::doors::Reply<::rt::Tester::ReadFdResults> TesterDoor::Client::readFd(
    int file, const ::doors::CallOptions& options) const {
  auto request = readFdRequest(options);
  request.set_fd(request->initFile(), file);
  return request.send();
}

::doors::Reply<::rt::Tester::SessionResults> TesterDoor::Client::session(
    const ::doors::CallOptions& options) const {
  auto request = sessionRequest(options);
  return request.send();
}

::doors::Reply<::rt::Tester::UseSessionResults> TesterDoor::Client::useSession(
    const SessionDoor::Client& s, ::kj::StringPtr key, const ::doors::CallOptions& options) const {
  auto request = useSessionRequest(options);
  request->setS(s.capability());
  request->setKey(key);
  return request.send();
}

::doors::Reply<::rt::Tester::BlockResults> TesterDoor::Client::block(
    uint32_t millis, const ::doors::CallOptions& options) const {
  auto request = blockRequest(options);
  request->setMillis(millis);
  return request.send();
}

::doors::Reply<::rt::Tester::LimitedResults> TesterDoor::Client::limited(
    ::kj::ArrayPtr<const ::kj::byte> d, const ::doors::CallOptions& options) const {
  auto request = limitedRequest(options);
  request->setD(d);
  return request.send();
}

::doors::Reply<::rt::Tester::SlowDefaultResults> TesterDoor::Client::slowDefault(
    uint32_t millis, const ::doors::CallOptions& options) const {
  auto request = slowDefaultRequest(options);
  request->setMillis(millis);
  return request.send();
}

::doors::Reply<::rt::Tester::CallerResults> TesterDoor::Client::caller(
    const ::doors::CallOptions& options) const {
  auto request = callerRequest(options);
  return request.send();
}

#define RT_DEFAULT(name, Name) \
  void TesterDoor::Server::name(Name##Context& context) { context.unimplemented(); }
RT_DEFAULT(null, Null)
RT_DEFAULT(add, Add)
RT_DEFAULT(echoScalars, EchoScalars)
RT_DEFAULT(echoText, EchoText)
RT_DEFAULT(echoData, EchoData)
RT_DEFAULT(makeData, MakeData)
RT_DEFAULT(sumList, SumList)
RT_DEFAULT(echoPerson, EchoPerson)
RT_DEFAULT(joinTexts, JoinTexts)
RT_DEFAULT(fail, Fail)
RT_DEFAULT(failStd, FailStd)
RT_DEFAULT(notImplemented, NotImplemented)
RT_DEFAULT(openFile, OpenFile)
RT_DEFAULT(readFd, ReadFd)
RT_DEFAULT(readFds, ReadFds)
RT_DEFAULT(session, Session)
RT_DEFAULT(useSession, UseSession)
RT_DEFAULT(block, Block)
RT_DEFAULT(limited, Limited)
RT_DEFAULT(slowDefault, SlowDefault)
RT_DEFAULT(depth, Depth)
RT_DEFAULT(countVoids, CountVoids)
RT_DEFAULT(caller, Caller)
#undef RT_DEFAULT

const ::doors::InterfaceInfo& TesterDoor::Server::interface_info() const { return kInfo; }

void TesterDoor::Server::dispatch(::doors::IncomingCall& call) {
#define RT_CASE(ordinal, name, Name) \
  case ordinal: {                    \
    Name##Context context(call);     \
    name(context);                   \
    return;                          \
  }
  switch (call.method()) {
    RT_CASE(0, null, Null)
    RT_CASE(1, add, Add)
    RT_CASE(2, echoScalars, EchoScalars)
    RT_CASE(3, echoText, EchoText)
    RT_CASE(4, echoData, EchoData)
    RT_CASE(5, makeData, MakeData)
    RT_CASE(6, sumList, SumList)
    RT_CASE(7, echoPerson, EchoPerson)
    RT_CASE(8, joinTexts, JoinTexts)
    RT_CASE(9, fail, Fail)
    RT_CASE(10, failStd, FailStd)
    RT_CASE(11, notImplemented, NotImplemented)
    RT_CASE(12, openFile, OpenFile)
    RT_CASE(13, readFd, ReadFd)
    RT_CASE(14, readFds, ReadFds)
    RT_CASE(15, session, Session)
    RT_CASE(16, useSession, UseSession)
    RT_CASE(17, block, Block)
    RT_CASE(18, limited, Limited)
    RT_CASE(19, slowDefault, SlowDefault)
    RT_CASE(20, depth, Depth)
    RT_CASE(21, countVoids, CountVoids)
    RT_CASE(22, caller, Caller)
    default:
      call.unimplemented();
  }
#undef RT_CASE
}

}  // namespace rt
