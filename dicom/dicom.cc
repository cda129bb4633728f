#include "dicom/dicom.h"

#include <dcmtk/dcmdata/dcuid.h>

#include <cstring>

namespace dossier::dicom {
namespace {

bool IsVr(uint8_t a, uint8_t b) {
  static constexpr const char* kVrs[] = {"AE", "AS", "AT", "CS", "DA", "DS", "DT", "FL", "FD",
                                         "IS", "LO", "LT", "OB", "OD", "OF", "OL", "OW", "PN",
                                         "SH", "SL", "SQ", "SS", "ST", "TM", "UC", "UI", "UL",
                                         "UN", "UR", "US", "UT", "OV", "SV", "UV"};
  for (const char* vr : kVrs) {
    if (a == static_cast<uint8_t>(vr[0]) && b == static_cast<uint8_t>(vr[1])) return true;
  }
  return false;
}

}  // namespace

bool LooksLikeDicom(std::span<const uint8_t> head) {
  if (head.size() >= 132 && std::memcmp(head.data() + 128, "DICM", 4) == 0) return true;
  if (head.size() < 8) return false;
  const uint16_t group = static_cast<uint16_t>(head[0] | (head[1] << 8));
  const uint16_t element = static_cast<uint16_t>(head[2] | (head[3] << 8));
  if (group != 0x0002 && group != 0x0008) return false;
  if (element > 0x0020) return false;  // data sets start with low elements of their first group
  if (IsVr(head[4], head[5])) return true;
  const uint32_t length = head[4] | (head[5] << 8) | (head[6] << 16) | (uint32_t{head[7]} << 24);
  return length < 1024;  // implicit VR: a short first value
}

std::string LibraryVersion() { return std::string("DCMTK ") + OFFIS_DCMTK_VERSION_STRING; }

}  // namespace dossier::dicom
