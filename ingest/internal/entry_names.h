// The names of archive entries: decoding (CP866 ZIPs), printing, suffixes. The public
// checks built on them — SafeEntryPath, SkipGroupForName — are declared in unpack.h.
// Private to ingest/.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace dossier::ingest::internal {

// Longest entry name accepted, in bytes.
inline constexpr size_t kMaxNameBytes = 4096;

// ZIPs made by Russian Windows store names in CP866 without the UTF-8 flag: `raw` decoded
// as CP866, or unchanged when it cannot be.
std::string FromCp866(std::string_view raw);
// A refused name as it may be shown: control characters replaced, at most 200 bytes, UTF-8.
std::string PrintableName(std::string s);
// ASCII lower case.
std::string Lower(std::string s);
bool EndsWith(std::string_view s, std::string_view suffix);
// The name of a single compressed file's content: its own name without the compression
// suffix ("scans/note.txt.gz" → "note.txt"); the name itself when it has none.
std::string StreamName(const std::string& path);

}  // namespace dossier::ingest::internal
