#include "ingest/internal/ocr_pool.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <deque>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "common/encoding.h"
#include "ocr/ocr.h"
#include "sandbox/frame.h"

namespace dossier::ingest::internal {
namespace {

using Clock = std::chrono::steady_clock;
using sandbox::Frame;
using sandbox::ReadFrame;
using sandbox::SplitNul;

struct Task {
  size_t job = 0;
  int page = 0;  // 0: count the pages; kJpegCopy: the JPEG copy of a HEIC photo; kWarmUp
  // A page's text, after its verdict came first from a sample of its lines (doc/OCR.md step
  // 4b); otherwise a page is asked for its verdict first.
  bool text = false;
};
constexpr int kJpegCopy = -1;
// A worker with nothing to do while another counts a document's pages counts them too: it
// starts its engine and opens the document it will be asked about (the count is not used).
constexpr int kWarmUp = -2;

// The largest JPEG copy taken from a worker: a 64-megapixel photo at quality 90 is ~30 MB.
constexpr size_t kMaxJpegCopyBytes = size_t{64} << 20;

// Whether `jpeg` is one whole JPEG file: it begins with a start-of-image marker and a
// segment, and ends with the end-of-image marker.
bool IsWholeJpeg(const std::vector<uint8_t>& jpeg) {
  return jpeg.size() >= 4 && jpeg[0] == 0xFF && jpeg[1] == 0xD8 && jpeg[2] == 0xFF &&
         jpeg[jpeg.size() - 2] == 0xFF && jpeg[jpeg.size() - 1] == 0xD9;
}

struct JobState {
  int page_count = -1;  // not known yet
  std::vector<std::optional<vault::PageRecord>> pages;
  int pages_done = 0;
  std::string error;
  std::set<std::string> page_refusals;  // why the worker refused pages (its fixed words)
  int pages_refused = 0;
  bool copy_pending = false;  // a HEIC photo's JPEG copy is still to come
  std::vector<uint8_t> copy;
  std::string copy_error;
  bool reported = false;
};

struct Slot {
  std::optional<UnpackWorker> worker;
  std::optional<Task> task;
  Clock::time_point deadline, started;
  bool answered = false;  // the task's 'C' or 'G' frame arrived
  // Pages (job, page) whose verdict this worker gave first, newest last: it keeps them for
  // their text, which goes to it when it can.
  std::deque<std::pair<size_t, int>> kept;
  size_t warmed = 0;  // 1 + the job it last warmed up on (kWarmUp), 0 for none
};

// A page the analysis could not finish: it cannot be vouched for.
vault::PageRecord FailedPage(int number, const std::string& why) {
  vault::PageRecord p;
  p.number = number;
  p.verdict = ocr::VerdictName(ocr::Verdict::kUnreadable);
  p.confidence = 0;
  p.source = "ocr";
  p.evidence = nlohmann::json({{"error", why}}).dump();
  return p;
}

// A worker's reason for refusing a page or document. It ends up in the catalog (the page's
// evidence) in the clear, so what is stored is always one of our own fixed reasons, chosen by
// the start of what the worker said — never a byte of the worker's text: a worker subverted
// by hostile bytes must not be able to smuggle document text out of the sealed columns.
std::string WorkerReason(const std::vector<std::string>& parts) {
  struct Known {
    std::string_view starts;  // what ocr/ writes, up to where it may vary
    const char* reason;       // what is stored
  };
  static constexpr Known kKnown[] = {
      {"damaged PDF: it cannot be opened",
       "damaged PDF: it cannot be opened — send it again or save it anew"},
      {"damaged PDF: it has no pages", "damaged PDF: it has no pages — send it again"},
      {"damaged TIFF image", "damaged TIFF image: it cannot be read — send it again"},
      {"damaged image", "damaged image: it cannot be read — send it again"},
      {"protected by a password", "protected by a password: send it without one"},
      {"PDF larger than", "PDF larger than 2 GiB: split it"},
      {"larger than 1 GiB", "larger than 1 GiB: not analysed"},
      {"damaged HEIC photo", "damaged HEIC photo: it cannot be read — send it again"},
      {"HEIC image sequence",
       "HEIC image sequence (a burst or an animation), not a photo: send one photo, or save it "
       "as JPEG"},
      {"HEIC photo in a coding Dossier cannot decode",
       "HEIC photo in a coding Dossier cannot decode: save it as JPEG and send it again"},
      {"image larger than 64 megapixels",
       "image larger than 64 megapixels: not analysed — send a smaller scan (300 DPI) or photo"},
      {"not an image Dossier can read", "not an image Dossier can read (JPEG, PNG, TIFF or HEIC)"},
      {"image in a format Dossier cannot read", "image in a format Dossier cannot read"},
      {"the page could not be read", "the page could not be read"},
      {"missing Tesseract language data",
       "missing Tesseract language data (install tesseract-ocr-rus and tesseract-ocr-eng)"},
      {"no Tesseract data folder", "no Tesseract data folder (install tesseract-ocr)"},
      {"Tesseract could not start", "Tesseract could not start"}};
  if (parts.size() == 2) {
    for (const Known& k : kKnown) {
      if (parts[1].rfind(k.starts, 0) == 0) return k.reason;
    }
  }
  return "the page could not be analysed";
}

// The evidence a page's verdict rests on (ocr::PageEvidence), the only keys stored from a
// worker's answer: they are stored in the clear.
constexpr std::string_view kEvidenceKeys[] = {
    "words",           "mean_confidence", "wordlike_share",  "ink_coverage",    "faint_coverage",
    "text_ink_share",  "line_regularity", "sharpness",       "text_lines",      "strong_lines",
    "weak_lines",      "text_height",     "repeated_glyphs", "unexplained_ink", "on_baseline",
    "wandering_lines", "set_aside"};

// The worker's page, checked field by field: it comes from a process that read hostile bytes.
// Whether the worker sent the verdict alone ("text_pending") is read first, by PagePending.
// `want_pending`: the verdict alone is expected (a page asked verdict-first whose sample was
// sure); a page asked for its text must come with it.
std::optional<vault::PageRecord> ParsePage(const std::string& payload, int want,
                                           bool want_pending) {
  try {
    const auto j = nlohmann::json::parse(payload);
    vault::PageRecord p;
    p.number = j.at("number").get<int>();
    p.verdict = j.at("verdict").get<std::string>();
    p.confidence = j.at("confidence").get<double>();
    p.rotation = j.at("rotation").get<int>();
    p.source = j.at("source").get<std::string>();
    p.text = j.at("text").get<std::string>();
    const bool pending = j.value("text_pending", false);
    if (pending != want_pending || (pending && !p.text.empty())) return std::nullopt;
    ocr::Verdict v;
    if (p.number != want || !ocr::ParseVerdict(p.verdict, &v) || !(p.confidence >= 0) ||
        p.confidence > 1 || p.rotation % 90 != 0 || p.rotation < 0 || p.rotation > 270 ||
        (p.source != "ocr" && p.source != "text layer" && p.source != "text file") ||
        !IsValidUtf8(p.text)) {
      return std::nullopt;
    }
    nlohmann::json evidence = nlohmann::json::object();
    const auto& given = j.at("evidence");
    if (!given.is_object()) return std::nullopt;
    for (std::string_view key : kEvidenceKeys) {
      const auto it = given.find(std::string(key));
      if (it != given.end() && it->is_number()) evidence[std::string(key)] = *it;
    }
    p.evidence = evidence.dump();
    return p;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// Whether a 'G' payload says the page's text is still to come; false for anything unreadable
// (ParsePage refuses it then).
bool PagePending(const std::string& payload) {
  try {
    const auto j = nlohmann::json::parse(payload);
    const auto it = j.find("text_pending");
    return it != j.end() && it->is_boolean() && it->get<bool>();
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

Status RunOcr(std::vector<OcrJob>& jobs, const WorkerOptions& options, int workers,
              const std::function<Status(OcrResult&&)>& done,
              const std::function<void(int, int)>& progress, const VerdictKnownFn& verdict_known) {
  std::vector<JobState> state(jobs.size());
  std::deque<Task> tasks;       // counts, copies, pages asked verdict-first: handed out first
  std::deque<Task> text_tasks;  // the texts of pages whose verdict came first
  int pages_known = 0, pages_done = 0;
  for (size_t j = 0; j < jobs.size(); ++j) {
    if (jobs[j].kind == "pdf" || jobs[j].kind == "tiff" || jobs[j].kind == "text") {
      tasks.push_back({j, 0});
    } else {
      state[j].page_count = 1;
      state[j].pages.resize(1);
      ++pages_known;
      tasks.push_back({j, 1});
    }
    if (jobs[j].kind == "heic") {
      state[j].copy_pending = true;
      tasks.push_back({j, kJpegCopy});
    }
  }
  std::vector<Slot> slots(static_cast<size_t>(std::max(1, workers)));

  // Reports a job once every page is in (or it failed as a whole).
  auto finish_if_complete = [&](size_t j) -> Status {
    JobState& s = state[j];
    if (s.reported) return Status::Ok();
    const bool failed = !s.error.empty();
    if (!failed && (s.page_count < 0 || s.pages_done < s.page_count || s.copy_pending)) {
      return Status::Ok();
    }
    s.reported = true;
    OcrResult r;
    r.job = j;
    r.error = s.error;
    r.page_count = std::max(0, s.page_count);
    r.jpeg_copy = std::move(s.copy);
    r.jpeg_copy_error = s.copy_error;
    if (!failed) {
      std::vector<std::pair<int, std::string>> verdicts;
      for (auto& p : s.pages) {
        verdicts.emplace_back(p->number, p->verdict);
        r.pages.push_back(std::move(*p));
      }
      const ocr::DocumentAnalysis d = ocr::FromVerdicts(s.page_count, verdicts);
      r.verdict = d.verdict;
      // Not one page could be analysed, every one refused for one reason ("damaged HEIC
      // photo: … send it again"): that reason is the advice, not "blurred, dark or too small".
      // (Pages lost to a crash or a timeout keep the usual advice.)
      r.advice = s.pages_refused == s.page_count && s.page_refusals.size() == 1
                     ? *s.page_refusals.begin()
                     : ocr::Advice(d);
    }
    return done(std::move(r));
  };

  // The task of `slot` ended badly: its page (or its document) cannot be vouched for.
  // `refused`: the worker said why (one of WorkerReason's), not a crash or a timeout.
  auto fail_task = [&](Slot& slot, const std::string& why, bool refused = false) -> Status {
    const Task t = *slot.task;
    slot.task.reset();
    if (t.page == kWarmUp) return Status::Ok();  // the count that matters says what failed
    JobState& s = state[t.job];
    if (t.page == kJpegCopy) {
      s.copy_pending = false;
      s.copy.clear();
      s.copy_error = why;
    } else if (t.page == 0) {
      s.error = why;
    } else if (!s.pages[static_cast<size_t>(t.page - 1)]) {
      s.pages[static_cast<size_t>(t.page - 1)] = FailedPage(t.page, why);
      if (refused) {
        s.page_refusals.insert(why);
        ++s.pages_refused;
      }
      ++s.pages_done;
      ++pages_done;
      if (progress) progress(pages_done, pages_known);
    }
    return finish_if_complete(t.job);
  };
  auto lose_worker = [&](Slot& slot, const std::string& why) -> Status {
    if (slot.worker) {
      slot.worker->Stop();
      slot.worker.reset();
    }
    return fail_task(slot, why);
  };

  for (;;) {
    // Hand out work.
    for (Slot& slot : slots) {
      if (slot.task) continue;
      if (tasks.empty() && text_tasks.empty()) {
        // Idle while another worker counts a document's pages: warm up on that document.
        for (const Slot& other : slots) {
          if (other.task && other.task->page == 0 && slot.warmed != other.task->job + 1) {
            tasks.push_back({other.task->job, kWarmUp});
            slot.warmed = other.task->job + 1;
            break;
          }
        }
        if (tasks.empty()) continue;
      }
      Task t;
      if (!tasks.empty()) {
        t = tasks.front();
        tasks.pop_front();
      } else {
        // A text goes to the worker that kept its page when it can (no decoding again).
        auto it = std::find_if(text_tasks.begin(), text_tasks.end(), [&slot](const Task& x) {
          return std::find(slot.kept.begin(), slot.kept.end(), std::pair{x.job, x.page}) !=
                 slot.kept.end();
        });
        if (it == text_tasks.end()) it = text_tasks.begin();
        t = *it;
        text_tasks.erase(it);
      }
      if (!state[t.job].error.empty()) {  // its document already failed
        state[t.job].copy_pending = false;
        continue;
      }
      if (!slot.worker) {
        DOSSIER_ASSIGN_OR_RETURN(UnpackWorker w, UnpackWorker::Start(options));
        slot.worker.emplace(std::move(w));
        slot.kept.clear();
      }
      slot.task = t;
      slot.answered = false;
      slot.started = Clock::now();
      slot.deadline = Clock::now() + std::chrono::seconds(options.page_seconds);
      const OcrJob& job = jobs[t.job];
      const Status sent = t.page == kJpegCopy ? slot.worker->SendJpegCopy(job.bytes)
                          : t.page == 0 || t.page == kWarmUp
                              ? slot.worker->SendCountPages(job.bytes, job.kind)
                              : slot.worker->SendAnalyzePage(job.bytes, job.kind, t.page, !t.text);
      if (!sent.ok()) DOSSIER_RETURN_IF_ERROR(lose_worker(slot, "the analysis could not start"));
    }
    std::vector<pollfd> fds;
    std::vector<Slot*> busy;
    auto next_deadline = Clock::time_point::max();
    for (Slot& slot : slots) {
      if (!slot.task) continue;
      fds.push_back({slot.worker->reply_fd(), POLLIN, 0});
      busy.push_back(&slot);
      next_deadline = std::min(next_deadline, slot.deadline);
    }
    if (busy.empty()) break;  // no work left anywhere
    const auto wait =
        std::chrono::duration_cast<std::chrono::milliseconds>(next_deadline - Clock::now());
    const int n =
        ::poll(fds.data(), fds.size(), static_cast<int>(std::max<int64_t>(0, wait.count())));
    if (n < 0 && errno != EINTR) return ErrnoError("cannot wait for", "the OCR workers", errno);
    for (size_t i = 0; i < busy.size(); ++i) {
      Slot& slot = *busy[i];
      if (!slot.task) continue;
      if (fds[i].revents == 0) {
        if (Clock::now() >= slot.deadline) {
          DOSSIER_RETURN_IF_ERROR(lose_worker(
              slot, fmt::format("the analysis took longer than {} s", options.page_seconds)));
        }
        continue;
      }
      Frame frame;
      if (!ReadFrame(slot.worker->reply_fd(), 5000, frame).ok()) {
        DOSSIER_RETURN_IF_ERROR(lose_worker(slot, "the analysis crashed on this page"));
        continue;
      }
      const Task t = *slot.task;
      JobState& s = state[t.job];
      if (t.page == kJpegCopy && frame.type == 'D') {
        if (s.copy.size() + frame.payload.size() > kMaxJpegCopyBytes) {
          DOSSIER_RETURN_IF_ERROR(lose_worker(slot, "the worker broke the protocol"));
          continue;
        }
        s.copy.insert(s.copy.end(), frame.payload.begin(), frame.payload.end());
      } else if (t.page == kJpegCopy && frame.type == 'F') {
        if (!frame.payload.empty()) {  // refused: the analysis says why, in its own words
          DOSSIER_RETURN_IF_ERROR(fail_task(slot, WorkerReason(SplitNul(frame.payload))));
        } else if (!IsWholeJpeg(s.copy)) {
          DOSSIER_RETURN_IF_ERROR(lose_worker(slot, "the worker broke the protocol"));
        } else {
          slot.task.reset();
          s.copy_pending = false;
          DOSSIER_RETURN_IF_ERROR(finish_if_complete(t.job));
        }
      } else if (frame.type == 'C' && t.page == kWarmUp && !slot.answered) {
        slot.answered = true;  // its count is not used
      } else if (frame.type == 'C' && t.page == 0 && !slot.answered) {
        int count = 0;
        try {
          count = std::stoi(frame.payload);
        } catch (const std::exception&) {
        }
        if (count < 1 || count > 100000) {
          DOSSIER_RETURN_IF_ERROR(lose_worker(slot, "the worker broke the protocol"));
          continue;
        }
        slot.answered = true;
        s.page_count = count;
        s.pages.resize(static_cast<size_t>(count));
        pages_known += count;
        for (int p = 1; p <= count; ++p) tasks.push_back({t.job, p});
      } else if (frame.type == 'G' && t.page > 0 && !slot.answered) {
        // A page asked verdict-first may come with its verdict alone; one asked for its text
        // must bring it (else a worker could send no text for ever).
        const bool pending = !t.text && PagePending(frame.payload);
        auto page = ParsePage(frame.payload, t.page, pending);
        if (!page) {
          DOSSIER_RETURN_IF_ERROR(lose_worker(slot, "the worker broke the protocol"));
          continue;
        }
        slot.answered = true;
        ocr::Verdict v = ocr::Verdict::kUnreadable;
        ocr::ParseVerdict(page->verdict, &v);
        if (verdict_known) {
          verdict_known(t.job, t.page, v, /*whole=*/!pending,
                        std::chrono::duration<double>(Clock::now() - slot.started).count());
        }
        if (pending) {
          text_tasks.push_back({t.job, t.page, /*text=*/true});
          slot.kept.emplace_back(t.job, t.page);
          if (slot.kept.size() > ocr::Analyzer::kKeptPages) slot.kept.pop_front();
          continue;
        }
        std::erase(slot.kept, std::pair{t.job, t.page});
        s.pages[static_cast<size_t>(t.page - 1)] = std::move(*page);
        ++s.pages_done;
        ++pages_done;
        if (progress) progress(pages_done, pages_known);
      } else if (frame.type == 'F') {
        if (!slot.answered) {  // the worker refused: the reason says why
          DOSSIER_RETURN_IF_ERROR(
              fail_task(slot, WorkerReason(SplitNul(frame.payload)), /*refused=*/true));
          continue;
        }
        slot.task.reset();
        DOSSIER_RETURN_IF_ERROR(finish_if_complete(t.job));
      } else if (frame.type != 'H') {
        DOSSIER_RETURN_IF_ERROR(lose_worker(slot, "the worker broke the protocol"));
      }
    }
  }
  for (size_t j = 0; j < jobs.size(); ++j) {
    if (!state[j].reported) {
      if (state[j].error.empty()) state[j].error = "the analysis did not finish";
      DOSSIER_RETURN_IF_ERROR(finish_if_complete(j));
    }
  }
  return Status::Ok();
}

}  // namespace dossier::ingest::internal
