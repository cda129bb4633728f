// Patients, cases, corrections, clinics, consents, the request ledger and accounts over HTTP:
// each handler is the CLI command of the same name (app/commands_*.cc) with a JSON body for
// its options. The vault checks every value (naming the field, never echoing it); a refusal
// changes nothing.
#include "server/internal/manage_routes.h"

#include <fmt/format.h>
#include <httplib.h>

#include <algorithm>
#include <map>
#include <set>

#include "common/category.h"
#include "common/clock.h"
#include "common/ids.h"
#include "exporter/fhir.h"
#include "ingest/sniff.h"
#include "report/report.h"
#include "server/internal/errors.h"
#include "server/internal/state.h"

namespace dossier::server::internal {

using nlohmann::json;

namespace {

void SendJson(httplib::Response& res, const json& body, int status = 200) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

// A key is named in a message only when it looks like a field name: a name typed there is
// personal data.
std::string KeyForMessage(const std::string& key) {
  const bool plain =
      !key.empty() && key.size() <= 32 && std::all_of(key.begin(), key.end(), [](char ch) {
        return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
      });
  return plain ? "`" + key + "`" : "a key";
}

Result<json> CheckBody(const json& body, const char* what,
                       std::initializer_list<BodyField> fields) {
  std::string names;
  bool any_required = false;
  for (const BodyField& f : fields) {
    names += (names.empty() ? "" : ", ") + std::string(f.name);
    any_required = any_required || f.required;
  }
  if (!body.is_object()) {
    return InvalidArgument(fmt::format("the body is not a JSON object: {} has {}", what, names));
  }
  for (const auto& [key, value] : body.items()) {
    const BodyField* field = nullptr;
    for (const BodyField& f : fields) {
      if (key == f.name) field = &f;
    }
    if (!field) {
      return InvalidArgument(
          fmt::format("{} is not a field of {}: it has {}", KeyForMessage(key), what, names));
    }
    const bool ok =
        field->type == 's' ? value.is_string()
        : field->type == 'b'
            ? value.is_boolean()
            : value.is_array() && std::all_of(value.begin(), value.end(),
                                              [](const json& v) { return v.is_string(); });
    if (!ok) {
      return InvalidArgument(fmt::format("`{}` must be {}", key,
                                         field->type == 's'   ? "a string"
                                         : field->type == 'b' ? "true or false"
                                                              : "an array of strings"));
    }
  }
  for (const BodyField& f : fields) {
    if (f.required && !body.contains(f.name)) {
      return InvalidArgument(fmt::format("{} needs `{}`", what, f.name));
    }
  }
  if (!any_required && body.empty()) {
    return InvalidArgument(fmt::format("nothing to change: give one or more of {}", names));
  }
  return body;
}

std::string Str(const json& body, const char* key) { return body.value(key, std::string()); }
std::optional<std::string> Opt(const json& body, const char* key) {
  if (!body.contains(key)) return std::nullopt;
  return body[key].get<std::string>();
}

// Only the query parameters named; kInvalidArgument for any other.
Status OnlyParams(const Call& c, std::initializer_list<const char*> allowed) {
  for (const auto& [name, value] : c.req.params) {
    if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return name == a; })) {
      std::string list;
      for (const char* a : allowed) list += (list.empty() ? "?" : ", ?") + std::string(a) + "=";
      return InvalidArgument("?" + name.substr(0, 40) + "= is not asked here" +
                             (list.empty() ? ": this takes no query" : ": only " + list));
    }
  }
  return Status::Ok();
}

std::optional<std::string> Param(const Call& c, const char* name) {
  if (!c.req.has_param(name)) return std::nullopt;
  return c.req.get_param_value(name);
}

Status ExpectBodyId(const std::string& value, IdKind kind, const char* field) {
  if (KindOfId(value) == kind) return Status::Ok();
  return InvalidArgument(
      fmt::format("`{}` takes a {} id ({}…)", field, IdKindName(kind), IdPrefix(kind)));
}

// "a,b" or ["a", "b"] → the codes, each unknown one named with the allowed list.
template <typename E, typename P>
Result<std::vector<E>> Codes(const json& list, const char* field, P parse,
                             const std::string& allowed) {
  std::vector<E> out;
  for (const auto& item : list) {
    auto e = parse(item.get<std::string>());
    if (!e) {
      return InvalidArgument(fmt::format("`{}`: {} is not one of {}", field,
                                         KeyForMessage(item.get<std::string>()), allowed));
    }
    if (std::find(out.begin(), out.end(), *e) == out.end()) out.push_back(*e);
  }
  if (out.empty())
    return InvalidArgument(fmt::format("`{}` needs one or more of {}", field, allowed));
  return out;
}

}  // namespace

