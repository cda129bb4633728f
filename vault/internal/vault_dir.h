// The vault folder, reached through one descriptor (doc/SECURITY.md §The vault folder).
//
// The folder is opened once, with O_NOFOLLOW. Everything Dossier reads, creates, renames or
// deletes below it is named relative to that descriptor, one component at a time, each
// opened with O_NOFOLLOW: whoever can write the folder cannot redirect a read, a write, a
// rename or a delete through a symbolic link — not even by swapping an entry for a link while
// a command runs, after the checks at open (layout.h) passed. A link met on the way is
// kCorrupt naming it. The catalog is the one exception: SQLite opens it by path, with
// SQLITE_OPEN_NOFOLLOW (no link anywhere in the path), and OpensTheSameFolder() confirms the
// path still leads to this folder. Private to vault/.
//
//   DOSSIER_ASSIGN_OR_RETURN(VaultDir dir, VaultDir::Open(path));
//   DOSSIER_ASSIGN_OR_RETURN(File f, dir.OpenRegular("objects/ab/ab12…"));
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/file_io.h"
#include "common/status.h"

namespace dossier::vault::internal {

namespace fs = std::filesystem;

// kCorrupt: "PATH is a symbolic link: …" — what every refused link says.
Status LinkRefused(const fs::path& path);

class VaultDir {
 public:
  // kCorrupt when `dir` itself is a symbolic link; kNotFound when it does not exist.
  static Result<VaultDir> Open(const fs::path& dir);
  VaultDir() = default;

  // The folder's path, for messages and for SQLite; never used to reach an entry.
  const fs::path& path() const { return path_; }
  fs::path PathOf(std::string_view rel) const { return path_ / rel; }
  int fd() const { return fd_ ? fd_->fd() : -1; }
  bool is_open() const { return fd_ != nullptr; }

  // `rel` names an entry below the folder: "vault.key", "tmp/x.tmp", "objects/ab/ab…"; "" or
  // "." is the folder itself. No "..", no leading "/".

  // A regular file for reading: kNotFound when missing, kCorrupt when a link or not a file.
  Result<File> OpenRegular(std::string_view rel) const;
  Result<std::string> ReadSmall(std::string_view rel, size_t max_bytes) const;
  // A new file, mode 0600 (O_EXCL: fails if anything, a link included, has the name).
  Result<File> CreateExclusive(std::string_view rel) const;
  Result<DirectFile> CreateDirect(std::string_view rel) const;
  // An existing file or a new one (0600), opened with `flags` (O_RDWR, O_WRONLY|O_APPEND…).
  Result<File> OpenOrCreate(std::string_view rel, int flags) const;
  // `rel` written atomically and durably (temp → fsync → rename → fsync folder), mode 0600.
  Status WriteDurably(std::string_view rel, std::span<const uint8_t> data) const;
  // Creates folder `rel` (0700); true if it was made, false if it existed as a folder.
  Result<bool> MakeDir(std::string_view rel) const;
  Status Rename(std::string_view from, std::string_view to) const;
  // Deletes file `rel`; a missing one is fine.
  Status Remove(std::string_view rel) const;
  // fsyncs folder `rel`, so that a rename or delete inside it is durable.
  Status SyncDir(std::string_view rel = "") const;
  // Makes everything written to the vault's filesystem durable (syncfs).
  Status SyncFilesystem() const;
  // The names in folder `rel` (not "." and ".."); kNotFound if it does not exist.
  Result<std::vector<std::string>> List(std::string_view rel) const;
  // lstat of `rel` (a link is reported as a link); nullopt when it does not exist.
  Result<std::optional<struct stat>> Stat(std::string_view rel) const;
  // Sets the mode (and the group, when given) of the file or folder `rel`, which must not
  // be a link.
  Status SetMode(std::string_view rel, mode_t mode, std::optional<gid_t> gid = std::nullopt) const;
  // True when `path()` still names this very folder (same device and inode).
  bool OpensTheSameFolder() const;

 private:
  // The folder holding `rel`'s last component (walked with O_NOFOLLOW) and that component.
  struct Parent {
    std::shared_ptr<File> dir;  // this folder's descriptor, or a subfolder's
    std::string leaf;
  };
  Result<Parent> ParentOf(std::string_view rel) const;
  // An open folder, `rel` below this one.
  Result<std::shared_ptr<File>> OpenFolder(std::string_view rel) const;
  Status Failed(const char* what, std::string_view rel, int err) const;

  std::shared_ptr<File> fd_;  // shared: the object store and its file thread hold copies
  fs::path path_;
};

}  // namespace dossier::vault::internal
