// What both ends of the unpack worker protocol (doc/FORMAT.md) share beyond the frames of
// sandbox/frame.h: the limits of an unpack request, and the range channel on which a worker
// asks its parent for the bytes of an upload that is not a file (random_input.h is the
// worker's end, range_server.h the parent's). Private to ingest/.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/file_io.h"
#include "common/status.h"
#include "ingest/unpack.h"

namespace dossier::ingest::internal {

// UnpackLimits as the text of a 'U' request ("total=…;entry=…;…"), and back.
std::string EncodeLimits(const UnpackLimits& limits);
UnpackLimits DecodeLimits(const std::string& text);

// The largest range a worker may ask for at once — and so the most of an upload the parent
// holds for it at a time.
inline constexpr uint32_t kMaxRange = uint32_t{1} << 20;

// Frames on a range channel: the worker asks ('r': offset u64 LE, length u32 LE), the parent
// answers with exactly those bytes ('d') or says why it cannot ('e': a message). A read ahead
// ('a', the same payload) asks for the bytes the worker expects to need next, while it works
// on those it has: answered the same way, in order, but a refusal of it is not held against
// the item (the worker asks again with 'r' if it does need them).
inline constexpr char kRangeAsk = 'r';
inline constexpr char kRangeAhead = 'a';
inline constexpr char kRangeData = 'd';
inline constexpr char kRangeError = 'e';
std::string EncodeRangeAsk(uint64_t offset, uint32_t length);
// False when `payload` is not 12 bytes.
bool DecodeRangeAsk(std::string_view payload, uint64_t& offset, uint32_t& length);

// The last field of a 'U', 'W' or 'P' request whose descriptor is a range channel over
// `bytes` bytes: "channel=<bytes>" (with the NUL before it), or "" for a plain descriptor.
std::string ChannelField(std::optional<uint64_t> bytes);
// That field read back: the size, or nullopt when `field` is not one.
std::optional<uint64_t> ParseChannelField(const std::string& field);

}  // namespace dossier::ingest::internal
