// dossier export: a case's records for a clinic, behind the consent gate (exporter/export.h),
// and the request ledger (`export list`, `export show`).
#include <fmt/format.h>
#include <unistd.h>

#include <map>

#include "app/cli.h"
#include "exporter/export.h"
#include "exporter/exporter.h"
#include "report/report.h"

namespace dossier::app {
namespace {

struct ExportArgs {
  std::string case_id, recipient, out, docs, purpose, max_part = "18MB", password_file;
  bool urgent = false, no_encryption = false, inventory_only = false, include_handwritten = false;
  std::vector<std::string> age_recipients;
  bool deidentify = false, jpeg_ls = false;  // imaging (exporter/imaging.h)
};

std::vector<std::string> SplitIds(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : text + ",") {
    if (c == ',' || c == ' ') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  return out;
}

// What --deidentify and --jpeg-ls did: into `j` (--json), else on the terminal.
void PrintImaging(const ExportArgs& a, const exporter::ExportReport& rep, nlohmann::json* j) {
  if (!a.deidentify && !a.jpeg_ls) return;
  const exporter::ImagingStats& st = rep.imaging;
  if (j != nullptr) {
    (*j)["imaging"] = {{"deidentified", a.deidentify},
                       {"jpeg_ls", a.jpeg_ls},
                       {"instances", st.instances},
                       {"recompressed", st.recompressed},
                       {"bytes_in", st.bytes_in},
                       {"bytes_out", st.bytes_out},
                       {"kept", st.kept},
                       {"burned_in_annotation", st.burned_in}};
    return;
  }
  if (a.deidentify) {
    std::printf(
        "%zu DICOM image(s) de-identified (PS3.15 Basic Profile, full dates and patient "
        "characteristics kept), the patient shown as CASE^%s\n",
        st.instances, a.case_id.c_str());
  }
  if (a.jpeg_ls) PrintJpegLs(st);
}

Status RunExport(const Context& ctx, const ExportArgs& a) {
  exporter::ExportRequest r;
  r.case_id = a.case_id;
  r.recipient = a.recipient;
  r.out = a.out;
  r.docs = SplitIds(a.docs);
  r.urgent = a.urgent;
  r.inventory_only = a.inventory_only;
  r.include_handwritten = a.include_handwritten;
  r.deidentify = a.deidentify;
  r.jpeg_ls = a.jpeg_ls;
  r.confinement = ctx.worker_confinement();
  if (!a.purpose.empty()) {
    r.purpose = ParsePurpose(a.purpose);
    if (!r.purpose) {
      return InvalidArgument(
          fmt::format("--purpose {} is not one of: {}", a.purpose, AllPurposeNames()));
    }
  }
  DOSSIER_ASSIGN_OR_RETURN(r.max_part, exporter::ParseSize(a.max_part));
  r.max_part_text = a.max_part;
  if (a.no_encryption && !a.password_file.empty()) {
    return InvalidArgument("--no-encryption and --password-file exclude each other");
  }
  if (!a.age_recipients.empty() && (a.no_encryption || !a.password_file.empty())) {
    return InvalidArgument(
        "--age-recipient encrypts the parts for the clinic's age keys: leave out " +
        std::string(a.no_encryption ? "--no-encryption" : "--password-file"));
  }
  for (const auto& text : a.age_recipients) {
    DOSSIER_ASSIGN_OR_RETURN(exporter::AgeRecipient rcpt, exporter::ParseAgeRecipient(text));
    r.age_recipients.push_back(rcpt);
  }
  const bool age = !r.age_recipients.empty();
  bool generated = false;
  if (!a.no_encryption && !age) {
    if (!a.password_file.empty()) {
      DOSSIER_ASSIGN_OR_RETURN(SecretString pw, ReadPassphrase({a.password_file}, "", false));
      if (pw.view().size() < 12) {
        return InvalidArgument(fmt::format(
            "the password in {} is shorter than 12 characters: clinics receive the parts by "
            "e-mail, so use a long one (or leave out --password-file to have one generated)",
            a.password_file));
      }
      r.password = std::string(pw.view());
    } else {
      r.password = exporter::GeneratePassword();
      generated = true;
    }
  }
  DOSSIER_ASSIGN_OR_RETURN(auto v, ctx.OpenVault());
  Progress bar("export");
  DOSSIER_ASSIGN_OR_RETURN(
      exporter::ExportReport rep,
      exporter::Export(*v, r, [&](int part, int parts, uint64_t done, uint64_t total) {
        (void)part;
        (void)parts;
        bar.Update(done, total);
      }));
  for (const auto& w : rep.warnings) std::fprintf(stderr, "dossier: warning: %s\n", w.c_str());
  if (ctx.json) {
    nlohmann::json j = exporter::ExportReportJson(rep);
    j.update({{"encrypted", !a.no_encryption},
              {"sealing", age               ? "age"
                          : a.no_encryption ? "none"
                                            : "zip-aes256"}});
    PrintImaging(a, rep, &j);
    if (generated) j["password"] = r.password;
    PrintJson(j);
    return Status::Ok();
  }
  std::printf("%s %s to clinic %s under consent %s (purpose %s)\n",
              a.inventory_only ? "inventory" : "export", rep.request_id.c_str(),
              rep.clinic_id.c_str(), rep.consent_id.c_str(),
              std::string(ToString(rep.purpose)).c_str());
  for (size_t k = 0; k < rep.parts.size(); ++k) {
    const auto& p = rep.parts[k];
    std::printf("  part %zu of %zu: %s  %s", k + 1, rep.parts.size(), p.name.c_str(),
                HumanSize(p.size).c_str());
    if (p.documents > 0 || p.instances > 0) {
      std::printf("  (%d document(s), %d DICOM image(s))", p.documents, p.instances);
    }
    std::printf("\n");
  }
  PrintImaging(a, rep, nullptr);
  std::printf("in %s, with SHA256SUMS; every part was read back and verified%s\n", a.out.c_str(),
              age ? fmt::format(" (age, for {} recipient(s): `age -d -i KEY PART > PART.zip`, "
                                "then any ZIP tool)",
                                r.age_recipients.size())
                        .c_str()
              : a.no_encryption ? ""
                                : " (AES-256 ZIP: 7-Zip, WinRAR or WinZip open it)");
  std::printf("the clinic's answer is due %s%s\n", rep.due.c_str(),
              a.urgent ? " (urgent: 24 hours)" : " (5 working days)");
  if (generated) {
    std::printf(
        "password, shown this once and stored nowhere — send it by another channel than the "
        "parts:\n  %s\n",
        r.password.c_str());
  }
  return Status::Ok();
}

Status ListExports(const Context& ctx, const std::string& case_id, bool overdue,
                   const std::string& as_of) {
  if (!as_of.empty() && !ParseDate(as_of)) {
    return InvalidArgument("--as-of must be a date written YYYY-MM-DD");
  }
  DOSSIER_ASSIGN_OR_RETURN(auto v, ctx.OpenVault());
  if (ctx.json) {
    report::RequestQuery q;
    if (!case_id.empty()) q.case_id = case_id;
    q.overdue = overdue;
    q.as_of = as_of;
    DOSSIER_ASSIGN_OR_RETURN(nlohmann::json arr, report::RequestsJson(*v, q));
    PrintJson(arr);
    return Status::Ok();
  }
  DOSSIER_ASSIGN_OR_RETURN(
      auto all, v->ListRequests(case_id.empty() ? std::nullopt : std::optional(case_id)));
  DOSSIER_ASSIGN_OR_RETURN(const std::string today, v->Today());
  const std::string date = as_of.empty() ? today : as_of;
  const std::string now = v->NowUtc();
  std::printf("%-14s  %-14s  %-14s  %-20s  %-20s  %-8s  %-20s  %s\n", "REQUEST", "CASE", "CLINIC",
              "SENT", "DUE", "STATE", "ANSWERED", "PARTS");
  for (const auto& r : all) {
    const std::string state = r.StateAsOf(date, today, now);
    if (overdue && state != "overdue") continue;
    // The answer's time shows once the request counts as answered on the date asked about.
    const std::string answered = state == "answered" ? r.answered_at : "-";
    std::printf("%-14s  %-14s  %-14s  %-20s  %-20s  %-8s  %-20s  %zu%s\n", r.id.c_str(),
                r.case_id.c_str(), r.clinic_id.c_str(), r.created_at.c_str(), r.due.c_str(),
                state.c_str(), answered.c_str(), r.parts.size(),
                r.inventory_only ? " (inventory)" : "");
  }
  return Status::Ok();
}

Status ShowExport(const Context& ctx, const std::string& id) {
  if (KindOfId(id) != IdKind::kExport) DOSSIER_RETURN_IF_ERROR(ExpectId(id, IdKind::kRequest));
  DOSSIER_ASSIGN_OR_RETURN(auto v, ctx.OpenVault());
  if (ctx.json) {
    DOSSIER_ASSIGN_OR_RETURN(nlohmann::json j, report::RequestDetailJson(*v, id));
    PrintJson(j);
    return Status::Ok();
  }
  DOSSIER_ASSIGN_OR_RETURN(vault::ExportRequestDetail detail, v->ShowRequest(id));
  const vault::ExportRequestRecord& r = detail.request;
  DOSSIER_ASSIGN_OR_RETURN(vault::ClinicRecord clinic, v->FindClinic(r.clinic_id));
  DOSSIER_ASSIGN_OR_RETURN(const std::string today, v->Today());
  const std::string state = r.StateAsOf(today, today, v->NowUtc());
  auto field = [](const char* name, const std::string& value) {
    std::printf("%-10s %s\n", name, value.c_str());
  };
  field("request:", r.id + (r.inventory_only ? " (inventory only)" : ""));
  field("export:", r.export_id);
  field("case:", r.case_id);
  field("clinic:", r.clinic_id + " (" + clinic.info.name + ")");
  field("consent:", r.consent_id);
  field("purpose:", std::string(ToString(r.purpose)));
  field("urgent:", r.urgent ? "yes (answer within 24 hours)" : "no");
  field("sent:", r.created_at + " by " + r.actor);
  field("due:", r.due);
  field("state:", state == "answered" ? "answered " + r.answered_at : state);
  std::printf("parts (%zu):\n", r.parts.size());
  for (const auto& p : r.parts) {
    std::printf("  %s  %s  %s\n", p.name.c_str(), HumanSize(p.size).c_str(), p.sha256_hex.c_str());
  }
  // A disc's instances are one line per series, as `docs` shows them.
  std::vector<std::pair<std::string, std::string>> lines;  // id, rest
  std::map<std::string, size_t> series_line;
  std::map<std::string, int> instances;
  for (const auto& d : detail.documents) {
    const std::string status = d.status == "stored" ? "" : " (" + d.status + ")";
    if (d.series_id.empty()) {
      lines.emplace_back(d.doc_id, d.category + status);
    } else if (++instances[d.series_id] == 1) {
      series_line[d.series_id] = lines.size();
      lines.emplace_back(d.series_id, d.category);
    }
  }
  for (const auto& [series, line] : series_line) {
    const int n = instances[series];
    lines[line].second += fmt::format("  {} DICOM instance{}", n, n == 1 ? "" : "s");
  }
  std::printf("documents sent (%zu):\n", detail.documents.size());
  for (const auto& [doc, rest] : lines) std::printf("  %-14s  %s\n", doc.c_str(), rest.c_str());
  std::printf("replies (%zu):\n", detail.replies.size());
  for (const auto& d : detail.replies) {
    std::printf("  %-14s  %-12s  %s%s\n", d.doc_id.c_str(), d.category.c_str(), d.filed_at.c_str(),
                d.status == "stored" ? "" : (" (" + d.status + ")").c_str());
  }
  if (detail.replies.empty()) {
    std::printf(
        "  none yet: file the clinic's answer with `dossier ingest --case %s --reply-to %s "
        "FILE…`\n",
        r.case_id.c_str(), r.id.c_str());
  }
  return Status::Ok();
}

}  // namespace

void AddExportCommands(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<ExportArgs>();
  auto* exp = app.add_subcommand(
      "export",
      "send a case's records to a clinic: checked against the patient's consent, written as\n"
      "self-contained encrypted ZIP parts under a size limit, each read back before it counts");
  exp->footer(
      "Each part opens on its own (7-Zip, WinRAR, WinZip): README.TXT, INDEX.HTM, MANIFEST.json,\n"
      "DOCS/ and DICOM/ with its own DICOMDIR. SHA256SUMS lists the parts. Nothing is written\n"
      "unless one active consent covers the clinic, the purpose, today and every document's\n"
      "category. Handwritten, unreadable and blank documents are left out unless asked for.\n"
      "--deidentify and --jpeg-ls transform the images in a confined worker before the plan.\n"
      "Without --password-file a password is generated and shown once: send it separately.\n"
      "A clinic that uses age gets parts only its keys open: --age-recipient age1… (no password).\n"
      "Sizes: 25MB = 25,000,000 bytes (as mail providers count), 18MiB or 18M = 18 × 2^20.\n"
      "Example:\n"
      "  dossier export --case case_… --recipient 'Clinic Name' --out ~/to-clinic\n"
      "  dossier export --case case_… --recipient cli_… --out ~/list --inventory-only\n"
      "  dossier export --case case_… --recipient cli_… --out ~/ct --deidentify --jpeg-ls\n"
      "  dossier export list --overdue --as-of 2026-12-04\n"
      "  dossier export show req_…\n"
      "The clinic's answer is filed with `dossier ingest --case case_… --reply-to req_… FILE…`.");
  exp->add_option("--case", a->case_id, "the case to export from (case_…)");
  exp->add_option("--recipient", a->recipient, "the clinic: its id (cli_…) or registered name");
  exp->add_option("--out", a->out, "a new folder for the parts (DIR.partial while writing)");
  exp->add_option("--docs", a->docs,
                  "only these documents and DICOM series (doc_…, ser_…; comma-separated)");
  exp->add_option("--purpose", a->purpose,
                  "the purpose (" + AllPurposeNames() + "); default: the consent's own");
  exp->add_flag("--urgent", a->urgent, "the answer is due in 24 hours instead of 5 working days");
  exp->add_option("--max-part", a->max_part,
                  "the largest part, e.g. 25MB for a portal's 25 MB limit (default 18MB: fits "
                  "25 MB of e-mail after base64)");
  exp->add_option("--password-file", a->password_file,
                  "a file holding the parts' password (default: generate one and show it once)");
  exp->add_option("--age-recipient", a->age_recipients,
                  "encrypt each part as an age file for this clinic key (age1…, from the clinic's "
                  "`age-keygen -y`; repeat for several); the ZIP inside has no password");
  exp->add_flag("--no-encryption", a->no_encryption,
                "write unencrypted ZIP parts (only when the channel itself is protected)");
  exp->add_flag("--inventory-only", a->inventory_only,
                "one small part listing what the consent covers (a first step)");
  exp->add_flag("--include-handwritten", a->include_handwritten,
                "also send handwritten, unreadable and blank documents");
  exp->add_flag("--deidentify", a->deidentify,
                "de-identify the DICOM images (PS3.15 Basic Profile, as `dicom export` does; the "
                "patient shown as CASE^<case id>). Documents cannot be: they go as they are");
  exp->add_flag("--jpeg-ls", a->jpeg_ls,
                "re-compress the DICOM images losslessly to JPEG-LS, so fewer parts are needed "
                "(the plan uses the new sizes)");
  exp->require_subcommand(0, 1);

  auto list_case = std::make_shared<std::string>();
  auto list_overdue = std::make_shared<bool>(false);
  auto list_as_of = std::make_shared<std::string>();
  auto* list =
      exp->add_subcommand("list", "the request ledger: each export as sent, answered or overdue");
  list->add_option("--case", *list_case, "only this case's requests");
  list->add_flag("--overdue", *list_overdue, "only requests whose answer is overdue");
  list->add_option("--as-of", *list_as_of,
                   "judge overdue at the end of this date (YYYY-MM-DD), e.g. next Friday");
  list->callback([&ctx, list_case, list_overdue, list_as_of] {
    ctx.act = {"export.list", {}};
    ctx.action = [&ctx, list_case, list_overdue, list_as_of] {
      return ListExports(ctx, *list_case, *list_overdue, *list_as_of);
    };
  });
  auto show_id = std::make_shared<std::string>();
  auto* show = exp->add_subcommand(
      "show",
      "one request: what was sent (parts, documents by id and category), under which consent,\n"
      "when the answer is due, and the clinic's replies filed with `ingest --reply-to`");
  show->add_option("ID", *show_id, "the request id (req_…) or export id (exp_…)")->required();
  show->callback([&ctx, show_id] {
    ctx.act = {"export.show", {*show_id}};
    ctx.action = [&ctx, show_id] { return ShowExport(ctx, *show_id); };
  });
  exp->callback([&ctx, a, list, show] {
    if (list->parsed() || show->parsed()) return;
    ctx.act = {"export.create", {a->case_id, a->recipient}};
    ctx.action = [&ctx, a] {
      for (const auto& [name, value] :
           {std::pair<const char*, const std::string*>{"--case", &a->case_id},
            {"--recipient", &a->recipient},
            {"--out", &a->out}}) {
        if (value->empty()) {
          return InvalidArgument(
              fmt::format("export needs {} (see `dossier export --help`)", name));
        }
      }
      return RunExport(ctx, *a);
    };
  });
}

}  // namespace dossier::app
