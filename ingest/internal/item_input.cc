#include "ingest/internal/item_input.h"

#include <utility>

namespace dossier::ingest::internal {
namespace {

class FileInput final : public ItemInput {
 public:
  explicit FileInput(File file) : file_(std::move(file)) {}
  Result<size_t> Read(std::span<uint8_t> buf) override { return file_.Read(buf); }
  // A descriptor of its own (its own offset), with no path looked up again.
  Result<Handoff> ForWorker() const override {
    DOSSIER_ASSIGN_OR_RETURN(File copy, file_.Reopen());
    return Handoff{std::move(copy), std::nullopt, nullptr};
  }

 private:
  File file_;
};

class UploadInput final : public ItemInput {
 public:
  explicit UploadInput(std::shared_ptr<UploadSource> source) : source_(std::move(source)) {}
  Result<size_t> Read(std::span<uint8_t> buf) override {
    DOSSIER_ASSIGN_OR_RETURN(size_t n, source_->ReadAt(pos_, buf));
    pos_ += n;
    return n;
  }
  Result<Handoff> ForWorker() const override {
    Handoff h;
    DOSSIER_ASSIGN_OR_RETURN(h.server, RangeServer::Start(source_, h.file));
    h.channel = source_->size();
    return h;
  }

 private:
  std::shared_ptr<UploadSource> source_;
  uint64_t pos_ = 0;
};

}  // namespace

Result<size_t> ItemInput::ReadFull(std::span<uint8_t> buf) {
  size_t got = 0;
  while (got < buf.size()) {
    DOSSIER_ASSIGN_OR_RETURN(size_t n, Read(buf.subspan(got)));
    if (n == 0) break;
    got += n;
  }
  return got;
}

Result<std::unique_ptr<ItemInput>> OpenItem(const PlannedItem& p) {
  if (p.upload) return std::unique_ptr<ItemInput>(std::make_unique<UploadInput>(p.upload));
  DOSSIER_ASSIGN_OR_RETURN(File file, File::OpenRegular(p.source));
  return std::unique_ptr<ItemInput>(std::make_unique<FileInput>(std::move(file)));
}

}  // namespace dossier::ingest::internal
