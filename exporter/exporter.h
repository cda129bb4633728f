// Dossier exports: consent gate, part planning and bundle writing (the export issue).
//
// For now: parsing the size limits managers give for parts ("25M", "1.5G").
#pragma once

#include <cstdint>
#include <string_view>

#include "common/status.h"

namespace dossier::exporter {

// "20000", "512K", "25M", "1.5G" (binary units, case-insensitive, optional "B"/"iB") → bytes.
// kInvalidArgument for anything else, zero, or more than 1 TiB.
Result<uint64_t> ParseSize(std::string_view text);

}  // namespace dossier::exporter
