// make_ct_disc — writes a realistic synthetic CT disc image (ISO-9660 with Joliet and Rock
// Ridge): N instances of 512×512 16-bit CT (an anatomy-like phantom — body, lungs, spine,
// smooth variation along the slices — plus scanner-like noise, not random bytes), a
// General Purpose DICOMDIR, and the viewer software a real disc carries. For the ingest
// benchmark and the demo. Everything is fictional.
//
//   make_ct_disc --out disc.iso [--instances 2000] [--size 512]
//   make_ct_disc --folder DIR ...   (the disc's files in DIR instead of an ISO image)
#include <archive.h>
#include <archive_entry.h>
#include <dcmtk/dcmdata/dcddirif.h>
#include <dcmtk/dcmdata/dctk.h>
#include <dcmtk/oflog/oflog.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

// Hounsfield units of the phantom at (x, y) in [-1, 1]², slice position z in [0, 1].
double Phantom(double x, double y, double z) {
  const double body = (x * x) / 0.81 + (y * y) / 0.56;
  if (body > 1.0) return -1000;  // air
  double hu = 40;                // soft tissue
  const double lung_r = 0.18 + 0.08 * std::sin(z * 3.1);
  for (double cx : {-0.42, 0.42}) {
    const double d = ((x - cx) * (x - cx)) / (lung_r * 1.6) + (y * y) / lung_r;
    if (d < 1.0) hu = -820 + 60 * d;
  }
  const double spine = (x * x + (y - 0.45) * (y - 0.45)) / 0.012;
  if (spine < 1.0) hu = spine > 0.6 ? 900 : 300;  // cortical rim, marrow
  const double aorta = ((x + 0.12) * (x + 0.12) + (y - 0.2) * (y - 0.2)) / 0.004;
  if (aorta < 1.0) hu = 180;
  if (body > 0.9) hu = -100;  // subcutaneous fat
  return hu;
}

bool Check(const OFCondition& c, const char* what) {
  if (c.bad()) std::fprintf(stderr, "make_ct_disc: %s: %s\n", what, c.text());
  return c.good();
}

}  // namespace

