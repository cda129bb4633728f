// The unpack worker's entry point (`dossier __unpack-worker`, worker.h): requests in, frames
// out (doc/FORMAT.md, "Unpack worker protocol"). Runs confined; holds no key.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <clocale>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/content_digest.h"
#include "dicom/dicom.h"
#include "ingest/internal/ocr_session.h"
#include "ingest/internal/random_input.h"
#include "ingest/internal/worker_protocol.h"
#include "ingest/worker.h"
#include "ocr/ocr.h"
#include "sandbox/frame.h"
#include "sandbox/worker.h"

namespace dossier::ingest {
namespace {

using internal::ChannelInput;
using internal::DecodeLimits;
using internal::DescriptorInput;
using internal::OcrSession;
using internal::RangeFault;
using sandbox::ReadWhole;
using sandbox::WriteFrame;

// Streams what the unpacker finds to the parent, as frames on stdout. A DICOM entry is held
// back until it ends, so that it can be summarised (an 'M' frame before its data), refused
// with its reason (truncated, stray bytes), or given the meta header it lacks.
class FrameSink final : public UnpackSink {
 public:
  explicit FrameSink(int fd) : fd_(fd) {
    // Fault injection for tests: "abort:TEXT" crashes, "hang:TEXT" stops answering, while
    // reading an entry whose path contains TEXT.
    if (const char* f = std::getenv("DOSSIER_WORKER_FAULT"); f != nullptr) {
      const std::string fault = f;
      const auto colon = fault.find(':');
      if (colon != std::string::npos) {
        fault_ = fault.substr(0, colon);
        fault_on_ = fault.substr(colon + 1);
      }
    }
  }
  Status BeginEntry(const std::string& path) override {
    if (!fault_on_.empty() && path.find(fault_on_) != std::string::npos) fault_pending_ = true;
    held_.clear();
    state_ = Held::kUndecided;
    (void)digest_.Final();  // a fresh digest, whatever the last entry left in it
    return WriteFrame(fd_, 'B', path);
  }
  Status EntryData(std::span<const uint8_t> data) override {
    if (fault_pending_ && fault_ == "abort") std::abort();
    if (fault_pending_ && fault_ == "hang") {
      for (;;) ::pause();
    }
    if (state_ == Held::kStreaming) return Send(data);
    held_.insert(held_.end(), data.begin(), data.end());
    if (state_ == Held::kUndecided && held_.size() >= kDecideBytes) {
      state_ = dicom::LooksLikeDicom(held_) ? Held::kDicom : Held::kStreaming;
    }
    if (state_ == Held::kStreaming || held_.size() > kMaxDicomBytes) {
      // Not DICOM, or too large to hold: streamed as it comes, not summarised.
      state_ = Held::kStreaming;
      DOSSIER_RETURN_IF_ERROR(Send(held_));
      held_.clear();
      held_.shrink_to_fit();
    }
    return Status::Ok();
  }
  Status EndEntry(const Status& outcome) override {
    if (!outcome.ok()) {
      held_.clear();
      return WriteFrame(fd_, 'E', outcome.message());
    }
    if (state_ != Held::kStreaming) {
      DOSSIER_ASSIGN_OR_RETURN(std::string refusal, SendHeld());
      if (!refusal.empty()) {
        (void)digest_.Final();  // starts afresh for the next entry
        return WriteFrame(fd_, 'E', refusal);
      }
    }
    const ContentDigest digest = digest_.Final();
    std::string done(1, '\0');
    done.append(reinterpret_cast<const char*>(digest.data()), digest.size());
    return WriteFrame(fd_, 'E', done);
  }
  Status Refused(const std::string& path, const std::string& reason) override {
    return WriteFrame(fd_, 'R', path + '\0' + reason);
  }
  Status Skipped(const std::string& path, const std::string& group) override {
    return WriteFrame(fd_, 'S', path + '\0' + group);
  }
  Status Heartbeat() override { return WriteFrame(fd_, 'H', std::string_view()); }

 private:
  // Enough to tell DICOM (preamble + "DICM", or a bare data set's first element).
  static constexpr size_t kDecideBytes = 132;
  // DICOM entries up to this size are summarised; larger ones (rare multi-frame giants)
  // are stored unchanged without a summary.
  static constexpr size_t kMaxDicomBytes = size_t{256} << 20;
  static constexpr size_t kKeptBytes = size_t{16} << 20;

