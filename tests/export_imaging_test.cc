// Imaging in dossiers through the real binary: `dossier export --deidentify` and `--jpeg-ls`
// checked with the tools a clinic or an auditor would use (7-Zip extracts each part, dcmdump
// reads every instance, dcentvfy checks them, dcmdjpls decodes JPEG-LS and the pixels are
// compared with the originals'), and `dossier dicom export`, which shares their code, pinned
// to the output it had before it did.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "tests/test_util.h"

namespace dossier {
namespace {

namespace fs = std::filesystem;
using testing::RunResult;
using testing::Shell;

const fs::path kUpload = fs::path(DOSSIER_SAMPLES_DIR) / "upload";

// What a DICOM folder holds, independent of what differs from one vault or run to the next:
// every element of every file (sorted by path) with its value — binary values as their
// SHA-256 — but the replacement UIDs (keyed by the vault's random patient key) numbered in
// the order they first appear, the case id written CASE_ID, and in a DICOMDIR what DCMTK
// makes new each time (its own SOP instance UID, record offsets, a study time it invents
// when a file has none). Lengths are left out: they follow the UIDs'. And the pad byte after
// a JPEG-LS code stream's EOI marker counts as 00: DCMTK 3.6.7 left whatever byte its buffer
// held there (dicom/export.cc, ZeroPadFragments), which we now write as 00.
constexpr const char* kCanonicalDicom = R"PY(
import hashlib, os, re, sys, pydicom
root, case_id = sys.argv[1], sys.argv[2]
pad = re.compile(rb'\xff\xd9[\x00-\xff](?=\xfe\xff\x00\xe0|\xfe\xff\xdd\xe0|$)', re.S)
uids, out = {}, []
masked = {0x00020000, 0x00020003, 0x00041200, 0x00041202, 0x00041400, 0x00041420}
def value(e):
    if e.VR in ('OB', 'OW', 'OF', 'OD', 'OL', 'OV', 'UN') or e.tag == 0x7FE00010:
        v = e.value if isinstance(e.value, bytes) else bytes(e.value or b'')
        if e.tag == 0x7FE00010 and e.is_undefined_length:
            v = pad.sub(b'\xff\xd9\x00', v)
        return 'sha256:' + hashlib.sha256(v).hexdigest()
    if e.VR == 'UI':
        parts = []
        for u in (e.value if isinstance(e.value, pydicom.multival.MultiValue) else [e.value]):
            u = str(u or '')
            if u.startswith('2.25.'):
                u = uids.setdefault(u, 'UID%d' % (len(uids) + 1))
            parts.append(u)
        return '\\'.join(parts)
    return repr(e.value).replace(case_id, 'CASE_ID')
def walk(ds, depth, dicomdir):
    for e in ds:
        if e.VR == 'SQ':
            out.append('%s%s SQ %d' % (' ' * depth, e.tag, len(e.value)))
            for item in e.value:
                walk(item, depth + 1, dicomdir)
            continue
        v = value(e)
        if dicomdir and (e.tag in masked or e.tag == 0x00080030):
            v = 'MASKED'
        out.append('%s%s %s %s' % (' ' * depth, e.tag, e.VR, v))
files = sorted(os.path.relpath(os.path.join(d, f), root)
               for d, _, fs in os.walk(root) for f in fs)
for f in files:
    ds = pydicom.dcmread(os.path.join(root, f), force=True)
    out.append('== %s %d-byte preamble' % (f, len(ds.preamble or b'')))
    meta = [e for e in ds.file_meta if e.tag != 0x00020000]
    walk(meta, 1, f == 'DICOMDIR')
    walk(ds, 1, f == 'DICOMDIR')
print(hashlib.sha256('\n'.join(out).encode()).hexdigest())
)PY";

// The case every test exports from, made once and copied into each test's own folder: the
// sample upload (documents and one MRI image), a 12-image CT disc of the patient, and two
// pydicom images (16-bit signed MR, RGB with odd sides) relabelled as the patient's.
struct Template {
  fs::path dir;
  std::string patient, case_id, clinic;
  std::vector<std::string> instances;                       // doc ids of the DICOM instances
  std::vector<std::string> documents;                       // doc ids of the other documents
  std::vector<std::pair<std::string, std::string>> series;  // id, modality
  fs::path originals;                                       // the DICOM files as ingested
};
Template* g_template = nullptr;

class ExportImagingTest : public testing::CliTestBase {
 protected:
  static void SetUpTestSuite() {
    g_template = new Template;
    Template& t = *g_template;
    t.dir = fs::temp_directory_path() / ("dossier-imaging-template-" + std::to_string(::getpid()));
    fs::remove_all(t.dir);
    fs::create_directories(t.dir);
    const fs::path vault = t.dir / "vault", pass = t.dir / "pass";
    testing::WriteFile(pass, std::string(testing::kPassphrase) + "\n");
    auto run = [&](const std::vector<std::string>& args) {
      RunResult r = testing::RunDossier(vault, pass, args);
      EXPECT_EQ(r.exit_code, 0) << r.err;
      return r.out.empty() ? "" : r.out.substr(0, r.out.size() - 1);
    };
    run({"init"});
    t.patient =
        run({"patient", "add", "--name", "Иванов Иван Петрович", "--birth-date", "1980-02-01"});
    t.case_id = run({"case", "open", "--patient", t.patient, "--goal", "second opinion"});
    t.clinic = run({"clinic", "add", "Charité Berlin", "--country", "DE"});
    const fs::path up = t.dir / "upload";
    fs::copy(kUpload, up, fs::copy_options::recursive);
    ASSERT_EQ(std::system((std::string(DOSSIER_MAKE_CT_DISC) + " --folder " + (up / "ct").string() +
                           " --instances 12 --size 64 > /dev/null")
                              .c_str()),
              0);
    fs::create_directories(up / "more");
    for (const char* name : {"MR_small.dcm", "SC_rgb_small_odd.dcm"}) {
      fs::copy_file(testing::kPydicomFiles / name, up / "more" / name);
      auto [rc, text] = Shell(
          "dcmodify -nb -i 'PatientName=Ivanov^Ivan' -i "
          "'PatientBirthDate=19800201' -i 'PatientID=DEMO-0001' -i "
          "'PatientSex=M' " +
          (up / "more" / name).string());
      ASSERT_EQ(rc, 0) << text;
    }
    t.originals = t.dir / "originals";
    fs::create_directories(t.originals);
    fs::copy(up / "ct/DICOM", t.originals / "ct", fs::copy_options::recursive);
    fs::copy(up / "disc/DICOM", t.originals / "disc", fs::copy_options::recursive);
    fs::copy(up / "more", t.originals / "more", fs::copy_options::recursive);
    run({"ingest", "--case", t.case_id, up.string()});
    for (const auto& d : nlohmann::json::parse(run({"--json", "docs", "--case", t.case_id}))) {
      if (d["kind"] == "dicom-series") {
        EXPECT_EQ(d.value("mismatch", ""), "") << d;
        t.series.push_back({d["id"], d["modality"]});
        for (const auto& id : d["documents"]) t.instances.push_back(id);
      } else if (d["kind"] != "dicomdir") {
        t.documents.push_back(d["id"]);
      }
    }
  }
  static void TearDownTestSuite() {
    fs::remove_all(g_template->dir);
    delete g_template;
    g_template = nullptr;
  }
  void SetUp() override {
    CliTestBase::SetUp();
    const Template& t = *g_template;
    fs::copy(t.dir / "vault", vault_, fs::copy_options::recursive);
    patient_ = t.patient;
    case_ = t.case_id;
    clinic_ = t.clinic;
    instances_ = t.instances;
    documents_ = t.documents;
    series_ = t.series;
    originals_ = dir_ / "originals";
    fs::copy(t.originals, originals_, fs::copy_options::recursive);
  }

