#include "server/internal/upload_routes.h"

#include <fmt/format.h>
#include <httplib.h>
#include <sodium.h>

#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/encoding.h"
#include "common/ids.h"
#include "server/internal/errors.h"
#include "server/internal/jobs.h"
#include "server/internal/spool.h"
#include "server/internal/state.h"
#include "server/internal/uploads.h"

namespace dossier::server::internal {

namespace {

using nlohmann::json;

constexpr const char* kTusVersion = "1.0.0";

void SendJson(httplib::Response& res, const json& body, int status) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

// RFC 7231's date, as Upload-Expires carries it: "Sun, 29 Nov 2026 15:00:00 GMT".
std::string HttpDate(TimePoint t) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

// A header that must be a decimal number of bytes; nullopt when absent or not one.
std::optional<uint64_t> NumberHeader(const httplib::Request& req, const char* name) {
  const std::string v = req.get_header_value(name);
  if (v.empty() || v.size() > 19 || v.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return std::stoull(v);
}

// Every tus request but OPTIONS says which version it speaks (tus 1.0 §Tus-Resumable).
bool TusVersionOk(Call& c) {
  c.res.set_header("Tus-Resumable", kTusVersion);
  if (c.req.get_header_value("Tus-Resumable") == kTusVersion) return true;
  c.res.set_header("Tus-Version", kTusVersion);
  SendError(c.res, ApiError::kPrecondition,
            "this server speaks tus 1.0.0: send Tus-Resumable: 1.0.0");
  return false;
}

// Upload-Metadata: "key base64,key base64,key" (tus 1.0 §Upload-Metadata).
Result<std::map<std::string, std::string>> ParseMetadata(const std::string& text) {
  std::map<std::string, std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find(',', pos);
    if (end == std::string::npos) end = text.size();
    std::string pair = text.substr(pos, end - pos);
    pair.erase(0, pair.find_first_not_of(' '));
    const size_t space = pair.find(' ');
    const std::string key = pair.substr(0, space);
    std::string value;
    if (space != std::string::npos) {
      auto bytes = FromBase64(pair.substr(space + 1));
      if (!bytes) {
        return InvalidArgument("Upload-Metadata: the value of `" + key.substr(0, 40) +
                               "` is not base64");
      }
      value.assign(bytes->begin(), bytes->end());
    }
    if (key.empty()) return InvalidArgument("Upload-Metadata: a pair without a key");
    out[key] = value;
    pos = end + 1;
  }
  return out;
}

bool SafeBatchName(const std::string& b) {
  return !b.empty() && b.size() <= 64 &&
         b.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") ==
             std::string::npos;
}

// The role's size limit for one upload, before a byte is taken (413).
bool WithinSize(Call& c, uint64_t length) {
  const Status st = c.state.uploads->CheckSize(c.who->user, length);
  if (!st.ok()) SendError(c.res, ApiError::kTooLarge, st.message());
  return st.ok();
}

// The answer to a refused Uploads::Create: its limits are 429, the rest as any failure.
Status CreateFailed(Call& c, const Status& st) {
  if (st.code() == StatusCode::kLimitExceeded) {
    SendError(c.res, ApiError::kQuota, st.message());
    return Status::Ok();
  }
  return st;
}

// Bytes on their way into a spool file, gathered up to the next chunk boundary so that each
// chunk is sealed once (doc/FORMAT.md §Upload spool). The buffer is wiped when done.
class SpoolWriter {
 public:
  SpoolWriter(Uploads& uploads, Upload& up) : uploads_(uploads), up_(up) {
    buf_.reserve(Spool::kChunkBytes);
  }
  ~SpoolWriter() { sodium_memzero(buf_.data(), buf_.capacity()); }
  uint64_t offset() const { return up_.file->offset() + buf_.size(); }
  Status Write(const char* data, size_t n) {
    while (n > 0) {
      const size_t part = std::min<uint64_t>(n, Spool::kChunkBytes - offset() % Spool::kChunkBytes);
      buf_.insert(buf_.end(), data, data + part);
      data += part;
      n -= part;
      if (offset() % Spool::kChunkBytes == 0) DOSSIER_RETURN_IF_ERROR(Flush());
    }
    return Status::Ok();
  }
  Status Flush() {
    if (buf_.empty()) return Status::Ok();
    Status st = uploads_.Append(up_, {buf_.data(), buf_.size()});
    sodium_memzero(buf_.data(), buf_.size());
    buf_.clear();
    return st;
  }

