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
#include "exporter/dicom_folder.h"
#include "exporter/imaging.h"
#include "report/report.h"

namespace dossier::app {
namespace {

namespace fs = std::filesystem;

struct ExportArgs {
  exporter::DicomFolderRequest request;
};

// The work is exporter/'s (dicom_folder.h): this checks the ids, then prints.
Status Export(const Context& ctx, ExportArgs& args) {
  exporter::DicomFolderRequest& a = args.request;
  DOSSIER_RETURN_IF_ERROR(ExpectId(a.case_id, IdKind::kCase, "--case"));
  for (const auto& series : a.series) {
    DOSSIER_RETURN_IF_ERROR(ExpectId(series, IdKind::kSeries, "--series"));
  }
  DOSSIER_RETURN_IF_ERROR(exporter::CheckDicomFolderRequest(a));
  DOSSIER_ASSIGN_OR_RETURN(auto v, ctx.OpenVault());
  a.confinement = ctx.worker_confinement();
  a.unconfined = [](const std::string& why) {
    std::fprintf(stderr, "dossier: WARNING: the export worker runs unconfined: %s\n", why.c_str());
  };
  std::optional<Progress> progress;
  a.progress = [&](size_t done, size_t total) {
    if (!progress) progress.emplace("exporting");
    progress->Update(0, 0, done, total);
  };
  DOSSIER_ASSIGN_OR_RETURN(exporter::DicomFolderReport r, exporter::ExportDicomFolder(*v, a));
  progress.reset();
  const exporter::ImagingStats& st = r.imaging;
  const double ratio = st.bytes_out > 0 ? static_cast<double>(st.bytes_in) / st.bytes_out : 1.0;
  if (ctx.json) {
    nlohmann::json j = {{"folder", a.out},
                        {"series", r.series},
                        {"instances", st.instances},
                        {"bytes_in", st.bytes_in},
                        {"bytes_out", st.bytes_out},
                        {"recompressed", st.recompressed},
                        {"ratio", ratio},
                        {"kept", st.kept},
                        {"burned_in_annotation", st.burned_in}};
    PrintJson(j);
  } else {
    std::printf(
        "exported %zu series, %zu instances to %s (DICOMDIR, de-identified: PS3.15 "
        "Basic Profile, full dates and patient characteristics kept)\n",
        r.series, st.instances, a.out.c_str());
    std::printf("patient shown as %s\n", r.patient_name.c_str());
    if (a.jpeg_ls) PrintJpegLs(st);
    for (const auto& line : exporter::BurnedInWarnings(st)) std::printf("! %s\n", line.c_str());
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

// `dicom list --case ID`: the case's series, as `docs` shows them.
Status ListSeries(const Context& ctx, const std::string& case_id) {
  DOSSIER_RETURN_IF_ERROR(ExpectId(case_id, IdKind::kCase, "--case"));
  DOSSIER_ASSIGN_OR_RETURN(auto v, ctx.OpenVault());
  DOSSIER_ASSIGN_OR_RETURN(report::CaseDocuments listing, report::LoadCaseDocuments(*v, case_id));
  if (ctx.json) {
    auto arr = nlohmann::json::array();
    for (const auto& s : listing.series) arr.push_back(report::SeriesJson(s, case_id));
    PrintJson(arr);
    return Status::Ok();
  }
  std::printf("%-14s %-8s %10s  %-10s %-7s %-11s %-20s %s\n", "ID", "KIND", "SIZE", "CATEGORY",
              "STATUS", "VERDICT", "ADDED", "SERIES");
  for (const auto& s : listing.series) PrintSeries(s);
  const size_t n = listing.in_series.size();
  std::printf("%zu series, %zu DICOM instance%s\n", listing.series.size(), n, n == 1 ? "" : "s");
  return Status::Ok();
}

}  // namespace

void PrintJpegLs(const exporter::ImagingStats& st) {
  const double ratio = st.bytes_out > 0 ? static_cast<double>(st.bytes_in) / st.bytes_out : 1.0;
  std::printf("JPEG-LS lossless: %zu of %zu instances re-compressed, %s → %s (%.2f:1)\n",
              st.recompressed, st.instances, HumanSize(st.bytes_in).c_str(),
              HumanSize(st.bytes_out).c_str(), ratio);
  for (const auto& [why, n] : st.kept) {
    std::printf("  kept as they were: %zu (%s)\n", n, why.c_str());
  }
}

void AddDicomCommands(CLI::App& app, Context& ctx) {
  auto* dicom = app.add_subcommand("dicom", "DICOM imaging of a case");
  dicom->require_subcommand(1);
  auto args = std::make_shared<ExportArgs>();
  auto* exp = dicom->add_subcommand(
      "export",
      "write a case's DICOM series to a new folder a clinic can open: de-identified (DICOM\n"
      "PS3.15 Basic Profile; dates, sex and age kept), with a DICOMDIR; reads are audited\n"
      "  e.g. dossier dicom export --case case_ab12cd34ef --jpeg-ls -o /media/usb/ct");
  exporter::DicomFolderRequest& r = args->request;
  exp->add_option("--case", r.case_id, "case id")->required();
  exp->add_option("--series", r.series, "only these series (ids from `dossier docs`)");
  exp->add_option("-o,--output", r.out, "the new folder")->required();
  exp->add_option("--pseudonym", r.pseudonym,
                  "what the clinic sees as the patient's name and ID (default CASE^<case id>)");
  exp->add_flag("--jpeg-ls", r.jpeg_ls,
                "re-compress images losslessly to JPEG-LS (smaller; lossy or JPEG 2000 images "
                "are kept as they are)");
  exp->add_flag("--allow-mismatch", r.allow_mismatch,
                "export series flagged as possibly another patient's too");
  exp->callback([&ctx, args] {
    ctx.act = {"dicom.export", args->request.series};
    ctx.act.objects.push_back(args->request.case_id);
    ctx.action = [&ctx, args] { return Export(ctx, *args); };
  });

  auto list_case = std::make_shared<std::string>();
  auto* list = dicom->add_subcommand(
      "list",
      "list a case's DICOM series as `docs` shows them: id, size, date added, modality,\n"
      "instances, study date and description, and what needs attention (--json: the same\n"
      "entries as `docs --json` gives for series)\n"
      "  e.g. dossier dicom list --case case_ab12cd34ef");
  list->add_option("--case", *list_case, "case id")->required();
  list->callback([&ctx, list_case] {
    ctx.act = {"dicom.list", {*list_case}};
    ctx.action = [&ctx, list_case] { return ListSeries(ctx, *list_case); };
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
