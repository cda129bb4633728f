#include "ingest/internal/unpack_reader.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <vector>

#include "ingest/unpack.h"

namespace dossier::ingest::internal {

Status UnpackReader::Read(const PlannedItem& p, const ItemInput& input, const std::string& kind,
                          bool whole) {
  item_ = &p;
  kind_ = kind;
  prefix_ = p.display + "/";
  whole_ = whole;
  entries_ = bytes_ = unlisted_refused_ = unlisted_skipped_ = 0;
  listed_ = 0;
  DOSSIER_ASSIGN_OR_RETURN(Handoff item, input.ForWorker());
  DOSSIER_RETURN_IF_ERROR(worker_.Send([&](UnpackWorker& w) {
    return whole ? w.SendWhole(item.file, p.display, item.channel)
                 : w.SendUnpack(item.file, p.display, options_.unpack, item.channel);
  }));
  item.Sent();
  range_ = item.server.get();
  const Status st = ReadReplies();
  range_ = nullptr;
  return st;
}

Status UnpackReader::ReadReplies() {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(options_.worker.item_seconds);
  sandbox::Frame buffer;  // reused: data frames are up to 1 MiB each
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    const int wait_ms = static_cast<int>(
        std::max<int64_t>(0, std::min<int64_t>(left, options_.worker.stall_seconds * 1000)));
    const Status got = sandbox::ReadFrame(worker_.reply_fd(), wait_ms, buffer);
    if (range_ != nullptr && (!got.ok() || buffer.type == 'F' || range_->violated())) {
      range_->Stop();  // what the channel saw is final
      if (range_->violated()) {
        Violation(range_->violation());
        Summarize();
        return Status::Ok();
      }
    }
    if (!got.ok()) {
      // The worker crashed or hung on hostile bytes, or the item ran out of time: that entry
      // (or the item) is rejected, the worker replaced, the ingest goes on.
      const std::string reason =
          left <= 0 ? fmt::format("unpacking took longer than {} s: split the upload",
                                  options_.worker.item_seconds)
                    : worker_.Lost(got, "unpacker");
      worker_.Drop();
      LoseWorker(reason);
      Summarize();
      return Status::Ok();
    }
    DOSSIER_ASSIGN_OR_RETURN(const bool more, Handle(buffer));
    if (!more) return Status::Ok();
  }
}

std::string UnpackReader::Reason(std::string worker_said) const {
  if (range_ == nullptr) return worker_said;
  const Status failure = range_->failure();
  return failure.ok() ? worker_said : failure.message();
}

