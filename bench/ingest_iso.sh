#!/usr/bin/env bash
# Ingest of a CT disc image against the bare reference — extract + encrypt + durable write of
# the same bytes with standard tools — in the same run. Markdown to stdout.
#
#   bench/ingest_iso.sh [INSTANCES] [ROUNDS]   (default 2000 ≈ 1 GB, 3 rounds; 9000 ≈ a DVD)
#
# The two contenders alternate, ROUNDS times each, every run starting after a `sync` so that
# no run pays for the last one's writeback; the medians are compared. Each ingest goes into a
# new vault, all deleted only at the end: on ext4 without a journal (as on this project's VMs),
# creating a file skips every inode deleted in the last minutes (fs/ext4/ialloc.c,
# recently_deleted), so deleting a 2,000-file vault just before would slow the next one down
# for a reason a real vault never meets.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-2000}
rounds=${2:-3}
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
export DOSSIER_PASSPHRASE_FILE=$work/pass
head -c 24 /dev/urandom | base64 > "$DOSSIER_PASSPHRASE_FILE"

rm -rf "$work"/vault-*  # left by an interrupted run
base_runs=() dossier_runs=() unlock_runs=() rss=0
for round in $(seq "$rounds"); do
  rm -f "$work/out.age"; sync
  read -r w _ < <(measure sh -c "bsdtar -xOf $iso | age -e -r $recipient -o $work/out.age && sync $work/out.age")
  base_runs+=("$w")
  rm -f "$work/out.age"

  export DOSSIER_VAULT=$work/vault-$round
  ./build/app/dossier init >/dev/null 2>&1
  patient=$(./build/app/dossier patient add --name Bench --birth-date 1970-01-01)
  case_id=$(./build/app/dossier case open --patient "$patient" --goal bench)
  read -r w _ < <(measure ./build/app/dossier case list)  # the fixed cost: Argon2id unlock
  unlock_runs+=("$w")
  sync
  read -r w r < <(measure ./build/app/dossier ingest --case "$case_id" "$iso")
  dossier_runs+=("$w"); rss=$(( r > rss ? r : rss ))
  summary=$(tail -1 "$work/out.txt")
done
for round in $(seq "$rounds"); do rm -rf "$work/vault-$round"; done

base=$(median "${base_runs[@]}")
ours=$(median "${dossier_runs[@]}")
unlock=$(median "${unlock_runs[@]}")

echo "Disc: $n CT instances 512×512×16 bit + DICOMDIR + viewer, $(awk -v b="$size" 'BEGIN{printf "%.0f", b/1e6}') MB ISO. dossier: $summary"
echo
echo "| what | runs s | median s | MB/s | peak RSS MiB |"
echo "|---|---|---:|---:|---:|"
awk -v w="$base" -v b="$size" -v runs="${base_runs[*]}" 'BEGIN { printf "| bsdtar -xOf \\| age -e + sync | %s | %.2f | %.0f | |\n", runs, w, b / w / 1e6 }'
awk -v w="$ours" -v r="$rss" -v b="$size" -v runs="${dossier_runs[*]}" 'BEGIN { printf "| dossier ingest (incl. Argon2id unlock) | %s | %.2f | %.0f | %.1f |\n", runs, w, b / w / 1e6, r / 1024 }'
awk -v w="$unlock" -v runs="${unlock_runs[*]}" 'BEGIN { printf "| of which the unlock (`dossier case list`: Argon2id MODERATE) | %s | %.2f | | |\n", runs, w }'
awk -v w="$ours" -v bw="$base" -v u="$unlock" 'BEGIN { printf "\nratio of the medians: %.2f× the reference (%.2f× without the unlock)\n", w / bw, (w - u) / bw }'
