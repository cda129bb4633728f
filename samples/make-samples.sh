#!/usr/bin/env bash
# Regenerates the demo inputs in samples/upload/ from nothing but Debian tools (python3, poppler-utils,
# dcmtk). The outputs are committed, so the demo never needs this; run it to change them.
# Everything here is fictional: no real patient's data.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p upload && cd upload
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

# A one-page PDF with a real text layer (Helvetica, born-digital like a hospital printout).
pdf() {  # pdf OUT "line" "line" ...
  python3 - "$@" <<'PY'
import sys
out, lines = sys.argv[1], sys.argv[2:]
esc = lambda s: s.replace('\\', '\\\\').replace('(', '\\(').replace(')', '\\)')
body = "BT /F1 12 Tf 16 TL 60 780 Td " + " ".join(f"({esc(l)}) '" for l in lines) + " ET"
objs = ["<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(body)} >>\nstream\n{body}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
pdf, offs = b"%PDF-1.4\n", []
for i, o in enumerate(objs):
    offs.append(len(pdf)); pdf += f"{i+1} 0 obj\n{o}\nendobj\n".encode()
x = len(pdf)
pdf += f"xref\n0 {len(objs)+1}\n0000000000 65535 f \n".encode()
pdf += b"".join(f"{o:010d} 00000 n \n".encode() for o in offs)
pdf += f"trailer\n<< /Size {len(objs)+1} /Root 1 0 R >>\nstartxref\n{x}\n%%EOF\n".encode()
open(out, "wb").write(pdf)
PY
}

pdf epicrisis.pdf "CITY CLINICAL HOSPITAL No. 1 - DISCHARGE SUMMARY (EPICRISIS)" "" \
  "Patient: Ivanov Ivan Petrovich, born 01.02.1980" "Admitted 02.11.2026, discharged 14.11.2026" \
  "Diagnosis: L4-L5 disc herniation with radiculopathy." \
  "Treatment: NSAIDs, physiotherapy. Condition on discharge: satisfactory." \
  "Recommendation: neurosurgical consultation." "" "Attending physician: Smirnova A.V."
pdf "$work/mri.pdf" "MRI OF THE LUMBAR SPINE - CONCLUSION" "" "Patient: Ivanov I.P., 1980" \
  "L4-L5: posterior median disc herniation 6 mm, compressing the left L5 root." \
  "Conclusion: MR signs of L4-L5 disc herniation." "Radiologist: Petrov K.S."
pdf "$work/lab.pdf" "LABORATORY REPORT - COMPLETE BLOOD COUNT" "" "Patient: Ivanov I.P." \
  "Hemoglobin 142 g/L (130-160)" "WBC 6.1 x10^9/L (4.0-9.0)" "Platelets 250 x10^9/L (180-320)"

pdf "$work/neuro.pdf" "NEUROLOGIST'S CONCLUSION" "" "Patient: Ivanov I.P., 1980" \
  "Complaints: low back pain radiating to the left leg since October 2026." \
  "Left L5 radiculopathy, moderate. Lasegue sign positive on the left at 40 degrees." \
  "Conclusion: L5 radiculopathy caused by the L4-L5 disc herniation." \
  "Neurologist: Sidorova E.M."

# The same kind of page as a patient's phone photo (JPEG), a scan (PNG), and an iPhone photo
# (HEIC, libheif's encoder: Debian's libheif-examples).
pdftoppm -jpeg -r 60 -singlefile "$work/mri.pdf" mri-conclusion
pdftoppm -png -gray -r 50 -singlefile "$work/lab.pdf" lab-results
pdftoppm -jpeg -r 100 -singlefile "$work/neuro.pdf" "$work/neuro"
mkdir -p ../phone
heif-enc -q 60 "$work/neuro.jpg" -o ../phone/neurologist-photo.heic >/dev/null

# A file as found on an MRI disc: DICOM without extension.
mkdir -p disc/DICOM
img2dcm -q mri-conclusion.jpg disc/DICOM/IM000001 \
  -k "PatientName=Ivanov^Ivan" -k "PatientID=DEMO-0001" -k "PatientBirthDate=19800201" \
  -k "StudyDate=20261110" -k "Modality=OT" -k "SeriesDescription=MRI conclusion (demo)"

printf 'Здравствуйте! Прикладываю выписку и заключение МРТ.\nБоли в пояснице с октября.\n' > patient-note.txt
