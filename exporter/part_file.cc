#include "exporter/part_file.h"

#include <functional>

namespace dossier::exporter {

uint64_t PartSealing::ArchiveLimit(uint64_t max_part) const {
  if (!age()) return max_part;
  const size_t r = age_recipients.size();
  if (AgeEncryptedSize(0, r) >= max_part) return 0;
  // Each 64 KiB chunk adds a 16-byte tag: start from the ratio, then settle on the exact fit.
  const uint64_t room = max_part - AgeEncryptedSize(0, r) + kAgeTagSize;
  uint64_t z = room / (kAgeChunkSize + kAgeTagSize) * kAgeChunkSize;
  while (z > 0 && AgeEncryptedSize(z, r) > max_part) --z;
  while (AgeEncryptedSize(z + 1, r) <= max_part) ++z;
  return z;
}

struct PartFile::Out final : ByteSink {
  explicit Out(File f) : file(std::move(f)) {}
  Status Write(std::span<const uint8_t> d) override {
    size += d.size();
    return file.WriteAll(d);
  }
  File file;
  uint64_t size = 0;
};

PartFile::~PartFile() = default;

Result<std::unique_ptr<PartFile>> PartFile::Create(const std::filesystem::path& path,
                                                   const PartSealing& sealing, int64_t mtime) {
  std::unique_ptr<PartFile> p(new PartFile());
  p->path_ = path;
  DOSSIER_ASSIGN_OR_RETURN(File f, File::CreateExclusive(path));
  p->out_ = std::make_unique<Out>(std::move(f));
  if (sealing.age()) {
    DOSSIER_ASSIGN_OR_RETURN(p->age_, AgeWriter::Create(*p->out_, sealing.age_recipients));
    p->age_key_ = std::make_shared<const AgeFileKey>(p->age_->ReadBackKey());
    DOSSIER_ASSIGN_OR_RETURN(p->zip_, ZipPartWriter::Create(*p->age_, "", mtime));
  } else {
    p->password_ = sealing.password;
    DOSSIER_ASSIGN_OR_RETURN(p->zip_, ZipPartWriter::Create(*p->out_, sealing.password, mtime));
  }
  return p;
}

Result<uint64_t> PartFile::Close() {
  DOSSIER_RETURN_IF_ERROR(zip_->Close().status());
  if (age_) DOSSIER_RETURN_IF_ERROR(age_->Finish());
  DOSSIER_RETURN_IF_ERROR(out_->file.Sync());
  DOSSIER_RETURN_IF_ERROR(out_->file.Close());
  return out_->size;
}

std::function<Result<ReadBack>()> PartFile::Verifier(const std::vector<std::string>& keep) const {
  return [path = path_, pw = password_, keep, written = zip_->Written(), key = age_key_] {
    return ReadBackPart(path, pw, keep, written.get(), key.get());
  };
}

}  // namespace dossier::exporter
