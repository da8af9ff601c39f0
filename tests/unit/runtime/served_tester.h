// A Tester served in this process (a local door attached in a TempDir) for the introspection and
// dynamic-call tests, with a handler that can be held inside a call.
#pragma once

#include <doors/runtime.h>
#include <doors/runtime/introspection.h>
#include <pthread.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "deadline.h"
#include "gate.h"
#include "runtime_test.door.h"
#include "temp_dir.h"

namespace doors::test {

// Serves a few Tester methods; the others answer kUnimplemented. block() signals `entered` and
// waits (bounded) for `release`, so a test can look at a call in progress. slowDefault() runs
// until its thread is cancelled (its caller gave up), bounded by the standard deadline: it waits
// at pthread_testcancel(), not in a blocking call, because ThreadSanitizer loses track of a
// thread cancelled inside a call it intercepts (poll, read...) and then reports races on the
// mutexes that thread takes while it unwinds.
class GatedTester final : public rt::TesterDoor::Server {
 public:
  Gate entered;
  Gate release;

  void null(NullContext&) override {}
  void add(AddContext& context) override {
    auto p = context.params();
    context.results().setSum(p.getA() + p.getB());
  }
  void echoText(EchoTextContext& context) override {
    context.results().setT(context.params().getT());
  }
  void echoPerson(EchoPersonContext& context) override {
    context.results().setP(context.params().getP());
  }
  void sumList(SumListContext& context) override {
    double total = 0;
    auto values = context.params().getValues();
    for (double v : values) total += v;
    context.results().setTotal(total);
    context.results().setCount(values.size());
  }
  void fail(FailContext& context) override {
    auto p = context.params();
    throw Error(static_cast<Code>(p.getCode()), p.getMessage().cStr());
  }
  void readFd(ReadFdContext& context) override {
    OwnedFd fd = context.take_fd(context.params().getFile());
    char buf[256];
    ssize_t n = ::pread(fd.get(), buf, sizeof buf, 0);
    if (n < 0) throw Error(Code::kInternal, "pread failed");
    std::string content(buf, static_cast<size_t>(n));
    context.results().setContent(content);
  }
  void slowDefault(SlowDefaultContext&) override {
    Deadline deadline = Deadline::standard();
    while (!deadline.expired()) ::pthread_testcancel();
  }
  void block(BlockContext&) override {
    entered.signal();
    release.wait(Deadline::standard());
  }
};

// A GatedTester behind a Service attached at a path of a TempDir, a typed client of it and an
// introspection client of the same door.
struct ServedTester {
  ServedTester() {
    service.attach(path, 0600);
    client = rt::TesterDoor::Client::open(path);
    introspection = IntrospectionClient(client.door());
  }

  TempDir dir;
  std::string path = dir.file("tester");
  std::shared_ptr<GatedTester> impl = std::make_shared<GatedTester>();
  Service service{impl};
  rt::TesterDoor::Client client;
  IntrospectionClient introspection;
};

}  // namespace doors::test
