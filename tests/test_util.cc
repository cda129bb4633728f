#include "tests/test_util.h"

#include <fcntl.h>
#include <sodium.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>

namespace dossier::testing {

void TempDirTest::SetUp() {
  std::string tmpl = (fs::temp_directory_path() / "dossier-test-XXXXXX").string();
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  dir_ = tmpl;
}

void TempDirTest::TearDown() {
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

void VaultTestBase::SetUp() {
  TempDirTest::SetUp();
  const vault::Actor actor{"t", "operator"};
  ASSERT_TRUE(vault::Vault::Create(dir_ / "vault", kPassphrase, actor).ok());
  auto v = vault::Vault::Open(dir_ / "vault", kPassphrase, actor);
  ASSERT_TRUE(v.ok()) << v.status().message();
  v_ = std::move(v).value();
  patient_ = *v_->AddPatient({"Кузнецова Мария", "1985-07-12", "", ""});
}

namespace {

pid_t Spawn(const fs::path& vault, const fs::path& pass_file, const std::vector<std::string>& args,
            const fs::path& out, const fs::path& err, const fs::path& in_path = "/dev/null") {
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  ::setsid();  // no controlling terminal: a missing passphrase must not prompt
  const int in = ::open(in_path.c_str(), O_RDONLY);
  const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  const int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ::dup2(in, 0);
  ::dup2(o, 1);
  ::dup2(e, 2);
  ::setenv("DOSSIER_VAULT", vault.c_str(), 1);
  if (pass_file.empty()) {
    ::unsetenv("DOSSIER_PASSPHRASE_FILE");
  } else {
    ::setenv("DOSSIER_PASSPHRASE_FILE", pass_file.c_str(), 1);
  }
  ::setenv("USER", "tester", 1);
  std::vector<char*> argv;
  std::string bin = DOSSIER_BINARY;
  argv.push_back(bin.data());
  std::vector<std::string> copy = args;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  ::execv(bin.c_str(), argv.data());
  ::_exit(127);
}

}  // namespace

RunResult RunDossier(const fs::path& vault, const fs::path& pass_file,
                     const std::vector<std::string>& args) {
  return RunDossierWithInput(vault, pass_file, args, std::nullopt);
}

RunResult RunDossierWithInput(const fs::path& vault, const fs::path& pass_file,
                              const std::vector<std::string>& args,
                              const std::optional<std::string>& input) {
  const fs::path base = vault.parent_path();
  const fs::path out = base / ".run.out", err = base / ".run.err", in = base / ".run.in";
  if (input) WriteFile(in, *input);
  const pid_t pid = Spawn(vault, pass_file, args, out, err, input ? in : fs::path("/dev/null"));
  int status = 0;
  ::waitpid(pid, &status, 0);
  RunResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = ReadFile(out);
  r.err = ReadFile(err);
  fs::remove(out);
  fs::remove(err);
  if (input) fs::remove(in);
  return r;
}

int SpawnDossier(const fs::path& vault, const fs::path& pass_file,
                 const std::vector<std::string>& args, const fs::path& log) {
  return Spawn(vault, pass_file, args, log, fs::path(log.string() + ".err"));
}

void CliTestBase::SetUp() {
  TempDirTest::SetUp();
  vault_ = dir_ / "vault";
  pass_ = dir_ / "pass";
  WriteFile(pass_, std::string(kPassphrase) + "\n");
}

nlohmann::json CliTestBase::Json(const std::vector<std::string>& args) {
  std::vector<std::string> a = {"--json"};
  a.insert(a.end(), args.begin(), args.end());
  RunResult r = Run(a);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return nlohmann::json::parse(r.out, nullptr, false);
}

std::string QueryText(const fs::path& catalog, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(catalog.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr), SQLITE_OK) << sql;
  std::string out;
  if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0) != nullptr) {
    out = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
  }
  sqlite3_finalize(s);
  sqlite3_close(db);
  return out;
}

void RunSql(const fs::path& catalog, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(catalog.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK)
      << (err ? err : "") << " in: " << sql;
  sqlite3_free(err);
  sqlite3_close(db);
}

void WriteFile(const fs::path& path, std::string_view content) {
  fs::create_directories(path.parent_path());
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(content.data(), static_cast<std::streamsize>(content.size()));
}

std::string ReadFile(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

std::string PseudoRandom(size_t size, uint64_t seed) {
  std::string out(size, '\0');
  std::mt19937_64 rng(seed);
  for (size_t i = 0; i < size; i += 8) {
    const uint64_t v = rng();
    for (size_t j = 0; j < 8 && i + j < size; ++j) out[i + j] = static_cast<char>(v >> (8 * j));
  }
  return out;
}

void WriteLargeFile(const fs::path& path, uint64_t size, uint64_t seed) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  const std::string block = PseudoRandom(1 << 20, seed);
  for (uint64_t done = 0; done < size;) {
    const uint64_t n = std::min<uint64_t>(block.size(), size - done);
    // Vary each block so no two chunks of the file are equal.
    std::string b = block.substr(0, n);
    b[0] = static_cast<char>(done >> 20);
    b[1] = static_cast<char>(done >> 28);
    f.write(b.data(), static_cast<std::streamsize>(n));
    done += n;
  }
}

std::string FileSha256(const fs::path& path) {
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  std::ifstream f(path, std::ios::binary);
  std::vector<char> buf(1 << 20);
  while (f) {
    f.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    crypto_hash_sha256_update(&st, reinterpret_cast<uint8_t*>(buf.data()),
                              static_cast<unsigned long long>(f.gcount()));
  }
  uint8_t out[32];
  crypto_hash_sha256_final(&st, out);
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (uint8_t b : out) s += {hex[b >> 4], hex[b & 15]};
  return s;
}

