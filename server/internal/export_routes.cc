// An export to a clinic over HTTP: `dossier export` as a job, its parts kept in the server's
// exports folder for the manager to download, and deleted once kept long enough.
#include "server/internal/export_routes.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <httplib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <set>
#include <system_error>

#include "common/category.h"
#include "common/clock.h"
#include "common/ids.h"
#include "exporter/export.h"
#include "exporter/exporter.h"
#include "report/report.h"
#include "server/internal/errors.h"
#include "server/internal/jobs.h"
#include "server/internal/manage_routes.h"
#include "server/internal/state.h"

namespace dossier::server::internal {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

void SendJson(httplib::Response& res, const json& body, int status = 200) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

fs::path ExportsDir(const ServerState& s) { return s.options.exports_dir; }

// The parts' file names, in order, as the ledger lists them.
std::vector<std::string> PartNames(const json& request) {
  std::vector<std::string> out;
  for (const auto& p : request["parts"]) out.push_back(p["name"].get<std::string>());
  return out;
}

}  // namespace

// POST /api/cases/{id}/exports: `dossier export --case ID`, as a job. The body:
// {"recipient" (clinic id or name), "docs", "purpose", "urgent", "max_part", "inventory_only",
// "include_handwritten"}. The parts are AES-256 ZIPs under a password the server generates,
// given once in the job's result. 202 {"job"}.
Status StartExport(Call& c) {
  DOSSIER_ASSIGN_OR_RETURN(json body, ReadJsonBody(c, "an export",
                                                   {{"recipient", 's', true},
                                                    {"docs", 'a'},
                                                    {"purpose", 's'},
                                                    {"urgent", 'b'},
                                                    {"max_part", 's'},
                                                    {"inventory_only", 'b'},
                                                    {"include_handwritten", 'b'}}));
  exporter::ExportRequest r;
  r.case_id = c.id;
  r.recipient = body["recipient"].get<std::string>();
  if (body.contains("docs")) r.docs = body["docs"].get<std::vector<std::string>>();
  for (const auto& id : r.docs) {
    const IdKind kind = KindOfId(id);
    if (kind != IdKind::kDocument && kind != IdKind::kSeries) {
      return InvalidArgument("`docs` takes document (doc_…) and DICOM series (ser_…) ids");
    }
  }
  if (body.contains("purpose")) {
    r.purpose = ParsePurpose(body["purpose"].get<std::string>());
    if (!r.purpose) return InvalidArgument("`purpose` takes one of " + AllPurposeNames());
  }
  r.urgent = body.value("urgent", false);
  r.inventory_only = body.value("inventory_only", false);
  r.include_handwritten = body.value("include_handwritten", false);
  if (body.contains("max_part")) {
    r.max_part_text = body["max_part"].get<std::string>();
    auto size = exporter::ParseSize(r.max_part_text);
    if (!size.ok()) return InvalidArgument("`max_part` " + size.status().message());
    r.max_part = *size;
  }
  r.clock = &c.state.clock;
  const fs::path dir = ExportsDir(c.state);
  if (dir.empty()) return Internal("the server has no exports folder");
  vault::Vault* v = &c.vault;
  ServerState* state = &c.state;
  const vault::Actor actor{c.who->user.id, std::string(vault::RoleName(c.who->user.role))};
  auto job = c.state.jobs->Submit(
      {c.who->user.id, c.owner.patient_id, c.id, "export"},
      [v, state, actor, r, dir, patient = c.owner.patient_id](Job& j) mutable -> Status {
        vault::ActingAs acting(*v, actor);
        // Written beside the kept exports under the job's name, moved to the export's id once
        // every part was read back; nothing is left of a failed one.
        r.out = dir / ("." + j.id());
        r.password = exporter::GeneratePassword();
        auto rep = exporter::Export(*v, r, [&](int, int, uint64_t done, uint64_t total) {
          JobProgress p;
          p.bytes_done = done;
          p.bytes_total = total;
          j.SetProgress(p);
        });
        if (!rep.ok()) {
          std::error_code ec;
          fs::remove_all(r.out, ec);
          return rep.status();
        }
        std::error_code ec;
        fs::rename(r.out, dir / rep->export_id, ec);
        if (ec) {
          fs::remove_all(r.out, ec);
          return IoError("cannot keep the export's parts in the exports folder");
        }
        {
          std::lock_guard<std::mutex> lock(state->exports_mu);
          state->exports[rep->export_id] = {rep->request_id, patient, state->clock.Now()};
        }
        json result = exporter::ExportReportJson(*rep);
        result["encrypted"] = true;
        result["sealing"] = "zip-aes256";
        result["download"] = "/api/exports/" + rep->export_id;
        j.SetResult(std::move(result));
        j.SetSecret("password", r.password);
        return Status::Ok();
      });
  c.res.set_header("Location", "/api/jobs/" + job->id());
  SendJson(c.res, {{"job", job->id()}}, 202);
  return Status::Ok();
}

// GET /api/exports/{id}: the request as `export show --json` says it, with where each part is
// downloaded and until when it is kept.
Status ShowExport(Call& c) {
  if (!c.req.params.empty()) return InvalidArgument("this takes no query");
  DOSSIER_ASSIGN_OR_RETURN(json out, report::RequestDetailJson(c.vault, c.id));
  const auto created = ParseUtc(out["sent_at"].get<std::string>());
  const auto until = created ? *created + c.state.options.export_keep : c.state.clock.Now();
  const fs::path folder = ExportsDir(c.state) / c.id;
  std::error_code ec;
  const bool kept = !ExportsDir(c.state).empty() && fs::is_directory(folder, ec);
  json downloads = json::array();
  const auto names = PartNames(out);
  for (size_t n = 1; kept && n <= names.size(); ++n) {
    downloads.push_back(fmt::format("/api/exports/{}/parts/{}", c.id, n));
  }
  out["downloads"] = downloads;
  out["kept_until"] = FormatUtc(until);
  out["kept"] = kept;
  SendJson(c.res, out);
  return Status::Ok();
}