Result<json> ReadJsonBody(const Call& c, const char* what,
                          std::initializer_list<BodyField> fields) {
  if (c.req.get_header_value("Content-Type").rfind("application/json", 0) != 0) {
    return InvalidArgument("send the body as JSON, with Content-Type: application/json");
  }
  json body = json::parse(c.req.body, nullptr, false);
  if (body.is_discarded()) return InvalidArgument("the body is not valid JSON");
  return CheckBody(body, what, fields);
}

// ---- Patients and cases ----------------------------------------------------------------------

// POST /api/patients: `dossier patient add --from`. 201 {"id", "same_as"}; a live patient with
// the same name and birth date is 409 unless `duplicate_ok`.
Status AddPatient(Call& c) {
  DOSSIER_ASSIGN_OR_RETURN(json body, ReadJsonBody(c, "a patient",
                                                   {{"name", 's', true},
                                                    {"birth_date", 's', true},
                                                    {"phone", 's'},
                                                    {"email", 's'},
                                                    {"duplicate_ok", 'b'}}));
  const vault::PatientInfo info{Str(body, "name"), Str(body, "birth_date"), Str(body, "phone"),
                                Str(body, "email")};
  DOSSIER_ASSIGN_OR_RETURN(
      vault::AddedPatient added,
      c.vault.AddPatient(info, body.value("duplicate_ok", false) ? vault::SamePatient::kAllow
                                                                 : vault::SamePatient::kRefuse));
  SendJson(c.res, {{"id", added.id}, {"same_as", added.same_as}}, 201);
  return Status::Ok();
}

// PATCH /api/patients/{id}: `dossier patient edit`. {"id", "changed"}: the fields whose value
// changed (none: nothing written or recorded).
Status EditPatient(Call& c) {
  DOSSIER_ASSIGN_OR_RETURN(
      json body,
      ReadJsonBody(c, "a patient",
                   {{"name", 's'}, {"birth_date", 's'}, {"phone", 's'}, {"email", 's'}}));
  vault::PatientChanges changes{Opt(body, "name"), Opt(body, "birth_date"), Opt(body, "phone"),
                                Opt(body, "email")};
  DOSSIER_ASSIGN_OR_RETURN(auto changed, c.vault.EditPatient(c.id, changes));
  SendJson(c.res, {{"id", c.id}, {"changed", changed}});
  return Status::Ok();
}

// POST /api/cases: `dossier case open`. 201 {"id"}.
Status OpenCase(Call& c) {
  DOSSIER_ASSIGN_OR_RETURN(
      json body,
      ReadJsonBody(c, "a case", {{"patient", 's', true}, {"goal", 's', true}, {"question", 's'}}));
  const std::string patient = Str(body, "patient");
  DOSSIER_RETURN_IF_ERROR(ExpectBodyId(patient, IdKind::kPatient, "patient"));
  if (Str(body, "goal").empty()) return InvalidArgument("`goal` is empty: a case needs one");
  DOSSIER_ASSIGN_OR_RETURN(std::string id,
                           c.vault.OpenCase(patient, Str(body, "goal"), Str(body, "question")));
  SendJson(c.res, {{"id", id}}, 201);
  return Status::Ok();
}

// PATCH /api/cases/{id}: `dossier case edit`. {"id", "changed"}.
Status EditCase(Call& c) {
  DOSSIER_ASSIGN_OR_RETURN(json body,
                           ReadJsonBody(c, "a case", {{"goal", 's'}, {"question", 's'}}));
  vault::CaseChanges changes{Opt(body, "goal"), Opt(body, "question")};
  if (changes.goal && changes.goal->empty()) {
    return InvalidArgument(
        "`goal` is empty: a case needs one (to remove the question, give \"question\": \"\")");
  }
  DOSSIER_ASSIGN_OR_RETURN(auto changed, c.vault.EditCase(c.id, changes));
  SendJson(c.res, {{"id", c.id}, {"changed", changed}});
  return Status::Ok();
}

