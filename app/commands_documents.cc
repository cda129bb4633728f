// dossier ingest | docs [set-category] | get (docs move | remove: commands_corrections.cc)
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "app/cli.h"
#include "common/encoding.h"
#include "common/file_io.h"
#include "common/text.h"
#include "dicom/dicom.h"
#include "ingest/ingest.h"
#include "ocr/ocr.h"
#include "report/report.h"

namespace dossier::app {
namespace {

// Passes bytes through to another sink, showing progress on a terminal.
class ProgressSink final : public ByteSink {
 public:
  ProgressSink(ByteSink& next, uint64_t total, std::string label)
      : next_(next), total_(total), progress_(std::move(label)) {}
  Status Write(std::span<const uint8_t> data) override {
    done_ += data.size();
    progress_.Update(done_, total_);
    return next_.Write(data);
  }

 private:
  ByteSink& next_;
  uint64_t total_;
  uint64_t done_ = 0;
  Progress progress_;
};

Status Ingest(const Context& ctx, const std::string& case_id, const std::vector<std::string>& paths,
              const std::string& reply_to) {
  DOSSIER_RETURN_IF_ERROR(ExpectId(case_id, IdKind::kCase, "--case"));
  if (!reply_to.empty() && KindOfId(reply_to) != IdKind::kExport) {
    DOSSIER_RETURN_IF_ERROR(ExpectId(reply_to, IdKind::kRequest, "--reply-to"));
  }
  DOSSIER_ASSIGN_OR_RETURN(auto v, ctx.OpenVault());
  ingest::IngestReport report;
  Status st;
  {
    Progress progress("ingesting");
    std::vector<std::filesystem::path> p(paths.begin(), paths.end());
    ingest::IngestOptions options;
    options.worker.confinement = ctx.worker_confinement();
    options.reply_to = reply_to;
    st =
        ingest::IngestPaths(*v, case_id, p, options, report, [&](const ingest::IngestProgress& pr) {
          if (pr.pages_total > 0) {
            // Verdicts come before the text where a sample of a page makes them sure.
            std::string known;
            for (const auto& [verdict, n] : pr.verdicts) {
              known += (known.empty() ? "" : ", ") + std::to_string(n) + " " + verdict;
            }
            progress.UpdateCount(
                known.empty() ? "checking pages" : "checking pages (verdicts: " + known + ")",
                pr.pages_done, pr.pages_total);
          } else {
            progress.Update(pr.bytes_done, pr.bytes_total, pr.items_done, pr.items_total);
          }
        });
  }
  // Refused before anything was read (a bad path): the message says it all.
  if (!st.ok() && report.items.empty() && report.series.empty()) return st;
  if (ctx.json) {
    PrintJson(report::IngestItemsJson(report));
  } else {
    std::map<std::string, size_t> skipped;  // group → files, shown as one line each
    size_t dicom_duplicates = 0;
    for (const auto& i : report.items) {
      if (i.status == "skipped") {
        ++skipped[i.reason];
        continue;
      }
      // A disc's instances are shown by series below, not 2,000 lines.
      if (!i.series.empty() && i.status == "stored") continue;
      if (i.kind == "dicom" && i.status == "duplicate") {
        ++dicom_duplicates;
        continue;
      }
      std::printf("%-9s %-8s %10s  %s%s%s%s\n", i.status.c_str(),
                  i.kind.empty() ? "-" : i.kind.c_str(), HumanSize(i.size).c_str(), i.path.c_str(),
                  i.doc_id.empty() || i.status != "stored" ? "" : ("  " + i.doc_id).c_str(),
                  i.verdict.empty() ? "" : ("  " + i.verdict).c_str(),
                  i.reason.empty() ? "" : ("  — " + i.reason).c_str());
      if (i.rendition == "jpeg") {
        std::printf("          + a JPEG copy is kept beside it: exports send that\n");
      }
      if (!i.advice.empty()) std::printf("          ! %s\n", i.advice.c_str());
    }
    for (const auto& [group, n] : skipped) {
      std::printf("skipped   %s, %zu file%s\n", group.c_str(), n, n == 1 ? "" : "s");
    }
    if (dicom_duplicates > 0) {
      std::printf("duplicate %zu DICOM file%s already in the case, stored once\n", dicom_duplicates,
                  dicom_duplicates == 1 ? "" : "s");
    }
    size_t others = 0;
    for (const auto& s : report.series) {
      std::printf(
          "stored    dicom    %s  %s\n",
          report::SeriesLine(s.modality, s.instances, s.date, s.description, s.object_kind).c_str(),
          s.id.c_str());
      if (!s.mismatch.empty()) {
        ++others;
        std::printf("          ! ANOTHER PATIENT? %s — check that this disc is theirs\n",
                    s.mismatch.c_str());
        std::printf("            %s\n", s.mismatch_facts.c_str());
      }
      for (const auto& problem : s.problems) std::printf("          ! %s\n", problem.c_str());
    }
    if (others > 0) {
      std::fprintf(stderr,
                   "dossier: WARNING: %zu series may belong to another patient (marked above): "
                   "check the disc before sending it to a clinic\n",
                   others);
    }
    std::printf("%zu stored, %zu duplicate, %zu skipped, %zu rejected\n", report.Count("stored"),
                report.Count("duplicate"), report.Count("skipped"), report.Count("rejected"));
    if (!reply_to.empty()) {
      const size_t filed = report.Count("stored");
      if (filed > 0) {
        std::printf("%zu document(s) filed as the clinic's reply to %s: `dossier export show %s`\n",
                    filed, reply_to.c_str(), reply_to.c_str());
      } else {
        std::printf("nothing was filed as the clinic's reply to %s\n", reply_to.c_str());
      }
    }
  }
  if (!report.unconfined_workers.empty()) {
    std::fprintf(stderr, "dossier: WARNING: analysis workers ran unconfined: %s\n",
                 report.unconfined_workers.c_str());
  }
  // For the operator, whatever the output format: a worker crash is most likely a bug of ours.
  for (const auto& crash : report.worker_crashes) {
    std::fprintf(stderr,
                 "dossier: for the operator: %s while reading an item (marked \"Dossier could "
                 "not read this file\"): please report it with the file\n",
                 crash.c_str());
  }
  DOSSIER_RETURN_IF_ERROR(st);
  if (!report.all_accepted()) {
    return Rejected(
        fmt::format("{} item(s) were rejected (see the reasons above); everything "
                    "else was stored",
                    report.Count("rejected")));
  }
  return Status::Ok();
}

// The lines under a document's row in `docs`: how its category was inferred, and what needs
// attention (the warnings given at upload, or for older documents, advice from `pages`).
void PrintDocumentNotes(const vault::DocumentRecord& d,
                        const std::vector<vault::PageRecord>& pages) {
  if (d.category_source == "inferred" || d.category_source == "reply") {
    std::printf("%14s category %s: %s\n", "", d.category.c_str(), d.category_reason.c_str());
  }
  if (d.rendition == "jpeg") {
    std::printf("%14s + JPEG copy, %s: exports send it (`dossier get %s -o FOLDER/ --jpeg-copy`)\n",
                "", HumanSize(d.rendition_size).c_str(), d.id.c_str());
  }
  // Every warning given at upload, as the report said it.
  if (!d.warnings.empty()) {
    std::string all;
    for (const auto& w : d.warnings) all += (all.empty() ? "" : "; ") + w;
    std::printf("%-14s ! %s\n", "", all.c_str());
    return;
  }
  // Stored before warnings were kept: the pages that need attention, from their verdicts.
  if (d.verdict.empty() || d.verdict == "printed" || d.verdict == "blank") return;
  std::vector<std::pair<int, std::string>> verdicts;
  for (const auto& p : pages) verdicts.emplace_back(p.number, p.verdict);
  std::printf("%-14s ! %s\n", "", ocr::Advice(ocr::FromVerdicts(d.pages, verdicts)).c_str());
}

}  // namespace

void PrintSeries(const report::SeriesView& s) {
  const auto& f = s.first;
  std::printf(
      "%-14s %-8s %10s  %-10s %-7s %-11s %-20s %s\n", s.record.id.c_str(), "dicom",
      HumanSize(s.size).c_str(), "imaging", "stored", "-", s.added.c_str(),
      report::SeriesLine(f.modality, static_cast<int>(s.record.doc_ids.size()), f.study_date,
                         f.series_description.empty() ? f.study_description : f.series_description,
                         f.object_kind)
          .c_str());
  if (!s.record.mismatch.empty()) {
    std::printf("%-14s ! ANOTHER PATIENT? %s\n%-14s   %s\n", "", s.record.mismatch.c_str(), "",
                s.mismatch_facts.c_str());
  }
  for (const auto& problem : s.problems) std::printf("%-14s ! %s\n", "", problem.c_str());
}

namespace {

Status Docs(const Context& ctx, const std::string& case_id, bool all) {
  if (case_id.empty()) return InvalidArgument("give --case ID (see `dossier case list`)");
  DOSSIER_RETURN_IF_ERROR(ExpectId(case_id, IdKind::kCase, "--case"));
  DOSSIER_ASSIGN_OR_RETURN(auto v, ctx.OpenVault());
  DOSSIER_ASSIGN_OR_RETURN(report::CaseDocuments listing, report::LoadCaseDocuments(*v, case_id));
  if (ctx.json) {
    PrintJson(report::DocumentsJson(listing, all));
    return Status::Ok();
  }
  const auto& series = listing.series;
  const auto& removed = listing.removed;
  std::printf("%-14s %-8s %10s  %-10s %-7s %-11s %-20s %s\n", "ID", "KIND", "SIZE", "CATEGORY",
              "STATUS", "VERDICT", "ADDED", "NAME");
  size_t shown = 0;
  for (const auto& d : listing.documents) {
    if (!listing.Listed(d)) continue;
    ++shown;
    std::printf("%-14s %-8s %10s  %-10s %-7s %-11s %-20s %s\n", d.id.c_str(), d.kind.c_str(),
                HumanSize(d.size).c_str(), d.category.c_str(), d.status.c_str(),
                d.verdict.empty() ? "-" : d.verdict.c_str(), d.added_at.c_str(), d.name.c_str());
    const auto pages = listing.pages.find(d.id);
    PrintDocumentNotes(
        d, pages == listing.pages.end() ? std::vector<vault::PageRecord>() : pages->second);
  }
  for (const auto& s : series) PrintSeries(s);
  for (const auto& r : all ? removed : std::vector<report::RemovedView>()) {
    const std::string what = r.doc_ids.empty() ? ""
                                               : fmt::format("{} instance{} ", r.doc_ids.size(),
                                                             r.doc_ids.size() == 1 ? "" : "s");
    std::printf("%-14s %-8s %10s  %-10s %-7s %-11s %-20s %s(removed %s: %s)\n", r.id.c_str(),
                r.kind.c_str(), HumanSize(r.size).c_str(), r.category.c_str(), "removed", "-",
                r.added.c_str(), what.c_str(), r.removed_at.substr(0, 10).c_str(),
                r.reason.c_str());
  }
  // Counted as `case list` and `patient show` count them.
  std::printf(
      "%s%s",
      CountsText(static_cast<int64_t>(shown), static_cast<int64_t>(listing.in_series.size()))
          .c_str(),
      series.empty() ? "" : fmt::format(" in {} series", series.size()).c_str());
  if (!removed.empty()) {
    std::printf("; %zu removed%s", removed.size(), all ? "" : " (shown by --all)");
  }
  std::printf("\n");
  return Status::Ok();
}

// `docs show DOC`: one document's record, its category and its pages' verdicts.
Status ShowDocument(const Context& ctx, const std::string& doc) {
  DOSSIER_RETURN_IF_ERROR(ExpectId(doc, IdKind::kDocument));
  DOSSIER_ASSIGN_OR_RETURN(auto v, ctx.OpenVault());
  DOSSIER_ASSIGN_OR_RETURN(nlohmann::json j, report::DocumentDetailJson(*v, doc));
  if (ctx.json) {
    PrintJson(j);
    return Status::Ok();
  }
  const auto text = [&](const char* key) {
    return j[key].is_null() ? std::string("-") : j[key].get<std::string>();
  };
  std::printf("id:        %s\nname:      %s\nkind:      %s\nsize:      %s\ncase:      %s\n",
              doc.c_str(), text("name").c_str(), text("kind").c_str(),
              HumanSize(j["size"].get<uint64_t>()).c_str(), text("case").c_str());
  if (!j["series"].is_null()) std::printf("series:    %s\n", text("series").c_str());
  std::printf("added:     %s\nstatus:    %s\n", text("added").c_str(), text("status").c_str());
  if (!j["rendition"].is_null()) {
    std::printf("copy:      JPEG, %s (exports send it; `dossier get %s -o FOLDER/ --jpeg-copy`)\n",
                HumanSize(j["rendition"]["size"].get<uint64_t>()).c_str(), doc.c_str());
  }
  if (!j["removed"].is_null()) {
    std::printf("removed:   %s: %s\n", text("removed").c_str(), text("removal_reason").c_str());
  }
  const std::string source = text("category_source");
  std::printf("category:  %s (%s%s)\n", text("category").c_str(), source.c_str(),
              text("category_reason") == "" ? "" : (": " + text("category_reason")).c_str());
  std::printf("verdict:   %s", text("verdict").c_str());
  if (!j["verdict"].is_null()) {
    const int pages = j["pages"].get<int>();
    std::printf(", %d page%s", pages, pages == 1 ? "" : "s");
  }
  std::printf("\n");
  for (const auto& p : j["pages_detail"]) {
    std::printf("page %-4d  %-11s %.2f  %s%s\n", p["page"].get<int>(),
                p["verdict"].get<std::string>().c_str(), p["confidence"].get<double>(),
                p["source"].get<std::string>().c_str(),
                p["rotation"].get<int>() == 0
                    ? ""
                    : fmt::format(", turned {}°", p["rotation"].get<int>()).c_str());
  }
  for (const auto& w : j["warnings"]) std::printf("! %s\n", w.get<std::string>().c_str());
  return Status::Ok();
}

Status SetCategory(const Context& ctx, const std::string& doc, const std::string& category) {
  DOSSIER_RETURN_IF_ERROR(ExpectId(doc, IdKind::kDocument));
  DOSSIER_ASSIGN_OR_RETURN(auto v, ctx.OpenVault());
  DOSSIER_RETURN_IF_ERROR(v->SetCategory(doc, category));
  std::printf("%s: category %s\n", doc.c_str(), category.c_str());
  return Status::Ok();
}

// A code point that a file name must not hold: C0 and C1 controls, DEL, the invisible
// direction marks that make "gpj.exe" look like "exe.jpg", and what was not UTF-8.
bool Unsafe(char32_t c) {
  return c < 0x20 || c == 0xFFFD || (c >= 0x7F && c <= 0x9F) || c == 0x200E || c == 0x200F ||
         (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069);
}

// A document's original name as a file name in a folder the user chose: its last component
// only (never a path), without control characters, invalid UTF-8 or leading dots and spaces
// (no "..", no hidden file), at most 255 bytes with its extension kept; "doc_….pdf" when
// nothing usable is left.
std::string SafeFileName(const std::string& name, const std::string& doc_id,
                         const std::string& kind) {
  const std::string base = name.substr(name.find_last_of("/\\") + 1);
  std::string out;
  for (size_t i = 0; i < base.size();) {
    const char32_t c = NextCodePoint(base, i);
    if (!Unsafe(c)) AppendUtf8(out, c);
  }
  out.erase(0, out.find_first_not_of(". "));
  while (!out.empty() && out.back() == ' ') out.pop_back();
  constexpr size_t kMaxName = 255;
  if (out.size() > kMaxName) {
    const size_t dot = out.rfind('.');
    const std::string ext =
        dot != std::string::npos && out.size() - dot <= 16 ? out.substr(dot) : "";
    size_t cut = kMaxName - ext.size();
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out = out.substr(0, cut) + ext;
  }
  if (out.empty()) {
    static const std::map<std::string, std::string> kExtension = {
        {"pdf", ".pdf"},   {"jpeg", ".jpg"}, {"png", ".png"},   {"tiff", ".tif"},
        {"heic", ".heic"}, {"text", ".txt"}, {"dicom", ".dcm"}, {"dicomdir", ""}};
    const auto it = kExtension.find(kind);
    out = doc_id + (it == kExtension.end() ? "" : it->second);
  }
  return out;
}

// Makes `folder` and every missing folder above it, as `dicom export` does.
Status MakeFolders(const fs::path& folder) {
  if (folder.empty()) return Status::Ok();
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (!ec) return Status::Ok();
  if (ec == std::errc::not_a_directory || ec == std::errc::file_exists) {
    return Rejected("cannot make the folder " + folder.string() +
                    ": a file is in the way — give another -o");
  }
  return IoError("cannot make the folder " + folder.string() + ": " + ec.message());
}

Status Get(const Context& ctx, const std::string& doc, const std::string& out, bool force,
           bool jpeg_copy) {
  DOSSIER_RETURN_IF_ERROR(ExpectId(doc, IdKind::kDocument));
  std::error_code ec;
  // -o names a folder when it is one, or ends in "/": the file goes in under its own name.
  const bool into_folder = fs::is_directory(out, ec) || (!out.empty() && out.back() == '/');
  if (!into_folder && !force && fs::exists(fs::symlink_status(out, ec))) {
    return Rejected(out + " already exists: choose another name or add --force");
  }
  DOSSIER_ASSIGN_OR_RETURN(auto v, ctx.OpenVault());
  DOSSIER_ASSIGN_OR_RETURN(vault::DocumentRecord record, v->GetDocument(doc));
  if (jpeg_copy && record.rendition != "jpeg" && record.status == "stored") {
    return NotFound("document " + doc +
                    " has no JPEG copy: only a HEIC photo gets one (leave out --jpeg-copy)");
  }
  const vault::DocumentCopy copy =
      jpeg_copy ? vault::DocumentCopy::kRendition : vault::DocumentCopy::kAsUploaded;
  const fs::path target =
      into_folder
          ? fs::path(out) /
                SafeFileName(jpeg_copy ? fs::path(record.name).replace_extension(".jpg").string()
                                       : record.name,
                             record.id, jpeg_copy ? "jpeg" : record.kind)
          : fs::path(out);
  // Never named in a message: it is the document's original name (personal data).
  auto exists = [&] {
    return into_folder ? Rejected(out + " already holds a file with document " + doc +
                                  "'s name: add --force to replace it, or give another -o")
                       : Rejected(out + " already exists: choose another name or add --force");
  };
  if (into_folder) {
    if (fs::is_directory(fs::symlink_status(target, ec))) {
      return Rejected(out + " holds a folder with document " + doc + "'s name: give another -o");
    }
    if (!force && fs::exists(fs::symlink_status(target, ec))) return exists();
  }
  DOSSIER_RETURN_IF_ERROR(MakeFolders(target.parent_path()));
  // The plaintext goes to an unnamed file in the target's folder, linked in only when every
  // chunk authenticated: a damaged object, an error or a kill never leaves a half-written file.
  DOSSIER_ASSIGN_OR_RETURN(
      DurableFileSink file,
      DurableFileSink::Create(target, force ? DurableFileSink::Existing::kReplace
                                            : DurableFileSink::Existing::kRefuse));
  {
    ProgressSink sink(file, jpeg_copy ? record.rendition_size : record.size, "decrypting");
    const std::filesystem::path where = std::filesystem::absolute(out, ec);  // sealed, audited
    DOSSIER_RETURN_IF_ERROR(v->ExportDocumentToFile(doc, ec ? out : where.string(), sink, copy));
  }
  if (Status st = file.Commit(); !st.ok()) {
    // Made by someone else meanwhile: not replaced.
    return st.code() == StatusCode::kRejected ? exists() : st;
  }
  std::fprintf(stderr, "decrypted %s to %s (this copy is not encrypted: delete it when done)\n",
               doc.c_str(), target.c_str());
  return Status::Ok();
}

}  // namespace

Status Search(const Context& ctx, const std::string& case_id,
              const std::vector<std::string>& words) {
  std::string query;
  for (const auto& w : words) query += (query.empty() ? "" : " ") + w;
  DOSSIER_RETURN_IF_ERROR(ExpectId(case_id, IdKind::kCase, "--case"));
  DOSSIER_ASSIGN_OR_RETURN(auto v, ctx.OpenVault());
  DOSSIER_ASSIGN_OR_RETURN(auto hits, v->Search(case_id, query));
  if (ctx.json) {
    PrintJson(report::SearchJson(hits));
    return Status::Ok();
  }
  for (const auto& h : hits) {
    std::printf("%-14s p.%-3d %s\n%-14s       %s\n", h.doc_id.c_str(), h.page, h.name.c_str(), "",
                h.snippet.c_str());
  }
  std::printf("%zu page(s) found\n", hits.size());
  return Status::Ok();
}

Status Text(const Context& ctx, const std::string& doc, int page) {
  DOSSIER_RETURN_IF_ERROR(ExpectId(doc, IdKind::kDocument));
  DOSSIER_ASSIGN_OR_RETURN(auto v, ctx.OpenVault());
  DOSSIER_ASSIGN_OR_RETURN(report::DocumentText read, report::LoadDocumentText(*v, doc, page));
  const vault::DocumentRecord& record = read.doc;
  const std::vector<vault::PageRecord>& pages = read.pages;
  if (ctx.json) {
    PrintJson(report::TextJson(pages, page));
    return Status::Ok();
  }
  for (const auto& p : pages) {
    if (page != 0 && p.number != page) continue;
    if (record.kind == "text") {
      // A text file's pages are its lines in order, cut where a line ends: shown as written.
      std::fputs(p.text.c_str(), stdout);
      if (page != 0 && !p.text.empty() && p.text.back() != '\n') std::fputs("\n", stdout);
      continue;
    }
    if (page == 0) std::printf("--- page %d (%s)\n", p.number, p.verdict.c_str());
    std::printf("%s\n", p.text.c_str());
  }
  if (record.kind == "text" && page == 0 && !pages.empty() && !pages.back().text.empty() &&
      pages.back().text.back() != '\n') {
    std::fputs("\n", stdout);
  }
  return Status::Ok();
}

void AddDocumentCommands(CLI::App& app, Context& ctx) {
  auto case_id = std::make_shared<std::string>();
  auto paths = std::make_shared<std::vector<std::string>>();
  auto reply_to = std::make_shared<std::string>();
  auto* ingest = app.add_subcommand(
      "ingest",
      "store files and folders in a case: content is recognised from the bytes, each\n"
      "file is stored whole or refused with a reason; exit 2 if any was refused");
  ingest->footer(
      "A clinic's answer to an export (its letter, plan, price offer: PDFs, photos, scans)\n"
      "is filed with --reply-to: every document stored becomes a `clinic-reply` linked to\n"
      "the request, and the request is marked answered (`dossier export list`, `export show`).\n"
      "Examples:\n"
      "  dossier ingest --case case_… ~/upload/\n"
      "  dossier ingest --case case_… --reply-to req_… ~/mail/charite-answer.pdf");
  ingest->add_option("--case", *case_id, "case id")->required();
  ingest->add_option("--reply-to", *reply_to,
                     "the request these files answer: its id (req_…, as `dossier export` and "
                     "`export list` print it) or export id (exp_…), of the same case");
  ingest->add_option("PATH", *paths, "files or folders")->required();
  ingest->callback([&ctx, case_id, paths, reply_to] {
    ctx.action = [&ctx, case_id, paths, reply_to] {
      return Ingest(ctx, *case_id, *paths, *reply_to);
    };
  });

  auto docs_case = std::make_shared<std::string>();
  auto docs_all = std::make_shared<bool>(false);
  auto* docs = app.add_subcommand("docs", "list a case's documents");
  docs->add_option("--case", *docs_case, "case id");
  docs->add_flag("--all", *docs_all,
                 "list removed documents too, marked removed, with the reason given");
  docs->require_subcommand(0, 1);
  auto cat = std::make_shared<std::array<std::string, 2>>();
  auto* setcat = docs->add_subcommand("set-category", "set a document's category");
  setcat->add_option("DOC", (*cat)[0], "document id")->required();
  setcat
      ->add_option("CATEGORY", (*cat)[1],
                   AllCategoryNames() + " (always wins over an inferred one)")
      ->required();
  setcat->callback([&ctx, cat] {
    ctx.act = {"document.categorize", {(*cat)[0]}};
    ctx.action = [&ctx, cat] { return SetCategory(ctx, (*cat)[0], (*cat)[1]); };
  });
  auto show_doc = std::make_shared<std::string>();
  auto* show = docs->add_subcommand(
      "show",
      "show one document: its name, kind, size, case, category (and why), status, and the\n"
      "verdict of each checked page (audited as document.show; the text is `dossier text`)\n"
      "  e.g. dossier docs show doc_ab12cd34ef --json");
  show->add_option("DOC", *show_doc, "document id (from `dossier docs --case ID`)")->required();
  show->callback([&ctx, show_doc] {
    ctx.act = {"document.show", {*show_doc}};
    ctx.action = [&ctx, show_doc] { return ShowDocument(ctx, *show_doc); };
  });
  AddCorrectionCommands(*docs, ctx);
  docs->callback([&ctx, docs, docs_case, docs_all] {
    if (!docs->get_subcommands().empty()) return;  // show, set-category, move, remove
    ctx.act = {"document.list", {*docs_case}};
    ctx.action = [&ctx, docs_case, docs_all] { return Docs(ctx, *docs_case, *docs_all); };
  });

  auto search_case = std::make_shared<std::string>();
  auto search_words = std::make_shared<std::vector<std::string>>();
  auto* search = app.add_subcommand(
      "search",
      "find the pages of a case's documents that say TEXT (the text the OCR check read, and\n"
      "plain-text files, whatever their name says):\n"
      "case-insensitive, Russian or English, ё = е; decrypted in memory only, and audited\n"
      "  e.g. dossier search --case case_ab12cd34ef грыжа диска");
  search->add_option("--case", *search_case, "case id")->required();
  search->add_option("TEXT", *search_words, "what to look for (several words: one phrase)")
      ->required();
  search->callback([&ctx, search_case, search_words] {
    ctx.act = {"document.search", {*search_case}};
    ctx.action = [&ctx, search_case, search_words] {
      return Search(ctx, *search_case, *search_words);
    };
  });

  auto text_doc = std::make_shared<std::string>();
  auto text_page = std::make_shared<int>(0);
  auto* text = app.add_subcommand(
      "text",
      "print the text the OCR check read from a document, page by page, or a plain-text\n"
      "document as written (audited)");
  text->add_option("DOC", *text_doc, "document id")->required();
  text->add_option("--page", *text_page, "only this page (pages start at 1)")
      ->check(CountFrom(1, "pages start at 1"));
  text->callback([&ctx, text_doc, text_page] {
    ctx.act = {"document.read", {*text_doc}};
    ctx.action = [&ctx, text_doc, text_page] { return Text(ctx, *text_doc, *text_page); };
  });

  auto get = std::make_shared<std::array<std::string, 2>>();
  auto force = std::make_shared<bool>(false);
  auto* g = app.add_subcommand(
      "get",
      "decrypt one document to a file (audited); missing folders are made\n"
      "  e.g. dossier get doc_ab12cd34ef -o ~/for-clinic/   (under the document's own name)");
  g->add_option("DOC", (*get)[0], "document id")->required();
  g->add_option("-o,--output", (*get)[1],
                "the file to write, or a folder (existing, or ending in /) to write it into "
                "under its original name (its last part only, made safe)")
      ->required();
  g->add_flag("--force", *force, "replace the file if it exists");
  auto jpeg_copy = std::make_shared<bool>(false);
  g->add_flag("--jpeg-copy", *jpeg_copy,
              "a HEIC photo's JPEG copy (what exports send) instead of the photo as uploaded; "
              "into a folder it is named as the photo, ending in .jpg");
  g->callback([&ctx, get, force, jpeg_copy] {
    ctx.act = {"document.export_file", {(*get)[0]}};
    ctx.action = [&ctx, get, force, jpeg_copy] {
      return Get(ctx, (*get)[0], (*get)[1], *force, *jpeg_copy);
    };
  });
}

}  // namespace dossier::app
