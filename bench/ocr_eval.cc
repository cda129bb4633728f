// Measures the OCR check on a labelled page set (samples/make_ocr_set.py,
// samples/make_real_set.py): the confusion matrix of verdicts, a table of verdicts per kind of
// page (when labels.tsv has the sixth column, `kind`), rotations found, and the character
// error rate (CER) of the text against the ground truth. A `.pdf` is analysed as a PDF (its
// first page), anything else as an image. Markdown to stdout; one line of evidence per page
// to stderr.
//
//   ocr_eval [--sample-all] SET_DIR [THREADS]   (run with OMP_THREAD_LIMIT=1; see
//                                                bench/ocr_eval.sh)
// The verdict first from a sample of a page's lines (doc/OCR.md step 4b) is counted against
// the full verdict; --sample-all samples every page, however few its lines (in production only
// pages of 9 lines or more are).
//   ocr_eval --cer TRUTH.txt TEXT.txt    prints the CER of TEXT against TRUTH, in percent
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <mutex>
#include <span>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "ocr/ocr.h"

namespace {

using dossier::ocr::Verdict;

struct Row {
  std::string file, verdict, group, truth_file;
  int rotation = 0;
  std::string kind;  // optional sixth column: what the page is (magazine, hand-stamp, …)
};

std::string ReadAll(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::u32string Normalized(const std::string& utf8) {
  std::u32string out;
  bool space = true;
  for (size_t i = 0; i < utf8.size();) {
    const auto c = static_cast<unsigned char>(utf8[i]);
    const int len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    char32_t cp = len == 1 ? c : c & (0x7F >> len);
    for (int k = 1; k < len && i + k < utf8.size(); ++k) {
      cp = (cp << 6) | (static_cast<unsigned char>(utf8[i + k]) & 0x3F);
    }
    i += len;
    const bool ws = cp == ' ' || cp == '\n' || cp == '\t' || cp == '\r' || cp == 0x0C;
    if (ws) {
      if (!space) out.push_back(' ');
      space = true;
    } else {
      out.push_back(cp);
      space = false;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

size_t Levenshtein(const std::u32string& a, const std::u32string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::string_view(argv[1]) == "--cer") {
    const auto truth = Normalized(ReadAll(argv[2]));
    const auto got = Normalized(ReadAll(argv[3]));
    fmt::print("{:.2f}\n", truth.empty() ? 0.0 : 100.0 * Levenshtein(got, truth) / truth.size());
    return 0;
  }
  const bool sample_all = argc > 1 && std::string_view(argv[1]) == "--sample-all";
  if (sample_all) {
    --argc;
    ++argv;
  }
  if (argc < 2) {
    fmt::print(stderr, "usage: ocr_eval [--sample-all] SET_DIR [THREADS]\n");
    return 1;
  }
  const std::filesystem::path dir = argv[1];
  const int threads = argc > 2 ? std::atoi(argv[2]) : 2;
  std::vector<Row> rows;
  {
    std::istringstream in(ReadAll(dir / "labels.tsv"));
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::vector<std::string> f;
      std::istringstream ls(line);
      for (std::string x; std::getline(ls, x, '\t');) f.push_back(x);
      if (f.size() < 4) continue;
      rows.push_back(
          {f[0], f[1], f[3], f.size() > 4 ? f[4] : "", std::stoi(f[2]), f.size() > 5 ? f[5] : ""});
    }
  }
  struct Out {
    std::string verdict;
    int rotation = 0;
    double cer = -1;
    double seconds = 0;
    std::string evidence;
    std::string early;          // the verdict from the sample, "" when it was not sure
    double early_seconds = -1;  // when it was known
  };
  std::vector<Out> outs(rows.size());
  std::atomic<size_t> next{0};
  std::mutex err_mu;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      dossier::ocr::OcrOptions ocr_options;
      if (sample_all) ocr_options.sample_min_lines = 1;
      auto analyzer = dossier::ocr::Analyzer::Create(ocr_options);
      if (!analyzer.ok()) {
        fmt::print(stderr, "{}\n", analyzer.status().message());
        std::exit(1);
      }
      for (size_t i; (i = next++) < rows.size();) {
        const std::string bytes = ReadAll(dir / rows[i].file);
        const std::span<const uint8_t> data{reinterpret_cast<const uint8_t*>(bytes.data()),
                                            bytes.size()};
        const bool pdf = rows[i].file.ends_with(".pdf") || rows[i].file.ends_with(".PDF");
        const auto start = std::chrono::steady_clock::now();
        // Verdict first, as ingest asks; a page whose sample was sure is asked again for its
        // text, as ingest does.
        (*analyzer)->SetVerdictFirst(true);
        auto a = pdf ? (*analyzer)->AnalyzePdf(data, 1, 1) : (*analyzer)->AnalyzeImage(data, 1);
        (*analyzer)->SetVerdictFirst(false);
        Out& o = outs[i];
        if (a.ok() && a->pages.size() == 1 && a->pages[0].text_pending) {
          o.early_seconds =
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
          a = pdf ? (*analyzer)->AnalyzePdf(data, 1, 1) : (*analyzer)->AnalyzeImage(data, 1);
        }
        o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const std::string kind = rows[i].kind.empty() ? "" : "  kind " + rows[i].kind;
        if (!a.ok() || a->pages.empty()) {
          o.verdict = "error";
          std::lock_guard<std::mutex> lock(err_mu);
          fmt::print(stderr, "{:28} want {:11} got {:11} {}{}\n", rows[i].file, rows[i].verdict,
                     o.verdict, a.ok() ? "no pages" : a.status().message(), kind);
          continue;
        }
        const auto& p = a->pages[0];
        o.verdict = dossier::ocr::VerdictName(p.verdict);
        o.rotation = p.rotation;
        if (p.early_verdict) o.early = dossier::ocr::VerdictName(*p.early_verdict);
        const auto& e = p.evidence;
        o.evidence = fmt::format(
            "words {:3} conf {:5.1f} wordlike {:.2f} ink {:.4f} faint {:.4f} text_ink {:.2f} "
            "lines {:2}+{:2}/{:2} regular {:.2f} sharp {:3.0f}",
            e.words, e.mean_confidence, e.wordlike_share, e.ink_coverage, e.faint_coverage,
            e.text_ink_share, e.strong_lines, e.weak_lines, e.text_lines, e.line_regularity,
            e.sharpness);
        if (!rows[i].truth_file.empty()) {
          const auto truth = Normalized(ReadAll(dir / rows[i].truth_file));
          const auto got = Normalized(p.text);
          o.cer = truth.empty() ? 0 : 1.0 * Levenshtein(got, truth) / truth.size();
        }
        std::lock_guard<std::mutex> lock(err_mu);
        fmt::print(stderr,
                   "{:28} want {:11} got {:11} rot {:3}/{:3} {:5.1f}s cer {:6.3f}  {}{}  early {} "
                   "{:.2f}s\n",
                   rows[i].file, rows[i].verdict, o.verdict, rows[i].rotation, o.rotation,
                   o.seconds, o.cer, o.evidence, kind, o.early.empty() ? "-" : o.early,
                   o.early_seconds);
      }
    });
  }
  for (auto& t : pool) t.join();

