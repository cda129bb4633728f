// Status and Result<T>: how every fallible call in Dossier reports expected failures.
//
//   Result<std::string> id = vault.AddPatient(info);
//   if (!id.ok()) return id.status();
//   DOSSIER_ASSIGN_OR_RETURN(auto doc, vault.FindDocument(doc_id));
//
// Codes are few and each maps to one exit code of the `dossier` command (see ExitCodeFor).
// Messages are built where the failure happens and name the file, entry or id involved —
// never personal data (patient names, document text).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace dossier {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // caller gave a malformed value (bad date, unknown option): exit 1
  kNotFound,         // no such vault, patient, case, document: exit 2
  kRejected,         // input refused by content or policy (executable upload, erased data): exit 2
  kLimitExceeded,    // a configured limit was hit: exit 2
  kCorrupt,          // integrity failure: authentication tag, hash, or structure mismatch: exit 3
  kAuthFailed,       // wrong passphrase or credentials: exit 4
  kIoError,          // the operating system refused a read, write, fsync or rename: exit 5
  kInternal,         // a bug or an unexpected library failure: exit 5
};

const char* StatusCodeName(StatusCode code);
// The code as written in audit events and JSON: "kNotFound", "kCorrupt", … (the enumerator).
const char* StatusCodeId(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string ToString() const;

  // Returns a copy whose message is prefixed with `context: `.
  Status WithContext(const std::string& context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) {
  return {StatusCode::kInvalidArgument, std::move(m)};
}
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status Rejected(std::string m) { return {StatusCode::kRejected, std::move(m)}; }
inline Status LimitExceeded(std::string m) { return {StatusCode::kLimitExceeded, std::move(m)}; }
inline Status Corrupt(std::string m) { return {StatusCode::kCorrupt, std::move(m)}; }
inline Status AuthFailed(std::string m) { return {StatusCode::kAuthFailed, std::move(m)}; }
inline Status IoError(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

// Builds the error of a failed system call: "<what> <path>: <strerror>". A missing file or
// folder (ENOENT, ENOTDIR) is kNotFound, like every other "not found" (exit 2); anything else
// is kIoError.
Status ErrnoError(const std::string& what, const std::string& path, int err);

// The process exit code for a status, as fixed by DESIGN.md §4.
int ExitCodeFor(const Status& status);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT
  Result(Status status) : v_(std::move(status)) {}  // NOLINT
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

#define DOSSIER_CONCAT_INNER(a, b) a##b
#define DOSSIER_CONCAT(a, b) DOSSIER_CONCAT_INNER(a, b)

#define DOSSIER_RETURN_IF_ERROR(expr) \
  do {                                \
    ::dossier::Status _st = (expr);   \
    if (!_st.ok()) return _st;        \
  } while (0)

#define DOSSIER_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return tmp.status();                 \
  lhs = std::move(tmp).value()

#define DOSSIER_ASSIGN_OR_RETURN(lhs, expr) \
  DOSSIER_ASSIGN_OR_RETURN_IMPL(DOSSIER_CONCAT(_res_, __LINE__), lhs, expr)

}  // namespace dossier
