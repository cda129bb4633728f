#include "exporter/export.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <future>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "common/encoding.h"
#include "common/file_io.h"
#include "dicom/dicom.h"
#include "exporter/gate.h"
#include "exporter/imaging.h"
#include "exporter/part_file.h"
#include "exporter/plan.h"
#include "exporter/texts.h"
#include "exporter/zip_part.h"

namespace dossier::exporter {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The marker that proves a `DIR.partial` folder is an unfinished export of ours.
constexpr const char* kPartialMarker = ".dossier-export-partial";

// Verdicts a clinic refuses: left out unless --include-handwritten.
bool Unacceptable(const std::string& verdict) {
  return verdict == "handwritten" || verdict == "unreadable" || verdict == "blank";
}

std::string Extension(const std::string& kind) {
  static const std::map<std::string, std::string> kExt = {
      {"pdf", "PDF"},  {"jpeg", "JPG"}, {"png", "PNG"},   {"tiff", "TIF"},
      {"heic", "HEI"}, {"text", "TXT"}, {"office", "DOC"}};
  auto it = kExt.find(kind);
  return it == kExt.end() ? "BIN" : it->second;
}

// One file of the export, wherever the plan puts it.
struct Item {
  std::string doc_id;
  std::string path;   // in the part: DOCS/D0001.PDF, DICOM/S001/IM0001
  std::string title;  // the document's own name, or the series' description
  std::string category;
  std::string added_at;
  std::string verdict;
  int pages = 0;
  uint64_t size = 0;
  int series = -1;                 // index into `series` for DICOM instances
  dicom::InstanceSummary summary;  // DICOM instances only
  int spooled = -1;                // its index in the imaging spool (--deidentify, --jpeg-ls)
  // What of the document is sent: a HEIC photo goes as its JPEG copy, which any computer
  // opens (vault::Vault::StoreRendition); everything else as uploaded.
  vault::DocumentCopy copy = vault::DocumentCopy::kAsUploaded;
};

struct SeriesInfo {
  std::string id;     // ser_…
  std::string label;  // S001
  std::string modality, description, study_date;
  int images = 0;
};

Status PrepareOutput(const fs::path& out, const fs::path& partial) {
  std::error_code ec;
  if (fs::exists(out, ec)) {
    return Rejected(fmt::format("{} already exists: give --out a new folder", out.string()));
  }
  if (fs::exists(partial, ec)) {
    // Only a folder that proves to be an unfinished export of ours is removed.
    if (!fs::is_regular_file(partial / kPartialMarker, ec)) {
      return Rejected(fmt::format(
          "{} exists and is not an unfinished export of Dossier: move it away, or give --out "
          "another folder",
          partial.string()));
    }
    fs::remove_all(partial, ec);
    if (ec) return IoError("cannot remove the stale " + partial.string() + ": " + ec.message());
  }
  if (!out.parent_path().empty()) {
    fs::create_directories(out.parent_path(), ec);
    if (ec) return IoError("cannot create " + out.parent_path().string() + ": " + ec.message());
  }
  if (::mkdir(partial.c_str(), 0700) != 0)
    return ErrnoError("cannot create", partial.string(), errno);
  return WriteFileDurably(partial / kPartialMarker, AsBytes(std::string("dossier export\n")));
}

// Streams one document from the vault into the open entry.
class EntrySink final : public ByteSink {
 public:
  EntrySink(ZipPartWriter& w, uint64_t& done, const std::function<void()>& tick)
      : w_(w), done_(done), tick_(tick) {}
  Status Write(std::span<const uint8_t> data) override {
    DOSSIER_RETURN_IF_ERROR(w_.Write(data));
    done_ += data.size();
    if (tick_) tick_();
    return Status::Ok();
  }

