// Fills a vault's audit log for bench/access_report.sh: PATIENTS patients, then EVENTS access
// events (`access.refused`, as a server records them) spread over them at random, from
// THREADS threads (group-committed as a server's are). The first patient's id is printed.
//
//   DOSSIER_PASSPHRASE_FILE=F audit_events VAULT PATIENTS EVENTS THREADS
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "vault/vault.h"

int main(int argc, char** argv) {
  if (argc != 5 || std::getenv("DOSSIER_PASSPHRASE_FILE") == nullptr) {
    std::fprintf(stderr,
                 "usage: DOSSIER_PASSPHRASE_FILE=F audit_events VAULT PATIENTS EVENTS THREADS\n");
    return 2;
  }
  std::ifstream pf(std::getenv("DOSSIER_PASSPHRASE_FILE"));
  std::string passphrase;
  std::getline(pf, passphrase);
  const dossier::vault::Actor op{"bench", "operator"};
  auto v = dossier::vault::Vault::Open(argv[1], passphrase, op);
  if (!v.ok()) {
    std::fprintf(stderr, "audit_events: %s\n", v.status().message().c_str());
    return 1;
  }
  const int patients = std::atoi(argv[2]), threads = std::atoi(argv[4]);
  const long events = std::atol(argv[3]);
  std::vector<std::string> ids;
  for (int i = 0; i < patients; ++i) {
    auto id = (*v)->AddPatient({"Bench " + std::to_string(i), "1970-01-01", "", ""});
    if (!id.ok()) return 1;
    ids.push_back(*id);
  }
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      std::mt19937 rng(t);
      dossier::vault::ActingAs acting(**v, {"usr_bench" + std::to_string(t), "manager"});
      for (long i = t; i < events; i += threads) {
        const std::string& p = ids[rng() % ids.size()];
        if (!(*v)->RecordAccessEvent("access.refused", {p}, p, "refused", "not_theirs").ok()) {
          std::fprintf(stderr, "audit_events: an event was not recorded\n");
          std::exit(1);
        }
      }
    });
  }
  for (auto& th : pool) th.join();
  std::printf("%s\n", ids.front().c_str());
  return 0;
}
