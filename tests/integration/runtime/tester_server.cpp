#include "tester_server.h"

#include <poll.h>
#include <sys/mman.h>
#include <unistd.h>

#include <map>
#include <mutex>
#include <stdexcept>
#include <string>

#include "door_support.h"

namespace doors::test {
namespace {

std::string read_all(int fd) {
  std::string out;
  ::lseek(fd, 0, SEEK_SET);
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

class SessionImpl final : public rt::SessionDoor::Server {
 public:
  explicit SessionImpl(const TesterWitnesses* w) : witnesses_(w) {}
  ~SessionImpl() override { witnesses_->session_deleted.signal(); }

  void put(PutContext& context) override {
    auto p = context.params();
    auto v = p.getValue();
    std::lock_guard lock(mu_);
    values_[p.getKey().cStr()] = std::string(reinterpret_cast<const char*>(v.begin()), v.size());
  }
  void get(GetContext& context) override {
    std::string value;
    {
      std::lock_guard lock(mu_);
      auto it = values_.find(context.params().getKey().cStr());
      if (it == values_.end()) throw Error(Code::kNotFound, "no such key");
      value = it->second;
    }
    context.results().setValue(
        kj::arrayPtr(reinterpret_cast<const kj::byte*>(value.data()), value.size()));
  }
  void unreferenced() override { witnesses_->unreferenced.signal(); }

 private:
  const TesterWitnesses* witnesses_;
  std::mutex mu_;
  std::map<std::string, std::string> values_;
};

class TesterImpl final : public rt::TesterDoor::Server {
 public:
  explicit TesterImpl(const TesterWitnesses* w) : witnesses_(w) {}

  void null(NullContext&) override {}
  void add(AddContext& context) override {
    auto p = context.params();
    context.results().setSum(p.getA() + p.getB());
  }
  void echoScalars(EchoScalarsContext& context) override {
    context.results().setS(context.params().getS());
  }
  void echoText(EchoTextContext& context) override {
    context.results().setT(context.params().getT());
  }
  void echoData(EchoDataContext& context) override {
    auto d = context.params().getD();
    auto r = context.results();
    r.setDigest(digest(d.begin(), d.size()));
    r.setD(d);
  }
  void makeData(MakeDataContext& context) override {
    auto p = context.params();
    auto d = context.results().initD(static_cast<unsigned>(p.getSize()));
    fill_pattern(reinterpret_cast<char*>(d.begin()), d.size(), p.getSeed());
  }
  void sumList(SumListContext& context) override {
    double total = 0;
    auto values = context.params().getValues();
    for (double v : values) total += v;
    auto r = context.results();
    r.setTotal(total);
    r.setCount(values.size());
  }
  void echoPerson(EchoPersonContext& context) override {
    context.results().setP(context.params().getP());
  }
  void joinTexts(JoinTextsContext& context) override {
    std::string joined;
    auto texts = context.params().getTexts();
    for (auto t : texts) joined += t.cStr();
    auto r = context.results();
    r.setJoined(joined);
    r.setCount(texts.size());
  }
  void fail(FailContext& context) override {
    auto p = context.params();
    throw Error(static_cast<Code>(p.getCode()), p.getMessage().cStr());
  }
  void failStd(FailStdContext& context) override {
    throw std::runtime_error(context.params().getMessage().cStr());
  }
  void openFile(OpenFileContext& context) override {
    OwnedFd fd(::memfd_create("runtime-test", MFD_CLOEXEC));
    if (!fd) throw Error(Code::kInternal, "memfd_create failed");
    auto content = context.params().getContent();
    if (!write_all(fd.get(), content.begin(), content.size())) {
      throw Error(Code::kInternal, "write failed");
    }
    context.set_fd(context.results().initFile(), std::move(fd));
  }
  void readFd(ReadFdContext& context) override {
    OwnedFd fd = context.take_fd(context.params().getFile());
    context.results().setContent(read_all(fd.get()));
  }
  void readFds(ReadFdsContext& context) override {
    auto files = context.params().getFiles();
    auto contents = context.results().initContents(files.size());
    for (unsigned i = 0; i < files.size(); ++i) {
      OwnedFd fd = context.take_fd(files[i]);
      contents.set(i, read_all(fd.get()));
    }
  }
  void session(SessionContext& context) override {
    context.results().setS(export_door(std::make_unique<SessionImpl>(witnesses_)));
  }
  void useSession(UseSessionContext& context) override {
    auto p = context.params();
    rt::SessionDoor::Client session(p.getS());
    auto value = session.get(p.getKey());
    context.results().setValue(value->getValue());
  }
  void block(BlockContext& context) override {
    // Cancelled (the client gave up): poll() is a cancellation point, the forced unwind runs
    // this destructor with done == false.
    struct Witness {
      const TesterWitnesses* w;
      bool done = false;
      ~Witness() { (done ? w->returned : w->cancelled).signal(); }
    } witness{witnesses_};
    ::poll(nullptr, 0, static_cast<int>(context.params().getMillis()));
    witness.done = true;
  }
  void limited(LimitedContext&) override {}
  void slowDefault(SlowDefaultContext& context) override {
    ::poll(nullptr, 0, static_cast<int>(context.params().getMillis()));
  }
  void depth(DepthContext& context) override {
    uint32_t depth = 0;
    auto n = context.params().getN();
    while (n.hasNext()) {
      n = n.getNext();
      ++depth;
    }
    context.results().setDepth(depth);
  }
  void countVoids(CountVoidsContext& context) override {
    context.results().setCount(context.params().getV().size());
  }
  void caller(CallerContext& context) override {
    Caller c = context.caller();
    auto r = context.results();
    r.setPid(c.pid);
    r.setUid(c.uid);
    r.setEuid(c.euid);
    r.setGid(c.gid);
    r.setEgid(c.egid);
  }

 private:
  const TesterWitnesses* witnesses_;
};

}  // namespace

std::shared_ptr<rt::TesterDoor::Server> make_tester(const TesterWitnesses* witnesses) {
  return std::make_shared<TesterImpl>(witnesses);
}

TesterFixture::TesterFixture() : path(dir.file("tester")) {
  server = std::make_unique<ForkedServer>([this](ForkedServer::Child& child) {
    Service service(make_tester(&witnesses));
    service.attach(path, 0600);
    child.ready();
    child_wait_forever();
  });
  if (!server->wait_ready()) {
    ADD_FAILURE() << "the tester server did not start";
    return;
  }
  client = rt::TesterDoor::Client::open(path);
}

}  // namespace doors::test
