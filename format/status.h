// Status and Result<T>: how expected failures cross module boundaries.
//
// A Status is OK or carries one code from a small closed set plus a message that names what failed
// (a path, a session id, a chunk number). Result<T> holds either a value or a non-OK Status; it never
// holds an OK Status without a value. Both are cheap to move and [[nodiscard]].
//
// Bugs are not Statuses: AT_CHECK aborts with the values involved.
//
// Thread-safety: values, no shared state.
#ifndef AGENTTRACE_FORMAT_STATUS_H_
#define AGENTTRACE_FORMAT_STATUS_H_

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace agenttrace {

enum class StatusCode {
  kOk = 0,
  kNotFound,
  kCorruption,
  kInvalidArgument,
  kIOError,
  kUnsupported,
  kResourceExhausted,
  kPermissionDenied,
  kInternal,
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status Corruption(std::string m) { return {StatusCode::kCorruption, std::move(m)}; }
  static Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
  static Status IOError(std::string m) { return {StatusCode::kIOError, std::move(m)}; }
  static Status Unsupported(std::string m) { return {StatusCode::kUnsupported, std::move(m)}; }
  static Status ResourceExhausted(std::string m) { return {StatusCode::kResourceExhausted, std::move(m)}; }
  static Status PermissionDenied(std::string m) { return {StatusCode::kPermissionDenied, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
  // An I/O failure from errno, e.g. ErrnoError("open /x", errno) -> "open /x: No such file or directory".
  static Status FromErrno(std::string_view what, int err);

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "Corruption: session 0190..: chunk 4: bad checksum"
  std::string ToString() const;

  // Prepends context: Status::IOError("x").WithContext("store /s") -> "store /s: x".
  Status WithContext(std::string_view context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    if (std::get<Status>(v_).ok()) {
      v_ = Status::Internal("Result constructed from an OK status without a value");
    }
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

[[noreturn]] void CheckFailed(const char* file, int line, const char* expr, const std::string& detail);

}  // namespace agenttrace

// Always-on invariant check. AT_CHECK(cond) or AT_CHECK_MSG(cond, "x=" + std::to_string(x)).
#define AT_CHECK(cond)                                                    \
  do {                                                                    \
    if (!(cond)) ::agenttrace::CheckFailed(__FILE__, __LINE__, #cond, ""); \
  } while (0)
#define AT_CHECK_MSG(cond, detail)                                            \
  do {                                                                        \
    if (!(cond)) ::agenttrace::CheckFailed(__FILE__, __LINE__, #cond, (detail)); \
  } while (0)

// Propagates a non-OK Status from an expression returning Status.
#define AT_RETURN_IF_ERROR(expr)               \
  do {                                         \
    ::agenttrace::Status at_status_ = (expr);  \
    if (!at_status_.ok()) return at_status_;   \
  } while (0)

#define AT_CONCAT_INNER_(a, b) a##b
#define AT_CONCAT_(a, b) AT_CONCAT_INNER_(a, b)
// AT_ASSIGN_OR_RETURN(auto x, ExprReturningResult());
#define AT_ASSIGN_OR_RETURN(lhs, expr)                              \
  auto AT_CONCAT_(at_result_, __LINE__) = (expr);                   \
  if (!AT_CONCAT_(at_result_, __LINE__).ok())                       \
    return AT_CONCAT_(at_result_, __LINE__).status();               \
  lhs = std::move(AT_CONCAT_(at_result_, __LINE__)).value()

#endif  // AGENTTRACE_FORMAT_STATUS_H_
