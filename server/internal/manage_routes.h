// The handlers of the routes that change the vault's records, and of the ledger's readers
// (doc/API.md §Managing records, §Clinics and consents, §Requests, §Accounts): patients,
// cases, corrections to documents, clinics, consents, the request ledger, accounts. The role
// table (routes.cc) names them; its checks have run before any of them. Private to server/.
#pragma once

#include <initializer_list>
#include <nlohmann/json.hpp>

#include "common/status.h"
#include "server/internal/routes.h"

namespace dossier::server::internal {

// A field of a write route's JSON body: its name, its type ('s' string, 'b' true or false,
// 'a' array of strings) and whether it must be given.
struct BodyField {
  const char* name;
  char type;
  bool required = false;
};
// The body of a write route: `Content-Type: application/json`, one JSON object whose keys
// are among `fields`, each of its type, the required ones given, and at least one when none
// is required (an edit). kInvalidArgument naming the field — never echoing a value, which may
// be personal data. `what` names the object in messages ("a patient").
Result<nlohmann::json> ReadJsonBody(const Call& c, const char* what,
                                    std::initializer_list<BodyField> fields);

Status AddPatient(Call& c);
Status EditPatient(Call& c);
Status OpenCase(Call& c);
Status EditCase(Call& c);
Status CloseCase(Call& c);
Status ReopenCase(Call& c);
Status SetDocumentCategory(Call& c);
Status MoveDocument(Call& c);
Status RemoveDocument(Call& c);
Status ListClinics(Call& c);
Status AddClinic(Call& c);
Status EditClinic(Call& c);
Status ListConsents(Call& c);
Status ShowConsent(Call& c);
Status AddConsent(Call& c);
Status RevokeConsent(Call& c);
Status ListRequests(Call& c);
Status ShowRequest(Call& c);
Status ListUsers(Call& c);
Status AddUser(Call& c);
Status EditUser(Call& c);

}  // namespace dossier::server::internal
