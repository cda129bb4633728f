// The JSON of clinics, consents, the request ledger and accounts (report.h), for the CLI's
// --json and the server's answers alike.
#include <nlohmann/json.hpp>

#include "report/report.h"

namespace dossier::report {

using nlohmann::json;

namespace {

template <typename E>
std::vector<std::string> Names(const std::vector<E>& items) {
  std::vector<std::string> out;
  for (const E& e : items) out.emplace_back(ToString(e));
  return out;
}

json PartsJson(const vault::ExportRequestRecord& r) {
  json parts = json::array();
  for (const auto& p : r.parts) {
    parts.push_back({{"name", p.name}, {"size", p.size}, {"sha256", p.sha256_hex}});
  }
  return parts;
}

// A document of a request as `export show` lists it (ids and categories, never a name).
json RequestDocumentJson(const vault::RequestDocumentRecord& d) {
  json j = {{"id", d.doc_id}, {"kind", d.kind}, {"category", d.category}, {"status", d.status}};
  if (!d.series_id.empty()) j["series_id"] = d.series_id;
  if (!d.filed_at.empty()) j["filed_at"] = d.filed_at;
  return j;
}

}  // namespace

Result<vault::DicomRecheck> RecheckInstance(const std::string& summary,
                                            const vault::PatientInfo& patient) {
  DOSSIER_ASSIGN_OR_RETURN(dicom::InstanceSummary s, dicom::FromJson(summary));
  return vault::DicomRecheck{s.study_uid, s.series_uid, s.sop_instance_uid,
                             dicom::PatientMismatch(s, patient.name, patient.birth_date)};
}

json MoveOutcomeJson(const vault::MoveOutcome& m) {
  json out = {{"id", m.id},
              {"kind", m.series ? "dicom-series" : "document"},
              {"from_case", m.from_case},
              {"to_case", m.to_case},
              {"from_patient", m.from_patient},
              {"to_patient", m.to_patient},
              {"documents", m.doc_ids}};
  if (m.series) out["mismatch"] = m.mismatch;
  return out;
}

json RemoveOutcomeJson(const vault::RemoveOutcome& r) {
  return {{"id", r.id},
          {"kind", r.series ? "dicom-series" : "document"},
          {"case", r.case_id},
          {"removed", r.removed_at},
          {"documents", r.doc_ids}};
}

json ClinicJson(const vault::ClinicRecord& c) {
  return {{"id", c.id},
          {"name", c.info.name},
          {"country", c.info.country},
          {"email", c.info.email},
          {"note", c.info.note},
          {"created", c.created_at}};
}

json ConsentJson(const vault::ConsentRecord& c, const std::string& today) {
  return {{"id", c.id},
          {"patient", c.patient_id},
          {"recipient", c.clinic_id},
          {"purposes", Names(c.purposes)},
          {"categories", Names(c.categories)},
          {"actions", c.actions},
          {"from", c.valid_from},
          {"until", c.valid_until},
          {"signed", c.signed_how},
          {"representative", c.representative},
          {"authority", c.authority},
          {"scan",
           c.has_scan
               ? json{{"kind", c.scan_kind}, {"size", c.scan_size}, {"sha256", c.scan_sha256_hex}}
               : json(nullptr)},
          {"recorded_by", c.recorded_by},
          {"recorded_at", c.recorded_at},
          {"state", ToString(c.StateOn(today))},
          {"revoked_at", c.revoked_at},
          {"revocation_received", c.revocation_received},
          {"revocation_reason", c.revocation_reason},
          {"destruction_due", c.destruction_due}};
}

Result<json> ConsentsJson(vault::Vault& v, const std::optional<std::string>& patient,
                          const std::string& state) {
  DOSSIER_ASSIGN_OR_RETURN(auto all, v.ListConsents(patient));
  DOSSIER_ASSIGN_OR_RETURN(const std::string today, v.Today());
  json out = json::array();
  for (const auto& c : all) {
    const vault::ConsentState s = c.StateOn(today);
    const bool keep =
        state.empty() || (state == "active" && s == vault::ConsentState::kActive) ||
        (state == "expired" && s == vault::ConsentState::kExpired) ||
        (state == "revoked" && s == vault::ConsentState::kRevoked) ||
        (state == "destruction-due" && !c.destruction_due.empty() && c.destruction_due <= today);
    if (keep) out.push_back(ConsentJson(c, today));
  }
  return out;
}

Result<json> ConsentDetailJson(vault::Vault& v, const std::string& consent_id) {
  DOSSIER_ASSIGN_OR_RETURN(vault::ConsentRecord c, v.GetConsent(consent_id));
  DOSSIER_ASSIGN_OR_RETURN(vault::ClinicRecord clinic, v.FindClinic(c.clinic_id));
  DOSSIER_ASSIGN_OR_RETURN(vault::VaultSettings settings, v.GetSettings());
  DOSSIER_ASSIGN_OR_RETURN(const std::string today, v.Today());
  json j = ConsentJson(c, today);
  j["recipient_name"] = clinic.info.name;
  j["recipient_country"] = clinic.info.country;
  j["cross_border"] = settings.operator_country.empty()
                          ? json(
                                "unknown: set the operator's country with "
                                "`dossier vault settings --country CC`")
                          : json(settings.operator_country != clinic.info.country);
  j["operator"] = settings.operator_name;
  j["how_to_withdraw"] =
      "a written statement to " +
      (settings.operator_name.empty() ? std::string("the operator") : settings.operator_name) +
      ", at any time: recorded with `dossier consent revoke`, it stops further transfers at once";
  return j;
}

json RequestJson(const vault::ExportRequestRecord& r, const std::string& state) {
  return {{"request_id", r.id},
          {"export_id", r.export_id},
          {"case_id", r.case_id},
          {"clinic_id", r.clinic_id},
          {"consent_id", r.consent_id},
          {"purpose", ToString(r.purpose)},
          {"urgent", r.urgent},
          {"inventory_only", r.inventory_only},
          {"sent_at", r.created_at},
          {"due", r.due},
          {"state", state},
          {"answered_at", r.answered_at}};
}

Result<json> RequestsJson(vault::Vault& v, const RequestQuery& q) {
  DOSSIER_ASSIGN_OR_RETURN(auto all, v.ListRequests(q.case_id));
  DOSSIER_ASSIGN_OR_RETURN(const std::string today, v.Today());
  const std::string date = q.as_of.empty() ? today : q.as_of;
  const std::string now = v.NowUtc();
  json out = json::array();
  for (const auto& r : all) {
    if (q.patient_id && r.patient_id != *q.patient_id) continue;
    const std::string state = r.StateAsOf(date, today, now);
    if (q.overdue && state != "overdue") continue;
    json j = RequestJson(r, state);
    j["documents"] = r.documents.size();
    j["parts"] = r.parts.size();
    j["replies"] = r.replies.size();
    out.push_back(std::move(j));
  }
  return out;
}

Result<json> RequestDetailJson(vault::Vault& v, const std::string& id) {
  DOSSIER_ASSIGN_OR_RETURN(vault::ExportRequestDetail detail, v.ShowRequest(id));
  const vault::ExportRequestRecord& r = detail.request;
  DOSSIER_ASSIGN_OR_RETURN(vault::ClinicRecord clinic, v.FindClinic(r.clinic_id));
  DOSSIER_ASSIGN_OR_RETURN(const std::string today, v.Today());
  json docs = json::array(), replies = json::array();
  for (const auto& d : detail.documents) docs.push_back(RequestDocumentJson(d));
  for (const auto& d : detail.replies) replies.push_back(RequestDocumentJson(d));
  json j = RequestJson(r, r.StateAsOf(today, today, v.NowUtc()));
  j["clinic_name"] = clinic.info.name;
  j["sent_by"] = r.actor;
  j["parts"] = PartsJson(r);
  j["documents"] = docs;
  j["replies"] = replies;
  return j;
}

json UserJson(const vault::UserRecord& u) {
  json rights = json::array();
  if (u.role == vault::Role::kRepresentative) {
    if (u.rights.view) rights.push_back("view");
    if (u.rights.upload) rights.push_back("upload");
    if (u.rights.replies) rights.push_back("replies");
  }
  return {{"id", u.id},
          {"name", u.name},
          {"role", vault::RoleName(u.role)},
          {"patient", u.patient_id},
          {"rights", rights},
          {"status", u.disabled ? "disabled" : "active"},
          {"disabled_at", u.disabled_at},
          {"created", u.created_at}};
}

}  // namespace dossier::report
