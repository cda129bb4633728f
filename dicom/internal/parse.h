// Parsing DICOM from memory, shared by the summary and the export code. Private to dicom/.
#pragma once

#include <cstdint>
#include <span>

#include "common/status.h"

class DcmFileFormat;

namespace dossier::dicom::internal {

// Registers the decoders once, then parses `bytes` into `ff` (transfer syntax detected).
// kRejected with the reason a patient can act on: not DICOM, truncated, damaged.
Status Parse(std::span<const uint8_t> bytes, DcmFileFormat& ff);

}  // namespace dossier::dicom::internal
