#!/usr/bin/env bash
# iPhone photos (issue 24): what the JPEG copy of a HEIC photo costs the ingest, against
# libheif's own `heif-convert` making a JPEG of the same photo, in the same run. Markdown to
# stdout.
#
#   bench/heic.sh [ROUNDS=3]
#
# The photo: a full A4 page of the OCR set (dense print, a stamp, a signature) at 12 megapixels
# (3024 × 4032, an iPhone's size), as a JPEG at quality 92 and as a HEIC made from it by
# `heif-enc -q 80`. Each round, each into a new vault with the unlock excluded (`case list`
# first, timed apart):
#   1. `heif-convert -q 90 photo.heic out.jpg` — decode and write a JPEG, nothing else;
#   2. `dossier ingest` of the JPEG: stored, OCR-checked;
#   3. `dossier ingest` of the HEIC: stored, OCR-checked, and its JPEG copy made and stored.
# 3 − 2 is what the HEIC costs beyond a JPEG: a second decode in the worker, the JPEG encode,
# a second sealed object. Both ingests run the OCR check on one page, so they use one core.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
./scripts/install-deps.sh >/dev/null
./scripts/build.sh >/dev/null
source bench/lib.sh
work=bench/work/heic
rm -rf "$work"; mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
export DOSSIER_PASSPHRASE_FILE=$work/pass
head -c 24 /dev/urandom | base64 > "$DOSSIER_PASSPHRASE_FILE"
dossier=./build/app/dossier

/usr/bin/python3 samples/make_ocr_set.py "$work/set" --seed 7 >/dev/null
page=$(ls "$work"/set/*signed-stamped*.png | head -1)
/usr/bin/python3 -c "import sys; from PIL import Image
Image.open(sys.argv[1]).convert('RGB').resize((3024, 4032)).save(sys.argv[2], quality=92)" \
  "$page" "$work/photo.jpg"
heif-enc -q 80 "$work/photo.jpg" -o "$work/photo.heic" >/dev/null

convert_runs=() jpeg_runs=() heic_runs=()
for round in $(seq "$rounds"); do
  read -r w _ < <(measure heif-convert -q 90 "$work/photo.heic" "$work/out-$round.jpg")
  convert_runs+=("$w")
  for kind in jpeg heic; do
    export DOSSIER_VAULT=$work/vault-$kind-$round
    $dossier init >/dev/null 2>&1
    patient=$($dossier patient add --name Bench --birth-date 1970-01-01)
    case_id=$($dossier case open --patient "$patient" --goal bench)
    sync
    file=$work/photo.jpg
    [ "$kind" = heic ] && file=$work/photo.heic
    read -r w _ < <(measure $dossier ingest --case "$case_id" "$file")
    if [ "$kind" = heic ] && ! grep -q "JPEG copy is kept" "$work/out.txt"; then
      cat "$work/out.txt" >&2; exit 1
    fi
    read -r unlock _ < <(measure $dossier case list)
    w=$(awk -v a="$w" -v b="$unlock" 'BEGIN { printf "%.2f", a - b }')
    if [ "$kind" = jpeg ]; then jpeg_runs+=("$w"); else heic_runs+=("$w"); fi
  done
done

echo "Photo: 3024 × 4032, JPEG $(stat -c %s "$work/photo.jpg") B, HEIC $(stat -c %s "$work/photo.heic") B; $(nproc) cores; $(date +%F)."
echo
echo "| what | runs s | median s |"
echo "|---|---|---|"
echo "| \`heif-convert -q 90\` (HEIC → JPEG only) | ${convert_runs[*]} | $(median "${convert_runs[@]}") |"
echo "| \`dossier ingest\` of the JPEG (unlock excluded) | ${jpeg_runs[*]} | $(median "${jpeg_runs[@]}") |"
echo "| \`dossier ingest\` of the HEIC, with its JPEG copy (unlock excluded) | ${heic_runs[*]} | $(median "${heic_runs[@]}") |"
