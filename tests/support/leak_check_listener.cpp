// Linked into every integration test binary (doors_add_gtest with LABEL integration): checks the
// test process around every test, and the servers ForkedServer and ExampleServer start (see
// leak_check.h).
#include "leak_check.h"

namespace {

const bool installed = [] {
  doors::test::install_leak_check();
  return true;
}();

}  // namespace
