#include "common/status.h"

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

std::string Status::ToString() const {
  if (ok()) return "ok";
  return message_;
}

Status Status::WithContext(const std::string& context) const {
  if (ok()) return *this;
  return Status(code_, context + ": " + message_);
}

Status ErrnoError(const std::string& what, const std::string& path, int err) {
  return IoError(what + " " + path + ": " + std::strerror(err));
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
