#include "ingest/worker.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <clocale>
#include <cstdlib>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <utility>

#include "common/content_digest.h"
#include "dicom/dicom.h"
#include "ocr/ocr.h"
#include "sandbox/frame.h"
#include "sandbox/worker.h"

namespace dossier::ingest {
namespace {

using sandbox::WriteFrame;

std::string EncodeLimits(const UnpackLimits& l) {
  return fmt::format("total={};entry={};entries={};ratio={};floor={};depth={};nested={};pdf={}",
                     l.total_bytes, l.entry_bytes, l.entries, l.ratio, l.ratio_floor, l.depth,
                     l.nested_archive_bytes, l.pdf_check_bytes);
}

UnpackLimits DecodeLimits(const std::string& text) {
  std::map<std::string, uint64_t> kv;
  std::istringstream in(text);
  std::string item;
  while (std::getline(in, item, ';')) {
    const auto eq = item.find('=');
    if (eq != std::string::npos) kv[item.substr(0, eq)] = std::stoull(item.substr(eq + 1));
  }
  UnpackLimits l;
  l.total_bytes = kv["total"];
  l.entry_bytes = kv["entry"];
  l.entries = kv["entries"];
  l.ratio = kv["ratio"];
  l.ratio_floor = kv["floor"];
  l.depth = static_cast<int>(kv["depth"]);
  l.nested_archive_bytes = kv["nested"];
  l.pdf_check_bytes = kv["pdf"];
  return l;
}

// Streams what the unpacker finds to the parent, as frames on stdout. A DICOM entry is held
// back until it ends, so that it can be summarised (an 'M' frame before its data), refused
// with its reason (truncated, stray bytes), or given the meta header it lacks.
class FrameSink final : public UnpackSink {
 public:
  explicit FrameSink(int fd) : fd_(fd) {
    // Fault injection for tests: "abort:TEXT" crashes, "hang:TEXT" stops answering, while
    // reading an entry whose path contains TEXT.
    if (const char* f = std::getenv("DOSSIER_WORKER_FAULT"); f != nullptr) {
      const std::string fault = f;
      const auto colon = fault.find(':');
      if (colon != std::string::npos) {
        fault_ = fault.substr(0, colon);
        fault_on_ = fault.substr(colon + 1);
      }
    }
  }
  Status BeginEntry(const std::string& path) override {
    if (!fault_on_.empty() && path.find(fault_on_) != std::string::npos) fault_pending_ = true;
    held_.clear();
    state_ = Held::kUndecided;
    (void)digest_.Final();  // a fresh digest, whatever the last entry left in it
    return WriteFrame(fd_, 'B', path);
  }
  Status EntryData(std::span<const uint8_t> data) override {
    if (fault_pending_ && fault_ == "abort") std::abort();
    if (fault_pending_ && fault_ == "hang") {
      for (;;) ::pause();
    }
    if (state_ == Held::kStreaming) return Send(data);
    held_.insert(held_.end(), data.begin(), data.end());
    if (state_ == Held::kUndecided && held_.size() >= kDecideBytes) {
      state_ = dicom::LooksLikeDicom(held_) ? Held::kDicom : Held::kStreaming;
    }
    if (state_ == Held::kStreaming || held_.size() > kMaxDicomBytes) {
      // Not DICOM, or too large to hold: streamed as it comes, not summarised.
      state_ = Held::kStreaming;
      DOSSIER_RETURN_IF_ERROR(Send(held_));
      held_.clear();
      held_.shrink_to_fit();
    }
    return Status::Ok();
  }
  Status EndEntry(const Status& outcome) override {
    if (!outcome.ok()) {
      held_.clear();
      return WriteFrame(fd_, 'E', outcome.message());
    }
    if (state_ != Held::kStreaming) {
      DOSSIER_ASSIGN_OR_RETURN(std::string refusal, SendHeld());
      if (!refusal.empty()) {
        (void)digest_.Final();  // starts afresh for the next entry
        return WriteFrame(fd_, 'E', refusal);
      }
    }
    const ContentDigest digest = digest_.Final();
    std::string done(1, '\0');
    done.append(reinterpret_cast<const char*>(digest.data()), digest.size());
    return WriteFrame(fd_, 'E', done);
  }
  Status Refused(const std::string& path, const std::string& reason) override {
    return WriteFrame(fd_, 'R', path + '\0' + reason);
  }
  Status Skipped(const std::string& path, const std::string& group) override {
    return WriteFrame(fd_, 'S', path + '\0' + group);
  }
  Status Heartbeat() override { return WriteFrame(fd_, 'H', std::string_view()); }

