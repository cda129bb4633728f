// Supervision of the ingest's unpack worker (ingest/worker.h): at most one runs at a time,
// started when a request needs it, restarted once when a send fails, stopped and replaced
// when it crashes, hangs or misbehaves. Records in the report how each one was lost and
// whether it ran unconfined. The short requests — a PDF check, a DICOM preview — are asked
// and answered here; the long one (unpacking an item) is read by UnpackReader. Private to
// ingest/.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/file_io.h"
#include "common/status.h"
#include "ingest/ingest.h"
#include "ingest/internal/item_input.h"
#include "ingest/worker.h"

namespace dossier::ingest::internal {

class WorkerSlot {
 public:
  // Keeps references to both.
  WorkerSlot(const WorkerOptions& options, IngestReport& report)
      : options_(options), report_(report) {}

  // Sends a request, restarting the worker once if the previous one had gone away. kInternal
  // when no worker can run (then the ingest stops).
  Status Send(const std::function<Status(UnpackWorker&)>& send);
  // Where the running worker's replies arrive; only after a successful Send().
  int reply_fd() const { return worker_->reply_fd(); }
  bool running() const { return worker_.has_value(); }
  // Kills and forgets the worker (it misbehaved, or its item ran out of time).
  void Drop();
  // The worker went away while `doing` ("unpacker", "PDF check"): `got` is how the read of its
  // reply failed. Drops it and returns the reason for the item it was working on; a crash is
  // added to IngestReport::worker_crashes.
  std::string Lost(const Status& got, const char* doing);

  // Opens a PDF with Poppler in the worker: why it is refused, or "" when it opens. Fails
  // only if no worker can run.
  Result<std::string> CheckPdf(const ItemInput& input, uint64_t max_bytes);
  // The worker's PNG preview of the DICOM instance in `instance` (a sealed memfd); empty
  // when it cannot be rendered or the worker misbehaved (then it is dropped).
  Result<std::vector<uint8_t>> Preview(const File& instance);

 private:
  Status Ensure();

  const WorkerOptions& options_;
  IngestReport& report_;
  std::optional<UnpackWorker> worker_;
};

}  // namespace dossier::ingest::internal
