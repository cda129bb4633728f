// The upload's progress as the parts of the pipeline move it, reported to the caller's
// IngestProgressFn (if any) after each change. Private to ingest/.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "ingest/ingest.h"

namespace dossier::ingest::internal {

class Progress {
 public:
  explicit Progress(const IngestProgressFn& fn) : fn_(fn) {}

  void Plan(size_t items, uint64_t bytes) {
    now_.items_total = items;
    now_.bytes_total = bytes;
  }
  void Bytes(uint64_t n) {
    now_.bytes_done += n;
    Report();
  }
  // The item being read now (its display path); not reported until something moves.
  void Current(const std::string& path) { now_.current = path; }
  void ItemDone() {
    now_.items_done += 1;
    Report();
  }
  void Pages(int done, int total) {
    now_.pages_done = done;
    now_.pages_total = total;
    Report();
  }
  // The OCR check ended: no pages to show (not reported until something else moves).
  void PagesDone() { now_.pages_done = now_.pages_total = 0; }
  // A page's verdict is known (`before`: the verdict it replaces, "" for none).
  void Verdict(const std::string& verdict, const std::string& before = "") {
    if (!before.empty() && --now_.verdicts[before] == 0) now_.verdicts.erase(before);
    ++now_.verdicts[verdict];
    Report();
  }
  // Seconds since the upload began (since this was made).
  double Seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  }

 private:
  void Report() {
    if (fn_) fn_(now_);
  }
  const IngestProgressFn& fn_;
  IngestProgress now_;
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace dossier::ingest::internal
