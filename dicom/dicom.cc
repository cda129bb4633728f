#include "dicom/dicom.h"

#include <dcmtk/dcmdata/dccodec.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcistrmb.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcobject.h>
#include <dcmtk/dcmdata/dcostrmb.h>
#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmdata/dcsequen.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmdata/dcxfer.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/dcmjpls/djdecode.h>
#include <dcmtk/oflog/oflog.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>

#include "common/text.h"
#include "dicom/internal/parse.h"

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

// Longest text value a summary carries (FromJson refuses longer ones).
constexpr size_t kMaxValue = 1024;

std::string Get(DcmItem& ds, const DcmTagKey& tag) {
  OFString v;
  if (ds.findAndGetOFStringArray(tag, v).bad()) return "";
  std::string s(v.c_str(), std::min<size_t>(v.length(), kMaxValue));
  // Cut at a character boundary: never half a UTF-8 sequence.
  if (v.length() > kMaxValue) {
    while (!s.empty() && (static_cast<unsigned char>(s.back()) & 0xC0) == 0x80) s.pop_back();
    if (!s.empty() && (static_cast<unsigned char>(s.back()) & 0x80) != 0) s.pop_back();
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\0')) s.pop_back();
  return s;
}

int GetInt(DcmItem& ds, const DcmTagKey& tag) {
  const std::string s = Get(ds, tag);
  try {
    const long v = s.empty() ? 0 : std::stol(s);
    return static_cast<int>(std::clamp<long>(v, -1000000000, 1000000000));
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
  if (sop_class == UID_MediaStorageDirectoryStorage) return "directory";
  return has_pixels ? "image" : "other";
}

// The keys of a DICOMDIR record of a non-image (InstanceSummary::RecordKeys).
InstanceSummary::RecordKeys RecordKeys(DcmDataset& ds, const std::string& kind) {
  InstanceSummary::RecordKeys k;
  k.content_date = Get(ds, DCM_ContentDate);
  k.content_time = Get(ds, DCM_ContentTime);
  if (kind == "rt plan") {
    k.rt_label = Get(ds, DCM_RTPlanLabel);
    k.rt_date = Get(ds, DCM_RTPlanDate);
    k.rt_time = Get(ds, DCM_RTPlanTime);
  } else if (kind == "rt structure set") {
    k.rt_label = Get(ds, DCM_StructureSetLabel);
    k.rt_date = Get(ds, DCM_StructureSetDate);
    k.rt_time = Get(ds, DCM_StructureSetTime);
  } else if (kind == "rt dose") {
    k.dose_summation_type = Get(ds, DCM_DoseSummationType);
  } else if (kind == "structured report") {
    DcmItem* item = nullptr;
    if (ds.findAndGetSequenceItem(DCM_ConceptNameCodeSequence, item, 0).good()) {
      k.title_code_value = Get(*item, DCM_CodeValue);
      k.title_coding_scheme = Get(*item, DCM_CodingSchemeDesignator);
      k.title_code_meaning = Get(*item, DCM_CodeMeaning);
    }
    k.completion_flag = Get(ds, DCM_CompletionFlag);
    k.verification_flag = Get(ds, DCM_VerificationFlag);
    if (ds.findAndGetSequenceItem(DCM_VerifyingObserverSequence, item, -1).good()) {
      k.verification_datetime = Get(*item, DCM_VerificationDateTime);
    }
    for (long i = 0; ds.findAndGetSequenceItem(DCM_ContentSequence, item, i).good(); ++i) {
      if (Get(*item, DCM_RelationshipType) == "HAS CONCEPT MOD") k.title_modifiers = true;
    }
  }
  return k;
}

// A DICOMDIR's listing must fit one worker frame (1 MiB) with room to spare.
constexpr size_t kMaxDicomdirFiles = 20000;

// Every ReferencedFileID of a DICOMDIR, whatever record type carries it.
std::vector<std::string> ReferencedFiles(DcmDataset& ds) {
  std::vector<std::string> files;
  DcmSequenceOfItems* records = nullptr;
  if (ds.findAndGetSequence(DCM_DirectoryRecordSequence, records).bad() || records == nullptr) {
    return files;
  }
  for (unsigned long i = 0; i < records->card(); ++i) {
    DcmItem* record = records->getItem(i);
    if (record == nullptr) continue;
    std::string id = Get(*record, DCM_ReferencedFileID);
    if (id.empty()) continue;
    std::replace(id.begin(), id.end(), '\\', '/');
    files.push_back(std::move(id));
  }
  return files;
}

}  // namespace

namespace {

// A DcmInputBufferStream over memory that can give DCMTK a factory for more streams over the
// same memory. Given one, DCMTK skips a value longer than its read limit, noting where it
// lies, and reads it only when asked (it does that with files); a plain buffer stream has
// none, so every value is copied. A deflated data set gets no factory (its bytes in memory
// are not its values).
class InPlaceStream final : public DcmInputBufferStream {
 public:
  InPlaceStream(std::span<const uint8_t> bytes, offile_off_t start) : bytes_(bytes), start_(start) {
    setBuffer(bytes.data() + start, static_cast<offile_off_t>(bytes.size()) - start);
    setEos();
  }
  DcmInputStreamFactory* newFactory() const override;
  OFCondition installCompressionFilter(E_StreamCompression filter) override {
    compressed_ = true;
    return DcmInputBufferStream::installCompressionFilter(filter);
  }

 private:
  std::span<const uint8_t> bytes_;
  offile_off_t start_;
  bool compressed_ = false;
};

class InPlaceFactory final : public DcmInputStreamFactory {
 public:
  InPlaceFactory(std::span<const uint8_t> bytes, offile_off_t start)
      : bytes_(bytes), start_(start) {}
  DcmInputStream* create() const override { return new InPlaceStream(bytes_, start_); }
  DcmInputStreamFactory* clone() const override { return new InPlaceFactory(*this); }
  // DCMTK asks only to tell its own factories apart; this one acts as a file's would.
  DcmInputStreamFactoryType ident() const override { return DFT_DcmInputFileStreamFactory; }

 private:
  std::span<const uint8_t> bytes_;
  offile_off_t start_;
};

DcmInputStreamFactory* InPlaceStream::newFactory() const {
  if (compressed_) return nullptr;
  return new InPlaceFactory(bytes_, start_ + tell());
}

}  // namespace

Status internal::Parse(std::span<const uint8_t> bytes, DcmFileFormat& ff, Values values) {
  Init();
  if (!LooksLikeDicom(bytes)) {
    return Rejected(
        "not DICOM: no DICOM header at the start (stray bytes, or another kind of file)");
  }
  std::unique_ptr<DcmInputBufferStream> stream;
  if (values == Values::kInPlace) {
    stream = std::make_unique<InPlaceStream>(bytes, 0);
  } else {
    stream = std::make_unique<DcmInputBufferStream>();
    stream->setBuffer(bytes.data(), static_cast<offile_off_t>(bytes.size()));
    stream->setEos();
  }
  DcmInputBufferStream& in = *stream;
  ff.transferInit();
  const OFCondition read = ff.read(in, EXS_Unknown, EGL_noChange, DCM_MaxReadLength);
  ff.transferEnd();
  if (read.good()) return Status::Ok();
  const bool truncated =
      read == EC_StreamNotifyClient || read == EC_PrematureSequDelimitationItem || in.eos();
  return Rejected(truncated ? "truncated: the file ends in the middle of its data — copy it from "
                              "the disc again"
                            : fmt::format("damaged DICOM file ({}) — copy it from the disc again",
                                          read.text()));
}

Result<InstanceSummary> Summarize(std::span<const uint8_t> bytes) {
  DcmFileFormat ff;
  DOSSIER_RETURN_IF_ERROR(internal::Parse(bytes, ff, internal::Values::kInPlace));
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
  s.study_time = Get(ds, DCM_StudyTime);
  s.study_id = Get(ds, DCM_StudyID);
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
  if (s.problems.size() > 16) s.problems.resize(16);
  s.object_kind = ObjectKind(s.sop_class_uid, has_pixels);
  s.record_keys = RecordKeys(ds, s.object_kind);
  if (s.object_kind == "directory") {
    s.referenced_files = ReferencedFiles(ds);
    if (s.referenced_files.size() > kMaxDicomdirFiles) {
      s.referenced_files.clear();
      s.problems.push_back(fmt::format("the DICOMDIR lists more than {} files: not cross-checked",
                                       kMaxDicomdirFiles));
    }
    return s;  // a directory has no study or series of its own
  }

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

Result<std::vector<uint8_t>> WithMetaHeader(std::span<const uint8_t> bytes) {
  DcmFileFormat ff;
  DOSSIER_RETURN_IF_ERROR(internal::Parse(bytes, ff, internal::Values::kInPlace));
  return internal::Serialize(ff, ff.getDataset()->getOriginalXfer(), EWM_fileformat);
}

Result<std::vector<uint8_t>> internal::Serialize(DcmFileFormat& ff, E_TransferSyntax xfer,
                                                 E_FileWriteMode mode) {
  std::vector<uint8_t> out;
  std::vector<uint8_t> chunk(256 * 1024);
  DcmOutputBufferStream stream(chunk.data(), chunk.size());
  auto drain = [&] {
    void* data = nullptr;
    offile_off_t n = 0;
    stream.flushBuffer(data, n);
    const auto* p = static_cast<const uint8_t*>(data);
    out.insert(out.end(), p, p + n);
  };
  ff.transferInit();
  OFCondition c;
  while ((c = ff.write(stream, xfer, EET_ExplicitLength, nullptr, EGL_recalcGL, EPD_withoutPadding,
                       0, 0, 0, mode)) == EC_StreamNotifyClient) {
    drain();
  }
  drain();
  ff.transferEnd();
  if (c.bad()) return Internal(std::string("cannot write the DICOM file: ") + c.text());
  return out;
}

namespace {

constexpr size_t kMaxJsonValue = 1024;   // characters of one text field
constexpr size_t kMaxJsonList = 100000;  // referenced files of a DICOMDIR
constexpr size_t kMaxJsonProblems = 32;

}  // namespace

std::string ToJson(const InstanceSummary& s) {
  const nlohmann::json j = {
      {"sop_class_uid", s.sop_class_uid},
      {"sop_class", s.sop_class},
      {"sop_instance_uid", s.sop_instance_uid},
      {"transfer_syntax_uid", s.transfer_syntax_uid},
      {"transfer_syntax", s.transfer_syntax},
      {"meta_header", s.meta_header},
      {"patient_name", s.patient_name},
      {"patient_id", s.patient_id},
      {"birth_date", s.birth_date},
      {"sex", s.sex},
      {"study_uid", s.study_uid},
      {"study_date", s.study_date},
      {"study_time", s.study_time},
      {"study_id", s.study_id},
      {"study_description", s.study_description},
      {"accession", s.accession},
      {"series_uid", s.series_uid},
      {"modality", s.modality},
      {"series_description", s.series_description},
      {"body_part", s.body_part},
      {"series_number", s.series_number},
      {"instance_number", s.instance_number},
      {"rows", s.rows},
      {"columns", s.columns},
      {"frames", s.frames},
      {"object_kind", s.object_kind},
      {"record_keys",
       {
           {"content_date", s.record_keys.content_date},
           {"content_time", s.record_keys.content_time},
           {"rt_label", s.record_keys.rt_label},
           {"rt_date", s.record_keys.rt_date},
           {"rt_time", s.record_keys.rt_time},
           {"dose_summation_type", s.record_keys.dose_summation_type},
           {"title_code_value", s.record_keys.title_code_value},
           {"title_coding_scheme", s.record_keys.title_coding_scheme},
           {"title_code_meaning", s.record_keys.title_code_meaning},
           {"completion_flag", s.record_keys.completion_flag},
           {"verification_flag", s.record_keys.verification_flag},
           {"verification_datetime", s.record_keys.verification_datetime},
           {"title_modifiers", s.record_keys.title_modifiers},
       }},
      {"referenced_files", s.referenced_files},
      {"problems", s.problems},
  };
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<InstanceSummary> FromJson(std::string_view text) {
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Corrupt("a DICOM summary is not JSON");
  InstanceSummary s;
  std::string bad;
  // A text field of `obj` (the summary, or an object in it), reported as `name` when bad.
  auto field = [&](const nlohmann::json& obj, const char* key, std::string& out,
                   const std::string& name) {
    const auto it = obj.find(key);
    if (it == obj.end() || !it->is_string() ||
        it->get_ref<const std::string&>().size() > kMaxJsonValue)
      bad = name;
    else
      out = it->get<std::string>();
  };
  auto str = [&](const char* key, std::string& out) { field(j, key, out, key); };
  auto num = [&](const char* key, int& out) {
    const auto it = j.find(key);
    if (it == j.end() || !it->is_number_integer()) {
      bad = key;
      return;
    }
    const int64_t v = it->get<int64_t>();
    if (v < -1000000000 || v > 1000000000)
      bad = key;
    else
      out = static_cast<int>(v);
  };
  auto list = [&](const char* key, std::vector<std::string>& out, size_t max) {
    const auto it = j.find(key);
    if (it == j.end() || !it->is_array() || it->size() > max) {
      bad = key;
      return;
    }
    for (const auto& v : *it) {
      if (!v.is_string() || v.get_ref<const std::string&>().size() > kMaxJsonValue) {
        bad = key;
        return;
      }
      out.push_back(v.get<std::string>());
    }
  };
  str("sop_class_uid", s.sop_class_uid);
  str("sop_class", s.sop_class);
  str("sop_instance_uid", s.sop_instance_uid);
  str("transfer_syntax_uid", s.transfer_syntax_uid);
  str("transfer_syntax", s.transfer_syntax);
  if (const auto it = j.find("meta_header"); it != j.end() && it->is_boolean())
    s.meta_header = it->get<bool>();
  else
    bad = "meta_header";
  str("patient_name", s.patient_name);
  str("patient_id", s.patient_id);
  str("birth_date", s.birth_date);
  str("sex", s.sex);
  str("study_uid", s.study_uid);
  str("study_date", s.study_date);
  // Added later than the others: summaries stored before have neither (read as "").
  if (j.contains("study_time")) str("study_time", s.study_time);
  if (j.contains("study_id")) str("study_id", s.study_id);
  str("study_description", s.study_description);
  str("accession", s.accession);
  str("series_uid", s.series_uid);
  str("modality", s.modality);
  str("series_description", s.series_description);
  str("body_part", s.body_part);
  num("series_number", s.series_number);
  num("instance_number", s.instance_number);
  num("rows", s.rows);
  num("columns", s.columns);
  num("frames", s.frames);
  str("object_kind", s.object_kind);
  if (const auto it = j.find("record_keys"); it == j.end()) {
    // A summary stored before they were kept: all empty.
  } else if (!it->is_object()) {
    bad = "record_keys";
  } else {
    InstanceSummary::RecordKeys& k = s.record_keys;
    auto key = [&](const char* name, std::string& out) {
      field(*it, name, out, std::string("record_keys.") + name);
    };
    key("content_date", k.content_date);
    key("content_time", k.content_time);
    key("rt_label", k.rt_label);
    key("rt_date", k.rt_date);
    key("rt_time", k.rt_time);
    key("dose_summation_type", k.dose_summation_type);
    key("title_code_value", k.title_code_value);
    key("title_coding_scheme", k.title_coding_scheme);
    key("title_code_meaning", k.title_code_meaning);
    key("completion_flag", k.completion_flag);
    key("verification_flag", k.verification_flag);
    key("verification_datetime", k.verification_datetime);
    if (const auto v = it->find("title_modifiers"); v != it->end() && v->is_boolean())
      k.title_modifiers = v->get<bool>();
    else
      bad = "record_keys.title_modifiers";
  }
  list("referenced_files", s.referenced_files, kMaxJsonList);
  list("problems", s.problems, kMaxJsonProblems);
  if (!bad.empty()) return Corrupt("a DICOM summary has a bad field: " + bad);
  return s;
}

namespace {

// A DICOM date (YYYYMMDD) as YYYY-MM-DD; "" when it is not one.
std::string IsoDate(const std::string& da) {
  if (da.size() != 8) return "";
  return da.substr(0, 4) + "-" + da.substr(4, 2) + "-" + da.substr(6, 2);
}

}  // namespace

std::string PatientMismatch(const InstanceSummary& s, std::string_view name,
                            std::string_view birth_date) {
  std::vector<std::string> reasons;
  // DICOM person names: family^given^middle^prefix^suffix, maybe "=ideographic=phonetic".
  std::string disc = s.patient_name.substr(0, s.patient_name.find('='));
  std::replace(disc.begin(), disc.end(), '^', ' ');
  const std::string family = disc.substr(0, disc.find(' '));  // the family name component
  const std::string key = NameKey(name);
  if (!NameKey(family).empty() && !key.empty()) {
    const std::string first = key.substr(0, key.find(' '));
    const std::string last = key.substr(key.rfind(' ') + 1);
    if (!MentionsName(family, first) && !MentionsName(family, last)) {
      reasons.push_back("the patient's name on the disc is not the case's patient's");
    }
  }
  const std::string dicom_birth = IsoDate(s.birth_date);
  if (!dicom_birth.empty() && !birth_date.empty() && dicom_birth != birth_date) {
    reasons.push_back("the birth date on the disc is not the patient's");
  }
  std::string out;
  for (const auto& r : reasons) out += (out.empty() ? "" : " and ") + r;
  return out;
}

std::string PatientOnDisc(const InstanceSummary& s) {
  std::string name = s.patient_name.substr(0, s.patient_name.find('='));
  std::replace(name.begin(), name.end(), '^', ' ');
  while (name.find("  ") != std::string::npos) name.erase(name.find("  "), 1);
  while (!name.empty() && name.back() == ' ') name.pop_back();
  while (!name.empty() && name.front() == ' ') name.erase(0, 1);
  return PersonFacts(name, IsoDate(s.birth_date));
}

std::string MismatchFacts(const std::vector<std::string>& on_disc, std::string_view name,
                          std::string_view birth_date) {
  std::string disc;
  for (const auto& p : on_disc) disc += (disc.empty() ? "" : " | ") + p;
  return "on the disc: " + disc + "; the case's patient: " + PersonFacts(name, birth_date);
}

void SeriesTally::Add(const InstanceSummary& instance) {
  ++instances_;
  for (const auto& problem : instance.problems) AddProblem(problem);
  if (!instance.meta_header) {
    AddProblem("stored on the disc without a DICOM meta header: Dossier added one");
  }
  const std::string& uid = instance.sop_instance_uid;
  if (uid.empty()) return;
  const auto at = std::lower_bound(uids_.begin(), uids_.end(), uid);
  if (at != uids_.end() && *at == uid) {
    AddProblem(
        "another file has the same SOP Instance UID but different content: a viewer may show "
        "only one of them");
  } else {
    uids_.insert(at, uid);
  }
}

void SeriesTally::AddProblem(const std::string& problem) {
  for (auto& [text, n] : problems_) {
    if (text == problem) {
      ++n;
      return;
    }
  }
  problems_.emplace_back(problem, 1);
}

std::vector<std::string> SeriesTally::Problems() const {
  std::vector<std::string> out;
  for (const auto& [text, n] : problems_) {
    out.push_back(instances_ <= 1 ? text
                                  : fmt::format("{} ({} of {} instances)", text, n, instances_));
  }
  return out;
}

std::string FileIdKey(std::string_view path) {
  std::string out;
  out.reserve(path.size());
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find_first_of("/\\", start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(start, end - start);
    if (const auto semi = part.rfind(';');
        semi != std::string_view::npos &&
        part.find_first_not_of("0123456789", semi + 1) == std::string_view::npos) {
      part = part.substr(0, semi);
    }
    while (!part.empty() && part.back() == '.') part.remove_suffix(1);  // "IM0001.;1"
    if (!part.empty()) {
      if (!out.empty()) out += '/';
      for (char c : part) out += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c;
    }
    start = end + 1;
  }
  return out;
}

}  // namespace dossier::dicom