 private:
  ZipPartWriter& w_;
  uint64_t& done_;
  const std::function<void()>& tick_;
};

// --deidentify, --jpeg-ls: every instance is transformed by the imaging worker before the
// plan, into the spool (imaging.h); the items then have the size, summary and title of what
// is sent, and the series what their de-identified instances say.
Result<std::unique_ptr<ImagingSpool>> TransformImaging(vault::Vault& v, const ExportRequest& req,
                                                       const std::string& export_id,
                                                       const fs::path& partial,
                                                       std::vector<Item>& items,
                                                       std::vector<SeriesInfo>& series,
                                                       const ExportProgress& progress) {
  InstanceTransform how;
  how.deidentify = req.deidentify;
  how.patient_name = "CASE^" + req.case_id;  // as `dossier dicom export` shows them
  how.patient_id = req.case_id;
  how.jpeg_ls = req.jpeg_ls;
  ImagingWorkerOptions options;
  options.confinement = req.confinement;
  DOSSIER_ASSIGN_OR_RETURN(SecureBuffer uid_key, v.ExportUidKey(req.case_id));
  DOSSIER_ASSIGN_OR_RETURN(auto spool, ImagingSpool::Create(partial, options, uid_key, how));
  uint64_t total = 0, done = 0;
  for (const auto& it : items) total += it.series >= 0 ? it.size : 0;
  std::set<int> described;
  for (Item& it : items) {
    if (it.series < 0) continue;
    auto read = [&](ByteSink& sink) { return v.ReadDocumentForExport(export_id, it.doc_id, sink); };
    auto t = spool->Add(read, series[it.series].id);
    if (!t.ok()) {
      const bool named = t.status().message().find(it.doc_id) != std::string::npos;
      return named ? t.status() : t.status().WithContext("document " + it.doc_id);
    }
    done += it.size;
    it.spooled = static_cast<int>(spool->stats().instances) - 1;
    it.size = t->bytes;
    it.summary = std::move(t->summary);
    it.title = fmt::format("{} {}", it.summary.modality, it.summary.series_description);
    if (described.insert(it.series).second) {
      series[it.series].description = it.summary.series_description;
      series[it.series].study_date = it.summary.study_date;
    }
    if (progress) progress(0, 0, done, total);
  }
  return spool;
}

// The verified parts become the export: renamed into place, then recorded. A kill before the
// rename leaves only `DIR.partial` (removed by the next export to DIR); one between the rename
// and the record leaves a complete folder with no ledger row, still holding the marker.
Result<ExportReport> Finish(vault::Vault& v, const ExportRequest& req,
                            const vault::CaseRecord& kase, ExportReport report, const fs::path& out,
                            const fs::path& partial, PartialFolder& folder) {
  DOSSIER_RETURN_IF_ERROR(SyncDir(partial));
  if (::rename(partial.c_str(), out.c_str()) != 0) {
    return ErrnoError("cannot move the export into", out.string(), errno);
  }
  folder.Keep();
  DOSSIER_RETURN_IF_ERROR(SyncDir(out.parent_path().empty() ? fs::path(".") : out.parent_path()));
  vault::ExportRequestRecord r;
  r.id = report.request_id;
  r.export_id = report.export_id;
  r.case_id = kase.id;
  r.patient_id = kase.patient_id;
  r.clinic_id = report.clinic_id;
  r.consent_id = report.consent_id;
  r.purpose = report.purpose;
  r.urgent = req.urgent;
  r.inventory_only = req.inventory_only;
  r.documents = report.sent;
  for (const auto& p : report.parts) r.parts.push_back({p.name, p.size, p.sha256_hex});
  auto recorded = v.RecordExport(r);
  if (!recorded.ok()) {
    std::error_code ec;
    fs::remove_all(out, ec);
    return recorded.status().WithContext("the export was not recorded, so its parts were removed");
  }
  report.due = recorded->due;
  std::error_code ec;
  fs::remove(out / kPartialMarker, ec);
  return report;
}

// What the manager must know about transformed imaging: documents cannot be de-identified,
// text may be burned into images, and a worker without confinement.
void ImagingWarnings(const ExportRequest& req, const ImagingSpool& spool,
                     const std::vector<Item>& items, ExportReport& report) {
  report.imaging = spool.stats();
  if (!spool.unconfined().empty()) {
    report.warnings.push_back("the imaging worker ran unconfined: " + spool.unconfined());
  }
  if (!req.deidentify) return;
  const auto documents =
      std::count_if(items.begin(), items.end(), [](const Item& it) { return it.series < 0; });
  report.warnings.push_back(fmt::format(
      "--deidentify de-identifies DICOM images only: PDFs and photos of documents cannot be "
      "de-identified automatically, and the {} document(s) in this export go as they are, as "
      "consent {} covers them — check them for the patient's name before sending",
      documents, report.consent_id));
  for (const auto& line : BurnedInWarnings(report.imaging)) report.warnings.push_back(line);
}

}  // namespace

