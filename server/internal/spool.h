// The upload spool: the bytes of unfinished uploads (tus, doc/API.md §Uploads), encrypted in
// chunks under a key that exists only in this process's memory. A restart loses every
// unfinished upload and leaks none: the files left behind cannot be read without the key,
// and the next start deletes them. Private to server/.
//
//   DOSSIER_ASSIGN_OR_RETURN(auto spool, Spool::Open(vault_dir / "spool"));
//   DOSSIER_ASSIGN_OR_RETURN(auto file, spool->Create(length));
//   DOSSIER_RETURN_IF_ERROR(file->Append(bytes));       // as PATCH bodies arrive
//   if (file->complete()) ingest::IngestUploads(..., {{path, file->Reader()}}, ...);
//   file->Remove();                                     // or on destruction
//
// On disk (doc/FORMAT.md §Upload spool): chunk i of plaintext (kChunkBytes, the last one
// shorter) is sealed with AES-256-GCM (a counter nonce) or XChaCha20-Poly1305 (a random
// nonce) under the spool key, with
// the file's random id, i and the chunk's length as associated data, and stored at
// i × (kChunkBytes + overhead). A chunk cannot be moved, cut, swapped with another file's or
// replayed from an earlier write without its check failing (kCorrupt).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>

#include "common/status.h"
#include "ingest/ingest.h"

namespace dossier::server::internal {

class SpoolFile;

class Spool {
 public:
  // Plaintext bytes per chunk: what one read decrypts, and the most plaintext an upload holds
  // in memory between two of its PATCH requests (none: the tail is sealed at each Append).
  static constexpr size_t kChunkBytes = size_t{1} << 20;

  // Makes `dir` (mode 0700, never through a symbolic link) and a folder of this process's own
  // inside it, and deletes what earlier processes that are no longer running left there
  // (their keys are gone). The key is random, in sodium_malloc memory. kIoError when the
  // folder cannot be made or used.
  //
  // The chunks are sealed with AES-256-GCM (OpenSSL's) where the CPU has AES-NI and PCLMUL
  // (kFastest; about fourteen times as fast as XChaCha20-Poly1305 there), and with
  // XChaCha20-Poly1305 elsewhere — or always, when asked (tests cover both here).
  enum class Cipher { kFastest, kXChaCha20 };
  static Result<std::unique_ptr<Spool>> Open(const std::filesystem::path& dir,
                                             Cipher cipher = Cipher::kFastest);
  // Whether the chunks are sealed with AES-256-GCM.
  bool aes() const;
  // Deletes this process's folder and everything in it.
  ~Spool();

  // A new empty file for an upload of `length` bytes (0 allowed). kIoError when it cannot be
  // made (the disk is full: the message says so).
  Result<std::shared_ptr<SpoolFile>> Create(uint64_t length);

  // Bytes the spool's files take on disk now (for the tests; no limit reads it yet).
  uint64_t bytes_on_disk() const;

 private:
  struct Impl;
  explicit Spool(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  friend class SpoolFile;
};

// One upload's file. Thread-safe: Append, Reader and Remove may come from any thread (one
// request at a time appends; the tus routes refuse a second at once).
class SpoolFile {
 public:
  ~SpoolFile();  // removes the file
  uint64_t length() const;
  uint64_t offset() const;  // plaintext bytes received so far
  bool complete() const { return offset() == length(); }

  // Appends `data` at offset(): sealed chunk by chunk; a partial last chunk is sealed too
  // and sealed again when it grows, so nothing waits in memory. kInvalidArgument when it
  // would go past length(); kIoError when the disk fails (offset() then stays where it was:
  // the client resumes from there). kInvalidArgument after Remove.
  Status Append(std::span<const uint8_t> data);

  // Ends an upload whose length was not known in advance (a part of a multipart request,
  // created with the request's length): length() becomes offset().
  void Finish();

  // The complete file as an ingest::UploadSource: decrypted as it is read, one chunk at a
  // time. kInvalidArgument unless complete().
  Result<std::shared_ptr<ingest::UploadSource>> Reader();

  // The file as an ingest::UploadSource while it may still be arriving (an upload ingested
  // as it comes in): a read waits until its bytes are in, and fails (kRejected) once the
  // file is removed or, while it waits, `stop` says so (asked every 100 ms, with the bytes
  // received so far; the file's lock is held: it must not call this file). kInvalidArgument
  // after Remove.
  Result<std::shared_ptr<ingest::UploadSource>> ArrivingReader(
      std::function<bool(uint64_t received)> stop);

  // Deletes the file now (a terminated, expired or ingested upload); later calls fail.
  void Remove();

 private:
  friend class Spool;
  struct Impl;
  explicit SpoolFile(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace dossier::server::internal
