// Documents and DICOM series: the JSON of `docs`, `docs show` and `dicom list`.
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "report/report.h"

namespace dossier::report {
namespace {

// The case's series as `docs` shows them, their instances counted and sized from `docs`.
Result<std::vector<SeriesView>> ViewSeries(
    std::vector<vault::DicomSeriesRecord> series,
    const std::map<std::string, const vault::DocumentRecord*>& docs) {
  std::vector<SeriesView> out;
  for (auto& r : series) {
    SeriesView v;
    DOSSIER_ASSIGN_OR_RETURN(v.first, dicom::FromJson(r.summary));
    dicom::SeriesTally tally;
    for (size_t k = 0; k < r.instance_summaries.size(); ++k) {
      DOSSIER_ASSIGN_OR_RETURN(dicom::InstanceSummary s, dicom::FromJson(r.instance_summaries[k]));
      tally.Add(s);
      std::string who = dicom::PatientOnDisc(s);
      if (std::find(v.on_disc.begin(), v.on_disc.end(), who) == v.on_disc.end()) {
        v.on_disc.push_back(std::move(who));
      }
      const auto it = docs.find(r.doc_ids[k]);
      if (it == docs.end()) continue;
      for (const auto& w : it->second->warnings) tally.AddProblem(w);
      v.size += it->second->size;
      if (v.added.empty() || it->second->added_at < v.added) v.added = it->second->added_at;
    }
    v.problems = tally.Problems();
    v.record = std::move(r);
    out.push_back(std::move(v));
  }
  return out;
}

std::vector<RemovedView> ViewRemoved(const std::vector<vault::DocumentRecord>& docs) {
  std::vector<RemovedView> out;
  std::map<std::pair<std::string, std::string>, size_t> series;  // (series, reason) → entry
  for (const auto& d : docs) {
    if (d.status != "removed") continue;
    if (!d.series_id.empty()) {
      auto [it, added] = series.try_emplace({d.series_id, d.removal_reason}, out.size());
      if (added) {
        out.push_back(
            {d.series_id, "dicom", d.category, d.added_at, d.removed_at, d.removal_reason, 0, {}});
      }
      RemovedView& r = out[it->second];
      r.size += d.size;
      r.doc_ids.push_back(d.id);
      r.removed_at = std::max(r.removed_at, d.removed_at);
      continue;
    }
    out.push_back(
        {d.id, d.kind, d.category, d.added_at, d.removed_at, d.removal_reason, d.size, {}});
  }
  return out;
}

nlohmann::json OrNull(const std::string& s) {
  return s.empty() ? nlohmann::json() : nlohmann::json(s);
}

}  // namespace

std::string SeriesLine(const std::string& modality, int instances, const std::string& date,
                       const std::string& description, const std::string& object_kind) {
  std::string line = modality.empty() ? std::string("?") : modality;
  line += fmt::format(", {} instance{}", instances, instances == 1 ? "" : "s");
  if (date.size() == 8)
    line += ", " + date.substr(0, 4) + "-" + date.substr(4, 2) + "-" + date.substr(6, 2);
  if (!description.empty()) line += ", " + description;
  if (!object_kind.empty() && object_kind != "image") line += " (" + object_kind + ")";
  return line;
}

bool CaseDocuments::Listed(const vault::DocumentRecord& doc) const {
  return in_series.count(doc.id) == 0 && doc.status != "removed";
}

nlohmann::json PageJson(const vault::PageRecord& p) {
  nlohmann::json evidence = nlohmann::json::parse(p.evidence, nullptr, false);
  if (evidence.is_discarded()) evidence = nullptr;  // not JSON: said as null, never "<discarded>"
  return {{"page", p.number},       {"verdict", p.verdict}, {"confidence", p.confidence},
          {"rotation", p.rotation}, {"source", p.source},   {"evidence", evidence}};
}

nlohmann::json DocumentJson(const vault::DocumentRecord& d,
                            const std::vector<vault::PageRecord>& pages) {
  nlohmann::json detail = nlohmann::json::array();
  for (const auto& p : pages) detail.push_back(PageJson(p));
  return {{"id", d.id},
          {"name", d.name},
          {"kind", d.kind},
          {"size", d.size},
          {"category", d.category},
          {"category_source", d.category_source},
          {"category_reason", d.category_reason},
          {"status", d.status},
          {"added", d.added_at},
          {"case", d.case_id},
          {"verdict", OrNull(d.verdict)},
          {"pages", d.pages},
          {"pages_detail", detail},
          {"warnings", d.warnings},
          // A HEIC photo's JPEG copy, which exports send (Vault::StoreRendition).
          {"rendition", d.rendition.empty()
                            ? nlohmann::json()
                            : nlohmann::json({{"kind", d.rendition}, {"size", d.rendition_size}})}};
}

nlohmann::json SeriesJson(const SeriesView& s, const std::string& case_id) {
  const auto& f = s.first;
  const auto& r = s.record;
  return {{"id", r.id},
          {"name", SeriesLine(f.modality, static_cast<int>(r.doc_ids.size()), f.study_date,
                              f.series_description, f.object_kind)},
          {"kind", "dicom-series"},
          {"category", "imaging"},
          {"category_source", "inferred"},
          {"category_reason", "DICOM images"},
          {"status", "stored"},
          {"object_kind", f.object_kind},
          {"modality", f.modality},
          {"description", f.series_description},
          {"study_description", f.study_description},
          {"date", f.study_date},
          {"instances", r.doc_ids.size()},
          {"size", s.size},
          {"added", s.added},
          {"case", case_id},
          {"study_id", r.study_id},
          {"study_uid", f.study_uid},
          {"series_uid", f.series_uid},
          {"dicom_patient", f.patient_name},
          {"dicom_birth_date", f.birth_date},
          {"mismatch", r.mismatch},
          {"mismatch_facts", s.mismatch_facts},
          {"preview", r.has_preview},
          {"problems", s.problems},
          {"documents", r.doc_ids}};
}

nlohmann::json RemovedJson(const RemovedView& r, const std::string& case_id) {
  nlohmann::json entry = {{"id", r.id},
                          {"name", ""},  // deleted with the data
                          {"kind", r.doc_ids.empty() ? r.kind : "dicom-series"},
                          {"size", r.size},
                          {"category", r.category},
                          {"status", "removed"},
                          {"added", r.added},
                          {"case", case_id},
                          {"removed", r.removed_at},
                          {"removal_reason", r.reason}};
  if (!r.doc_ids.empty()) {
    entry["instances"] = r.doc_ids.size();
    entry["documents"] = r.doc_ids;
  }
  return entry;
}

nlohmann::json DocumentsJson(const CaseDocuments& listing, bool with_removed) {
  auto arr = nlohmann::json::array();
  for (const auto& d : listing.documents) {
    if (!listing.Listed(d)) continue;
    const auto it = listing.pages.find(d.id);
    arr.push_back(
        DocumentJson(d, it == listing.pages.end() ? std::vector<vault::PageRecord>() : it->second));
  }
  for (const auto& s : listing.series) arr.push_back(SeriesJson(s, listing.case_id));
  if (with_removed) {
    for (const auto& r : listing.removed) arr.push_back(RemovedJson(r, listing.case_id));
  }
  return arr;
}

namespace {

// LoadCaseDocuments after its two listings were read.
Result<CaseDocuments> AssembleCaseDocuments(vault::Vault& v, const std::string& case_id,
                                            const vault::DocumentList& documents,
                                            std::vector<vault::DicomSeriesRecord> dicom_series) {
  CaseDocuments out;
  out.case_id = case_id;
  out.documents = documents;
  std::map<std::string, const vault::DocumentRecord*> by_id;
  for (const auto& d : out.documents) by_id[d.id] = &d;
  for (const auto& s : dicom_series) out.in_series.insert(s.doc_ids.begin(), s.doc_ids.end());
  DOSSIER_ASSIGN_OR_RETURN(out.series, ViewSeries(std::move(dicom_series), by_id));
  if (std::any_of(out.series.begin(), out.series.end(),
                  [](const SeriesView& s) { return !s.record.mismatch.empty(); })) {
    // The facts to resolve a mismatch, for the reader's eyes: decrypted here, never logged.
    DOSSIER_ASSIGN_OR_RETURN(vault::CaseRecord c, v.GetCase(case_id));
    DOSSIER_ASSIGN_OR_RETURN(vault::PatientRecord p, v.GetPatient(c.patient_id));
    for (SeriesView& s : out.series) {
      if (s.record.mismatch.empty()) continue;
      s.mismatch_facts = dicom::MismatchFacts(s.on_disc, p.info.name, p.info.birth_date);
    }
  }
  out.removed = ViewRemoved(out.documents);
  DOSSIER_ASSIGN_OR_RETURN(auto pages, v.GetCasePages(case_id));
  for (const auto& d : out.documents) {
    if (!out.Listed(d) || d.verdict.empty()) continue;
    auto it = pages.find(d.id);
    out.pages[d.id] = it == pages.end() ? std::vector<vault::PageRecord>() : std::move(it->second);
  }
  return out;
}

}  // namespace

Result<CaseDocuments> LoadCaseDocuments(vault::Vault& v, const std::string& case_id) {
  DOSSIER_ASSIGN_OR_RETURN(vault::DocumentList documents, v.ListDocuments(case_id));
  DOSSIER_ASSIGN_OR_RETURN(auto dicom_series, v.ListDicomSeries(case_id));
  return AssembleCaseDocuments(v, case_id, documents, std::move(dicom_series));
}

Result<std::shared_ptr<const std::vector<ListingEntry>>> ListingCache::Get(
    vault::Vault& v, const std::string& case_id) {
  DOSSIER_ASSIGN_OR_RETURN(vault::DocumentList documents, v.ListDocuments(case_id));
  DOSSIER_ASSIGN_OR_RETURN(auto dicom_series, v.ListDicomSeries(case_id));
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = kept_.find(case_id);
    if (it != kept_.end() && it->second.documents.identity() == documents.identity()) {
      it->second.used = ++tick_;
      return it->second.entries;
    }
  }
  DOSSIER_ASSIGN_OR_RETURN(CaseDocuments listing,
                           AssembleCaseDocuments(v, case_id, documents, std::move(dicom_series)));
  auto entries = std::make_shared<std::vector<ListingEntry>>();
  bool mismatch = false;
  for (nlohmann::json& j : DocumentsJson(listing, false)) {
    ListingEntry e;
    e.full = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    e.reply = j.value("category", "") == "clinic-reply";
    if (j.contains("mismatch_facts")) {
      mismatch = mismatch || !j["mismatch_facts"].get<std::string>().empty();
      j["mismatch_facts"] = "";
    }
    e.patient_side = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    entries->push_back(std::move(e));
  }
  std::lock_guard<std::mutex> lock(mu_);
  ++built_;
  std::shared_ptr<const std::vector<ListingEntry>> done = std::move(entries);
  if (mismatch || done->size() > max_entries_) return done;
  if (auto old = kept_.find(case_id); old != kept_.end()) {
    kept_entries_ -= old->second.entries->size();
    kept_.erase(old);
  }
  while (!kept_.empty() && kept_entries_ + done->size() > max_entries_) {
    auto oldest = std::min_element(kept_.begin(), kept_.end(),
                                   [](auto& a, auto& b) { return a.second.used < b.second.used; });
    kept_entries_ -= oldest->second.entries->size();
    kept_.erase(oldest);
  }
  kept_entries_ += done->size();
  kept_.insert_or_assign(case_id, Kept{documents, done, ++tick_});
  return done;
}

