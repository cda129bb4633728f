// dossier dicom export: a case's imaging as a de-identified disc folder a clinic can open.
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "app/cli.h"
#include "common/file_io.h"
#include "dicom/dicom.h"
#include "ingest/worker.h"

namespace dossier::app {
namespace {

namespace fs = std::filesystem;

struct ExportArgs {
  std::string case_id;
  std::vector<std::string> series;  // empty: all of the case's series
  std::string out;
  std::string pseudonym;
  bool jpeg_ls = false;
  bool allow_mismatch = false;
};

Status Export(const Context& ctx, const ExportArgs& a) {
  DOSSIER_RETURN_IF_ERROR(ExpectId(a.case_id, IdKind::kCase, "--case"));
  for (const auto& series : a.series) {
    DOSSIER_RETURN_IF_ERROR(ExpectId(series, IdKind::kSeries, "--series"));
  }
  const fs::path out = a.out;
  std::error_code ec;
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
  if (fs::exists(out, ec) && !(fs::is_directory(out, ec) && fs::is_empty(out, ec))) {
    return Rejected(a.out + " already exists and is not empty: choose a new folder");
  }
  DOSSIER_ASSIGN_OR_RETURN(auto v, ctx.OpenVault());
  DOSSIER_ASSIGN_OR_RETURN(auto all, v->ListDicomSeries(a.case_id));
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
  if (!a.allow_mismatch) {
    // Every blocked series at once, by id (the facts are in `dossier docs`, not here).
    std::vector<const vault::DicomSeriesRecord*> blocked;
    for (const auto* s : chosen) {
      if (!s->mismatch.empty()) blocked.push_back(s);
    }
    if (blocked.size() == 1) {
      return Rejected(fmt::format(
          "series {} may belong to another patient ({}): check the disc (`dossier docs --case "
          "{}` shows whose it is), then export it with --allow-mismatch or leave it out with "
          "--series",
          blocked[0]->id, blocked[0]->mismatch, a.case_id));
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
          blocked.size(), list, a.case_id));
    }
  }

  const fs::path partial = out.string() + ".partial";
  if (fs::exists(partial, ec)) {
    return Rejected(partial.string() +
                    " already exists (an interrupted export?): remove it or choose another folder");
  }
  const std::string patient_name = a.pseudonym.empty() ? "CASE^" + a.case_id : a.pseudonym;
  const std::string patient_id = a.pseudonym.empty() ? a.case_id : a.pseudonym;
  vault::Vault::DicomExportRequest record{a.case_id, {}, patient_name, a.allow_mismatch};
  for (const auto* series : chosen) record.series.push_back(series->id);
  DOSSIER_RETURN_IF_ERROR(v->RecordDicomExport(record));  // on record before any is decrypted
  PartialFolder folder(partial);
  fs::create_directories(partial, ec);
  if (ec) return IoError("cannot create " + partial.string() + ": " + ec.message());

  DOSSIER_ASSIGN_OR_RETURN(SecureBuffer uid_key, v->ExportUidKey(a.case_id));
  // The instances are parsed, de-identified and written by a confined worker; this process,
  // which holds the keys, only decrypts them into sealed memfds.
  ingest::WorkerOptions worker_options;
  worker_options.confinement = ctx.worker_confinement();
  DOSSIER_ASSIGN_OR_RETURN(ingest::ExportWorker worker,
                           ingest::ExportWorker::Start(worker_options, partial, uid_key));
  if (!worker.unconfined().empty()) {
    std::fprintf(stderr, "dossier: WARNING: the export worker runs unconfined: %s\n",
                 worker.unconfined().c_str());
  }