std::map<std::string, std::string> Snapshot(const fs::path& dir) {
  std::map<std::string, std::string> m;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) m[e.path().lexically_relative(dir).string()] = ReadFile(e.path());
  }
  return m;
}

std::vector<std::string> FilesContaining(const fs::path& dir, std::string_view needle) {
  std::vector<std::string> hits;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file() && ReadFile(e.path()).find(needle) != std::string::npos) {
      hits.push_back(e.path().lexically_relative(dir).string());
    }
  }
  return hits;
}

std::pair<int, std::string> Shell(const std::string& command) {
  std::string out;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return {-1, ""};
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  const int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::vector<std::string> ErrorLines(const std::string& output) {
  std::vector<std::string> errors;
  size_t start = 0;
  while (start < output.size()) {
    size_t end = output.find('\n', start);
    if (end == std::string::npos) end = output.size();
    const std::string line = output.substr(start, end - start);
    if (line.find("Error") != std::string::npos || line.find("Abort") != std::string::npos) {
      errors.push_back(line);
    }
    start = end + 1;
  }
  return errors;
}

void FlipByte(const fs::path& path, uint64_t offset) {
  std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x01);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
}

std::string MinimalPdf(std::string_view text) { return TextPdf({std::string(text)}); }

std::string TextPdf(const std::vector<std::string>& texts) {
  std::vector<std::string> objs = {"<< /Type /Catalog /Pages 2 0 R >>", "",
                                   "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"};
  std::string kids;
  for (const auto& t : texts) {
    const std::string content = "BT /F1 14 Tf 72 720 Td (" + t + ") Tj ET";
    const size_t page = objs.size() + 1;
    objs.push_back("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents " +
                   std::to_string(page + 1) + " 0 R /Resources << /Font << /F1 3 0 R >> >> >>");
    objs.push_back("<< /Length " + std::to_string(content.size()) + " >>\nstream\n" + content +
                   "\nendstream");
    kids += std::to_string(page) + " 0 R ";
  }
  objs[1] = "<< /Type /Pages /Kids [" + kids + "] /Count " + std::to_string(texts.size()) + " >>";
  return PdfFromObjects(objs);
}

void MakeHeicPhoto(const fs::path& image, const fs::path& jpeg, const fs::path& heic) {
  ASSERT_EQ(std::system(("/usr/bin/python3 -c \"import sys; from PIL import Image; "
                         "Image.open(sys.argv[1]).convert('RGB').save(sys.argv[2], quality=90)\" " +
                         image.string() + " " + jpeg.string())
                            .c_str()),
            0);
  ASSERT_EQ(
      std::system(
          ("heif-enc -q 90 " + jpeg.string() + " -o " + heic.string() + " >/dev/null").c_str()),
      0);
}

std::pair<int, int> JpegSize(const std::string& j) {
  for (size_t i = 2; i + 9 < j.size();) {
    if (static_cast<uint8_t>(j[i]) != 0xFF) return {0, 0};
    const auto marker = static_cast<uint8_t>(j[i + 1]);
    const size_t len = (static_cast<uint8_t>(j[i + 2]) << 8) | static_cast<uint8_t>(j[i + 3]);
    if (marker == 0xC0) {
      return {(static_cast<uint8_t>(j[i + 7]) << 8) | static_cast<uint8_t>(j[i + 8]),
              (static_cast<uint8_t>(j[i + 5]) << 8) | static_cast<uint8_t>(j[i + 6])};
    }
    i += 2 + len;
  }
  return {0, 0};
}

std::string ScannedPdf(const std::string& jpeg, const std::string& hidden_text) {
  const auto [w, h] = JpegSize(jpeg);
  const double pw = w * 72.0 / 300, ph = h * 72.0 / 300;  // a 300 DPI scan
  const std::string content = "q " + std::to_string(pw) + " 0 0 " + std::to_string(ph) +
                              " 0 0 cm /Im0 Do Q BT 3 Tr /F1 10 Tf 10 20 Td (" + hidden_text +
                              ") Tj ET";
  return PdfFromObjects(
      {"<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
       "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 " + std::to_string(pw) + " " +
           std::to_string(ph) +
           "] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> /XObject << /Im0 6 0 R >> >> >>",
       "<< /Length " + std::to_string(content.size()) + " >>\nstream\n" + content + "\nendstream",
       "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
       "<< /Type /XObject /Subtype /Image /Width " + std::to_string(w) + " /Height " +
           std::to_string(h) + " /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /DCTDecode " +
           "/Length " + std::to_string(jpeg.size()) + " >>\nstream\n" + jpeg + "\nendstream"});
}

std::string PdfFromObjects(const std::vector<std::string>& objs) {
  std::string pdf = "%PDF-1.4\n";
  std::vector<size_t> offsets;
  for (size_t i = 0; i < objs.size(); ++i) {
    offsets.push_back(pdf.size());
    pdf += std::to_string(i + 1) + " 0 obj\n" + objs[i] + "\nendobj\n";
  }
  const size_t xref = pdf.size();
  pdf += "xref\n0 " + std::to_string(objs.size() + 1) + "\n0000000000 65535 f \n";
  for (size_t off : offsets) {
    char line[32];
    std::snprintf(line, sizeof(line), "%010zu 00000 n \n", off);
    pdf += line;
  }
  pdf += "trailer\n<< /Size " + std::to_string(objs.size() + 1) + " /Root 1 0 R >>\nstartxref\n" +
         std::to_string(xref) + "\n%%EOF\n";
  return pdf;
}

}  // namespace dossier::testing
