// The case's patient, read from the vault once and only when a check needs them (the DICOM
// patient check, the OCR name check); held in memory only. Private to ingest/.
#pragma once

#include <optional>
#include <string>

#include "common/status.h"
#include "vault/vault.h"

namespace dossier::ingest::internal {

class CasePatient {
 public:
  CasePatient(vault::Vault& vault, const std::string& case_id) : vault_(vault), case_id_(case_id) {}

  // Valid as long as this object. Errors are the vault's.
  Result<const vault::PatientInfo*> Get() {
    if (!patient_) {
      DOSSIER_ASSIGN_OR_RETURN(vault::CaseRecord c, vault_.GetCase(case_id_));
      DOSSIER_ASSIGN_OR_RETURN(vault::PatientRecord p, vault_.GetPatient(c.patient_id));
      patient_ = std::move(p.info);
    }
    return &*patient_;
  }

 private:
  vault::Vault& vault_;
  const std::string& case_id_;
  std::optional<vault::PatientInfo> patient_;
};

}  // namespace dossier::ingest::internal
