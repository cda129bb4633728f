#include "server/internal/errors.h"

#include <httplib.h>

#include <nlohmann/json.hpp>

namespace dossier::server::internal {

namespace {

struct Row {
  ApiError error;
  int http;
  const char* code;
};

constexpr Row kTable[] = {
    {ApiError::kInvalidInput, 400, "invalid_input"},
    {ApiError::kUnauthenticated, 401, "unauthenticated"},
    {ApiError::kBadCredentials, 401, "bad_credentials"},
    {ApiError::kCsrf, 403, "csrf"},
    {ApiError::kForbidden, 403, "forbidden"},
    {ApiError::kNotFound, 404, "not_found"},
    {ApiError::kConflict, 409, "conflict"},
    {ApiError::kPrecondition, 412, "tus_version"},
    {ApiError::kTooLarge, 413, "too_large"},
    {ApiError::kMediaType, 415, "media_type"},
    {ApiError::kLocked, 429, "locked"},
    {ApiError::kThrottled, 429, "throttled"},
    {ApiError::kQuota, 429, "quota"},
    {ApiError::kIntegrity, 500, "integrity"},
    {ApiError::kInternal, 500, "internal"},
    {ApiError::kUnavailable, 503, "unavailable"},
};

const Row& RowOf(ApiError e) {
  for (const Row& r : kTable) {
    if (r.error == e) return r;
  }
  static constexpr Row kInternalRow{ApiError::kInternal, 500, "internal"};
  return kInternalRow;  // every ApiError has a row; this is never reached
}

}  // namespace

int HttpStatusOf(ApiError e) { return RowOf(e).http; }
const char* CodeOf(ApiError e) { return RowOf(e).code; }

ApiError ErrorOf(StatusCode code) {
  switch (code) {
    case StatusCode::kInvalidArgument:
      return ApiError::kInvalidInput;
    case StatusCode::kNotFound:
      return ApiError::kNotFound;
    case StatusCode::kRejected:
      return ApiError::kConflict;
    case StatusCode::kLimitExceeded:
      return ApiError::kTooLarge;
    case StatusCode::kCorrupt:
      return ApiError::kIntegrity;
    case StatusCode::kAuthFailed:
      return ApiError::kBadCredentials;
    case StatusCode::kOk:
    case StatusCode::kIoError:
    case StatusCode::kInternal:
      break;
  }
  return ApiError::kInternal;
}

void SendError(httplib::Response& res, ApiError e, const std::string& message) {
  res.status = HttpStatusOf(e);
  nlohmann::json body = {{"error", CodeOf(e)}, {"message", message}};
  res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                  "application/json");
}

void SendStatus(httplib::Response& res, const Status& st) {
  const ApiError e = ErrorOf(st.code());
  switch (e) {
    case ApiError::kIntegrity:
      SendError(res, e,
                "the vault failed an integrity check; nothing was returned. The event is on "
                "record: tell the vault's administrator (they run `dossier vault verify`)");
      return;
    case ApiError::kInternal:
      SendError(res, e,
                "the server could not complete the request; try again, and if it keeps "
                "failing tell the vault's administrator (the server log has the time)");
      return;
    default:
      SendError(res, e, st.message());
  }
}

}  // namespace dossier::server::internal
