#include "exporter/dicom_folder.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "common/file_io.h"

namespace dossier::exporter {
namespace {

namespace fs = std::filesystem;

// Every blocked series at once, by id (the facts are in `dossier docs`, not here).
Status RefuseMismatches(const std::vector<const vault::DicomSeriesRecord*>& chosen,
                        const std::string& case_id) {
  std::vector<const vault::DicomSeriesRecord*> blocked;
  for (const auto* s : chosen) {
    if (!s->mismatch.empty()) blocked.push_back(s);
  }
  if (blocked.size() == 1) {
    return Rejected(fmt::format(
        "series {} may belong to another patient ({}): check the disc (`dossier docs --case "
        "{}` shows whose it is), then export it with --allow-mismatch or leave it out with "
        "--series",
        blocked[0]->id, blocked[0]->mismatch, case_id));
  }
  if (!blocked.empty()) {
    std::string list;
    for (const auto* s : blocked) {
      list += fmt::format("{}{} ({})", list.empty() ? "" : ", ", s->id, s->mismatch);
    }
    return Rejected(fmt::format(
        "{} series may belong to another patient: {}. Check the discs (`dossier docs --case "
        "{}` shows whose they are), then export them with --allow-mismatch or leave them out "
        "with --series",
        blocked.size(), list, case_id));
  }
  return Status::Ok();
}

}  // namespace

Status CheckDicomFolderRequest(const DicomFolderRequest& a) {
  // The pseudonym goes into files of any character set: plain ASCII, as PN allows it.
  for (const char c : a.pseudonym) {
    if (!std::isalnum(static_cast<unsigned char>(c)) &&
        std::string_view("^ -_.").find(c) == std::string_view::npos) {
      return InvalidArgument(
          "--pseudonym may hold Latin letters, digits, spaces and ^ - _ . only (e.g. "
          "PATIENT^7K2Q)");
    }
  }
  if (a.pseudonym.size() > 64) return InvalidArgument("--pseudonym is longer than 64 characters");
  const fs::path out = a.out;
  std::error_code ec;
  if (fs::exists(out, ec) && !(fs::is_directory(out, ec) && fs::is_empty(out, ec))) {
    return Rejected(a.out + " already exists and is not empty: choose a new folder");
  }
  return Status::Ok();
}

Result<DicomFolderReport> ExportDicomFolder(vault::Vault& v, const DicomFolderRequest& a) {
  DOSSIER_RETURN_IF_ERROR(CheckDicomFolderRequest(a));
  const fs::path out = a.out;
  std::error_code ec;
  DOSSIER_ASSIGN_OR_RETURN(auto all, v.ListDicomSeries(a.case_id));
  std::vector<const vault::DicomSeriesRecord*> chosen;
  for (const auto& s : all) {
    if (a.series.empty() || std::find(a.series.begin(), a.series.end(), s.id) != a.series.end())
      chosen.push_back(&s);
  }
  for (const auto& id : a.series) {
    if (std::none_of(chosen.begin(), chosen.end(), [&](auto* s) { return s->id == id; })) {
      return NotFound("case " + a.case_id + " has no DICOM series " + id +
                      " (see `dossier docs --case " + a.case_id + "`)");
    }
  }
  if (chosen.empty()) return NotFound("case " + a.case_id + " has no DICOM series to export");
  if (!a.allow_mismatch) DOSSIER_RETURN_IF_ERROR(RefuseMismatches(chosen, a.case_id));

  const fs::path partial = out.string() + ".partial";
  if (fs::exists(partial, ec)) {
    return Rejected(partial.string() +
                    " already exists (an interrupted export?): remove it or choose another folder");
  }
  DicomFolderReport report;
  report.series = chosen.size();
  report.patient_name = a.pseudonym.empty() ? "CASE^" + a.case_id : a.pseudonym;
  const std::string patient_id = a.pseudonym.empty() ? a.case_id : a.pseudonym;
  vault::Vault::DicomExportRequest record{
      a.case_id, {}, report.patient_name, a.allow_mismatch, a.jpeg_ls};
  for (const auto* series : chosen) record.series.push_back(series->id);
  DOSSIER_RETURN_IF_ERROR(v.RecordDicomExport(record));  // on record before any is decrypted
  PartialFolder folder(partial);
  fs::create_directories(partial, ec);
  if (ec) return IoError("cannot create " + partial.string() + ": " + ec.message());

  DOSSIER_ASSIGN_OR_RETURN(SecureBuffer uid_key, v.ExportUidKey(a.case_id));
  // The instances are parsed, de-identified and written by a confined worker; this process,
  // which holds the keys, only decrypts them into sealed memfds.
  ImagingWorkerOptions worker_options;
  worker_options.confinement = a.confinement;
  DOSSIER_ASSIGN_OR_RETURN(ImagingWorker worker,
                           ImagingWorker::Start(worker_options, partial, uid_key));
  if (!worker.unconfined().empty() && a.unconfined) a.unconfined(worker.unconfined());

  size_t total = 0;
  for (const auto* s : chosen) total += s->doc_ids.size();
  std::vector<std::string> file_ids;
  for (size_t si = 0; si < chosen.size(); ++si) {
    const auto* s = chosen[si];
    for (size_t k = 0; k < s->doc_ids.size(); ++k) {
      uint64_t stored = 0;
      DOSSIER_ASSIGN_OR_RETURN(File memfd, InstanceInMemory(
                                               [&](ByteSink& sink) {
                                                 return v.ReadExportedInstance(s->doc_ids[k], sink);
                                               },
                                               &stored));
      const std::string id = DicomFileId(SeriesLabel(si), k + 1);
      auto w = worker.Write(id, memfd, report.patient_name, patient_id, a.jpeg_ls);
      if (!w.ok()) return w.status().WithContext("document " + s->doc_ids[k]);
      file_ids.push_back(id);
      report.imaging.Add(s->id, stored, *w);
      if (a.progress) a.progress(report.imaging.instances, total);
    }
  }
  DOSSIER_RETURN_IF_ERROR(worker.WriteDicomdir(file_ids));
  // Durable before it takes its name: one sync of the filesystem, not one per file.
  if (const int fd = ::open(partial.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); fd >= 0) {
    const int rc = ::syncfs(fd);
    ::close(fd);
    if (rc != 0) return IoError("cannot make the export durable: " + partial.string());
  }
  fs::rename(partial, out, ec);
  if (ec)
    return IoError("cannot rename " + partial.string() + " to " + a.out + ": " + ec.message());
  folder.Keep();
  return report;
}

}  // namespace dossier::exporter
