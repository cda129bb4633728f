# Shared by the bench scripts: `measure CMD...` prints "wall_seconds peak_rss_kib" from
# /usr/bin/time -v, leaving the command's stdout in $work/out.txt; needs $work set.
measure() {
  /usr/bin/time -v "$@" 2> "$work/time.txt" > "$work/out.txt" || { cat "$work/time.txt" >&2; exit 1; }
  awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0;
                 for (i = 1; i <= n; i++) s = s * 60 + p[i]; wall = s }
              /Maximum resident set size/ { rss = $2 }
              END { printf "%.2f %d\n", wall, rss }' "$work/time.txt"
}

# The median of the numbers given as arguments.
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# `ct_iso N` prints bench/work/ct-N.iso, a CT disc image of N instances, made on first use and
# kept for the next run (the ingest benchmarks share it); its bytes are read once, so that
# they come from the page cache.
ct_iso() {
  local iso=bench/work/ct-$1.iso
  mkdir -p bench/work
  [ -f "$iso" ] || ./build/samples/make_ct_disc --out "$iso" --instances "$1" >&2
  cat "$iso" > /dev/null
  echo "$iso"
}

# Starts `dossier serve` (./build/app/dossier) on the vault in $DOSSIER_VAULT, its log in
# $work/serve.log; sets $serve_pid and $port once it listens.
serve() {
  ./build/app/dossier serve --listen 127.0.0.1:0 2> "$work/serve.log" &
  serve_pid=$!
  port=
  for _ in $(seq 600); do
    port=$(sed -n 's|.*at http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' "$work/serve.log")
    [ -n "$port" ] && return
    sleep 0.05
  done
  cat "$work/serve.log" >&2; exit 1
}

