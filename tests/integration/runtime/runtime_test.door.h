// Written by hand in the shape doorc generates (runtime/README.md "Generated code") from
// schemas/runtime_test.capnp: the runtime's tests use it, and it shows the contract is one a
// code generator can target.
#pragma once

#include <doors/runtime.h>

#include <string_view>

#include "runtime_test.capnp.h"

namespace rt {

struct SessionDoor {
  using CapnpInterface = ::rt::Session;
  static constexpr uint64_t kInterfaceId = ::capnp::typeId<::rt::Session>();
  static constexpr const char* kDefaultPath = nullptr;
  static const ::doors::InterfaceInfo kInfo;
  class Client;
  class Server;
};

class SessionDoor::Client : public ::doors::ClientBase {
 public:
  Client() = default;
  explicit Client(::doors::DoorHandle door) : ClientBase(std::move(door)) {}
  explicit Client(::capnp::Capability::Client capability) : ClientBase(std::move(capability)) {}
  static Client open(std::string_view path) { return Client(::doors::DoorHandle::open(path)); }
  ::rt::Session::Client capability() const {
    return ClientBase::capability().castAs<::rt::Session>();
  }

  ::doors::Request<::rt::Session::PutParams, ::rt::Session::PutResults> putRequest(
      const ::doors::CallOptions& options = {}) const;
  ::doors::Reply<::rt::Session::PutResults> put(::kj::StringPtr key,
                                                ::kj::ArrayPtr<const ::kj::byte> value,
                                                const ::doors::CallOptions& options = {}) const;
  ::doors::Request<::rt::Session::GetParams, ::rt::Session::GetResults> getRequest(
      const ::doors::CallOptions& options = {}) const;
  ::doors::Reply<::rt::Session::GetResults> get(::kj::StringPtr key,
                                                const ::doors::CallOptions& options = {}) const;
};

class SessionDoor::Server : public ::doors::ServerBase {
 public:
  using CapnpInterface = ::rt::Session;
  using PutContext = ::doors::CallContext<::rt::Session::PutParams, ::rt::Session::PutResults>;
  using GetContext = ::doors::CallContext<::rt::Session::GetParams, ::rt::Session::GetResults>;
  virtual void put(PutContext& context);
  virtual void get(GetContext& context);
  const ::doors::InterfaceInfo& interface_info() const override;

 protected:
  void dispatch(::doors::IncomingCall& call) override;
};

struct TesterDoor {
  using CapnpInterface = ::rt::Tester;
  static constexpr uint64_t kInterfaceId = ::capnp::typeId<::rt::Tester>();
  static constexpr const char* kDefaultPath = "runtime-tester";
  static const ::doors::InterfaceInfo kInfo;
  class Client;
  class Server;
};

class TesterDoor::Client : public ::doors::ClientBase {
 public:
  Client() = default;
  explicit Client(::doors::DoorHandle door) : ClientBase(std::move(door)) {}
  explicit Client(::capnp::Capability::Client capability) : ClientBase(std::move(capability)) {}
  static Client open(std::string_view path = kDefaultPath) {
    return Client(::doors::DoorHandle::open(path));
  }
  ::rt::Tester::Client capability() const {
    return ClientBase::capability().castAs<::rt::Tester>();
  }

#define RT_REQUEST(name, Name)                                                             \
  ::doors::Request<::rt::Tester::Name##Params, ::rt::Tester::Name##Results> name##Request( \
      const ::doors::CallOptions& options = {}) const;
  RT_REQUEST(null, Null)
  RT_REQUEST(add, Add)
  RT_REQUEST(echoScalars, EchoScalars)
  RT_REQUEST(echoText, EchoText)
  RT_REQUEST(echoData, EchoData)
  RT_REQUEST(makeData, MakeData)
  RT_REQUEST(sumList, SumList)
  RT_REQUEST(echoPerson, EchoPerson)
  RT_REQUEST(joinTexts, JoinTexts)
  RT_REQUEST(fail, Fail)
  RT_REQUEST(failStd, FailStd)
  RT_REQUEST(notImplemented, NotImplemented)
  RT_REQUEST(openFile, OpenFile)
  RT_REQUEST(readFd, ReadFd)
  RT_REQUEST(readFds, ReadFds)
  RT_REQUEST(session, Session)
  RT_REQUEST(useSession, UseSession)
  RT_REQUEST(block, Block)
  RT_REQUEST(limited, Limited)
  RT_REQUEST(slowDefault, SlowDefault)
  RT_REQUEST(depth, Depth)
  RT_REQUEST(countVoids, CountVoids)
  RT_REQUEST(caller, Caller)
#undef RT_REQUEST

