// People, search and text: the JSON of `patient …`, `case …`, `search` and `text`.
#include "report/report.h"

#include <fmt/format.h>

#include <cmath>

namespace dossier::report {

nlohmann::json PatientJson(const vault::PatientRecord& p) {
  return {{"id", p.id},
          {"name", p.info.name},
          {"birth_date", p.info.birth_date},
          {"phone", p.info.phone},
          {"email", p.info.email},
          {"created", p.created_at},
          {"erased", p.erased},
          {"erased_at", p.erased_at}};
}

nlohmann::json CaseJson(const vault::CaseRecord& c) {
  return {{"id", c.id},
          {"patient", c.patient_id},
          {"status", c.status},
          {"goal", c.goal},
          {"question", c.question},
          {"documents", c.documents},
          {"dicom_instances", c.dicom_instances},
          {"created", c.created_at}};
}

nlohmann::json PatientsJson(const std::vector<vault::PatientRecord>& patients) {
  auto arr = nlohmann::json::array();
  for (const auto& p : patients) arr.push_back(PatientJson(p));
  return arr;
}

nlohmann::json CasesJson(const std::vector<vault::CaseRecord>& cases) {
  auto arr = nlohmann::json::array();
  for (const auto& c : cases) arr.push_back(CaseJson(c));
  return arr;
}

nlohmann::json PatientDetailJson(const vault::PatientRecord& patient,
                                 const std::vector<vault::CaseRecord>& cases) {
  auto j = PatientJson(patient);
  j["cases"] = CasesJson(cases);
  return j;
}

Result<nlohmann::json> PatientDetailJson(vault::Vault& v, const std::string& patient_id) {
  DOSSIER_ASSIGN_OR_RETURN(vault::PatientRecord p, v.GetPatient(patient_id));
  DOSSIER_ASSIGN_OR_RETURN(auto cases, v.ListCases(patient_id));
  return PatientDetailJson(p, cases);
}

nlohmann::json SearchJson(const std::vector<vault::SearchHit>& hits) {
  auto arr = nlohmann::json::array();
  for (const auto& h : hits) {
    arr.push_back({{"id", h.doc_id}, {"name", h.name}, {"page", h.page}, {"snippet", h.snippet}});
  }
  return arr;
}

Result<nlohmann::json> CaseSearchJson(vault::Vault& v, const std::string& case_id,
                                      const std::string& query) {
  DOSSIER_ASSIGN_OR_RETURN(auto hits, v.Search(case_id, query));
  return SearchJson(hits);
}

Result<DocumentText> LoadDocumentText(vault::Vault& v, const std::string& doc_id, int page) {
  DocumentText out;
  DOSSIER_ASSIGN_OR_RETURN(out.doc, v.GetDocument(doc_id));
  if (out.doc.status == "removed") return vault::DocumentRemoved(doc_id, out.doc.removed_at);
  if (out.doc.verdict.empty()) {
    return NotFound("document " + doc_id +
                    " has no checked pages (only PDFs, images and plain-text files are read)");
  }
  DOSSIER_ASSIGN_OR_RETURN(out.pages, v.GetPages(doc_id, true));
  if (page > 0 && page > static_cast<int>(out.pages.size())) {
    return NotFound(fmt::format("document {} has {} checked page(s)", doc_id, out.pages.size()));
  }
  return out;
}

nlohmann::json TextJson(const std::vector<vault::PageRecord>& pages, int page) {
  auto arr = nlohmann::json::array();
  for (const auto& p : pages) {
    if (page == 0 || p.number == page) {
      arr.push_back({{"page", p.number}, {"verdict", p.verdict}, {"text", p.text}});
    }
  }
  return arr;
}

namespace {
nlohmann::json PageChecksJson(const std::vector<ingest::PageCheck>& checks) {
  auto arr = nlohmann::json::array();
  for (const auto& c : checks) {
    arr.push_back({{"page", c.page},
                   {"verdict", c.verdict},
                   {"from_sample", c.from_sample},
                   {"verdict_seconds", std::round(c.verdict_seconds * 1000) / 1000},
                   {"text_seconds", std::round(c.text_seconds * 1000) / 1000},
                   {"analysis_seconds", std::round(c.analysis_seconds * 1000) / 1000}});
  }
  return arr;
}
}  // namespace

nlohmann::json IngestItemsJson(const ingest::IngestReport& r) {
  auto arr = nlohmann::json::array();
  for (const auto& i : r.items) {
    arr.push_back(
        {{"path", i.path},
         {"kind", i.kind},
         {"size", i.size},
         {"status", i.status},
         {"reason", i.reason},
         {"id", i.doc_id},
         {"verdict", i.verdict},
         {"pages", i.pages},
         {"advice", i.advice},
         {"series", i.series},
         {"rendition", i.rendition.empty() ? nlohmann::json() : nlohmann::json(i.rendition)},
         {"page_checks", PageChecksJson(i.page_checks)}});
  }
  return arr;
}

nlohmann::json IngestJson(const ingest::IngestReport& r) {
  auto series = nlohmann::json::array();
  for (const auto& s : r.series) {
    series.push_back({{"id", s.id},
                      {"modality", s.modality},
                      {"description", s.description},
                      {"date", s.date},
                      {"object_kind", s.object_kind},
                      {"instances", s.instances},
                      {"mismatch", s.mismatch},
                      {"problems", s.problems}});
  }
  nlohmann::json counts = nlohmann::json::object();
  for (const char* status : {"stored", "duplicate", "skipped", "rejected", "missing"}) {
    counts[status] = r.Count(status);
  }
  return {{"items", IngestItemsJson(r)},
          {"series", std::move(series)},
          {"counts", std::move(counts)},
          {"worker_crashes", r.worker_crashes}};
}

nlohmann::json AuditEventJson(const vault::AuditEvent& e) {
  return {{"seq", e.seq},          {"at", e.at},           {"actor", e.actor},
          {"os_user", e.os_user},  {"role", e.role},       {"action", e.action},
          {"objects", e.objects},  {"patient", e.patient}, {"outcome", e.outcome},
          {"reason", e.reason},    {"purpose", e.purpose}, {"details", e.details},
          {"encoding", e.encoding}};
}

nlohmann::json AuditVerifyJson(const vault::AuditVerifyReport& r) {
  nlohmann::json j = {{"intact", r.intact()},   {"events", r.events},
                      {"root", r.root_hex},     {"public_key", r.public_key_hex},
                      {"anchored", r.anchored}, {"problems", r.problems}};
  if (r.checkpoint_size) j["checkpoint_size"] = *r.checkpoint_size;
  return j;
}

}  // namespace dossier::report
