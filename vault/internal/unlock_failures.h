// The record of failed unlocks (doc/FORMAT.md §Failed unlocks): `unlock-failures` beside the
// catalog, one line per wrong passphrase holding its UTC time and nothing else. It is the one
// thing a wrong passphrase writes, since nothing that needs the keys may be written before
// the passphrase is proven; the next successful unlock folds it into the signed audit log as
// one `vault.unlock_failed` event and removes it. Private to vault/.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "common/file_io.h"
#include "common/status.h"
#include "vault/internal/vault_dir.h"

namespace dossier::vault::internal {

inline constexpr const char* kUnlockFailures = "unlock-failures";

// Appends "<at>\n" (O_APPEND, mode 0600, never through a symlink), holding the record's
// flock, so that no failure is appended to a record another process is folding.
Status RecordUnlockFailure(const VaultDir& dir, const std::string& at);

struct UnlockFailures {
  int64_t count = 0;  // lines in the record
  std::string first;  // the first and last well-formed times ("" if none was)
  std::string last;
  // "count=3 first=2026-11-22T09:00:00Z last=2026-11-22T09:05:12Z": the event's purpose.
  std::string Describe() const;
};

// The record's summary; nullopt when there is none (or it is empty). Reads it in pieces
// whatever its size; anything but a time on a line is counted and otherwise ignored, so the
// record cannot carry other text into the audit log.
Result<std::optional<UnlockFailures>> ReadUnlockFailures(const VaultDir& dir);

// Removes the record and makes that durable.
Status RemoveUnlockFailures(const VaultDir& dir);

// The record, held (its flock, exclusively) by the one process that folds it: several
// processes open a vault at once, and each failure must be folded once, and never lost.
class UnlockFailuresClaim {
 public:
  // nullopt when there is no record, or another process holds it (folding it, or
  // appending to it: it is folded by that one or by a later unlock).
  static Result<std::optional<UnlockFailuresClaim>> Take(const VaultDir& dir);
  // nullopt when the record is empty.
  const std::optional<UnlockFailures>& failures() const { return failures_; }
  // Removes the record (durably), then lets go of it.
  Status Remove(const VaultDir& dir);

 private:
  File file_;
  std::optional<UnlockFailures> failures_;
};

}  // namespace dossier::vault::internal
