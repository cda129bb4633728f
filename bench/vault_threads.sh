#!/usr/bin/env bash
# One vault, many threads (issue 18), at library level: LISTERS threads listing a case of
# DOCUMENTS documents while a CT disc is ingested (list latency; the disc's ingest time alone
# and with the listers, alternately, ROUNDS times each), then audited reads from as many
# threads with group commit and with one commit per event. Markdown to stdout.
#
#   bench/vault_threads.sh [INSTANCES=2000] [LISTERS=20] [DOCUMENTS=10000] [ROUNDS=3] [PAUSE_MS=0]
#                          [GAP_MS=the vault's default]
#
# INSTANCES: the disc's CT slices (2000 ≈ 1 GB, as bench/ingest_iso.sh). PAUSE_MS: each lister
# waits this long between two listings (0: back to back, the most load two cores can get).
# GAP_MS: VaultOptions::audit_batch_gap_ms, how long a read's event may wait for the ingest
# batch beside it to have run before it commits that batch.
# Needs about (2 × ROUNDS + 1) × the disc's size free under bench/work.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-2000}
listers=${2:-20}
documents=${3:-10000}
rounds=${4:-3}
pause_ms=${5:-0}
gap_ms=${6:--1}
./scripts/install-deps.sh >/dev/null
./scripts/build.sh >/dev/null
source bench/lib.sh
iso=$(ct_iso "$n")

run=bench/work/vault-threads
rm -rf "$run"; mkdir -p "$run"
trap 'rm -rf "$run"' EXIT
export DOSSIER_PASSPHRASE_FILE=$run/pass
head -c 24 /dev/urandom | base64 > "$DOSSIER_PASSPHRASE_FILE"

echo "Disc: $n CT instances, $(stat -c %s "$iso" | awk '{printf "%.0f", $1/1e6}') MB ISO; $(nproc) cores."
echo
./build/bench/vault_threads_bench "$run" "$PWD/build/app/dossier" "$iso" \
  "$listers" "$documents" "$rounds" "$pause_ms" 5 "$gap_ms"
