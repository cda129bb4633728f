#include "vault/internal/sqlite.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <thread>

namespace dossier::vault::internal {

struct Db::Busy {
  BusyPolicy policy;
  bool waiting = false;  // a call into SQLite has waited since it began
  bool said = false;     // long_wait was called for this wait
  bool timed_out = false;
  bool no_wait = false;
  std::chrono::steady_clock::time_point since;
};

int Db::OnBusy(void* arg, int count) {
  auto& b = *static_cast<Busy*>(arg);
  if (b.no_wait) return 0;
  const auto now = std::chrono::steady_clock::now();
  if (!b.waiting) {
    b.waiting = true;
    b.said = false;
    b.timed_out = false;
    b.since = now;
    if (b.policy.begin) b.policy.begin();
  }
  const auto waited = now - b.since;
  if (waited >= b.policy.limit) {
    b.timed_out = true;
    return 0;
  }
  if (!b.said && waited >= std::chrono::seconds(2) && b.policy.long_wait) {
    b.said = true;
    b.policy.long_wait();
  }
  // Short sleeps first: the holder usually lets go within milliseconds (an ingest batch
  // commits as soon as it sees a writer waiting, vault_lock.h).
  std::this_thread::sleep_for(std::chrono::milliseconds(std::min(1 << std::min(count, 5), 20)));
  return 1;
}

void Db::EndWait() const {
  if (!busy_ || !busy_->waiting) return;
  busy_->waiting = false;
  if (busy_->policy.end) busy_->policy.end();
}

void Db::SetBusyPolicy(BusyPolicy policy) { busy_->policy = std::move(policy); }

void Db::Closer::operator()(sqlite3* db) const { sqlite3_close_v2(db); }
void Stmt::Releaser::operator()(sqlite3_stmt* s) const {
  if (db != nullptr) {
    db->Recycle(s);
  } else {
    sqlite3_finalize(s);
  }
}

Db::Db() = default;
Db::~Db() { FinalizeCache(); }

Db::Db(Db&& other) noexcept
    : busy_(std::move(other.busy_)),
      db_(std::move(other.db_)),
      path_(std::move(other.path_)),
      serial_(other.serial_),
      cache_(std::move(other.cache_)) {
  other.cache_.clear();
}

Db& Db::operator=(Db&& other) noexcept {
  if (this != &other) {
    FinalizeCache();
    db_ = std::move(other.db_);  // closed before the state of its busy handler is replaced
    busy_ = std::move(other.busy_);
    path_ = std::move(other.path_);
    serial_ = other.serial_;
    cache_ = std::move(other.cache_);
    other.cache_.clear();
  }
  return *this;
}

void Db::FinalizeCache() {
  for (auto& [sql, free] : cache_) {
    for (sqlite3_stmt* s : free) sqlite3_finalize(s);
  }
  cache_.clear();
}

void Db::Recycle(sqlite3_stmt* s) {
  sqlite3_reset(s);  // also ends the read it may hold open
  sqlite3_clear_bindings(s);
  auto& free = cache_[sqlite3_sql(s)];
  if (free.size() < 4) {
    free.push_back(s);
  } else {
    sqlite3_finalize(s);
  }
}

Result<Db> Db::Open(const std::filesystem::path& path, Mode mode) {
  int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW;  // no catalog reached through a link
  switch (mode) {
    case Mode::kReadOnly:
      flags |= SQLITE_OPEN_READONLY;
      break;
    case Mode::kReadWrite:
      flags |= SQLITE_OPEN_READWRITE;
      break;
    case Mode::kReadWriteCreate:
      flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
      break;
  }
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  Db db;
  db.db_.reset(raw);
  db.path_ = path.string();
  static std::atomic<uint64_t> next_serial{1};
  db.serial_ = next_serial.fetch_add(1, std::memory_order_relaxed);
  if (rc != SQLITE_OK) {
    if (rc == SQLITE_CANTOPEN && mode != Mode::kReadWriteCreate) {
      return NotFound("no catalog at " + path.string());
    }
    return db.Error("cannot open catalog");
  }
  sqlite3_extended_result_codes(raw, 1);
  db.busy_ = std::make_unique<Busy>();
  sqlite3_busy_handler(raw, &Db::OnBusy, db.busy_.get());
  // Whoever can write the vault folder can plant triggers or views in the catalog: no SQL
  // function with side effects may run from the schema, and the schema cannot be written
  // through pragmas (doc/SECURITY.md). The schema itself is compared with the migrations'
  // on every open (vault/internal/schema.h).
  if (sqlite3_db_config(raw, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr) != SQLITE_OK ||
      sqlite3_db_config(raw, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, nullptr) != SQLITE_OK) {
    return db.Error("cannot harden the catalog connection");
  }
  return db;
}

Status Db::Error(std::string_view what) const {
  const int code = db_ ? sqlite3_extended_errcode(db_.get()) : SQLITE_ERROR;
  const char* msg = db_ ? sqlite3_errmsg(db_.get()) : "no database";
  std::string text = fmt::format("{} ({}): {} (sqlite code {})", what, path_, msg, code);
  switch (code & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Corrupt(std::move(text));
    case SQLITE_BUSY:
      return IoError(BusyMessage());
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_LOCKED:
      return IoError(std::move(text));
    default:
      return Internal(std::move(text));
  }
}

std::string Db::BusyMessage() const {
  const std::string holders = busy_ && busy_->policy.holders ? busy_->policy.holders() : "";
  const std::string who = holders.empty() ? "another dossier process" : holders;
  if (busy_ && busy_->timed_out) {
    const auto minutes =
        std::chrono::duration_cast<std::chrono::minutes>(busy_->policy.limit).count();
    return fmt::format(
        "the catalog {} stayed locked by {} for {}: let it finish, or stop it, then run this "
        "command again",
        path_, who,
        minutes > 0 ? fmt::format("{} minute(s)", minutes)
                    : fmt::format("{} ms", busy_->policy.limit.count()));
  }
  return fmt::format("the catalog {} is in use by {}: run this command again", path_, who);
}

Status Db::Exec(std::string_view sql) {
  char* err = nullptr;
  const std::string s(sql);
  const int rc = sqlite3_exec(db_.get(), s.c_str(), nullptr, nullptr, &err);
  EndWait();
  if (rc != SQLITE_OK) {
    sqlite3_free(err);
    return Error("cannot execute SQL");
  }
  return Status::Ok();
}

Result<Stmt> Db::Prepare(std::string_view sql) {
  if (auto it = cache_.find(std::string(sql)); it != cache_.end() && !it->second.empty()) {
    sqlite3_stmt* s = it->second.back();
    it->second.pop_back();
    return Stmt(s, this);
  }
  sqlite3_stmt* s = nullptr;
  const int rc =
      sqlite3_prepare_v2(db_.get(), sql.data(), static_cast<int>(sql.size()), &s, nullptr);
  EndWait();
  if (rc != SQLITE_OK) {
    return Error(fmt::format("cannot prepare `{}`", sql.substr(0, 60)));
  }
  return Stmt(s, this);
}

Result<bool> Db::TryTruncateWal() {
  busy_->no_wait = true;
  const int rc =
      sqlite3_wal_checkpoint_v2(db_.get(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
  busy_->no_wait = false;
  if (rc == SQLITE_OK) return true;
  if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) return false;
  return Error("cannot checkpoint the catalog's WAL");
}

Result<int64_t> Db::QueryInt(std::string_view sql) {
  DOSSIER_ASSIGN_OR_RETURN(Stmt s, Prepare(sql));
  DOSSIER_ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return Internal(fmt::format("`{}` returned no row", sql));
  return s.Int(0);
}

Stmt& Stmt::Bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_.get(), index, value);
  return *this;
}

