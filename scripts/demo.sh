#!/usr/bin/env bash
# The main job on samples/: installs what is missing, builds, and runs a patient's upload
# through a fresh vault in ./demo-vault — patient, case, ingest, a correction (a misfiled
# document moved), listing, verification of every object and of the audit log, and a signed
# audit checkpoint.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh

dossier=./build/app/dossier
export DOSSIER_VAULT=./demo-vault
# A demo passphrase in a file (never on the command line); a real vault's is typed or kept safe.
export DOSSIER_PASSPHRASE_FILE=./demo-passphrase.txt
rm -rf "$DOSSIER_VAULT" "$DOSSIER_PASSPHRASE_FILE" demo-checkpoint.txt demo-disc.iso demo-password.txt demo-serve.log
(umask 077; head -c 24 /dev/urandom | base64 > "$DOSSIER_PASSPHRASE_FILE")

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
step "dossier init"
$dossier init
step "dossier vault settings   (the operator named in consents)"
$dossier vault settings --operator "MedTravel Coordination LLC" --country RU --time-zone Europe/Moscow
step "dossier patient add --from -   (the name stays off the command line)"
patient=$(printf '{"name": "Иванов Иван Петрович", "birth_date": "1980-02-01", "phone": "+7 900 123-45-67"}' |
  $dossier patient add --from -)
echo "$patient"
step "dossier case open"
case_id=$($dossier case open --patient "$patient" --goal "Neurosurgical consultation: L4-L5 disc herniation" \
  --question "Is surgery indicated, or conservative treatment?")
echo "$case_id"
step "dossier ingest --case $case_id samples/upload"
$dossier ingest --case "$case_id" samples/upload
step "dossier ingest   (an iPhone photo in HEIC: checked, and kept with a JPEG copy that exports send)"
$dossier ingest --case "$case_id" samples/phone/neurologist-photo.heic
step "dossier ingest --case $case_id demo-disc.iso   (a synthetic CT disc: 40 images, DICOMDIR, viewer)"
./build/samples/make_ct_disc --out demo-disc.iso --instances 40 --size 256 >/dev/null
$dossier ingest --case "$case_id" demo-disc.iso | tail -4
step "dossier docs move   (a correction: the patient's note belongs to their follow-up case)"
followup=$($dossier case open --patient "$patient" --goal "Follow-up after treatment")
note=$($dossier --json docs --case "$case_id" | python3 -c \
  'import json, sys; print(next(d["id"] for d in json.load(sys.stdin) if d["name"].endswith("patient-note.txt")))')
$dossier docs move "$note" --to-case "$followup"
step "dossier clinic add; dossier consent add   (what a transfer needs, recorded)"
clinic=$($dossier clinic add "Charité – Universitätsmedizin Berlin" --country DE --email international@charite.de)
consent=$($dossier consent add --patient "$patient" --recipient "$clinic" --purpose second-opinion \
  --categories epicrisis,conclusion,lab,imaging --until "$(date -d '+6 months' +%F)" --scan samples/upload/epicrisis.pdf)
$dossier consent list --patient "$patient"
step "dossier docs --case $case_id"
$dossier docs --case "$case_id"
step "dossier get   (audited as document.export_file, the file's name sealed; a refusal is on record too)"
doc=$($dossier docs --case "$case_id" | awk '$1 ~ /^doc_/ {print $1; exit}')
$dossier get "$doc" -o demo-copy.pdf && rm -f demo-copy.pdf
$dossier get doc_0000000000 -o demo-copy.pdf || echo "(exit $?: refused, and recorded)"
step "dossier export   (to the clinic, behind the consent gate: refused for a purpose the consent lacks)"
rm -rf demo-export demo-export.partial
$dossier export --case "$case_id" --recipient "$clinic" --out demo-export --purpose treatment \
  || echo "(exit $?: refused by the consent gate, and recorded)"
