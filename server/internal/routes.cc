// The role table and the handlers it names. Read the table first: it is the whole access
// policy of the API (doc/API.md §Routes has it in words).
#include "server/internal/routes.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <httplib.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "common/clock.h"
#include "common/file_io.h"
#include "common/ids.h"
#include "report/report.h"
#include "server/internal/errors.h"
#include "server/internal/export_routes.h"
#include "server/internal/manage_routes.h"
#include "server/internal/state.h"
#include "server/internal/upload_routes.h"

namespace dossier::server::internal {

namespace {

using nlohmann::json;

Status Login(Call& c);
Status Logout(Call& c);
Status Me(Call& c);
Status ListPatients(Call& c);
Status ShowPatient(Call& c);
Status ListCases(Call& c);
Status ShowCase(Call& c);
Status CaseDocuments(Call& c);
Status CaseSeries(Call& c);
Status CaseSearch(Call& c);
Status ShowDocument(Call& c);
Status DocumentContent(Call& c);
Status DocumentText(Call& c);
Status SeriesPreview(Call& c);
Status ListAudit(Call& c);
Status AccessReport(Call& c);
Status VerifyAudit(Call& c);
Status AuditCheckpoint(Call& c);

}  // namespace

constexpr unsigned kStaffRecords = kManager | kCompliance;  // clinics, consents
constexpr unsigned kRequests = kPatientData | kCompliance;  // the ledger (a patient: their own)
constexpr unsigned kAccounts = kManager | kAdmin;

const std::vector<Route>& Routes() {
  // clang-format off
  static const std::vector<Route> kRoutes = {
    // method    path                                  roles         object               load           handler
    {"POST",    "/api/session",                        0,            Object::kNone,       Load::kShort,  Login},
    {"DELETE",  "/api/session",                        kEveryRole,   Object::kNone,       Load::kShort,  Logout},
    {"GET",     "/api/me",                             kEveryRole,   Object::kNone,       Load::kShort,  Me},
    {"GET",     "/api/patients",                       kManager,     Object::kNone,       Load::kShort,  ListPatients},
    {"GET",     "/api/patients/{id}",                  kPatientData, Object::kPatient,    Load::kShort,  ShowPatient},
    {"GET",     "/api/cases",                          kPatientData, Object::kNone,       Load::kShort,  ListCases},
    {"GET",     "/api/cases/{id}",                     kPatientData, Object::kCase,       Load::kShort,  ShowCase},
    {"GET",     "/api/cases/{id}/documents",           kPatientData, Object::kCase,       Load::kShort,  CaseDocuments},
    {"GET",     "/api/cases/{id}/series",              kPatientData, Object::kCase,       Load::kShort,  CaseSeries},
    {"GET",     "/api/cases/{id}/search",              kManager,     Object::kCase,       Load::kShort,  CaseSearch},
    {"GET",     "/api/documents/{id}",                 kPatientData, Object::kDocument,   Load::kShort,  ShowDocument},
    {"GET",     "/api/documents/{id}/content",         kPatientData, Object::kDocument,   Load::kLong,   DocumentContent},
    {"GET",     "/api/documents/{id}/text",            kPatientData, Object::kDocument,   Load::kShort,  DocumentText},
    {"GET",     "/api/series/{id}/preview",            kPatientData, Object::kSeries,     Load::kShort,  SeriesPreview},
    // Uploads and the jobs that ingest them (upload_routes.cc).
    {"POST",    "/api/cases/{id}/uploads",             kPatientData, Object::kCaseUpload, Load::kStream, MultipartUpload},
    {"OPTIONS", "/api/cases/{id}/tus/?",               kPatientData, Object::kCaseUpload, Load::kShort,  TusOptions},
    {"POST",    "/api/cases/{id}/tus/?",               kPatientData, Object::kCaseUpload, Load::kShort,  TusCreate},
    {"GET",     "/api/cases/{id}/tus/{sub}",           kPatientData, Object::kCaseUpload, Load::kShort,  TusHead},
    {"PATCH",   "/api/cases/{id}/tus/{sub}",           kPatientData, Object::kCaseUpload, Load::kStream, TusPatch},
    {"DELETE",  "/api/cases/{id}/tus/{sub}",           kPatientData, Object::kCaseUpload, Load::kShort,  TusDelete},
    {"POST",    "/api/cases/{id}/batches/{sub}/close", kPatientData, Object::kCaseUpload, Load::kShort,  CloseBatch},
    {"GET",     "/api/jobs",                           kPatientData, Object::kNone,       Load::kShort,  ListJobs},
    {"GET",     "/api/jobs/{id}",                      kPatientData, Object::kJob,        Load::kShort,  ShowJob},
    {"GET",     "/api/jobs/{id}/events",               kPatientData, Object::kJob,        Load::kLong,   JobEvents},
    // The compliance officer's.
    {"GET",     "/api/audit",                          kCompliance,  Object::kNone,       Load::kShort,  ListAudit},
    {"GET",     "/api/audit/verify",                   kCompliance,  Object::kNone,       Load::kShort,  VerifyAudit},
    {"GET",     "/api/audit/checkpoint",               kCompliance,  Object::kNone,       Load::kShort,  AuditCheckpoint},
    {"GET",     "/api/patients/{id}/access-report",    kCompliance | kPatient | kRepresentative,
                                                                         Object::kPatientAccess, Load::kShort, AccessReport},
    // The manager's records (manage_routes.cc).
    {"POST",    "/api/patients",                       kManager,     Object::kNone,       Load::kShort,  AddPatient},
    {"PATCH",   "/api/patients/{id}",                  kManager,     Object::kPatient,    Load::kShort,  EditPatient},
    {"POST",    "/api/cases",                          kManager,     Object::kNone,       Load::kShort,  OpenCase},
    {"PATCH",   "/api/cases/{id}",                     kManager,     Object::kCase,       Load::kShort,  EditCase},
    {"POST",    "/api/cases/{id}/close",               kManager,     Object::kCase,       Load::kShort,  CloseCase},
    {"POST",    "/api/cases/{id}/reopen",              kManager,     Object::kCase,       Load::kShort,  ReopenCase},
    {"PATCH",   "/api/documents/{id}",                 kManager,     Object::kDocument,   Load::kShort,  SetDocumentCategory},
    {"POST",    "/api/documents/{id}/move",            kManager,     Object::kDocument,   Load::kShort,  MoveDocument},
    {"POST",    "/api/documents/{id}/remove",          kManager,     Object::kDocument,   Load::kShort,  RemoveDocument},
    {"POST",    "/api/series/{id}/move",               kManager,     Object::kSeries,     Load::kShort,  MoveDocument},
    {"POST",    "/api/series/{id}/remove",             kManager,     Object::kSeries,     Load::kShort,  RemoveDocument},
    // Clinics, consents and the request ledger: the manager's, which compliance reads.
    {"GET",     "/api/clinics",                        kStaffRecords, Object::kNone,      Load::kShort,  ListClinics},
    {"POST",    "/api/clinics",                        kManager,     Object::kNone,       Load::kShort,  AddClinic},
    {"PATCH",   "/api/clinics/{id}",                   kManager,     Object::kClinic,     Load::kShort,  EditClinic},
    {"GET",     "/api/consents",                       kStaffRecords, Object::kNone,      Load::kShort,  ListConsents},
    {"POST",    "/api/consents",                       kManager,     Object::kNone,       Load::kForm,   AddConsent},
    {"GET",     "/api/consents/{id}",                  kStaffRecords, Object::kConsent,   Load::kShort,  ShowConsent},
    {"POST",    "/api/consents/{id}/revoke",           kManager,     Object::kConsent,    Load::kShort,  RevokeConsent},
    {"GET",     "/api/requests",                       kRequests,    Object::kNone,       Load::kShort,  ListRequests},
    {"GET",     "/api/requests/{id}",                  kRequests,    Object::kRequest,    Load::kShort,  ShowRequest},
    // Exports to clinics (export_routes.cc).
    {"POST",    "/api/cases/{id}/exports",             kManager,     Object::kCase,       Load::kShort,  StartExport},
    {"GET",     "/api/exports/{id}",                   kManager,     Object::kExport,     Load::kShort,  ShowExport},
    {"GET",     "/api/exports/{id}/parts/{sub}",       kManager,     Object::kExport,     Load::kLong,   ExportPart},
    // Accounts: an admin keeps staff accounts, a manager those of patients and representatives.
    {"GET",     "/api/users",                          kAccounts,    Object::kNone,       Load::kShort,  ListUsers},
    {"POST",    "/api/users",                          kAccounts,    Object::kNone,       Load::kShort,  AddUser},
    {"PATCH",   "/api/users/{id}",                     kAccounts,    Object::kUser,       Load::kShort,  EditUser},
  };
  // clang-format on
  return kRoutes;
}

unsigned BitOf(vault::Role role) {
  switch (role) {
    case vault::Role::kPatient:
      return kPatient;
    case vault::Role::kRepresentative:
      return kRepresentative;
    case vault::Role::kManager:
      return kManager;
    case vault::Role::kCompliance:
      return kCompliance;
    case vault::Role::kAdmin:
      return kAdmin;
  }
  return 0;
}

bool MaySee(const vault::UserRecord& who, Object object, const vault::Vault::Owner& owner) {
  if (object == Object::kUser) {
    const bool staff = owner.patient_id.empty();
    return who.role == vault::Role::kAdmin ? staff : who.role == vault::Role::kManager && !staff;
  }
  if (object == Object::kClinic) return true;  // the role table decides
  if (who.role == vault::Role::kCompliance &&
      (object == Object::kConsent || object == Object::kRequest)) {
    return true;
  }
  if (object == Object::kPatientAccess) {
    if (who.role == vault::Role::kCompliance) return true;
    return !who.patient_id.empty() && owner.patient_id == who.patient_id &&
           (who.role == vault::Role::kPatient || who.role == vault::Role::kRepresentative);
  }
  switch (who.role) {
    case vault::Role::kManager:
      return true;
    case vault::Role::kPatient:
      return !who.patient_id.empty() && owner.patient_id == who.patient_id;
    case vault::Role::kRepresentative: {
      if (who.patient_id.empty() || owner.patient_id != who.patient_id) return false;
      if (object == Object::kDocument) {
        return owner.category == "clinic-reply" ? who.rights.replies : who.rights.view;
      }
      if (object == Object::kSeries) return who.rights.view;
      if (object == Object::kCaseUpload) return who.rights.upload;
      return who.rights.view || who.rights.replies;  // the patient, a case: what is granted
    }
    case vault::Role::kCompliance:
    case vault::Role::kAdmin:
      return false;
  }
  return false;
}

namespace {

void SendJson(httplib::Response& res, const json& body, int status = 200) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

// ---- Session ---------------------------------------------------------------------------------

// The login body: exactly {"username": string, "password": string}.
Status ParseLogin(const httplib::Request& req, std::string* name, std::string* password) {
  if (req.get_header_value("Content-Type").rfind("application/json", 0) != 0) {
    return InvalidArgument("send the login as JSON, with Content-Type: application/json");
  }
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    return InvalidArgument(
        "the body is not a JSON object: send {\"username\": …, \"password\": …}");
  }
  for (const auto& [key, value] : body.items()) {
    if (key != "username" && key != "password") {
      return InvalidArgument("unknown field `" + key.substr(0, 40) +
                             "`: a login has only username and password");
    }
    if (!value.is_string()) return InvalidArgument("`" + key + "` must be a string");
  }
  if (!body.contains("username") || !body.contains("password")) {
    return InvalidArgument("a login needs both username and password");
  }
  *name = body["username"].get<std::string>();
  *password = body["password"].get<std::string>();
  if (name->empty() || name->size() > 256 || password->size() > 1024) {
    return InvalidArgument("the user name must be 1 to 256 bytes, the password at most 1024");
  }
  return Status::Ok();
}

void Refuse429(httplib::Response& res, ApiError e, std::chrono::seconds left,
               const std::string& what) {
  const long minutes = (left.count() + 59) / 60;
  SendError(
      res, e,
      what + ": try again in " + std::to_string(minutes) + (minutes == 1 ? " minute" : " minutes"));
  res.set_header("Retry-After", std::to_string(left.count()));
}

Status Login(Call& c) {
  std::string name, password;
  DOSSIER_RETURN_IF_ERROR(ParseLogin(c.req, &name, &password));
  ServerState& s = c.state;
  const std::string address = s.ClientAddress(c.req);
  vault::ActingAs anonymous(c.vault, {"anonymous", "anonymous"});
  if (auto left = s.guard.AddressThrottled(address)) {
    DOSSIER_RETURN_IF_ERROR(
        c.vault.RecordAccessEvent("session.login_failed", {}, "", "refused", "throttled"));
    Refuse429(c.res, ApiError::kThrottled, *left, "too many failed logins from your address");
    return Status::Ok();
  }
  if (auto left = s.guard.NameLocked(name)) {
    DOSSIER_RETURN_IF_ERROR(
        c.vault.RecordAccessEvent("session.login_failed", {}, "", "refused", "locked"));
    Refuse429(c.res, ApiError::kLocked, *left, "too many failed logins for this name");
    return Status::Ok();
  }
  auto user = c.vault.Authenticate(name, password);
  if (!user.ok()) {
    if (user.status().code() != StatusCode::kAuthFailed) return user.status();
    const bool locks = s.guard.Failed(name, address);
    DOSSIER_RETURN_IF_ERROR(c.vault.RecordAccessEvent(
        locks ? "session.locked" : "session.login_failed", {}, "", "refused", "bad_credentials"));
    if (locks) {
      Refuse429(c.res, ApiError::kLocked, s.options.lock, "too many failed logins for this name");
    } else {
      SendError(c.res, ApiError::kBadCredentials, "wrong user name or password");
    }
    return Status::Ok();
  }
  s.guard.Succeeded(name);
  vault::ActingAs acting(c.vault, {user->id, std::string(vault::RoleName(user->role))});
  DOSSIER_RETURN_IF_ERROR(
      c.vault.RecordAccessEvent("session.login", {user->id}, user->patient_id, "ok"));
  const SessionStore::Issued issued = s.sessions.Create(user->id);
  c.signed_in = user->id;
  c.res.set_header("Set-Cookie", s.SessionCookie(issued.token));
  SendJson(c.res, {{"user", user->id},
                   {"role", std::string(vault::RoleName(user->role))},
                   {"csrf", issued.csrf}});
  return Status::Ok();
}

Status Logout(Call& c) {
  c.state.sessions.Remove(c.who->session_token);
  DOSSIER_RETURN_IF_ERROR(
      c.vault.RecordAccessEvent("session.logout", {c.who->user.id}, c.who->user.patient_id, "ok"));
  c.res.set_header("Set-Cookie", c.state.SessionCookie(""));
  c.res.status = 204;
  return Status::Ok();
}

json RightsJson(const vault::Rights& r) {
  json out = json::array();
  if (r.view) out.push_back("view");
  if (r.upload) out.push_back("upload");
  if (r.replies) out.push_back("replies");
  return out;
}

Status Me(Call& c) {
  const vault::UserRecord& u = c.who->user;
  json out = {{"user", u.id},
              {"name", u.name},
              {"role", std::string(vault::RoleName(u.role))},
              {"patient", u.patient_id.empty() ? json() : json(u.patient_id)}};
  if (u.role == vault::Role::kRepresentative) out["rights"] = RightsJson(u.rights);
  SendJson(c.res, out);
  return Status::Ok();
}

// ---- Patients and cases ----------------------------------------------------------------------

Status ListPatients(Call& c) {
  DOSSIER_ASSIGN_OR_RETURN(auto patients, c.vault.ListPatients());
  SendJson(c.res, report::PatientsJson(patients));
  return Status::Ok();
}

Status ShowPatient(Call& c) {
  DOSSIER_ASSIGN_OR_RETURN(json out, report::PatientDetailJson(c.vault, c.id));
  SendJson(c.res, out);
  return Status::Ok();
}

Status ListCases(Call& c) {
  std::optional<std::string> patient;
  if (c.who->user.role != vault::Role::kManager) {
    patient = c.who->user.patient_id;  // their own, whatever they ask
  } else if (c.req.has_param("patient")) {
    patient = c.req.get_param_value("patient");
    if (KindOfId(*patient) != IdKind::kPatient) {
      return InvalidArgument("?patient= takes a patient id (pat_…)");
    }
  }
  DOSSIER_ASSIGN_OR_RETURN(auto cases, c.vault.ListCases(patient));
  SendJson(c.res, report::CasesJson(cases));
  return Status::Ok();
}

Status ShowCase(Call& c) {
  DOSSIER_ASSIGN_OR_RETURN(vault::CaseRecord rec, c.vault.GetCase(c.id));
  SendJson(c.res, report::CaseJson(rec));
  return Status::Ok();
}

// What a patient or representative is shown of a listing: a representative only what is
// granted, and neither the names another person's disc carries (a manager resolves those).
json ForPatientSide(const vault::UserRecord& who, json listing) {
  if (who.role == vault::Role::kManager || !listing.is_array()) return listing;
  json out = json::array();
  for (json& item : listing) {
    const bool reply = item.value("category", "") == "clinic-reply";
    if (who.role == vault::Role::kRepresentative &&
        !(reply ? who.rights.replies : who.rights.view)) {
      continue;
    }
    if (item.contains("mismatch_facts")) item["mismatch_facts"] = "";
    out.push_back(std::move(item));
  }
  return out;
}

// GET /api/cases/{id}/documents[?limit=N&offset=M]: the listing, or the part of it from entry
// M (0 first), N entries (1 to 1000) — what a page of the portal shows. A part says the whole
// listing's length in `X-Total-Count`, and where the next part is in `Link` (rel="next").
Status CaseDocuments(Call& c) {
  for (const auto& [name, value] : c.req.params) {
    if (name != "limit" && name != "offset") {
      return InvalidArgument("?" + name.substr(0, 40) +
                             "= is not asked here: only ?limit= and ?offset=");
    }
  }
  const auto number = [&](const char* name, size_t lo, size_t hi) -> std::optional<size_t> {
    const std::string text = c.req.get_param_value(name);
    if (text.empty() || text.size() > 9 ||
        text.find_first_not_of("0123456789") != std::string::npos) {
      return std::nullopt;
    }
    const size_t n = std::stoul(text);
    return n >= lo && n <= hi ? std::optional<size_t>(n) : std::nullopt;
  };
  std::optional<size_t> limit, offset;
  if (c.req.has_param("limit") && !(limit = number("limit", 1, 1000))) {
    return InvalidArgument("?limit= takes a number of entries, 1 to 1000");
  }
  if (c.req.has_param("offset") && !(offset = number("offset", 0, 100'000'000))) {
    return InvalidArgument("?offset= takes the entry to begin at, 0 for the first");
  }
  if (offset && !limit) return InvalidArgument("?offset= goes with ?limit=");
  // The listing's entries as JSON text, kept while the case does not change: a page of a
  // 10,000-document case is a few string copies (doc/PERFORMANCE.md).
  DOSSIER_ASSIGN_OR_RETURN(auto entries, c.state.listings.Get(c.vault, c.id));
  const vault::UserRecord& who = c.who->user;
  const bool manager = who.role == vault::Role::kManager;
  std::vector<const std::string*> shown;  // what `who` is shown: ForPatientSide's rule
  shown.reserve(entries->size());
  for (const report::ListingEntry& e : *entries) {
    if (who.role == vault::Role::kRepresentative &&
        !(e.reply ? who.rights.replies : who.rights.view)) {
      continue;
    }
    shown.push_back(manager ? &e.full : &e.patient_side);
  }
  const size_t total = shown.size();
  const size_t from = limit ? std::min(total, offset.value_or(0)) : 0;
  const size_t to = limit ? std::min(total, from + *limit) : total;
  if (limit) {
    c.res.set_header("X-Total-Count", std::to_string(total));
    if (to < total) {
      c.res.set_header("Link", fmt::format("</api/cases/{}/documents?limit={}&offset={}>; "
                                           "rel=\"next\"",
                                           c.id, *limit, to));
    }
  }
  size_t bytes = 2;
  for (size_t i = from; i < to; ++i) bytes += shown[i]->size() + 1;
  std::string body;
  body.reserve(bytes);
  body += '[';
  for (size_t i = from; i < to; ++i) {
    if (i > from) body += ',';
    body += *shown[i];
  }
  body += ']';
  c.res.status = 200;
  c.res.set_content(std::move(body), "application/json");
  return Status::Ok();
}

Status CaseSeries(Call& c) {
  DOSSIER_ASSIGN_OR_RETURN(json out, report::CaseSeriesJson(c.vault, c.id));
  if (c.who->user.role == vault::Role::kRepresentative && !c.who->user.rights.view) {
    out = json::array();
  }
  SendJson(c.res, ForPatientSide(c.who->user, std::move(out)));
  return Status::Ok();
}

Status CaseSearch(Call& c) {
  const std::string q = c.req.get_param_value("q");
  if (q.empty() || q.size() > 200) {
    return InvalidArgument("?q= takes the text to look for, 1 to 200 bytes");
  }
  DOSSIER_ASSIGN_OR_RETURN(json out, report::CaseSearchJson(c.vault, c.id, q));
  SendJson(c.res, out);
  return Status::Ok();
}

// ---- Documents -------------------------------------------------------------------------------

Status ShowDocument(Call& c) {
  DOSSIER_ASSIGN_OR_RETURN(json out, report::DocumentDetailJson(c.vault, c.id));
  SendJson(c.res, out);
  return Status::Ok();
}

const char* MimeOf(const std::string& kind) {
  static const std::pair<const char*, const char*> kTypes[] = {
      {"pdf", "application/pdf"},     {"jpeg", "image/jpeg"},
      {"png", "image/png"},           {"tiff", "image/tiff"},
      {"bmp", "image/bmp"},           {"gif", "image/gif"},
      {"webp", "image/webp"},         {"heic", "image/heic"},
      {"dicom", "application/dicom"}, {"text", "text/plain; charset=utf-8"},
  };
  for (const auto& [k, mime] : kTypes) {
    if (kind == k) return mime;
  }
  return "application/octet-stream";
}

// Writes what the vault decrypts straight to the socket: nothing is buffered whole, nothing
// touches the disk.
// The bytes [from, from + length) of a document read into it go to the client; the others are
// passed over (a read is decrypted from its start, and ends at its end: a read cut short would
// be on record as a failure).
class SocketSink final : public ByteSink {
 public:
  SocketSink(httplib::DataSink& sink, uint64_t from, uint64_t length)
      : sink_(sink), from_(from), end_(from + length) {}
  Status Write(std::span<const uint8_t> bytes) override {
    const uint64_t at = seen_;
    seen_ += bytes.size();
    const uint64_t lo = std::max(at, from_), hi = std::min(seen_, end_);
    if (lo < hi && !sink_.write(reinterpret_cast<const char*>(bytes.data() + (lo - at)),
                                static_cast<size_t>(hi - lo))) {
      return IoError("the client went away during the download");
    }
    return Status::Ok();
  }

