// The servers the runtime's integration tests call (TesterImpl, SessionImpl) and a fixture that
// forks one and opens a typed client to it.
#pragma once

#include <memory>
#include <string>

#include "forked_server.h"
#include "gate.h"
#include "runtime_test.door.h"
#include "temp_dir.h"

namespace doors::test {

// What the tests watch from the server child (all made before fork).
struct TesterWitnesses {
  Gate cancelled;        // a block() handler was unwound by cancellation
  Gate returned;         // a block() handler returned normally
  Gate unreferenced;     // a SessionImpl's unreferenced() ran
  Gate session_deleted;  // a SessionImpl was destroyed
};

// Serves Tester. Not overridden (on purpose): notImplemented.
std::shared_ptr<rt::TesterDoor::Server> make_tester(const TesterWitnesses* witnesses);

// A forked server child serving Tester at a path of its own, and a client of it.
struct TesterFixture {
  TesterFixture();
  TempDir dir;
  std::string path;
  TesterWitnesses witnesses;
  std::unique_ptr<ForkedServer> server;
  rt::TesterDoor::Client client;
  bool ok() const { return static_cast<bool>(client); }
};

}  // namespace doors::test
