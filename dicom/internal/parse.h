// Parsing DICOM from memory and writing it back, shared by the summary and the export code.
// Private to dicom/.
#pragma once

#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcxfer.h>

#include <cstdint>
#include <span>
#include <vector>

#include "common/status.h"

namespace dossier::dicom::internal {

// How the values of a parse are held: copied into DCMTK's elements, or, kInPlace, those
// longer than 4 KiB (the pixel data) left in `bytes` and read from there only when asked, so
// that a summary does not copy a slice's pixels. With kInPlace `bytes` must outlive `ff`.
enum class Values { kCopied, kInPlace };

// Registers the decoders once, then parses `bytes` into `ff` (transfer syntax detected).
// kRejected with the reason a patient can act on: not DICOM, truncated, damaged.
Status Parse(std::span<const uint8_t> bytes, DcmFileFormat& ff, Values values = Values::kCopied);

// Writes `ff` as a Part 10 file in `xfer` (EWM_fileformat keeps a meta header and creates a
// missing one; EWM_createNewMeta always writes a fresh one).
Result<std::vector<uint8_t>> Serialize(DcmFileFormat& ff, E_TransferSyntax xfer,
                                       E_FileWriteMode mode);

}  // namespace dossier::dicom::internal
