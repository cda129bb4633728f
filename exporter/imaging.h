// Imaging on its way out of the vault, shared by both exports: `dossier dicom export` (a
// de-identified folder for the operator, dicom_folder.h) and `dossier export --deidentify /
// --jpeg-ls` (the parts for a clinic, export.h). Each instance is decrypted by this process
// into a sealed memfd and transformed by the confined imaging worker (imaging_worker.h);
// this process never parses it.
//
//   auto spool = ImagingSpool::Create(partial_folder, options, uid_key, how);  // `dossier export`
//   auto t = spool->Add([&](ByteSink& s) { return vault.ReadDocumentForExport(…, s); }, series);
//   … plan with t->bytes and t->summary …
//   spool->Read(index, part_entry);
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/file_io.h"
#include "common/secure_buffer.h"
#include "common/status.h"
#include "exporter/imaging_worker.h"

namespace dossier::exporter {

// Where the n-th (1-based) instance of the series labelled `label` ("S001") lies in a
// file-set, in both exports: "DICOM/S001/IM0001".
std::string SeriesLabel(size_t index);  // 0-based → "S001"
std::string DicomFileId(const std::string& label, size_t n);

// What the imaging of an export came to, for the manager (ids and counts only).
struct ImagingStats {
  size_t instances = 0;
  size_t recompressed = 0;                  // JPEG-LS applied
  uint64_t bytes_in = 0;                    // as stored
  uint64_t bytes_out = 0;                   // as sent
  std::map<std::string, size_t> kept;       // why JPEG-LS was not applied → instances
  std::map<std::string, size_t> burned_in;  // series id → instances with text in the pixels
  void Add(const std::string& series_id, uint64_t stored, const ImagingWorker::Written& w);
};

// One line per series with text burned into its images, for the manager: "ser_…: 2
// instance(s) have text burned into the image (BurnedInAnnotation = YES): names may be visible
// in the pixels — look at them before sending".
std::vector<std::string> BurnedInWarnings(const ImagingStats& stats);

// Decrypts one document through `read` (a vault call writing its plaintext into the sink)
// straight into a sealed memfd for the worker.
using ReadInstance = std::function<Status(ByteSink& sink)>;
Result<File> InstanceInMemory(const ReadInstance& read, uint64_t* size);

// `dossier export`'s transformed instances. The plan needs their sizes before a part is
// written, and a disc does not fit in memory: each instance is transformed once, before the
// plan, and kept in a spool file inside the export's `DIR.partial` folder, encrypted
// (crypto_secretstream_xchacha20poly1305 in 64 KiB chunks, its index as associated data)
// under a random key that exists only in this object's memory. Parts read it back from there.
// The spool is removed by Remove(), with the folder on failure, and is unreadable ciphertext
// if a crash leaves it (the next export to the folder removes that). Not thread-safe.
class ImagingSpool {
 public:
  // Starts the worker (no folder: it writes nothing) with the export's UID key.
  static Result<std::unique_ptr<ImagingSpool>> Create(const std::filesystem::path& folder,
                                                      const ImagingWorkerOptions& options,
                                                      const SecureBuffer& uid_key,
                                                      const InstanceTransform& how);
  ~ImagingSpool();
  ImagingSpool(const ImagingSpool&) = delete;
  ImagingSpool& operator=(const ImagingSpool&) = delete;

  // Transforms the instance `read` decrypts and appends it as the next index (0, 1, …);
  // counts it in stats() under `series_id`. kRejected when the worker cannot read it.
  Result<ImagingWorker::Transformed> Add(const ReadInstance& read, const std::string& series_id);
  // Writes instance `index`, as transformed, into `sink`; kCorrupt if the spool was changed.
  Status Read(size_t index, ByteSink& sink);
  // Deletes the spool file (its instances are in the parts by then).
  Status Remove();

  const ImagingStats& stats() const { return stats_; }
  // Why the worker runs unconfined (--allow-unconfined-workers), or "".
  const std::string& unconfined() const { return worker_.unconfined(); }

 private:
  ImagingSpool(ImagingWorker worker, File file, std::filesystem::path path,
               const InstanceTransform& how);
  Status Append(const File& plain, uint64_t size);
  Status Flush();

  struct Slot {
    uint64_t offset = 0;  // of its stream header in the spool
    uint64_t size = 0;    // plaintext bytes
  };
  ImagingWorker worker_;
  File file_;
  std::filesystem::path path_;
  InstanceTransform how_;
  SecureBuffer key_;
  std::vector<Slot> slots_;
  std::vector<uint8_t> pending_;  // ciphertext not yet written
  uint64_t end_ = 0;              // spool length, pending included
  ImagingStats stats_;
};

}  // namespace dossier::exporter
