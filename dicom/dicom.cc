#include "dicom/dicom.h"

#include <dcmtk/dcmdata/dccodec.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcistrmb.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcobject.h>
#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmdata/dcxfer.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/dcmjpls/djdecode.h>
#include <dcmtk/oflog/oflog.h>
#include <fmt/format.h>

#include <cstring>

namespace dossier::dicom {
namespace {

bool IsVr(uint8_t a, uint8_t b) {
  static constexpr const char* kVrs[] = {"AE", "AS", "AT", "CS", "DA", "DS", "DT", "FL", "FD",
                                         "IS", "LO", "LT", "OB", "OD", "OF", "OL", "OW", "PN",
                                         "SH", "SL", "SQ", "SS", "ST", "TM", "UC", "UI", "UL",
                                         "UN", "UR", "US", "UT", "OV", "SV", "UV"};
  for (const char* vr : kVrs) {
    if (a == static_cast<uint8_t>(vr[0]) && b == static_cast<uint8_t>(vr[1])) return true;
  }
  return false;
}

}  // namespace

bool LooksLikeDicom(std::span<const uint8_t> head) {
  if (head.size() >= 132 && std::memcmp(head.data() + 128, "DICM", 4) == 0) return true;
  if (head.size() < 8) return false;
  // A bare data set in explicit VR big endian (old Philips and GE discs).
  const uint16_t group_be = static_cast<uint16_t>((head[0] << 8) | head[1]);
  const uint16_t element_be = static_cast<uint16_t>((head[2] << 8) | head[3]);
  if ((group_be == 0x0002 || group_be == 0x0008) && element_be <= 0x0020 &&
      IsVr(head[4], head[5])) {
    return true;
  }
  const uint16_t group = static_cast<uint16_t>(head[0] | (head[1] << 8));
  const uint16_t element = static_cast<uint16_t>(head[2] | (head[3] << 8));
  if (group != 0x0002 && group != 0x0008) return false;
  if (element > 0x0020) return false;  // data sets start with low elements of their first group
  if (IsVr(head[4], head[5])) return true;
  const uint32_t length = head[4] | (head[5] << 8) | (head[6] << 16) | (uint32_t{head[7]} << 24);
  return length < 1024;  // implicit VR: a short first value
}

std::string LibraryVersion() { return std::string("DCMTK ") + OFFIS_DCMTK_VERSION_STRING; }

namespace {

// Decoders for what discs carry (JPEG baseline/extended/lossless, JPEG-LS, RLE), registered
// once per process; DCMTK's logger silenced (the reasons we return say enough).
void Init() {
  static const bool done = [] {
    OFLog::configure(OFLogger::OFF_LOG_LEVEL);
    // Elements a writer stored as UN take their VR from the dictionary, so their values read
    // as text and not as hex bytes. (DCMTK's "ignore parsing errors" stays off: a truncated
    // file is a problem to report, not a success.)
    dcmEnableUnknownVRConversion.set(OFTrue);
    DcmRLEDecoderRegistration::registerCodecs();
    DJDecoderRegistration::registerCodecs();
    DJLSDecoderRegistration::registerCodecs();
    return true;
  }();
  (void)done;
}

std::string Get(DcmItem& ds, const DcmTagKey& tag) {
  OFString v;
  if (ds.findAndGetOFStringArray(tag, v).bad()) return "";
  std::string s(v.c_str(), v.length());
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
  return s;
}

int GetInt(DcmItem& ds, const DcmTagKey& tag) {
  const std::string s = Get(ds, tag);
  try {
    return s.empty() ? 0 : std::stoi(s);
  } catch (const std::exception&) {
    return 0;
  }
}

std::string ObjectKind(const std::string& sop_class, bool has_pixels) {
  auto starts = [&](const char* p) { return sop_class.rfind(p, 0) == 0; };
  if (sop_class == UID_RTPlanStorage || sop_class == UID_RTIonPlanStorage) return "rt plan";
  if (sop_class == UID_RTStructureSetStorage) return "rt structure set";
  if (sop_class == UID_RTDoseStorage) return "rt dose";
  if (starts("1.2.840.10008.5.1.4.1.1.88.")) return "structured report";
  if (starts("1.2.840.10008.5.1.4.1.1.9.")) return "waveform";
  if (starts("1.2.840.10008.5.1.4.1.1.11.")) return "presentation state";
  return has_pixels ? "image" : "other";
}

}  // namespace

Result<InstanceSummary> Summarize(std::span<const uint8_t> bytes) {
  Init();
  if (!LooksLikeDicom(bytes)) {
    return Rejected(
        "not DICOM: no DICOM header at the start (stray bytes, or another kind of file)");
  }
  DcmInputBufferStream in;
  in.setBuffer(bytes.data(), static_cast<offile_off_t>(bytes.size()));
  in.setEos();
  DcmFileFormat ff;
  ff.transferInit();
  const OFCondition read = ff.read(in, EXS_Unknown, EGL_noChange, DCM_MaxReadLength);
  ff.transferEnd();
  if (read.bad()) {
    const bool truncated =
        read == EC_StreamNotifyClient || read == EC_PrematureSequDelimitationItem || in.eos();
    return Rejected(truncated ? "truncated: the file ends in the middle of its data — copy it from "
                                "the disc again"
                              : fmt::format("damaged DICOM file ({}) — copy it from the disc again",
                                            read.text()));
  }
  DcmDataset& ds = *ff.getDataset();
  InstanceSummary s;
  DcmMetaInfo* meta = ff.getMetaInfo();
  s.meta_header = meta != nullptr && meta->card() > 0;
  // Names and descriptions to UTF-8 from whatever SpecificCharacterSet says.
  if (ds.tagExistsWithValue(DCM_SpecificCharacterSet)) {
    if (const OFCondition c = ds.convertToUTF8(); c.bad()) {
      s.problems.push_back("its character set (" + Get(ds, DCM_SpecificCharacterSet) +
                           ") could not be converted (" + c.text() + "): names may read wrong");
    }
  }
  const DcmXfer xfer(ds.getOriginalXfer());
  s.transfer_syntax_uid = xfer.getXferID();
  s.transfer_syntax = xfer.getXferName();
  s.sop_class_uid = Get(ds, DCM_SOPClassUID);
  if (s.sop_class_uid.empty() && meta != nullptr)
    s.sop_class_uid = Get(*meta, DCM_MediaStorageSOPClassUID);
  const char* name = dcmFindNameOfUID(s.sop_class_uid.c_str(), nullptr);
  s.sop_class = name != nullptr ? name : s.sop_class_uid;
  s.sop_instance_uid = Get(ds, DCM_SOPInstanceUID);
  s.patient_name = Get(ds, DCM_PatientName);
  s.patient_id = Get(ds, DCM_PatientID);
  s.birth_date = Get(ds, DCM_PatientBirthDate);
  s.sex = Get(ds, DCM_PatientSex);
  s.study_uid = Get(ds, DCM_StudyInstanceUID);
  s.study_date = Get(ds, DCM_StudyDate);
  s.study_description = Get(ds, DCM_StudyDescription);
  s.accession = Get(ds, DCM_AccessionNumber);
  s.series_uid = Get(ds, DCM_SeriesInstanceUID);
  s.modality = Get(ds, DCM_Modality);
  s.series_description = Get(ds, DCM_SeriesDescription);
  s.body_part = Get(ds, DCM_BodyPartExamined);
  s.series_number = GetInt(ds, DCM_SeriesNumber);
  s.instance_number = GetInt(ds, DCM_InstanceNumber);
  s.rows = GetInt(ds, DCM_Rows);
  s.columns = GetInt(ds, DCM_Columns);
  const bool has_pixels = ds.tagExists(DCM_PixelData);
  s.frames = has_pixels ? std::max(1, GetInt(ds, DCM_NumberOfFrames)) : 0;
  s.object_kind = ObjectKind(s.sop_class_uid, has_pixels);

  for (const auto& [value, tag] : {std::pair{&s.sop_class_uid, "SOPClassUID"},
                                   {&s.sop_instance_uid, "SOPInstanceUID"},
                                   {&s.study_uid, "StudyInstanceUID"},
                                   {&s.series_uid, "SeriesInstanceUID"}}) {
    if (value->empty()) s.problems.push_back(std::string("missing ") + tag);
  }
  if (has_pixels && xfer.isEncapsulated() &&
      !DcmCodecList::canChangeCoding(xfer.getXfer(), EXS_LittleEndianExplicit)) {
    s.problems.push_back("pixel data in " + s.transfer_syntax +
                         ", which this DCMTK cannot decode: stored unchanged, no preview");
  }
  return s;
}

}  // namespace dossier::dicom