namespace {
Status SetCaseOpen(Call& c, bool open) {
  if (!c.req.body.empty()) return InvalidArgument("this takes no body");
  DOSSIER_RETURN_IF_ERROR(open ? c.vault.ReopenCase(c.id) : c.vault.CloseCase(c.id));
  SendJson(c.res, {{"id", c.id}, {"status", open ? "open" : "closed"}});
  return Status::Ok();
}
}  // namespace

// POST /api/cases/{id}/close and /reopen: `dossier case close|reopen`. 409 when it already is.
Status CloseCase(Call& c) { return SetCaseOpen(c, false); }
Status ReopenCase(Call& c) { return SetCaseOpen(c, true); }

// ---- Corrections -------------------------------------------------------------------------------

// PATCH /api/documents/{id}: a manager's category ({"category"}), as `dossier docs category`.
Status SetDocumentCategory(Call& c) {
  DOSSIER_ASSIGN_OR_RETURN(json body, ReadJsonBody(c, "a document", {{"category", 's', true}}));
  const std::string category = Str(body, "category");
  if (!ParseCategory(category)) {
    return InvalidArgument("`category` takes one of " + AllCategoryNames());
  }
  DOSSIER_RETURN_IF_ERROR(c.vault.SetCategory(c.id, category));
  SendJson(c.res, {{"id", c.id}, {"category", category}});
  return Status::Ok();
}

// POST /api/documents/{id}/move and /api/series/{id}/move: `dossier docs move`, {"to_case"}.
Status MoveDocument(Call& c) {
  DOSSIER_ASSIGN_OR_RETURN(json body, ReadJsonBody(c, "a move", {{"to_case", 's', true}}));
  const std::string to_case = Str(body, "to_case");
  DOSSIER_RETURN_IF_ERROR(ExpectBodyId(to_case, IdKind::kCase, "to_case"));
  DOSSIER_ASSIGN_OR_RETURN(vault::MoveOutcome m,
                           c.vault.Move(c.id, to_case, report::RecheckInstance));
  SendJson(c.res, report::MoveOutcomeJson(m));
  return Status::Ok();
}

// POST /api/documents/{id}/remove and /api/series/{id}/remove: `dossier docs remove`,
// {"reason"}.
Status RemoveDocument(Call& c) {
  DOSSIER_ASSIGN_OR_RETURN(json body, ReadJsonBody(c, "a removal", {{"reason", 's', true}}));
  const std::string reason = Str(body, "reason");
  if (reason.find_first_not_of(" \t\r\n") == std::string::npos) {
    return InvalidArgument("`reason` is empty: say why " + c.id +
                           " is removed (kept sealed with its record)");
  }
  DOSSIER_ASSIGN_OR_RETURN(vault::RemoveOutcome r, c.vault.Remove(c.id, reason));
  SendJson(c.res, report::RemoveOutcomeJson(r));
  return Status::Ok();
}

// ---- Clinics -----------------------------------------------------------------------------------

Status ListClinics(Call& c) {
  DOSSIER_RETURN_IF_ERROR(OnlyParams(c, {}));
  DOSSIER_ASSIGN_OR_RETURN(auto all, c.vault.ListClinics());
  json out = json::array();
  for (const auto& clinic : all) out.push_back(report::ClinicJson(clinic));
  SendJson(c.res, out);
  return Status::Ok();
}

// POST /api/clinics: `dossier clinic add`. 201 {"id"}; a name already registered is 409.
Status AddClinic(Call& c) {
  DOSSIER_ASSIGN_OR_RETURN(
      json body,
      ReadJsonBody(c, "a clinic",
                   {{"name", 's', true}, {"country", 's', true}, {"email", 's'}, {"note", 's'}}));
  DOSSIER_ASSIGN_OR_RETURN(std::string id,
                           c.vault.AddClinic({Str(body, "name"), Str(body, "country"),
                                              Str(body, "email"), Str(body, "note")}));
  SendJson(c.res, {{"id", id}}, 201);
  return Status::Ok();
}

// PATCH /api/clinics/{id}: `dossier clinic edit`; what is not given stays. The clinic as it is
// now.
Status EditClinic(Call& c) {
  DOSSIER_ASSIGN_OR_RETURN(
      json body, ReadJsonBody(c, "a clinic",
                              {{"name", 's'}, {"country", 's'}, {"email", 's'}, {"note", 's'}}));
  DOSSIER_ASSIGN_OR_RETURN(vault::ClinicRecord clinic, c.vault.FindClinic(c.id));
  vault::ClinicInfo info = clinic.info;
  info.name = body.value("name", info.name);
  info.country = body.value("country", info.country);
  info.email = body.value("email", info.email);
  info.note = body.value("note", info.note);
  DOSSIER_RETURN_IF_ERROR(c.vault.EditClinic(c.id, info));
  clinic.info = info;
  SendJson(c.res, report::ClinicJson(clinic));
  return Status::Ok();
}

