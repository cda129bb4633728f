// The server's one table from a Status (or a refusal of its own) to an HTTP answer:
// {"error": CODE, "message": TEXT}. CODE is stable (doc/API.md §Errors; the web pages
// translate it), TEXT a sentence a person can act on. Private to server/.
#pragma once

#include <string>

#include "common/status.h"

namespace httplib {
struct Response;
}

namespace dossier::server::internal {

// Every error code the API answers with, and its HTTP status.
enum class ApiError {
  kInvalidInput,     // 400 invalid_input: malformed JSON, a wrong type, an unknown field, a bad id
  kUnauthenticated,  // 401 unauthenticated: no session, or it expired
  kBadCredentials,   // 401 bad_credentials: wrong user name or password
  kCsrf,             // 403 csrf: a state-changing request without the session's X-CSRF-Token
  kForbidden,        // 403 forbidden: the role may not use this route
  kNotFound,         // 404 not_found: no such route or object (or one the user may not see)
  kConflict,         // 409 conflict: refused by the state of the data (removed, erased, closed)
  kPrecondition,     // 412 tus_version: a tus request without Tus-Resumable: 1.0.0
  kTooLarge,         // 413 too_large: headers or body over the server's limits, an upload over
                     //     the role's size limit
  kMediaType,        // 415 media_type: a tus PATCH not sent as application/offset+octet-stream
  kLocked,           // 429 locked: too many failed logins for this name; Retry-After says when
  kThrottled,        // 429 throttled: too many failed logins from this address
  kQuota,            // 429 quota: the role's uploads per day or at once are used up
  kIntegrity,        // 500 integrity: the vault failed a check (tampering); audited
  kInternal,         // 500 internal: a failure of the server; the log has the route
  kUnavailable,      // 503 unavailable: the server is shutting down, or all long-request slots
                     //     are taken
};

int HttpStatusOf(ApiError e);
const char* CodeOf(ApiError e);

// The ApiError of a vault or module failure: kInvalidArgument → invalid_input, kNotFound →
// not_found, kRejected → conflict, kLimitExceeded → too_large, kCorrupt → integrity,
// kAuthFailed → bad_credentials, kIoError and kInternal → internal.
ApiError ErrorOf(StatusCode code);

// Sets status, Content-Type and the JSON body.
void SendError(httplib::Response& res, ApiError e, const std::string& message);
// The answer for a failed Status. Its message is passed on for the 4xx codes (the vault's
// messages carry ids, never personal data); 5xx answers say only what the user can do, never
// paths or library messages.
void SendStatus(httplib::Response& res, const Status& st);

}  // namespace dossier::server::internal
