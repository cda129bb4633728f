#include "exporter/imaging.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sodium.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dicom/dicom.h"

namespace dossier::exporter {
namespace {

namespace fs = std::filesystem;

constexpr size_t kChunk = 64 * 1024;
constexpr size_t kFlushAt = 1 << 20;
constexpr const char* kSpoolName = ".imaging-spool";

// Associated data of every chunk of instance `index`: a chunk cannot move to another one.
std::array<uint8_t, 8> IndexBytes(size_t index) {
  std::array<uint8_t, 8> ad{};
  for (size_t i = 0; i < 8; ++i) ad[i] = static_cast<uint8_t>(uint64_t{index} >> (8 * i));
  return ad;
}

Status ReadAt(const File& f, std::span<uint8_t> buf, uint64_t offset, const std::string& what) {
  size_t done = 0;
  while (done < buf.size()) {
    const ssize_t n =
        ::pread(f.fd(), buf.data() + done, buf.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("cannot read", what, errno);
    if (n == 0) return Corrupt(what + " ends early");
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace

std::string SeriesLabel(size_t index) { return fmt::format("S{:03d}", index + 1); }

std::string DicomFileId(const std::string& label, size_t n) {
  return fmt::format("DICOM/{}/{}", label, dicom::InstanceFileId(n));
}

void ImagingStats::Add(const std::string& series_id, uint64_t stored,
                       const ImagingWorker::Written& w) {
  ++instances;
  bytes_in += stored;
  bytes_out += w.bytes;
  recompressed += w.recompressed ? 1 : 0;
  if (!w.kept_reason.empty()) ++kept[w.kept_reason];
  if (w.burned_in) ++burned_in[series_id];
}

std::vector<std::string> BurnedInWarnings(const ImagingStats& stats) {
  std::vector<std::string> out;
  for (const auto& [series, n] : stats.burned_in) {
    out.push_back(fmt::format(
        "{}: {} instance(s) have text burned into the image (BurnedInAnnotation = YES): names "
        "may be visible in the pixels — look at them before sending",
        series, n));
  }
  return out;
}

Result<File> InstanceInMemory(const ReadInstance& read, uint64_t* size) {
  DOSSIER_ASSIGN_OR_RETURN(MemoryFileSink sink, MemoryFileSink::Create());
  DOSSIER_RETURN_IF_ERROR(read(sink));
  if (size != nullptr) *size = sink.size();
  return std::move(sink).Seal();
}

ImagingSpool::ImagingSpool(ImagingWorker worker, File file, fs::path path,
                           const InstanceTransform& how)
    : worker_(std::move(worker)),
      file_(std::move(file)),
      path_(std::move(path)),
      how_(how),
      key_(crypto_secretstream_xchacha20poly1305_KEYBYTES) {
  crypto_secretstream_xchacha20poly1305_keygen(key_.data());
}

ImagingSpool::~ImagingSpool() = default;

Result<std::unique_ptr<ImagingSpool>> ImagingSpool::Create(const fs::path& folder,
                                                           const ImagingWorkerOptions& options,
                                                           const SecureBuffer& uid_key,
                                                           const InstanceTransform& how) {
  DOSSIER_ASSIGN_OR_RETURN(ImagingWorker worker, ImagingWorker::Start(options, {}, uid_key));
  const fs::path path = folder / kSpoolName;
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError("cannot create", path.string(), errno);
  File file(fd, path.string());
  return std::unique_ptr<ImagingSpool>(
      new ImagingSpool(std::move(worker), std::move(file), path, how));
}

Result<ImagingWorker::Transformed> ImagingSpool::Add(const ReadInstance& read,
                                                     const std::string& series_id) {
  uint64_t stored = 0;
  DOSSIER_ASSIGN_OR_RETURN(File instance, InstanceInMemory(read, &stored));
  // A fresh memfd each time: what the worker writes for one instance cannot reach another.
  const int fd = ::memfd_create("dossier-out", MFD_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot create", "an in-memory file", errno);
  const File out(fd, "the transformed instance");
  DOSSIER_ASSIGN_OR_RETURN(ImagingWorker::Transformed t, worker_.Transform(instance, out, how_));
  DOSSIER_ASSIGN_OR_RETURN(uint64_t written, out.Size());
  if (written != t.bytes) {
    return Internal(
        fmt::format("the export worker wrote {} bytes, not the {} it said", written, t.bytes));
  }
  DOSSIER_RETURN_IF_ERROR(Append(out, t.bytes));
  stats_.Add(series_id, stored, t);
  return t;
}

Status ImagingSpool::Append(const File& plain, uint64_t size) {
  const size_t index = slots_.size();
  slots_.push_back({end_, size});
  crypto_secretstream_xchacha20poly1305_state st;
  uint8_t header[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
  crypto_secretstream_xchacha20poly1305_init_push(&st, header, key_.data());
  pending_.insert(pending_.end(), header, header + sizeof(header));
  end_ += sizeof(header);
  const auto ad = IndexBytes(index);
  std::vector<uint8_t> chunk(kChunk);
  uint64_t done = 0;
  do {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk, size - done));
    DOSSIER_RETURN_IF_ERROR(ReadAt(plain, {chunk.data(), n}, done, "the transformed instance"));
    done += n;
    const size_t at = pending_.size();
    pending_.resize(at + n + crypto_secretstream_xchacha20poly1305_ABYTES);
    crypto_secretstream_xchacha20poly1305_push(
        &st, pending_.data() + at, nullptr, chunk.data(), n, ad.data(), ad.size(),
        done == size ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : 0);
    end_ += n + crypto_secretstream_xchacha20poly1305_ABYTES;
    if (pending_.size() >= kFlushAt) DOSSIER_RETURN_IF_ERROR(Flush());
  } while (done < size);
  sodium_memzero(chunk.data(), chunk.size());
  sodium_memzero(&st, sizeof(st));
  return Status::Ok();
}

Status ImagingSpool::Flush() {
  DOSSIER_RETURN_IF_ERROR(file_.WriteAll(pending_));
  pending_.clear();
  return Status::Ok();
}

Status ImagingSpool::Read(size_t index, ByteSink& sink) {
  if (index >= slots_.size()) return Internal(fmt::format("no instance {} in the spool", index));
  if (!pending_.empty()) DOSSIER_RETURN_IF_ERROR(Flush());
  const Slot& slot = slots_[index];
  const std::string what = fmt::format("the spool's instance {}", index);
  uint8_t header[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
  DOSSIER_RETURN_IF_ERROR(ReadAt(file_, header, slot.offset, what));
  crypto_secretstream_xchacha20poly1305_state st;
  if (crypto_secretstream_xchacha20poly1305_init_pull(&st, header, key_.data()) != 0) {
    return Corrupt(what + " was changed");
  }
  const auto ad = IndexBytes(index);
  std::vector<uint8_t> sealed(kChunk + crypto_secretstream_xchacha20poly1305_ABYTES);
  std::vector<uint8_t> plain(kChunk);
  uint64_t offset = slot.offset + sizeof(header), done = 0;
  Status status;
  do {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk, slot.size - done));
    const size_t m = n + crypto_secretstream_xchacha20poly1305_ABYTES;
    status = ReadAt(file_, {sealed.data(), m}, offset, what);
    if (!status.ok()) break;
    offset += m;
    done += n;
    unsigned long long got = 0;
    uint8_t tag = 0;
    if (crypto_secretstream_xchacha20poly1305_pull(&st, plain.data(), &got, &tag, sealed.data(), m,
                                                   ad.data(), ad.size()) != 0 ||
        got != n ||
        (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL) != (done == slot.size)) {
      status = Corrupt(what + " was changed");
      break;
    }
    status = sink.Write({plain.data(), n});
  } while (status.ok() && done < slot.size);
  sodium_memzero(plain.data(), plain.size());
  sodium_memzero(&st, sizeof(st));
  return status;
}

Status ImagingSpool::Remove() {
  DOSSIER_RETURN_IF_ERROR(file_.Close());
  std::error_code ec;
  fs::remove(path_, ec);
  if (ec) return IoError("cannot remove " + path_.string() + ": " + ec.message());
  return Status::Ok();
}

}  // namespace dossier::exporter