 private:
  Uploads& uploads_;
  Upload& up_;
  std::vector<uint8_t> buf_;
};

// A clinic's reply, filed by a manager (`where` names how it came): the request it answers,
// checked against the case's requests before a byte comes (a refusal is on record as
// `export.reply`).
Result<std::string> ReplyTo(Call& c, const std::string& target, const std::string& where) {
  if (c.who->user.role != vault::Role::kManager) {
    return InvalidArgument(where + " is for a manager filing a clinic's reply");
  }
  if (KindOfId(target) != IdKind::kRequest && KindOfId(target) != IdKind::kExport) {
    return InvalidArgument(where + " takes the request id the clinic quotes (req_…)");
  }
  return c.vault.ReplyTarget(target, c.id);
}

std::string TusLocation(const std::string& case_id, const std::string& upload_id) {
  return "/api/cases/" + case_id + "/tus/" + upload_id;
}

}  // namespace

bool MayFollowJob(const vault::UserRecord& who, const Job& job) {
  return who.role == vault::Role::kManager || job.owner().user_id == who.id;
}

// ---- tus -------------------------------------------------------------------------------------

Status TusOptions(Call& c) {
  c.res.status = 204;
  c.res.set_header("Tus-Resumable", kTusVersion);
  c.res.set_header("Tus-Version", kTusVersion);
  c.res.set_header("Tus-Extension", "creation,termination,expiration");
  c.res.set_header("Tus-Max-Size",
                   std::to_string(c.state.uploads->LimitsOf(c.who->user.role).per_upload));
  return Status::Ok();
}

Status TusCreate(Call& c) {
  if (!TusVersionOk(c)) return Status::Ok();
  const auto length = NumberHeader(c.req, "Upload-Length");
  if (!length) {
    return InvalidArgument(c.req.has_header("Upload-Defer-Length")
                               ? "send Upload-Length: uploads of a length not known in advance "
                                 "are not taken"
                               : "send Upload-Length, the file's size in bytes");
  }
  if (NumberHeader(c.req, "Content-Length").value_or(0) > 0) {
    return InvalidArgument("send the bytes with PATCH: creation with upload is not supported");
  }
  const std::string metadata = c.req.get_header_value("Upload-Metadata");
  DOSSIER_ASSIGN_OR_RETURN(auto meta, ParseMetadata(metadata));
  auto field = [&](const char* key) {
    auto it = meta.find(key);
    return it == meta.end() ? std::string() : it->second;
  };
  std::string path = field("relativePath");
  if (path.empty()) path = field("filename");
  if (path.empty()) {
    return InvalidArgument(
        "Upload-Metadata needs `filename` (and `relativePath` for a file of a folder)");
  }
  const std::string batch = field("batch");
  if (meta.count("batch") && !SafeBatchName(batch)) {
    return InvalidArgument("Upload-Metadata: `batch` must be 1 to 64 letters, digits, _ or -");
  }
  std::string reply_to;
  if (meta.count("reply_to")) {
    DOSSIER_ASSIGN_OR_RETURN(reply_to,
                             ReplyTo(c, field("reply_to"), "Upload-Metadata: `reply_to`"));
  }
  if (!WithinSize(c, *length)) return Status::Ok();
  DOSSIER_RETURN_IF_ERROR(CaseTakesUploads(c.vault, c.id));
  auto up = c.state.uploads->Create(c.who->user, c.id, c.owner.patient_id, *length, path, batch,
                                    metadata);
  if (!up.ok()) return CreateFailed(c, up.status());
  (*up)->reply_to = reply_to;
  c.state.uploads->StartArriving(*up);
  c.res.status = 201;
  c.res.set_header("Location", TusLocation(c.id, (*up)->id));
  c.res.set_header("Upload-Expires", HttpDate((*up)->expires));
  // An empty file is complete at once.
  if (*length == 0) {
    c.state.uploads->EndWrite(**up);
    if (!(*up)->job_id.empty()) c.res.set_header("Dossier-Job", (*up)->job_id);
  }
  return Status::Ok();
}

Status TusHead(Call& c) {
  if (!TusVersionOk(c)) return Status::Ok();
  auto up = c.state.uploads->Find(c.sub, c.who->user.id, c.id);
  if (!up) {
    SendError(c.res, ApiError::kNotFound,
              "no such upload: it expired, was cancelled, or the server restarted — start again");
    return Status::Ok();
  }
  c.res.status = 200;
  c.res.set_header("Upload-Offset", std::to_string(up->file->offset()));
  c.res.set_header("Upload-Length", std::to_string(up->file->length()));
  if (!up->metadata.empty()) c.res.set_header("Upload-Metadata", up->metadata);
  if (!up->file->complete()) c.res.set_header("Upload-Expires", HttpDate(up->expires));
  if (!up->job_id.empty()) c.res.set_header("Dossier-Job", up->job_id);
  return Status::Ok();
}

Status TusPatch(Call& c) {
  if (!TusVersionOk(c)) return Status::Ok();
  if (c.req.get_header_value("Content-Type") != "application/offset+octet-stream") {
    SendError(c.res, ApiError::kMediaType,
              "send the bytes as Content-Type: application/offset+octet-stream");
    return Status::Ok();
  }
  auto up = c.state.uploads->Find(c.sub, c.who->user.id, c.id);
  if (!up) {
    SendError(c.res, ApiError::kNotFound,
              "no such upload: it expired, was cancelled, or the server restarted — start again");
    return Status::Ok();
  }
  const auto offset = NumberHeader(c.req, "Upload-Offset");
  if (!offset) return InvalidArgument("send Upload-Offset, where these bytes begin");
  const uint64_t at = up->file->offset();
  if (*offset != at) {
    c.res.set_header("Upload-Offset", std::to_string(at));
    SendError(
        c.res, ApiError::kConflict,
        fmt::format("the upload is at byte {}, not {}: resume from byte {}", at, *offset, at));
    return Status::Ok();
  }
  const uint64_t room = up->file->length() - at;
  const auto declared = NumberHeader(c.req, "Content-Length");
  if (declared && *declared > room) {
    SendError(c.res, ApiError::kTooLarge,
              fmt::format("the body goes past Upload-Length ({} bytes): send at most {} more",
                          up->file->length(), room));
    return Status::Ok();
  }
  std::shared_ptr<void> slot;
  if (c.body) {
    slot = LongSlot(c);
    if (!slot) return Status::Ok();
  }
  DOSSIER_RETURN_IF_ERROR(c.state.uploads->BeginWrite(*up));
  Status failed;
  bool past_end = false;
  {
    SpoolWriter writer(*c.state.uploads, *up);
    if (c.body) {
      (*c.body)([&](const char* data, size_t n) {
        if (c.state.stopping.load()) return false;  // shutting down: cut, the rest is lost
        if (writer.offset() + n > up->file->length()) {
          past_end = true;
          return false;
        }
        failed = writer.Write(data, n);
        return failed.ok();
      });
    }
    if (failed.ok()) failed = writer.Flush();
  }
  c.state.uploads->EndWrite(*up);
  DOSSIER_RETURN_IF_ERROR(failed);
  c.res.set_header("Upload-Offset", std::to_string(up->file->offset()));
  if (past_end) {
    SendError(c.res, ApiError::kTooLarge,
              fmt::format("the body goes past Upload-Length ({} bytes): the bytes up to it are "
                          "kept",
                          up->file->length()));
    return Status::Ok();
  }
  c.res.status = 204;
  if (!up->file->complete()) c.res.set_header("Upload-Expires", HttpDate(up->expires));
  if (!up->job_id.empty()) c.res.set_header("Dossier-Job", up->job_id);
  return Status::Ok();
}

Status TusDelete(Call& c) {
  if (!TusVersionOk(c)) return Status::Ok();
  auto up = c.state.uploads->Find(c.sub, c.who->user.id, c.id);
  if (!up) {
    SendError(c.res, ApiError::kNotFound, "no such upload: it expired or was cancelled already");
    return Status::Ok();
  }
  if (!up->job_id.empty()) {
    return Rejected("this upload is complete and being stored: remove the document instead");
  }
  DOSSIER_RETURN_IF_ERROR(c.state.uploads->BeginWrite(*up));
  c.state.uploads->Terminate(up->id);
  c.res.status = 204;
  return Status::Ok();
}

Status CloseBatch(Call& c) {
  if (!SafeBatchName(c.sub)) {
    return InvalidArgument("a batch is named by 1 to 64 letters, digits, _ or -");
  }
  DOSSIER_ASSIGN_OR_RETURN(std::string job, c.state.uploads->CloseBatch(c.who->user, c.id, c.sub));
  c.res.set_header("Location", "/api/jobs/" + job);
  SendJson(c.res, {{"job", job}}, 202);
  return Status::Ok();
}

// ---- Multipart -------------------------------------------------------------------------------

Status MultipartUpload(Call& c) {
  const std::string type = c.req.get_header_value("Content-Type");
  if (type.rfind("multipart/form-data", 0) != 0 || c.body == nullptr) {
    SendError(c.res, ApiError::kMediaType,
              "send the files as multipart/form-data, in the field `files`");
    return Status::Ok();
  }
  const auto length = NumberHeader(c.req, "Content-Length");
  if (!length) return InvalidArgument("send Content-Length: the size of the whole request");
  if (*length > c.state.options.max_multipart_bytes) {
    SendError(c.res, ApiError::kTooLarge,
              fmt::format("this request is {}; a form upload takes at most {} — send larger "
                          "files with the resumable upload (tus)",
                          DecimalSize(*length), DecimalSize(c.state.options.max_multipart_bytes)));
    return Status::Ok();
  }
  if (!WithinSize(c, *length)) return Status::Ok();
  DOSSIER_RETURN_IF_ERROR(CaseTakesUploads(c.vault, c.id));
  for (const auto& [name, value] : c.req.params) {
    if (name != "reply_to") {
      return InvalidArgument("?" + name.substr(0, 40) + "= is not asked here: only ?reply_to=");
    }
  }
  // A clinic's reply sent as a form: ?reply_to=, checked before a byte is read.
  std::string reply_to;
  if (c.req.has_param("reply_to")) {
    DOSSIER_ASSIGN_OR_RETURN(reply_to, ReplyTo(c, c.req.get_param_value("reply_to"), "?reply_to="));
  }
  std::shared_ptr<void> slot = LongSlot(c);
  if (!slot) return Status::Ok();

  Uploads& uploads = *c.state.uploads;
  std::vector<std::shared_ptr<Upload>> files;
  std::unique_ptr<SpoolWriter> writer;
  Status failed;
  bool quota = false;
  auto finish_part = [&]() -> Status {
    if (!writer) return Status::Ok();
    Status st = writer->Flush();
    writer.reset();
    uploads.EndWrite(*files.back());
    files.back()->file->Finish();
    return st;
  };
  const bool read = (*c.body)(
      [&](const httplib::MultipartFormData& part) {
        failed = finish_part();
        if (!failed.ok()) return false;
        if (part.name != "files") {
          failed = InvalidArgument("unknown field `" + part.name.substr(0, 40) +
                                   "`: send the files in the field `files`");
          return false;
        }
        // A browser sends a folder's files with their relative paths as file names.
        auto up =
            uploads.Create(c.who->user, c.id, c.owner.patient_id, *length, part.filename, "", "");
        if (!up.ok()) {
          quota = up.status().code() == StatusCode::kLimitExceeded;
          failed = up.status();
          return false;
        }
        failed = uploads.BeginWrite(**up);
        if (!failed.ok()) return false;
        files.push_back(std::move(up).value());
        writer = std::make_unique<SpoolWriter>(uploads, *files.back());
        return true;
      },
      [&](const char* data, size_t n) {
        if (c.state.stopping.load() || !writer) return false;
        failed = writer->Write(data, n);
        return failed.ok();
      });
  if (failed.ok()) failed = finish_part();
  if (failed.ok() && !read) failed = InvalidArgument("the upload was cut short: send it again");
  if (failed.ok() && files.empty()) {
    failed = InvalidArgument("no files: send them in the field `files`");
  }
  if (!failed.ok()) {
    if (writer) uploads.EndWrite(*files.back());
    for (const auto& f : files) uploads.Terminate(f->id);
    if (quota) return CreateFailed(c, failed);
    return failed;
  }
  files.front()->reply_to = reply_to;  // the job's files are one reply, as its first says
  const std::string job = uploads.IngestNow(std::move(files));
  c.res.set_header("Location", "/api/jobs/" + job);
  SendJson(c.res, {{"job", job}}, 202);
  return Status::Ok();
}

// ---- Jobs ------------------------------------------------------------------------------------

Status ListJobs(Call& c) {
  json out = json::array();
  for (const auto& job :
       c.state.jobs->List([&](const Job& j) { return MayFollowJob(c.who->user, j); })) {
    json snap = job->Snapshot();
    snap.erase("result");  // one job at a time shows its report
    out.push_back(std::move(snap));
  }
  SendJson(c.res, out, 200);
  return Status::Ok();
}

Status ShowJob(Call& c) {
  SendJson(c.res, c.job->Snapshot(/*reveal=*/true), 200);
  return Status::Ok();
}

Status JobEvents(Call& c) {
  std::shared_ptr<void> slot = LongSlot(c);
  if (!slot) return Status::Ok();
  std::shared_ptr<Job> job = c.job;
  ServerState* state = &c.state;
  auto seen = std::make_shared<uint64_t>(0);
  c.res.set_chunked_content_provider("text/event-stream", [job, state, seen, slot](
                                                              size_t, httplib::DataSink& sink) {
    // Up to 15 s for news, a second at a time: a stopping server ends the stream at once.
    uint64_t now = job->version();
    for (int i = 0; i < 15 && now == *seen && !job->finished() && !state->stopping.load(); ++i) {
      now = job->Wait(*seen, std::chrono::seconds(1));
    }
    if (state->stopping.load()) {
      sink.done();
      return true;
    }
    std::string event;
    if (now == *seen && !job->finished()) {
      event = ": still working\n\n";  // keeps proxies from closing a quiet stream
    } else {
      *seen = now;
      const bool end = job->finished();
      json snap = job->Snapshot(/*reveal=*/end);
      if (!end) snap.erase("result");
      event = std::string("event: ") + (end ? "end" : "progress") +
              "\ndata: " + snap.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
    }
    if (!sink.write(event.data(), event.size())) return false;
    if (job->finished() && *seen == job->version()) {
      sink.done();
    } else {
      // At most ten events a second: a progress bar needs no more.
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return true;
  });
  return Status::Ok();
}

}  // namespace dossier::server::internal