  Status Send(std::span<const uint8_t> data) {
    for (size_t at = 0; at < data.size(); at += kDataFrame) {
      const auto part = data.subspan(at, std::min(kDataFrame, data.size() - at));
      digest_.Update(part);
      DOSSIER_RETURN_IF_ERROR(WriteFrame(fd_, 'D', part));
    }
    return Status::Ok();
  }

  // The held entry ends: a DICOM one is summarised first ('M'), or sent and then refused
  // (the reason is returned, for the entry's end); anything else is just sent.
  // held_ keeps its capacity from entry to entry, up to kKeptBytes: a disc's thousands of
  // slices of one size then cost no allocation, and no page faults, each.
  Result<std::string> SendHeld() {
    auto result = SendHeldOnce();
    held_.clear();
    if (held_.capacity() > kKeptBytes) std::vector<uint8_t>().swap(held_);
    return result;
  }
  Result<std::string> SendHeldOnce() {
    if (state_ == Held::kDicom || dicom::LooksLikeDicom(held_)) {
      auto summary = dicom::Summarize(held_);
      if (!summary.ok()) {
        DOSSIER_RETURN_IF_ERROR(Send(held_));  // the parent still sees what it was, and its size
        return summary.status().message();
      }
      DOSSIER_RETURN_IF_ERROR(WriteFrame(fd_, 'M', dicom::ToJson(*summary)));
      if (!summary->meta_header) {
        auto fixed = dicom::WithMetaHeader(held_);
        if (fixed.ok()) {
          DOSSIER_RETURN_IF_ERROR(Send(*fixed));
          return std::string();
        }
      }
    }
    DOSSIER_RETURN_IF_ERROR(Send(held_));
    return std::string();
  }

  static constexpr size_t kDataFrame = size_t{1} << 20;
  enum class Held { kUndecided, kDicom, kStreaming };
  int fd_;
  ContentHasher digest_;  // of the entry being sent (reset by each Final())
  std::vector<uint8_t> held_;
  Held state_ = Held::kUndecided;
  std::string fault_, fault_on_;
  bool fault_pending_ = false;
};

// A single file sent as one entry named `display` (loose DICOM files: they are summarised
// here, never in the parent).
Status SendWholeFile(RandomInput& input, const std::string& display, FrameSink& sink) {
  DOSSIER_RETURN_IF_ERROR(sink.BeginEntry(display));
  std::vector<uint8_t> buf(size_t{1} << 20);
  for (uint64_t at = 0;;) {
    auto n = input.ReadAt(at, buf);
    if (!n.ok()) return sink.EndEntry(n.status());
    if (*n == 0) break;
    at += *n;
    DOSSIER_RETURN_IF_ERROR(sink.EntryData({buf.data(), *n}));
  }
  return sink.EndEntry(Status::Ok());
}

// The fault a test asked for (DOSSIER_WORKER_FAULT) on the range channel of `display`.
RangeFault RangeFaultFor(const std::string& display) {
  const char* f = std::getenv("DOSSIER_WORKER_FAULT");
  const std::string fault = f != nullptr ? f : "";
  for (const auto& [kind, value] : {std::pair{"range-outside:", RangeFault::kOutside},
                                    std::pair{"range-too-long:", RangeFault::kTooLong}}) {
    const std::string_view k = kind;
    if (fault.rfind(k, 0) == 0 && display.find(fault.substr(k.size())) != std::string::npos) {
      return value;
    }
  }
  return RangeFault::kNone;
}

// The item a 'U', 'W' or 'P' request hands over with its `fields` fields: the descriptor
// itself, or — one more field, "channel=N" — a range channel over N bytes. nullptr when the
// request is malformed.
Result<std::unique_ptr<RandomInput>> InputOf(File file, const std::vector<std::string>& parts,
                                             size_t fields, const std::string& display) {
  if (parts.size() == fields) return DescriptorInput(std::move(file));
  if (parts.size() != fields + 1) return std::unique_ptr<RandomInput>();
  const auto bytes = internal::ParseChannelField(parts.back());
  if (!bytes) return std::unique_ptr<RandomInput>();
  return ChannelInput(std::move(file), *bytes, RangeFaultFor(display));
}

// A preview PNG of the DICOM instance in `file` (a sealed memfd of a stored document).
Result<std::vector<uint8_t>> RenderPreview(File file) {
  DOSSIER_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadWhole(file));
  return dicom::Preview(bytes);
}

// A JPEG copy of the HEIC photo in `file` (a sealed memfd of a stored document), sent as 'D'
// frames of at most 1 MiB: the parent checks and stores it (ocr_pool.h).
Status SendJpegCopy(File file) {
  // Fault injection for tests: a worker that hostile bytes took over sends what it likes.
  if (const char* f = std::getenv("DOSSIER_WORKER_FAULT"); f != nullptr) {
    if (std::string_view(f) == "forge:jpeg-copy") return WriteFrame(STDOUT_FILENO, 'D', "MZ\x90");
    if (std::string_view(f) == "abort:jpeg-copy") std::abort();
  }
  DOSSIER_ASSIGN_OR_RETURN(std::vector<uint8_t> heic, ReadWhole(file));
  DOSSIER_ASSIGN_OR_RETURN(std::vector<uint8_t> jpeg,
                           ocr::HeicToJpeg(heic, ocr::OcrOptions().max_image_pixels));
  constexpr size_t kFrame = size_t{1} << 20;
  for (size_t at = 0; at < jpeg.size(); at += kFrame) {
    const size_t n = std::min(kFrame, jpeg.size() - at);
    DOSSIER_RETURN_IF_ERROR(WriteFrame(
        STDOUT_FILENO, 'D', std::string_view(reinterpret_cast<const char*>(jpeg.data() + at), n)));
  }
  return Status::Ok();
}

}  // namespace

