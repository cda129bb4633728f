#!/usr/bin/env bash
# Uploads through `dossier serve` (issue 20), against `dossier ingest` of the same file, in the
# same run. Markdown to stdout.
#
#   bench/serve.sh [INSTANCES=2000] [ROUNDS=3] [CLIENTS=20] [CLIENT_INSTANCES=96]
#
# 1. A CT disc image of INSTANCES slices (2000 ≈ 1 GB, as bench/ingest_iso.sh) uploaded
#    through tus on loopback in 8 MB PATCHes (bench/serve_client.cc, as tus-js-client does
#    it), timed from the creation of the upload to the end of its ingest job — against
#    `dossier ingest` of the same image (which also pays for its Argon2id unlock: shown
#    apart). The two alternate, ROUNDS times each, each run after a `sync`, each into a new
#    vault (see bench/ingest_iso.sh for why vaults are deleted only at the end).
# 2. CLIENTS uploads at once, each of its own disc image of CLIENT_INSTANCES slices (96 ≈
#    50 MB), the server's resident memory sampled every 10 ms from after the sign-in (its
#    baseline: the vault unlocked, Argon2id's memory returned) to the end of the last job.
#
#   bench/serve.sh load [DOCS=10000] [INSTANCES=2000] [SECONDS=10]
#
# 3. The API under load (issue 21): `wrk` with 20 connections against
#    GET /api/cases/{id}/documents for a case of DOCS documents (text files of about 2 KB,
#    ingested first) — a page of 100 (`?limit=100&offset=DOCS/2`, what the portal asks for),
#    then the whole listing — each for SECONDS with the server idle, then from just before a
#    disc image of INSTANCES slices (2000 ≈ 1 GB) is uploaded through tus until its ingest into
#    another case has ended. Goal: p99 ≤ 50 ms and no errors under the upload.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=all
if [ "${1:-}" = load ]; then mode=load; shift; fi
if [ "$mode" = load ]; then
  docs=${1:-10000}
  n=${2:-2000}
  seconds=${3:-10}
  set --
fi
n=${n:-${1:-2000}}
rounds=${2:-3}
clients=${3:-20}
client_n=${4:-96}
./scripts/install-deps.sh >/dev/null
./scripts/build.sh >/dev/null
source bench/lib.sh
iso=$(ct_iso "$n")
size=$(stat -c %s "$iso")
work=bench/work/serve
rm -rf "$work"; mkdir -p "$work"
serve_pid=
trap '[ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null; rm -rf "$work"' EXIT
export DOSSIER_PASSPHRASE_FILE=$work/pass
head -c 24 /dev/urandom | base64 > "$DOSSIER_PASSPHRASE_FILE"
head -c 18 /dev/urandom | base64 > "$work/password"
dossier=./build/app/dossier
client=./build/bench/serve_client

# A new vault at $DOSSIER_VAULT with a patient, a case and a manager account; prints the
# case id.
new_vault() {
  $dossier init >/dev/null 2>&1
  local patient case_id
  patient=$($dossier patient add --name Bench --birth-date 1970-01-01)
  case_id=$($dossier case open --patient "$patient" --goal bench)
  $dossier user add bench@clinic --role manager --password-file "$work/password" >/dev/null
  echo "$case_id"
}


stop() { kill -TERM "$serve_pid"; wait "$serve_pid"; serve_pid=; }

# `wrk_row LABEL FILE`: a table row of wrk's --latency output.
wrk_row() {
  awk -v label="$1" '
    /Latency Distribution/ { dist = 1 }
    dist && $1 == "50%" { p50 = $2 } dist && $1 == "90%" { p90 = $2 } dist && $1 == "99%" { p99 = $2 }
    /requests in/ { reqs = $1 }
    /Non-2xx or 3xx responses/ { bad = $NF }
    /Socket errors/ { sock = $0; sub(/.*Socket errors: /, "", sock) }
    /Requests\/sec/ { rps = $2 }
    END { printf "| %s | %s | %s | %s | %s | %s | %s |\n", label, reqs, rps, p50, p90, p99,
          (bad == "" ? 0 : bad) (sock == "" ? "" : "; sockets: " sock) }' "$2"
}

