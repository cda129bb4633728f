// DICOM knowledge of Dossier. DCMTK types never appear in this header.
//
// For now: recognising DICOM bytes (with or without the Part 10 preamble) and naming the
// DCMTK in use. Parsing, summaries, DICOMDIR and de-identification come with the DICOM issue.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace dossier::dicom {

// True when `head` (the first bytes of a file, ideally ≥ 132) is DICOM: either the Part 10
// preamble + "DICM", or a bare data set starting with a group 0002/0008 element in explicit
// or implicit little-endian VR (as some discs store files without a meta header).
bool LooksLikeDicom(std::span<const uint8_t> head);

// "DCMTK 3.6.7" — the library this build links.
std::string LibraryVersion();

}  // namespace dossier::dicom
