#!/usr/bin/env bash
# Vault throughput against age and a bare libsodium secretstream loop, on the same file in
# the same run. Writes a Markdown table to stdout (copy it into doc/PERFORMANCE.md).
#
#   bench/vault.sh [SIZE_MB]     (default 1024; needs ~3x that in free disk under bench/work)
set -euo pipefail
cd "$(dirname "$0")/.."
size_mb=${1:-1024}
./scripts/install-deps.sh >/dev/null
./scripts/build.sh >/dev/null
work=bench/work/vault-bench  # its own folder: bench/work also holds the ISOs of ingest_iso.sh
rm -rf "$work"; mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
bin=build
in=$work/input.bin

echo "generating a ${size_mb} MB input..." >&2
{ printf 'GIF89a'; head -c "$((size_mb * 1024 * 1024))" /dev/urandom; } > "$in"
bytes=$(stat -c %s "$in")
cat "$in" > /dev/null  # warm the page cache: every tool below reads the same cached bytes

source bench/lib.sh
row() {  # name wall rss
  awk -v n="$1" -v w="$2" -v r="$3" -v b="$bytes" \
    'BEGIN { printf "| %s | %.2f | %.0f | %.1f |\n", n, w, b / w / 1e6, r / 1024 }'
}

age-keygen -o "$work/age.key" 2>/dev/null
recipient=$(age-keygen -y "$work/age.key")
export DOSSIER_PASSPHRASE_FILE=$work/pass DOSSIER_VAULT=$work/vault
head -c 24 /dev/urandom | base64 > "$DOSSIER_PASSPHRASE_FILE"
$bin/app/dossier init >/dev/null 2>&1
patient=$($bin/app/dossier patient add --name Bench --birth-date 1970-01-01)
case_id=$($bin/app/dossier case open --patient "$patient" --goal bench)

echo "| what | wall s | MB/s | peak RSS MiB |"
echo "|---|---:|---:|---:|"
read -r w r < <(measure "$bin/bench/secretstream_loop" "$in" /dev/null); row "secretstream loop → /dev/null (CPU ceiling)" "$w" "$r"
read -r w r < <(measure age -e -r "$recipient" -o "$work/out.age" "$in"); row "age -e" "$w" "$r"
read -r w r < <(measure sh -c "age -e -r $recipient -o $work/out2.age $in && sync $work/out2.age"); row "age -e + sync" "$w" "$r"
rm -f "$work/out2.age"
read -r w r < <(measure $bin/app/dossier ingest --case "$case_id" "$in"); row "dossier ingest (incl. Argon2id unlock)" "$w" "$r"
doc=$($bin/app/dossier --json docs --case "$case_id" | awk -F'"' '/"id"/ { print $4; exit }')
# Objects are written around the page cache (O_DIRECT), age's output through it: warm both,
# so that both reads come from memory, as the input did.
cat "$work/out.age" "$DOSSIER_VAULT"/objects/*/* > /dev/null
read -r w r < <(measure age -d -i "$work/age.key" -o "$work/out.dec" "$work/out.age"); row "age -d" "$w" "$r"
rm -f "$work/out.dec"
read -r w r < <(measure $bin/app/dossier get "$doc" -o "$work/out.get"); row "dossier get (incl. unlock, fsync of output)" "$w" "$r"
cmp -s "$in" "$work/out.get" || { echo "dossier get returned different bytes" >&2; exit 1; }
rm -f "$work/out.get" "$work/out.age"
read -r w r < <(measure $bin/app/dossier patient list)
awk -v w="$w" -v r="$r" 'BEGIN { printf "| dossier unlock alone (Argon2id MODERATE) | %.2f | - | %.1f |\n", w, r / 1024 }'
echo
echo "Library level, peak RSS measured after the unlock (Argon2id reported apart):"
echo
echo '```'
$bin/bench/vault_bench "$DOSSIER_VAULT" "$case_id" "$in"
echo '```'

if [ -d /dev/shm ] && [ "$(df -m --output=avail /dev/shm | tail -1)" -gt $((size_mb * 2 + 64)) ]; then
  echo
  echo "The same on tmpfs (/dev/shm: fsync costs nothing), so the numbers are CPU throughput:"
  echo
  shm=$(mktemp -d /dev/shm/dossier-bench.XXXXXX)
  DOSSIER_VAULT=$shm/vault $bin/app/dossier init >/dev/null 2>&1
  p=$(DOSSIER_VAULT=$shm/vault $bin/app/dossier patient add --name Bench --birth-date 1970-01-01)
  c=$(DOSSIER_VAULT=$shm/vault $bin/app/dossier case open --patient "$p" --goal bench)
  echo '```'
  $bin/bench/secretstream_loop "$in" "$shm/loop.out"; rm -f "$shm/loop.out"
  $bin/bench/vault_bench "$shm/vault" "$c" "$in"
  echo '```'
  rm -rf "$shm"
fi
