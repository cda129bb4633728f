#!/usr/bin/env bash
# The OCR check's quality on labelled pages: confusion matrix of verdicts, rotations, and the
# character error rate of the text, on the tuning set and on held-out sets (other seeds of
# the same generator). Markdown to stdout, per-page evidence in bench/work/ocr-eval-*.log.
#
#   bench/ocr_eval.sh [SEED...]      (default: 20261122, the tuning set, and 7 99 31337)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh >/dev/null
./scripts/build.sh >/dev/null
seeds=("$@")
[ ${#seeds[@]} -gt 0 ] || seeds=(20261122 7 99 31337)
mkdir -p bench/work
cores=$(nproc)  # before OMP_THREAD_LIMIT, which GNU nproc honours
export OMP_THREAD_LIMIT=1  # Debian's Tesseract is built with OpenMP: 2–3× slower without
for seed in "${seeds[@]}"; do
  set_dir=bench/work/ocr-set-$seed
  [ -f "$set_dir/labels.tsv" ] || /usr/bin/python3 samples/make_ocr_set.py "$set_dir" --seed "$seed"
  if [ "$seed" = 20261122 ]; then echo "### Tuning set (seed $seed)"; else echo "### Held-out set (seed $seed)"; fi
  echo
  ./build/bench/ocr_eval "$set_dir" "$cores" 2> "bench/work/ocr-eval-$seed.log"
  echo
done
