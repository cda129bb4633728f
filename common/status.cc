#include "common/status.h"

#include <cerrno>
#include <cstring>

namespace dossier {

const char* StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return "ok";
    case StatusCode::kInvalidArgument:
      return "invalid argument";
    case StatusCode::kNotFound:
      return "not found";
    case StatusCode::kRejected:
      return "rejected";
    case StatusCode::kLimitExceeded:
      return "limit exceeded";
    case StatusCode::kCorrupt:
      return "integrity failure";
    case StatusCode::kAuthFailed:
      return "authentication failed";
    case StatusCode::kIoError:
      return "I/O error";
    case StatusCode::kInternal:
      return "internal error";
  }
  return "unknown";
}

const char* StatusCodeId(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return "kOk";
    case StatusCode::kInvalidArgument:
      return "kInvalidArgument";
    case StatusCode::kNotFound:
      return "kNotFound";
    case StatusCode::kRejected:
      return "kRejected";
    case StatusCode::kLimitExceeded:
      return "kLimitExceeded";
    case StatusCode::kCorrupt:
      return "kCorrupt";
    case StatusCode::kAuthFailed:
      return "kAuthFailed";
    case StatusCode::kIoError:
      return "kIoError";
    case StatusCode::kInternal:
      return "kInternal";
  }
  return "kInternal";
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  return message_;
}

Status Status::WithContext(const std::string& context) const {
  if (ok()) return *this;
  return Status(code_, context + ": " + message_);
}

Status ErrnoError(const std::string& what, const std::string& path, int err) {
  std::string message = what + " " + path + ": " + std::strerror(err);
  if (err == ENOENT || err == ENOTDIR) return NotFound(std::move(message));
  return IoError(std::move(message));
}

int ExitCodeFor(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk:
      return 0;
    case StatusCode::kInvalidArgument:
      return 1;
    case StatusCode::kNotFound:
    case StatusCode::kRejected:
    case StatusCode::kLimitExceeded:
      return 2;
    case StatusCode::kCorrupt:
      return 3;
    case StatusCode::kAuthFailed:
      return 4;
    case StatusCode::kIoError:
    case StatusCode::kInternal:
      return 5;
  }
  return 5;
}

}  // namespace dossier
