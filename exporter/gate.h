// The consent gate of an export (Clinic requests 2/3): nothing about a patient leaves for a
// clinic unless one active consent of theirs covers that clinic, the transfer, the purpose,
// today, and the category of every document chosen. Pure: the caller reads the consents.
//
//   DOSSIER_ASSIGN_OR_RETURN(GateDecision d, CheckConsent(consents, request));
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/category.h"
#include "common/status.h"
#include "vault/vault.h"

namespace dossier::exporter {

struct GateDocument {
  std::string id;  // doc_… (never a file name: those are personal data)
  Category category = Category::kOther;
};

struct GateRequest {
  std::string patient_id;
  std::string clinic_id;
  std::optional<Purpose> purpose;  // --purpose; default: the consent's, when it has one
  std::string today;               // YYYY-MM-DD in the vault's time zone
  std::vector<GateDocument> documents;
};

struct GateDecision {
  std::string consent_id;
  Purpose purpose = Purpose::kSecondOpinion;
};

// The consent that covers `request`. Otherwise kRejected with the precise reason, from the
// consent for this clinic that comes closest (an active one before one not yet valid, before
// an expired one, before a revoked one): no consent for the clinic; revoked on DATE; expired
// on DATE; valid only from DATE; no transfer allowed; purpose not covered; categories not
// covered, naming each document by id and category. kInvalidArgument when no --purpose was
// given and the consent covers several.
Result<GateDecision> CheckConsent(const std::vector<vault::ConsentRecord>& consents,
                                  const GateRequest& request);

}  // namespace dossier::exporter
