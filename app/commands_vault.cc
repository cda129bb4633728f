// dossier init | vault passwd | vault verify
#include <fmt/format.h>
#include <grp.h>
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "app/cli.h"
#include "vault/audit.h"

namespace dossier::app {

Result<std::shared_ptr<vault::Vault>> Context::OpenVault(vault::OpenMode mode) const {
  DOSSIER_ASSIGN_OR_RETURN(SecretString pass,
                           ReadPassphrase(passphrase_source(), "Vault passphrase: ", false));
  vault::VaultOptions options;
  // Another dossier process holds the vault alone (a key rotation), or this one must wait
  // for the others to close it: said on stderr, so a waiting command does not look hung.
  options.on_wait = [](const std::string& message) {
    std::fprintf(stderr, "dossier: %s\n", message.c_str());
  };
  DOSSIER_ASSIGN_OR_RETURN(
      std::shared_ptr<vault::Vault> v,
      vault::Vault::Open(vault_dir, pass.view(), {actor, "operator"}, options, mode));
  opened = v;
  if (allow_unconfined_workers) DOSSIER_RETURN_IF_ERROR(v->RecordUnconfinedWorkersAllowed());
  if (!v->swept_orphans().empty()) {
    std::fprintf(stderr,
                 "dossier: removed %zu unreferenced object(s) left by an interrupted ingest\n",
                 v->swept_orphans().size());
  }
  return v;
}

void PrintJson(const nlohmann::json& value) {
  std::printf("%s\n", value.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
}

namespace {

Status Init(const Context& ctx, const std::string& group) {
  vault::VaultOptions options;
  if (!group.empty()) {
    const struct group* g = ::getgrnam(group.c_str());
    if (g == nullptr) {
      return NotFound("--group " + group + ": no such group on this machine (see `getent group`)");
    }
    options.share_with_group = g->gr_gid;
  }
  DOSSIER_ASSIGN_OR_RETURN(
      SecretString pass,
      ReadPassphrase(ctx.passphrase_source(), "New vault passphrase (8+ characters): ", true));
  DOSSIER_RETURN_IF_ERROR(
      vault::Vault::Create(ctx.vault_dir, pass.view(), {ctx.actor, "operator"}, options));
  std::printf("created vault %s\n", ctx.vault_dir.c_str());
  std::fprintf(
      stderr, "Keep the passphrase safe: without it nobody, including you, can open this vault.\n");
  if (auto key = vault::ReadAuditPublicKey(ctx.vault_dir); key.ok()) {
    std::fprintf(stderr,
                 "Audit key %s: note it outside the vault; `dossier audit verify --pubkey` checks "
                 "the log against it.\n",
                 key->c_str());
  }
  return Status::Ok();
}

Status Passwd(const Context& ctx, const std::string& new_file) {
  DOSSIER_ASSIGN_OR_RETURN(auto v, ctx.OpenVault());
  DOSSIER_ASSIGN_OR_RETURN(SecretString next, ReadPassphrase({new_file}, "New passphrase: ", true));
  DOSSIER_RETURN_IF_ERROR(v->ChangePassphrase(next.view()));
  std::printf(
      "passphrase changed and master key rotated; neither the old passphrase nor an old copy of "
      "vault.key opens %s\n",
      ctx.vault_dir.c_str());
  return Status::Ok();
}

Status Verify(const Context& ctx, bool quick) {
  DOSSIER_ASSIGN_OR_RETURN(auto v, ctx.OpenVault(vault::OpenMode::kVerify));
  Progress progress("verifying");
  DOSSIER_ASSIGN_OR_RETURN(
      vault::VerifyReport r,
      v->Verify(quick, [&](uint64_t done, uint64_t total) { progress.Update(done, total); }));
  if (ctx.json) {
    auto issues = nlohmann::json::array();
    for (const auto* list : {&r.issues, &r.orphans}) {
      for (const auto& i : *list) {
        issues.push_back({{"document", i.doc_id},
                          {"object", i.object_id},
                          {"problem", i.problem},
                          {"detail", i.detail}});
      }
    }
    PrintJson(nlohmann::json{{"checked", r.checked},
                             {"erased_skipped", r.erased_skipped},
                             {"removed_skipped", r.removed_skipped},
                             {"quick", quick},
                             {"intact", r.intact()},
                             {"problems", issues}});
  } else {
    for (const auto& i : r.issues) {
      std::printf("%-13s %s  %s\n", i.problem.c_str(), i.doc_id.c_str(), i.detail.c_str());
    }
    for (const auto& i : r.orphans) {
      std::printf("%-13s %s  %s\n", "orphan", i.object_id.c_str(), i.detail.c_str());
    }
    std::string skipped;  // documents whose data was deleted on purpose
    if (r.erased_skipped) skipped = fmt::format("{} erased", r.erased_skipped);
    if (r.removed_skipped) {
      skipped += fmt::format("{}{} removed", skipped.empty() ? "" : ", ", r.removed_skipped);
    }
    std::printf(
        "%s %lld document(s)%s: %s\n",
        quick ? "checked presence and size of" : "decrypted and authenticated",
        static_cast<long long>(r.checked),
        skipped.empty() ? "" : (" (" + skipped + ", skipped)").c_str(),
        r.intact() ? "all intact" : fmt::format("{} problem(s) found", r.issues.size()).c_str());
    if (!r.orphans.empty()) {
      std::printf("%zu orphan object(s) from an interrupted ingest; the next write removes them\n",
                  r.orphans.size());
    }
  }
  if (!r.intact()) {
    return Corrupt(
        fmt::format("vault verification failed: {} document(s) damaged or missing; "
                    "restore them from a backup",
                    r.issues.size()));
  }
  return Status::Ok();
}

}  // namespace

void AddVaultCommands(CLI::App& app, Context& ctx) {
  auto group = std::make_shared<std::string>();
  auto* init = app.add_subcommand(
      "init",
      "create a new encrypted vault (asks for a passphrase). Its folder and files are\n"
      "readable by you only (0700/0600), whatever the umask.");
  init->add_option("--group", *group,
                   "let this group's members (compliance officers) read the catalog and\n"
                   "audit.pub, to verify the audit log without the passphrase (0750/0640;\n"
                   "never group-writable; documents stay readable by you only)");
  init->callback([&ctx, group] { ctx.action = [&ctx, group] { return Init(ctx, *group); }; });

  auto* vault = app.add_subcommand("vault", "change the passphrase or verify every object");
  vault->require_subcommand(1);
  auto new_file = std::make_shared<std::string>();
  auto* passwd = vault->add_subcommand(
      "passwd",
      "change the passphrase and rotate the master key (every patient key and vault secret\n"
      "is rewrapped): a leaked passphrase, or an old copy of vault.key, stops opening the vault");
  passwd->add_option("--new-passphrase-file", *new_file,
                     "file holding the new passphrase (default: ask twice)");
  passwd->callback(
      [&ctx, new_file] { ctx.action = [&ctx, new_file] { return Passwd(ctx, *new_file); }; });

  AddSettingsCommand(*vault, ctx);

  auto quick = std::make_shared<bool>(false);
  auto* verify = vault->add_subcommand(
      "verify", "decrypt and authenticate every object; exit 3 naming what is damaged");
  verify->add_flag("--quick", *quick, "check presence and sizes only");
  verify->callback([&ctx, quick] { ctx.action = [&ctx, quick] { return Verify(ctx, *quick); }; });
}

}  // namespace dossier::app
