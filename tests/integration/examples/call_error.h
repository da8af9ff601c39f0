// Catching the doors::Error a typed call throws, for EXPECT_* on its code and message.
#pragma once

#include <doors/runtime.h>

#include <optional>
#include <utility>

namespace doors::test {

// Runs `call`; the doors::Error it threw, or nullopt when it returned normally.
template <class F>
std::optional<doors::Error> error_of(F&& call) {
  try {
    std::forward<F>(call)();
  } catch (const doors::Error& e) {
    return e;
  }
  return std::nullopt;
}

}  // namespace doors::test
