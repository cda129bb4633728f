// The `dossier` command: shared context and the registration of each command group.
// Each command's callback returns a Status; main() turns it into the exit code of DESIGN.md §4.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "app/terminal.h"
#include "common/ids.h"
#include "common/status.h"
#include "sandbox/worker.h"
#include "vault/vault.h"

namespace dossier::app {

struct Context {
  std::string vault_dir;
  std::string passphrase_file;
  std::string actor;
  bool json = false;
  // --allow-unconfined-workers: analysis workers that cannot be confined (no Landlock, no
  // seccomp) run all the same instead of refusing to start. Said on every run.
  bool allow_unconfined_workers = false;
  // Set by the chosen command; run after parsing.
  std::function<Status()> action;

  PassphraseSource passphrase_source() const { return {passphrase_file}; }
  // How analysis workers are confined: kRequired, or kBestEffort with the flag above.
  sandbox::Confinement worker_confinement() const {
    return allow_unconfined_workers ? sandbox::Confinement::kBestEffort
                                    : sandbox::Confinement::kRequired;
  }
  // Asks for the passphrase and unlocks the vault.
  Result<std::unique_ptr<vault::Vault>> OpenVault(
      vault::OpenMode mode = vault::OpenMode::kNormal) const;
};

void AddVaultCommands(CLI::App& app, Context& ctx);      // init, vault passwd|verify
void AddPeopleCommands(CLI::App& app, Context& ctx);     // patient ..., case ...
void AddDocumentCommands(CLI::App& app, Context& ctx);   // ingest, docs, get
void AddAuditCommands(CLI::App& app, Context& ctx);      // audit log|verify|checkpoint|pubkey
void AddDicomCommands(CLI::App& app, Context& ctx);      // dicom export|preview
void AddConsentCommands(CLI::App& app, Context& ctx);    // clinic ..., consent ...
void AddSettingsCommand(CLI::App& vault, Context& ctx);  // vault settings

// kInvalidArgument (exit 1) unless `value` is an id of kind `want`, saying what it is and how
// to get the right one: "--case: pat_… is a patient, not a case: their cases are `dossier
// case list --patient pat_…`". `option` names where it was given ("" for a positional).
Status ExpectId(const std::string& value, IdKind want, const std::string& option = "");

// A CLI11 check for a whole number of at least `min`, saying `rule` in words when it is not
// ("--page: pages start at 1"), never a numeric limit of the machine.
CLI::Validator CountFrom(long long min, const std::string& rule);

// Runs `act`, a command's work on the unlocked vault `v`. If it fails, the failure is put on
// the audit record as `action` on `objects` (Vault::RecordFailure: `refused` or `failed`, with
// the status code) before it is returned; a failure to record that is said on stderr.
Status Audited(vault::Vault& v, const std::string& action, const std::vector<std::string>& objects,
               const std::function<Status()>& act);

// Prints a JSON value to stdout, pretty; bytes that are not UTF-8 (a file name from an old
// USB stick) are shown as U+FFFD rather than aborting.
void PrintJson(const nlohmann::json& value);

}  // namespace dossier::app
