// One vault, many threads (issue 18), at library level: listers of a large case while a CT disc
// is ingested, and audited appends with and without group commit, in one run.
//
//   DOSSIER_PASSPHRASE_FILE=F vault_threads_bench WORK DOSSIER_BINARY DISC
//       [LISTERS=20] [DOCUMENTS=10000] [ROUNDS=3] [PAUSE_MS=0] [APPEND_SECONDS=5]
//
// WORK gets a new vault. Its case of DOCUMENTS small documents is listed (ListDocuments: row
// MACs checked, names decrypted, one `document.list` event each) by LISTERS threads, each
// pausing PAUSE_MS between listings (0: back to back; their starts are spread over the
// pause, as independent clients' would be). ROUNDS times, alternately, the disc is ingested
// into a new case alone and with the listers running; medians are reported. Then LISTERS
// threads read a small document (one `document.read` event each) for APPEND_SECONDS, with
// group commit and with one commit per event, in the same vault.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/file_io.h"
#include "ingest/ingest.h"
#include "vault/vault.h"

namespace {

using namespace dossier;
using Steady = std::chrono::steady_clock;

double Since(Steady::time_point t0) {
  return std::chrono::duration<double>(Steady::now() - t0).count();
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p / 100.0 * v.size()));
  return v[i];
}

double Median(std::vector<double> v) { return Percentile(std::move(v), 50); }

class NullSink final : public ByteSink {
 public:
  Status Write(std::span<const uint8_t>) override { return Status::Ok(); }
};

[[noreturn]] void Die(const std::string& what, const Status& st) {
  std::fprintf(stderr, "%s: %s\n", what.c_str(), st.message().c_str());
  std::exit(1);
}

// VaultOptions::audit_batch_gap_ms for every open; negative: the vault's default.
int gap_ms = -1;

std::unique_ptr<vault::Vault> OpenVault(const std::string& dir, const std::string& pass,
                                        bool grouped) {
  vault::VaultOptions options;
  options.group_audit_events = grouped;
  if (gap_ms >= 0) options.audit_batch_gap_ms = gap_ms;
  auto v = vault::Vault::Open(dir, pass, {"bench", "operator"}, options);
  if (!v.ok()) Die("open", v.status());
  return std::move(v).value();
}

std::string Store(vault::Vault& v, const std::string& case_id, const std::string& name,
                  const std::string& content) {
  vault::NewDocument doc;
  doc.case_id = case_id;
  doc.name = name;
  doc.kind = "pdf";
  auto w = v.BeginDocument(doc);
  if (!w.ok()) Die("store", w.status());
  if (Status st = (*w)->Write({reinterpret_cast<const uint8_t*>(content.data()), content.size()});
      !st.ok()) {
    Die("store", st);
  }
  auto out = (*w)->Commit();
  if (!out.ok()) Die("store", out.status());
  return out->doc_id;
}

// Ingests the disc into a new case; returns the wall time.
double Ingest(vault::Vault& v, const std::string& patient, const std::string& program,
              const std::string& disc) {
  auto case_id = v.OpenCase(patient, "ct disc");
  if (!case_id.ok()) Die("case", case_id.status());
  ingest::IngestOptions options;
  options.worker.program = program;
  ingest::IngestReport report;
  const auto t0 = Steady::now();
  if (Status st = ingest::IngestPaths(v, *case_id, {disc}, options, report); !st.ok()) {
    Die("ingest", st);
  }
  return Since(t0);
}