  size_t total = 0, done = 0, recompressed = 0;
  uint64_t bytes_in = 0, bytes_out = 0;
  for (const auto* s : chosen) total += s->doc_ids.size();
  std::vector<std::string> file_ids;
  std::map<std::string, size_t> kept;       // why JPEG-LS was not applied → instances
  std::map<std::string, size_t> burned_in;  // series → instances with burned-in text
  {
    Progress progress("exporting");
    for (size_t si = 0; si < chosen.size(); ++si) {
      const auto* s = chosen[si];
      const std::string dir = fmt::format("DICOM/S{:03d}", si + 1);
      for (size_t k = 0; k < s->doc_ids.size(); ++k) {
        MemorySink plain;
        DOSSIER_RETURN_IF_ERROR(v->ReadExportedInstance(s->doc_ids[k], plain));
        DOSSIER_ASSIGN_OR_RETURN(File memfd, SealedMemoryFile(plain.data));
        const std::string id = dir + "/" + dicom::InstanceFileId(k + 1);
        auto w = worker.Write(id, memfd, patient_name, patient_id, a.jpeg_ls);
        if (!w.ok()) return w.status().WithContext("document " + s->doc_ids[k]);
        file_ids.push_back(id);
        bytes_in += plain.data.size();
        bytes_out += w->bytes;
        recompressed += w->recompressed ? 1 : 0;
        if (!w->kept_reason.empty()) ++kept[w->kept_reason];
        if (w->burned_in) ++burned_in[s->id];
        progress.Update(0, 0, ++done, total);
      }
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

  const double ratio = bytes_out > 0 ? static_cast<double>(bytes_in) / bytes_out : 1.0;
  if (ctx.json) {
    nlohmann::json j = {{"folder", a.out},
                        {"series", chosen.size()},
                        {"instances", done},
                        {"bytes_in", bytes_in},
                        {"bytes_out", bytes_out},
                        {"recompressed", recompressed},
                        {"ratio", ratio},
                        {"kept", kept},
                        {"burned_in_annotation", burned_in}};
    PrintJson(j);
  } else {
    std::printf(
        "exported %zu series, %zu instances to %s (DICOMDIR, de-identified: PS3.15 "
        "Basic Profile, full dates and patient characteristics kept)\n",
        chosen.size(), done, a.out.c_str());
    std::printf("patient shown as %s\n", patient_name.c_str());
    if (a.jpeg_ls) {
      std::printf("JPEG-LS lossless: %zu of %zu instances re-compressed, %s → %s (%.2f:1)\n",
                  recompressed, done, HumanSize(bytes_in).c_str(), HumanSize(bytes_out).c_str(),
                  ratio);
      for (const auto& [why, n] : kept)
        std::printf("  kept as they were: %zu (%s)\n", n, why.c_str());
    }
    for (const auto& [series, n] : burned_in) {
      std::printf(
          "! %s: %zu instance(s) have text burned into the image (BurnedInAnnotation = "
          "YES): names may be visible in the pixels — look at them before sending\n",
          series.c_str(), n);
    }
  }
  std::fprintf(stderr, "dossier: %s holds decrypted images (de-identified): delete it once sent\n",
               a.out.c_str());
  return Status::Ok();
}

Status Preview(const Context& ctx, const std::string& series, const std::string& out, bool force) {
  DOSSIER_RETURN_IF_ERROR(ExpectId(series, IdKind::kSeries));
  std::error_code ec;
  if (!force && fs::exists(out, ec)) {
    return Rejected(out + " already exists: choose another name or add --force");
  }
  DOSSIER_ASSIGN_OR_RETURN(auto v, ctx.OpenVault());
  DOSSIER_ASSIGN_OR_RETURN(std::vector<uint8_t> png, v->GetSeriesPreview(series));
  DOSSIER_ASSIGN_OR_RETURN(
      DurableFileSink file,
      DurableFileSink::Create(
          out, force ? DurableFileSink::Existing::kReplace : DurableFileSink::Existing::kRefuse));
  DOSSIER_RETURN_IF_ERROR(file.Write(png));
  if (Status st = file.Commit(); !st.ok()) {
    if (st.code() == StatusCode::kRejected) {  // made by someone else meanwhile: not replaced
      return Rejected(out + " already exists: choose another name or add --force");
    }
    return st;
  }
  std::fprintf(stderr, "wrote the preview of %s to %s (not encrypted: delete it when done)\n",
               series.c_str(), out.c_str());
  return Status::Ok();
}

}  // namespace

void AddDicomCommands(CLI::App& app, Context& ctx) {
  auto* dicom = app.add_subcommand("dicom", "DICOM imaging of a case");
  dicom->require_subcommand(1);
  auto args = std::make_shared<ExportArgs>();
  auto* exp = dicom->add_subcommand(
      "export",
      "write a case's DICOM series to a new folder a clinic can open: de-identified (DICOM\n"
      "PS3.15 Basic Profile; dates, sex and age kept), with a DICOMDIR; reads are audited\n"
      "  e.g. dossier dicom export --case case_ab12cd34ef --jpeg-ls -o /media/usb/ct");
  exp->add_option("--case", args->case_id, "case id")->required();
  exp->add_option("--series", args->series, "only these series (ids from `dossier docs`)");
  exp->add_option("-o,--output", args->out, "the new folder")->required();
  exp->add_option("--pseudonym", args->pseudonym,
                  "what the clinic sees as the patient's name and ID (default CASE^<case id>)");
  exp->add_flag("--jpeg-ls", args->jpeg_ls,
                "re-compress images losslessly to JPEG-LS (smaller; lossy or JPEG 2000 images "
                "are kept as they are)");
  exp->add_flag("--allow-mismatch", args->allow_mismatch,
                "export series flagged as possibly another patient's too");
  exp->callback([&ctx, args] {
    ctx.act = {"dicom.export", args->series};
    ctx.act.objects.push_back(args->case_id);
    ctx.action = [&ctx, args] { return Export(ctx, *args); };
  });

  auto preview = std::make_shared<std::array<std::string, 2>>();
  auto force = std::make_shared<bool>(false);
  auto* pv = dicom->add_subcommand(
      "preview", "write a series' preview (its middle image, PNG, at most 256 px) to a file");
  pv->add_option("SERIES", (*preview)[0], "series id (from `dossier docs`)")->required();
  pv->add_option("-o,--output", (*preview)[1], "the PNG file to write")->required();
  pv->add_flag("--force", *force, "overwrite the output file if it exists");
  pv->callback([&ctx, preview, force] {
    ctx.act = {"dicom.preview", {(*preview)[0]}};
    ctx.action = [&ctx, preview, force] {
      return Preview(ctx, (*preview)[0], (*preview)[1], *force);
    };
  });
}

}  // namespace dossier::app
