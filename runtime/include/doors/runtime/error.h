// Typed errors of the runtime: gRPC's status codes, and the one exception type everything in
// the runtime throws (doors::Error).
#pragma once

#include <cstdint>
#include <exception>
#include <string>

namespace doors {

// gRPC's status codes, with the same numbers. They travel in the `code` field of an error reply.
enum class Code : uint16_t {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
  kUnauthenticated = 16,
};

// The largest code; anything above it that arrives from a peer is read as kUnknown.
inline constexpr Code kLastCode = Code::kUnauthenticated;

// "INVALID_ARGUMENT" (gRPC's spelling); "UNKNOWN_CODE" for a value outside the enum.
const char* code_name(Code code) noexcept;

// Everything the runtime throws. Handlers throw it to answer the caller with a code and a
// message; clients catch it. A value type: copyable.
class Error : public std::exception {
 public:
  // What handlers throw.
  Error(Code code, std::string message);

  // An error a server's handler raised, as its client sees it (remote() is true).
  static Error from_remote(Code code, std::string message);
  // A local failure behind which lies an errno value (sys_errno() returns it). The message is
  // `context` followed by ": " and strerror(err).
  static Error from_errno(Code code, int err, const std::string& context);

  Code code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }
  // True when the server's handler raised it (the code and message came over the wire).
  bool remote() const noexcept { return remote_; }
  // The errno behind a local failure, else 0.
  int sys_errno() const noexcept { return errno_; }
  // "INVALID_ARGUMENT: division by zero".
  const char* what() const noexcept override { return what_.c_str(); }

 private:
  Code code_;
  bool remote_ = false;
  int errno_ = 0;
  std::string message_;
  std::string what_;
};

// The code for an errno that door_call(3C) / doors_call returned (the README's table): EBADF and
// EINTR -> kUnavailable, ETIMEDOUT -> kDeadlineExceeded, E2BIG, ENOBUFS, ENFILE, EAGAIN, ENOMEM
// -> kResourceExhausted, ENOTSUP -> kFailedPrecondition, EINVAL / EFAULT -> kInvalidArgument,
// anything else kUnknown.
Code code_for_call_errno(int err) noexcept;

// The code for an errno from opening, creating or attaching a path (DoorHandle::open,
// Service::attach): ENOENT / ENOTDIR -> kNotFound, EACCES / EPERM / EROFS -> kPermissionDenied,
// EEXIST / EBUSY -> kAlreadyExists, EMFILE / ENFILE / ENOMEM / ENOSPC / EAGAIN ->
// kResourceExhausted, ENAMETOOLONG / ELOOP / EINVAL -> kInvalidArgument, EBADF ->
// kFailedPrecondition (not a door), anything else kUnknown.
Code code_for_errno(int err) noexcept;

}  // namespace doors
