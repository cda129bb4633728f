#include "exporter/fhir.h"

#include "common/encoding.h"

namespace dossier::exporter {
namespace {

using nlohmann::json;

json Coding(const char* system, std::string_view code, std::string_view display = {}) {
  json c = {{"system", system}, {"code", code}};
  if (!display.empty()) c["display"] = display;
  return c;
}

}  // namespace

json ConsentToFhir(const vault::ConsentRecord& c, const vault::ClinicRecord& clinic,
                   const vault::VaultSettings& settings, const std::string& today) {
  const vault::ConsentState state = c.StateOn(today);
  const bool inactive =
      state == vault::ConsentState::kRevoked || state == vault::ConsentState::kExpired;
  json r = {
      {"resourceType", "Consent"},
      {"id", c.id},
      {"status", inactive ? "inactive" : "active"},
      {"scope",
       {{"coding",
         {Coding("http://terminology.hl7.org/CodeSystem/consentscope", "patient-privacy",
                 "Privacy Consent")}}}},
      {"category", {{{"coding", {Coding("http://loinc.org", "59284-0", "Patient Consent")}}}}},
      {"patient", {{"reference", "Patient/" + c.patient_id}}},
      {"dateTime", c.recorded_at},
      {"policyRule",
       {{"coding",
         {Coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "OPTIN", "opt-in")}}}},
  };
  r["performer"] = json::array();
  if (c.representative.empty()) {
    r["performer"].push_back({{"reference", "Patient/" + c.patient_id}});
  } else {
    r["performer"].push_back({{"display", c.representative + " (" + c.authority + ")"}});
  }
  json organization = {{"display", settings.operator_name.empty() ? std::string("the operator")
                                                                  : settings.operator_name}};
  if (!settings.operator_country.empty()) {
    organization["identifier"] = {{"system", "urn:iso:std:iso:3166"},
                                  {"value", settings.operator_country}};
  }
  r["organization"] = json::array({organization});
  if (c.has_scan) {
    static const std::map<std::string, std::string> kTypes = {{"pdf", "application/pdf"},
                                                              {"jpeg", "image/jpeg"},
                                                              {"png", "image/png"},
                                                              {"tiff", "image/tiff"},
                                                              {"heic", "image/heic"}};
    json attachment = {{"contentType", kTypes.count(c.scan_kind) ? kTypes.at(c.scan_kind)
                                                                 : "application/octet-stream"},
                       {"size", c.scan_size},
                       {"title", "signed consent (kept in the vault)"},
                       {"creation", c.recorded_at}};
    if (!c.scan_sha256_hex.empty()) {
      attachment["extension"] = {
          {{"url", "urn:dossier:sha256"}, {"valueString", c.scan_sha256_hex}}};
    }
    r["sourceAttachment"] = attachment;
  }
  json provision = {
      {"type", "permit"},
      {"period", {{"start", c.valid_from}, {"end", c.valid_until}}},
      {"actor",
       {{{"role",
          {{"coding",
            {Coding("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "IRCP",
                    "information recipient")}}}},
         {"reference",
          {{"display", clinic.info.name},
           {"identifier", {{"system", "urn:dossier:clinic"}, {"value", clinic.id}}}}}}}},
      {"action",
       {{{"coding",
          {Coding("http://terminology.hl7.org/CodeSystem/consentaction", "disclose", "Disclose")}}},
        {{"coding",
          {Coding("http://terminology.hl7.org/CodeSystem/consentaction", "collect", "Collect")}}}}},
  };
  provision["purpose"] = json::array();
  for (Purpose p : c.purposes)
    provision["purpose"].push_back(Coding("urn:dossier:purpose", ToString(p)));
  provision["class"] = json::array();
  for (Category k : c.categories)
    provision["class"].push_back(Coding("urn:dossier:category", ToString(k)));
  r["provision"] = provision;
  if (state == vault::ConsentState::kRevoked) {
    r["extension"] = {{{"url", "urn:dossier:revoked"}, {"valueDate", c.revocation_received}}};
  }
  return r;
}

Result<nlohmann::json> ConsentFhirJson(vault::Vault& v, const std::string& consent_id) {
  DOSSIER_ASSIGN_OR_RETURN(vault::ConsentRecord c, v.GetConsent(consent_id));
  DOSSIER_ASSIGN_OR_RETURN(vault::ClinicRecord clinic, v.FindClinic(c.clinic_id));
  DOSSIER_ASSIGN_OR_RETURN(vault::VaultSettings settings, v.GetSettings());
  DOSSIER_ASSIGN_OR_RETURN(const std::string today, v.Today());
  return ConsentToFhir(c, clinic, settings, today);
}

}  // namespace dossier::exporter