int main(int argc, char** argv) {
  std::string out, folder;
  int instances = 2000, size = 512;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--out")
      out = argv[i + 1];
    else if (a == "--folder")
      folder = argv[i + 1];
    else if (a == "--instances")
      instances = std::atoi(argv[i + 1]);
    else if (a == "--size")
      size = std::atoi(argv[i + 1]);
  }
  if (out.empty() == folder.empty() || instances < 1 || instances > 9999 || size < 16) {
    std::fprintf(stderr,
                 "usage: make_ct_disc --out disc.iso | --folder DIR [--instances 1..9999] "
                 "[--size 512]\n");
    return 1;
  }
  OFLog::configure(OFLogger::WARN_LOG_LEVEL);
  if (!out.empty()) out = fs::absolute(out).string();
  const fs::path work = folder.empty()
                            ? fs::temp_directory_path() / ("ctdisc-" + std::to_string(::getpid()))
                            : fs::absolute(folder);
  fs::create_directories(work / "DICOM" / "S001");

  char study[100], series[100], uid[100], frame[100];
  dcmGenerateUniqueIdentifier(study, SITE_STUDY_UID_ROOT);
  dcmGenerateUniqueIdentifier(series, SITE_SERIES_UID_ROOT);
  dcmGenerateUniqueIdentifier(frame, SITE_INSTANCE_UID_ROOT);
  std::mt19937 rng(20261122);
  std::normal_distribution<double> noise(0.0, 12.0);
  std::vector<Uint16> pixels(static_cast<size_t>(size) * size);
  std::vector<std::string> files;
  for (int n = 0; n < instances; ++n) {
    const double z = static_cast<double>(n) / instances;
    for (int r = 0; r < size; ++r) {
      for (int c = 0; c < size; ++c) {
        const double x = 2.0 * c / size - 1, y = 2.0 * r / size - 1;
        const double hu = Phantom(x, y, z) + noise(rng);
        pixels[static_cast<size_t>(r) * size + c] =
            static_cast<Uint16>(std::lround(std::clamp(hu + 1024.0, 0.0, 4095.0)));
      }
    }
    DcmFileFormat ff;
    DcmDataset* ds = ff.getDataset();
    dcmGenerateUniqueIdentifier(uid, SITE_INSTANCE_UID_ROOT);
    char num[16];
    std::snprintf(num, sizeof(num), "%d", n + 1);
    ds->putAndInsertString(DCM_SOPClassUID, UID_CTImageStorage);
    ds->putAndInsertString(DCM_SOPInstanceUID, uid);
    ds->putAndInsertString(DCM_SpecificCharacterSet, "ISO_IR 192");
    ds->putAndInsertString(DCM_PatientName, "Ivanov^Ivan^Petrovich");
    ds->putAndInsertString(DCM_PatientID, "DEMO-0001");
    ds->putAndInsertString(DCM_PatientBirthDate, "19800201");
    ds->putAndInsertString(DCM_PatientSex, "M");
    ds->putAndInsertString(DCM_StudyInstanceUID, study);
    ds->putAndInsertString(DCM_StudyDate, "20261110");
    ds->putAndInsertString(DCM_StudyTime, "101500");
    ds->putAndInsertString(DCM_StudyID, "1");
    ds->putAndInsertString(DCM_AccessionNumber, "A2026111001");
    ds->putAndInsertString(DCM_StudyDescription, "CT CHEST (synthetic)");
    ds->putAndInsertString(DCM_SeriesInstanceUID, series);
    ds->putAndInsertString(DCM_SeriesNumber, "1");
    ds->putAndInsertString(DCM_Modality, "CT");
    ds->putAndInsertString(DCM_SeriesDescription, "Axial 0.5 mm");
    ds->putAndInsertString(DCM_InstanceNumber, num);
    ds->putAndInsertString(DCM_ImageType, "ORIGINAL\\PRIMARY\\AXIAL");
    char position[64];
    std::snprintf(position, sizeof(position), "-175\\-175\\%.1f", -0.5 * n);
    ds->putAndInsertString(DCM_ReferringPhysicianName, "");
    ds->putAndInsertString(DCM_Laterality, "");
    ds->putAndInsertString(DCM_PatientPosition, "HFS");
    ds->putAndInsertString(DCM_FrameOfReferenceUID, frame);
    ds->putAndInsertString(DCM_PositionReferenceIndicator, "");
    ds->putAndInsertString(DCM_ImagePositionPatient, position);
    ds->putAndInsertString(DCM_ImageOrientationPatient, "1\\0\\0\\0\\1\\0");
    ds->putAndInsertString(DCM_PixelSpacing, "0.68359375\\0.68359375");
    ds->putAndInsertString(DCM_SliceLocation, position + std::strlen("-175\\-175\\"));
    ds->putAndInsertString(DCM_KVP, "120");
    ds->putAndInsertString(DCM_AcquisitionNumber, "1");
    ds->putAndInsertString(DCM_ContentDate, "20261110");
    ds->putAndInsertString(DCM_ContentTime, "101500");
    ds->putAndInsertString(DCM_Manufacturer, "Dossier synthetic");
    // What real discs carry beside the patient's name: where, who, and a vendor's private
    // copy of the name (the de-identification tests look for all of it).
    ds->putAndInsertString(DCM_InstitutionName, "City Hospital No. 1");
    ds->putAndInsertString(DCM_OperatorsName, "Petrova^Anna");
    ds->putAndInsertString(DcmTag(0x0029, 0x0010, EVR_LO), "DOSSIER SYNTHETIC");
    ds->putAndInsertString(DcmTag(0x0029, 0x1010, EVR_LO), "Ivanov Ivan Petrovich");
    ds->putAndInsertString(DCM_SliceThickness, "0.5");
    ds->putAndInsertString(DCM_RescaleIntercept, "-1024");
    ds->putAndInsertString(DCM_RescaleSlope, "1");
    ds->putAndInsertString(DCM_PhotometricInterpretation, "MONOCHROME2");
    ds->putAndInsertUint16(DCM_SamplesPerPixel, 1);
    ds->putAndInsertUint16(DCM_Rows, static_cast<Uint16>(size));
    ds->putAndInsertUint16(DCM_Columns, static_cast<Uint16>(size));
    ds->putAndInsertUint16(DCM_BitsAllocated, 16);
    ds->putAndInsertUint16(DCM_BitsStored, 12);
    ds->putAndInsertUint16(DCM_HighBit, 11);
    ds->putAndInsertUint16(DCM_PixelRepresentation, 0);
    ds->putAndInsertUint16Array(DCM_PixelData, pixels.data(), pixels.size());
    char name[32];
    std::snprintf(name, sizeof(name), "DICOM/S001/IM%04d", n + 1);
    if (!Check(ff.saveFile((work / name).c_str(), EXS_LittleEndianExplicit), name)) return 1;
    files.push_back(name);
  }

  // A General Purpose DICOMDIR, written from inside the disc folder (DCMTK wants relative ids).
  const fs::path here = fs::current_path();
  fs::current_path(work);
  {
    DicomDirInterface dir;
    if (!Check(
            dir.createNewDicomDir(DicomDirInterface::AP_GeneralPurpose, "DICOMDIR", "DOSSIERDEMO"),
            "DICOMDIR"))
      return 1;
    for (const auto& f : files) {
      if (!Check(dir.addDicomFile(f.c_str()), f.c_str())) return 1;
    }
    if (!Check(dir.writeDicomDir(), "DICOMDIR")) return 1;
  }
  fs::current_path(here);
  if (!folder.empty()) {
    std::printf("%s: %d CT instances of %dx%d, DICOMDIR\n", folder.c_str(), instances, size, size);
    return 0;
  }
  std::ofstream(work / "AUTORUN.INF") << "[autorun]\r\nopen=VIEWER\\VIEWER.EXE\r\n";
  fs::create_directories(work / "VIEWER");
  for (const char* f : {"VIEWER.EXE", "DCMLIB.DLL", "IMAGING.DLL"}) {
    std::ofstream(work / "VIEWER" / f, std::ios::binary) << "MZ\x90" << std::string(20000, '\x01');
  }

  archive* a = archive_write_new();
  archive_write_set_format_iso9660(a);
  archive_write_set_options(a, "iso9660:joliet,rockridge,volume-id=CT_DEMO");
  if (archive_write_open_filename(a, out.c_str()) != ARCHIVE_OK) {
    std::fprintf(stderr, "make_ct_disc: %s\n", archive_error_string(a));
    return 1;
  }
  std::vector<char> buf(1 << 20);
  for (const auto& e : fs::recursive_directory_iterator(work)) {
    if (!e.is_regular_file()) continue;
    archive_entry* ae = archive_entry_new();
    archive_entry_set_pathname(ae, e.path().lexically_relative(work).c_str());
    archive_entry_set_filetype(ae, AE_IFREG);
    archive_entry_set_perm(ae, 0444);
    archive_entry_set_size(ae, static_cast<la_int64_t>(e.file_size()));
    archive_write_header(a, ae);
    std::ifstream in(e.path(), std::ios::binary);
    while (in) {
      in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
      if (in.gcount() > 0) archive_write_data(a, buf.data(), static_cast<size_t>(in.gcount()));
    }
    archive_entry_free(ae);
  }
  archive_write_close(a);
  archive_write_free(a);
  fs::remove_all(work);
  std::printf("%s: %d CT instances of %dx%d, DICOMDIR, viewer software\n", out.c_str(), instances,
              size, size);
  return 0;
}