// Threads listing `case_id` until stopped; latencies in milliseconds.
class Listers {
 public:
  Listers(vault::Vault& v, std::string case_id, int n, int pause_ms)
      : v_(v), case_(std::move(case_id)) {
    for (int i = 0; i < n; ++i) {
      threads_.emplace_back([this, pause_ms, i, n] {
        // Spread over the pause, as independent clients would be, not all at once.
        std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms * i / n));
        std::vector<double> mine;
        while (!stop_) {
          const auto t0 = Steady::now();
          auto docs = v_.ListDocuments(case_);
          if (!docs.ok()) Die("list", docs.status());
          if (record_) mine.push_back(Since(t0) * 1000);
          if (pause_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms));
        }
        std::lock_guard<std::mutex> lock(mu_);
        latencies_.insert(latencies_.end(), mine.begin(), mine.end());
      });
    }
  }
  void Record(bool on) { record_ = on; }
  std::vector<double> Stop() {
    stop_ = true;
    for (auto& t : threads_) t.join();
    return latencies_;
  }

 private:
  vault::Vault& v_;
  std::string case_;
  std::atomic<bool> stop_{false}, record_{false};
  std::mutex mu_;
  std::vector<double> latencies_;
  std::vector<std::thread> threads_;
};

void PrintLatencies(const char* what, const std::vector<double>& ms, double seconds) {
  std::printf("| %s | %zu | %.0f | %.1f | %.1f | %.1f |\n", what, ms.size(), ms.size() / seconds,
              Percentile(ms, 50), Percentile(ms, 99),
              ms.empty() ? 0.0 : *std::max_element(ms.begin(), ms.end()));
}

