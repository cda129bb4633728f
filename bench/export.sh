#!/usr/bin/env bash
# `dossier export` of a 1 GB case (a 2,000-image CT disc and the sample documents) into 18 MB
# AES-256 parts, beside 7-Zip making an AES-256 multi-volume ZIP of the same files
# (`7zz a -tzip -mem=AES256 -mx=1 -v18m`: volumes no clinic can open one by one), in the same
# run, alternately; and `dossier export --jpeg-ls` of the same case, and the same export as age
# parts for one clinic key (`--age-recipient`). Markdown to stdout.
#
#   bench/export.sh [INSTANCES] [ROUNDS]   (default 2000 slices of 512×512, 3 rounds)
#
# dossier's figure is the whole command a manager waits for: unlock (Argon2id), the consent
# gate, decrypting every document from the vault, writing and fsyncing each part, reading each
# back (decrypt, authenticate, hash) and recording the request. 7-Zip reads the plain files from
# the page cache (warmed first) and does not read its volumes back. Peak RSS is reported beside
# the RSS of an unlock alone (`dossier case list`).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-2000}
rounds=${2:-3}
./scripts/build.sh >/dev/null
work=bench/work/export
rm -rf "$work"; mkdir -p "$work"
source bench/lib.sh

./build/samples/make_ct_disc --folder "$work/files/disc" --instances "$n" >/dev/null
cp -r samples/upload/*.pdf samples/upload/*.png samples/upload/*.jpg "$work/files/"
in_bytes=$(du -sb "$work/files" | cut -f1)

export DOSSIER_PASSPHRASE_FILE=$work/pass DOSSIER_VAULT=$work/vault
head -c 24 /dev/urandom | base64 > "$DOSSIER_PASSPHRASE_FILE"
echo "correct horse battery staple" > "$work/part-password"
d=./build/app/dossier
$d init >/dev/null 2>&1
patient=$($d patient add --name "Ivanov Ivan Petrovich" --birth-date 1980-02-01)
case_id=$($d case open --patient "$patient" --goal bench)
$d clinic add "Bench Clinic" --country DE >/dev/null
$d consent add --patient "$patient" --recipient "Bench Clinic" --purpose second-opinion \
  --categories epicrisis,conclusion,lab,imaging,referral,other --until 2099-12-31 >/dev/null
$d ingest --case "$case_id" "$work/files" >/dev/null

age-keygen -o "$work/clinic.key" 2>/dev/null
recipient=$(age-keygen -y "$work/clinic.key")
ours_runs=() ours_rss=() ref_runs=() unlock_rss=() parts=0 ref_vols=0
jls_runs=() jls_rss=() jls_parts=0 age_runs=() age_parts=0
for round in $(seq "$rounds"); do
  rm -rf "$work/ours" "$work/ref" "$work/age"; mkdir -p "$work/ref"
  cat "$work"/files/disc/DICOM/*/* > /dev/null; sync
  read -r w rss < <(measure $d export --case "$case_id" --recipient "Bench Clinic" \
    --out "$work/ours" --password-file "$work/part-password" --include-handwritten)
  ours_runs+=("$w"); ours_rss+=("$rss")
  parts=$(ls "$work/ours"/*.zip | wc -l)
  largest=$(stat -c %s "$work/ours"/*.zip | sort -n | tail -1)
  rm -rf "$work/ours"; sync
  read -r w rss < <(measure $d export --case "$case_id" --recipient "Bench Clinic" \
    --out "$work/ours" --password-file "$work/part-password" --include-handwritten --jpeg-ls)
  jls_runs+=("$w"); jls_rss+=("$rss")
  jls_parts=$(ls "$work/ours"/*.zip | wc -l)
  sync
  read -r w _ < <(measure $d export --case "$case_id" --recipient "Bench Clinic" \
    --out "$work/age" --age-recipient "$recipient" --include-handwritten)
  age_runs+=("$w")
  age_parts=$(ls "$work/age"/*.zip.age | wc -l)
  rm -rf "$work/age"; sync
  read -r w _ < <(measure sh -c "cd $work/files && 7zz a -tzip -mem=AES256 -mx=1 -v18m \
    -p'correct horse battery staple' ../ref/all.zip . > /dev/null")
  ref_runs+=("$w")
  ref_vols=$(ls "$work"/ref/all.zip.* | wc -l)
  read -r _ rss < <(measure $d case list)
  unlock_rss+=("$rss")
done
ours=$(median "${ours_runs[@]}")
ref=$(median "${ref_runs[@]}")
rss=$(median "${ours_rss[@]}")
jls=$(median "${jls_runs[@]}")
age=$(median "${age_runs[@]}")
jls_peak=$(median "${jls_rss[@]}")
base=$(median "${unlock_rss[@]}")

echo "Input: $n CT slices 512×512 and 3 documents, $(awk -v b="$in_bytes" 'BEGIN { printf "%.2f", b / 1e9 }') GB; $rounds rounds, alternately."
echo
echo "| | runs s | median s | output |"
echo "|---|---|---:|---|"
echo "| \`dossier export\` (18 MB AES parts, read back) | ${ours_runs[*]} | $ours | $parts self-contained parts, largest $largest bytes |"
echo "| \`dossier export --jpeg-ls\` (the same, images re-compressed first) | ${jls_runs[*]} | $jls | $jls_parts self-contained parts |"
echo "| \`dossier export --age-recipient\` (18 MB age parts for one clinic key, read back) | ${age_runs[*]} | $age | $age_parts self-contained parts |"
echo "| \`7zz a -tzip -mem=AES256 -mx=1 -v18m\` | ${ref_runs[*]} | $ref | $ref_vols volumes of one archive |"
echo
echo "dossier / 7-Zip, medians: $(awk -v a="$ours" -v b="$ref" 'BEGIN { printf "%.2f", a / b }'); with --jpeg-ls $(awk -v a="$jls" -v b="$ref" 'BEGIN { printf "%.2f", a / b }'); age parts $(awk -v a="$age" -v b="$ref" 'BEGIN { printf "%.2f", a / b }')."
echo "Peak RSS: export $((rss / 1024)) MiB, an unlock alone $((base / 1024)) MiB: $(((rss - base) / 1024)) MiB beyond the unlock; with --jpeg-ls $(((jls_peak - base) / 1024)) MiB beyond it."
rm -rf "$work/ours" "$work/ref" "$work/age"
