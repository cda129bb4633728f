// The `dossier` command: shared context and the registration of each command group.
// Each command's callback returns a Status; main() turns it into the exit code of DESIGN.md §4.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
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

namespace dossier::exporter {
struct ImagingStats;
}
namespace dossier::report {
struct SeriesView;
}

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
  // What the chosen command does, as the audit log names it (doc/FORMAT.md §Audit log): if it
  // fails after unlocking the vault, main() puts that on record (Vault::RecordFailure). Empty:
  // a command whose own events say enough.
  struct Act {
    std::string action;
    std::vector<std::string> objects;
  };
  Act act;
  // The vault the command unlocked, kept open until main() has recorded how it ended.
  mutable std::shared_ptr<vault::Vault> opened;

  PassphraseSource passphrase_source() const { return {passphrase_file}; }
  // How analysis workers are confined: kRequired, or kBestEffort with the flag above.
  sandbox::Confinement worker_confinement() const {
    return allow_unconfined_workers ? sandbox::Confinement::kBestEffort
                                    : sandbox::Confinement::kRequired;
  }
  // Asks for the passphrase and unlocks the vault (also kept in `opened`).
  Result<std::shared_ptr<vault::Vault>> OpenVault(
      vault::OpenMode mode = vault::OpenMode::kNormal) const;
};

void AddVaultCommands(CLI::App& app, Context& ctx);        // init, vault passwd|verify
void AddPeopleCommands(CLI::App& app, Context& ctx);       // patient ..., case ...
void AddDocumentCommands(CLI::App& app, Context& ctx);     // ingest, docs, get
void AddCorrectionCommands(CLI::App& docs, Context& ctx);  // docs move|remove
void AddAuditCommands(CLI::App& app, Context& ctx);        // audit log|verify|checkpoint|pubkey
void AddDicomCommands(CLI::App& app, Context& ctx);        // dicom export|preview
void AddConsentCommands(CLI::App& app, Context& ctx);      // clinic ..., consent ...
void AddSettingsCommand(CLI::App& vault, Context& ctx);    // vault settings
void AddExportCommands(CLI::App& app, Context& ctx);       // export, export list
void AddServeCommand(CLI::App& app, Context& ctx);         // serve
void AddUserCommands(CLI::App& app, Context& ctx);         // user add|list|passwd|disable|rights

// kInvalidArgument (exit 1) unless `value` is an id of kind `want`, saying what it is and how
// to get the right one: "--case: pat_… is a patient, not a case: their cases are `dossier
// case list --patient pat_…`". `option` names where it was given ("" for a positional).
Status ExpectId(const std::string& value, IdKind want, const std::string& option = "");

// A CLI11 check for a whole number of at least `min`, saying `rule` in words when it is not
// ("--page: pages start at 1"), never a numeric limit of the machine.
CLI::Validator CountFrom(long long min, const std::string& rule);

// Puts the failure `why` of the command's act on the audit record, if it unlocked the vault
// (Vault::RecordFailure: `refused` or `failed`, with the status code); a failure to record
// that is said on stderr.
void RecordFailure(const Context& ctx, const Status& why);

// The JPEG-LS lines both exports print (exporter::ImagingStats): how many instances were
// re-compressed, the sizes and ratio, and why the others were kept as they were.
void PrintJpegLs(const exporter::ImagingStats& stats);

// A series' row as `docs` and `dicom list` print it, and the lines under it saying what needs
// attention (another patient's?, problems found at upload).
void PrintSeries(const report::SeriesView& series);

// Prints a JSON value to stdout, pretty; bytes that are not UTF-8 (a file name from an old
// USB stick) are shown as U+FFFD rather than aborting.
void PrintJson(const nlohmann::json& value);

// What a command that creates a record prints: its id on a line, or {"id": "…"} with --json.
Status PrintCreated(const Context& ctx, const std::string& id);

// What a case holds, in the words `case list`, `patient show` and `docs` share:
// "2 documents, 1 DICOM instance" (documents other than DICOM; DICOM instances apart).
std::string CountsText(int64_t documents, int64_t dicom_instances);

}  // namespace dossier::app