int RunUnpackWorker() {
  ::signal(SIGPIPE, SIG_IGN);
  std::setlocale(LC_CTYPE, "C.UTF-8");
  ContentHasher().Final();  // libcrypto initialises itself (reading its config) before confinement
  if (!sandbox::EnterWorker(-1).ok()) return 5;
  sandbox::Frame request;
  OcrSession ocr_session;
  for (;;) {
    const Status got = sandbox::ReadFrame(STDIN_FILENO, -1, request);
    if (!got.ok()) return got.code() == StatusCode::kNotFound ? 0 : 1;
    const sandbox::Frame* req = &request;
    const auto parts = sandbox::SplitNul(req->payload);
    Status st;
    auto file = sandbox::RecvFd(STDIN_FILENO);
    if (!file.ok()) return 1;
    if (req->type == 'U' || req->type == 'W' || req->type == 'P') {
      const size_t fields = req->type == 'U' ? 2 : 1;
      const std::string display = req->type == 'P' ? std::string() : parts[0];
      auto input = InputOf(std::move(file).value(), parts, fields, display);
      if (input.ok() && *input == nullptr) return 1;
      if (!input.ok()) {
        st = input.status();
      } else if (req->type == 'U') {
        FrameSink sink(STDOUT_FILENO);
        st = Unpack(**input, display, DecodeLimits(parts[1]), sink);
      } else if (req->type == 'W') {
        FrameSink sink(STDOUT_FILENO);
        st = SendWholeFile(**input, display, sink);
      } else {
        st = CheckPdfInput(**input, std::stoull(parts[0]));
      }
    } else if (req->type == 'V') {
      auto png = RenderPreview(std::move(file).value());
      st = png.ok() ? WriteFrame(STDOUT_FILENO, 'Q', *png) : png.status();
    } else if (req->type == 'J') {
      st = SendJpegCopy(std::move(file).value());
    } else if (req->type == 'N' && parts.size() == 1) {
      auto n = ocr_session.Count(std::move(file).value(), parts[0]);
      st = n.ok() ? WriteFrame(STDOUT_FILENO, 'C', *n) : n.status();
    } else if (req->type == 'A' && (parts.size() == 2 || parts.size() == 3)) {
      auto page = ocr_session.Page(std::move(file).value(), parts[0], std::stoi(parts[1]),
                                   parts.size() == 3 && parts[2] == "verdict-first");
      st = page.ok() ? WriteFrame(STDOUT_FILENO, 'G', *page) : page.status();
    } else {
      return 1;
    }
    const std::string done =
        st.ok() ? std::string() : std::to_string(static_cast<int>(st.code())) + '\0' + st.message();
    if (!WriteFrame(STDOUT_FILENO, 'F', done).ok()) return 1;
  }
}

}  // namespace dossier::ingest