 private:
  // Enough to tell DICOM (preamble + "DICM", or a bare data set's first element).
  static constexpr size_t kDecideBytes = 132;
  // DICOM entries up to this size are summarised; larger ones (rare multi-frame giants)
  // are stored unchanged without a summary.
  static constexpr size_t kMaxDicomBytes = size_t{256} << 20;

  Status Send(std::span<const uint8_t> data) {
    for (size_t at = 0; at < data.size(); at += kDataFrame) {
      const auto part = data.subspan(at, std::min(kDataFrame, data.size() - at));
      digest_.Update(part);
      DOSSIER_RETURN_IF_ERROR(WriteFrame(fd_, 'D', part));
    }
    return Status::Ok();
  }

  // The held entry ends: a DICOM one is summarised first ('M'), or sent and then refused
  // (the reason is returned, for the entry's end); anything else is just sent.
  Result<std::string> SendHeld() {
    std::vector<uint8_t> bytes = std::move(held_);
    held_.clear();
    if (state_ == Held::kDicom || dicom::LooksLikeDicom(bytes)) {
      auto summary = dicom::Summarize(bytes);
      if (!summary.ok()) {
        DOSSIER_RETURN_IF_ERROR(Send(bytes));  // the parent still sees what it was, and its size
        return summary.status().message();
      }
      if (!summary->meta_header) {
        auto fixed = dicom::WithMetaHeader(bytes);
        if (fixed.ok()) bytes = std::move(fixed).value();
      }
      DOSSIER_RETURN_IF_ERROR(WriteFrame(fd_, 'M', dicom::ToJson(*summary)));
    }
    DOSSIER_RETURN_IF_ERROR(Send(bytes));
    return std::string();
  }

  static constexpr size_t kDataFrame = size_t{1} << 20;
  enum class Held { kUndecided, kDicom, kStreaming };
  int fd_;
  ContentHasher digest_;  // of the entry being sent (reset by each Final())
  std::vector<uint8_t> held_;
  Held state_ = Held::kUndecided;
  std::string fault_, fault_on_;
  bool fault_pending_ = false;
};

// A single file sent as one entry named `display` (loose DICOM files: they are summarised
// here, never in the parent).
Status SendWholeFile(File file, const std::string& display, FrameSink& sink) {
  DOSSIER_RETURN_IF_ERROR(sink.BeginEntry(display));
  std::vector<uint8_t> buf(size_t{1} << 20);
  for (;;) {
    auto n = file.Read(buf);
    if (!n.ok()) return sink.EndEntry(n.status());
    if (*n == 0) break;
    DOSSIER_RETURN_IF_ERROR(sink.EntryData({buf.data(), *n}));
  }
  return sink.EndEntry(Status::Ok());
}

}  // namespace

// The document a page request is about, read once from its descriptor (a sealed memfd) and
// kept while the next requests are about the same one.
class OcrSession {
 public:
  // "<count>" pages, or a refusal.
  Result<std::string> Count(File file, const std::string& kind) {
    DOSSIER_RETURN_IF_ERROR(Load(std::move(file)));
    if (kind == "pdf" || kind == "tiff") {
      DOSSIER_ASSIGN_OR_RETURN(ocr::Analyzer * a, GetAnalyzer());
      DOSSIER_ASSIGN_OR_RETURN(int n, a->CountPages(bytes_, kind == "pdf"));
      return std::to_string(n);
    }
    return std::string("1");
  }
  // One page's analysis as JSON (doc/FORMAT.md, "Unpack worker protocol").
  Result<std::string> Page(File file, const std::string& kind, int page) {
    // Fault injection for tests: "hang:ocr-page-N" / "abort:ocr-page-N".
    if (const char* f = std::getenv("DOSSIER_WORKER_FAULT"); f != nullptr) {
      const std::string fault = f, target = ":ocr-page-" + std::to_string(page);
      if (fault == "hang" + target) {
        for (;;) ::pause();
      }
      if (fault == "abort" + target) std::abort();
    }
    DOSSIER_RETURN_IF_ERROR(Load(std::move(file)));
    DOSSIER_ASSIGN_OR_RETURN(ocr::Analyzer * a, GetAnalyzer());
    Result<ocr::DocumentAnalysis> d =
        kind == "pdf" ? a->AnalyzePdf(bytes_, page, 1) : a->AnalyzeImage(bytes_, page);
    if (!d.ok()) return d.status();
    if (d->pages.size() != 1) return Rejected("the page could not be read");
    const ocr::PageResult& r = d->pages[0];
    const auto& e = r.evidence;
    nlohmann::json j = {{"number", r.number},
                        {"verdict", ocr::VerdictName(r.verdict)},
                        {"confidence", r.confidence},
                        {"rotation", r.rotation},
                        {"source", r.source},
                        {"text", r.text},
                        {"evidence",
                         {{"words", e.words},
                          {"mean_confidence", e.mean_confidence},
                          {"wordlike_share", e.wordlike_share},
                          {"ink_coverage", e.ink_coverage},
                          {"faint_coverage", e.faint_coverage},
                          {"text_ink_share", e.text_ink_share},
                          {"line_regularity", e.line_regularity},
                          {"sharpness", e.sharpness},
                          {"text_lines", e.text_lines},
                          {"strong_lines", e.strong_lines},
                          {"weak_lines", e.weak_lines},
                          {"text_height", e.text_height}}}};
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }

