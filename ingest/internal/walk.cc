#include "ingest/internal/walk.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>

namespace dossier::ingest::internal {
namespace fs = std::filesystem;
namespace {

// Lists files without following symlinks; anything that is not a regular file is refused.
Status Plan(const fs::path& root, const IngestOptions& options, std::vector<PlannedItem>& out) {
  struct stat st {};
  if (::lstat(root.c_str(), &st) != 0) {
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
  for (size_t i = 0; i < paths.size(); ++i) {
    const size_t first = out.size();
    DOSSIER_RETURN_IF_ERROR(Plan(paths[i], options, out));
    for (size_t k = first; k < out.size(); ++k) out[k].root = i;
  }
  return Status::Ok();
}

}  // namespace dossier::ingest::internal