std::string GeneratePassword() {
  // 24 characters from 32 that cannot be mistaken for each other: 120 bits.
  static constexpr char kAlphabet[] = "abcdefghjkmnpqrstuvwxyz23456789AB";
  std::string out;
  for (int i = 0; i < 24; ++i) {
    if (i > 0 && i % 4 == 0) out += '-';
    out += kAlphabet[randombytes_uniform(32)];
  }
  return out;
}

Result<ExportReport> Export(vault::Vault& v, const ExportRequest& req,
                            const ExportProgress& progress) {
  const Clock& clock = req.clock ? *req.clock : Clock::System();
  if (req.inventory_only && (req.deidentify || req.jpeg_ls)) {
    return InvalidArgument(
        fmt::format("{} changes the images sent, and an inventory sends none: "
                    "leave it out of --inventory-only",
                    req.deidentify ? "--deidentify" : "--jpeg-ls"));
  }
  DOSSIER_ASSIGN_OR_RETURN(vault::CaseRecord kase, v.GetCase(req.case_id));
  DOSSIER_ASSIGN_OR_RETURN(vault::ClinicRecord clinic, v.FindClinic(req.recipient));
  DOSSIER_ASSIGN_OR_RETURN(std::vector<vault::DocumentRecord> docs, v.ListDocuments(kase.id));
  DOSSIER_ASSIGN_OR_RETURN(std::vector<vault::DicomSeriesRecord> all_series,
                           v.ListDicomSeries(kase.id));
  ExportReport report;
  report.clinic_id = clinic.id;

  // What was asked for: the whole case, or the documents and series named.
  std::map<std::string, const vault::DocumentRecord*> by_id;
  for (const auto& d : docs) {
    if (d.status == "stored") by_id[d.id] = &d;
  }
  std::map<std::string, size_t> series_of_doc;  // DICOM instance → index in all_series
  for (size_t s = 0; s < all_series.size(); ++s) {
    for (const auto& id : all_series[s].doc_ids) series_of_doc[id] = s;
  }
  std::set<std::string> chosen;
  if (req.docs.empty()) {
    for (const auto& [id, d] : by_id) chosen.insert(id);
  } else {
    for (const std::string& id : req.docs) {
      auto s = std::find_if(all_series.begin(), all_series.end(),
                            [&](const auto& r) { return r.id == id; });
      if (s != all_series.end()) {
        chosen.insert(s->doc_ids.begin(), s->doc_ids.end());
      } else if (by_id.count(id) != 0) {
        chosen.insert(id);
      } else {
        return NotFound(fmt::format(
            "{} is not a document or DICOM series of case {}: see `dossier docs --case {}`", id,
            kase.id, kase.id));
      }
    }
  }

  // Documents a clinic refuses stay behind unless asked for.
  std::vector<std::string> left_out;
  for (auto it = chosen.begin(); it != chosen.end();) {
    const auto* d = by_id.at(*it);
    const bool dicom = series_of_doc.count(*it) != 0;
    if (!dicom && d->kind.rfind("dicom", 0) == 0) {  // a disc's DICOMDIR: each part has its own
      it = chosen.erase(it);
      continue;
    }
    if (!dicom && Unacceptable(d->verdict) && !req.include_handwritten) {
      left_out.push_back(fmt::format("{} ({})", d->id, d->verdict));
      it = chosen.erase(it);
      continue;
    }
    ++it;
  }
  if (!left_out.empty()) {
    std::string ids;
    for (const auto& s : left_out) ids += (ids.empty() ? "" : ", ") + s;
    report.warnings.push_back(fmt::format(
        "left out {} document(s) clinics do not accept: {} (add --include-handwritten to send "
        "them all the same)",
        left_out.size(), ids));
  }

  // Another patient's images must never reach a clinic: a series the wrong-patient check
  // flagged blocks the export until a person resolved it.
  std::vector<std::string> flagged;
  for (const auto& s : all_series) {
    if (s.mismatch.empty()) continue;
    if (std::any_of(s.doc_ids.begin(), s.doc_ids.end(),
                    [&](const std::string& id) { return chosen.count(id) != 0; })) {
      flagged.push_back(s.id);
    }
  }
  if (!flagged.empty() && !req.inventory_only) {
    std::string ids;
    for (const auto& id : flagged) ids += (ids.empty() ? "" : ", ") + id;
    const std::string why = fmt::format(
        "DICOM series {} may be another patient's: check them with `dossier docs --case {}`, "
        "then move or remove them, or leave them out with --docs",
        ids, kase.id);
    DOSSIER_RETURN_IF_ERROR(v.RecordExportRefused(kase.id, clinic.id, why));
    return Rejected(why);
  }

  // The consent gate, before anything is read or written.
  GateRequest gate;
  gate.patient_id = kase.patient_id;
  gate.clinic_id = clinic.id;
  gate.purpose = req.purpose;
  DOSSIER_ASSIGN_OR_RETURN(gate.today, v.Today());
  std::vector<GateDocument> categories;
  for (const auto& id : chosen) {
    categories.push_back({id, ParseCategory(by_id.at(id)->category).value_or(Category::kOther)});
  }
  if (!req.inventory_only) gate.documents = categories;
  DOSSIER_ASSIGN_OR_RETURN(auto consents, v.ListConsents(kase.patient_id));
  auto decision = CheckConsent(consents, gate);
  if (!decision.ok()) {
    DOSSIER_RETURN_IF_ERROR(v.RecordExportRefused(kase.id, clinic.id, decision.status().message()));
    return decision.status();
  }
  report.consent_id = decision->consent_id;
  report.purpose = decision->purpose;
  if (!req.inventory_only && chosen.empty()) {
    return Rejected(fmt::format("nothing to export from case {}: no document is left", kase.id));
  }
  const vault::ConsentRecord* consent = nullptr;
  for (const auto& c : consents) {
    if (c.id == decision->consent_id) consent = &c;
  }
  auto covered = [&](const std::string& category) {
    const auto c = ParseCategory(category).value_or(Category::kOther);
    return std::find(consent->categories.begin(), consent->categories.end(), c) !=
           consent->categories.end();
  };

  report.request_id = RandomId("req");
  report.export_id = RandomId("exp");
  const int64_t mtime =
      std::chrono::duration_cast<std::chrono::seconds>(clock.Now().time_since_epoch()).count();
  const PartSealing sealing{req.password, req.age_recipients};

  // The files, in order: documents by date, then the series as the case lists them.
  std::vector<Item> items;
  std::vector<SeriesInfo> series;
  std::vector<std::string> plain_ids;
  for (const auto& d : docs) {
    if (chosen.count(d.id) != 0 && series_of_doc.count(d.id) == 0) plain_ids.push_back(d.id);
  }
  size_t doc_n = 0;
  for (const auto& id : plain_ids) {
    const auto* d = by_id.at(id);
    Item it;
    it.doc_id = d->id;
    const bool as_jpeg = d->rendition == "jpeg";
    it.copy = as_jpeg ? vault::DocumentCopy::kRendition : vault::DocumentCopy::kAsUploaded;
    it.path = fmt::format("DOCS/D{:04d}.{}", ++doc_n, Extension(as_jpeg ? "jpeg" : d->kind));
    it.title = req.deidentify ? d->category : d->name;  // a file's name may be the patient's
    if (as_jpeg) it.title += " (sent as JPEG)";
    it.category = d->category;
    it.added_at = d->added_at;
    it.verdict = d->verdict;
    it.pages = d->pages;
    it.size = as_jpeg ? d->rendition_size : d->size;
    items.push_back(std::move(it));
  }
  for (const auto& s : all_series) {
    std::vector<size_t> members;
    for (size_t k = 0; k < s.doc_ids.size(); ++k) {
      if (chosen.count(s.doc_ids[k]) != 0) members.push_back(k);
    }
    if (members.empty()) continue;
    SeriesInfo info;
    info.id = s.id;
    info.label = SeriesLabel(series.size());
    size_t instance_n = 0;
    for (size_t k : members) {
      DOSSIER_ASSIGN_OR_RETURN(dicom::InstanceSummary sum,
                               dicom::FromJson(s.instance_summaries[k]));
      const auto* d = by_id.at(s.doc_ids[k]);
      if (info.modality.empty()) {
        info.modality = sum.modality;
        info.description = sum.series_description;
        info.study_date = sum.study_date;
      }
      Item it;
      it.doc_id = d->id;
      it.path = DicomFileId(info.label, ++instance_n);
      it.title = fmt::format("{} {}", sum.modality, sum.series_description);
      it.category = d->category;
      it.added_at = d->added_at;
      it.size = d->size;
      it.series = static_cast<int>(series.size());
      it.summary = std::move(sum);
      items.push_back(std::move(it));
    }
    info.images = static_cast<int>(instance_n);
    series.push_back(std::move(info));
  }

  BundleHeader header;
  header.request_id = report.request_id;
  header.export_id = report.export_id;
  header.consent_id = report.consent_id;
  header.clinic_id = clinic.id;
  header.clinic_name = clinic.info.name;
  header.purpose = std::string(ToString(report.purpose));
  header.urgent = req.urgent;
  header.created_at = FormatUtc(clock.Now());
  header.encrypted = !req.password.empty();
  DOSSIER_ASSIGN_OR_RETURN(vault::VaultSettings settings, v.GetSettings());
  header.sender = settings.operator_name;

  const fs::path out = req.out.lexically_normal();
  const fs::path partial = fs::path(out.string() + ".partial");

  // Every document read for the export is on record, under its id, before the first byte.
  std::optional<PartialFolder> partial_folder;
  auto open_output = [&]() -> Status {
    for (const auto& it : items) report.sent.push_back(it.doc_id);
    DOSSIER_RETURN_IF_ERROR(PrepareOutput(out, partial));
    partial_folder.emplace(partial);
    std::map<std::string, std::string> details;
    if (req.deidentify || req.jpeg_ls) {
      details = {{"deidentify", req.deidentify ? "yes" : "no"},
                 {"jpeg_ls", req.jpeg_ls ? "yes" : "no"}};
    }
    // What left as a JPEG copy rather than as uploaded, by id.
    std::string copies;
    for (const auto& it : items) {
      if (it.copy == vault::DocumentCopy::kRendition)
        copies += (copies.empty() ? "" : ",") + it.doc_id;
    }
    if (!copies.empty()) details["jpeg_copies"] = copies;
    return v.AuditExportReads(report.export_id, kase.patient_id, report.sent, details);
  };
  // Transformed imaging is planned by its new sizes: read, transformed and spooled first.
  std::unique_ptr<ImagingSpool> spool;
  if (req.deidentify || req.jpeg_ls) {
    DOSSIER_RETURN_IF_ERROR(open_output());
    DOSSIER_ASSIGN_OR_RETURN(
        spool, TransformImaging(v, req, report.export_id, partial, items, series, progress));
    header.deidentified = req.deidentify;
    header.jpeg_ls = req.jpeg_ls;
  }

  if (req.inventory_only) {
    Inventory inv;
    for (const auto& it : items) {
      if (it.series >= 0) continue;
      if (covered(it.category)) {
        inv.documents.push_back(
            {it.doc_id, it.category, it.added_at.substr(0, 10), it.pages, it.verdict});
      } else {
        ++inv.other_documents;
      }
    }
    // Studies, from every series of the case (imaging is one category).
    std::map<std::string, InventoryStudy> studies;
    for (const auto& s : all_series) {
      if (s.instance_summaries.empty()) continue;
      DOSSIER_ASSIGN_OR_RETURN(dicom::InstanceSummary sum, dicom::FromJson(s.summary));
      if (!covered("imaging")) {
        inv.other_images += static_cast<int>(s.doc_ids.size());
        continue;
      }
      auto& st = studies[s.study_id];
      st.study_id = s.study_id;
      st.date = sum.study_date;
      if (st.modalities.find(sum.modality) == std::string::npos) {
        st.modalities += (st.modalities.empty() ? "" : ",") + sum.modality;
      }
      ++st.series;
      st.images += static_cast<int>(s.doc_ids.size());
    }
    for (auto& [id, st] : studies) inv.studies.push_back(st);
    DOSSIER_RETURN_IF_ERROR(PrepareOutput(out, partial));
    PartialFolder folder(partial);
    const std::string name = report.request_id + "-inventory" + sealing.Extension();
    header.part = 1;
    header.parts = {{name, "inventory"}};
    DOSSIER_ASSIGN_OR_RETURN(auto part, PartFile::Create(partial / name, sealing, mtime));
    ZipPartWriter& w = part->zip();
    DOSSIER_RETURN_IF_ERROR(w.AddEntry("README.TXT", AsBytes(Readme(header))).status());
    DOSSIER_RETURN_IF_ERROR(w.AddEntry("INDEX.HTM", AsBytes(InventoryHtml(header, inv))).status());
    DOSSIER_RETURN_IF_ERROR(
        w.AddEntry("MANIFEST.json", AsBytes(InventoryManifest(header, inv))).status());
    ExportedPart p;
    p.name = name;
    DOSSIER_ASSIGN_OR_RETURN(p.size, part->Close());
    DOSSIER_ASSIGN_OR_RETURN(ReadBack back, part->Verifier({})());
    p.sha256_hex = ToHex(back.file_sha256);
    report.parts.push_back(p);
    DOSSIER_RETURN_IF_ERROR(
        WriteFileDurably(partial / "SHA256SUMS", AsBytes(p.sha256_hex + "  " + name + "\n")));
    return Finish(v, req, kase, report, out, partial, folder);
  }

  // The plan: every part self-contained and under the limit.
  std::vector<PlanItem> plan_items;
  for (const auto& it : items) {
    plan_items.push_back({it.doc_id, it.series >= 0 ? series[it.series].id : "", it.size,
                          ItemOverhead(it.path, it.title)});
  }
  std::vector<PlannedPart> plan;
  for (size_t guess = 1;;) {
    DOSSIER_ASSIGN_OR_RETURN(
        plan, PlanParts(plan_items, sealing.ArchiveLimit(req.max_part), PartOverhead(guess),
                        kGroupOverhead, req.max_part_text));
    if (plan.size() <= guess) break;
    guess = plan.size();
  }
  const int n = static_cast<int>(plan.size());
  for (int k = 0; k < n; ++k) {
    PartSummary ps;
    ps.name = fmt::format("{}-part{}of{}{}", report.request_id, k + 1, n, sealing.Extension());
    for (size_t i : plan[k].items) {
      if (items[i].series >= 0) {
        ++ps.instances;
        ps.series.insert(series[items[i].series].label);
      } else {
        ++ps.documents;
      }
    }
    header.parts.push_back({ps.name, Describe(ps)});
  }

  if (!spool) DOSSIER_RETURN_IF_ERROR(open_output());

  uint64_t total = 0, done = 0;
  for (const auto& it : items) total += it.size;
  std::future<Result<ReadBack>> verifying;
  std::vector<std::vector<std::string>> dicom_paths(n);
  std::vector<std::map<std::string, ContentDigest>> digests(n);
  // A part is checked on the other core while the next one is written.
  auto check = [&](int k, Result<ReadBack> back) -> Status {
    if (!back.ok()) return back.status();
    report.parts[k].sha256_hex = ToHex(back->file_sha256);
    std::map<std::string, const ZipEntryDigest*> found;
    for (const auto& e : back->entries) found[e.name] = &e;
    for (const auto& [path, digest] : digests[k]) {
      auto f = found.find(path);
      if (f == found.end() || f->second->sha256 != digest) {
        return Corrupt(fmt::format("part {} failed its read-back: {} {}", header.parts[k].first,
                                   path, f == found.end() ? "is missing" : "differs"));
      }
    }
    for (const auto& [name, bytes] : back->kept) {
      if (name != "DICOMDIR") continue;
      DOSSIER_ASSIGN_OR_RETURN(dicom::InstanceSummary dir, dicom::Summarize(bytes));
      std::set<std::string> listed, present;
      for (const auto& f : dir.referenced_files) listed.insert(dicom::FileIdKey(f));
      for (const auto& p : dicom_paths[k]) present.insert(dicom::FileIdKey(p));
      if (listed != present) {
        return Corrupt(fmt::format(
            "part {} failed its read-back: its DICOMDIR lists {} files, the part holds {}",
            header.parts[k].first, listed.size(), present.size()));
      }
    }
    return Status::Ok();
  };
  for (int k = 0; k < n; ++k) {
    header.part = k + 1;
    const fs::path path = partial / header.parts[k].first;
    DOSSIER_ASSIGN_OR_RETURN(auto part, PartFile::Create(path, sealing, mtime));
    ZipPartWriter* w = &part->zip();
    std::vector<ManifestFile> files;
    std::vector<dicom::DicomdirEntry> dicomdir;
    std::function<void()> tick = [&] {
      if (progress) progress(k + 1, n, done, total);
    };
    for (size_t i : plan[k].items) {
      const Item& it = items[i];
      DOSSIER_RETURN_IF_ERROR(w->BeginEntry(it.path, it.size));
      EntrySink sink(*w, done, tick);
      DOSSIER_RETURN_IF_ERROR(
          it.spooled >= 0 ? spool->Read(it.spooled, sink)
                          : v.ReadDocumentForExport(report.export_id, it.doc_id, sink, it.copy));
      DOSSIER_ASSIGN_OR_RETURN(ContentDigest d, w->EndEntry());
      digests[k][it.path] = d;
      ManifestFile mf{it.path,  it.doc_id, it.category,
                      it.title, it.pages,  it.verdict,
                      it.size,  ToHex(d),  it.series >= 0 ? series[it.series].label : ""};
      files.push_back(std::move(mf));
      if (it.series >= 0) {
        dicomdir.push_back({it.path, it.summary});
        dicom_paths[k].push_back(it.path);
      }
    }
    std::vector<std::string> keep;
    if (!dicomdir.empty()) {
      DOSSIER_ASSIGN_OR_RETURN(std::vector<uint8_t> dir, dicom::BuildDicomdir(dicomdir, "DOSSIER"));
      DOSSIER_RETURN_IF_ERROR(w->AddEntry("DICOMDIR", dir).status());
      keep.push_back("DICOMDIR");
    }
    std::vector<IndexSeries> index_series;
    for (const auto& s : series) {
      int here = 0;
      for (size_t i : plan[k].items)
        here += items[i].series >= 0 && series[items[i].series].id == s.id;
      if (here > 0)
        index_series.push_back({s.label, s.modality, s.description, s.study_date, here, s.images});
    }
    DOSSIER_ASSIGN_OR_RETURN(ContentDigest readme,
                             w->AddEntry("README.TXT", AsBytes(Readme(header))));
    DOSSIER_ASSIGN_OR_RETURN(
        ContentDigest index,
        w->AddEntry("INDEX.HTM", AsBytes(IndexHtml(header, files, index_series))));
    DOSSIER_ASSIGN_OR_RETURN(ContentDigest manifest,
                             w->AddEntry("MANIFEST.json", AsBytes(Manifest(header, files))));
    digests[k]["README.TXT"] = readme;
    digests[k]["INDEX.HTM"] = index;
    digests[k]["MANIFEST.json"] = manifest;
    DOSSIER_ASSIGN_OR_RETURN(uint64_t size, part->Close());
    if (size > req.max_part) {
      return Internal(
          fmt::format("part {} came out at {} bytes, over --max-part {} ({} bytes): "
                      "a planning error; nothing was recorded",
                      k + 1, size, req.max_part_text, req.max_part));
    }
    ExportedPart p;
    p.name = header.parts[k].first;
    p.size = size;
    p.documents = static_cast<int>(
        std::count_if(files.begin(), files.end(), [](const auto& f) { return f.series.empty(); }));
    p.instances = static_cast<int>(files.size()) - p.documents;
    report.parts.push_back(p);
    if (verifying.valid()) DOSSIER_RETURN_IF_ERROR(check(k - 1, verifying.get()));
    // The part's own hash for SHA256SUMS is taken on that core too, in the same pass.
    verifying = std::async(std::launch::async, part->Verifier(keep));
  }
  if (verifying.valid()) DOSSIER_RETURN_IF_ERROR(check(n - 1, verifying.get()));
  if (spool) {
    DOSSIER_RETURN_IF_ERROR(spool->Remove());
    ImagingWarnings(req, *spool, items, report);
  }

  // A part cannot hold its own hash: SHA256SUMS beside the parts (as sha256sum writes it).
  std::string sums;
  for (const auto& p : report.parts) sums += p.sha256_hex + "  " + p.name + "\n";
  DOSSIER_RETURN_IF_ERROR(WriteFileDurably(partial / "SHA256SUMS", AsBytes(sums)));
  return Finish(v, req, kase, report, out, partial, *partial_folder);
}

nlohmann::json ExportReportJson(const ExportReport& rep) {
  nlohmann::json parts = nlohmann::json::array();
  for (const auto& p : rep.parts) {
    parts.push_back({{"name", p.name},
                     {"size", p.size},
                     {"sha256", p.sha256_hex},
                     {"documents", p.documents},
                     {"dicom_instances", p.instances}});
  }
  return {{"request_id", rep.request_id},
          {"export_id", rep.export_id},
          {"consent_id", rep.consent_id},
          {"clinic_id", rep.clinic_id},
          {"purpose", ToString(rep.purpose)},
          {"due", rep.due},
          {"parts", parts},
          {"documents", rep.sent},
          {"warnings", rep.warnings}};
}

}  // namespace dossier::exporter
