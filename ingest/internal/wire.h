// Frames between the ingest parent and its unpack workers, over pipes. Private to ingest/.
//
// frame = type (1 byte) | payload length (u32 LE) | payload
// Requests (parent → worker, over a Unix socket; each is followed by one byte carrying the
// upload's descriptor as SCM_RIGHTS):
//   'U' unpack: "<display name>\0<limits k=v;…>"   'P' check a PDF: "<max bytes>" (one 'F')
//   'W' one whole file as a single entry: "<display name>"
//   'V' a preview of a DICOM instance: "" ('Q': the PNG)
//   'N' count pages: "<kind>" ('C')              'A' analyse a page: "<kind>\0<page>" ('G')
// Replies (worker → parent):
//   'B' entry begins: path          'D' entry data: bytes (≤ 1 MiB)
//   'E' entry ends: "\0" + digest, or reason    'R' refused: "path\0reason"
//   'S' skipped: "path\0group"      'F' item finished: "" or "<code>\0reason"
//   'M' the DICOM summary of the entry being sent (dicom::ToJson), after 'B' and before its
//       data; a DICOM entry that cannot be read ends with 'E' and its reason instead
//   'H' heartbeat                    'C' page count      'G' a page's analysis (JSON)
// The digest of a whole entry (common/content_digest.h) is computed by the worker on its own
// core, so the parent does not hash the bytes a second time.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"

namespace dossier::ingest::internal {

inline constexpr uint32_t kMaxFrame = (1u << 20) + 4096;
inline constexpr size_t kDigestBytes = 32;

struct Frame {
  char type = 0;
  std::string payload;
};

// Writes one frame; kIoError when the other side is gone.
Status WriteFrame(int fd, char type, std::span<const uint8_t> payload);
Status WriteFrame(int fd, char type, std::string_view payload);
// Reads one frame into `frame` (its buffer is reused: no allocation per 1 MiB of data),
// waiting at most `timeout_ms` (-1: forever). kNotFound at a clean end of stream,
// kLimitExceeded on timeout, kCorrupt on a malformed frame.
Status ReadFrame(int fd, int timeout_ms, Frame& frame);

// "a\0b" → {"a", "b"}
std::vector<std::string> SplitNul(const std::string& s);

}  // namespace dossier::ingest::internal
