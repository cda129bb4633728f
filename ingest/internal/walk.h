// The walk over the paths of an upload: every file named or found in a folder, in order,
// without following symbolic links — or the files of an upload through the server, checked
// and put in the same order. Private to ingest/.
//
//   std::vector<PlannedItem> plan;
//   DOSSIER_RETURN_IF_ERROR(PlanPaths(paths, options, plan));
//   for (const PlannedItem& p : plan) ...;   // p.refuse non-empty: refused before reading
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "ingest/ingest.h"

namespace dossier::ingest::internal {

// One file of the upload, before a byte of it is read.
struct PlannedItem {
  std::filesystem::path source;
  std::string display;  // the path shown to the user and stored (encrypted) as the name
  uint64_t size = 0;
  bool in_folder = false;  // found by walking a folder (not named on the command line)
  size_t root = 0;         // which argument it came from
  std::string refuse;      // non-empty: refused before reading (not a regular file, ...)
  // Set for an upload through the server (then `source` is empty): where its bytes are.
  std::shared_ptr<UploadSource> upload;
};

// Appends the files of every path to `out`, folders walked in sorted order. Every path is
// checked first: when any is missing, unreadable, a link or neither a file nor a folder,
// nothing is planned and the error names each bad path and says nothing was stored
// (kNotFound when all of them are missing, else kRejected). kLimitExceeded past
// IngestOptions::max_files, kIoError when a folder cannot be listed. Anything found in a
// folder that is not a regular file is planned as refused.
Status PlanPaths(const std::vector<std::filesystem::path>& paths, const IngestOptions& options,
                 std::vector<PlannedItem>& out);

// Appends the files of an upload through the server to `out`, in the order a folder is
// walked (component by component: "CD/A/x" before "CD/A-B/y"). A file whose path has a
// folder is planned as found in a folder, grouped with the others of its first folder; a
// file without one is its own group. When any path is unsafe — empty, absolute, with a
// "..", "." or empty component, a backslash, a control character, not UTF-8, longer than
// 4096 bytes — or given twice, or a file has no source, nothing is planned and the
// kInvalidArgument names each such path. kLimitExceeded past IngestOptions::max_files.
Status PlanUploads(const std::vector<UploadFile>& files, const IngestOptions& options,
                   std::vector<PlannedItem>& out);

}  // namespace dossier::ingest::internal
