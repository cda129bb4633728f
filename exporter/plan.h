// Splitting an export into parts before a byte is written (as Orthanc's archive job plans its
// archive): every part a self-contained archive no larger than the limit. Pure. Private to
// exporter/.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace dossier::exporter {

struct PlanItem {
  std::string doc_id;
  std::string group;  // the DICOM series it belongs to ("" for a document: a group of one)
  uint64_t size = 0;  // content bytes
  // What else the item adds to whichever part holds it, at most: its archive entry's
  // headers, its lines in INDEX.HTM and MANIFEST.json, its DICOMDIR record.
  uint64_t overhead = 0;
};

struct PlannedPart {
  std::vector<size_t> items;  // indexes into the plan's items, in order
  uint64_t bound = 0;         // upper bound of the part's size
};

// Packs `items` into parts of at most `limit` bytes, each also holding `per_part` bytes of its
// own (README.TXT, the headers of INDEX.HTM and MANIFEST.json, the part list, the archive's
// end records) and `per_group` more for each group it holds part of (a series' and study's
// DICOMDIR records). A group stays in one part when it fits one: whole groups go to the first
// part with room, in order; a group larger than a part fills parts by items. kRejected naming
// the document when one item alone cannot fit.
Result<std::vector<PlannedPart>> PlanParts(const std::vector<PlanItem>& items, uint64_t limit,
                                           uint64_t per_part, uint64_t per_group,
                                           const std::string& limit_text);

}  // namespace dossier::exporter
