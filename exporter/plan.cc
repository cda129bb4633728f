#include "exporter/plan.h"

#include <fmt/format.h>

#include <set>

namespace dossier::exporter {

Result<std::vector<PlannedPart>> PlanParts(const std::vector<PlanItem>& items, uint64_t limit,
                                           uint64_t per_part, uint64_t per_group,
                                           const std::string& limit_text) {
  if (per_part + per_group >= limit) {
    return InvalidArgument(fmt::format(
        "--max-part {} leaves no room for documents: each part needs about {} bytes for its "
        "index, manifest and README",
        limit_text, per_part + per_group));
  }
  const uint64_t room = limit - per_part;  // for items and their groups' records
  std::vector<PlannedPart> parts;
  std::vector<std::set<std::string>> groups_in;  // per part: groups it already pays for
  auto cost = [&](size_t part, const std::string& group) -> uint64_t {
    return group.empty() || groups_in[part].count(group) != 0 ? 0 : per_group;
  };
  auto add = [&](size_t part, size_t item) {
    const PlanItem& it = items[item];
    parts[part].bound += it.size + it.overhead + cost(part, it.group);
    if (!it.group.empty()) groups_in[part].insert(it.group);
    parts[part].items.push_back(item);
  };
  auto open_part = [&] {
    parts.push_back({{}, 0});
    groups_in.emplace_back();
    return parts.size() - 1;
  };
  size_t i = 0;
  while (i < items.size()) {
    size_t end = i + 1;
    if (!items[i].group.empty()) {
      while (end < items.size() && items[end].group == items[i].group) ++end;
    }
    uint64_t whole = items[i].group.empty() ? 0 : per_group;
    for (size_t k = i; k < end; ++k) {
      const PlanItem& it = items[k];
      const uint64_t need = it.size + it.overhead + (it.group.empty() ? 0 : per_group);
      if (need > room) {
        return Rejected(fmt::format(
            "document {} is {} bytes: larger than a part of --max-part {} can hold with its "
            "index ({} bytes). Give a larger --max-part, re-compress imaging with JPEG-LS, or "
            "send it on physical media",
            it.doc_id, it.size, limit_text, room));
      }
      whole += it.size + it.overhead;
    }
    // The whole group into the first part with room for it.
    size_t target = parts.size();
    for (size_t p = 0; p < parts.size(); ++p) {
      const uint64_t extra =
          whole - (items[i].group.empty() ? 0 : per_group) + cost(p, items[i].group);
      if (parts[p].bound + extra <= room) {
        target = p;
        break;
      }
    }
    if (target == parts.size() && whole <= room) target = open_part();
    if (target < parts.size()) {
      for (size_t k = i; k < end; ++k) add(target, k);
    } else {  // larger than a part: fill the last part, then new ones, item by item
      size_t p = parts.empty() ? open_part() : parts.size() - 1;
      for (size_t k = i; k < end; ++k) {
        const PlanItem& it = items[k];
        if (parts[p].bound + it.size + it.overhead + cost(p, it.group) > room) p = open_part();
        add(p, k);
      }
    }
    i = end;
  }
  for (auto& p : parts) p.bound += per_part;
  return parts;
}

}  // namespace dossier::exporter
