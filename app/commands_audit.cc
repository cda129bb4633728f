// dossier audit log | verify | checkpoint | pubkey
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <utility>

#include "app/cli.h"
#include "common/clock.h"
#include "common/encoding.h"
#include "common/file_io.h"
#include "report/report.h"
#include "vault/audit.h"

namespace dossier::app {
namespace {

struct LogArgs {
  std::string patient, since, until, actor, action;
};

// Details as one column: "via=search", "name_note=note_…,…".
std::string DetailsText(const std::map<std::string, std::string>& details) {
  std::string out;
  for (const auto& [k, v] : details) out += (out.empty() ? "" : " ") + k + "=" + v;
  return out;
}

Status Log(const Context& ctx, const LogArgs& a) {
  vault::AuditFilter filter;
  if (!a.patient.empty()) {
    DOSSIER_RETURN_IF_ERROR(ExpectId(a.patient, IdKind::kPatient, "--patient"));
    filter.patient = a.patient;
  }
  for (const auto* option : {"--since", "--until"}) {
    const std::string& value = std::string_view(option) == "--since" ? a.since : a.until;
    if (!value.empty() && !ParseDate(value)) {
      return InvalidArgument(std::string(option) + " must be a date written YYYY-MM-DD");
    }
  }
  if (!a.since.empty()) filter.since = a.since;
  if (!a.until.empty()) filter.until = a.until;
  if (!a.since.empty() && !a.until.empty() && a.until < a.since) {
    return InvalidArgument("--until " + a.until + " is before --since " + a.since);
  }
  if (!a.actor.empty()) filter.actor = a.actor;
  if (!a.action.empty()) filter.action = a.action;
  DOSSIER_ASSIGN_OR_RETURN(auto events, vault::ReadAuditLog(ctx.vault_dir, filter));
  if (ctx.json) {
    auto arr = nlohmann::json::array();
    for (const auto& e : events) arr.push_back(report::AuditEventJson(e));
    PrintJson(arr);
    return Status::Ok();
  }
  constexpr const char* kRow = "%6s  %-20s  %-12s %-12s %-9s %-21s %-8s %-17s %-16s %s\n";
  std::printf(kRow, "SEQ", "AT", "ACTOR", "OS-USER", "ROLE", "ACTION", "OUTCOME", "REASON",
              "PATIENT", "OBJECTS / DETAILS");
  for (const auto& e : events) {
    std::string what = fmt::format("{}", fmt::join(e.objects, ","));
    if (!e.details.empty()) what += (what.empty() ? "" : "  ") + DetailsText(e.details);
    if (!e.purpose.empty()) what += (what.empty() ? "" : "  ") + ("purpose=" + e.purpose);
    std::printf(kRow, std::to_string(e.seq).c_str(), e.at.c_str(), e.actor.c_str(),
                e.os_user.empty() ? "-" : e.os_user.c_str(), e.role.c_str(), e.action.c_str(),
                e.outcome.c_str(), e.reason.empty() ? "-" : e.reason.c_str(),
                e.patient.empty() ? "-" : e.patient.c_str(), what.c_str());
  }
  return Status::Ok();
}

// The sealed text of an audit note (the file a `get` wrote to): needs the passphrase.
Status Note(const Context& ctx, const std::string& note_id) {
  DOSSIER_RETURN_IF_ERROR(ExpectId(note_id, IdKind::kNote));
  DOSSIER_ASSIGN_OR_RETURN(auto v, ctx.OpenVault());
  DOSSIER_ASSIGN_OR_RETURN(std::string text, v->ReadAuditNote(note_id));
  if (ctx.json) {
    PrintJson({{"id", note_id}, {"text", text}});
  } else {
    std::printf("%s\n", text.c_str());
  }
  return Status::Ok();
}

// --pubkey: the 64 hex characters of `dossier audit pubkey`, or a file whose first line
// holds them.
Result<std::string> PinnedKey(const std::string& arg) {
  auto is_key = [](const std::string& t) {
    return t.size() == 64 && t.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
  };
  const auto usage = [&arg] {
    return InvalidArgument(
        "--pubkey " + arg +
        ": give the 64 hex characters printed by `dossier audit pubkey`, or a file whose "
        "first line holds them");
  };
  if (is_key(arg)) return arg;
  std::error_code ec;
  const bool hex = !arg.empty() && arg.find_first_not_of("0123456789abcdefABCDEF") == arg.npos;
  if (!hex && !std::filesystem::exists(arg, ec)) {  // a file name: missing, as any file
    return NotFound("no such file: " + arg +
                    " (--pubkey takes the 64 hex characters printed by `dossier audit pubkey`, "
                    "or a file whose first line holds them)");
  }
  if (!std::filesystem::is_regular_file(arg, ec)) return usage();
  DOSSIER_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(arg, 64 << 10));
  std::string first = text.substr(0, text.find('\n'));
  while (!first.empty() && (first.back() == '\r' || first.back() == ' ')) first.pop_back();
  if (!is_key(first)) return usage();
  return first;
}

Status Verify(const Context& ctx, const std::string& checkpoint_file, const std::string& pubkey) {
  vault::AuditAnchors anchors;
  if (!checkpoint_file.empty()) {
    auto read = ReadSmallFile(checkpoint_file, 64 << 10);
    if (!read.ok()) return read.status().WithContext("cannot read the checkpoint");
    anchors.checkpoint = *read;
  }
  if (!pubkey.empty()) {
    DOSSIER_ASSIGN_OR_RETURN(anchors.pinned_key_hex, PinnedKey(pubkey));
  }
  DOSSIER_ASSIGN_OR_RETURN(auto r, vault::VerifyAuditLog(ctx.vault_dir, anchors));
  if (ctx.json) {
    PrintJson(report::AuditVerifyJson(r));
  } else {
    for (const auto& p : r.problems) std::printf("problem: %s\n", p.c_str());
    if (r.intact()) {
      std::printf(
          "audit log intact: %lld events, root %s%s\nsigned by audit key %s%s\n",
          static_cast<long long>(r.events), r.root_hex.c_str(),
          r.checkpoint_size
              ? fmt::format(", extends the checkpoint of {} events", *r.checkpoint_size).c_str()
              : "",
          r.public_key_hex.c_str(), anchors.pinned_key_hex ? " (the key you pinned)" : "");
      if (!r.anchored) {
        std::printf(
            "note: this checked the log against itself only, which cannot reveal a history "
            "rewritten and re-signed by someone who can write the vault folder; pin the key "
            "noted when the vault was made (--pubkey KEY|FILE, from `dossier audit pubkey`) "
            "or give a checkpoint kept outside the vault (--checkpoint FILE)\n");
      }
    }
  }
  if (!r.intact()) {
    return Corrupt(
        fmt::format("the audit log failed verification ({} problem(s))", r.problems.size()));
  }
  return Status::Ok();
}

Status Checkpoint(const Context& ctx, const std::string& out) {
  DOSSIER_ASSIGN_OR_RETURN(std::string text,
                           vault::WriteCheckpoint(ctx.vault_dir, FormatUtc(Clock::System().Now())));
  if (out.empty()) {
    std::fputs(text.c_str(), stdout);
    return Status::Ok();
  }
  DOSSIER_RETURN_IF_ERROR(WriteFileDurably(out, AsBytes(text)));
  std::fprintf(stderr, "checkpoint written to %s: keep it outside the vault\n", out.c_str());
  return Status::Ok();
}

Status PubKey(const Context& ctx) {
  DOSSIER_ASSIGN_OR_RETURN(std::string key, vault::ReadAuditPublicKey(ctx.vault_dir));
  std::printf("%s\n", key.c_str());
  return Status::Ok();
}

}  // namespace