// `threads` threads reading `doc` for `seconds`: events per second and per commit.
void Appends(const std::string& dir, const std::string& pass, const std::string& doc, int threads,
             double seconds, bool grouped) {
  auto v = OpenVault(dir, pass, grouped);
  const vault::AuditCommitStats before = v->audit_commit_stats();
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> reads{0};
  std::vector<std::thread> pool;
  const auto t0 = Steady::now();
  for (int i = 0; i < threads; ++i) {
    pool.emplace_back([&] {
      NullSink sink;
      while (!stop) {
        if (Status st = v->ReadDocument(doc, sink); !st.ok()) Die("read", st);
        ++reads;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : pool) t.join();
  const double took = Since(t0);
  const vault::AuditCommitStats after = v->audit_commit_stats();
  const uint64_t events = after.events - before.events;
  const uint64_t commits = after.commits - before.commits;
  std::printf("| %s | %d | %llu | %.0f | %llu | %.1f |\n",
              grouped ? "group commit" : "one commit per event", threads,
              static_cast<unsigned long long>(events), events / took,
              static_cast<unsigned long long>(commits),
              commits ? static_cast<double>(events) / commits : 0.0);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4 || std::getenv("DOSSIER_PASSPHRASE_FILE") == nullptr) {
    std::fprintf(stderr,
                 "usage: DOSSIER_PASSPHRASE_FILE=F vault_threads_bench WORK DOSSIER_BINARY DISC "
                 "[LISTERS] [DOCUMENTS] [ROUNDS] [PAUSE_MS] [APPEND_SECONDS] [GAP_MS]\n");
    return 1;
  }
  const std::string work = argv[1], program = argv[2], disc = argv[3];
  const int listers = argc > 4 ? std::atoi(argv[4]) : 20;
  const int documents = argc > 5 ? std::atoi(argv[5]) : 10000;
  const int rounds = argc > 6 ? std::atoi(argv[6]) : 3;
  const int pause_ms = argc > 7 ? std::atoi(argv[7]) : 0;
  const double append_seconds = argc > 8 ? std::atof(argv[8]) : 5;
  gap_ms = argc > 9 ? std::atoi(argv[9]) : -1;
  auto pass = ReadSmallFile(std::getenv("DOSSIER_PASSPHRASE_FILE"));
  if (!pass.ok()) Die("passphrase", pass.status());
  while (!pass->empty() && pass->back() == '\n') pass->pop_back();
  const std::string dir = work + "/vault";
  if (Status st = vault::Vault::Create(dir, *pass, {"bench", "operator"}); !st.ok()) {
    Die("create", st);
  }
  auto v = OpenVault(dir, *pass, true);
  auto patient = v->AddPatient({"Bench Patient", "1970-01-01", "", ""});
  auto big = v->OpenCase(*patient, "a large case");
  if (!patient.ok() || !big.ok()) return 1;
  auto t0 = Steady::now();
  if (Status st = v->BeginBatch(); !st.ok()) Die("batch", st);
  std::string small_doc;
  for (int i = 0; i < documents; ++i) {
    std::string content = "%PDF-1.4 page " + std::to_string(i) + " ";
    content.resize(2048, static_cast<char>('a' + i % 26));
    small_doc = Store(*v, *big, "scan-" + std::to_string(i) + ".pdf", content);
  }
  if (Status st = v->CommitBatch(); !st.ok()) Die("batch", st);
  std::fprintf(stderr, "stored %d documents in %.1f s\n", documents, Since(t0));

  // One lister alone, for reference.
  std::vector<double> alone;
  for (int i = 0; i < 20; ++i) {
    t0 = Steady::now();
    if (auto docs = v->ListDocuments(*big); !docs.ok() || docs->size() != size_t(documents)) {
      Die("list", docs.status());
    }
    alone.push_back(Since(t0) * 1000);
  }

  std::vector<double> ingest_alone, ingest_listed, idle_latencies, busy_latencies;
  double idle_seconds = 0, busy_seconds = 0;
  for (int r = 0; r < rounds; ++r) {
    ingest_alone.push_back(Ingest(*v, *patient, program, disc));
    std::fprintf(stderr, "round %d: ingest alone %.2f s\n", r + 1, ingest_alone.back());
    Listers l(*v, *big, listers, pause_ms);
    std::this_thread::sleep_for(std::chrono::seconds(1));  // every thread's reader opened
    l.Record(true);
    t0 = Steady::now();
    std::this_thread::sleep_for(std::chrono::seconds(5));  // listers alone
    l.Record(false);
    idle_seconds += Since(t0);
    auto idle = l.Stop();
    idle_latencies.insert(idle_latencies.end(), idle.begin(), idle.end());

    Listers during(*v, *big, listers, pause_ms);
    std::this_thread::sleep_for(std::chrono::seconds(1));
    during.Record(true);
    t0 = Steady::now();
    ingest_listed.push_back(Ingest(*v, *patient, program, disc));
    during.Record(false);
    busy_seconds += Since(t0);
    auto busy = during.Stop();
    busy_latencies.insert(busy_latencies.end(), busy.begin(), busy.end());
    std::fprintf(stderr, "round %d: ingest with %d listers %.2f s\n", r + 1, listers,
                 ingest_listed.back());
  }
  v.reset();

  std::printf(
      "Case of %d documents; %d listing threads, %d ms pause between listings; "
      "%d rounds; audit_batch_gap_ms %d.\n\n",
      documents, listers, pause_ms, rounds,
      gap_ms >= 0 ? gap_ms : vault::VaultOptions().audit_batch_gap_ms);
  std::printf(
      "| listing | lists | lists/s | p50 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|---:|\n");
  double alone_seconds = 0;
  for (double ms : alone) alone_seconds += ms / 1000;
  PrintLatencies("one thread, nothing else running", alone, alone_seconds);
  PrintLatencies("listers alone", idle_latencies, idle_seconds);
  PrintLatencies("listers while the disc is ingested", busy_latencies, busy_seconds);
  std::printf("\n| disc ingest | runs s | median s |\n|---|---|---:|\n");
  auto runs = [](const std::vector<double>& xs) {
    std::string s;
    for (double x : xs) s += (s.empty() ? "" : " ") + std::to_string(x).substr(0, 5);
    return s;
  };
  std::printf("| alone | %s | %.2f |\n", runs(ingest_alone).c_str(), Median(ingest_alone));
  std::printf("| with the listers | %s | %.2f |\n", runs(ingest_listed).c_str(),
              Median(ingest_listed));
  std::printf("\nratio of the medians: %.2f\n", Median(ingest_listed) / Median(ingest_alone));

  std::printf(
      "\n| audited reads | threads | events | events/s | commits | events/commit |\n"
      "|---|---:|---:|---:|---:|---:|\n");
  Appends(dir, *pass, small_doc, listers, append_seconds, true);
  Appends(dir, *pass, small_doc, listers, append_seconds, false);
  return 0;
}