// ---- Consents ----------------------------------------------------------------------------------

// GET /api/consents[?patient=&state=]: `dossier consent list`.
Status ListConsents(Call& c) {
  DOSSIER_RETURN_IF_ERROR(OnlyParams(c, {"patient", "state"}));
  const auto patient = Param(c, "patient");
  if (patient && KindOfId(*patient) != IdKind::kPatient) {
    return InvalidArgument("?patient= takes a patient id (pat_…)");
  }
  const std::string state = Param(c, "state").value_or("");
  static const std::set<std::string> kStates = {"", "active", "expired", "revoked",
                                                "destruction-due"};
  if (kStates.count(state) == 0) {
    return InvalidArgument("?state= takes active, expired, revoked or destruction-due");
  }
  DOSSIER_ASSIGN_OR_RETURN(json out, report::ConsentsJson(c.vault, patient, state));
  SendJson(c.res, out);
  return Status::Ok();
}

// GET /api/consents/{id}[?format=fhir]: `dossier consent show [--fhir]`.
Status ShowConsent(Call& c) {
  DOSSIER_RETURN_IF_ERROR(OnlyParams(c, {"format"}));
  const std::string format = Param(c, "format").value_or("json");
  if (format != "json" && format != "fhir") return InvalidArgument("?format= takes json or fhir");
  if (format == "fhir") {
    DOSSIER_ASSIGN_OR_RETURN(json out, exporter::ConsentFhirJson(c.vault, c.id));
    c.res.status = 200;
    c.res.set_content(out.dump(-1, ' ', false, json::error_handler_t::replace),
                      "application/fhir+json");
    return Status::Ok();
  }
  DOSSIER_ASSIGN_OR_RETURN(json out, report::ConsentDetailJson(c.vault, c.id));
  SendJson(c.res, out);
  return Status::Ok();
}

// POST /api/consents: `dossier consent add`. The consent as JSON, or as a form
// (multipart/form-data) with the JSON in the part `consent` and the signed scan in the part
// `scan` (PDF, JPEG, PNG, TIFF or HEIC). 201 {"id"}.
Status AddConsent(Call& c) {
  static const std::initializer_list<BodyField> kFields = {
      {"patient", 's', true},    {"recipient", 's', true}, {"purposes", 'a', true},
      {"categories", 'a', true}, {"until", 's', true},     {"from", 's'},
      {"signed", 's'},           {"representative", 's'},  {"authority", 's'}};
  json body;
  vault::NewConsent consent;
  const std::string type = c.req.get_header_value("Content-Type");
  if (type.rfind("multipart/form-data", 0) == 0) {
    for (const auto& [name, part] : c.req.files) {
      if (name != "consent" && name != "scan") {
        return InvalidArgument("a consent's form has the parts `consent` (JSON) and `scan`");
      }
    }
    if (!c.req.has_file("consent")) {
      return InvalidArgument("the form needs the part `consent`: the consent as JSON");
    }
    json parsed = json::parse(c.req.get_file_value("consent").content, nullptr, false);
    if (parsed.is_discarded()) return InvalidArgument("the part `consent` is not valid JSON");
    DOSSIER_ASSIGN_OR_RETURN(body, CheckBody(parsed, "a consent", kFields));
    if (c.req.has_file("scan")) {
      const std::string& scan = c.req.get_file_value("scan").content;
      consent.scan.assign(scan.begin(), scan.end());
      consent.scan_kind = ingest::ConsentScanKind(consent.scan);
      if (consent.scan_kind.empty()) {
        return InvalidArgument(
            "the part `scan` is not a PDF or an image (JPEG, PNG, TIFF, HEIC): scan or "
            "photograph the signed consent");
      }
    }
  } else {
    DOSSIER_ASSIGN_OR_RETURN(body, ReadJsonBody(c, "a consent", kFields));
  }
  consent.patient_id = Str(body, "patient");
  DOSSIER_RETURN_IF_ERROR(ExpectBodyId(consent.patient_id, IdKind::kPatient, "patient"));
  DOSSIER_ASSIGN_OR_RETURN(consent.purposes, Codes<Purpose>(body["purposes"], "purposes",
                                                            ParsePurpose, AllPurposeNames()));
  DOSSIER_ASSIGN_OR_RETURN(consent.categories, Codes<Category>(body["categories"], "categories",
                                                               ParseCategory, AllCategoryNames()));
  consent.valid_until = Str(body, "until");
  consent.valid_from = Str(body, "from");
  for (const char* field : {"until", "from"}) {
    const std::string date = Str(body, field);
    if ((field == std::string("until") || !date.empty()) && !ParseDate(date)) {
      return InvalidArgument(fmt::format("`{}` takes a date, YYYY-MM-DD", field));
    }
  }
  consent.signed_how = body.value("signed", std::string("paper"));
  consent.representative = Str(body, "representative");
  consent.authority = Str(body, "authority");
  DOSSIER_ASSIGN_OR_RETURN(vault::ClinicRecord clinic, c.vault.FindClinic(Str(body, "recipient")));
  consent.clinic_id = clinic.id;
  DOSSIER_ASSIGN_OR_RETURN(std::string id, c.vault.AddConsent(consent));
  SendJson(c.res, {{"id", id}}, 201);
  return Status::Ok();
}

