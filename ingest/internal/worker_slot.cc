#include "ingest/internal/worker_slot.h"

#include <fmt/format.h>

#include <algorithm>

#include "sandbox/frame.h"

namespace dossier::ingest::internal {

Status WorkerSlot::Ensure() {
  if (worker_) return Status::Ok();
  auto w = UnpackWorker::Start(options_);
  if (!w.ok()) return w.status();
  worker_.emplace(std::move(w).value());
  if (!worker_->unconfined().empty()) report_.unconfined_workers = worker_->unconfined();
  return Status::Ok();
}

Status WorkerSlot::Send(const std::function<Status(UnpackWorker&)>& send) {
  DOSSIER_RETURN_IF_ERROR(Ensure());
  if (send(*worker_).ok()) return Status::Ok();
  worker_.reset();
  DOSSIER_RETURN_IF_ERROR(Ensure());
  if (send(*worker_).ok()) return Status::Ok();
  worker_.reset();
  return Internal("the unpack worker cannot be started (" +
                  (options_.program.empty() ? std::string("/proc/self/exe") : options_.program) +
                  ")");
}

void WorkerSlot::Drop() {
  if (!worker_) return;
  worker_->Stop();
  worker_.reset();
}

std::string WorkerSlot::Lost(const Status& got, const char* doing) {
  const bool hung = got.code() == StatusCode::kLimitExceeded;
  const std::string how = worker_->Stop();
  worker_.reset();
  if (hung) {
    return fmt::format(
        "the {} stopped responding for {} s and was stopped: the file may be damaged or "
        "hostile — send it again or unpacked",
        doing, options_.stall_seconds);
  }
  // A worker that crashed: most likely our bug, not the patient's file (issue 11: every
  // single-file .gz once crashed it). Nothing says the file is damaged, so the patient is
  // not told so; the crash goes to the operator's list in the report.
  report_.worker_crashes.push_back(fmt::format("the {} {}", doing, how));
  return "Dossier could not read this file (its reader failed) — the manager has been told";
}

Result<std::string> WorkerSlot::CheckPdf(const ItemInput& input, uint64_t max_bytes) {
  DOSSIER_ASSIGN_OR_RETURN(Handoff pdf, input.ForWorker());
  DOSSIER_RETURN_IF_ERROR(
      Send([&](UnpackWorker& w) { return w.SendCheckPdf(pdf.file, max_bytes, pdf.channel); }));
  pdf.Sent();
  sandbox::Frame reply;
  const Status got = sandbox::ReadFrame(worker_->reply_fd(), options_.stall_seconds * 1000, reply);
  if (pdf.server) pdf.server->Stop();
  const std::string violation = pdf.server ? pdf.server->violation() : std::string();
  if (!violation.empty() || (got.ok() && reply.type != 'F')) {
    Drop();
    return "the PDF check misbehaved on this file" +
           (violation.empty() ? std::string() : " (" + violation + ")") +
           ": it may be hostile — send it again";
  }
  if (!got.ok()) return Lost(got, "PDF check");
  // The upload's bytes could not all be had: that, not what Poppler made of the rest.
  if (pdf.server && !pdf.server->failure().ok()) return pdf.server->failure().message();
  const auto parts = sandbox::SplitNul(reply.payload);
  return parts.size() == 2 ? parts[1] : std::string();
}

Result<std::vector<uint8_t>> WorkerSlot::Preview(const File& instance) {
  DOSSIER_RETURN_IF_ERROR(Send([&](UnpackWorker& w) { return w.SendPreview(instance); }));
  sandbox::Frame reply;
  const int wait_ms = options_.stall_seconds * 1000;
  Status got = sandbox::ReadFrame(worker_->reply_fd(), wait_ms, reply);
  if (got.ok() && reply.type == 'F') return std::vector<uint8_t>();  // cannot be rendered
  std::vector<uint8_t> png(reply.payload.begin(), reply.payload.end());
  // A PNG of at most 256 × 256 pixels, then the end of the request — or the worker goes.
  static constexpr uint8_t kSignature[] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  auto side = [&](size_t at) {
    return (uint32_t{png[at]} << 24) | (uint32_t{png[at + 1]} << 16) |
           (uint32_t{png[at + 2]} << 8) | png[at + 3];
  };
  const bool valid = got.ok() && reply.type == 'Q' && png.size() > 24 &&
                     std::equal(std::begin(kSignature), std::end(kSignature), png.begin()) &&
                     side(16) >= 1 && side(16) <= 256 && side(20) >= 1 && side(20) <= 256;
  if (valid) got = sandbox::ReadFrame(worker_->reply_fd(), wait_ms, reply);
  if (!valid || !got.ok() || reply.type != 'F') {
    Drop();
    return std::vector<uint8_t>();
  }
  return png;
}

}  // namespace dossier::ingest::internal
