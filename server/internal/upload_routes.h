// The handlers of the upload and job routes (doc/API.md §Uploads, §Jobs): multipart uploads,
// the tus 1.0 resumable protocol (core, creation, termination, expiration), batches, and
// jobs with their event streams. The role table (routes.cc) names them; its checks have run
// before any of them. Private to server/.
#pragma once

#include "common/status.h"
#include "server/internal/routes.h"
#include "vault/vault.h"

namespace dossier::server::internal {

class Job;

Status MultipartUpload(Call& c);
Status TusOptions(Call& c);
Status TusCreate(Call& c);
Status TusHead(Call& c);
Status TusPatch(Call& c);
Status TusDelete(Call& c);
Status CloseBatch(Call& c);
Status ListJobs(Call& c);
Status ShowJob(Call& c);
Status JobEvents(Call& c);

// Whether `who` may follow `job`: their own, or any job for a manager (who sees every case).
bool MayFollowJob(const vault::UserRecord& who, const Job& job);

}  // namespace dossier::server::internal
