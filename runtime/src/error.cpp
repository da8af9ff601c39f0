#include "doors/runtime/error.h"

#include <errno.h>
#include <string.h>

#include <utility>

namespace doors {

const char* code_name(Code code) noexcept {
  switch (code) {
    case Code::kOk:
      return "OK";
    case Code::kCancelled:
      return "CANCELLED";
    case Code::kUnknown:
      return "UNKNOWN";
    case Code::kInvalidArgument:
      return "INVALID_ARGUMENT";
    case Code::kDeadlineExceeded:
      return "DEADLINE_EXCEEDED";
    case Code::kNotFound:
      return "NOT_FOUND";
    case Code::kAlreadyExists:
      return "ALREADY_EXISTS";
    case Code::kPermissionDenied:
      return "PERMISSION_DENIED";
    case Code::kResourceExhausted:
      return "RESOURCE_EXHAUSTED";
    case Code::kFailedPrecondition:
      return "FAILED_PRECONDITION";
    case Code::kAborted:
      return "ABORTED";
    case Code::kOutOfRange:
      return "OUT_OF_RANGE";
    case Code::kUnimplemented:
      return "UNIMPLEMENTED";
    case Code::kInternal:
      return "INTERNAL";
    case Code::kUnavailable:
      return "UNAVAILABLE";
    case Code::kDataLoss:
      return "DATA_LOSS";
    case Code::kUnauthenticated:
      return "UNAUTHENTICATED";
  }
  return "UNKNOWN_CODE";
}

Error::Error(Code code, std::string message) : code_(code), message_(std::move(message)) {
  what_.reserve(message_.size() + 24);
  what_ += code_name(code_);
  what_ += ": ";
  what_ += message_;
}

Error Error::from_remote(Code code, std::string message) {
  Error e(code, std::move(message));
  e.remote_ = true;
  return e;
}

Error Error::from_errno(Code code, int err, const std::string& context) {
  char buf[128];
  // GNU strerror_r returns the message (possibly not in buf).
  const char* text = strerror_r(err, buf, sizeof buf);
  Error e(code, context + ": " + text);
  e.errno_ = err;
  return e;
}

Code code_for_call_errno(int err) noexcept {
  switch (err) {
    case EBADF:  // door_call(3C): not a door, or revoked; the server is gone
    case EINTR:  // the server died during the call, or a caught signal interrupted it
      return Code::kUnavailable;
    case ETIMEDOUT:
      return Code::kDeadlineExceeded;
    case E2BIG:
    case ENOBUFS:
    case ENFILE:
    case EAGAIN:
    case ENOMEM:
    case EMFILE:
    case EOVERFLOW:
      return Code::kResourceExhausted;
    case ENOTSUP:  // DOOR_REFUSE_DESC
      return Code::kFailedPrecondition;
    case EINVAL:
    case EFAULT:
      return Code::kInvalidArgument;
    default:
      return Code::kUnknown;
  }
}

Code code_for_errno(int err) noexcept {
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return Code::kNotFound;
    case EACCES:
    case EPERM:
    case EROFS:
      return Code::kPermissionDenied;
    case EEXIST:
    case EBUSY:
      return Code::kAlreadyExists;
    case EMFILE:
    case ENFILE:
    case ENOMEM:
    case ENOSPC:
    case EAGAIN:
      return Code::kResourceExhausted;
    case ENAMETOOLONG:
    case ELOOP:
    case EINVAL:
      return Code::kInvalidArgument;
    case EBADF:
      return Code::kFailedPrecondition;
    default:
      return Code::kUnknown;
  }
}

}  // namespace doors
