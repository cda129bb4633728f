#include "ingest/internal/worker_protocol.h"

#include <fmt/format.h>
#include <unistd.h>

#include <charconv>
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

std::string EncodeRangeAsk(uint64_t offset, uint32_t length) {
  std::string out(12, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(offset >> (8 * i));
  for (int i = 0; i < 4; ++i) out[8 + i] = static_cast<char>(length >> (8 * i));
  return out;
}

bool DecodeRangeAsk(std::string_view payload, uint64_t& offset, uint32_t& length) {
  if (payload.size() != 12) return false;
  offset = 0;
  length = 0;
  for (int i = 0; i < 8; ++i) offset |= uint64_t{static_cast<uint8_t>(payload[i])} << (8 * i);
  for (int i = 0; i < 4; ++i) {
    length |= uint32_t{static_cast<uint8_t>(payload[8 + i])} << (8 * i);
  }
  return true;
}

namespace {
constexpr std::string_view kChannelPrefix = "channel=";
}  // namespace

std::string ChannelField(std::optional<uint64_t> bytes) {
  if (!bytes) return "";
  return std::string(1, '\0') + std::string(kChannelPrefix) + std::to_string(*bytes);
}

std::optional<uint64_t> ParseChannelField(const std::string& field) {
  if (field.rfind(kChannelPrefix, 0) != 0) return std::nullopt;
  const char* first = field.data() + kChannelPrefix.size();
  const char* last = field.data() + field.size();
  uint64_t bytes = 0;
  const auto [end, ec] = std::from_chars(first, last, bytes);
  if (ec != std::errc() || end != last || first == last) return std::nullopt;
  return bytes;
}

}  // namespace dossier::ingest::internal
