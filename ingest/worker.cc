#include "ingest/worker.h"

#include <string>

#include "ingest/internal/worker_protocol.h"
#include "sandbox/frame.h"

namespace dossier::ingest {

Result<UnpackWorker> UnpackWorker::Start(const WorkerOptions& options) {
  DOSSIER_ASSIGN_OR_RETURN(sandbox::Worker w, sandbox::Worker::Start(options));
  return UnpackWorker(std::move(w));
}

Status UnpackWorker::Send(char type, std::string_view payload, const File& file) {
  DOSSIER_RETURN_IF_ERROR(sandbox::WriteFrame(request_fd(), type, payload));
  return sandbox::SendFd(request_fd(), file.fd());
}

Status UnpackWorker::SendCheckPdf(const File& file, uint64_t max_bytes,
                                  std::optional<uint64_t> channel) {
  return Send('P', std::to_string(max_bytes) + internal::ChannelField(channel), file);
}

Status UnpackWorker::SendCountPages(const File& file, const std::string& kind) {
  return Send('N', kind, file);
}

Status UnpackWorker::SendAnalyzePage(const File& file, const std::string& kind, int page,
                                     bool verdict_first) {
  std::string fields = kind + '\0' + std::to_string(page);
  if (verdict_first) fields += std::string(1, '\0') + "verdict-first";
  return Send('A', fields, file);
}

Status UnpackWorker::SendPreview(const File& file) { return Send('V', std::string_view(), file); }

Status UnpackWorker::SendJpegCopy(const File& file) { return Send('J', std::string_view(), file); }

Status UnpackWorker::SendWhole(const File& file, const std::string& display,
                               std::optional<uint64_t> channel) {
  return Send('W', display + internal::ChannelField(channel), file);
}

Status UnpackWorker::SendUnpack(const File& file, const std::string& display,
                                const UnpackLimits& limits, std::optional<uint64_t> channel) {
  return Send(
      'U', display + '\0' + internal::EncodeLimits(limits) + internal::ChannelField(channel), file);
}

}  // namespace dossier::ingest
