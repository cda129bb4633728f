#include "ingest/internal/random_input.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "ingest/internal/worker_protocol.h"
#include "sandbox/frame.h"

namespace dossier::ingest::internal {
namespace {

class Descriptor final : public RandomInput {
 public:
  Descriptor(File file, uint64_t size) : file_(std::move(file)), size_(size) {}
  uint64_t size() const override { return size_; }
  Result<size_t> ReadAt(uint64_t offset, std::span<uint8_t> out) override {
    size_t got = 0;
    while (got < out.size()) {
      const ssize_t n =
          ::pread(file_.fd(), out.data() + got, out.size() - got, static_cast<off_t>(offset + got));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return IoError(std::string("cannot read the upload: ") + std::strerror(errno));
      if (n == 0) break;
      got += static_cast<size_t>(n);
    }
    return got;
  }

 private:
  File file_;
  uint64_t size_;
};

class Channel final : public RandomInput {
 public:
  Channel(File channel, uint64_t size, RangeFault fault)
      : channel_(std::move(channel)), size_(size), fault_(fault) {}
  uint64_t size() const override { return size_; }
  Result<size_t> ReadAt(uint64_t offset, std::span<uint8_t> out) override {
    if (offset >= size_) return size_t{0};
    const size_t want = static_cast<size_t>(std::min<uint64_t>(out.size(), size_ - offset));
    for (size_t got = 0; got < want;) {
      const size_t length = std::min<size_t>(want - got, kMaxRange);
      DOSSIER_RETURN_IF_ERROR(Fetch(offset + got, out.subspan(got, length)));
      got += length;
    }
    return want;
  }

 private:
  // The bytes at `at` into `into` (at most kMaxRange): the read ahead's answer when it asked
  // for just these and got them, else an answer to a request of their own. A read that
  // continues the one before asks for the next piece at once, so that the parent reads and
  // decrypts it while this one is used (ISO 9660 and tar are read in order, 1 MiB at a time).
  Status Fetch(uint64_t at, std::span<uint8_t> into) {
    const auto length = static_cast<uint32_t>(into.size());
    bool have = false;
    if (ahead_) {
      ahead_ = false;
      const bool wanted = ahead_at_ == at && ahead_length_ == length;
      // Not these bytes, or refused: dropped, and asked for again below.
      DOSSIER_ASSIGN_OR_RETURN(have, Answer(wanted ? into : std::span<uint8_t>(), ahead_length_));
    }
    if (!have) {
      DOSSIER_RETURN_IF_ERROR(Ask(kRangeAsk, at, length));
      DOSSIER_ASSIGN_OR_RETURN(const bool got, Answer(into, length));
      if (!got) return IoError(reply_.payload);
    }
    const bool in_order = at == next_;
    next_ = at + length;
    if (in_order && next_ < size_) {
      ahead_at_ = next_;
      ahead_length_ = static_cast<uint32_t>(std::min<uint64_t>(kMaxRange, size_ - next_));
      DOSSIER_RETURN_IF_ERROR(Ask(kRangeAhead, ahead_at_, ahead_length_));
      ahead_ = true;
    }
    return Status::Ok();
  }
  // The answer to a request of `length` bytes: true when its bytes went into `into`; false
  // when it was refused (the parent's message in reply_), or, with `into` empty, read and
  // dropped. Anything else breaks the protocol.
  Result<bool> Answer(std::span<uint8_t> into, uint32_t length) {
    auto got = sandbox::ReadFrameInto(channel_.fd(), -1, kRangeData, into, reply_);
    if (!got.ok()) return Broken();
    if (*got) return true;
    if (reply_.type == kRangeError) return false;
    if (reply_.type == kRangeData && into.empty() && reply_.payload.size() == length) return false;
    return Broken();
  }
  Status Ask(char type, uint64_t offset, uint32_t length) {
    if (fault_ == RangeFault::kOutside) offset = size_ + 1;
    if (fault_ == RangeFault::kTooLong) length = kMaxRange + 1;
    fault_ = RangeFault::kNone;
    if (!sandbox::WriteFrame(channel_.fd(), type, EncodeRangeAsk(offset, length)).ok()) {
      return Broken();
    }
    return Status::Ok();
  }
  static Status Broken() { return IoError("the upload's range channel closed"); }

  File channel_;
  uint64_t size_;
  RangeFault fault_;
  sandbox::Frame reply_;  // refusals, and read aheads dropped: up to kMaxRange bytes
  uint64_t next_ = 0;     // where the last read ended
  bool ahead_ = false;    // a read ahead of [ahead_at_, + ahead_length_) awaits its answer
  uint64_t ahead_at_ = 0;
  uint32_t ahead_length_ = 0;
};

}  // namespace

Result<std::unique_ptr<RandomInput>> DescriptorInput(File file) {
  struct stat st {};
  if (::fstat(file.fd(), &st) != 0) {
    return IoError(std::string("cannot read the upload: ") + std::strerror(errno));
  }
  return std::unique_ptr<RandomInput>(
      std::make_unique<Descriptor>(std::move(file), static_cast<uint64_t>(st.st_size)));
}

std::unique_ptr<RandomInput> ChannelInput(File channel, uint64_t size, RangeFault fault) {
  return std::make_unique<Channel>(std::move(channel), size, fault);
}

}  // namespace dossier::ingest::internal
