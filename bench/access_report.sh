#!/usr/bin/env bash
# A patient's access report among a million audit events (issue 21), through `dossier serve`.
# Markdown to stdout.
#
#   bench/access_report.sh [EVENTS=1000000] [PATIENTS=1000] [ROUNDS=5]
#
# bench/audit_events fills a new vault's audit log with EVENTS events about PATIENTS patients
# (`access.refused`, as the server records them, from 4 threads, group-committed), so that one
# patient has about EVENTS/PATIENTS of them among all the others. Then `dossier serve` answers
# a compliance officer, each request timed by curl from the request to its last byte: the
# first patient's report as JSON and as CSV, a page of 100 of their events from GET /api/audit,
# and a page of all events deep in the log (after event 90%). The goal: the report ≤ 1 s.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh >/dev/null
source bench/lib.sh
events=${1:-1000000}
patients=${2:-1000}
rounds=${3:-5}
work=bench/work/access
rm -rf "$work"; mkdir -p "$work"
serve_pid=
trap '[ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null; rm -rf "$work"' EXIT
export DOSSIER_PASSPHRASE_FILE=$work/pass DOSSIER_VAULT=$work/v
head -c 24 /dev/urandom | base64 > "$DOSSIER_PASSPHRASE_FILE"
head -c 18 /dev/urandom | base64 > "$work/password"
dossier=./build/app/dossier
$dossier init >/dev/null 2>&1
fill_start=$(date +%s.%N)
patient=$(./build/bench/audit_events "$DOSSIER_VAULT" "$patients" "$events" 4)
fill_s=$(awk -v a="$fill_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')
$dossier user add audit@clinic --role compliance --password-file "$work/password" >/dev/null
serve
body=$(python3 -c 'import json,sys; print(json.dumps({"username": "audit@clinic", "password": open(sys.argv[1]).read().strip()}))' "$work/password")
curl -sf -c "$work/jar" -H 'Content-Type: application/json' -d "$body" \
  "http://127.0.0.1:$port/api/session" > /dev/null
base="http://127.0.0.1:$port"
deep=$((events * 9 / 10))
row() {  # row LABEL PATH
  local times=() size=0
  for _ in $(seq "$rounds"); do
    times+=("$(curl -sf -b "$work/jar" -o "$work/out" -w '%{time_total}' "$base$2")")
    size=$(stat -c %s "$work/out")
  done
  echo "| $1 | ${times[*]} | $(median "${times[@]}") | $size |"
}
mine=$(curl -sf -b "$work/jar" "$base/api/patients/$patient/access-report" |
  python3 -c 'import json,sys; print(len(json.load(sys.stdin)["events"]))')
echo "Audit log: $events events about $patients patients, written in $fill_s s; the patient's: $mine. $(nproc) cores."
echo
echo "| request | runs s | median s | bytes |"
echo "|---|---|---:|---:|"
row "access report, JSON" "/api/patients/$patient/access-report"
row "access report, CSV" "/api/patients/$patient/access-report?format=csv"
row "GET /api/audit?patient=…&limit=100" "/api/audit?patient=$patient&limit=100"
row "GET /api/audit?after=$deep&limit=100" "/api/audit?after=$deep&limit=100"