 private:
  httplib::DataSink& sink_;
  uint64_t from_, end_;
  uint64_t seen_ = 0;
};

// The bytes a download of `d` sends: the document's, or its JPEG copy's.
uint64_t ContentSize(vault::DocumentCopy copy, const vault::DocumentRecord& d) {
  return copy == vault::DocumentCopy::kRendition ? d.rendition_size : d.size;
}

Status DocumentContent(Call& c) {
  if (c.owner.status != "stored") {
    return Rejected("document " + c.id + " was " + c.owner.status + ": its content is gone");
  }
  // ?copy=jpeg: a HEIC photo's JPEG copy, which every browser shows.
  const std::string copy_param = c.req.has_param("copy") ? c.req.get_param_value("copy") : "";
  if (c.req.has_param("copy") && copy_param != "jpeg") {
    return InvalidArgument("?copy= takes jpeg (a HEIC photo's JPEG copy)");
  }
  const vault::DocumentCopy copy =
      copy_param == "jpeg" ? vault::DocumentCopy::kRendition : vault::DocumentCopy::kAsUploaded;
  DOSSIER_ASSIGN_OR_RETURN(vault::DocumentRecord d, c.vault.GetDocument(c.id));
  if (copy == vault::DocumentCopy::kRendition && d.rendition != "jpeg") {
    return NotFound("document " + c.id + " has no JPEG copy: only a HEIC photo gets one");
  }
  std::shared_ptr<void> slot = LongSlot(c);
  if (!slot) return Status::Ok();
  const uint64_t total = ContentSize(copy, d);
  if (!RangeIsServed(c, total)) return Status::Ok();
  // The name is personal (it may name the patient): the download is named by its id.
  c.res.set_header("Content-Disposition", "attachment; filename=\"" + c.id + "\"");
  vault::Vault* v = &c.vault;
  const vault::Actor actor{c.who->user.id, std::string(vault::RoleName(c.who->user.role))};
  const std::string id = c.id;
  const bool as_jpeg = copy == vault::DocumentCopy::kRendition;
  c.res.set_content_provider(
      total, MimeOf(as_jpeg ? "jpeg" : d.kind),
      // Called once for the whole document, or once for each range a `Range` header asks for
      // (206, which httplib answers with its Content-Range): each call is a read on record.
      [v, actor, id, slot, copy, total](size_t offset, size_t length, httplib::DataSink& sink) {
        if (offset >= total || length > total - offset) return false;  // RangeIsServed's job
        vault::ActingAs acting(*v, actor);  // the read is on record before the first byte
        SocketSink out(sink, offset, length);
        return v->ReadDocument(id, out, copy).ok();  // a failure cuts the answer short
      });
  return Status::Ok();
}

Status DocumentText(Call& c) {
  int page = 0;
  if (c.req.has_param("page")) {
    const std::string p = c.req.get_param_value("page");
    if (p.empty() || p.size() > 6 || p.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(p) < 1) {
      return InvalidArgument("?page= takes a page number, from 1");
    }
    page = std::stoi(p);
  }
  DOSSIER_ASSIGN_OR_RETURN(report::DocumentText text,
                           report::LoadDocumentText(c.vault, c.id, page));
  SendJson(c.res, report::TextJson(text.pages, page));
  return Status::Ok();
}

Status SeriesPreview(Call& c) {
  DOSSIER_ASSIGN_OR_RETURN(std::vector<uint8_t> png, c.vault.GetSeriesPreview(c.id));
  c.res.status = 200;
  c.res.set_content(std::string(png.begin(), png.end()), "image/png");
  return Status::Ok();
}

// ---- Audit ------------------------------------------------------------------------------------

// GET /api/audit: the audit log, oldest first, a page at a time (doc/API.md §Audit).
Status ListAudit(Call& c) {
  constexpr size_t kPage = 100, kMaxPage = 1000;
  static const std::set<std::string> kFilters = {"patient", "actor", "action", "outcome",
                                                 "since",   "until", "limit",  "after"};
  for (const auto& [name, value] : c.req.params) {
    if (kFilters.count(name) == 0) {
      return InvalidArgument("?" + name +
                             "= is not a filter of the audit log: patient, actor, action, "
                             "outcome, since, until, limit, after");
    }
  }
  const auto param = [&](const char* name) -> std::optional<std::string> {
    if (!c.req.has_param(name)) return std::nullopt;
    return c.req.get_param_value(name);
  };
  const auto number = [](const std::string& text, uint64_t max) -> std::optional<uint64_t> {
    if (text.empty() || text.size() > 18 ||
        text.find_first_not_of("0123456789") != std::string::npos) {
      return std::nullopt;
    }
    const uint64_t n = std::stoull(text);
    return n <= max ? std::optional<uint64_t>(n) : std::nullopt;
  };
  vault::AuditFilter filter;
  if (auto p = param("patient")) {
    if (KindOfId(*p) != IdKind::kPatient) {
      return InvalidArgument("?patient= takes a patient id (pat_…)");
    }
    filter.patient = *p;
  }
  if (auto a = param("actor")) {
    if (a->empty() || a->size() > vault::kMaxActorBytes) {
      return InvalidArgument(
          "?actor= takes a user id (usr_…) or an actor's name, at most 64 bytes");
    }
    filter.actor = *a;
  }
  if (auto a = param("action")) {
    if (a->empty() || a->size() > 64 ||
        a->find_first_not_of("abcdefghijklmnopqrstuvwxyz_.") != std::string::npos) {
      return InvalidArgument(
          "?action= takes an action (document.read), or every action that begins so when it "
          "ends in a dot (document.)");
    }
    filter.action = *a;
  }
  if (auto o = param("outcome")) {
    if (*o != "ok" && *o != "refused" && *o != "failed") {
      return InvalidArgument("?outcome= takes ok, refused or failed");
    }
    filter.outcome = *o;
  }
  for (const char* name : {"since", "until"}) {
    auto d = param(name);
    if (!d) continue;
    if (!ParseDate(*d)) return InvalidArgument(fmt::format("?{}= takes a date, YYYY-MM-DD", name));
    (std::string_view(name) == "since" ? filter.since : filter.until) = *d;
  }
  if (filter.since && filter.until && *filter.until < *filter.since) {
    return InvalidArgument("?until=" + *filter.until + " is before ?since=" + *filter.since);
  }
  size_t limit = kPage;
  if (auto l = param("limit")) {
    auto n = number(*l, kMaxPage);
    if (!n || *n == 0) return InvalidArgument("?limit= takes a number of events, 1 to 1000");
    limit = static_cast<size_t>(*n);
  }
  if (auto a = param("after")) {
    auto n = number(*a, uint64_t{1} << 62);
    if (!n) return InvalidArgument("?after= takes the `next` of the page before");
    filter.after = static_cast<int64_t>(*n);
  }
  filter.limit = limit + 1;  // one more: whether a next page exists
  // Reading the log is on record too, before it is read (a patient's filter names them).
  DOSSIER_RETURN_IF_ERROR(c.vault.RecordAccessEvent(
      "audit.read", {}, filter.patient ? *filter.patient : std::string(), "ok"));
  DOSSIER_ASSIGN_OR_RETURN(auto events, c.vault.ReadAudit(filter));
  const bool more = events.size() > limit;
  if (more) events.resize(limit);
  json page = json::array();
  for (const auto& e : events) page.push_back(report::AuditEventJson(e));
  SendJson(c.res, {{"events", std::move(page)},
                   {"next", more ? json(std::to_string(events.back().seq)) : json(nullptr)}});
  return Status::Ok();
}

// A CSV field: quoted when it holds a comma, a quote or a line break; one a spreadsheet would
// take for a formula (=, +, -, @) begins with an apostrophe.
std::string CsvField(const std::string& value) {
  std::string v = value;
  if (!v.empty() && std::string_view("=+-@").find(v.front()) != std::string_view::npos) {
    v.insert(0, "'");
  }
  if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
  std::string out = "\"";
  for (char ch : v) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return out + "\"";
}

// GET /api/patients/{id}/access-report: every event about the patient — who, when, what, under
// which request, with what outcome — as JSON, or with ?format=csv as a spreadsheet opens it
// (UTF-8 with a BOM, a header row). The report 152-FZ art. 14 gives a patient the right to.
Status AccessReport(Call& c) {
  for (const auto& [name, value] : c.req.params) {
    if (name != "format") return InvalidArgument("?" + name + "= is not asked here: only ?format=");
  }
  const std::string format = c.req.has_param("format") ? c.req.get_param_value("format") : "json";
  if (format != "json" && format != "csv") return InvalidArgument("?format= takes json or csv");
  vault::AuditFilter filter;
  filter.patient = c.id;
  // On record before it is read, so the report a patient asks for next shows who asked before.
  DOSSIER_RETURN_IF_ERROR(c.vault.RecordAccessEvent("audit.report", {c.id}, c.id, "ok"));
  DOSSIER_ASSIGN_OR_RETURN(auto events, c.vault.ReadAudit(filter));
  const auto request_of = [](const vault::AuditEvent& e) {
    for (const auto& o : e.objects) {
      if (KindOfId(o) == IdKind::kRequest) return o;
    }
    return std::string();
  };
  if (format == "csv") {
    std::string csv = "\xEF\xBB\xBFtime,actor_id,actor_role,action,objects,request_id,outcome\r\n";
    for (const auto& e : events) {
      csv += CsvField(e.at) + "," + CsvField(e.actor) + "," + CsvField(e.role) + "," +
             CsvField(e.action) + "," + CsvField(fmt::format("{}", fmt::join(e.objects, " "))) +
             "," + CsvField(request_of(e)) + "," + CsvField(e.outcome) + "\r\n";
    }
    c.res.set_header("Content-Disposition",
                     "attachment; filename=\"access-report-" + c.id + ".csv\"");
    c.res.set_content(csv, "text/csv; charset=utf-8");
    c.res.status = 200;
    return Status::Ok();
  }
  json rows = json::array();
  for (const auto& e : events) {
    rows.push_back({{"time", e.at},
                    {"actor_id", e.actor},
                    {"actor_role", e.role},
                    {"action", e.action},
                    {"objects", e.objects},
                    {"request_id", request_of(e)},
                    {"outcome", e.outcome}});
  }
  SendJson(c.res, {{"patient", c.id}, {"events", std::move(rows)}});
  return Status::Ok();
}

// GET /api/audit/verify[?pinned_key=HEX]: the whole log checked, as `dossier audit verify
// --json` prints it. A log that fails is still 200: `intact` false and its `problems`.
Status VerifyAudit(Call& c) {
  for (const auto& [name, value] : c.req.params) {
    if (name != "pinned_key") {
      return InvalidArgument("?" + name + "= is not asked here: only ?pinned_key=");
    }
  }
  vault::AuditAnchors anchors;
  if (c.req.has_param("pinned_key")) anchors.pinned_key_hex = c.req.get_param_value("pinned_key");
  DOSSIER_RETURN_IF_ERROR(c.vault.RecordAccessEvent("audit.verify", {}, "", "ok"));
  DOSSIER_ASSIGN_OR_RETURN(vault::AuditVerifyReport r, c.vault.VerifyAudit(anchors));
  SendJson(c.res, report::AuditVerifyJson(r));
  return Status::Ok();
}

// GET /api/audit/checkpoint: the signed head of the log now, as text to keep outside the vault
// (doc/FORMAT.md §Audit): a later verify proves the log still extends it.
Status AuditCheckpoint(Call& c) {
  if (!c.req.params.empty()) return InvalidArgument("this takes no query");
  const std::string now = FormatUtc(c.state.clock.Now());
  DOSSIER_ASSIGN_OR_RETURN(std::string text, c.vault.AuditCheckpoint(now));
  c.res.set_header("Content-Disposition", "attachment; filename=\"audit-checkpoint.txt\"");
  c.res.set_content(text, "text/plain; charset=utf-8");
  c.res.status = 200;
  return Status::Ok();
}

}  // namespace

