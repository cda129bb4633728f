// The imaging worker (`dossier __export-worker`, `dossier __imaging-worker`) and the parent's
// ImagingWorker that drives it.
#include "exporter/imaging_worker.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <clocale>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sandbox/frame.h"

namespace dossier::exporter {
namespace {

using sandbox::WriteFrame;

// The largest transformed instance the folder-less worker may write into its memfd: a bound
// on what a subverted worker can make the parent read (RLIMIT_FSIZE applies to memfds too).
constexpr uint64_t kMaxInstanceBytes = uint64_t{4} << 30;

// "DICOM/S001/IM0001": 1–8 upper-case letters, digits or '_' per component, at most 8 deep.
bool ValidFileId(const std::string& id) {
  size_t start = 0, depth = 0;
  while (start <= id.size()) {
    size_t end = id.find('/', start);
    if (end == std::string::npos) end = id.size();
    const size_t n = end - start;
    if (n < 1 || n > 8 || ++depth > 8) return false;
    for (size_t i = start; i < end; ++i) {
      const char c = id[i];
      if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
    }
    start = end + 1;
  }
  return true;
}

// Writes `bytes` as `id` under the current folder (the export folder), making its folders.
Status WriteExportFile(const std::string& id, const std::vector<uint8_t>& bytes) {
  for (size_t slash = id.find('/'); slash != std::string::npos; slash = id.find('/', slash + 1)) {
    const std::string dir = id.substr(0, slash);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return ErrnoError("cannot create", dir, errno);
    }
  }
  const int fd = ::open(id.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoError("cannot create", id, errno);
  File f(fd, id);
  return f.WriteAll(bytes);
}

// Writes `bytes` into the parent's memfd from its start.
Status WriteMemoryFile(const File& out, const std::vector<uint8_t>& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n =
        ::pwrite(out.fd(), bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return ErrnoError("cannot write", "the transformed instance", errno);
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

InstanceTransform TransformOf(const nlohmann::json& j) {
  InstanceTransform how;
  how.deidentify = j.value("deidentify", true);  // 'X' requests always de-identify
  how.patient_name = j.value("patient_name", dicom::ExportOptions().patient_name);
  how.patient_id = j.value("patient_id", dicom::ExportOptions().patient_id);
  how.jpeg_ls = j.value("jpeg_ls", false);
  return how;
}

Result<dicom::ExportedInstance> Apply(const std::vector<uint8_t>& bytes,
                                      const InstanceTransform& how, const dicom::UidMap& map_uid) {
  if (how.deidentify) {
    dicom::ExportOptions options;
    options.patient_name = how.patient_name;
    options.patient_id = how.patient_id;
    options.jpeg_ls = how.jpeg_ls;
    return dicom::Deidentify(bytes, options, map_uid);
  }
  if (how.jpeg_ls) return dicom::RecompressJpegLs(bytes);
  dicom::ExportedInstance same;  // nothing asked: as stored
  same.bytes = bytes;
  return same;
}

nlohmann::json WrittenJson(const dicom::ExportedInstance& r) {
  return {{"bytes", r.bytes.size()},
          {"recompressed", r.recompressed},
          {"kept_reason", r.kept_reason},
          {"burned_in", r.burned_in_annotation}};
}

}  // namespace

int RunImagingWorker(bool with_folder) {
  ::signal(SIGPIPE, SIG_IGN);
  std::setlocale(LC_CTYPE, "C.UTF-8");
  if (with_folder) {
    // The folder the parent passed: the worker works in it, then lets go of the descriptor.
    const File folder(sandbox::kWritableDirFd, "the export folder");
    if (::fchdir(folder.fd()) != 0) return 1;
    if (!sandbox::EnterWorker(folder.fd()).ok()) return 5;
  } else if (!sandbox::EnterWorker(-1).ok()) {
    return 5;
  }
  sandbox::Frame request;
  dicom::UidMap map_uid;
  for (;;) {
    const Status got = sandbox::ReadFrame(STDIN_FILENO, -1, request);
    if (!got.ok()) return got.code() == StatusCode::kNotFound ? 0 : 1;
    Status st;
    if (request.type == 'K' && request.payload.size() == 32) {
      map_uid = dicom::KeyedUidMap(
          {reinterpret_cast<const uint8_t*>(request.payload.data()), request.payload.size()});
    } else if (request.type == 'X' && map_uid && with_folder) {
      auto file = sandbox::RecvFd(STDIN_FILENO);
      if (!file.ok()) return 1;
      const nlohmann::json j = nlohmann::json::parse(request.payload, nullptr, false);
      if (!j.is_object() || !j.value("file", nlohmann::json()).is_string()) return 1;
      const std::string id = j["file"];
      auto bytes = sandbox::ReadWhole(*file);
      st = bytes.status();
      if (st.ok() && !ValidFileId(id)) st = InvalidArgument("bad file ID " + id);
      if (st.ok()) {
        auto r = Apply(*bytes, TransformOf(j), map_uid);
        st = r.status();
        if (st.ok()) st = WriteExportFile(id, r->bytes);
        if (st.ok()) st = WriteFrame(STDOUT_FILENO, 'R', WrittenJson(*r).dump());
      }
    } else if (request.type == 'T' && map_uid) {
      auto file = sandbox::RecvFd(STDIN_FILENO);
      if (!file.ok()) return 1;
      auto out = sandbox::RecvFd(STDIN_FILENO);
      if (!out.ok()) return 1;
      const nlohmann::json j = nlohmann::json::parse(request.payload, nullptr, false);
      if (!j.is_object()) return 1;
      auto bytes = sandbox::ReadWhole(*file);
      st = bytes.status();
      if (st.ok()) {
        auto r = Apply(*bytes, TransformOf(j), map_uid);
        st = r.status();
        if (st.ok()) {  // what the parent lists in the part's DICOMDIR: the bytes it gets
          auto summary = dicom::Summarize(r->bytes);
          st = summary.status();
          if (st.ok()) st = WriteMemoryFile(*out, r->bytes);
          if (st.ok()) {
            nlohmann::json reply = WrittenJson(*r);
            reply["summary"] = dicom::ToJson(*summary);
            st = WriteFrame(STDOUT_FILENO, 'R', reply.dump());
          }
        }
      }
    } else if (request.type == 'Y' && with_folder) {
      std::vector<std::string> ids = sandbox::SplitNul(request.payload);
      st = std::all_of(ids.begin(), ids.end(), ValidFileId)
               ? dicom::WriteDicomdir(".", ids, "DOSSIER")
               : InvalidArgument("bad file ID in the DICOMDIR request");
    } else {
      return 1;
    }
    const std::string done =
        st.ok() ? std::string() : std::to_string(static_cast<int>(st.code())) + '\0' + st.message();
    if (!WriteFrame(STDOUT_FILENO, 'F', done).ok()) return 1;
  }
}

Result<ImagingWorker> ImagingWorker::Start(ImagingWorkerOptions options,
                                           const std::filesystem::path& folder,
                                           const SecureBuffer& uid_key) {
  File dir_file;
  if (!folder.empty()) {
    const int dir = ::open(folder.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) return ErrnoError("cannot open", folder.string(), errno);
    dir_file = File(dir, folder.string());
    options.role = "__export-worker";
    options.writable_dir_fd = dir;
    options.file_bytes = sandbox::kNoFileLimit;  // Landlock keeps it to its folder
  } else {
    options.role = "__imaging-worker";
    options.writable_dir_fd = -1;
    options.file_bytes = kMaxInstanceBytes;  // its only writable file: the parent's memfd
  }
  DOSSIER_ASSIGN_OR_RETURN(sandbox::Worker w, sandbox::Worker::Start(options));
  ImagingWorker e(std::move(w), options.timeout_seconds);
  DOSSIER_RETURN_IF_ERROR(
      WriteFrame(e.worker_.request_fd(), 'K', std::span<const uint8_t>(uid_key.span())));
  DOSSIER_RETURN_IF_ERROR(e.Finish("the export worker"));
  return e;
}

Status ImagingWorker::Finish(const std::string& what) {
  sandbox::Frame f;
  const Status got = sandbox::ReadFrame(worker_.reply_fd(), timeout_seconds_ * 1000, f);
  if (!got.ok() || f.type != 'F') {
    const bool hung = got.code() == StatusCode::kLimitExceeded;
    const std::string how = worker_.Stop();
    return Internal(fmt::format("the export worker {} on {} ({})",
                                hung ? "stopped responding" : "failed", what, how));
  }
  const auto parts = sandbox::SplitNul(f.payload);
  if (parts.size() == 2) return Rejected(parts[1]).WithContext(what);
  return Status::Ok();
}

Result<ImagingWorker::Transformed> ImagingWorker::Reply(const std::string& what,
                                                        bool with_summary) {
  sandbox::Frame f;
  const Status got = sandbox::ReadFrame(worker_.reply_fd(), timeout_seconds_ * 1000, f);
  if (got.ok() && f.type == 'F') {  // refused: why
    const auto parts = sandbox::SplitNul(f.payload);
    return Rejected(parts.size() == 2 ? parts[1] : "refused").WithContext(what);
  }
  const nlohmann::json r = got.ok() && f.type == 'R'
                               ? nlohmann::json::parse(f.payload, nullptr, false)
                               : nlohmann::json();
  const bool valid = r.is_object() && r.value("bytes", nlohmann::json()).is_number_unsigned() &&
                     r.value("recompressed", nlohmann::json()).is_boolean() &&
                     r.value("kept_reason", nlohmann::json()).is_string() &&
                     r.value("burned_in", nlohmann::json()).is_boolean() &&
                     r["kept_reason"].get_ref<const std::string&>().size() <= 200 &&
                     (!with_summary || r.value("summary", nlohmann::json()).is_string());
  Result<dicom::InstanceSummary> summary = dicom::InstanceSummary();
  if (valid && with_summary) summary = dicom::FromJson(r["summary"].get<std::string>());
  if (!valid || !summary.ok()) {
    const std::string how = worker_.Stop();
    return Internal(fmt::format("the export worker failed on {} ({})", what, how));
  }
  Transformed w;
  w.bytes = r["bytes"];
  w.recompressed = r["recompressed"];
  w.kept_reason = r["kept_reason"];
  w.burned_in = r["burned_in"];
  w.summary = std::move(*summary);
  DOSSIER_RETURN_IF_ERROR(Finish(what));
  return w;
}

Result<ImagingWorker::Written> ImagingWorker::Write(const std::string& file_id,
                                                    const File& instance,
                                                    const std::string& patient_name,
                                                    const std::string& patient_id, bool jpeg_ls) {
  const nlohmann::json j = {{"file", file_id},
                            {"patient_name", patient_name},
                            {"patient_id", patient_id},
                            {"jpeg_ls", jpeg_ls}};
  DOSSIER_RETURN_IF_ERROR(WriteFrame(worker_.request_fd(), 'X', j.dump()));
  DOSSIER_RETURN_IF_ERROR(sandbox::SendFd(worker_.request_fd(), instance.fd()));
  DOSSIER_ASSIGN_OR_RETURN(Transformed t, Reply(file_id, false));
  return static_cast<Written>(t);
}

Result<ImagingWorker::Transformed> ImagingWorker::Transform(const File& instance, const File& out,
                                                            const InstanceTransform& how) {
  const nlohmann::json j = {{"deidentify", how.deidentify},
                            {"patient_name", how.patient_name},
                            {"patient_id", how.patient_id},
                            {"jpeg_ls", how.jpeg_ls}};
  DOSSIER_RETURN_IF_ERROR(WriteFrame(worker_.request_fd(), 'T', j.dump()));
  DOSSIER_RETURN_IF_ERROR(sandbox::SendFd(worker_.request_fd(), instance.fd()));
  DOSSIER_RETURN_IF_ERROR(sandbox::SendFd(worker_.request_fd(), out.fd()));
  return Reply("the instance", true);
}

Status ImagingWorker::WriteDicomdir(const std::vector<std::string>& file_ids) {
  std::string payload;
  for (const auto& id : file_ids) payload += (payload.empty() ? "" : std::string(1, '\0')) + id;
  if (payload.size() > sandbox::kMaxFrame - 16) {
    return LimitExceeded("too many files for one DICOMDIR: export fewer series at a time");
  }
  DOSSIER_RETURN_IF_ERROR(WriteFrame(worker_.request_fd(), 'Y', payload));
  return Finish("the DICOMDIR");
}

}  // namespace dossier::exporter
