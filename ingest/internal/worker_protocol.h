// What both ends of the unpack worker protocol (doc/FORMAT.md) share beyond the frames of
// sandbox/frame.h: the limits of an unpack request, and reading a document a descriptor
// carries. Private to ingest/.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/file_io.h"
#include "common/status.h"
#include "ingest/unpack.h"

namespace dossier::ingest::internal {

// UnpackLimits as the text of a 'U' request ("total=…;entry=…;…"), and back.
std::string EncodeLimits(const UnpackLimits& limits);
UnpackLimits DecodeLimits(const std::string& text);

}  // namespace dossier::ingest::internal
