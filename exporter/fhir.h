// A consent record as an HL7 FHIR R4 `Consent` resource (https://hl7.org/fhir/R4/consent.html),
// for clinics and registries that read FHIR.
//
//   nlohmann::json r = exporter::ConsentToFhir(consent, clinic, settings, today);
//
// What it holds: status (active, or inactive once revoked or expired on `today`), scope
// patient-privacy, category LOINC 59284-0, the patient, when it was recorded, who agreed (the
// patient or their representative), the operator, the signed scan's digest and size (never its
// content), a policy rule (so invariant ppc-1 holds), and one permit provision: the validity
// period, the recipient clinic as information recipient, the actions, purposes and categories.
// Codes of ours use the systems urn:dossier:purpose and urn:dossier:category.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "common/status.h"
#include "vault/vault.h"

namespace dossier::exporter {

nlohmann::json ConsentToFhir(const vault::ConsentRecord& consent, const vault::ClinicRecord& clinic,
                             const vault::VaultSettings& settings, const std::string& today);
// `consent show ID --fhir`: the consent, its clinic, the vault's settings and today read from
// `v`, then ConsentToFhir. The vault's errors (kNotFound for an unknown consent).
Result<nlohmann::json> ConsentFhirJson(vault::Vault& v, const std::string& consent_id);

}  // namespace dossier::exporter
