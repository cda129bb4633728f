// One vault, many threads (vault.h §Threads): the writer lock and its sections, one reader
// connection per thread, and the group commit of the audit events recorded alone.
#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "vault/internal/audit_log.h"
#include "vault/internal/crypto.h"
#include "vault/internal/schema.h"
#include "vault/internal/vault_impl.h"

namespace dossier::vault {

using internal::Db;

// Every reader connection of the vault: owned here, so that they close with the vault (the
// writer's connection, closing last, then checkpoints the WAL and removes it). A thread holds
// one until it ends and then gives it back, idle, for the next thread (ThreadReaders below).
struct Vault::Impl::ReaderPool {
  std::mutex mu;
  std::vector<std::unique_ptr<Db>> all;
  std::vector<Db*> idle;
};

namespace {

// The reader connections the calling thread holds, one per open vault. Held until the thread
// ends (a server's worker threads keep theirs across calls), or until the vault is closed.
struct ThreadReaders {
  struct Slot {
    std::weak_ptr<Vault::Impl::ReaderPool> pool;
    Db* db = nullptr;  // owned by the pool
  };
  std::vector<Slot> slots;

  ~ThreadReaders() {
    for (Slot& slot : slots) {
      if (auto pool = slot.pool.lock()) {
        std::lock_guard<std::mutex> lock(pool->mu);
        pool->idle.push_back(slot.db);
      }
    }
  }

