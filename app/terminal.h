// Terminal I/O of the CLI: passphrase input that never touches argv, and a progress line.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "common/secure_buffer.h"
#include "common/status.h"

namespace dossier::app {

struct PassphraseSource {
  std::string file;  // --passphrase-file, else $DOSSIER_PASSPHRASE_FILE, else "" (prompt)
};

// Reads the passphrase from the file (one line; a trailing newline is dropped), or prompts on
// the terminal without echo — twice when `confirm` is set. kInvalidArgument when there is no
// file and no terminal; kNotFound when the file does not exist.
Result<SecretString> ReadPassphrase(const PassphraseSource& source, const std::string& prompt,
                                    bool confirm);

// A new password for an account (`dossier user add|passwd`): read from `file` as a
// passphrase file is, or asked for twice on the terminal without echo. Never from argv or an
// environment variable. kInvalidArgument when there is no file and no terminal, or the two
// entries differ; kNotFound when the file does not exist.
Result<SecretString> ReadPassword(const std::string& file, const std::string& prompt);

// A one-line progress display on stderr, shown only on a terminal and only once the work has
// taken longer than a second; redrawn at most ten times a second.
class Progress {
 public:
  explicit Progress(std::string label);
  ~Progress();  // clears the line
  void Update(uint64_t bytes_done, uint64_t bytes_total, size_t items_done = 0,
              size_t items_total = 0);
  // A count of things (pages checked), with its own label.
  void UpdateCount(const std::string& what, int done, int total);

 private:
  bool Due();  // enabled, past the first second, and 100 ms since the last drawing
  std::string label_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_;
};

std::string HumanSize(uint64_t bytes);

}  // namespace dossier::app
