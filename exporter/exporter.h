// Dossier exports: consent gate, part planning and bundle writing (the export issue).
//
// For now: parsing the size limits managers give for parts ("25M", "1.5G").
#pragma once

#include <cstdint>
#include <string_view>

#include "common/status.h"

namespace dossier::exporter {

// "500000", "25MB" (decimal: 25,000,000, as mail providers count), "18M" and "18MiB" (binary:
// 18 × 2^20), likewise K/KB/KiB and G/GB/GiB, case-insensitive → bytes. kInvalidArgument
// listing the accepted forms for anything else, zero, or more than 1 TiB.
Result<uint64_t> ParseSize(std::string_view text);

}  // namespace dossier::exporter
