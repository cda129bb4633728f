#include "ingest/internal/worker_protocol.h"

#include <fmt/format.h>
#include <unistd.h>

#include <map>
#include <sstream>

namespace dossier::ingest::internal {

std::string EncodeLimits(const UnpackLimits& l) {
  return fmt::format("total={};entry={};entries={};ratio={};floor={};depth={};nested={};pdf={}",
                     l.total_bytes, l.entry_bytes, l.entries, l.ratio, l.ratio_floor, l.depth,
                     l.nested_archive_bytes, l.pdf_check_bytes);
}

UnpackLimits DecodeLimits(const std::string& text) {
  std::map<std::string, uint64_t> kv;
  std::istringstream in(text);
  std::string item;
  while (std::getline(in, item, ';')) {
    const auto eq = item.find('=');
    if (eq != std::string::npos) kv[item.substr(0, eq)] = std::stoull(item.substr(eq + 1));
  }
  UnpackLimits l;
  l.total_bytes = kv["total"];
  l.entry_bytes = kv["entry"];
  l.entries = kv["entries"];
  l.ratio = kv["ratio"];
  l.ratio_floor = kv["floor"];
  l.depth = static_cast<int>(kv["depth"]);
  l.nested_archive_bytes = kv["nested"];
  l.pdf_check_bytes = kv["pdf"];
  return l;
}

}  // namespace dossier::ingest::internal