// POST /api/consents/{id}/revoke: `dossier consent revoke`, {"reason", "received"}.
Status RevokeConsent(Call& c) {
  DOSSIER_ASSIGN_OR_RETURN(
      json body, ReadJsonBody(c, "a withdrawal", {{"reason", 's', true}, {"received", 's'}}));
  const std::string received = Str(body, "received");
  if (!received.empty() && !ParseDate(received)) {
    return InvalidArgument("`received` takes a date, YYYY-MM-DD (the day the withdrawal came)");
  }
  if (Str(body, "reason").find_first_not_of(" \t\r\n") == std::string::npos) {
    return InvalidArgument("`reason` is empty: say how the withdrawal came");
  }
  DOSSIER_RETURN_IF_ERROR(c.vault.RevokeConsent(c.id, Str(body, "reason"), received));
  DOSSIER_ASSIGN_OR_RETURN(json out, report::ConsentDetailJson(c.vault, c.id));
  SendJson(c.res, out);
  return Status::Ok();
}

// ---- The request ledger ------------------------------------------------------------------------

// GET /api/requests[?case=&overdue=true&as_of=]: `dossier export list`. A patient or
// representative gets their patient's requests, whatever they ask.
Status ListRequests(Call& c) {
  DOSSIER_RETURN_IF_ERROR(OnlyParams(c, {"case", "overdue", "as_of"}));
  report::RequestQuery q;
  if (auto id = Param(c, "case")) {
    if (KindOfId(*id) != IdKind::kCase) return InvalidArgument("?case= takes a case id (case_…)");
    q.case_id = *id;
  }
  if (auto o = Param(c, "overdue")) {
    if (*o != "true" && *o != "false") return InvalidArgument("?overdue= takes true or false");
    q.overdue = *o == "true";
  }
  if (auto d = Param(c, "as_of")) {
    if (!ParseDate(*d)) return InvalidArgument("?as_of= takes a date, YYYY-MM-DD");
    q.as_of = *d;
  }
  const vault::UserRecord& who = c.who->user;
  if (who.role == vault::Role::kPatient || who.role == vault::Role::kRepresentative) {
    q.patient_id = who.patient_id;
    if (who.role == vault::Role::kRepresentative && !who.rights.view && !who.rights.replies) {
      SendJson(c.res, json::array());
      return Status::Ok();
    }
  }
  DOSSIER_ASSIGN_OR_RETURN(json out, report::RequestsJson(c.vault, q));
  SendJson(c.res, out);
  return Status::Ok();
}

// GET /api/requests/{id}: `dossier export show`.
Status ShowRequest(Call& c) {
  DOSSIER_RETURN_IF_ERROR(OnlyParams(c, {}));
  DOSSIER_ASSIGN_OR_RETURN(json out, report::RequestDetailJson(c.vault, c.id));
  SendJson(c.res, out);
  return Status::Ok();
}

// ---- Accounts ----------------------------------------------------------------------------------

