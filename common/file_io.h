// Files: an RAII file descriptor, byte streams, and the one durable-write helper.
//
// Durability rule (leveldb's): write a temp file → fsync it → rename over the target →
// fsync the directory. Only after that may a catalog row refer to the file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

#include "common/status.h"

namespace dossier {

namespace fs = std::filesystem;

// Owns one POSIX file descriptor. Move-only; closes on destruction.
class File {
 public:
  File() = default;
  explicit File(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~File();
  File(File&& other) noexcept;
  File& operator=(File&& other) noexcept;
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  static Result<File> OpenRead(const fs::path& path);
  // Opens only a regular file, never following a symlink and never blocking on a FIFO that
  // replaced the file after it was listed (kRejected otherwise).
  static Result<File> OpenRegular(const fs::path& path);
  // A second, independent read-only open of the same file (its own offset), made through
  // /proc/self/fd: no path is looked up again, so it cannot be another file.
  Result<File> Reopen() const;
  // Creates a new file, failing if it exists (O_EXCL), mode 0600.
  static Result<File> CreateExclusive(const fs::path& path);

  // Reads up to buf.size() bytes; 0 means end of file. Retries EINTR.
  Result<size_t> Read(std::span<uint8_t> buf);
  // Reads until buf is full or end of file; returns the count.
  Result<size_t> ReadFull(std::span<uint8_t> buf);
  Status WriteAll(std::span<const uint8_t> data);
  Status Sync();
  // Starts writeback of [offset, offset+len) to disk without waiting (sync_file_range), and
  // waits for the range before it, so a long stream keeps few dirty pages and its final
  // fsync has little left to do. A hint: errors are left for Sync() to report.
  void StartWriteback(uint64_t offset, uint64_t len);
  Status Close();
  Result<uint64_t> Size() const;

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  bool is_open() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
  std::string path_;
};

// A destination for bytes.
class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual Status Write(std::span<const uint8_t> data) = 0;
};

// Makes everything written to the filesystem holding `path` durable (syncfs(2)): one flush
// for a batch of files, their renames and their directories.
Status SyncFilesystem(const fs::path& path);

// fsyncs a directory so that a rename or unlink inside it is durable.
Status SyncDir(const fs::path& dir);

// Writes `data` to `path` atomically and durably: path.tmp → fsync → rename → fsync dir.
// Readers see either the old file or the new one, never a mix; mode 0600.
Status WriteFileDurably(const fs::path& path, std::span<const uint8_t> data);

// Reads a whole (small) file; fails with kLimitExceeded past max_bytes.
Result<std::string> ReadSmallFile(const fs::path& path, size_t max_bytes = 1 << 20);

// Writes a stream to `path` durably: a temp file beside it is filled by `fill`, fsynced and
// renamed into place only if `fill` succeeded; on failure the temp file is removed and
// `path` is untouched. Used for plaintext exports the user asked for (`dossier get -o`).
class DurableFileSink final : public ByteSink {
 public:
  static Result<DurableFileSink> Create(const fs::path& path);
  DurableFileSink(DurableFileSink&&) noexcept = default;
  ~DurableFileSink() override;  // removes the temp file unless Commit() succeeded
  Status Write(std::span<const uint8_t> data) override { return file_.WriteAll(data); }
  Status Commit();

 private:
  DurableFileSink(File file, fs::path target, fs::path temp)
      : file_(std::move(file)), target_(std::move(target)), temp_(std::move(temp)) {}
  File file_;
  fs::path target_;
  fs::path temp_;
  bool committed_ = false;
};

}  // namespace dossier