 private:
  Status Load(File file) {
    struct stat st {};
    if (::fstat(file.fd(), &st) != 0) return IoError("cannot read the document");
    if (loaded_ && st.st_dev == dev_ && st.st_ino == ino_) return Status::Ok();
    if (st.st_size > (int64_t{1} << 30)) return Rejected("larger than 1 GiB: not analysed");
    bytes_.resize(static_cast<size_t>(st.st_size));
    size_t got = 0;
    while (got < bytes_.size()) {
      const ssize_t n =
          ::pread(file.fd(), bytes_.data() + got, bytes_.size() - got, static_cast<off_t>(got));
      if (n <= 0) return IoError("cannot read the document");
      got += static_cast<size_t>(n);
    }
    loaded_ = true;
    dev_ = st.st_dev;
    ino_ = st.st_ino;
    return Status::Ok();
  }
  Result<ocr::Analyzer*> GetAnalyzer() {
    if (!analyzer_) {
      DOSSIER_ASSIGN_OR_RETURN(analyzer_, ocr::Analyzer::Create({}));
    }
    return analyzer_.get();
  }
  std::vector<uint8_t> bytes_;
  bool loaded_ = false;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  std::unique_ptr<ocr::Analyzer> analyzer_;
};

namespace {

// The whole of `file` (a sealed memfd the parent filled), read from its start.
Result<std::vector<uint8_t>> ReadWhole(const File& file) {
  std::vector<uint8_t> bytes;
  std::vector<uint8_t> buf(size_t{1} << 20);
  for (;;) {  // from the start, whatever the descriptor's offset (the parent wrote it)
    const ssize_t n = ::pread(file.fd(), buf.data(), buf.size(), static_cast<off_t>(bytes.size()));
    if (n < 0) return IoError("cannot read the instance");
    if (n == 0) return bytes;
    bytes.insert(bytes.end(), buf.begin(), buf.begin() + n);
  }
}

// A preview PNG of the DICOM instance in `file` (a sealed memfd of a stored document).
Result<std::vector<uint8_t>> RenderPreview(File file) {
  DOSSIER_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, ReadWhole(file));
  return dicom::Preview(bytes);
}

}  // namespace