namespace {
bool IsStaff(vault::Role r) {
  return r == vault::Role::kManager || r == vault::Role::kCompliance || r == vault::Role::kAdmin;
}
// An admin keeps staff accounts; a manager the accounts of patients and their representatives.
bool Keeps(const vault::UserRecord& who, vault::Role role) {
  return who.role == vault::Role::kAdmin ? IsStaff(role) : !IsStaff(role);
}
Result<vault::Rights> RightsOf(const json& list) {
  vault::Rights r;
  for (const auto& item : list) {
    const std::string s = item.get<std::string>();
    if (s == "view") {
      r.view = true;
    } else if (s == "upload") {
      r.upload = true;
    } else if (s == "replies") {
      r.replies = true;
    } else {
      return InvalidArgument("`rights` takes view, upload and replies (an empty list: none)");
    }
  }
  return r;
}
}  // namespace

// GET /api/users: `dossier user list`, the accounts the user keeps (an admin: staff; a
// manager: patients and representatives).
Status ListUsers(Call& c) {
  DOSSIER_RETURN_IF_ERROR(OnlyParams(c, {}));
  DOSSIER_ASSIGN_OR_RETURN(auto users, c.vault.ListUsers());
  json out = json::array();
  for (const auto& u : users) {
    if (Keeps(c.who->user, u.role)) out.push_back(report::UserJson(u));
  }
  SendJson(c.res, out);
  return Status::Ok();
}

// POST /api/users: `dossier user add`, {"name", "role", "password", "patient", "rights"}. An
// admin adds staff, a manager patients and representatives (403 for another role). 201 {"id"}.
Status AddUser(Call& c) {
  DOSSIER_ASSIGN_OR_RETURN(json body, ReadJsonBody(c, "an account",
                                                   {{"name", 's', true},
                                                    {"role", 's', true},
                                                    {"password", 's', true},
                                                    {"patient", 's'},
                                                    {"rights", 'a'}}));
  const auto role = vault::ParseRole(Str(body, "role"));
  if (!role) return InvalidArgument("`role` takes one of " + vault::AllRoleNames());
  if (!Keeps(c.who->user, *role)) {
    DOSSIER_RETURN_IF_ERROR(c.vault.RecordAccessEvent("access.refused", {}, "", "refused", "role"));
    SendError(c.res, ApiError::kForbidden,
              fmt::format("an account with the role {} may not add a {} account",
                          vault::RoleName(c.who->user.role), vault::RoleName(*role)));
    return Status::Ok();
  }
  const std::string patient = Str(body, "patient");
  if (!patient.empty()) DOSSIER_RETURN_IF_ERROR(ExpectBodyId(patient, IdKind::kPatient, "patient"));
  vault::Rights rights;
  if (body.contains("rights")) {
    DOSSIER_ASSIGN_OR_RETURN(rights, RightsOf(body["rights"]));
  }
  DOSSIER_ASSIGN_OR_RETURN(std::string id, c.vault.AddUser(Str(body, "name"), *role,
                                                           Str(body, "password"), patient, rights));
  SendJson(c.res, {{"id", id}}, 201);
  return Status::Ok();
}

// PATCH /api/users/{id}: one change at a time: a representative's rights ({"rights"}: the
// grants, an empty list none), a new password ({"password"}), or {"disabled": true} (for
// good). The account as it is now.
Status EditUser(Call& c) {
  DOSSIER_ASSIGN_OR_RETURN(
      json body,
      ReadJsonBody(c, "an account", {{"rights", 'a'}, {"password", 's'}, {"disabled", 'b'}}));
  if (body.size() != 1) {
    return InvalidArgument("change one thing at a time: rights, password or disabled");
  }
  if (body.contains("disabled") && !body["disabled"].get<bool>()) {
    return InvalidArgument("`disabled` takes only true: a disabled account stays disabled");
  }
  DOSSIER_ASSIGN_OR_RETURN(vault::UserRecord user, c.vault.GetUser(c.id));
  if (body.contains("rights")) {
    DOSSIER_ASSIGN_OR_RETURN(vault::Rights rights, RightsOf(body["rights"]));
    DOSSIER_RETURN_IF_ERROR(c.vault.SetRights(c.id, rights));
  } else if (body.contains("password")) {
    DOSSIER_RETURN_IF_ERROR(c.vault.SetUserPassword(user.name, Str(body, "password")));
  } else {
    DOSSIER_RETURN_IF_ERROR(c.vault.DisableUser(user.name));
  }
  DOSSIER_ASSIGN_OR_RETURN(user, c.vault.GetUser(c.id));
  SendJson(c.res, report::UserJson(user));
  return Status::Ok();
}

}  // namespace dossier::server::internal
