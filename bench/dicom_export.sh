#!/usr/bin/env bash
# JPEG-LS lossless re-compression in `dossier dicom export --jpeg-ls` beside DCMTK's own
# `dcmcjpls` on the same CT slices, in the same run. Markdown to stdout.
#
#   bench/dicom_export.sh [INSTANCES] [ROUNDS]   (default 200 slices of 512×512, 3 rounds)
#
# dossier's figure includes everything the export does per slice: decrypting from the vault,
# de-identifying, encoding, writing, the DICOMDIR and one sync. dcmcjpls (one process per file,
# as a script would run it) only encodes; its files are written into the page cache and not
# synced. Both run on one core. The slices are synthetic CT (samples/make_ct_disc: an
# anatomy-like phantom with scanner noise, 12 bits stored), which compress less than real
# scans with air around the body would.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-200}
rounds=${2:-3}
./scripts/install-deps.sh >/dev/null
./scripts/build.sh >/dev/null
work=bench/work/dicom-export
rm -rf "$work"; mkdir -p "$work"
source bench/lib.sh

./build/samples/make_ct_disc --folder "$work/disc" --instances "$n" >/dev/null
./build/samples/make_ct_disc --out "$work/disc.iso" --instances "$n" >/dev/null
in_bytes=$(du -cb "$work"/disc/DICOM/S001/* | tail -1 | cut -f1)

export DOSSIER_PASSPHRASE_FILE=$work/pass DOSSIER_VAULT=$work/vault
head -c 24 /dev/urandom | base64 > "$DOSSIER_PASSPHRASE_FILE"
./build/app/dossier init >/dev/null 2>&1
patient=$(./build/app/dossier patient add --name "Ivanov Ivan Petrovich" --birth-date 1980-02-01)
case_id=$(./build/app/dossier case open --patient "$patient" --goal bench)
./build/app/dossier ingest --case "$case_id" "$work/disc.iso" >/dev/null

ref_runs=() ours_runs=() plain_runs=() unlock_runs=()
for round in $(seq "$rounds"); do
  rm -rf "$work/ref"; mkdir -p "$work/ref"; sync
  read -r w _ < <(measure sh -c "for f in $work/disc/DICOM/S001/*; do dcmcjpls \"\$f\" \"$work/ref/\${f##*/}\" || exit 1; done")
  ref_runs+=("$w")
  ref_bytes=$(du -cb "$work"/ref/* | tail -1 | cut -f1)

  rm -rf "$work/ours"; sync
  read -r w _ < <(measure ./build/app/dossier dicom export --case "$case_id" --jpeg-ls -o "$work/ours")
  ours_runs+=("$w")
  ours_bytes=$(du -cb "$work"/ours/DICOM/S001/* | tail -1 | cut -f1)
  ours_line=$(grep "JPEG-LS" "$work/out.txt")

  rm -rf "$work/plain"; sync
  read -r w _ < <(measure ./build/app/dossier dicom export --case "$case_id" -o "$work/plain")
  plain_runs+=("$w")
  read -r w _ < <(measure ./build/app/dossier case list)
  unlock_runs+=("$w")
done
ref=$(median "${ref_runs[@]}")
ours=$(median "${ours_runs[@]}")
plain=$(median "${plain_runs[@]}")
unlock=$(median "${unlock_runs[@]}")

mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1e6 }'; }
echo "Slices: $n CT 512×512, 12 of 16 bits, $(mb "$in_bytes") MB uncompressed. dossier: $ours_line"
echo
echo "| what | runs s | median s | slices/s | output MB | ratio |"
echo "|---|---|---:|---:|---:|---:|"
rate() { awk -v n="$n" -v s="$1" 'BEGIN { printf "%.0f", n / s }'; }
ratio() { awk -v a="$in_bytes" -v b="$1" 'BEGIN { printf "%.2f:1", a / b }'; }
echo "| dcmcjpls, one process per slice | ${ref_runs[*]} | $ref | $(rate "$ref") | $(mb "$ref_bytes") | $(ratio "$ref_bytes") |"
echo "| dossier dicom export --jpeg-ls | ${ours_runs[*]} | $ours | $(rate "$ours") | $(mb "$ours_bytes") | $(ratio "$ours_bytes") |"
echo "| dossier dicom export (no re-compression) | ${plain_runs[*]} | $plain | $(rate "$plain") | | |"
echo "| of which the unlock (Argon2id) | ${unlock_runs[*]} | $unlock | | | |"
echo
awk -v o="$ours" -v r="$ref" -v u="$unlock" 'BEGIN { printf "dossier / dcmcjpls: %.2f× the time (%.2f× without the unlock)\n", o / r, (o - u) / r }'
rm -rf "$work"
