// Files: an RAII file descriptor, byte streams, and the one durable-write helper.
//
// Durability rule (leveldb's): write a temp file → fsync it → rename over the target →
// fsync the directory. Only after that may a catalog row refer to the file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

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
  // The same, for `name` in the folder open as `dirfd` (AT_FDCWD: the working folder);
  // `shown` names the file in messages.
  static Result<File> OpenRegularAt(int dirfd, const char* name, const std::string& shown);
  // A second, independent read-only open of the same file (its own offset), made through
  // /proc/self/fd: no path is looked up again, so it cannot be another file.
  Result<File> Reopen() const;
  // Creates a new file, failing if it exists (O_EXCL), mode 0600.
  static Result<File> CreateExclusive(const fs::path& path);
  // The same for `name` in the folder open as `dirfd`, never through a symbolic link.
  static Result<File> CreateExclusiveAt(int dirfd, const char* name, const std::string& shown);

  // Reads up to buf.size() bytes; 0 means end of file. Retries EINTR.
  Result<size_t> Read(std::span<uint8_t> buf);
  // Reads until buf is full or end of file; returns the count.
  Result<size_t> ReadFull(std::span<uint8_t> buf);
  Status WriteAll(std::span<const uint8_t> data);
  Status Sync();
  Status Close();
  Result<uint64_t> Size() const;

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  bool is_open() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
  std::string path_;
};

// A new file written front to back that bypasses the page cache (O_DIRECT) where the
// filesystem allows it. On this project's VMs a buffered write of 1 GB costs ~3 s of kernel
// time copying into fresh page-cache pages, a direct one ~0.3 s (doc/PERFORMANCE.md).
// Filesystems without O_DIRECT (tmpfs) get plain writes. Nothing is fsynced here.
class DirectFile {
 public:
  // Memory, offsets and lengths of direct writes are multiples of this; 4096 covers every
  // logical block size in common use.
  static constexpr size_t kAlign = 4096;
  struct FreeDeleter {
    void operator()(uint8_t* p) const;
  };
  using Buffer = std::unique_ptr<uint8_t, FreeDeleter>;
  static Buffer AllocateBuffer(size_t size);  // kAlign-aligned, size rounded up to kAlign

  static Result<DirectFile> Create(const fs::path& path);  // exclusive, mode 0600
  static Result<DirectFile> CreateAt(int dirfd, const char* name, const std::string& shown);
  // An unnamed file in `dir` (O_TMPFILE, mode 0600) for the caller to link in; nullopt when
  // the filesystem cannot make one (EOPNOTSUPP, or EISDIR from a kernel without O_TMPFILE).
  static Result<std::optional<DirectFile>> CreateUnnamed(const fs::path& dir);
  // Appends `data`, which must start kAlign-aligned in memory. Every append but the last
  // must be a multiple of kAlign long; the last one's unaligned tail goes through the page cache.
  Status Append(std::span<const uint8_t> data);
  bool direct() const { return direct_; }
  File& file() { return file_; }

 private:
  DirectFile(File file, bool direct) : file_(std::move(file)), direct_(direct) {}
  Status PWrite(std::span<const uint8_t> data);
  void LeaveDirectMode();
  File file_;
  bool direct_ = false;
  uint64_t written_ = 0;
};

// A destination for bytes.
class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual Status Write(std::span<const uint8_t> data) = 0;
};

// A memfd holding `bytes`, sealed against any change: how plaintext reaches a worker process
// without touching a disk. kIoError if the kernel refuses.
Result<File> SealedMemoryFile(std::span<const uint8_t> bytes);

// The same, filled as a stream (a document decrypted straight into it, never whole in this
// process's memory): Write() appends, Seal() seals it and hands it over. kIoError if the
// kernel refuses.
class MemoryFileSink final : public ByteSink {
 public:
  static Result<MemoryFileSink> Create();
  Status Write(std::span<const uint8_t> data) override;
  Result<File> Seal() &&;
  uint64_t size() const { return size_; }

 private:
  explicit MemoryFileSink(File f) : file_(std::move(f)) {}
  File file_;
  uint64_t size_ = 0;
};