void AddAuditCommands(CLI::App& app, Context& ctx) {
  auto* audit = app.add_subcommand(
      "audit", "read and verify the tamper-evident audit log (no passphrase needed)");
  audit->require_subcommand(1);

  auto filter = std::make_shared<LogArgs>();
  auto* log = audit->add_subcommand(
      "log",
      "list audit events, oldest first (ids only, never personal data): when, who claimed to\n"
      "act (--actor) and the operating-system user beside it, the action, its outcome and\n"
      "the reason of a refusal or failure (doc/FORMAT.md lists every action)\n"
      "  e.g. dossier audit log --action document. --since 2026-11-01");
  log->add_option("--patient", filter->patient,
                  "only events about this patient (pat_…, from `dossier patient list`)");
  log->add_option("--since", filter->since, "only events on or after this date (YYYY-MM-DD)");
  log->add_option("--until", filter->until, "only events on or before this date (YYYY-MM-DD)");
  log->add_option("--actor", filter->actor, "only events of this actor (exactly)");
  log->add_option("--action", filter->action,
                  "only this action (document.read), or every action starting so when it ends\n"
                  "in a dot (document.)");
  log->callback([&ctx, filter] { ctx.action = [&ctx, filter] { return Log(ctx, *filter); }; });

  auto note_id = std::make_shared<std::string>();
  auto* note = audit->add_subcommand(
      "note",
      "show the sealed detail an event names in its details (name_note=note_…: the file\n"
      "a `get` wrote to); needs the passphrase, and is itself audited");
  note->add_option("NOTE", *note_id, "note id (note_…)")->required();
  note->callback([&ctx, note_id] {
    ctx.act = {"audit.note.read", {*note_id}};
    ctx.action = [&ctx, note_id] { return Note(ctx, *note_id); };
  });

  auto anchors = std::make_shared<std::array<std::string, 2>>();
  auto* verify = audit->add_subcommand(
      "verify",
      "recompute the Merkle tree and signed head; exit 3 if any event was modified,\n"
      "deleted, inserted or reordered, if the log is not signed by the pinned key, or if it\n"
      "no longer extends --checkpoint. Without --pubkey or --checkpoint only the log's own\n"
      "consistency is checked, which cannot reveal a history rewritten and re-signed by\n"
      "someone who can write the vault folder.");
  verify->add_option("--checkpoint", (*anchors)[0],
                     "a checkpoint saved earlier with `audit checkpoint`, kept outside the vault");
  verify->add_option("--pubkey", (*anchors)[1],
                     "the audit key noted when the vault was made (`dossier audit pubkey`): its\n"
                     "64 hex characters, or a file whose first line holds them");
  verify->callback([&ctx, anchors] {
    ctx.action = [&ctx, anchors] { return Verify(ctx, (*anchors)[0], (*anchors)[1]); };
  });

  auto out = std::make_shared<std::string>();
  auto* checkpoint = audit->add_subcommand(
      "checkpoint",
      "print the log's signed head as a checkpoint (no passphrase needed); keep it\n"
      "outside the vault to prove later, with `audit verify --checkpoint`, that history\n"
      "was not rewritten. Refused (exit 3) when the log does not verify.");
  checkpoint->add_option("-o,--output", *out, "write it to this file instead of stdout");
  checkpoint->callback([&ctx, out] { ctx.action = [&ctx, out] { return Checkpoint(ctx, *out); }; });

  auto* pub = audit->add_subcommand("pubkey", "print the vault's audit public key (Ed25519, hex)");
  pub->callback([&ctx] { ctx.action = [&ctx] { return PubKey(ctx); }; });
}

}  // namespace dossier::app