if [ "$mode" = load ]; then
  export DOSSIER_VAULT=$work/load
  case_id=$(new_vault)
  patient=$($dossier case list --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["patient"])')
  mkdir -p "$work/docs"
  python3 - "$work/docs" "$docs" <<'PY'
import random, sys
out, n = sys.argv[1], int(sys.argv[2])
words = "пациент обследование заключение анализ кровь давление терапия операция контроль".split()
for i in range(n):
    rng = random.Random(i)
    with open(f"{out}/note-{i:05d}.txt", "w") as f:
        f.write(f"Выписка {i}\n" + " ".join(rng.choice(words) for _ in range(260)) + "\n")
PY
  read -r fill _ < <(measure $dossier ingest --case "$case_id" "$work/docs")
  serve
  base=http://127.0.0.1:$port
  csrf=$(curl -sf -c "$work/jar" -H 'Content-Type: application/json' \
    -d "{\"username\": \"bench@clinic\", \"password\": \"$(cat "$work/password")\"}" \
    "$base/api/session" | python3 -c 'import json,sys; print(json.load(sys.stdin)["csrf"])')
  cookie=$(awk '$6 == "dossier_session" { print $7 }' "$work/jar")
  url=$base/api/cases/$case_id/documents
  browser="Accept-Encoding: gzip, deflate, br"  # what a browser sends with every request
  page="$url?limit=100&offset=$((docs / 2))"
  first=$(curl -sf -b "$work/jar" -o /dev/null -w '%{time_total}' "$url")  # builds the entries
  bytes=$(curl -sf -b "$work/jar" "$url" | wc -c)
  page_bytes=$(curl -sf -b "$work/jar" "$page" | wc -c)
  # `busy LABEL URL FILE`: wrk from just before a disc is uploaded through tus until its
  # ingest job has ended (SIGINT: wrk stops and reports what it measured).
  busy() {
    local disc_case
    disc_case=$(curl -sf -b "$work/jar" -H "X-CSRF-Token: $csrf" -H 'Content-Type: application/json' \
      -d "{\"patient\": \"$patient\", \"goal\": \"disc\"}" "$base/api/cases" |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
    wrk -t2 -c20 -d600s --latency -H "Cookie: dossier_session=$cookie" -H "$browser" "$2" > "$3" &
    local wrk_pid=$!
    sleep 0.5
    read -r up job total < <($client one "$port" bench@clinic "$work/password" "$disc_case" "$iso" 8388608)
    kill -INT "$wrk_pid"
    wait "$wrk_pid" || true
    echo "| $1 | $up | $job | $total |" >> "$work/uploads.md"
  }
  : > "$work/uploads.md"
  wrk -t2 -c20 -d"${seconds}s" --latency -H "Cookie: dossier_session=$cookie" -H "$browser" "$page" > "$work/wrk-page-idle.txt"
  wrk -t2 -c20 -d"${seconds}s" --latency -H "Cookie: dossier_session=$cookie" -H "$browser" "$url" > "$work/wrk-idle.txt"
  busy "a page (limit=100)" "$page" "$work/wrk-page-busy.txt"
  busy "the whole listing" "$url" "$work/wrk-busy.txt"
  stop
  echo "Case of $docs documents (text, about 2 KB each; ingested in $fill s); its whole listing is $bytes bytes of JSON (the first request, which builds it: $first s), a page of 100 $page_bytes bytes. $(nproc) cores."
  echo
  echo "| wrk, 20 connections, GET /api/cases/{id}/documents | requests | per second | p50 | p90 | p99 | errors |"
  echo "|---|---:|---:|---:|---:|---:|---|"
  wrk_row "a page (?limit=100&offset=$((docs / 2))), server otherwise idle, ${seconds} s" "$work/wrk-page-idle.txt"
  wrk_row "a page, during a disc's upload and ingest" "$work/wrk-page-busy.txt"
  wrk_row "the whole listing, server otherwise idle, ${seconds} s" "$work/wrk-idle.txt"
  wrk_row "the whole listing, during a disc's upload and ingest" "$work/wrk-busy.txt"
  echo
  echo "The disc ($(awk -v b="$size" 'BEGIN{printf "%.0f", b/1e6}') MB, $n CT slices, 8 MB PATCHes) under each load:"
  echo
  echo "| load | upload s | job after it s | in all s |"
  echo "|---|---:|---:|---:|"
  cat "$work/uploads.md"
  exit 0
fi

cli_runs=() unlock_runs=() tus_runs=() upload_runs=() job_runs=()
for round in $(seq "$rounds"); do
  export DOSSIER_VAULT=$work/cli-$round
  case_id=$(new_vault)
  read -r w _ < <(measure $dossier case list)  # the fixed cost: Argon2id unlock
  unlock_runs+=("$w")
  sync
  read -r w _ < <(measure $dossier ingest --case "$case_id" "$iso")
  cli_runs+=("$w")
  summary=$(tail -1 "$work/out.txt")

  export DOSSIER_VAULT=$work/srv-$round
  case_id=$(new_vault)
  serve
  sync
  read -r up job total < <($client one "$port" bench@clinic "$work/password" "$case_id" "$iso" 8388608)
  tus_runs+=("$total"); upload_runs+=("$up"); job_runs+=("$job")
  stop
done

cli=$(median "${cli_runs[@]}")
unlock=$(median "${unlock_runs[@]}")
tus=$(median "${tus_runs[@]}")
echo "Disc: $n CT instances, $(awk -v b="$size" 'BEGIN{printf "%.0f", b/1e6}') MB ISO; $(nproc) cores. dossier ingest: $summary"
echo
echo "| what | runs s | median s |"
echo "|---|---|---|"
echo "| \`dossier ingest\` (with its unlock) | ${cli_runs[*]} | $cli |"
echo "| its Argon2id unlock alone (\`case list\`) | ${unlock_runs[*]} | $unlock |"
echo "| tus upload in 8 MB PATCHes + ingest job | ${tus_runs[*]} | $tus |"
echo "| — of which the upload | ${upload_runs[*]} | $(median "${upload_runs[@]}") |"
echo "| — of which the job after the last PATCH | ${job_runs[*]} | $(median "${job_runs[@]}") |"
echo
awk -v t="$tus" -v c="$cli" -v u="$unlock" 'BEGIN {
  printf "Through the server: %.2f× the wall time of `dossier ingest` (goal ≤ 1.3×); %.2f× its time without the unlock.\n", t / c, t / (c - u) }'
echo

for round in $(seq "$rounds"); do rm -rf "$work/cli-$round" "$work/srv-$round"; done
for i in $(seq 0 $((clients - 1))); do
  ./build/samples/make_ct_disc --out "$work/client-$i.iso" --instances "$client_n" >/dev/null
done
each=$(stat -c %s "$work/client-0.iso")
export DOSSIER_VAULT=$work/many
case_id=$(new_vault)
serve
read -r total base peak < <($client many "$port" bench@clinic "$work/password" "$case_id" \
  "$work/client-{}.iso" 8388608 "$clients" "$serve_pid")
stop
echo "$clients uploads at once of $(awk -v b="$each" 'BEGIN{printf "%.0f", b/1e6}') MB each (CT disc images), 8 MB PATCHes: all stored in ${total} s."
echo
echo "| server RSS | MiB |"
echo "|---|---|"
awk -v b="$base" -v p="$peak" 'BEGIN {
  printf "| after the unlock and sign-in | %.0f |\n| peak during the uploads and their jobs | %.0f |\n| peak beyond the unlock (goal ≤ 128) | %.0f |\n", b/1024, p/1024, (p-b)/1024 }'
