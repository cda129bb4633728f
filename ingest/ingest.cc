#include "ingest/ingest.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>

#include "common/file_io.h"
#include "ingest/sniff.h"

namespace dossier::ingest {
namespace fs = std::filesystem;

size_t IngestReport::Count(std::string_view status) const {
  return static_cast<size_t>(std::count_if(
      items.begin(), items.end(), [&](const ItemReport& i) { return i.status == status; }));
}

namespace {

struct Planned {
  fs::path source;
  std::string display;  // the path shown to the user and stored (encrypted) as the name
  uint64_t size = 0;
  std::string refuse;  // non-empty: refused before reading (not a regular file, ...)
};

// Lists files without following symlinks; anything that is not a regular file is refused.
Status Plan(const fs::path& root, const IngestOptions& options, std::vector<Planned>& out) {
  struct stat st {};
  if (::lstat(root.c_str(), &st) != 0) {
    return NotFound("cannot read " + root.string() + ": no such file or folder");
  }
  const std::string base =
      root.filename().empty() ? root.parent_path().filename().string() : root.filename().string();
  auto add = [&](const fs::path& p, const std::string& display, const struct stat& s) -> Status {
    if (out.size() >= options.max_files) {
      return LimitExceeded(
          fmt::format("the upload holds more than {} files: split it", options.max_files));
    }
    Planned item{p, display, static_cast<uint64_t>(s.st_size), ""};
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
  if (!S_ISDIR(st.st_mode)) return add(root, base, st);

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
    DOSSIER_RETURN_IF_ERROR(add(p, (fs::path(base) / p.lexically_relative(root)).string(), s));
  }
  return Status::Ok();
}

std::string FormatBytes(uint64_t n) {
  if (n >= (uint64_t{1} << 30) && n % (uint64_t{1} << 30) == 0)
    return fmt::format("{} GiB", n >> 30);
  if (n >= (uint64_t{1} << 20) && n % (uint64_t{1} << 20) == 0)
    return fmt::format("{} MiB", n >> 20);
  return fmt::format("{} bytes", n);
}

}  // namespace

Status IngestPaths(vault::Vault& vault, const std::string& case_id,
                   const std::vector<fs::path>& paths, const IngestOptions& options,
                   IngestReport& report, const IngestProgressFn& progress) {
  DOSSIER_RETURN_IF_ERROR(vault.GetCase(case_id).status());
  std::vector<Planned> plan;
  for (const auto& p : paths) DOSSIER_RETURN_IF_ERROR(Plan(p, options, plan));

  IngestProgress prog;
  prog.items_total = plan.size();
  for (const auto& p : plan) prog.bytes_total += p.size;

  std::vector<uint8_t> buf(std::max<size_t>(kSniffBytes, 1 << 20));
  for (const Planned& p : plan) {
    ItemReport item{p.display, "", p.size, "", "", ""};
    auto reject = [&](std::string reason) {
      item.status = "rejected";
      item.reason = std::move(reason);
      return Status::Ok();
    };
    // Errors of the vault abort the ingest; errors of the file only reject the item.
    Status fatal = [&]() -> Status {
      if (!p.refuse.empty()) return reject(p.refuse);
      auto file = File::OpenRead(p.source);
      if (!file.ok()) return reject(file.status().message());
      auto head_n = file->ReadFull({buf.data(), kSniffBytes});
      if (!head_n.ok()) return reject(head_n.status().message());
      const Sniffed sniffed = Sniff({buf.data(), *head_n}, *head_n);
      item.kind = sniffed.kind;
      if (!sniffed.accepted()) return reject(sniffed.reason);

      DOSSIER_ASSIGN_OR_RETURN(auto writer,
                               vault.BeginDocument({case_id, p.display, sniffed.kind, "other"}));
      uint64_t total = 0;
      for (size_t n = *head_n; n > 0;) {
        total += n;
        if (total > options.max_file_bytes) {
          return reject("larger than the limit of " + FormatBytes(options.max_file_bytes) +
                        " for one file");
        }
        DOSSIER_RETURN_IF_ERROR(writer->Write({buf.data(), n}));
        if (progress) {
          IngestProgress now = prog;
          now.bytes_done += total;
          progress(now);
        }
        auto next = file->Read(buf);
        if (!next.ok()) return reject(next.status().message());
        n = *next;
      }
      DOSSIER_ASSIGN_OR_RETURN(vault::StoreOutcome stored, writer->Commit());
      item.size = stored.size;
      item.doc_id = stored.doc_id;
      item.status = stored.duplicate ? "duplicate" : "stored";
      if (stored.duplicate) item.reason = "same content as " + stored.doc_id + ", stored once";
      return Status::Ok();
    }();
    if (!fatal.ok()) return fatal.WithContext(p.display);
    report.items.push_back(std::move(item));
    prog.items_done += 1;
    prog.bytes_done += p.size;
    if (progress) progress(prog);
  }
  return Status::Ok();
}

}  // namespace dossier::ingest
