// Imaging in dossiers through the real binary: `dossier export --deidentify` and `--jpeg-ls`
// checked with the tools a clinic or an auditor would use (7-Zip extracts each part, dcmdump
// reads every instance, dcentvfy checks them, dcmdjpls decodes JPEG-LS and the pixels are
// compared with the originals'), and `dossier dicom export`, which shares their code, pinned
// to the output it had before it did.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

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
// when a file has none). Lengths are left out: they follow the UIDs'.
constexpr const char* kCanonicalDicom = R"PY(
import hashlib, os, sys, pydicom
root, case_id = sys.argv[1], sys.argv[2]
uids, out = {}, []
masked = {0x00020000, 0x00020003, 0x00041200, 0x00041202, 0x00041400, 0x00041420}
def value(e):
    if e.VR in ('OB', 'OW', 'OF', 'OD', 'OL', 'OV', 'UN') or e.tag == 0x7FE00010:
        v = e.value if isinstance(e.value, bytes) else bytes(e.value or b'')
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
  std::vector<std::string> instances;  // doc ids of the DICOM instances
  std::vector<std::string> documents;  // doc ids of the other documents
  std::vector<std::pair<std::string, std::string>> series;  // id, modality
  fs::path originals;                  // the DICOM files as ingested
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
    t.patient = run({"patient", "add", "--name", "Иванов Иван Петрович", "--birth-date",
                     "1980-02-01"});
    t.case_id = run({"case", "open", "--patient", t.patient, "--goal", "second opinion"});
    t.clinic = run({"clinic", "add", "Charité Berlin", "--country", "DE"});
    const fs::path up = t.dir / "upload";
    fs::copy(kUpload, up, fs::copy_options::recursive);
    ASSERT_EQ(std::system((std::string(DOSSIER_MAKE_CT_DISC) + " --folder " +
                           (up / "ct").string() + " --instances 12 --size 64 > /dev/null")
                              .c_str()),
              0);
    fs::create_directories(up / "more");
    for (const char* name : {"MR_small.dcm", "SC_rgb_small_odd.dcm"}) {
      fs::copy_file(testing::kPydicomFiles / name, up / "more" / name);
      auto [rc, text] = Shell("dcmodify -nb -i 'PatientName=Ivanov^Ivan' -i "
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
    originals_ = t.originals;
  }

  // The canonical digest of a DICOM folder (kCanonicalDicom).
  std::string CanonicalDigest(const fs::path& folder) {
    const fs::path script = dir_ / "canonical.py";
    testing::WriteFile(script, kCanonicalDicom);
    auto [rc, out] = Shell("/usr/bin/python3 " + script.string() + " " + folder.string() + " " +
                           case_);
    EXPECT_EQ(rc, 0) << out;
    return out.empty() ? out : out.substr(0, out.size() - 1);
  }

  std::string patient_, case_, clinic_;
  std::vector<std::string> instances_, documents_;
  std::vector<std::pair<std::string, std::string>> series_;
  fs::path originals_;
};

// `dossier dicom export` now runs on the code `dossier export` uses for imaging: its folders
// are what they were before (digests taken with the code before the move), but for what a
// vault's own keys and DCMTK make new each time.
TEST_F(ExportImagingTest, DicomExportWritesWhatItWroteBefore) {
  const fs::path plain = dir_ / "plain", jls = dir_ / "jls", named = dir_ / "named";
  RunResult a = Run({"dicom", "export", "--case", case_, "-o", plain.string()});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  RunResult b = Run({"dicom", "export", "--case", case_, "--jpeg-ls", "-o", jls.string()});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  RunResult c = Run({"dicom", "export", "--case", case_, "--pseudonym", "PATIENT^7K2Q", "-o",
                     named.string()});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(CanonicalDigest(plain), "3999b28a5d73c1b1ad09bdbc6c597a837c00754b1fff736990dabc0f4bcaccd5");
  EXPECT_EQ(CanonicalDigest(jls), "db957fd1d7e8a784d5d44a67d731cc34d921326efdc26cfabf749e4f1b9ad127");
  EXPECT_EQ(CanonicalDigest(named), "bcd6054f182e25d0a33b4de3ec8023d491919f50687cb2a95808a0788f34fe97");
  // And it says what it said.
  std::string burned;  // the OT series (the sample's MRI, a scan; pydicom's secondary capture)
  std::map<std::string, std::string> by_id(series_.begin(), series_.end());
  for (const auto& [id, modality] : by_id) {
    if (modality != "OT") continue;
    burned += "! " + id +
              ": 1 instance(s) have text burned into the image (BurnedInAnnotation = YES): names "
              "may be visible in the pixels — look at them before sending\n";
  }
  const std::string said = " (DICOMDIR, de-identified: PS3.15 Basic Profile, full dates and "
                           "patient characteristics kept)\npatient shown as ";
  EXPECT_EQ(a.out, "exported 4 series, 15 instances to " + plain.string() + said + "CASE^" +
                       case_ + "\n" + burned);
  EXPECT_EQ(b.out, "exported 4 series, 15 instances to " + jls.string() + said + "CASE^" + case_ +
                       "\nJPEG-LS lossless: 14 of 15 instances re-compressed, 135.5 KiB → 83.1 "
                       "KiB (1.63:1)\n  kept as they were: 1 (lossy JPEG Baseline: re-compressing "
                       "cannot help)\n" +
                       burned);
  EXPECT_EQ(c.out, "exported 4 series, 15 instances to " + named.string() + said +
                       "PATIENT^7K2Q\n" + burned);
  EXPECT_EQ(a.err, "dossier: " + plain.string() +
                       " holds decrypted images (de-identified): delete it once sent\n");
  auto json = Json({"dicom", "export", "--case", case_, "--jpeg-ls", "-o", (dir_ / "j").string()});
  json.erase("folder");
  json["burned_in_annotation"] = json["burned_in_annotation"].size();
  // The output's size follows the lengths of the replacement UIDs: what the folder holds.
  uint64_t written = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir_ / "j")) {
    if (e.is_regular_file() && e.path().filename() != "DICOMDIR") written += e.file_size();
  }
  EXPECT_EQ(json["bytes_out"], written);
  EXPECT_DOUBLE_EQ(json["ratio"].get<double>(), 138782.0 / written);
  json.erase("bytes_out");
  json.erase("ratio");
  EXPECT_EQ(json, (nlohmann::json{
                      {"burned_in_annotation", 2},
                      {"bytes_in", 138782},
                      {"instances", 15},
                      {"kept", {{"lossy JPEG Baseline: re-compressing cannot help", 1}}},
                      {"recompressed", 14},
                      {"series", 4}}));
}

}  // namespace
}  // namespace dossier
