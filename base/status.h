// base/status.h — the error model every module uses: Status, Result<T>,
// RETURN_IF_ERROR and ASSIGN_OR_RETURN.
//
// No exception crosses a module boundary; a function that can fail returns a
// Status (or a Result<T>) whose message names what failed and where
// ("results/x.db: not a SQLite database"). Return the most specific code.
//
// Thread-safety: values; copying and reading from several threads is safe.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace edgebench {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // the caller's input is wrong (flag, spec, file content)
  kNotFound,            // a file, device, sweep or row does not exist
  kAlreadyExists,       // creating something that is there
  kPermissionDenied,    // the OS refused access
  kFailedPrecondition,  // the system is not in a state to do this (newer schema)
  kOutOfRange,          // a value past its valid range (context overflow)
  kResourceExhausted,   // memory, disk, quota
  kUnavailable,         // a device or service went away; retrying may help
  kDeadlineExceeded,    // a timeout fired
  kCancelled,           // stopped on request (Ctrl-C, SIGTERM)
  kDataLoss,            // corrupt or truncated data
  kUnimplemented,       // a type or feature this build does not handle
  kInternal,            // an invariant broke: a bug in edgebench
};

// Short lower-case name of a code ("invalid_argument"), used in events and
// in the store's errors table.
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // ok
  Status(StatusCode code, std::string message)
      : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "invalid_argument: message", or "ok".
  std::string ToString() const;

  // Returns a copy whose message is "context: message"; keeps the code.
  Status WithContext(std::string_view context) const;

  // Explicitly drops a status the caller has decided not to act on.
  void IgnoreError() const {}

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Convenience constructors, one per code.
Status InvalidArgumentError(std::string message);
Status NotFoundError(std::string message);
Status AlreadyExistsError(std::string message);
Status PermissionDeniedError(std::string message);
Status FailedPreconditionError(std::string message);
Status OutOfRangeError(std::string message);
Status ResourceExhaustedError(std::string message);
Status UnavailableError(std::string message);
Status DeadlineExceededError(std::string message);
Status CancelledError(std::string message);
Status DataLossError(std::string message);
Status UnimplementedError(std::string message);
Status InternalError(std::string message);

// Maps an errno value to the most specific code, with "what: strerror".
Status ErrnoToStatus(int errno_value, std::string_view what);

// A value or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT
    assert(!status_.ok() && "Result built from an ok Status has no value");
    if (status_.ok()) status_ = InternalError("Result built from ok Status");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const& { return status_; }
  // By value on a temporary, so `RETURN_IF_ERROR(F().status())` never binds
  // a reference into a Result that is gone.
  Status status() && { return std::move(status_); }

  // REQUIRES: ok().
  T& value() & { assert(ok()); return *value_; }
  const T& value() const& { assert(ok()); return *value_; }
  T&& value() && { assert(ok()); return std::move(*value_); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  T value_or(T fallback) const& { return ok() ? *value_ : std::move(fallback); }

 private:
  Status status_;  // ok exactly when value_ holds a value
  std::optional<T> value_;
};

namespace internal {
inline const Status& ToStatus(const Status& s) { return s; }
template <typename T>
const Status& ToStatus(const Result<T>& r) { return r.status(); }
}  // namespace internal

}  // namespace edgebench

#define EB_CONCAT_INNER_(a, b) a##b
#define EB_CONCAT_(a, b) EB_CONCAT_INNER_(a, b)

// Returns from the current function when `expr` (a Status or Result) failed.
#define RETURN_IF_ERROR(expr)                                             \
  do {                                                                    \
    const auto& eb_status_or_ = (expr);                                   \
    if (!eb_status_or_.ok())                                              \
      return ::edgebench::internal::ToStatus(eb_status_or_);              \
  } while (0)

// `ASSIGN_OR_RETURN(auto x, Foo());` declares x from Foo()'s value, or returns
// Foo()'s Status from the current function.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL_(EB_CONCAT_(eb_result_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                           \
  if (!tmp.ok()) return tmp.status();          \
  lhs = std::move(tmp).value()
