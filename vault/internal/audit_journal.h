// The audit journal (doc/FORMAT.md §Audit journal): where the events of reads made beside an
// open ingest batch become durable without committing that batch. A process writes its own
// journal file, `audit-journal.<id>` beside the catalog, holding its flock; the batch's next
// commit folds the journal's events into the signed log in its own transaction, and the file
// goes. A journal left by a process that ended first (its flock free) is folded by the next
// open. Each record is MACed under a key derived from the vault's row-MAC key, so whoever can
// write the vault folder without the passphrase cannot add an event to the log. Private to
// vault/.
//
//   AuditJournal journal(dir, DeriveSubkey(row_key, 1, "dsjournl"));
//   DOSSIER_RETURN_IF_ERROR(journal.Append(events));  // durable when it returns
//   ... AppendEvents(db, journal.pending()) in the committing transaction, commit ...
//   DOSSIER_RETURN_IF_ERROR(journal.Folded());        // the file goes
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/encoding.h"
#include "common/file_io.h"
#include "common/secure_buffer.h"
#include "common/status.h"
#include "vault/audit.h"
#include "vault/internal/vault_dir.h"

namespace dossier::vault::internal {

inline constexpr const char* kJournalPrefix = "audit-journal.";

class AuditJournal {
 public:
  AuditJournal() = default;
  AuditJournal(const VaultDir& dir, SecureBuffer mac_key);

  // Appends the events (their `at` already set) to this process's journal file, made on
  // first use (its name made durable in the folder), then fdatasync: each event is durable
  // when this returns OK. On failure nothing of them counts as journaled.
  Status Append(const std::vector<AuditEvent*>& events);
  // The events journaled and not yet folded, oldest first.
  const std::vector<AuditEvent>& pending() const { return pending_; }
  // After the transaction holding pending() committed: the file is removed (durably) and the
  // next Append makes a new one. A crash before the removal folds these events twice at the
  // next open, never zero times.
  Status Folded();
  bool enabled() const { return dir_ != nullptr; }

 private:
  const VaultDir* dir_ = nullptr;
  SecureBuffer key_;
  std::optional<File> file_;  // holds its flock
  std::string name_;
  int64_t records_ = 0;  // in the current file
  std::vector<AuditEvent> pending_;
};

// A journal left behind by a process that ended before folding it, held (its flock) by the
// open folding it.
struct LeftJournal {
  std::string name;
  File file;
  std::vector<AuditEvent> events;
};

// The journals of ended processes, their records checked: kCorrupt naming the file and the
// record for one whose MAC is wrong (changed outside Dossier). A record cut short at the end
// (a crash while it was written, before it was durable and so before any read was answered)
// is left out. Journals another live process holds are not touched.
Result<std::vector<LeftJournal>> ClaimLeftJournals(const VaultDir& dir,
                                                   const SecureBuffer& mac_key);

// The journal's record of one event: "<u32 little-endian length><JSON><32-byte MAC>".
// Exposed for tests.
Bytes EncodeJournalRecord(const SecureBuffer& mac_key, const std::string& file_name,
                          int64_t number, const AuditEvent& e);

}  // namespace dossier::vault::internal