  Db* Find(const std::shared_ptr<Vault::Impl::ReaderPool>& pool) {
    Db* found = nullptr;
    slots.erase(std::remove_if(slots.begin(), slots.end(),
                               [&](Slot& slot) {
                                 auto p = slot.pool.lock();
                                 if (p == pool) found = slot.db;
                                 return p == nullptr;  // the vault was closed
                               }),
                slots.end());
    return found;
  }
};

thread_local ThreadReaders tls_readers;

}  // namespace

Vault::Impl::Impl(internal::VaultDir dir, Actor actor, VaultOptions options)
    : os_user_(internal::CurrentOsUser()),
      dir_(std::move(dir)),
      actor_(std::move(actor)),
      options_(std::move(options)),
      objects_(dir_, options_.chunk_size),
      readers_(std::make_shared<ReaderPool>()) {}

// --- The writer ----------------------------------------------------------------------------

void Vault::Impl::LockWriter() {
  if (HoldsWriter()) {
    ++writer_depth_;
    return;
  }
  // First come, first served: a thread that writes in a loop (an ingest) cannot starve the
  // audit group waiting between two of its calls.
  std::unique_lock<std::mutex> lock(writer_mu_);
  const uint64_t ticket = writer_next_++;
  writer_cv_.wait(lock, [&] { return writer_serving_ == ticket; });
  writer_thread_.store(std::this_thread::get_id(), std::memory_order_relaxed);
  writer_depth_ = 1;
}

void Vault::Impl::UnlockWriter() {
  if (--writer_depth_ > 0) return;
  writer_thread_.store(std::thread::id(), std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lock(writer_mu_);
    ++writer_serving_;
  }
  writer_cv_.notify_all();
}

Vault::Impl::Section::~Section() {
  if (v_ != nullptr) v_->UnlockWriter();
}

Vault::Impl::Section Vault::Impl::Write() {
  LockWriter();
  // Nothing but the owner's own writes joins a batch: another thread's write (or what it
  // reads on the writer's connection) comes after the batch's work so far is committed.
  if (writer_depth_ == 1 && batch_ && batch_->tx && !OwnsBatch()) (void)LetOtherWriteIn();
  return Section(this);
}

Result<Vault::Impl::Section> Vault::Impl::Read() {
  if (OwnsBatch() || HoldsWriter()) return Write();
  DOSSIER_RETURN_IF_ERROR(Reader().status());
  return Section();
}

Db& Vault::Impl::Conn() {
  if (HoldsWriter()) return db_;
  auto reader = Reader();
  if (reader.ok()) return **reader;
  // Read() reports why a reader cannot be opened; a path that did not enter a section gets a
  // closed connection, whose every statement fails.
  thread_local Db closed;
  return closed;
}

Result<Db*> Vault::Impl::Reader() {
  if (Db* db = tls_readers.Find(readers_)) return db;
  Db* db = nullptr;
  {
    std::lock_guard<std::mutex> lock(readers_->mu);
    if (!readers_->idle.empty()) {
      db = readers_->idle.back();
      readers_->idle.pop_back();
    }
  }
  if (db == nullptr) {
    // The same checks as the writer's catalog at unlock: opened without following a link,
    // in this very folder, with the schema the migrations made, of this vault.
    DOSSIER_ASSIGN_OR_RETURN(Db opened, internal::OpenCatalog(dir_, Db::Mode::kReadOnly));
    opened.SetBusyPolicy(BusyPolicyFor(false));
    DOSSIER_RETURN_IF_ERROR(opened.Exec("PRAGMA query_only = ON"));
    DOSSIER_RETURN_IF_ERROR(internal::CheckSchema(opened));
    DOSSIER_ASSIGN_OR_RETURN(std::string id, internal::ReadMeta(opened, "vault_id"));
    if (id != vault_id_) {
      return Corrupt(
          fmt::format("the catalog now belongs to vault {}, not {}: check who changed {}", id,
                      vault_id_, dir_.path().string()));
    }
    std::lock_guard<std::mutex> lock(readers_->mu);
    readers_->all.push_back(std::make_unique<Db>(std::move(opened)));
    db = readers_->all.back().get();
  }
  tls_readers.slots.push_back({readers_, db});
  return db;
}

Status Vault::Impl::ReadObject(const std::string& object_id, const SecureBuffer& key,
                               uint64_t stored_size, ByteSink* sink, uint64_t* plain_size) {
  // A reader's committed rows name only objects already flushed (CommitBatchTx); the writer
  // may see a row of the open batch whose object is still queued.
  if (HoldsWriter()) objects_.WaitForWrites();
  return objects_.Read(object_id, key, stored_size, sink, plain_size);
}

// --- Caches --------------------------------------------------------------------------------

Result<std::shared_ptr<const Vault::Impl::PatientKeys>> Vault::Impl::Keys(
    const std::string& patient_id) {
  internal::Db& conn = Conn();
  DOSSIER_ASSIGN_OR_RETURN(int64_t version, conn.QueryInt("PRAGMA data_version"));
  {
    std::lock_guard<std::mutex> lock(keys_mu_);
    if (auto it = patient_keys_.find(patient_id); it != patient_keys_.end()) {
      auto seen = it->second.seen.find(conn.serial());
      if (seen != it->second.seen.end() && seen->second == version) return it->second.keys;
    }
  }
  DOSSIER_RETURN_IF_ERROR(CheckRows(internal::RowTable::kPatients, "id = ?1", {patient_id}));
  Bytes wrapped;
  {
    // Perhaps erased by another process or thread after this one cached the key.
    DOSSIER_ASSIGN_OR_RETURN(
        internal::Stmt s, conn.Prepare("SELECT wrapped_key, erased_at FROM patients WHERE id = ?"));
    s.Bind(1, patient_id);
    DOSSIER_ASSIGN_OR_RETURN(bool found, s.Step());
    if (!found) return NotFound("no patient " + patient_id);
    if (s.IsNull(0)) {
      return Rejected(fmt::format("patient {} was erased on {}: their data no longer exists",
                                  patient_id, s.Text(1)));
    }
    wrapped = s.Blob(0);
  }
  {
    std::lock_guard<std::mutex> lock(keys_mu_);
    if (erased_keys_.count(patient_id) != 0) {
      return Rejected(
          fmt::format("patient {} was erased: their data no longer exists", patient_id));
    }
    if (auto it = patient_keys_.find(patient_id); it != patient_keys_.end()) {
      // The same key (a rotation rewraps it, never changes it).
      it->second.seen[conn.serial()] = version;
      return it->second.keys;
    }
  }
  auto key = internal::Open(master_key_, wrapped, "dossier-patient-key-v1:" + patient_id);
  if (!key.ok()) return Corrupt("the key of patient " + patient_id + " fails authentication");
  auto keys = std::make_shared<const PatientKeys>(PatientKeys::From(std::move(key).value()));
  std::lock_guard<std::mutex> lock(keys_mu_);
  // A reader that looked before an erasure committed must not bring the key back.
  if (erased_keys_.count(patient_id) != 0) {
    return Rejected(fmt::format("patient {} was erased: their data no longer exists", patient_id));
  }
  CachedKeys& cached = patient_keys_[patient_id];
  if (!cached.keys) cached.keys = std::move(keys);  // another thread may have cached it first
  cached.seen[conn.serial()] = version;
  return cached.keys;
}

void Vault::Impl::CacheKeys(const std::string& patient_id, PatientKeys keys,
                            const internal::Db& conn, int64_t version) {
  std::lock_guard<std::mutex> lock(keys_mu_);
  CachedKeys& cached = patient_keys_[patient_id];
  cached.keys = std::make_shared<const PatientKeys>(std::move(keys));
  cached.seen = {{conn.serial(), version}};
}

void Vault::Impl::ForgetKeys(const std::string& patient_id) {
  std::lock_guard<std::mutex> lock(keys_mu_);
  erased_keys_.insert(patient_id);
  patient_keys_.erase(patient_id);  // sodium_free zeroes it once no thread uses it
  std::erase_if(listings_, [&](const auto& entry) {
    if (entry.second.patient_id != patient_id) return false;
    listed_records_ -= entry.second.documents->size();
    return true;
  });
}

Result<Vault::Impl::Listing> Vault::Impl::CaseListing(
    const std::string& case_id, const std::string& patient_id,
    const std::function<Result<std::vector<DocumentRecord>>()>& read) {
  std::optional<int64_t> version;
  if (!HoldsWriter()) {
    DOSSIER_ASSIGN_OR_RETURN(internal::Stmt s,
                             Conn().Prepare("SELECT version FROM case_changes WHERE case_id = ?"));
    s.Bind(1, case_id);
    DOSSIER_ASSIGN_OR_RETURN(bool found, s.Step());
    if (found) version = s.Int(0);
  }
  if (version) {
    std::lock_guard<std::mutex> lock(keys_mu_);
    auto it = listings_.find(case_id);
    if (it != listings_.end() && it->second.version == *version) {
      it->second.used = ++listings_tick_;
      return it->second.documents;
    }
  }
  // Read after the version: a change committed in between makes the rows newer than the
  // version they are kept under, so the next call reads them again; never the other way.
  DOSSIER_ASSIGN_OR_RETURN(std::vector<DocumentRecord> rows, read());
  listings_read_.fetch_add(1, std::memory_order_relaxed);
  auto listing = std::make_shared<const std::vector<DocumentRecord>>(std::move(rows));
  if (!version || listing->size() > kListedRecordsKept) return listing;
  std::lock_guard<std::mutex> lock(keys_mu_);
  if (erased_keys_.count(patient_id) != 0) return listing;
  if (auto old = listings_.find(case_id); old != listings_.end()) {
    listed_records_ -= old->second.documents->size();
    listings_.erase(old);
  }
  while (!listings_.empty() && listed_records_ + listing->size() > kListedRecordsKept) {
    auto oldest = std::min_element(listings_.begin(), listings_.end(),
                                   [](auto& a, auto& b) { return a.second.used < b.second.used; });
    listed_records_ -= oldest->second.documents->size();
    listings_.erase(oldest);
  }
  listed_records_ += listing->size();
  listings_[case_id] = CachedListing{patient_id, *version, listing, ++listings_tick_};
  return listing;
}

Vault::Impl::LastEvent Vault::Impl::LastEventOfThread() {
  std::lock_guard<std::mutex> lock(last_mu_);
  auto it = last_events_.find(std::this_thread::get_id());
  return it == last_events_.end() ? LastEvent{} : it->second;
}

void Vault::Impl::NoteEvent(const AuditEvent& e) {
  std::lock_guard<std::mutex> lock(last_mu_);
  last_events_[std::this_thread::get_id()] = {e.action, e.outcome};
}

// --- Audit events recorded alone: group commit ---------------------------------------------
//
// Leader and followers: a caller queues its event and, unless a group is being committed,
// becomes the leader — it takes every queued event, acquires the writer, appends them all in
// one transaction with one signed head, commits, and wakes each caller with its own result.
// Events queued meanwhile form the next group, committed by one of their callers as soon as
// the leader is done. So an idle vault commits at once, and under load each commit carries
// everything that arrived during the last one. A caller already holding the writer (inside a
// write section) cannot wait for a leader that may be waiting for it: it commits its event,
// with whatever else is queued, at once.

Status Vault::Impl::AuditAlone(AuditEvent e) {
  DOSSIER_RETURN_IF_ERROR(StampEvent(e));
  // What could fail for this event alone fails here, never its group.
  DOSSIER_RETURN_IF_ERROR(internal::CheckEvent(e));
  PendingEvent mine{std::move(e), Status::Ok(), false};
  const bool writer = HoldsWriter();
  std::unique_lock<std::mutex> lock(audit_mu_);
  audit_queue_.push_back(&mine);
  for (;;) {
    if (!writer) audit_cv_.wait(lock, [&] { return mine.done || !audit_leader_; });
    if (mine.done) break;
    if (!writer) {
      audit_leader_ = true;
      // Beside an open batch, groups go to the journal at most every audit_batch_gap_ms,
      // each taking what else is queued by then: many readers back to back then share a
      // write, and leave the cores to the ingest.
      if (batch_tx_began_ns_.load() != 0) {
        const auto due = std::chrono::steady_clock::time_point(
                             std::chrono::nanoseconds(journal_last_write_ns_.load())) +
                         std::chrono::milliseconds(options_.audit_batch_gap_ms);
        if (due > std::chrono::steady_clock::now()) {
          lock.unlock();
          std::this_thread::sleep_until(due);
          lock.lock();
        }
      }
    }
    std::vector<PendingEvent*> group;
    if (options_.group_audit_events) {
      group.assign(audit_queue_.begin(), audit_queue_.end());
      audit_queue_.clear();
    } else {  // one event a commit: the oldest, or (holding the writer) ours
      auto it = writer ? std::find(audit_queue_.begin(), audit_queue_.end(), &mine)
                       : audit_queue_.begin();
      group = {*it};
      audit_queue_.erase(it);
    }
    lock.unlock();
    Status st;
    // A group beside an open batch is made durable in the journal, never by committing the
    // batch; otherwise (or when the journal fails) it commits. So is the owner's own read
    // inside a whole batch (BatchMode::kWhole), which a commit would roll back.
    const bool owns_whole = writer && OwnsBatch() && batch_->whole && batch_->tx;
    if ((writer && !owns_whole) || !JournalEvents(group)) {
      Section w = Write();
      st = CommitEvents(group);
    }
    lock.lock();
    for (PendingEvent* p : group) {
      p->result = st;
      p->done = true;
    }
    if (!writer) audit_leader_ = false;
    audit_cv_.notify_all();
  }
  lock.unlock();
  if (mine.result.ok()) NoteEvent(mine.event);
  return mine.result;
}

Status Vault::Impl::CommitEvents(const std::vector<PendingEvent*>& group) {
  if (options_.audit_group_hook) options_.audit_group_hook();
  if (batch_ && batch_->tx) {
    // Read events are never part of an ingest batch: the batch commits first (between two of
    // its owner's calls, so its objects are complete), and a batch rolled back later loses
    // only its own events. Its owner, inside a transaction of the batch, cannot record here.
    if (batch_->savepoints > 0) {
      return Internal("an event recorded alone inside a transaction of the batch");
    }
    (void)LetOtherWriteIn();  // a failure is the batch's, reported to its owner
  }
  DOSSIER_ASSIGN_OR_RETURN(auto tx, internal::Transaction::Begin(db_));
  // What is still in the journal (a batch rolled back, or ended) goes first: it came earlier.
  std::lock_guard<std::mutex> journal(journal_mu_);
  const internal::AuditJournal::Snapshot taken = journal_.Take();
  if (taken.events > 0) DOSSIER_RETURN_IF_ERROR(FoldJournalLocked(taken));
  std::vector<AuditEvent*> events;
  events.reserve(group.size());
  for (PendingEvent* p : group) {
    p->event.at = Now();  // in seq order
    events.push_back(&p->event);
  }
  DOSSIER_RETURN_IF_ERROR(internal::AppendEvents(db_, events, signing_));
  DOSSIER_RETURN_IF_ERROR(tx->Commit());
  audit_commits_.fetch_add(1, std::memory_order_relaxed);
  audit_committed_events_.fetch_add(group.size(), std::memory_order_relaxed);
  (void)journal_.Folded(taken);  // failing, its events fold twice at the next open
  return Status::Ok();
}

// --- The audit journal ---------------------------------------------------------------------

SecureBuffer Vault::Impl::JournalKey() const {
  return internal::DeriveSubkey(row_key_, 1, "dsjournl");
}

bool Vault::Impl::JournalEvents(const std::vector<PendingEvent*>& group) {
  std::lock_guard<std::mutex> journal(journal_mu_);
  if (!journal_open_) return false;
  std::vector<AuditEvent*> events;
  events.reserve(group.size());
  for (PendingEvent* p : group) {
    p->event.at = Now();  // when it became durable: it follows the batch's events in seq
    events.push_back(&p->event);
  }
  if (options_.journal_fault && !options_.journal_fault().ok()) return false;
  if (!journal_.Append(events).ok()) return false;  // a full disk: committed as before
  journal_last_write_ns_.store(
      std::chrono::nanoseconds(std::chrono::steady_clock::now().time_since_epoch()).count());
  audit_journal_writes_.fetch_add(1, std::memory_order_relaxed);
  audit_journaled_events_.fetch_add(group.size(), std::memory_order_relaxed);
  return true;
}

Status Vault::Impl::FoldJournalLocked(const internal::AuditJournal::Snapshot& taken) {
  std::vector<AuditEvent> copies(
      journal_.pending().begin(),
      journal_.pending().begin() + static_cast<std::ptrdiff_t>(taken.events));
  std::vector<AuditEvent*> events;
  events.reserve(copies.size());
  for (AuditEvent& e : copies) events.push_back(&e);
  return internal::AppendEvents(db_, events, signing_);
}

Status Vault::Impl::CommitJournalLocked() {
  DOSSIER_ASSIGN_OR_RETURN(auto tx, internal::Transaction::Begin(db_));
  const internal::AuditJournal::Snapshot taken = journal_.Take();
  DOSSIER_RETURN_IF_ERROR(FoldJournalLocked(taken));
  DOSSIER_RETURN_IF_ERROR(tx->Commit());
  return journal_.Folded(taken);
}

Status Vault::Impl::FoldLeftJournals() {
  if (!journal_.enabled()) return Status::Ok();
  DOSSIER_ASSIGN_OR_RETURN(std::vector<internal::LeftJournal> left,
                           internal::ClaimLeftJournals(dir_, JournalKey()));
  for (internal::LeftJournal& j : left) {
    if (!j.events.empty()) {
      std::vector<AuditEvent*> events;
      for (AuditEvent& e : j.events) events.push_back(&e);
      DOSSIER_ASSIGN_OR_RETURN(auto tx, internal::Transaction::Begin(db_));
      DOSSIER_RETURN_IF_ERROR(internal::AppendEvents(db_, events, signing_));
      DOSSIER_RETURN_IF_ERROR(tx->Commit());
    }
    // Committed before the file goes: a crash in between folds them twice, never zero times.
    DOSSIER_RETURN_IF_ERROR(dir_.Remove(j.name));
  }
  if (!left.empty()) DOSSIER_RETURN_IF_ERROR(dir_.SyncDir());
  return Status::Ok();
}

Status Vault::Impl::AuditAlone(const std::string& action, std::vector<std::string> objects,
                               const std::string& patient, const std::string& outcome,
                               const std::string& purpose) {
  return AuditAlone(MakeEvent(action, std::move(objects), patient, outcome, purpose));
}

}  // namespace dossier::vault