// httplib 0.11 answers a `Range` as the client wrote it, never checking it against the length
// (a range past the end would have the content provider called for ever). One range is served,
// its end cut to the last byte as RFC 9110 says; one that starts past the end, or several
// (each would decrypt the whole document again), are 416 with `Content-Range: bytes */SIZE`.
bool RangeIsServed(Call& c, uint64_t total) {
  if (c.req.ranges.empty()) return true;
  // httplib's own Request, not const where it lives: the range it will apply is set here.
  auto& ranges = const_cast<httplib::Ranges&>(c.req.ranges);
  auto refuse = [&](const std::string& why) {
    ranges.clear();  // or httplib would cut the refusal's JSON to the range
    SendError(c.res, ApiError::kInvalidInput, why);
    c.res.status = 416;
    c.res.set_header("Content-Range", "bytes */" + std::to_string(total));
    return false;
  };
  if (ranges.size() > 1) return refuse("ask for one range of bytes at a time");
  auto& [first, last] = ranges.front();
  const auto size = static_cast<ssize_t>(total);
  if (first < 0) {  // the last `last` bytes
    if (last <= 0 || size == 0) return refuse("the range asks for no bytes");
    first = std::max<ssize_t>(0, size - last);
    last = size - 1;
    return true;
  }
  if (first >= size) {
    return refuse(fmt::format("it has {} bytes: a range must begin before its end", total));
  }
  if (last < 0 || last >= size) last = size - 1;
  return last >= first || refuse("the range ends before it begins");
}

std::shared_ptr<void> LongSlot(Call& c) {
  std::shared_ptr<void> slot = c.state.long_slots.TryTake();
  if (!slot) {
    SendError(c.res, ApiError::kUnavailable,
              "the server is busy with other uploads and downloads: try again in a minute");
    c.res.set_header("Retry-After", "60");
  }
  return slot;
}

}  // namespace dossier::server::internal
