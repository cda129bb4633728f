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
//   auto taken = journal.Take();    // AppendEvents of its events in the committing transaction
//   ... commit ...
//   DOSSIER_RETURN_IF_ERROR(journal.Folded(taken));   // its files go
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
  // What a committing transaction takes: the events pending now, and the files holding them.
  // Events appended after Take go to a new file, for the next one.
  struct Snapshot {
    size_t events = 0;
    size_t files = 0;
  };
  Snapshot Take();
  // After the transaction holding the snapshot's events committed: they are dropped and their
  // files removed (durably). A crash before the removal folds these events twice at the next
  // open, never zero times.
  Status Folded(const Snapshot& taken);
  bool enabled() const { return dir_ != nullptr; }

 private:
  const VaultDir* dir_ = nullptr;
  SecureBuffer key_;
  std::optional<File> file_;  // the file appended to, holding its flock
  std::string name_;
  int64_t records_ = 0;  // in the current file
  // Files taken (Take) and not yet removed, oldest first; each holds its flock.
  std::vector<std::pair<std::string, File>> taken_;
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
Bytes EncodeJournalRecord(const SecureBuffer& mac_key, const std::string& file_name, int64_t number,
                          const AuditEvent& e);

}  // namespace dossier::vault::internal
