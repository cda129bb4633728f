// DICOM for exports: PS3.15 Annex E de-identification, JPEG-LS re-compression and DICOMDIR
// writing, all with DCMTK.
#include <dcmtk/dcmdata/dccodec.h>
#include <dcmtk/dcmdata/dcddirif.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcistrmb.h>
#include <dcmtk/dcmdata/dcostrmb.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>
#include <dcmtk/dcmdata/dcsequen.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmdata/dcvrpn.h>
#include <dcmtk/dcmdata/dcxfer.h>
#include <dcmtk/dcmjpls/djencode.h>
#include <dcmtk/dcmjpls/djrparam.h>
#include <fmt/format.h>
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <memory>
#include <mutex>

#include "dicom/dicom.h"
#include "dicom/internal/parse.h"

namespace dossier::dicom {
namespace {

using Tag = std::pair<uint16_t, uint16_t>;

// PS3.15 Table E.1-1, Basic Profile action X (remove), for the attributes discs carry, less
// those the two options retain (dates and times; sex, age, size, weight, ethnic group,
// smoking and pregnancy status).
constexpr Tag kRemove[] = {
    {0x0008, 0x0080},
    {0x0008, 0x0081},
    {0x0008, 0x0082},
    {0x0008, 0x0092},
    {0x0008, 0x0094},
    {0x0008, 0x0096},
    {0x0008, 0x1010},
    {0x0008, 0x1030},
    {0x0008, 0x103E},
    {0x0008, 0x1040},
    {0x0008, 0x1048},
    {0x0008, 0x1049},
    {0x0008, 0x1050},
    {0x0008, 0x1052},
    {0x0008, 0x1060},
    {0x0008, 0x1062},
    {0x0008, 0x1070},
    {0x0008, 0x1072},
    {0x0008, 0x1080},
    {0x0008, 0x1084},
    {0x0008, 0x1110},
    {0x0008, 0x1111},
    {0x0008, 0x1120},
    {0x0008, 0x2111},
    {0x0010, 0x0021},
    {0x0010, 0x0032},
    {0x0010, 0x0050},
    {0x0010, 0x0101},
    {0x0010, 0x1000},
    {0x0010, 0x1001},
    {0x0010, 0x1002},
    {0x0010, 0x1005},
    {0x0010, 0x1040},
    {0x0010, 0x1060},
    {0x0010, 0x1080},
    {0x0010, 0x1081},
    {0x0010, 0x1090},
    {0x0010, 0x2150},
    {0x0010, 0x2152},
    {0x0010, 0x2154},
    {0x0010, 0x2180},
    {0x0010, 0x21B0},
    {0x0010, 0x21F0},
    {0x0010, 0x2297},
    {0x0010, 0x2299},
    {0x0010, 0x4000},
    {0x0018, 0x1000},
    {0x0018, 0x1004},
    {0x0018, 0x1005},
    {0x0018, 0x1007},
    {0x0018, 0x1008},
    {0x0018, 0x1030},
    {0x0018, 0x1400},
    {0x0018, 0x4000},
    {0x0018, 0x700A},
    {0x0018, 0x9424},
    {0x0018, 0xA003},
    {0x0020, 0x4000},
    {0x0020, 0x9158},
    {0x0032, 0x1030},
    {0x0032, 0x1032},
    {0x0032, 0x1033},
    {0x0032, 0x1060},
    {0x0032, 0x4000},
    {0x0038, 0x0010},
    {0x0038, 0x0300},
    {0x0038, 0x0400},
    {0x0038, 0x0500},
    {0x0040, 0x0001},
    {0x0040, 0x0006},
    {0x0040, 0x0007},
    {0x0040, 0x0009},
    {0x0040, 0x0010},
    {0x0040, 0x0011},
    {0x0040, 0x0241},
    {0x0040, 0x0242},
    {0x0040, 0x0243},
    {0x0040, 0x0253},
    {0x0040, 0x0254},
    {0x0040, 0x0275},
    {0x0040, 0x0280},
    {0x0040, 0x1001},
    {0x0040, 0x1002},
    {0x0040, 0x1400},
    {0x0040, 0x2400},
    {0x0040, 0xA027},
    {0x0040, 0xA730},
    {0x0400, 0x0500},
    {0x0400, 0x0550},
    {0x0400, 0x0561},
    {0x4FFE, 0x0001},
    {0xFFFA, 0xFFFA},
    // Contact details, visits, orders, observers, free-text descriptions and comments.
    {0x0008, 0x0051},
    {0x0008, 0x009D},
    {0x0008, 0x4000},
    {0x0010, 0x1100},
    {0x0010, 0x2000},
    {0x0010, 0x2155},
    {0x0018, 0x1010},
    {0x0028, 0x4000},
    {0x0032, 0x1020},
    {0x0032, 0x1021},
    {0x0032, 0x1066},
    {0x0032, 0x1067},
    {0x0038, 0x0050},
    {0x0038, 0x0060},
    {0x0038, 0x0062},
    {0x0038, 0x4000},
    {0x0040, 0x0310},
    {0x0040, 0x1011},
    {0x0040, 0x1102},
    {0x0040, 0x1103},
    {0x0040, 0x1104},
    {0x0040, 0x2001},
    {0x0040, 0x2009},
    {0x0040, 0x2010},
    {0x0040, 0x3001},
    {0x0040, 0xA078},
    {0x0040, 0xA07A},
    {0x0040, 0xA07C},
    {0x0070, 0x0086},
    {0x2030, 0x0020},
    {0x4000, 0x4000},
    {0x3006, 0x0006},
    {0x3006, 0x0028},
    {0x300A, 0x0003},
    {0x300A, 0x0004},
    {0x300A, 0x000E},
    {0x300A, 0x0016},
    {0x300A, 0x0072},
    // Pictures beside the image: an icon (it may show burned-in text) and annotation text.
    {0x0088, 0x0200},
    {0x0070, 0x0001},
};

// Action Z (emptied, kept: type 2 in the IODs that have them). Names and IDs the profile
// replaces get the export's pseudonym instead (ExportOptions).
constexpr Tag kEmpty[] = {
    {0x0010, 0x0010},  // PatientName, wherever it is (the top level gets the pseudonym)
    {0x0010, 0x0020},  // PatientID, likewise
    {0x0008, 0x0050},  // AccessionNumber
    {0x0008, 0x0090},  // ReferringPhysicianName
    {0x0010, 0x0030},  // PatientBirthDate
    {0x0020, 0x0010},  // StudyID
    {0x0040, 0x2016},  // PlacerOrderNumberImagingServiceRequest
    {0x0040, 0x2017},  // FillerOrderNumberImagingServiceRequest
    {0x0040, 0xA088},  // VerifyingObserverIdentificationCodeSequence
};

// UIDs that name a class or an encoding, not an instance: never replaced.
constexpr Tag kClassUids[] = {
    {0x0008, 0x0016}, {0x0008, 0x1150}, {0x0004, 0x1510}, {0x0004, 0x1512},
    {0x0008, 0x001A}, {0x0008, 0x0062}, {0x0008, 0x010C}, {0x0008, 0x0117},
};

bool In(std::span<const Tag> list, const DcmTagKey& key) {
  const Tag t{key.getGroup(), key.getElement()};
  return std::find(list.begin(), list.end(), t) != list.end();
}

bool StandardUid(const std::string& uid) { return uid.rfind("1.2.840.10008.", 0) == 0; }

// Applies the profile to every element of `item`, recursing into sequences.
Status Clean(DcmItem& item, const UidMap& map_uid) {
  std::vector<DcmTagKey> remove;
  for (unsigned long i = 0; i < item.card(); ++i) {
    DcmElement* e = item.getElement(i);
    const DcmTagKey key = e->getTag().getXTag();
    const uint16_t group = key.getGroup();
    const bool is_private = (group & 1) != 0;
    const bool unknown_content = e->ident() == EVR_UN;
    const bool curve = (group & 0xFF00) == 0x5000;  // retired curves: free text and drawings
    const bool overlay_data =
        (group & 0xFF00) == 0x6000 && (key.getElement() == 0x3000 || key.getElement() == 0x4000);
    if (is_private || In(kRemove, key) || unknown_content || curve || overlay_data) {
      remove.push_back(key);
      continue;
    }
    if (In(kEmpty, key)) {
      if (e->ident() == EVR_SQ) {
        static_cast<DcmSequenceOfItems*>(e)->clear();
      } else {
        e->putString("");
      }
      continue;
    }
    const DcmEVR vr = e->ident();
    if (vr == EVR_SQ) {
      auto* seq = static_cast<DcmSequenceOfItems*>(e);
      for (unsigned long k = 0; k < seq->card(); ++k) {
        DOSSIER_RETURN_IF_ERROR(Clean(*seq->getItem(k), map_uid));
      }
    } else if (vr == EVR_PN) {
      e->putString("");  // any other person's name: referring, reading, operator, observer
    } else if (vr == EVR_UI && !In(kClassUids, key)) {
      OFString value;
      if (e->getOFStringArray(value).bad() || value.empty()) continue;
      std::string mapped, part;
      std::string all(value.c_str(), value.length());
      size_t start = 0;
      while (start <= all.size()) {
        size_t end = all.find('\\', start);
        if (end == std::string::npos) end = all.size();
        part = all.substr(start, end - start);
        while (!part.empty() && (part.back() == ' ' || part.back() == '\0')) part.pop_back();
        if (!mapped.empty() || start > 0) mapped += '\\';
        mapped += part.empty() || StandardUid(part) ? part : map_uid(part);
        start = end + 1;
      }
      e->putString(mapped.c_str());
    }
  }
  for (const DcmTagKey& key : remove) {
    delete item.remove(key);
  }
  return Status::Ok();
}

void PutCode(DcmItem& item, const char* value, const char* meaning) {
  item.putAndInsertString(DCM_CodeValue, value);
  item.putAndInsertString(DCM_CodingSchemeDesignator, "DCM");
  item.putAndInsertString(DCM_CodeMeaning, meaning);
}

// Why JPEG-LS lossless cannot be applied to this data set, or "".
std::string JpegLsObstacle(DcmDataset& ds, const DcmXfer& original) {
  if (!ds.tagExists(DCM_PixelData)) return "no pixel data";
  if (original.getXfer() == EXS_JPEGLSLossless) return "already JPEG-LS";
  if (original.isEncapsulated() && original.isLossy()) {
    return "lossy " + std::string(original.getXferName()) + ": re-compressing cannot help";
  }
  Uint16 bits = 0;
  ds.findAndGetUint16(DCM_BitsAllocated, bits);
  if (bits > 16 || bits < 8) return fmt::format("{}-bit pixel data", bits);
  if (original.isEncapsulated() &&
      !DcmCodecList::canChangeCoding(original.getXfer(), EXS_LittleEndianExplicit)) {
    return std::string(original.getXferName()) + ", which this DCMTK cannot decode";
  }
  return "";
}

// A JPEG-LS code stream of odd length is padded to an even one after its EOI marker (PS3.5
// A.4). DCMTK 3.6.7's encoder, for the images it does not render first (colour, here), pads
// with whatever byte its buffer held: a byte of the worker's memory, and a different file each
// time. That byte is made 0x00 here, so the output is the same every time.
void ZeroPadFragments(DcmDataset& ds, const DJLSRepresentationParameter& parameter) {
  DcmElement* element = nullptr;
  if (ds.findAndGetElement(DCM_PixelData, element).bad() || element == nullptr) return;
  DcmPixelSequence* fragments = nullptr;
  if (static_cast<DcmPixelData*>(element)
          ->getEncapsulatedRepresentation(EXS_JPEGLSLossless, &parameter, fragments)
          .bad() ||
      fragments == nullptr) {
    return;
  }
  for (unsigned long i = 1; i < fragments->card(); ++i) {  // item 0: the offset table
    DcmPixelItem* item = nullptr;
    Uint8* data = nullptr;
    if (fragments->getItem(item, i).bad() || item->getUint8Array(data).bad() || data == nullptr)
      continue;
    const Uint32 n = item->getLength();
    if (n % 2 == 1) {
      std::vector<Uint8> padded(data, data + n);
      padded.push_back(0);
      item->putUint8Array(padded.data(), n + 1);
    } else if (n >= 3 && data[n - 3] == 0xFF && data[n - 2] == 0xD9) {
      data[n - 1] = 0;  // FF D9 then the pad (FF occurs in a code stream only before a marker)
    }
  }
}

// The raw encoder (the stored samples as they are), not DCMTK's default "cooked" one (the
// image rendered first): in DCMTK 3.6.7 the cooked encoder writes its pad byte past the end of
// its buffer whenever the code stream outgrows it (tiny images, noise; valgrind shows it on a
// 9×9 image), and a heap overflow in the worker fails the whole export. The raw one writes
// streams 0.6 % larger for 12-bit CT, and decodes to the same samples.
void RegisterJpegLsEncoder() {
  static std::once_flag encoders;
  std::call_once(encoders, [] {
    DJLSEncoderRegistration::registerCodecs(/*t1..reset*/ 0, 0, 0, 0,
                                            /*preferCookedEncoding=*/OFFalse);
  });
}

// Re-encodes the pixel data of `ds` as JPEG-LS lossless where that loses nothing; returns the
// transfer syntax to write (the original's when it was kept, with out.kept_reason saying why).
E_TransferSyntax ToJpegLs(DcmDataset& ds, const DcmXfer& original, ExportedInstance& out) {
  out.kept_reason = JpegLsObstacle(ds, original);
  if (!out.kept_reason.empty()) return original.getXfer();
  const DJLSRepresentationParameter lossless(2, OFTrue);
  if (ds.chooseRepresentation(EXS_JPEGLSLossless, &lossless).good() &&
      ds.canWriteXfer(EXS_JPEGLSLossless)) {
    ZeroPadFragments(ds, lossless);
    out.recompressed = true;
    return EXS_JPEGLSLossless;
  }
  out.kept_reason = "the JPEG-LS encoder refused this image";
  return original.getXfer();
}

void Describe(DcmDataset& ds, E_TransferSyntax xfer, ExportedInstance& out) {
  OFString v;
  if (ds.findAndGetOFString(DCM_SOPClassUID, v).good()) out.sop_class_uid = v.c_str();
  if (ds.findAndGetOFString(DCM_SOPInstanceUID, v).good()) out.sop_instance_uid = v.c_str();
  out.transfer_syntax_uid = DcmXfer(xfer).getXferID();
}

}  // namespace

std::string UidFromBytes(std::span<const uint8_t, 16> bytes) {
  std::array<uint8_t, 16> n;
  std::copy(bytes.begin(), bytes.end(), n.begin());
  std::string digits;
  bool zero = false;
  while (!zero) {  // divide the big-endian number by 10 until it is 0
    unsigned rem = 0;
    zero = true;
    for (uint8_t& b : n) {
      const unsigned cur = (rem << 8) | b;
      b = static_cast<uint8_t>(cur / 10);
      rem = cur % 10;
      if (b != 0) zero = false;
    }
    digits.push_back(static_cast<char>('0' + rem));
  }
  std::reverse(digits.begin(), digits.end());
  return "2.25." + digits;
}

UidMap KeyedUidMap(std::span<const uint8_t> key) {
  auto k = std::make_shared<std::vector<uint8_t>>(key.begin(), key.end());
  return [k](const std::string& uid) {
    std::array<uint8_t, 16> h{};
    crypto_generichash(h.data(), h.size(), reinterpret_cast<const uint8_t*>(uid.data()), uid.size(),
                       k->data(), k->size());
    return UidFromBytes(h);
  };
}

Result<ExportedInstance> Deidentify(std::span<const uint8_t> bytes, const ExportOptions& options,
                                    const UidMap& map_uid) {
  RegisterJpegLsEncoder();
  DcmFileFormat ff;
  DOSSIER_RETURN_IF_ERROR(internal::Parse(bytes, ff));
  DcmDataset& ds = *ff.getDataset();
  const DcmXfer original(ds.getOriginalXfer());
  ExportedInstance out;
  // Text in the pixels: said so, or not said for the kinds of image that often carry it
  // (secondary captures such as dose reports, ultrasound, angiography, endoscopy).
  OFString burned, modality, sop_class;
  ds.findAndGetOFString(DCM_Modality, modality);
  ds.findAndGetOFString(DCM_SOPClassUID, sop_class);
  const bool stated = ds.findAndGetOFString(DCM_BurnedInAnnotation, burned).good();
  const bool often = modality == "OT" || modality == "US" || modality == "XA" || modality == "ES" ||
                     sop_class.compare(0, 26, "1.2.840.10008.5.1.4.1.1.7") == 0;
  out.burned_in_annotation = ds.tagExists(DCM_PixelData) && (stated ? burned == "YES" : often);

  DOSSIER_RETURN_IF_ERROR(Clean(ds, map_uid));
  ds.putAndInsertString(DCM_PatientName, options.patient_name.c_str());
  ds.putAndInsertString(DCM_PatientID, options.patient_id.c_str());
  ds.putAndInsertString(DCM_PatientIdentityRemoved, "YES");
  ds.putAndInsertString(DCM_DeidentificationMethod,
                        "PS3.15 E.1 Basic Profile\\Retain Full Dates\\Retain Patient Chars");
  ds.putAndInsertString(DCM_LongitudinalTemporalInformationModified, "UNMODIFIED");
  delete ds.remove(DCM_DeidentificationMethodCodeSequence);
  for (const auto& [value, meaning] :
       {std::pair{"113100", "Basic Application Confidentiality Profile"},
        {"113106", "Retain Longitudinal Temporal Information Full Dates Option"},
        {"113108", "Retain Patient Characteristics Option"}}) {
    DcmItem* code = nullptr;
    if (ds.findOrCreateSequenceItem(DCM_DeidentificationMethodCodeSequence, code, -2).good()) {
      PutCode(*code, value, meaning);
    }
  }

  const E_TransferSyntax xfer = options.jpeg_ls ? ToJpegLs(ds, original, out) : original.getXfer();
  DOSSIER_ASSIGN_OR_RETURN(out.bytes, internal::Serialize(ff, xfer, EWM_createNewMeta));
  Describe(ds, xfer, out);
  return out;
}

Result<ExportedInstance> RecompressJpegLs(std::span<const uint8_t> bytes) {
  RegisterJpegLsEncoder();
  DcmFileFormat ff;
  DOSSIER_RETURN_IF_ERROR(internal::Parse(bytes, ff));
  DcmDataset& ds = *ff.getDataset();
  const DcmXfer original(ds.getOriginalXfer());
  ExportedInstance out;
  const E_TransferSyntax xfer = ToJpegLs(ds, original, out);
  if (out.recompressed) {
    DOSSIER_ASSIGN_OR_RETURN(out.bytes, internal::Serialize(ff, xfer, EWM_createNewMeta));
  } else {
    out.bytes.assign(bytes.begin(), bytes.end());  // as stored, to the byte
  }
  Describe(ds, xfer, out);
  return out;
}

Status WriteDicomdir(const std::filesystem::path& folder, const std::vector<std::string>& file_ids,
                     const std::string& fileset_id) {
  // DicomDirInterface works with paths relative to the file-set's root.
  bool all_explicit_le = true;
  for (const auto& id : file_ids) {
    DcmFileFormat ff;
    if (ff.loadFile((folder / id).c_str()).bad()) {
      return IoError("cannot read " + id + " for the DICOMDIR");
    }
    if (ff.getDataset()->getOriginalXfer() != EXS_LittleEndianExplicit) all_explicit_le = false;
  }
  DicomDirInterface dir;
  // De-identified files have an empty StudyID (type 2 in the image, type 1 in a DICOMDIR's
  // study record): DCMTK invents the record's value, as `dcmmkdir --invent` does.
  dir.enableInventMode(OFTrue);
  const auto profile = all_explicit_le ? DicomDirInterface::AP_GeneralPurpose
                                       : DicomDirInterface::AP_GeneralPurposeMIME;
  const std::string dicomdir = (folder / "DICOMDIR").string();
  OFCondition c = dir.createNewDicomDir(profile, dicomdir.c_str(), fileset_id.c_str());
  if (c.bad()) return IoError(std::string("cannot create the DICOMDIR: ") + c.text());
  for (const auto& id : file_ids) {
    c = dir.addDicomFile(id.c_str(), folder.c_str());
    if (c.bad()) return Internal("cannot add " + id + " to the DICOMDIR: " + c.text());
  }
  c = dir.writeDicomDir();
  if (c.bad()) return IoError(std::string("cannot write the DICOMDIR: ") + c.text());
  return Status::Ok();
}

}  // namespace dossier::dicom
