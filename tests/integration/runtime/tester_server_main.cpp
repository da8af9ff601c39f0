// tester_server: the runtime tests' Tester (tester_server.cpp) as a server binary of its own,
// run through doors::ServerMain, for tools that need a server with every kind of parameter
// (descriptors, lists of descriptors, doors) — doorctl's integration tests.
//
//   tester_server --path PATH [server main options]
#include <doors/runtime.h>

#include "tester_server.h"

int main(int argc, char** argv) {
  // What the in-process tests watch; here nobody does, but the server signals them all the same.
  static doors::test::TesterWitnesses witnesses;
  doors::ServerMain server_main(rt::TesterDoor::kInfo, "tester_server",
                                "Serves the runtime tests' Tester interface (tests only).");
  return server_main.run(argc, argv,
                         [](doors::ServerMain&) { return doors::test::make_tester(&witnesses); });
}
