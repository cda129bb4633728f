// The vault's lock file (`lock`, doc/FORMAT.md §Lock file) and the locks an open vault holds
// on it. Private to vault/.
//
// Any number of processes have a vault open at once, each holding a shared flock; a process
// holds it exclusively only for what must run alone (a schema upgrade, settling an
// interrupted key rotation, `vault passwd`, and the upkeep of an open that finds itself
// alone), and then writes what it does into the file ("pid 1234: key rotation (vault
// passwd)"), so that a process waiting for it can say what it waits for. Beside the flock,
// open file description (OFD) record locks on single bytes carry two signals between
// processes: "I have the vault open" (byte 2), and "I wait for the catalog's write lock"
// (byte 1), which a long ingest batch answers by committing and letting the waiter in.
//
//   DOSSIER_ASSIGN_OR_RETURN(VaultLock lock, VaultLock::Open(dir, on_wait));
//   DOSSIER_RETURN_IF_ERROR(lock.Shared());
//   DOSSIER_ASSIGN_OR_RETURN(bool alone, lock.TryExclusive("opening the vault"));
//
// Not thread-safe, except BeginWriteWait/EndWriteWait/WritersWaiting/OtherHolders, which any
// thread may call.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/file_io.h"
#include "common/status.h"
#include "vault/internal/vault_dir.h"

namespace dossier::vault::internal {

// What an exclusive holder writes after its pid (never personal data).
inline constexpr const char* kOpeningNote = "opening the vault";
inline constexpr const char* kRotationNote = "key rotation (vault passwd)";

class VaultLock {
 public:
  // Says what a wait is for (VaultOptions::on_wait); may be null.
  using WaitFn = std::function<void(const std::string&)>;

  // Opens (creating, 0600, if missing) the lock file of `dir`; takes no lock yet.
  static Result<VaultLock> Open(const VaultDir& dir, WaitFn on_wait);
  VaultLock() = default;
  VaultLock(VaultLock&&) noexcept = default;
  VaultLock& operator=(VaultLock&&) noexcept = default;
  ~VaultLock() = default;  // closing the file lets go of every lock

  // Takes the shared lock. While another process holds it exclusively this waits, silently
  // for a moment and then saying so through on_wait: "waiting for another dossier process
  // (pid 1234: key rotation (vault passwd)) to finish…".
  Status Shared();
  // Takes the lock exclusively if no other process has the vault open, writing `note`;
  // true then. false: it stays (or is again) shared — a failed try of flock lets go of the
  // shared lock for a moment, so whatever changed in that moment must be checked again.
  Result<bool> TryExclusive(const std::string& note);
  // Takes the lock exclusively, waiting until every other process has closed the vault;
  // after a moment it says so through on_wait: "waiting for 2 other dossier processes (pids
  // 1201, 1305) to close the vault: <why>". It holds no lock while it waits (polling with
  // backoff), so two processes that both want the vault alone never wait for each other:
  // the caller must check afterwards that nothing it relies on changed meanwhile.
  Status Exclusive(const std::string& note, const std::string& why);
  // Exclusive back to shared (atomic on Linux); clears the note.
  Status Downgrade();
  bool exclusive() const { return exclusive_; }

  // Whether another process has this vault open (holds byte 2); conservative: a process
  // that waits for the lock, or is opening, counts.
  Result<bool> OthersPresent() const;

  // A statement of this process waits for the catalog's write lock (the SQLite busy
  // handler); counted, so several waiting threads share one signal.
  void BeginWriteWait();
  void EndWriteWait();
  // Whether another process waits for the catalog's write lock.
  bool WritersWaiting() const;

  // Other processes holding the flock (from /proc/locks; our own pid left out), sorted.
  std::vector<int> OtherHolders() const;
  // "another dossier process (pid 1201)", "2 other dossier processes (pids 1201, 1305)", or
  // "other dossier processes" when /proc/locks names none.
  static std::string DescribeProcesses(const std::vector<int>& pids);

 private:
  Status MarkPresent();
  Status WriteNote(const std::string& note);
  std::string ReadNote() const;
  void Say(const std::string& message) const;

  File file_;
  std::string path_;  // for messages
  WaitFn on_wait_;
  bool held_ = false;  // shared or exclusive
  bool exclusive_ = false;
  bool present_ = false;
  std::unique_ptr<std::mutex> wait_mu_ = std::make_unique<std::mutex>();
  int write_waiters_ = 0;  // guarded by *wait_mu_
};

}  // namespace dossier::vault::internal
