// The two kinds of RandomInput (unpack.h) a worker reads an item from: the descriptor it was
// handed, read with pread, or one end of a range channel (doc/FORMAT.md, "Range channel"),
// on which it asks its parent for the bytes — at most kMaxRange at a time — of an upload that
// is not a file here (ingest::UploadSource: the server's encrypted spool). The parent's end
// is range_server.h. Worker side; private to ingest/.
//
//   auto input = DescriptorInput(std::move(file));             // 'U' with a plain descriptor
//   auto input = ChannelInput(std::move(socket), 734003200);   // 'U' … "\0channel=734003200"
//   DOSSIER_RETURN_IF_ERROR(Unpack(**input, "disc.iso", limits, sink));
#pragma once

#include <cstdint>
#include <memory>

#include "common/file_io.h"
#include "common/status.h"
#include "ingest/unpack.h"

namespace dossier::ingest::internal {

// `file`, read at any offset (its own offset is never used); its size is taken now.
Result<std::unique_ptr<RandomInput>> DescriptorInput(File file);

// Tests only (DOSSIER_WORKER_FAULT "range-outside:TEXT" / "range-too-long:TEXT", for an
// item whose name holds TEXT): the channel's first request breaks the protocol.
enum class RangeFault { kNone, kOutside, kTooLong };

// The bytes of `size` bytes behind the range channel `channel`. A read asks for them in
// pieces of at most kMaxRange and waits for each answer; the parent's refusal ('e') becomes
// kIoError with the parent's message.
std::unique_ptr<RandomInput> ChannelInput(File channel, uint64_t size,
                                          RangeFault fault = RangeFault::kNone);

}  // namespace dossier::ingest::internal
