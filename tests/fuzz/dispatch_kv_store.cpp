// Fuzz target: the KvStore example's generated dispatch and handlers (dispatch_support.h).
// The example's server.cpp is compiled in, its main renamed: the handlers fuzzed are the
// example's own. The store is limited to 1 MiB so that puts cannot exhaust the fuzzer's memory.
#define main kv_server_main
#include "server.cpp"
#undef main

#include "dispatch_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const int door = [] {
    auto store = std::make_shared<KvStore>(uint64_t{1} << 20);
    // Stopped, as ServerMain stops it on SIGTERM: waitFor answers UNAVAILABLE at once instead of
    // waiting up to a minute, so every call is answered within the fuzzer's deadline. (Calls
    // abandoned by their deadline left descriptors behind: README.md, "Open findings".)
    if (!doors::fuzz::abandon_calls()) store->stop();
    return doors::fuzz::serve(store);
  }();
  doors::fuzz::fuzz_call(door, /*refuses_descriptors=*/false, data, size);
  return 0;
}