// Makes everything written to the filesystem holding `path` durable (syncfs(2)): one flush
// for a batch of files, their renames and their directories.
Status SyncFilesystem(const fs::path& path);

// fsyncs a directory so that a rename or unlink inside it is durable.
Status SyncDir(const fs::path& dir);

// Writes `data` to `path` atomically and durably: path.tmp → fsync → rename → fsync dir.
// Readers see either the old file or the new one, never a mix; mode 0600. kNotFound when
// `path`'s folder does not exist ("no such folder: …").
Status WriteFileDurably(const fs::path& path, std::span<const uint8_t> data);

// Reads a whole (small) file; fails with kLimitExceeded past max_bytes.
Result<std::string> ReadSmallFile(const fs::path& path, size_t max_bytes = 1 << 20);
// The rest of an open file, likewise.
Result<std::string> ReadSmallFile(File& f, size_t max_bytes = 1 << 20);

// Collects what is written to it in memory (a decrypted document on its way to a worker's
// sealed memfd; never to disk).
class MemorySink final : public ByteSink {
 public:
  Status Write(std::span<const uint8_t> d) override {
    data.insert(data.end(), d.begin(), d.end());
    return Status::Ok();
  }
  std::vector<uint8_t> data;
};

// Writes a stream to `path` durably, and never leaves a part of it behind: the bytes go into
// an unnamed file in `path`'s folder (O_TMPFILE), which is fsynced and linked into place
// (linkat through /proc/self/fd, AT_SYMLINK_FOLLOW) only when Commit() is called. A process
// killed before that leaves no file at all: the kernel frees an unnamed file with its last
// descriptor. Where the filesystem has no O_TMPFILE (EOPNOTSUPP, or EISDIR from an old
// kernel) a temp file `path.part_…` is used instead and removed on every error path and by
// the destructor (only a kill can then leave it). Used for plaintext exports the user asked
// for (`dossier get -o`, `dicom preview -o`). Written like the vault's objects (DirectFile:
// no page-cache copy), through a 1 MiB buffer that is wiped when the sink goes. Create() is
// kNotFound when `path`'s folder does not exist ("no such folder: …").
class DurableFileSink final : public ByteSink {
 public:
  enum class Existing {
    kReplace,  // an existing `path` is replaced atomically (the user asked for --force)
    kRefuse,   // Commit() fails with kRejected if `path` exists by then; nothing is replaced
  };
  static Result<DurableFileSink> Create(const fs::path& path,
                                        Existing existing = Existing::kReplace);
  DurableFileSink(DurableFileSink&&) noexcept = default;
  ~DurableFileSink() override;  // discards what was written unless Commit() succeeded
  Status Write(std::span<const uint8_t> data) override;
  Status Commit();
  // True when the bytes go to an unnamed O_TMPFILE (false: the named-temp fallback).
  bool unnamed() const { return temp_.empty(); }
  // Tests only: behave as on a filesystem without O_TMPFILE.
  static void ForceNamedTempForTesting(bool force);

 private:
  static constexpr size_t kBufferSize = 1 << 20;
  DurableFileSink(DirectFile file, fs::path target, fs::path temp, Existing existing);
  Status LinkIntoPlace();
  std::optional<DirectFile> file_;
  DirectFile::Buffer buffer_;
  size_t used_ = 0;
  fs::path target_;
  fs::path temp_;  // empty for an unnamed file
  Existing existing_ = Existing::kReplace;
  bool committed_ = false;
};

// A folder removed again, with everything in it, unless Keep() was called: a failed export
// leaves nothing behind.
class PartialFolder {
 public:
  explicit PartialFolder(fs::path path) : path_(std::move(path)) {}
  ~PartialFolder() {
    if (!kept_) {
      std::error_code ec;
      fs::remove_all(path_, ec);
    }
  }
  PartialFolder(const PartialFolder&) = delete;
  PartialFolder& operator=(const PartialFolder&) = delete;
  void Keep() { kept_ = true; }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
  bool kept_ = false;
};

}  // namespace dossier
