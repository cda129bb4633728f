// A thin RAII layer over sqlite3: one owner per handle, errors as Status carrying
// sqlite3_errmsg, and a Transaction that rolls back unless committed. Private to vault/.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/encoding.h"
#include "common/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace dossier::vault::internal {

class Stmt;

// How a connection waits while another process holds what it needs (the catalog's write lock,
// mostly): SQLite calls the busy handler, which sleeps with backoff (1 ms doubling to 20 ms)
// until `limit`; then the statement fails with kIoError saying who holds the vault and what
// to do, never SQLite's "database is locked".
struct BusyPolicy {
  std::chrono::milliseconds limit{std::chrono::minutes(10)};
  // A statement of this connection starts waiting / has stopped waiting (VaultLock's writer
  // signal). Called on the waiting thread.
  std::function<void()> begin, end;
  // Called once per wait that lasts 2 s (to say so).
  std::function<void()> long_wait;
  // The other work that holds the vault, for the error: "another dossier process (pid 1201)".
  std::function<std::string()> holders;
};

class Db {
 public:
  enum class Mode { kReadWrite, kReadWriteCreate, kReadOnly };
  static Result<Db> Open(const std::filesystem::path& path, Mode mode);
  Db();
  ~Db();  // finalizes the cached statements, then closes (checkpointing the WAL)
  Db(Db&& other) noexcept;
  Db& operator=(Db&& other) noexcept;

  Status Exec(std::string_view sql);
  // A statement for `sql`, reused from the cache when one is free: most statements run once
  // per stored document, and parsing them again each time cost more than running them.
  // Every Stmt must be destroyed before its Db.
  Result<Stmt> Prepare(std::string_view sql);
  // Runs a query that returns one integer (e.g. PRAGMA user_version).
  Result<int64_t> QueryInt(std::string_view sql);
  // Replaces the default policy (10 minutes, no hooks) that Open sets.
  void SetBusyPolicy(BusyPolicy policy);
  // A TRUNCATE checkpoint that never waits: true when the WAL was moved into the catalog
  // and emptied; false when a writer, or a reader of older pages, is in the way.
  Result<bool> TryTruncateWal();
  sqlite3* raw() const { return db_.get(); }
  // Unique among the connections this process opened: what a per-connection value (PRAGMA
  // data_version) was read from.
  uint64_t serial() const { return serial_; }
  // "<what>: <sqlite message> (code N)" as an I/O or internal error.
  Status Error(std::string_view what) const;

 private:
  struct Closer {
    void operator()(sqlite3* db) const;
  };
  friend class Stmt;
  void Recycle(sqlite3_stmt* s);  // a statement done with, reset, back into the cache
  void FinalizeCache();           // before closing: SQLite closes cleanly only without them
  struct Busy;                    // the busy handler's state (sqlite.cc); fixed address
  static int OnBusy(void* busy, int count);
  void EndWait() const;  // after each call into SQLite that may have waited
  std::string BusyMessage() const;
  std::unique_ptr<Busy> busy_;
  std::unique_ptr<sqlite3, Closer> db_;
  std::string path_;
  uint64_t serial_ = 0;
  std::unordered_map<std::string, std::vector<sqlite3_stmt*>> cache_;  // by SQL text
};

class Stmt {
 public:
  Stmt() = default;
  Stmt(Stmt&&) noexcept = default;
  Stmt& operator=(Stmt&&) noexcept = default;

  // Bind by 1-based index. Text and blobs are copied by SQLite (SQLITE_TRANSIENT).
  Stmt& Bind(int index, int64_t value);
  Stmt& Bind(int index, int value) { return Bind(index, static_cast<int64_t>(value)); }
  Stmt& BindReal(int index, double value);
  Stmt& Bind(int index, std::string_view text);
  Stmt& Bind(int index, const char* text) { return Bind(index, std::string_view(text)); }
  Stmt& Bind(int index, const std::string& text) { return Bind(index, std::string_view(text)); }
  Stmt& BindBlob(int index, std::span<const uint8_t> blob);
  Stmt& BindNull(int index);

  // true: a row is available; false: done.
  Result<bool> Step();
  // Steps to completion (for INSERT/UPDATE/DELETE).
  Status Run();

  // Steps through every row, mapping each with `read(const Stmt&) -> Result<T>`.
  template <typename T, typename F>
  Result<std::vector<T>> Collect(F&& read) {
    std::vector<T> out;
    for (;;) {
      DOSSIER_ASSIGN_OR_RETURN(bool row, Step());
      if (!row) return out;
      DOSSIER_ASSIGN_OR_RETURN(T value, read(static_cast<const Stmt&>(*this)));
      out.push_back(std::move(value));
    }
  }

  bool IsNull(int col) const;
  int64_t Int(int col) const;
  double Real(int col) const;
  std::string Text(int col) const;
  Bytes Blob(int col) const;

 private:
  friend class Db;
  struct Releaser {  // returns the statement to its Db's cache
    Db* db = nullptr;
    void operator()(sqlite3_stmt* s) const;
  };
  Stmt(sqlite3_stmt* s, Db* db) : stmt_(s, Releaser{db}), db_(db) {}
  std::unique_ptr<sqlite3_stmt, Releaser> stmt_;
  const Db* db_ = nullptr;
};

// BEGIN IMMEDIATE on construction (via Begin); ROLLBACK in the destructor unless Commit()ed.
class Transaction {
 public:
  static Result<std::unique_ptr<Transaction>> Begin(Db& db);
  ~Transaction();
  Status Commit();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

 private:
  explicit Transaction(Db& db) : db_(db) {}
  Db& db_;
  bool done_ = false;
};

}  // namespace dossier::vault::internal
