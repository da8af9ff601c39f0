// Fuzz target: the Calculator example's generated dispatch and handlers (dispatch_support.h).
// The example's server.cpp is compiled in, its main renamed: the handlers fuzzed are the
// example's own.
#define main calculator_server_main
#include "server.cpp"
#undef main

#include "dispatch_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const int door = doors::fuzz::serve(
      std::make_shared<Calculator>(open_log_dir((doors::fuzz::scratch_dir() / "logs").string())));
  doors::fuzz::fuzz_call(door, /*refuses_descriptors=*/false, data, size);
  return 0;
}
