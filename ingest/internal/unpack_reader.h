// The frame decoder for one item sent to the unpack worker: reads the worker's answers
// (doc/FORMAT.md, "Unpack worker protocol") and turns them into report lines and stored
// entries. The parent trusts nothing the worker says: every path must lie inside this item
// and be safe, the item's limits are counted here too, and any breach of the protocol ends
// the item as if the worker crashed. Private to ingest/.
//
//   UnpackReader reader(slot, store, options, progress, sink);
//   DOSSIER_RETURN_IF_ERROR(reader.Read(planned, input, sniffed.kind, /*whole=*/false));
#pragma once

#include <cstdint>
#include <string>

#include "common/file_io.h"
#include "common/status.h"
#include "ingest/ingest.h"
#include "ingest/internal/entry_store.h"
#include "ingest/internal/item.h"
#include "ingest/internal/item_input.h"
#include "ingest/internal/progress.h"
#include "ingest/internal/range_server.h"
#include "ingest/internal/walk.h"
#include "ingest/internal/worker_slot.h"
#include "sandbox/frame.h"

namespace dossier::ingest::internal {

// Where the lines of an item go (the ingest pipeline).
class ItemSink {
 public:
  virtual ~ItemSink() = default;
  // A line of the report: an entry, or the item itself.
  virtual void Add(Item item) = 0;
  // An entry's line, which the pipeline may hold back as disc viewer software when
  // `executable`.
  virtual void AddEntry(Item item, bool executable) = 0;
  // An entry ended in the store, before its line is added: files what the worker said of it
  // (its DICOM summary). Errors are the vault's.
  virtual Status Ended(Item& item) = 0;
};

class UnpackReader {
 public:
  // Keeps references to all of them.
  UnpackReader(WorkerSlot& worker, EntryStore& store, const IngestOptions& options,
               Progress& progress, ItemSink& sink)
      : worker_(worker), store_(store), options_(options), progress_(progress), sink_(sink) {}

  // Sends `input` (planned as `p`, sniffed as `kind`) to the worker to be unpacked — or,
  // `whole`, sent back as a single entry (DICOM, summarised by the worker) — and reads its
  // answers until the item ends. Errors are the vault's, or no worker could run; everything
  // the worker does wrong is the item's report. An upload reaches the worker through a range
  // channel: a request that breaks its rules is a breach of the protocol, and when the
  // upload's own bytes cannot be had the item (or its entry) is refused with the upload's
  // reason, not the unpacker's.
  Status Read(const PlannedItem& p, const ItemInput& input, const std::string& kind, bool whole);

 private:
  Status ReadReplies();
  // The upload's failure to give its bytes, if it failed, else `worker_said`.
  std::string Reason(std::string worker_said) const;
  // One frame of the item's answers: false when the item has ended.
  Result<bool> Handle(const sandbox::Frame& frame);
  // The item ends early: the worker is replaced, the open entry (or the item) carries
  // `reason`.
  void LoseWorker(const std::string& reason);
  // A breach of the protocol: as LoseWorker, after killing the worker.
  void Violation(const std::string& what);
  bool Inside(const std::string& path) const;
  // A refused or skipped line, listed one by one up to kMaxListedPerItem, then counted.
  void List(Item item, bool executable);
  // The lines for what was counted instead of listed.
  void Summarize();
  void RejectItem(std::string reason);

  WorkerSlot& worker_;
  EntryStore& store_;
  const IngestOptions& options_;
  Progress& progress_;
  ItemSink& sink_;
  // The item being read.
  const PlannedItem* item_ = nullptr;
  std::string kind_;
  std::string prefix_;  // its display path and "/": every entry's path starts so
  bool whole_ = false;
  RangeServer* range_ = nullptr;  // serving the item's range channel, if it has one
  uint64_t entries_ = 0, bytes_ = 0, unlisted_refused_ = 0, unlisted_skipped_ = 0;
  size_t listed_ = 0;  // refused and skipped lines of this item, capped
};

}  // namespace dossier::ingest::internal