  // The canonical digest of a DICOM folder (kCanonicalDicom).
  std::string CanonicalDigest(const fs::path& folder) {
    const fs::path script = dir_ / "canonical.py";
    testing::WriteFile(script, kCanonicalDicom);
    auto [rc, out] =
        Shell("/usr/bin/python3 " + script.string() + " " + folder.string() + " " + case_);
    EXPECT_EQ(rc, 0) << out;
    return out.empty() ? out : out.substr(0, out.size() - 1);
  }

  void Consent() {
    RunResult r = Run({"consent", "add", "--patient", patient_, "--recipient", clinic_, "--purpose",
                       "second-opinion", "--categories", "epicrisis,conclusion,lab,imaging,other",
                       "--until", "2099-12-31"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    consent_ = r.out.substr(0, r.out.size() - 1);
    pw_ = dir_ / "part-password";
    testing::WriteFile(pw_, "correct horse battery staple\n");
  }
  RunResult Export(const fs::path& out, std::vector<std::string> extra = {}) {
    std::vector<std::string> a = {"export",      "--case",          case_,
                                  "--recipient", clinic_,           "--out",
                                  out.string(),  "--password-file", pw_.string()};
    a.insert(a.end(), extra.begin(), extra.end());
    return Run(a);
  }
  // Each part of the export in `out` extracted by 7-Zip into a folder of its own, in order.
  std::vector<fs::path> ExtractParts(const fs::path& out) {
    std::vector<fs::path> zips, folders;
    for (const auto& e : fs::directory_iterator(out)) {
      if (e.path().extension() == ".zip") zips.push_back(e.path());
    }
    std::sort(zips.begin(), zips.end());
    for (const auto& zip : zips) {
      const fs::path x = dir_ / ("x-" + zip.stem().string());
      auto [rc, text] =
          Shell("7zz x -p'correct horse battery staple' -o" + x.string() + " " + zip.string());
      EXPECT_EQ(rc, 0) << text;
      folders.push_back(x);
    }
    return folders;
  }
  // The DICOM files of extracted parts.
  static std::vector<fs::path> Instances(const std::vector<fs::path>& parts) {
    std::vector<fs::path> out;
    for (const auto& part : parts) {
      if (!fs::exists(part / "DICOM")) continue;
      for (const auto& e : fs::recursive_directory_iterator(part / "DICOM")) {
        if (e.is_regular_file()) out.push_back(e.path());
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  // Every instance UID the original files carry (study, series, instance, frame of reference,
  // referenced instances), from dcmdump.
  std::set<std::string> OriginalUids() {
    std::set<std::string> uids;
    for (const auto& e : fs::recursive_directory_iterator(originals_)) {
      if (!e.is_regular_file()) continue;
      auto [rc, text] = Shell("dcmdump " + e.path().string());
      EXPECT_EQ(rc, 0) << text;
      std::istringstream lines(text);
      for (std::string line; std::getline(lines, line);) {
        const auto tag = line.find_first_not_of(' ');
        if (tag == std::string::npos) continue;
        const std::string t = line.substr(tag, 11);
        if (t != "(0020,000d)" && t != "(0020,000e)" && t != "(0008,0018)" && t != "(0020,0052)" &&
            t != "(0002,0003)" && t != "(0008,1155)") {
          continue;
        }
        const auto open = line.find('['), close = line.find(']');
        if (open != std::string::npos && close > open) {
          uids.insert(line.substr(open + 1, close - open - 1));
        }
      }
    }
    return uids;
  }

  std::string patient_, case_, clinic_, consent_;
  fs::path pw_;
  std::vector<std::string> instances_, documents_;
  std::vector<std::pair<std::string, std::string>> series_;
  fs::path originals_;
};

// `dossier dicom export` now runs on the code `dossier export` uses for imaging: its folders
// are what they were before (digests taken with the code before the move), but for what a
// vault's own keys and DCMTK make new each time — and for --jpeg-ls, whose encoder changed on
// purpose (dicom/export.cc, RegisterJpegLsEncoder: DCMTK's default one overflows its buffer).
TEST_F(ExportImagingTest, DicomExportWritesWhatItWroteBefore) {
  const fs::path plain = dir_ / "plain", jls = dir_ / "jls", named = dir_ / "named";
  RunResult a = Run({"dicom", "export", "--case", case_, "-o", plain.string()});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  RunResult b = Run({"dicom", "export", "--case", case_, "--jpeg-ls", "-o", jls.string()});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  RunResult c = Run(
      {"dicom", "export", "--case", case_, "--pseudonym", "PATIENT^7K2Q", "-o", named.string()});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(CanonicalDigest(plain),
            "3999b28a5d73c1b1ad09bdbc6c597a837c00754b1fff736990dabc0f4bcaccd5");
  EXPECT_EQ(CanonicalDigest(named),
            "bcd6054f182e25d0a33b4de3ec8023d491919f50687cb2a95808a0788f34fe97");
  EXPECT_EQ(CanonicalDigest(jls),
            "0012550b4b371d43010829ec298eebf3bec1f191f76f987e1fbd1b267ce1859b");
  // And it says what it said.
  std::string burned;  // the OT series (the sample's MRI, a scan; pydicom's secondary capture)
  std::map<std::string, std::string> by_id(series_.begin(), series_.end());
  for (const auto& [id, modality] : by_id) {
    if (modality != "OT") continue;
    burned += "! " + id +
              ": 1 instance(s) have text burned into the image (BurnedInAnnotation = YES): names "
              "may be visible in the pixels — look at them before sending\n";
  }
  const std::string said =
      " (DICOMDIR, de-identified: PS3.15 Basic Profile, full dates and "
      "patient characteristics kept)\npatient shown as ";
  EXPECT_EQ(a.out, "exported 4 series, 15 instances to " + plain.string() + said + "CASE^" + case_ +
                       "\n" + burned);
  EXPECT_EQ(c.out, "exported 4 series, 15 instances to " + named.string() + said +
                       "PATIENT^7K2Q\n" + burned);
  EXPECT_EQ(a.err, "dossier: " + plain.string() +
                       " holds decrypted images (de-identified): delete it once sent\n");
  // The same export again, as JSON: the same bytes (the UID map is the vault's).
  auto json = Json({"dicom", "export", "--case", case_, "--jpeg-ls", "-o", (dir_ / "j").string()});
  uint64_t stored = 0, written = 0;
  for (const auto& e : fs::recursive_directory_iterator(originals_)) {
    if (e.is_regular_file()) stored += e.file_size();
  }
  for (const auto& e : fs::recursive_directory_iterator(dir_ / "j")) {
    if (e.is_regular_file() && e.path().filename() != "DICOMDIR") written += e.file_size();
  }
  EXPECT_EQ(json,
            (nlohmann::json{{"folder", (dir_ / "j").string()},
                            {"burned_in_annotation", json["burned_in_annotation"]},
                            {"bytes_in", stored},
                            {"bytes_out", written},
                            {"ratio", static_cast<double>(stored) / written},
                            {"instances", 15},
                            {"kept", {{"lossy JPEG Baseline: re-compressing cannot help", 1}}},
                            {"recompressed", 14},
                            {"series", 4}}));
  EXPECT_EQ(json["burned_in_annotation"].size(), 2u);
  auto kib = [](uint64_t n) { return fmt::format("{:.1f} KiB", n / 1024.0); };
  EXPECT_EQ(b.out, "exported 4 series, 15 instances to " + jls.string() + said + "CASE^" + case_ +
                       "\nJPEG-LS lossless: 14 of 15 instances re-compressed, " + kib(stored) +
                       " → " + kib(written) +
                       fmt::format(" ({:.2f}:1)", static_cast<double>(stored) / written) +
                       "\n  kept as they were: 1 (lossy JPEG Baseline: re-compressing cannot "
                       "help)\n" +
                       burned);
}

// What must not leave with de-identified imaging: the patient's names in either script, IDs,
// birth date, accession number, the hospital and its staff, as the originals carry them.
const std::vector<std::string> kPersonal = {
    "Ivanov",   "IVANOV",     "Иванов",      "Petrovich",     "DEMO-0001",
    "19800201", "1980-02-01", "A2026111001", "City Hospital", "Petrova"};

TEST_F(ExportImagingTest, ADeidentifiedDossierHoldsNoNameOrUidOfTheOriginals) {
  Consent();
  const fs::path out = dir_ / "out";
  RunResult r = Export(out, {"--deidentify", "--max-part", "100KB", "--include-handwritten"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("15 DICOM image(s) de-identified (PS3.15 Basic Profile, full dates and "
                       "patient characteristics kept), the patient shown as CASE^" +
                       case_ + "\n"),
            std::string::npos)
      << r.out;
  // Documents cannot be: the manager is told, and they go only as the consent covers them.
  EXPECT_NE(r.err.find("dossier: warning: --deidentify de-identifies DICOM images only: PDFs and "
                       "photos of documents cannot be de-identified automatically, and the " +
                       std::to_string(documents_.size()) +
                       " document(s) in this export go as they are, as consent " + consent_ +
                       " covers them — check them for the patient's name before sending\n"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(out / ".imaging-spool"));
  const auto parts = ExtractParts(out);
  ASSERT_GE(parts.size(), 2u);
  const auto instances = Instances(parts);
  ASSERT_EQ(instances.size(), instances_.size());
  const std::set<std::string> uids = OriginalUids();
  ASSERT_GE(uids.size(), 24u);  // CT: 12 instances, study, series, frame; 3 files of 3
  std::string all;              // every instance as dcmdump reads it
  for (const auto& f : instances) {
    auto [rc, text] = Shell("dcmdump +U8 " + f.string());
    ASSERT_EQ(rc, 0) << text;
    EXPECT_NE(text.find("(0010,0010) PN [CASE^" + case_ + "]"), std::string::npos) << f;
    EXPECT_NE(text.find("(0012,0062) CS [YES]"), std::string::npos) << f;  // identity removed
    all += text;
  }
  for (const auto& secret : kPersonal) EXPECT_EQ(all.find(secret), std::string::npos) << secret;
  for (const auto& uid : uids) EXPECT_EQ(all.find(uid), std::string::npos) << uid;
  // Nor what the parts say about themselves.
  for (const auto& part : parts) {
    for (const char* name : {"MANIFEST.json", "INDEX.HTM", "DICOMDIR", "README.TXT"}) {
      if (!fs::exists(part / name)) continue;
      const std::string text = testing::ReadFile(part / name);
      for (const auto& secret : kPersonal) {
        EXPECT_EQ(text.find(secret), std::string::npos) << part << " " << name << " " << secret;
      }
      for (const auto& uid : uids) EXPECT_EQ(text.find(uid), std::string::npos) << name << uid;
      // Nor the documents' own names (a file may be named after the patient).
      for (const char* file : {"epicrisis.pdf", "mri-conclusion", "lab-results", "patient-note"}) {
        EXPECT_EQ(text.find(file), std::string::npos) << name << " " << file;
      }
    }
    const auto manifest = nlohmann::json::parse(testing::ReadFile(part / "MANIFEST.json"));
    EXPECT_EQ(manifest["imaging"],
              (nlohmann::json{{"deidentified", true}, {"jpeg_ls_lossless", false}}));
    if (fs::exists(part / "DICOMDIR")) {
      auto [rc, text] = Shell("dciodvfy " + (part / "DICOMDIR").string());
      EXPECT_EQ(testing::ErrorLines(text), std::vector<std::string>{}) << text;
    }
  }
  // dcentvfy: one patient, and each study and series the same in every file, across parts.
  std::string files;
  for (const auto& f : instances) files += " " + f.string();
  auto [ent_rc, ent] = Shell("dcentvfy" + files);
  EXPECT_LE(ent_rc, 1) << ent;
  EXPECT_EQ(testing::ErrorLines(ent), std::vector<std::string>{}) << ent;
  // On record: the reads, and what was done to them.
  const auto reads = Json({"audit", "log", "--action", "export.read"});
  ASSERT_EQ(reads.size(), 1u);
  EXPECT_EQ(reads[0]["details"], (nlohmann::json{{"deidentify", "yes"}, {"jpeg_ls", "no"}}));
}

// The originals' pixels, as pydicom reads them, against the decoded export's, instance by
// instance (matched by SOP Instance UID, which --jpeg-ls alone keeps): "N same" or the
// differing file.
constexpr const char* kSamePixels = R"PY(
import os, sys, pydicom
def load(root):
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            ds = pydicom.dcmread(os.path.join(d, f), force=True)
            out[str(ds.SOPInstanceUID)] = ds
    return out
originals, decoded = load(sys.argv[1]), load(sys.argv[2])
for uid, ds in decoded.items():
    o = originals[uid]
    n = o.Rows * o.Columns * o.SamplesPerPixel * (o.BitsAllocated // 8) * int(getattr(o, 'NumberOfFrames', 1))
    if (ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.BitsAllocated, ds.PixelRepresentation) != \
       (o.Rows, o.Columns, o.SamplesPerPixel, o.BitsAllocated, o.PixelRepresentation) or \
       ds.PixelData[:n] != o.PixelData[:n] or len(ds.PixelData) < n:
        sys.exit('differs: ' + uid)
print('%d same' % len(decoded))
)PY";

TEST_F(ExportImagingTest, AJpegLsDossierDecodesToTheOriginalPixelsInFewerParts) {
  Consent();
  // Images of a real size beside the small ones: 8 CT slices of 256 × 256.
  const fs::path disc = dir_ / "disc";
  ASSERT_EQ(std::system((std::string(DOSSIER_MAKE_CT_DISC) + " --folder " + disc.string() +
                         " --instances 8 --size 256 > /dev/null")
                            .c_str()),
            0);
  ASSERT_EQ(Run({"ingest", "--case", case_, disc.string()}).exit_code, 0);
  fs::copy(disc / "DICOM", originals_ / "ct256", fs::copy_options::recursive);
  const fs::path plain = dir_ / "plain", jls = dir_ / "jls";
  RunResult a = Export(plain, {"--max-part", "400KB", "--include-handwritten"});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  RunResult b = Export(jls, {"--max-part", "400KB", "--include-handwritten", "--jpeg-ls"});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_NE(b.out.find("JPEG-LS lossless: 22 of 23 instances re-compressed, "), std::string::npos)
      << b.out;
  EXPECT_NE(b.out.find("  kept as they were: 1 (lossy JPEG Baseline: re-compressing cannot help)"),
            std::string::npos)
      << b.out;
  auto sizes = [](const fs::path& out) {
    std::pair<size_t, uint64_t> n{0, 0};
    for (const auto& e : fs::directory_iterator(out)) {
      if (e.path().extension() != ".zip") continue;
      ++n.first;
      n.second += e.file_size();
    }
    return n;
  };
  const auto [plain_parts, plain_bytes] = sizes(plain);
  const auto [jls_parts, jls_bytes] = sizes(jls);
  EXPECT_LT(jls_parts, plain_parts);
  EXPECT_LT(jls_bytes, plain_bytes * 3 / 4);

  const auto parts = ExtractParts(jls);
  const fs::path decoded = dir_ / "decoded";
  fs::create_directories(decoded);
  int recompressed = 0;
  for (const auto& f : Instances(parts)) {
    auto [rc, text] = Shell("dcmdump " + f.string());
    ASSERT_EQ(rc, 0) << text;
    if (text.find("(0002,0010) UI =JPEGLSLossless") == std::string::npos) continue;
    ++recompressed;
    // The sizes the plan used are the files' own.
    const fs::path to = decoded / std::to_string(recompressed);
    auto [d_rc, d_text] = Shell("dcmdjpls " + f.string() + " " + to.string());
    ASSERT_EQ(d_rc, 0) << d_text;
  }
  EXPECT_EQ(recompressed, 22);
  const fs::path script = dir_ / "same.py";
  testing::WriteFile(script, kSamePixels);
  auto [rc, same] = Shell("/usr/bin/python3 " + script.string() + " " + originals_.string() + " " +
                          decoded.string());
  EXPECT_EQ(rc, 0) << same;
  EXPECT_EQ(same, "22 same\n");
  // MANIFEST lists each file with the size and hash it has; DICOMDIRs name JPEG-LS.
  for (const auto& part : parts) {
    const auto manifest = nlohmann::json::parse(testing::ReadFile(part / "MANIFEST.json"));
    for (const auto& f : manifest["files"]) {
      const fs::path file = part / f["path"].get<std::string>();
      EXPECT_EQ(fs::file_size(file), f["size"].get<uint64_t>()) << file;
      EXPECT_EQ(testing::FileSha256(file), f["sha256"]) << file;
    }
    if (!fs::exists(part / "DICOMDIR")) continue;
    auto [dir_rc, dir_text] = Shell("dcmdump " + (part / "DICOMDIR").string());
    EXPECT_NE(dir_text.find("=JPEGLSLossless"), std::string::npos) << dir_text;
    auto [v_rc, v_text] = Shell("dciodvfy " + (part / "DICOMDIR").string());
    EXPECT_EQ(testing::ErrorLines(v_text), std::vector<std::string>{}) << v_text;
  }
}

TEST_F(ExportImagingTest, BothAtOnceAndOnRecord) {
  Consent();
  const fs::path out = dir_ / "out";
  RunResult r = Run({"--json", "export", "--case", case_, "--recipient", clinic_, "--out",
                     out.string(), "--password-file", pw_.string(), "--docs",
                     instances_.front() + "," + instances_.back(), "--deidentify", "--jpeg-ls"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["imaging"]["deidentified"], true);
  EXPECT_EQ(j["imaging"]["jpeg_ls"], true);
  EXPECT_EQ(j["imaging"]["instances"], 2);
  const auto parts = ExtractParts(out);
  ASSERT_EQ(parts.size(), 1u);
  for (const auto& f : Instances(parts)) {
    auto [rc, text] = Shell("dcmdump " + f.string());
    EXPECT_NE(text.find("(0010,0010) PN [CASE^" + case_ + "]"), std::string::npos) << text;
    EXPECT_EQ(text.find("DEMO-0001"), std::string::npos) << text;
  }
  const auto reads = Json({"audit", "log", "--action", "export.read"});
  ASSERT_EQ(reads.size(), 1u);
  EXPECT_EQ(reads[0]["details"], (nlohmann::json{{"deidentify", "yes"}, {"jpeg_ls", "yes"}}));
  EXPECT_EQ(reads[0]["objects"].size(), 3u);  // the export and its two instances

  // An inventory holds no images to transform: exit 1, nothing written.
  RunResult inv = Export(dir_ / "inv", {"--inventory-only", "--jpeg-ls"});
  EXPECT_EQ(inv.exit_code, 1);
  EXPECT_EQ(inv.err,
            "dossier: --jpeg-ls changes the images sent, and an inventory sends none: "
            "leave it out of --inventory-only\n");
  EXPECT_FALSE(fs::exists(dir_ / "inv"));
}

TEST_F(ExportImagingTest, ADicomExportIsOnRecordWithItsSeriesPseudonymAndOptions) {
  ASSERT_EQ(Run({"dicom", "export", "--case", case_, "--jpeg-ls", "--pseudonym", "P^7K2Q", "-o",
                 (dir_ / "x").string()})
                .exit_code,
            0);
  const auto events = Json({"audit", "log", "--action", "dicom.export"});
  ASSERT_EQ(events.size(), 1u);
  nlohmann::json objects = nlohmann::json::array();
  for (const auto& [id, modality] : series_) objects.push_back(id);
  objects.push_back(case_);
  EXPECT_EQ(events[0]["objects"], objects);
  EXPECT_EQ(events[0]["patient"], patient_);
  EXPECT_EQ(
      events[0]["details"],
      (nlohmann::json{{"pseudonym", "P^7K2Q"}, {"allow_mismatch", "no"}, {"jpeg_ls", "yes"}}));
  // One event for the export: no read of its own per instance.
  EXPECT_EQ(Json({"audit", "log", "--action", "export.read"}).size(), 0u);
}

// The transformed instances wait for their part in a spool inside DIR.partial: ciphertext under
// a key that dies with the process. Killed mid-way, the export leaves nothing readable, and the
// next export to the folder clears it away.
TEST_F(ExportImagingTest, KilledWhileTransformingItLeavesOnlyCiphertext) {
  Consent();
  const fs::path disc = dir_ / "disc";
  ASSERT_EQ(std::system((std::string(DOSSIER_MAKE_CT_DISC) + " --folder " + disc.string() +
                         " --instances 80 --size 256 > /dev/null")
                            .c_str()),
            0);
  ASSERT_EQ(Run({"ingest", "--case", case_, disc.string()}).exit_code, 0);
  const fs::path out = dir_ / "out", spool = dir_ / "out.partial" / ".imaging-spool";
  const std::vector<std::string> args = {"export",
                                         "--case",
                                         case_,
                                         "--recipient",
                                         clinic_,
                                         "--out",
                                         out.string(),
                                         "--password-file",
                                         pw_.string(),
                                         "--deidentify",
                                         "--include-handwritten"};
  const int pid = testing::SpawnDossier(vault_, pass_, args, dir_ / "export.log");
  std::string seen;
  for (int i = 0; i < 12000 && seen.size() < (2u << 20); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::error_code ec;
    if (fs::exists(spool, ec)) seen = testing::ReadFile(spool);
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  ASSERT_GE(seen.size(), 2u << 20) << "the spool was never seen growing";
  for (const std::string plain :
       {"DICM", "1.2.840.10008", "CASE^", "ORIGINAL\\PRIMARY", "Dossier synthetic"}) {
    EXPECT_EQ(seen.find(plain), std::string::npos) << plain;
  }
  EXPECT_FALSE(fs::exists(out));
  EXPECT_EQ(Json({"export", "list"}).size(), 0u);
  RunResult again = Run(args);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_FALSE(fs::exists(dir_ / "out.partial"));
  EXPECT_FALSE(fs::exists(out / ".imaging-spool"));
  EXPECT_EQ(Json({"export", "list"}).size(), 1u);
}

}  // namespace
}  // namespace dossier
