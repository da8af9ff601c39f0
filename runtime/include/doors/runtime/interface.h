// What generated code tells the runtime about an interface and its methods, and per-call options.
#pragma once

#include <capnp/schema.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>

// The shape of generated code this runtime serves. doorc's output checks it and refuses to
// compile against a runtime built for another shape; bump it with any change that needs
// regenerating.
#define DOORS_GENERATED_CODE_VERSION 1

namespace doors {

// Options of one call.
struct CallOptions {
  // The call fails with kDeadlineExceeded when no reply came within this time (the server's
  // handler is then cancelled unless the interface is $Door.noCancel). Unset: the method's
  // $Door.timeoutMs, else no deadline. Zero or negative: the call fails at once.
  std::optional<std::chrono::nanoseconds> timeout;
};

// Per-method limits from the IDL annotations. 0 / UINT32_MAX mean the runtime's default.
struct MethodLimits {
  uint64_t max_arg_bytes = 0;             // $Door.maxArgBytes; default kDefaultMaxArgBytes
  uint32_t max_descriptors = UINT32_MAX;  // $Door.maxDescriptors; default kDefaultMaxDescriptors
  uint32_t timeout_ms = 0;                // $Door.timeoutMs; default: no deadline
};

// The runtime's defaults for unannotated limits.
inline constexpr uint64_t kDefaultMaxArgBytes = uint64_t{256} << 20;  // 256 MiB
inline constexpr uint32_t kDefaultMaxDescriptors = 64;

struct MethodInfo {
  const char* name;  // "add"
  uint16_t ordinal;  // the Cap'n Proto method ordinal
  MethodLimits limits;
};

struct InterfaceInfo {
  const char* name;           // "Calculator"
  uint64_t id;                // Cap'n Proto id
  const char* default_path;   // $Door.path, or nullptr
  uint32_t door_attributes;   // DOOR_UNREF | ... from the annotations
  const MethodInfo* methods;  // indexed by ordinal
  size_t method_count;
  capnp::InterfaceSchema (*schema)();  // for introspection
};

}  // namespace doors
