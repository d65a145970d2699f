#include "base/status.h"

#include <cerrno>
#include <cstring>

namespace edgebench {

std::string_view StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "ok";
    case StatusCode::kInvalidArgument: return "invalid_argument";
    case StatusCode::kNotFound: return "not_found";
    case StatusCode::kAlreadyExists: return "already_exists";
    case StatusCode::kPermissionDenied: return "permission_denied";
    case StatusCode::kFailedPrecondition: return "failed_precondition";
    case StatusCode::kOutOfRange: return "out_of_range";
    case StatusCode::kResourceExhausted: return "resource_exhausted";
    case StatusCode::kUnavailable: return "unavailable";
    case StatusCode::kDeadlineExceeded: return "deadline_exceeded";
    case StatusCode::kCancelled: return "cancelled";
    case StatusCode::kDataLoss: return "data_loss";
    case StatusCode::kUnimplemented: return "unimplemented";
    case StatusCode::kInternal: return "internal";
  }
  return "unknown";
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  std::string out(StatusCodeName(code_));
  out += ": ";
  out += message_;
  return out;
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  std::string msg(context);
  msg += ": ";
  msg += message_;
  return Status(code_, std::move(msg));
}

#define EB_DEFINE_ERROR_(Name, Code) \
  Status Name(std::string message) { \
    return Status(StatusCode::Code, std::move(message)); \
  }
EB_DEFINE_ERROR_(InvalidArgumentError, kInvalidArgument)
EB_DEFINE_ERROR_(NotFoundError, kNotFound)
EB_DEFINE_ERROR_(AlreadyExistsError, kAlreadyExists)
EB_DEFINE_ERROR_(PermissionDeniedError, kPermissionDenied)
EB_DEFINE_ERROR_(FailedPreconditionError, kFailedPrecondition)
EB_DEFINE_ERROR_(OutOfRangeError, kOutOfRange)
EB_DEFINE_ERROR_(ResourceExhaustedError, kResourceExhausted)
EB_DEFINE_ERROR_(UnavailableError, kUnavailable)
EB_DEFINE_ERROR_(DeadlineExceededError, kDeadlineExceeded)
EB_DEFINE_ERROR_(CancelledError, kCancelled)
EB_DEFINE_ERROR_(DataLossError, kDataLoss)
EB_DEFINE_ERROR_(UnimplementedError, kUnimplemented)
EB_DEFINE_ERROR_(InternalError, kInternal)
#undef EB_DEFINE_ERROR_

Status ErrnoToStatus(int errno_value, std::string_view what) {
  std::string msg(what);
  msg += ": ";
  msg += std::strerror(errno_value);
  StatusCode code;
  switch (errno_value) {
    case ENOENT: case ENOTDIR: code = StatusCode::kNotFound; break;
    case EACCES: case EPERM: case EROFS: code = StatusCode::kPermissionDenied; break;
    case EEXIST: code = StatusCode::kAlreadyExists; break;
    case ENOSPC: case ENOMEM: case EDQUOT: case EMFILE: case ENFILE:
      code = StatusCode::kResourceExhausted; break;
    case EINVAL: case EISDIR: case ENAMETOOLONG: code = StatusCode::kInvalidArgument; break;
    case ETIMEDOUT: code = StatusCode::kDeadlineExceeded; break;
    case EINTR: code = StatusCode::kCancelled; break;
    case ECONNREFUSED: case ECONNRESET: case EPIPE: case EHOSTUNREACH:
    case ENETUNREACH: case ENODEV: case ENXIO:
      code = StatusCode::kUnavailable; break;
    case EIO: code = StatusCode::kDataLoss; break;
    default: code = StatusCode::kInternal; break;
  }
  return Status(code, std::move(msg));
}

}  // namespace edgebench