// GET /api/exports/{id}/parts/{n}: the n-th part (from 1), as written: an AES-256 ZIP the
// clinic opens with the password. `Range` resumes a cut download. Each download is on record
// as `export.download`.
Status ExportPart(Call& c) {
  const std::string& n_text = c.sub;
  if (n_text.empty() || n_text.size() > 4 ||
      n_text.find_first_not_of("0123456789") != std::string::npos || std::stoi(n_text) < 1) {
    return InvalidArgument("the part is its number, from 1");
  }
  const size_t n = std::stoul(n_text);
  DOSSIER_ASSIGN_OR_RETURN(json request, report::RequestDetailJson(c.vault, c.id));
  const auto names = PartNames(request);
  if (n > names.size()) {
    return NotFound(
        fmt::format("export {} has {} part{}", c.id, names.size(), names.size() == 1 ? "" : "s"));
  }
  const fs::path file = ExportsDir(c.state) / c.id / names[n - 1];
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    return Rejected(fmt::format(
        "the parts of export {} are no longer kept (they are deleted {} days after the export): "
        "export again",
        c.id, c.state.options.export_keep.count() / 86400));
  }
  auto closer = std::shared_ptr<int>(new int(fd), [](int* p) {
    ::close(*p);
    delete p;
  });
  struct stat st {};
  if (::fstat(fd, &st) != 0) return IoError("cannot read the part");
  std::shared_ptr<void> slot = LongSlot(c);
  if (!slot) return Status::Ok();
  const auto total = static_cast<uint64_t>(st.st_size);
  if (!RangeIsServed(c, total)) return Status::Ok();
  c.res.set_header("Content-Disposition", "attachment; filename=\"" + names[n - 1] + "\"");
  vault::Vault* v = &c.vault;
  const vault::Actor actor{c.who->user.id, std::string(vault::RoleName(c.who->user.role))};
  const std::vector<std::string> objects = {c.id, request["request_id"].get<std::string>()};
  const std::string patient = c.owner.patient_id;
  c.res.set_content_provider(
      total, "application/zip",
      // Called for the whole part, or once for a range: each is a download on record before
      // its first byte (a HEAD, which sends none, is not).
      [closer, slot, total, v, actor, objects, patient](size_t offset, size_t length,
                                                        httplib::DataSink& sink) {
        if (offset >= total || length > total - offset) return false;
        vault::ActingAs acting(*v, actor);
        if (!v->RecordAccessEvent("export.download", objects, patient, "ok").ok()) return false;
        std::vector<char> buf(std::min<size_t>(length, 1 << 20));
        while (length > 0) {
          const ssize_t got = ::pread(*closer, buf.data(), std::min(buf.size(), length),
                                      static_cast<off_t>(offset));
          if (got <= 0) return false;
          if (!sink.write(buf.data(), static_cast<size_t>(got))) return false;
          offset += static_cast<size_t>(got);
          length -= static_cast<size_t>(got);
        }
        return true;
      });
  return Status::Ok();
}

void ExpireExports(vault::Vault& vault, ServerState& state) {
  const fs::path dir = ExportsDir(state);
  if (dir.empty()) return;
  const auto now = state.clock.Now();
  std::vector<std::pair<std::string, ServerState::KeptExport>> due;
  {
    std::lock_guard<std::mutex> lock(state.exports_mu);
    for (auto it = state.exports.begin(); it != state.exports.end();) {
      if (now - it->second.created >= state.options.export_keep) {
        due.emplace_back(it->first, it->second);
        it = state.exports.erase(it);
      } else {
        ++it;
      }
    }
  }
  vault::ActingAs server(vault, {"server", "server"});
  for (const auto& [export_id, kept] : due) {
    std::error_code ec;
    fs::remove_all(dir / export_id, ec);
    (void)vault.RecordAccessEvent("export.expired", {export_id, kept.request_id}, kept.patient_id,
                                  ec ? "failed" : "ok");
  }
}

Status KeepExports(vault::Vault& vault, ServerState& state) {
  const fs::path dir = ExportsDir(state);
  if (dir.empty()) return Status::Ok();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || ::chmod(dir.c_str(), 0700) != 0) {
    return IoError("cannot make the exports folder " + dir.string());
  }
  std::set<std::string> folders;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(".job_", 0) == 0) {
      fs::remove_all(entry.path(), ec);  // an export job the last server did not finish
    } else if (KindOfId(name) == IdKind::kExport) {
      folders.insert(name);
    }
  }
  if (folders.empty()) return Status::Ok();
  vault::ActingAs server(vault, {"server", "server"});
  DOSSIER_ASSIGN_OR_RETURN(auto requests, vault.ListRequests(std::nullopt));
  std::lock_guard<std::mutex> lock(state.exports_mu);
  for (const auto& r : requests) {
    if (folders.count(r.export_id) == 0) continue;
    const auto created = ParseUtc(r.created_at);
    state.exports[r.export_id] = {r.id, r.patient_id, created ? *created : state.clock.Now()};
  }
  return Status::Ok();
}

}  // namespace dossier::server::internal