int RunUnpackWorker() {
  ::signal(SIGPIPE, SIG_IGN);
  std::setlocale(LC_CTYPE, "C.UTF-8");
  ContentHasher().Final();  // libcrypto initialises itself (reading its config) before confinement
  if (!sandbox::EnterWorker(-1).ok()) return 5;
  sandbox::Frame request;
  OcrSession ocr_session;
  for (;;) {
    const Status got = sandbox::ReadFrame(STDIN_FILENO, -1, request);
    if (!got.ok()) return got.code() == StatusCode::kNotFound ? 0 : 1;
    const sandbox::Frame* req = &request;
    const auto parts = sandbox::SplitNul(req->payload);
    Status st;
    auto file = sandbox::RecvFd(STDIN_FILENO);
    if (!file.ok()) return 1;
    if (req->type == 'U' && parts.size() == 2) {
      FrameSink sink(STDOUT_FILENO);
      st = Unpack(std::move(file).value(), parts[0], DecodeLimits(parts[1]), sink);
    } else if (req->type == 'W' && parts.size() == 1) {
      FrameSink sink(STDOUT_FILENO);
      st = SendWholeFile(std::move(file).value(), parts[0], sink);
    } else if (req->type == 'V') {
      auto png = RenderPreview(std::move(file).value());
      st = png.ok() ? WriteFrame(STDOUT_FILENO, 'Q', *png) : png.status();
    } else if (req->type == 'P' && parts.size() == 1) {
      st = CheckPdfFile(std::move(file).value(), std::stoull(parts[0]));
    } else if (req->type == 'N' && parts.size() == 1) {
      auto n = ocr_session.Count(std::move(file).value(), parts[0]);
      st = n.ok() ? WriteFrame(STDOUT_FILENO, 'C', *n) : n.status();
    } else if (req->type == 'A' && parts.size() == 2) {
      auto page = ocr_session.Page(std::move(file).value(), parts[0], std::stoi(parts[1]));
      st = page.ok() ? WriteFrame(STDOUT_FILENO, 'G', *page) : page.status();
    } else {
      return 1;
    }
    const std::string done =
        st.ok() ? std::string() : std::to_string(static_cast<int>(st.code())) + '\0' + st.message();
    if (!WriteFrame(STDOUT_FILENO, 'F', done).ok()) return 1;
  }
}

