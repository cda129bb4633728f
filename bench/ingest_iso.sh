#!/usr/bin/env bash
# Ingest of a CT disc image against the bare reference — extract + encrypt + durable write of
# the same bytes with standard tools — in the same run. Markdown to stdout.
#
#   bench/ingest_iso.sh [INSTANCES]   (default 2000 ≈ 1 GB; 9000 ≈ a 4.7 GB DVD)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-2000}
./scripts/install-deps.sh >/dev/null
./scripts/build.sh >/dev/null
work=bench/work
mkdir -p "$work"
iso=$work/ct-$n.iso
[ -f "$iso" ] || ./build/samples/make_ct_disc --out "$iso" --instances "$n" >&2
size=$(stat -c %s "$iso")
cat "$iso" > /dev/null  # warm the page cache for both contenders

source bench/lib.sh

rm -f "$work/age.key"; age-keygen -o "$work/age.key" 2>/dev/null
recipient=$(age-keygen -y "$work/age.key")
read -r base_w base_r < <(measure sh -c "bsdtar -xOf $iso | age -e -r $recipient -o $work/out.age && sync $work/out.age")
rm -f "$work/out.age"

export DOSSIER_VAULT=$work/vault DOSSIER_PASSPHRASE_FILE=$work/pass
rm -rf "$DOSSIER_VAULT"
head -c 24 /dev/urandom | base64 > "$DOSSIER_PASSPHRASE_FILE"
./build/app/dossier init >/dev/null 2>&1
patient=$(./build/app/dossier patient add --name Bench --birth-date 1970-01-01)
case_id=$(./build/app/dossier case open --patient "$patient" --goal bench)
read -r w r < <(measure ./build/app/dossier ingest --case "$case_id" "$iso")
summary=$(tail -1 "$work/out.txt")
rm -rf "$DOSSIER_VAULT"

echo "Disc: $n CT instances 512×512×16 bit + DICOMDIR + viewer, $(awk -v b="$size" 'BEGIN{printf "%.0f", b/1e6}') MB ISO. dossier: $summary"
echo
echo "| what | wall s | MB/s | peak RSS MiB |"
echo "|---|---:|---:|---:|"
awk -v w="$base_w" -v r="$base_r" -v b="$size" 'BEGIN { printf "| bsdtar -xOf \\| age -e + sync | %.2f | %.0f | %.1f |\n", w, b / w / 1e6, r / 1024 }'
awk -v w="$w" -v r="$r" -v b="$size" 'BEGIN { printf "| dossier ingest (incl. Argon2id unlock) | %.2f | %.0f | %.1f |\n", w, b / w / 1e6, r / 1024 }'
awk -v w="$w" -v bw="$base_w" 'BEGIN { printf "\nratio: %.2f× the reference\n", w / bw }'