uint64_t ListingCache::built() const {
  std::lock_guard<std::mutex> lock(mu_);
  return built_;
}

Result<nlohmann::json> CaseDocumentsJson(vault::Vault& v, const std::string& case_id,
                                         bool with_removed) {
  DOSSIER_ASSIGN_OR_RETURN(CaseDocuments listing, LoadCaseDocuments(v, case_id));
  return DocumentsJson(listing, with_removed);
}

Result<nlohmann::json> CaseSeriesJson(vault::Vault& v, const std::string& case_id) {
  DOSSIER_ASSIGN_OR_RETURN(CaseDocuments listing, LoadCaseDocuments(v, case_id));
  auto arr = nlohmann::json::array();
  for (const auto& s : listing.series) arr.push_back(SeriesJson(s, case_id));
  return arr;
}

nlohmann::json DocumentDetailJson(const vault::DocumentRecord& doc,
                                  const std::vector<vault::PageRecord>& pages) {
  nlohmann::json j = DocumentJson(doc, pages);
  j["series"] = OrNull(doc.series_id);
  const bool removed = doc.status == "removed";
  j["removed"] = removed ? OrNull(doc.removed_at) : nlohmann::json();
  j["removal_reason"] = removed ? nlohmann::json(doc.removal_reason) : nlohmann::json();
  return j;
}

Result<nlohmann::json> DocumentDetailJson(vault::Vault& v, const std::string& doc_id) {
  DOSSIER_ASSIGN_OR_RETURN(vault::DocumentRecord doc, v.ShowDocument(doc_id));
  std::vector<vault::PageRecord> pages;
  if (!doc.verdict.empty()) {
    DOSSIER_ASSIGN_OR_RETURN(pages, v.GetPages(doc_id, false));
  }
  return DocumentDetailJson(doc, pages);
}

}  // namespace dossier::report