  const std::vector<std::string> names{"printed", "mixed", "handwritten", "unreadable", "blank"};
  std::map<std::pair<std::string, std::string>, int> m;
  int right = 0, hand_as_printed = 0, rot_right = 0, rot_total = 0;
  double total_s = 0;
  std::map<std::string, std::pair<double, int>> cer;  // group → (sum, pages)
  for (size_t i = 0; i < rows.size(); ++i) {
    ++m[{rows[i].verdict, outs[i].verdict}];
    right += rows[i].verdict == outs[i].verdict;
    hand_as_printed += rows[i].verdict == "handwritten" && outs[i].verdict == "printed";
    if (rows[i].rotation != 0) {
      ++rot_total;
      rot_right += rows[i].rotation == outs[i].rotation;
    }
    total_s += outs[i].seconds;
    if (outs[i].cer >= 0 && rows[i].group != "other") {
      cer[rows[i].group].first += outs[i].cer;
      cer[rows[i].group].second += 1;
    }
  }
  fmt::print("Confusion matrix (rows: the page's label; columns: Dossier's verdict), {} pages:\n\n",
             rows.size());
  fmt::print("| label \\ verdict | {} | error |\n|---|", fmt::join(names, " | "));
  for (size_t k = 0; k <= names.size(); ++k) fmt::print("---:|");
  fmt::print("\n");
  for (const auto& want : names) {
    fmt::print("| {} |", want);
    for (const auto& got : names) fmt::print(" {} |", m[{want, got}]);
    fmt::print(" {} |\n", m[{want, "error"}]);
  }
  // Per kind of page, in the order the kinds first appear in labels.tsv.
  std::vector<std::pair<std::string, std::string>> kinds;  // (kind, label)
  std::map<std::pair<std::string, std::string>, std::map<std::string, int>> per_kind;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows[i].kind.empty()) continue;
    const std::pair<std::string, std::string> key{rows[i].kind, rows[i].verdict};
    if (!per_kind.contains(key)) kinds.push_back(key);
    ++per_kind[key][outs[i].verdict];
    ++per_kind[key]["pages"];
  }
  if (!kinds.empty()) {
    fmt::print("\nVerdicts per kind of page:\n\n| kind | label | pages | {} | error |\n|---|---|",
               fmt::join(names, " | "));
    for (size_t k = 0; k <= names.size() + 1; ++k) fmt::print("---:|");
    fmt::print("\n");
    for (const auto& key : kinds) {
      auto& c = per_kind[key];
      fmt::print("| {} | {} | {} |", key.first, key.second, c["pages"]);
      for (const auto& got : names) fmt::print(" {} |", c[got]);
      fmt::print(" {} |\n", c["error"]);
    }
  }
  fmt::print("\nVerdict accuracy: {}/{} = {:.1f}%. Handwritten pages called printed: {}. ", right,
             rows.size(), 100.0 * right / rows.size(), hand_as_printed);
  fmt::print("Rotations found: {}/{}.\n\n", rot_right, rot_total);
  for (const auto& [group, v] : cer) {
    fmt::print("CER, {} printed pages ({}): {:.2f}%\n", group, v.second,
               100.0 * v.first / v.second);
  }
  fmt::print("\nOCR time: {:.1f} s of analysis for {} pages ({:.2f} s per page, {} threads).\n",
             total_s, rows.size(), total_s / rows.size(), threads);
  // The verdict first: how often the sample was sure, whether it ever differed from the full
  // verdict (it must not), and how soon it came.
  int sure = 0, printed = 0, printed_sure = 0;
  std::vector<std::string> differ;
  std::vector<double> early_s;
  for (size_t i = 0; i < rows.size(); ++i) {
    printed += outs[i].verdict == "printed";
    if (outs[i].early.empty()) continue;
    ++sure;
    printed_sure += outs[i].verdict == "printed";
    early_s.push_back(outs[i].early_seconds);
    if (outs[i].early != outs[i].verdict) {
      differ.push_back(rows[i].file + " (" + outs[i].early + " from the sample, " +
                       outs[i].verdict + " read whole)");
    }
  }
  std::sort(early_s.begin(), early_s.end());
  fmt::print(
      "\nVerdict first, from a sample of the lines{}: sure on {} of {} pages ({} of the {} "
      "called printed); it differed from the full verdict on {}{}{}.",
      sample_all ? " (every page sampled: --sample-all)" : "", sure, rows.size(), printed_sure,
      printed, differ.size(), differ.empty() ? "" : ": ", fmt::join(differ, ", "));
  if (!early_s.empty()) {
    fmt::print(" Known after {:.2f} s (median), {:.2f} s at most, from the page's start.",
               early_s[early_s.size() / 2], early_s.back());
  }
  fmt::print("\n");
  return 0;
}
