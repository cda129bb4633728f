#include "ingest/internal/walk.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace dossier::ingest::internal {
namespace fs = std::filesystem;
namespace {

// Why a path named on the command line cannot be ingested, or "" when it can: it must be
// there, be a regular file or a folder (a link is not followed), and be readable.
std::string ProblemWith(const fs::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return "no such file or folder";
    return fmt::format("cannot be read ({})", std::strerror(errno));
  }
  if (S_ISLNK(st.st_mode)) return "a symbolic link, not followed (give the file it points to)";
  if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
    return "not a file or folder (a pipe, device or socket)";
  }
  // A folder is listed and its entries looked at: it needs both.
  const int need = S_ISDIR(st.st_mode) ? R_OK | X_OK : R_OK;
  if (::faccessat(AT_FDCWD, path.c_str(), need, AT_EACCESS) != 0) {
    return fmt::format("cannot be read ({})", std::strerror(errno));
  }
  return "";
}

// Every path given is checked before any is read: one bad path stops the upload before
// anything is stored, and the message names each bad path (kNotFound when all are missing).
Status CheckPaths(const std::vector<fs::path>& paths) {
  std::vector<std::pair<std::string, std::string>> bad;
  bool only_missing = true;
  for (const fs::path& p : paths) {
    std::string why = ProblemWith(p);
    if (why.empty()) continue;
    only_missing = only_missing && why == "no such file or folder";
    bad.emplace_back(p.string(), std::move(why));
  }
  if (bad.empty()) return Status::Ok();
  std::string message;
  if (bad.size() == 1) {
    message =
        fmt::format("cannot ingest {}: {}. Nothing was stored: correct the path{} and ingest again",
                    bad[0].first, bad[0].second, paths.size() > 1 ? " or leave it out" : "");
  } else {
    std::string list;
    for (const auto& [path, why] : bad) list += (list.empty() ? "" : "; ") + path + ": " + why;
    message = fmt::format(
        "cannot ingest {} of the {} paths given — {}. Nothing was stored: correct these paths "
        "or leave them out and ingest again",
        bad.size(), paths.size(), list);
  }
  return only_missing ? NotFound(message) : Rejected(message);
}

// Lists files without following symlinks; anything that is not a regular file is refused.
Status Plan(const fs::path& root, const IngestOptions& options, std::vector<PlannedItem>& out) {
  struct stat st {};
  if (::lstat(root.c_str(), &st) != 0) {  // vanished since CheckPaths
    return NotFound("cannot read " + root.string() + ": no such file or folder");
  }
  const std::string base =
      root.filename().empty() ? root.parent_path().filename().string() : root.filename().string();
  auto add = [&](const fs::path& p, const std::string& display, const struct stat& s,
                 bool in_folder) -> Status {
    if (out.size() >= options.max_files) {
      return LimitExceeded(
          fmt::format("the upload holds more than {} files: split it", options.max_files));
    }
    PlannedItem item{p, display, static_cast<uint64_t>(s.st_size), in_folder, 0, ""};
    if (S_ISLNK(s.st_mode)) {
      item.refuse = "symbolic link: not followed — upload the file it points to";
      item.size = 0;
    } else if (!S_ISREG(s.st_mode)) {
      item.refuse = "not a regular file (device, pipe or socket)";
      item.size = 0;
    }
    out.push_back(std::move(item));
    return Status::Ok();
  };
  if (!S_ISDIR(st.st_mode)) return add(root, base, st, false);

  std::error_code ec;
  std::vector<fs::path> entries;
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::none, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_directory(ec) || it->is_symlink(ec)) entries.push_back(it->path());
  }
  if (ec) return IoError("cannot list " + root.string() + ": " + ec.message());
  std::sort(entries.begin(), entries.end());
  for (const auto& p : entries) {
    struct stat s {};
    if (::lstat(p.c_str(), &s) != 0) continue;  // vanished while listing
    DOSSIER_RETURN_IF_ERROR(
        add(p, (fs::path(base) / p.lexically_relative(root)).string(), s, true));
  }
  return Status::Ok();
}

}  // namespace

Status PlanPaths(const std::vector<fs::path>& paths, const IngestOptions& options,
                 std::vector<PlannedItem>& out) {
  DOSSIER_RETURN_IF_ERROR(CheckPaths(paths));
  for (size_t i = 0; i < paths.size(); ++i) {
    const size_t first = out.size();
    DOSSIER_RETURN_IF_ERROR(Plan(paths[i], options, out));
    for (size_t k = first; k < out.size(); ++k) out[k].root = i;
  }
  return Status::Ok();
}

}  // namespace dossier::ingest::internal
