// The imaging worker: DICOM instances de-identified and re-compressed for an export by a
// confined process (sandbox/worker.h), so that hostile bytes on a disc never run DCMTK in the
// process that holds the keys. The parent decrypts each instance into a sealed memfd and
// hands it over; the worker holds the export's UID key (it can only map UIDs) and nothing else.
//
// Two roles, one program (doc/FORMAT.md, "Imaging worker"):
//   `dossier __export-worker`   confined to writing inside one folder (descriptor 3):
//                               `dossier dicom export` has it write the files and the DICOMDIR;
//   `dossier __imaging-worker`  writes no file at all: `dossier export` has it return each
//                               transformed instance in a memfd the parent made.
//
//   ImagingWorkerOptions o;  o.confinement = …;
//   auto w = ImagingWorker::Start(o, "", uid_key);                  // no folder
//   auto t = w->Transform(instance_memfd, out_memfd, {.deidentify = true, …});
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/file_io.h"
#include "common/secure_buffer.h"
#include "common/status.h"
#include "dicom/dicom.h"
#include "sandbox/worker.h"

namespace dossier::exporter {

// Entry point of either role (main.cc): confines itself — writing only inside descriptor 3
// when `with_folder`, nowhere otherwise — then serves requests until stdin closes. Returns
// the exit code (5 when it could not be confined).
int RunImagingWorker(bool with_folder);

struct ImagingWorkerOptions : sandbox::WorkerOptions {
  // How long one request may take before the worker is stopped (default 120 s: a large
  // multi-frame instance re-compressed).
  int timeout_seconds = 120;
};

// What is done to each instance.
struct InstanceTransform {
  bool deidentify = false;   // dicom::Deidentify with the pseudonym below
  std::string patient_name;  // the pseudonym (deidentify only)
  std::string patient_id;
  bool jpeg_ls = false;  // lossless JPEG-LS where it helps (dicom::ExportOptions::jpeg_ls)
};

// One running worker, owned by the parent. Move-only; kills the child on destruction.
class ImagingWorker {
 public:
  // Starts the worker with the export's UID key (Vault::ExportUidKey): confined to `folder`
  // (`__export-worker`), or, when `folder` is empty, to writing nothing (`__imaging-worker`).
  // kInternal when it cannot start or be confined.
  static Result<ImagingWorker> Start(ImagingWorkerOptions options,
                                     const std::filesystem::path& folder,
                                     const SecureBuffer& uid_key);

  struct Written {
    uint64_t bytes = 0;
    bool recompressed = false;
    std::string kept_reason;  // with jpeg_ls: why the original encoding was kept, or ""
    bool burned_in = false;   // dicom::ExportedInstance::burned_in_annotation
  };
  // Folder role: de-identifies `instance` (a sealed memfd of a stored DICOM document) into
  // `file_id` ("DICOM/S001/IM0001") of the folder. kRejected when the instance cannot be read.
  Result<Written> Write(const std::string& file_id, const File& instance,
                        const std::string& patient_name, const std::string& patient_id,
                        bool jpeg_ls);
  // The folder's DICOMDIR for the files written (DCMTK's DicomDirInterface reads them back).
  Status WriteDicomdir(const std::vector<std::string>& file_ids);

  struct Transformed : Written {
    dicom::InstanceSummary summary;  // of the bytes written, checked by dicom::FromJson
  };
  // Either role: `instance` transformed as `how` says into `out`, an empty memfd of the
  // parent's (the worker writes it from offset 0; `bytes` is its length, which the parent
  // checks). kRejected when the instance cannot be read; kInternal when the worker fails.
  Result<Transformed> Transform(const File& instance, const File& out,
                                const InstanceTransform& how);

  // Why the worker runs unconfined (sandbox::Confinement::kBestEffort only), or "".
  const std::string& unconfined() const { return worker_.unconfined(); }

 private:
  ImagingWorker(sandbox::Worker worker, int timeout_seconds)
      : worker_(std::move(worker)), timeout_seconds_(timeout_seconds) {}
  Status Finish(const std::string& what);
  // The 'R' reply to a request about `what` (then its 'F'), with the summary when asked.
  Result<Transformed> Reply(const std::string& what, bool with_summary);
  sandbox::Worker worker_;
  int timeout_seconds_;
};

}  // namespace dossier::exporter
