#include "exporter/gate.h"

#include <fmt/format.h>

#include <algorithm>

namespace dossier::exporter {
namespace {

std::string Join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out;
}

template <typename T>
std::string Names(const std::vector<T>& values) {
  std::vector<std::string> names;
  for (T v : values) names.emplace_back(ToString(v));
  return Join(names);
}

// How close a consent comes: lower is closer.
int Rank(vault::ConsentState s) {
  switch (s) {
    case vault::ConsentState::kActive:
      return 0;
    case vault::ConsentState::kNotYetValid:
      return 1;
    case vault::ConsentState::kExpired:
      return 2;
    case vault::ConsentState::kRevoked:
      return 3;
  }
  return 4;
}

// Why `c` does not cover `r` (Ok with the decision when it does).
Result<GateDecision> Covers(const vault::ConsentRecord& c, const GateRequest& r) {
  switch (c.StateOn(r.today)) {
    case vault::ConsentState::kRevoked:
      return Rejected(fmt::format(
          "consent {} was revoked on {}: nothing goes to clinic {} until a new consent is "
          "recorded",
          c.id, c.revocation_received.empty() ? c.revoked_at.substr(0, 10) : c.revocation_received,
          r.clinic_id));
    case vault::ConsentState::kExpired:
      return Rejected(
          fmt::format("consent {} expired on {}: record a new consent", c.id, c.valid_until));
    case vault::ConsentState::kNotYetValid:
      return Rejected(fmt::format("consent {} is valid only from {}", c.id, c.valid_from));
    case vault::ConsentState::kActive:
      break;
  }
  if (c.actions.find("transfer") == std::string::npos) {
    return Rejected(fmt::format("consent {} does not allow transfer to the clinic (it allows: {})",
                                c.id, c.actions));
  }
  GateDecision d;
  d.consent_id = c.id;
  if (r.purpose) {
    if (std::find(c.purposes.begin(), c.purposes.end(), *r.purpose) == c.purposes.end()) {
      return Rejected(fmt::format("consent {} does not cover the purpose {} (it covers: {})", c.id,
                                  ToString(*r.purpose), Names(c.purposes)));
    }
    d.purpose = *r.purpose;
  } else if (c.purposes.size() == 1) {
    d.purpose = c.purposes[0];
  } else {
    return InvalidArgument(
        fmt::format("consent {} covers several purposes ({}): say which with --purpose", c.id,
                    Names(c.purposes)));
  }
  std::vector<std::string> uncovered;
  for (const GateDocument& doc : r.documents) {
    if (std::find(c.categories.begin(), c.categories.end(), doc.category) == c.categories.end()) {
      uncovered.push_back(fmt::format("{} ({})", doc.id, ToString(doc.category)));
    }
  }
  if (!uncovered.empty()) {
    return Rejected(fmt::format(
        "consent {} does not cover {} of the chosen documents: {}; it covers {}. Leave them out "
        "with --docs, or record a consent that covers them",
        c.id, uncovered.size() == 1 ? "one" : std::to_string(uncovered.size()), Join(uncovered),
        Names(c.categories)));
  }
  return d;
}

}  // namespace

Result<GateDecision> CheckConsent(const std::vector<vault::ConsentRecord>& consents,
                                  const GateRequest& request) {
  std::vector<const vault::ConsentRecord*> mine;
  for (const auto& c : consents) {
    if (c.patient_id == request.patient_id && c.clinic_id == request.clinic_id) mine.push_back(&c);
  }
  if (mine.empty()) {
    return Rejected(
        fmt::format("patient {} has no consent for clinic {}: record one with `dossier consent add "
                    "--patient {} --clinic {} …`",
                    request.patient_id, request.clinic_id, request.patient_id, request.clinic_id));
  }
  // The closest first; among equals, the one recorded last.
  std::stable_sort(mine.begin(), mine.end(), [&](const auto* a, const auto* b) {
    const int ra = Rank(a->StateOn(request.today)), rb = Rank(b->StateOn(request.today));
    if (ra != rb) return ra < rb;
    return a->recorded_at > b->recorded_at;
  });
  std::optional<Status> first_refusal;
  for (const auto* c : mine) {
    auto d = Covers(*c, request);
    if (d.ok()) return d;
    if (!first_refusal) first_refusal = d.status();
  }
  return *first_refusal;
}

}  // namespace dossier::exporter