  ::doors::Reply<::rt::Tester::NullResults> null(const ::doors::CallOptions& options = {}) const;
  ::doors::Reply<::rt::Tester::AddResults> add(int64_t a, int64_t b,
                                               const ::doors::CallOptions& options = {}) const;
  ::doors::Reply<::rt::Tester::EchoTextResults> echoText(
      ::kj::StringPtr t, const ::doors::CallOptions& options = {}) const;
  ::doors::Reply<::rt::Tester::EchoDataResults> echoData(
      ::kj::ArrayPtr<const ::kj::byte> d, const ::doors::CallOptions& options = {}) const;
  ::doors::Reply<::rt::Tester::MakeDataResults> makeData(
      uint64_t size, uint64_t seed, const ::doors::CallOptions& options = {}) const;
  ::doors::Reply<::rt::Tester::FailResults> fail(uint16_t code, ::kj::StringPtr message,
                                                 const ::doors::CallOptions& options = {}) const;
  ::doors::Reply<::rt::Tester::FailStdResults> failStd(
      ::kj::StringPtr message, const ::doors::CallOptions& options = {}) const;
  ::doors::Reply<::rt::Tester::NotImplementedResults> notImplemented(
      const ::doors::CallOptions& options = {}) const;
  ::doors::Reply<::rt::Tester::OpenFileResults> openFile(
      ::kj::StringPtr content, const ::doors::CallOptions& options = {}) const;
  ::doors::Reply<::rt::Tester::ReadFdResults> readFd(
      int file, const ::doors::CallOptions& options = {}) const;
  ::doors::Reply<::rt::Tester::SessionResults> session(
      const ::doors::CallOptions& options = {}) const;
  ::doors::Reply<::rt::Tester::UseSessionResults> useSession(
      const SessionDoor::Client& s, ::kj::StringPtr key,
      const ::doors::CallOptions& options = {}) const;
  ::doors::Reply<::rt::Tester::BlockResults> block(uint32_t millis,
                                                   const ::doors::CallOptions& options = {}) const;
  ::doors::Reply<::rt::Tester::LimitedResults> limited(
      ::kj::ArrayPtr<const ::kj::byte> d, const ::doors::CallOptions& options = {}) const;
  ::doors::Reply<::rt::Tester::SlowDefaultResults> slowDefault(
      uint32_t millis, const ::doors::CallOptions& options = {}) const;
  ::doors::Reply<::rt::Tester::CallerResults> caller(
      const ::doors::CallOptions& options = {}) const;
};

class TesterDoor::Server : public ::doors::ServerBase {
 public:
  using CapnpInterface = ::rt::Tester;
#define RT_CONTEXT(name, Name)                                                       \
  using Name##Context =                                                              \
      ::doors::CallContext<::rt::Tester::Name##Params, ::rt::Tester::Name##Results>; \
  virtual void name(Name##Context& context);
  RT_CONTEXT(null, Null)
  RT_CONTEXT(add, Add)
  RT_CONTEXT(echoScalars, EchoScalars)
  RT_CONTEXT(echoText, EchoText)
  RT_CONTEXT(echoData, EchoData)
  RT_CONTEXT(makeData, MakeData)
  RT_CONTEXT(sumList, SumList)
  RT_CONTEXT(echoPerson, EchoPerson)
  RT_CONTEXT(joinTexts, JoinTexts)
  RT_CONTEXT(fail, Fail)
  RT_CONTEXT(failStd, FailStd)
  RT_CONTEXT(notImplemented, NotImplemented)
  RT_CONTEXT(openFile, OpenFile)
  RT_CONTEXT(readFd, ReadFd)
  RT_CONTEXT(readFds, ReadFds)
  RT_CONTEXT(session, Session)
  RT_CONTEXT(useSession, UseSession)
  RT_CONTEXT(block, Block)
  RT_CONTEXT(limited, Limited)
  RT_CONTEXT(slowDefault, SlowDefault)
  RT_CONTEXT(depth, Depth)
  RT_CONTEXT(countVoids, CountVoids)
  RT_CONTEXT(caller, Caller)
#undef RT_CONTEXT
  const ::doors::InterfaceInfo& interface_info() const override;

 protected:
  void dispatch(::doors::IncomingCall& call) override;
};

}  // namespace rt
