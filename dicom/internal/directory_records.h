// The directory records of a DICOMDIR built from instance summaries (BuildDicomdir, in
// dicom/dicomdir.cc): which instances can be listed, under which record type, and the keys each
// record carries (PS3.3 F.5), as DCMTK's DicomDirInterface makes them. Private to dicom/.
#pragma once

#include <dcmtk/dcmdata/dcitem.h>

#include <string>

#include "dicom/dicom.h"

namespace dossier::dicom::internal {

// What DicomDirInterface's invent mode (dcmmkdir --invent) numbers the values it invents
// for empty type 1 keys with, per DICOMDIR.
struct Invented {
  int patient_ids = 0;       // PatientID "DCMTKPAT000000", …
  int study_ids = 0;         // StudyID "DCMTKSTUDY000000", …
  int series_numbers = 0;    // SeriesNumber 0, 1, …
  int instance_numbers = 1;  // InstanceNumber 1, 2, …
};

// Why `entry` cannot be listed in a DICOMDIR, or "" when it can: a bad file ID, a missing
// UID, modality or type 1 key of its record, an object that has no record here.
std::string EntryProblem(const DicomdirEntry& entry);

// The record type of an instance EntryProblem accepts: "IMAGE", "RT DOSE", "SR DOCUMENT", …
const char* LeafRecordType(const InstanceSummary& s);

// The keys of each level's record, from the (first) instance of that level. Elements are
// added to `record`, which already has its type and offsets.
void FillPatient(DcmItem& record, const InstanceSummary& s, Invented& invented);
void FillStudy(DcmItem& record, const InstanceSummary& s, Invented& invented);
void FillSeries(DcmItem& record, const InstanceSummary& s, Invented& invented);
void FillLeaf(DcmItem& record, const DicomdirEntry& entry, Invented& invented);

}  // namespace dossier::dicom::internal
