#include "ingest/internal/walk.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>

#include "common/encoding.h"
#include "ingest/internal/entry_names.h"

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
    PlannedItem item{p, display, static_cast<uint64_t>(s.st_size), in_folder, 0, "", nullptr};
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

namespace dossier::ingest::internal {

Status PlanUploads(const std::vector<UploadFile>& files, const IngestOptions& options,
                   std::vector<PlannedItem>& out) {
  std::vector<std::string> bad;
  std::set<std::string> seen, repeated;
  for (const UploadFile& f : files) {
    std::string why = UploadPathProblem(f.path);
    if (why.empty() && !seen.insert(f.path).second) {
      if (!repeated.insert(f.path).second) continue;  // named once, however often it comes
      why = "is given twice";
    }
    if (why.empty() && f.source == nullptr) why = "has no bytes";
    if (!why.empty()) bad.push_back(fmt::format("the path \"{}\" {}", PrintableName(f.path), why));
  }
  if (!bad.empty()) {
    std::string list;
    for (const std::string& b : bad) list += (list.empty() ? "" : "; ") + b;
    return InvalidArgument(fmt::format(
        "cannot ingest the upload: {}. Nothing was stored: send the files again, each once, "
        "with relative paths (\"folder/file\")",
        list));
  }
  if (out.size() + files.size() > options.max_files) {
    return LimitExceeded(
        fmt::format("the upload holds more than {} files: split it", options.max_files));
  }
  std::vector<const UploadFile*> sorted;
  for (const UploadFile& f : files) sorted.push_back(&f);
  std::sort(sorted.begin(), sorted.end(), [](const UploadFile* a, const UploadFile* b) {
    return fs::path(a->path) < fs::path(b->path);
  });
  size_t next_root = 0;
  std::map<std::string, size_t> roots;  // first folder → its group
  for (const UploadFile* f : sorted) {
    PlannedItem item;
    item.display = f->path;
    item.size = f->source->size();
    item.upload = f->source;
    const size_t slash = f->path.find('/');
    item.in_folder = slash != std::string::npos;
    if (!item.in_folder) {
      item.root = next_root++;
    } else {
      const auto [at, added] = roots.emplace(f->path.substr(0, slash), next_root);
      if (added) ++next_root;
      item.root = at->second;
    }
    out.push_back(std::move(item));
  }
  return Status::Ok();
}

}  // namespace dossier::ingest::internal

namespace dossier::ingest {

std::string UploadPathProblem(const std::string& path) {
  if (path.empty()) return "is empty";
  if (path.size() > internal::kMaxNameBytes) return "is longer than 4096 bytes";
  if (std::any_of(path.begin(), path.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7F; })) {
    return "holds a control character";
  }
  if (!IsValidUtf8(path)) return "is not UTF-8";
  if (path.find('\\') != std::string::npos) {
    return "holds a backslash (folders are separated by \"/\")";
  }
  if (path[0] == '/') return "is absolute";
  for (size_t start = 0; start <= path.size();) {
    const size_t end = std::min(path.find('/', start), path.size());
    const std::string_view part(path.data() + start, end - start);
    if (part == "..") return "leads outside the upload (\"..\")";
    if (part.empty() || part == ".") return "has an empty or \".\" folder name";
    start = end + 1;
  }
  return "";
}

}  // namespace dossier::ingest
