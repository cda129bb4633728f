// The bytes of one planned item (walk.h) as the ingest reads them — a file on disk
// (IngestPaths) or an upload through the server (IngestUploads) — and how the unpack worker
// is handed them: a reopened descriptor of the file, or a range channel served from the
// upload (range_server.h). This process reads an item itself only to sniff its head and to
// store a plain file, 1 MiB at a time. Private to ingest/.
//
//   DOSSIER_ASSIGN_OR_RETURN(auto input, OpenItem(planned));
//   auto n = input->ReadFull(head);                        // from the start
//   DOSSIER_ASSIGN_OR_RETURN(Handoff h, input->ForWorker());
//   worker.SendUnpack(h.file, planned.display, limits, h.channel);
//   h.Sent();
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "common/file_io.h"
#include "common/status.h"
#include "ingest/internal/range_server.h"
#include "ingest/internal/walk.h"

namespace dossier::ingest::internal {

// What one worker request carries: a descriptor the worker reads itself, or — `channel` set —
// its end of a range channel over that many bytes, which `server` serves until it is stopped
// (or destroyed).
struct Handoff {
  File file;
  std::optional<uint64_t> channel;
  std::unique_ptr<RangeServer> server;
  // The request went: this process's copy of the worker's end closes, so that the server
  // sees the channel close when the worker is done with it.
  void Sent() { file = File(); }
};

class ItemInput {
 public:
  virtual ~ItemInput() = default;
  // Up to buf.size() bytes from where the last read ended; 0 at the end. An error is the
  // item's (its report line says it).
  virtual Result<size_t> Read(std::span<uint8_t> buf) = 0;
  // Reads until `buf` is full or the item ends; returns the count.
  Result<size_t> ReadFull(std::span<uint8_t> buf);
  // The whole item, from its start, for one worker request.
  virtual Result<Handoff> ForWorker() const = 0;
};

// Opens `p`: its upload, or its file (an error when that is no longer a regular file).
Result<std::unique_ptr<ItemInput>> OpenItem(const PlannedItem& p);

}  // namespace dossier::ingest::internal