Result<bool> UnpackReader::Handle(const sandbox::Frame& frame) {
  // Only the small control frames carry "a\0b" fields; data frames are never copied.
  const auto parts =
      frame.type == 'D' ? std::vector<std::string>{} : sandbox::SplitNul(frame.payload);
  const bool counted = frame.type == 'B' || frame.type == 'R' || frame.type == 'S';
  if (counted && ++entries_ > options_.unpack.entries) {
    Summarize();
    Violation("more entries than the limit");
    return false;
  }
  auto violation = [&](const std::string& what) {
    Violation(what);
    return false;
  };
  switch (frame.type) {
    case 'B':
      if (store_.open()) return violation("an entry began inside another");
      if (!Inside(frame.payload)) return violation("an unsafe path");
      store_.Begin(frame.payload, true);
      return true;
    case 'D': {
      if (!store_.open()) return violation("data outside an entry");
      bytes_ += frame.payload.size();
      if (bytes_ > options_.unpack.total_bytes) return violation("more bytes than the limit");
      const auto* d = reinterpret_cast<const uint8_t*>(frame.payload.data());
      DOSSIER_RETURN_IF_ERROR(store_.Data({d, frame.payload.size()}));
      progress_.Bytes(frame.payload.size());
      return true;
    }
    case 'E': {
      if (!store_.open()) return violation("an entry ended that never began");
      const std::string& end = frame.payload;
      vault::ContentDigest digest{};
      Status outcome = Status::Ok();
      if (!end.empty() && end[0] == '\0') {
        if (end.size() != 1 + digest.size()) return violation("a malformed entry end");
        std::memcpy(digest.data(), end.data() + 1, digest.size());
      } else if (end.empty()) {
        return violation("an entry end without its digest");
      } else {
        outcome = Rejected(Reason(end));
      }
      DOSSIER_ASSIGN_OR_RETURN(Item item, store_.End(outcome, &digest));
      DOSSIER_RETURN_IF_ERROR(sink_.Ended(item));
      if (item.status == ItemStatus::kRejected) {
        List(std::move(item), store_.executable());
      } else {
        sink_.AddEntry(std::move(item), store_.executable());
      }
      return true;
    }
    case 'R':
    case 'S':
      if (parts.size() != 2 || parts[0].rfind(prefix_, 0) != 0) {
        return violation("a malformed report");
      }
      List(Line(parts[0], "", 0, frame.type == 'R' ? ItemStatus::kRejected : ItemStatus::kSkipped,
                parts[1]),
           frame.type == 'S' && parts[1] == kViewerSoftware);
      return true;
    case 'M':
      if (!store_.open()) return violation("a DICOM summary outside an entry");
      if (!store_.SetDicom(frame.payload).ok()) return violation("a malformed DICOM summary");
      return true;
    case 'H':  // still working (buffering a large nested archive or PDF)
      return true;
    case 'F': {
      if (store_.open()) sink_.Add(store_.Abandon("the archive ended in the middle of this file"));
      Summarize();
      const Status unread = range_ != nullptr ? range_->failure() : Status::Ok();
      if (!unread.ok()) {
        // The upload's bytes could not all be had; a whole file's one entry said so already.
        if (!whole_ || entries_ == 0) RejectItem(unread.message());
      } else if (parts.size() == 2) {
        RejectItem(parts[1]);
      }
      return false;
    }
    default:
      return violation("an unknown message");
  }
}

void UnpackReader::RejectItem(std::string reason) {
  sink_.Add(Line(item_->display, kind_, item_->size, ItemStatus::kRejected, std::move(reason)));
}

void UnpackReader::LoseWorker(const std::string& reason) {
  if (store_.open()) {
    sink_.Add(store_.Abandon(reason));
    sink_.Add(Line(item_->display, kind_, item_->size, ItemStatus::kRejected,
                   "the rest of this archive was not read (see the entry above): send it again "
                   "or unpacked"));
  } else {
    RejectItem(reason);
  }
}

void UnpackReader::Violation(const std::string& what) {
  worker_.Drop();
  LoseWorker("the unpacker misbehaved on this file (" + what +
             "): it may be hostile — send it again or unpacked");
}

bool UnpackReader::Inside(const std::string& path) const {
  if (whole_) return path == item_->display;
  if (path.rfind(prefix_, 0) != 0) return false;
  auto safe = SafeEntryPath(path.substr(prefix_.size()));
  return safe.ok() && prefix_ + *safe == path;
}

void UnpackReader::List(Item item, bool executable) {
  if (listed_ >= kMaxListedPerItem) {
    ++(item.status == ItemStatus::kSkipped ? unlisted_skipped_ : unlisted_refused_);
    return;
  }
  ++listed_;
  sink_.AddEntry(std::move(item), executable);
}

void UnpackReader::Summarize() {
  if (unlisted_refused_ > 0) {
    sink_.Add(
        Line(item_->display, kind_, 0, ItemStatus::kRejected,
             fmt::format("and {} more entries refused, not listed one by one", unlisted_refused_)));
  }
  if (unlisted_skipped_ > 0) {
    sink_.Add(
        Line(item_->display, kind_, 0, ItemStatus::kSkipped,
             fmt::format("and {} more entries skipped, not listed one by one", unlisted_skipped_)));
  }
}

}  // namespace dossier::ingest::internal
