#!/usr/bin/env bash
# Two builds of `dossier` ingesting the same CT disc image, alternately, ROUNDS times each —
# e.g. the commit before a change against the change (issue 11: confined workers must cost
# nothing measurable). Markdown to stdout.
#
#   bench/ingest_ab.sh OLD_DOSSIER NEW_DOSSIER [INSTANCES] [ROUNDS]   (default 2000, 5 rounds)
#
# Each run ingests into a fresh vault after a `sync`; vaults are deleted only at the end
# (see bench/ingest_iso.sh for why). Reported: every run, the medians, their ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
old=$(realpath "$1") new=$(realpath "$2")
n=${3:-2000}
rounds=${4:-5}
./scripts/build.sh >/dev/null
work=bench/work
mkdir -p "$work"
iso=$work/ct-$n.iso
[ -f "$iso" ] || ./build/samples/make_ct_disc --out "$iso" --instances "$n" >&2
cat "$iso" > /dev/null  # warm the page cache for both contenders
source bench/lib.sh
export DOSSIER_PASSPHRASE_FILE=$work/pass
head -c 24 /dev/urandom | base64 > "$DOSSIER_PASSPHRASE_FILE"
rm -rf "$work"/ab-vault-*
old_runs=() new_runs=()
run() {  # run BINARY NAME → wall seconds of the ingest alone
  export DOSSIER_VAULT=$work/ab-vault-$2
  "$1" init >/dev/null 2>&1
  local patient case_id
  patient=$("$1" patient add --name Bench --birth-date 1970-01-01)
  case_id=$("$1" case open --patient "$patient" --goal bench)
  sync
  measure "$1" ingest --case "$case_id" "$iso" | cut -d' ' -f1
}
for round in $(seq "$rounds"); do
  old_runs+=("$(run "$old" "old-$round")")
  new_runs+=("$(run "$new" "new-$round")")
done
rm -rf "$work"/ab-vault-*
o=$(median "${old_runs[@]}") w=$(median "${new_runs[@]}")
echo "| build | runs s | median s |"
echo "|---|---|---:|"
echo "| old ($old) | ${old_runs[*]} | $o |"
echo "| new ($new) | ${new_runs[*]} | $w |"
awk -v o="$o" -v w="$w" 'BEGIN { printf "\nnew / old, medians: %.3f\n", w / o }'
