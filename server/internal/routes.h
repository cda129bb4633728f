// The role table: every route of the API, registered once with the roles that may use it and
// the check of whose object it names (doc/API.md §Routes). Handlers hold no access checks of
// their own: the dispatcher (server.cc) runs this table's before any handler. Private to
// server/.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "vault/vault.h"

namespace httplib {
struct Request;
struct Response;
class ContentReader;
}  // namespace httplib

namespace dossier::server::internal {

class SessionStore;
class LoginGuard;

// Who asks: a signed-in user, read again from the vault on every request (a disabled account
// or a revoked right counts at once).
struct Principal {
  vault::UserRecord user;
  std::string session_token;  // the cookie's value
  std::string csrf;
};

// The roles a route allows, as a bit set.
enum RoleBit : unsigned {
  kPatient = 1u << 0,
  kRepresentative = 1u << 1,
  kManager = 1u << 2,
  kCompliance = 1u << 3,
  kAdmin = 1u << 4,
};
constexpr unsigned kEveryRole = kPatient | kRepresentative | kManager | kCompliance | kAdmin;
constexpr unsigned kPatientData = kPatient | kRepresentative | kManager;
unsigned BitOf(vault::Role role);

// What the `{id}` of a route's path names; the dispatcher checks that the id is of that kind
// (400 otherwise) and that the user may see it (404 otherwise, as for an id that does not
// exist).
// kCaseUpload is a case the user may upload to (a representative needs the `upload` right);
// kJob a job of the user's (a manager: any job), looked up in the server's jobs.
// kPatientAccess: a patient's record of access (their access report), which the compliance
// officer sees for every patient, and a patient or representative for their own.
// kClinic is checked for its kind only (a clinic is nobody's); kConsent, kRequest and kExport
// are a patient's (the compliance officer sees them all); kUser an account, which an admin
// keeps for staff and a manager for patients and representatives.
enum class Object {
  kNone,
  kPatient,
  kPatientAccess,
  kCase,
  kDocument,
  kSeries,
  kCaseUpload,
  kJob,
  kClinic,
  kConsent,
  kRequest,
  kExport,
  kUser,
};

// What a handler gets: the request, the answer to fill, who asks (null only on the login
// route), the vault, and the checked object.
struct ServerState;
class Job;
struct Call {
  const httplib::Request& req;
  httplib::Response& res;
  const Principal* who;
  vault::Vault& vault;
  ServerState& state;
  std::string id;             // the path's {id}; empty for routes without one
  vault::Vault::Owner owner;  // whose it is (Object != kNone)
  std::string signed_in;      // set by sign-in: the user the request log names
  std::string sub;            // the path's second part ({upload}, {batch}), unchecked
  // A kStream route's body, read by the handler (null when the request has none).
  const httplib::ContentReader* body = nullptr;
  std::shared_ptr<Job> job;  // Object::kJob
};
// Fills `call.res` (JSON or content) or returns the failure, which the dispatcher answers.
using Handler = Status (*)(Call& call);

// How long a route holds its thread: kLong takes one of the long-request slots (downloads,
// event streams); kStream does too, and reads its own body as it arrives (uploads), so the
// server's small-body limit does not apply to it.
// kForm is short, but takes a body up to the server's form limit, read whole by httplib and
// parsed as JSON or multipart/form-data (a consent with its signed scan).
enum class Load { kShort, kLong, kStream, kForm };

struct Route {
  const char* method;  // GET (HEAD too), POST, PATCH, DELETE, OPTIONS
  const char* path;    // a template: "/api/cases/{id}/documents", "/api/cases/{id}/tus/{sub}"
  unsigned roles;      // 0: anyone, signed in or not (the login route only)
  Object object;
  Load load;
  Handler handler;
};

// For a download of `total` bytes: whether its `Range` header (if any) is served — one
// range, its end cut to the last byte; otherwise the 416 answer is set and false returned.
bool RangeIsServed(Call& c, uint64_t total);

// One of the long-request slots for the whole of a download, upload body or event stream;
// null when all are taken, the 503 answer (Retry-After: 60) then set.
std::shared_ptr<void> LongSlot(Call& c);

// The whole table.
const std::vector<Route>& Routes();

// The object rule, in one place: whether `who` may see the object `owner` describes (a
// manager any; a patient their own; a representative their patient's, as granted: clinic
// replies with `replies`, everything else with `view`).
bool MaySee(const vault::UserRecord& who, Object object, const vault::Vault::Owner& owner);

}  // namespace dossier::server::internal