step "dossier export   (self-contained AES-256 ZIP parts, each read back; the password shown once)"
$dossier export --case "$case_id" --recipient "$clinic" --out demo-export --max-part 25MB
ls -l demo-export
$dossier export list
step "dossier user add; dossier serve   (the HTTP API: each account sees what its role allows; a resumable upload)"
(umask 077; head -c 18 /dev/urandom | base64 > demo-password.txt)
$dossier user add manager@demo.example --role manager --password-file demo-password.txt
$dossier user add ivanov@demo.example --role patient --patient "$patient" --password-file demo-password.txt
$dossier serve --listen 127.0.0.1:0 2> demo-serve.log &
serve_pid=$!
port=""
for _ in $(seq 300); do
  port=$(grep -o 'http://127\.0\.0\.1:[0-9]*' demo-serve.log | cut -d: -f3 || true)
  [ -n "$port" ] && break
  sleep 0.1
done
python3 - "$port" "$case_id" <<'PY'
import json, sys, urllib.error, urllib.request
port, case_id = sys.argv[1:]
password = open("demo-password.txt").read().strip()
def call(path, cookie=None, body=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}",
                                 data=json.dumps(body).encode() if body else None,
                                 headers={"Content-Type": "application/json"})
    if cookie:
        req.add_header("Cookie", cookie)
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, r.headers, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, e.headers, json.loads(e.read())
for user in ("manager@demo.example", "ivanov@demo.example"):
    _, headers, me = call("/api/session", body={"username": user, "password": password})
    cookie = headers["Set-Cookie"].split(";")[0]
    _, _, docs = call(f"/api/cases/{case_id}/documents", cookie)
    status, _, patients = call("/api/patients", cookie)
    said = f"{len(patients)} patient(s)" if status == 200 else patients["error"]
    print(f"{me['role']:>8}: GET /api/cases/{{id}}/documents: {len(docs)} entries; "
          f"GET /api/patients: {status} {said}")
# The patient uploads a letter with tus (doc/API.md §Uploads), in two PATCHes as over a
# connection that drops, and follows the ingest job.
import base64, time
data = ("Иванов И. И.: записка, отправленная из дома — " + time.strftime("%Y-%m-%d %H:%M:%S") + "\n").encode() * 40
def tus(method, path, headers, body=b""):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body or None,
                                 method=method, headers={"Cookie": cookie, "X-CSRF-Token": me["csrf"],
                                                         "Tus-Resumable": "1.0.0", **headers})
    with urllib.request.urlopen(req) as r:
        return r.headers
name = base64.b64encode("записка из дома.txt".encode()).decode()
at = tus("POST", f"/api/cases/{case_id}/tus/",
         {"Upload-Length": str(len(data)), "Upload-Metadata": f"filename {name}"})["Location"]
half = len(data) // 2
tus("PATCH", at, {"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}, data[:half])
job = tus("PATCH", at, {"Upload-Offset": str(half), "Content-Type": "application/offset+octet-stream"},
          data[half:])["Dossier-Job"]
while (state := call(f"/api/jobs/{job}", cookie)[2])["state"] not in ("done", "failed"):
    time.sleep(0.2)
item = state["result"]["items"][0]
print(f"{me['role']:>8}: tus upload of {len(data)} bytes in 2 PATCHes → {job}: {item['path']} {item['status']} {item['id']}")
PY
kill -TERM "$serve_pid"
wait "$serve_pid"
tail -4 demo-serve.log
step "dossier vault verify"
$dossier vault verify
step "dossier audit checkpoint   (no passphrase needed)"
env -u DOSSIER_PASSPHRASE_FILE $dossier audit checkpoint -o demo-checkpoint.txt
step "dossier audit verify --checkpoint demo-checkpoint.txt --pubkey \$(dossier audit pubkey)"
audit_key=$(env -u DOSSIER_PASSPHRASE_FILE $dossier audit pubkey)
env -u DOSSIER_PASSPHRASE_FILE $dossier audit verify --checkpoint demo-checkpoint.txt --pubkey "$audit_key"
step "dossier audit log"
env -u DOSSIER_PASSPHRASE_FILE $dossier audit log
step "dossier audit log --action document.export_file   (who, as which system user, and why refused)"
env -u DOSSIER_PASSPHRASE_FILE $dossier audit log --action document.export_file
printf '\nDemo vault: %s (passphrase in %s). Try: %s --vault %s docs --case %s\n' \
  "$DOSSIER_VAULT" "$DOSSIER_PASSPHRASE_FILE" "$dossier" "$DOSSIER_VAULT" "$case_id"