Stmt& Stmt::BindReal(int index, double value) {
  sqlite3_bind_double(stmt_.get(), index, value);
  return *this;
}

Stmt& Stmt::Bind(int index, std::string_view text) {
  sqlite3_bind_text64(stmt_.get(), index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  return *this;
}

Stmt& Stmt::BindBlob(int index, std::span<const uint8_t> blob) {
  if (blob.empty()) {  // a null pointer would bind NULL, not an empty blob
    sqlite3_bind_zeroblob(stmt_.get(), index, 0);
    return *this;
  }
  sqlite3_bind_blob64(stmt_.get(), index, blob.data(), blob.size(), SQLITE_TRANSIENT);
  return *this;
}

Stmt& Stmt::BindNull(int index) {
  sqlite3_bind_null(stmt_.get(), index);
  return *this;
}

Result<bool> Stmt::Step() {
  const int rc = sqlite3_step(stmt_.get());
  db_->EndWait();
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return db_->Error("statement failed");
}

Status Stmt::Run() {
  for (;;) {
    DOSSIER_ASSIGN_OR_RETURN(bool row, Step());
    if (!row) break;
  }
  // Ready to be bound and run again: SQLite ignores bindings on a statement not reset.
  sqlite3_reset(stmt_.get());
  return Status::Ok();
}

bool Stmt::IsNull(int col) const { return sqlite3_column_type(stmt_.get(), col) == SQLITE_NULL; }
int64_t Stmt::Int(int col) const { return sqlite3_column_int64(stmt_.get(), col); }
double Stmt::Real(int col) const { return sqlite3_column_double(stmt_.get(), col); }

std::string Stmt::Text(int col) const {
  const auto* p = sqlite3_column_text(stmt_.get(), col);
  const int n = sqlite3_column_bytes(stmt_.get(), col);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
}

Bytes Stmt::Blob(int col) const {
  const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(stmt_.get(), col));
  const int n = sqlite3_column_bytes(stmt_.get(), col);
  return p ? Bytes(p, p + n) : Bytes();
}

Result<std::unique_ptr<Transaction>> Transaction::Begin(Db& db) {
  DOSSIER_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE"));
  return std::unique_ptr<Transaction>(new Transaction(db));
}

Transaction::~Transaction() {
  if (!done_) (void)db_.Exec("ROLLBACK");
}

Status Transaction::Commit() {
  DOSSIER_RETURN_IF_ERROR(db_.Exec("COMMIT"));
  done_ = true;
  return Status::Ok();
}

}  // namespace dossier::vault::internal