namespace {

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
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return ErrnoError("cannot write", id, errno);
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace

int RunExportWorker() {
  ::signal(SIGPIPE, SIG_IGN);
  std::setlocale(LC_CTYPE, "C.UTF-8");
  if (::fchdir(sandbox::kWritableDirFd) != 0) return 1;
  if (!sandbox::EnterWorker(sandbox::kWritableDirFd).ok()) return 5;
  ::close(sandbox::kWritableDirFd);
  sandbox::Frame request;
  dicom::UidMap map_uid;
  for (;;) {
    const Status got = sandbox::ReadFrame(STDIN_FILENO, -1, request);
    if (!got.ok()) return got.code() == StatusCode::kNotFound ? 0 : 1;
    Status st;
    if (request.type == 'K' && request.payload.size() == 32) {
      map_uid = dicom::KeyedUidMap(
          {reinterpret_cast<const uint8_t*>(request.payload.data()), request.payload.size()});
    } else if (request.type == 'X' && map_uid) {
      auto file = sandbox::RecvFd(STDIN_FILENO);
      if (!file.ok()) return 1;
      const nlohmann::json j = nlohmann::json::parse(request.payload, nullptr, false);
      if (!j.is_object() || !j.value("file", nlohmann::json()).is_string()) return 1;
      const std::string id = j["file"];
      dicom::ExportOptions options;
      options.patient_name = j.value("patient_name", options.patient_name);
      options.patient_id = j.value("patient_id", options.patient_id);
      options.jpeg_ls = j.value("jpeg_ls", false);
      auto bytes = ReadWhole(*file);
      st = bytes.status();
      if (st.ok() && !ValidFileId(id)) st = InvalidArgument("bad file ID " + id);
      if (st.ok()) {
        auto r = dicom::Deidentify(*bytes, options, map_uid);
        st = r.status();
        if (st.ok()) st = WriteExportFile(id, r->bytes);
        if (st.ok()) {
          const nlohmann::json reply = {{"bytes", r->bytes.size()},
                                        {"recompressed", r->recompressed},
                                        {"kept_reason", r->kept_reason},
                                        {"burned_in", r->burned_in_annotation}};
          st = WriteFrame(STDOUT_FILENO, 'R', reply.dump());
        }
      }
    } else if (request.type == 'Y') {
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

Result<ExportWorker> ExportWorker::Start(WorkerOptions options, const fs::path& folder,
                                         const SecureBuffer& uid_key) {
  const int dir = ::open(folder.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return ErrnoError("cannot open", folder.string(), errno);
  File dir_file(dir, folder.string());
  options.role = "__export-worker";
  options.writable_dir_fd = dir;
  options.file_bytes = sandbox::kNoFileLimit;  // Landlock keeps it to its folder
  DOSSIER_ASSIGN_OR_RETURN(UnpackWorker w, UnpackWorker::Start(options));
  ExportWorker e(std::move(w), options.page_seconds);
  DOSSIER_RETURN_IF_ERROR(
      WriteFrame(e.worker_.request_fd(), 'K', std::span<const uint8_t>(uid_key.span())));
  DOSSIER_RETURN_IF_ERROR(e.Finish("the export worker"));
  return e;
}

Status ExportWorker::Finish(const std::string& what) {
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

Result<ExportWorker::Written> ExportWorker::Write(const std::string& file_id, const File& instance,
                                                  const std::string& patient_name,
                                                  const std::string& patient_id, bool jpeg_ls) {
  const nlohmann::json j = {{"file", file_id},
                            {"patient_name", patient_name},
                            {"patient_id", patient_id},
                            {"jpeg_ls", jpeg_ls}};
  DOSSIER_RETURN_IF_ERROR(WriteFrame(worker_.request_fd(), 'X', j.dump()));
  DOSSIER_RETURN_IF_ERROR(sandbox::SendFd(worker_.request_fd(), instance.fd()));
  sandbox::Frame f;
  const Status got = sandbox::ReadFrame(worker_.reply_fd(), timeout_seconds_ * 1000, f);
  if (got.ok() && f.type == 'F') {  // refused: why
    const auto parts = sandbox::SplitNul(f.payload);
    return Rejected(parts.size() == 2 ? parts[1] : "refused").WithContext(file_id);
  }
  Written w;
  const nlohmann::json r = got.ok() && f.type == 'R'
                               ? nlohmann::json::parse(f.payload, nullptr, false)
                               : nlohmann::json();
  const bool valid = r.is_object() && r.value("bytes", nlohmann::json()).is_number_unsigned() &&
                     r.value("recompressed", nlohmann::json()).is_boolean() &&
                     r.value("kept_reason", nlohmann::json()).is_string() &&
                     r.value("burned_in", nlohmann::json()).is_boolean() &&
                     r["kept_reason"].get_ref<const std::string&>().size() <= 200;
  if (!valid) {
    const std::string how = worker_.Stop();
    return Internal(fmt::format("the export worker failed on {} ({})", file_id, how));
  }
  w.bytes = r["bytes"];
  w.recompressed = r["recompressed"];
  w.kept_reason = r["kept_reason"];
  w.burned_in = r["burned_in"];
  DOSSIER_RETURN_IF_ERROR(Finish(file_id));
  return w;
}

Status ExportWorker::WriteDicomdir(const std::vector<std::string>& file_ids) {
  std::string payload;
  for (const auto& id : file_ids) payload += (payload.empty() ? "" : std::string(1, '\0')) + id;
  if (payload.size() > sandbox::kMaxFrame - 16) {
    return LimitExceeded("too many files for one DICOMDIR: export fewer series at a time");
  }
  DOSSIER_RETURN_IF_ERROR(WriteFrame(worker_.request_fd(), 'Y', payload));
  return Finish("the DICOMDIR");
}

Result<UnpackWorker> UnpackWorker::Start(const WorkerOptions& options) {
  DOSSIER_ASSIGN_OR_RETURN(sandbox::Worker w, sandbox::Worker::Start(options));
  return UnpackWorker(std::move(w));
}

Status UnpackWorker::Send(char type, std::string_view payload, const File& file) {
  DOSSIER_RETURN_IF_ERROR(WriteFrame(request_fd(), type, payload));
  return sandbox::SendFd(request_fd(), file.fd());
}

Status UnpackWorker::SendCheckPdf(const File& file, uint64_t max_bytes) {
  return Send('P', std::to_string(max_bytes), file);
}

Status UnpackWorker::SendCountPages(const File& file, const std::string& kind) {
  return Send('N', kind, file);
}

Status UnpackWorker::SendAnalyzePage(const File& file, const std::string& kind, int page) {
  return Send('A', kind + '\0' + std::to_string(page), file);
}

Status UnpackWorker::SendPreview(const File& file) { return Send('V', std::string_view(), file); }

Status UnpackWorker::SendWhole(const File& file, const std::string& display) {
  return Send('W', display, file);
}

Status UnpackWorker::SendUnpack(const File& file, const std::string& display,
                                const UnpackLimits& limits) {
  return Send('U', display + '\0' + EncodeLimits(limits), file);
}

}  // namespace dossier::ingest
