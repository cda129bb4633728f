#include "ingest/internal/dicom_collection.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "common/text.h"

namespace dossier::ingest::internal {

Status DicomCollection::Note(Item& item, std::optional<dicom::InstanceSummary> summary) {
  // Only what the parent itself recognised as DICOM is filed as DICOM: a summary sent for
  // a PDF or a TIFF (a worker fooled, or subverted) is ignored.
  if (item.kind != "dicom" && item.kind != "dicomdir") summary.reset();
  if (!summary) {
    if (item.kind == "dicom" && item.status == ItemStatus::kStored) {
      AddAdvice(item, "not summarised (larger than the worker holds in memory): stored unchanged");
    }
    return Status::Ok();
  }
  if (summary->object_kind == "directory") {
    // Cross-checked against the files around it, when it came with them (in a folder or a
    // disc image); a DICOMDIR uploaded on its own has nothing to check against.
    const bool with_files =
        item.path.find('/') != std::string::npos && !summary->referenced_files.empty();
    if (with_files && InVault(item.status)) {
      dicomdirs_.push_back({log_.size(), std::move(summary->referenced_files), false});
    }
    return Status::Ok();
  }
  if (item.status != ItemStatus::kStored) return Status::Ok();
  DOSSIER_ASSIGN_OR_RETURN(const vault::PatientInfo* patient, patient_.Get());
  vault::DicomInstanceInfo info;
  info.study_uid = summary->study_uid;
  info.series_uid = summary->series_uid;
  info.instance_uid = summary->sop_instance_uid;
  info.instance_number = summary->instance_number;
  info.mismatch = dicom::PatientMismatch(*summary, patient->name, patient->birth_date);
  info.summary = dicom::ToJson(*summary);
  DOSSIER_ASSIGN_OR_RETURN(item.series, vault_.AddDicomInstance(item.doc_id, info));
  auto [it, added] = series_index_.try_emplace(item.series, report_.series.size());
  if (added) {
    SeriesReport r;
    r.id = item.series;
    r.modality = summary->modality;
    r.description = summary->series_description.empty() ? summary->study_description
                                                        : summary->series_description;
    r.date = summary->study_date;
    r.object_kind = summary->object_kind;
    report_.series.push_back(std::move(r));
  }
  SeriesReport& series = report_.series[it->second];
  series.instances += 1;
  series.mismatch = MergeReasons(series.mismatch, info.mismatch);
  if (!info.mismatch.empty()) {
    std::vector<std::string>& seen = on_disc_[item.series];
    std::string who = dicom::PatientOnDisc(*summary);
    if (std::find(seen.begin(), seen.end(), who) == seen.end()) {
      seen.push_back(std::move(who));
      series.mismatch_facts = dicom::MismatchFacts(seen, patient->name, patient->birth_date);
    }
  }
  tallies_[item.series].Add(*summary);
  return Status::Ok();
}

void DicomCollection::CrossCheck(size_t from) {
  const size_t end = log_.size();
  for (DicomdirListing& dir : dicomdirs_) {
    if (dir.checked || dir.item < from || dir.item >= end) continue;
    dir.checked = true;
    const std::string path = log_[dir.item].path;
    const size_t slash = path.rfind('/');
    const std::string folder = slash == std::string::npos ? "" : path.substr(0, slash + 1);
    const std::string base = folder.empty() ? "" : dicom::FileIdKey(folder) + "/";
    std::set<std::string> present;
    for (size_t i = from; i < end; ++i) present.insert(dicom::FileIdKey(log_[i].path));
    std::set<std::string> listed;
    size_t missing = 0;
    for (const std::string& id : dir.files) {
      const std::string key = base + dicom::FileIdKey(id);
      if (!listed.insert(key).second || present.count(key) != 0) continue;
      if (++missing <= kMaxListedPerItem) {
        sink_.Add(Line(folder + id, "dicom", 0, ItemStatus::kMissing,
                       "listed in the disc's DICOMDIR but not in the upload: copy the whole "
                       "disc again"));
      }
    }
    if (missing > kMaxListedPerItem) {
      sink_.Add(Line(path, "dicomdir", 0, ItemStatus::kMissing,
                     fmt::format("and {} more files listed in the DICOMDIR are not in the upload",
                                 missing - kMaxListedPerItem)));
    }
    for (size_t i = from; i < end; ++i) {
      Item& item = log_[i];
      if (item.kind != "dicom" || !InVault(item.status)) continue;
      const std::string key = dicom::FileIdKey(item.path);
      if (key.rfind(base, 0) != 0 || listed.count(key) != 0) continue;
      constexpr const char* kUnlisted = "not listed in the disc's DICOMDIR: read all the same";
      if (std::find(item.advice.begin(), item.advice.end(), kUnlisted) != item.advice.end()) {
        continue;
      }
      AddAdvice(item, kUnlisted);
      if (!item.series.empty()) tallies_[item.series].AddProblem(kUnlisted);
    }
  }
}

void DicomCollection::Finish() {
  for (SeriesReport& r : report_.series) r.problems = tallies_[r.id].Problems();
}

Status DicomCollection::MakePreviews() {
  if (report_.series.empty()) return Status::Ok();
  DOSSIER_ASSIGN_OR_RETURN(auto all, vault_.ListDicomSeries(case_id_));
  for (const auto& s : all) {
    if (series_index_.count(s.id) == 0 || s.doc_ids.empty()) continue;
    DOSSIER_ASSIGN_OR_RETURN(std::vector<uint8_t> png,
                             RenderPreview(s.doc_ids[s.doc_ids.size() / 2]));
    if (!png.empty()) DOSSIER_RETURN_IF_ERROR(vault_.SetSeriesPreview(s.id, png));
  }
  return Status::Ok();
}

Result<std::vector<uint8_t>> DicomCollection::RenderPreview(const std::string& doc_id) {
  MemorySink plain;
  DOSSIER_RETURN_IF_ERROR(vault_.ReadDocument(doc_id, plain));
  auto memfd = SealedMemoryFile(plain.data);
  if (!memfd.ok()) return std::vector<uint8_t>();
  return worker_.Preview(*memfd);
}

}  // namespace dossier::ingest::internal
