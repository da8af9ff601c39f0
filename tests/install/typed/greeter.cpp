// Serves Greeter on a temporary path from this process and calls it through the generated
// client, as a user's first program would. Exits 0 when every check passes.
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "greeter.door.h"

namespace {

class Greeter final : public greeter::GreeterDoor::Server {
  void greet(GreetContext& context) override {
    std::string text = "hello, " + std::string(context.params().getName().cStr());
    context.results().setGreeting(text);
  }
  void fail(FailContext&) override {
    throw doors::Error(doors::Code::kFailedPrecondition, "as designed");
  }
};

int check(bool ok, const char* what) {
  std::printf("%s: %s\n", ok ? "ok" : "FAILED", what);
  return ok ? 0 : 1;
}

}  // namespace

int main() {
  char dir[] = "/tmp/doors-typed-install.XXXXXX";
  if (mkdtemp(dir) == nullptr) return 1;
  std::string path = std::string(dir) + "/greeter";
  int failures = 0;
  {
    doors::Service service(std::make_shared<Greeter>());
    service.attach(path);
    auto client = greeter::GreeterDoor::Client::open(path);
    auto reply = client.greet("installed doors");
    failures += check(std::string(reply->getGreeting().cStr()) == "hello, installed doors",
                      "greet through the generated client");
    try {
      client.fail();
      failures += check(false, "fail throws");
    } catch (const doors::Error& e) {
      failures += check(e.code() == doors::Code::kFailedPrecondition && e.remote() &&
                            e.message() == "as designed",
                        "a handler's error reaches the client typed");
    }
    service.detach();
  }
  unlink(path.c_str());
  rmdir(dir);
  return failures == 0 ? 0 : 1;
}
