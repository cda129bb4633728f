// The encrypted object store: one file per object under objects/<2 hex>/<object id>,
// crypto_secretstream_xchacha20poly1305 in fixed-size chunks, streamed in both directions
// (memory does not grow with the object). Private to vault/. Format: doc/FORMAT.md §Objects.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "common/content_digest.h"
#include "common/encoding.h"
#include "common/file_io.h"
#include "common/secure_buffer.h"
#include "common/status.h"
#include "vault/internal/vault_dir.h"

namespace dossier::vault::internal {

inline constexpr size_t kDefaultChunkSize = 64 * 1024;

struct WrittenObject {
  uint64_t plain_size = 0;
  uint64_t stored_size = 0;
  // The plaintext's ContentDigest, when the writer was asked to hash it.
  std::optional<ContentDigest> content_digest;
};

// Streams plaintext into a temp file under tmp/; Finish() puts it under objects/. The file
// work runs on the store's file thread (file_queue.h). Destroying an unfinished writer
// removes its temp file.
class ObjectWriter {
 public:
  ~ObjectWriter();
  Status Write(std::span<const uint8_t> data);
  // Seals the last chunk and has the file renamed into objects/. When `durable`, waits for
  // that, with fsyncs of the file before and the directory after the rename; otherwise the
  // caller must call ObjectStore::Flush() and then make the whole filesystem durable
  // (syncfs) before any catalog row refers to the object.
  Result<WrittenObject> Finish(bool durable = true);

 private:
  friend class ObjectStore;
  struct State;
  explicit ObjectWriter(std::unique_ptr<State> state);
  void Encrypt(std::span<const uint8_t> data);
  uint8_t* Reserve(size_t n);  // room for n more bytes of ciphertext in the buffer
  void Seal(std::span<const uint8_t> plain, bool final);  // one chunk into the buffer
  std::unique_ptr<State> s_;
};

// Hashes spans on a second thread while the caller encrypts them (see object_store.cc).
class Hasher;
class FileQueue;

// Threads: Create, Remove, Flush, SweepTemp and WaitForWrites are called by one thread at a
// time (the one holding the vault's writer); Read, FileSize, ModifiedAt and ListObjects by any
// number of threads at once, also while a write runs. They see what is on disk, not what the file
// thread still has queued: call WaitForWrites first when that matters (the writer reading an
// object of its open batch). ObjectWriters of different threads may Write at once: they share
// the file thread, and the hashing thread serves one of them at a time (the others hash on
// their own thread meanwhile).
class ObjectStore {
 public:
  ObjectStore(VaultDir vault_dir, size_t chunk_size);
  ~ObjectStore();

  static std::string NewObjectId();  // 32 lower-case hex characters
  // "objects/ab/ab…", relative to the vault folder.
  static std::string PathFor(const std::string& object_id);
  // The size of an object's file; nullopt when it is missing. kCorrupt if it is a link.
  Result<std::optional<uint64_t>> FileSize(const std::string& object_id) const;

  // Ensures objects/ and tmp/ exist.
  Status Prepare();
  // `hash`: compute the content digest while encrypting (on the hashing thread).
  Result<std::unique_ptr<ObjectWriter>> Create(const std::string& object_id,
                                               const SecureBuffer& data_key, bool hash);
  // Decrypts and authenticates the whole object into `sink` (which may be null to only
  // check it). kNotFound if missing; kCorrupt naming the object on any tampering, including
  // a file whose size differs from `expected_size` (the size the catalog recorded).
  Status Read(const std::string& object_id, const SecureBuffer& data_key, uint64_t expected_size,
              ByteSink* sink, uint64_t* plain_size = nullptr) const;

  struct Listing {
    std::vector<std::string> objects;  // ids of object files present, known to the catalog or not
    std::vector<std::string> strays;   // other files under objects/ (relative paths), never deleted
  };
  Result<Listing> ListObjects() const;
  // Deletes an object file (an unwanted duplicate, an orphan); `durable` waits for that and
  // fsyncs its folder, otherwise it is queued behind the writes.
  Status Remove(const std::string& object_id, bool durable = true);
  // Waits for every queued file operation; the first error since the last Flush(). Objects
  // finished without `durable` are on disk (not yet synced) only once this succeeded.
  Status Flush();
  // Deletes leftovers of interrupted writes in tmp/; returns how many. With `older_than`
  // (seconds since the epoch), only files last written before then: a younger one may be a
  // write of another live process (its temp file's time moves with every write).
  Result<size_t> SweepTemp(std::optional<int64_t> older_than = std::nullopt) const;
  // When the object's file was last written (seconds since the epoch); nullopt if missing.
  Result<std::optional<int64_t>> ModifiedAt(const std::string& object_id) const;
  // Waits until every file operation queued so far has run (renames of finished objects,
  // removals), leaving any error for Flush.
  void WaitForWrites() const;

 private:
  VaultDir dir_;
  size_t chunk_size_;
  std::unique_ptr<Hasher> hasher_;    // one thread for the store's life, started on first use
  std::unique_ptr<FileQueue> queue_;  // likewise
};

}  // namespace dossier::vault::internal
