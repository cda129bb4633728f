// The encrypted object store: one file per object under objects/<2 hex>/<object id>,
// crypto_secretstream_xchacha20poly1305 in fixed-size chunks, streamed in both directions
// (memory does not grow with the object). Private to vault/. Format: doc/FORMAT.md §Objects.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "common/encoding.h"
#include "common/file_io.h"
#include "common/secure_buffer.h"
#include "common/status.h"

namespace dossier::vault::internal {

inline constexpr size_t kDefaultChunkSize = 64 * 1024;

struct WrittenObject {
  uint64_t plain_size = 0;
  uint64_t stored_size = 0;
  Bytes content_mac;  // keyed BLAKE2b-256 of the plaintext (duplicate detection)
};

// Streams plaintext into a temp file under tmp/; Finish() makes it durable under objects/.
// Destroying an unfinished writer removes its temp file.
class ObjectWriter {
 public:
  ~ObjectWriter();
  Status Write(std::span<const uint8_t> data);
  // Seals the last chunk and renames the file into objects/. When `durable`, fsyncs the file
  // before and the directory after the rename; otherwise the caller must make the whole
  // filesystem durable (syncfs) before any catalog row refers to the object.
  Result<WrittenObject> Finish(bool durable = true);

 private:
  friend class ObjectStore;
  struct State;
  explicit ObjectWriter(std::unique_ptr<State> state);
  Status Encrypt(std::span<const uint8_t> data);
  Status FlushChunk(bool final);
  std::unique_ptr<State> s_;
};

// Hashes spans on a second thread while the caller encrypts them (see object_store.cc).
class Hasher;

// Not thread-safe: one writer or reader at a time (the vault is used from one thread).
class ObjectStore {
 public:
  ObjectStore(std::filesystem::path vault_dir, size_t chunk_size);
  ~ObjectStore();

  static std::string NewObjectId();  // 32 lower-case hex characters
  std::filesystem::path PathFor(const std::string& object_id) const;

  // Ensures objects/ and tmp/ exist.
  Status Prepare();
  Result<std::unique_ptr<ObjectWriter>> Create(const std::string& object_id,
                                               const SecureBuffer& data_key,
                                               const SecureBuffer& mac_key);
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
  // Deletes an object file (an unwanted duplicate, an orphan); `durable` fsyncs its folder.
  Status Remove(const std::string& object_id, bool durable = true) const;
  // Deletes leftovers of interrupted writes in tmp/; returns how many.
  Result<size_t> SweepTemp() const;

 private:
  std::filesystem::path dir_;
  size_t chunk_size_;
  std::unique_ptr<Hasher> hasher_;  // one thread for the store's life, started on first use
  std::set<std::string> shards_;    // objects/XX folders known to exist
};

}  // namespace dossier::vault::internal
