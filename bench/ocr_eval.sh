#!/usr/bin/env bash
# The OCR check's quality on labelled pages: confusion matrix of verdicts, verdicts per kind of
# page, rotations, and the character error rate of the text. Two sets:
#  - the synthetic set (samples/make_ocr_set.py): the tuning seed and held-out seeds;
#  - the real-material set (samples/make_real_set.py): pages built from photographs, scanned
#    pages, old and typewriter faces that Debian packages ship, in a tuning split and a
#    held-out split no threshold may be tuned on.
# Markdown to stdout, per-page evidence in bench/work/ocr-eval-*.log.
#
#   bench/ocr_eval.sh                  the synthetic seeds 20261122 (tuning), 7 99 31337, then
#                                      the real-material set's two splits
#   bench/ocr_eval.sh real             the real-material set only (both splits)
#   bench/ocr_eval.sh real-tuning      one split (or real-heldout)
#   bench/ocr_eval.sh real-heldout-2   the held-out split drawn again with another seed (any
#                                      N ≥ 2): pages no one has seen, for a rule set after the
#                                      first draw's results were known
#   bench/ocr_eval.sh SEED...          these synthetic seeds only
# Arguments mix: `bench/ocr_eval.sh 7 real-heldout`. A set is generated once into bench/work/
# and again only when its generator changes.
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=() splits=()
for a in "$@"; do
  case $a in
    real) splits+=(tuning heldout) ;;
    real-tuning | real-heldout | real-heldout-[2-9] | real-heldout-[1-9][0-9]) splits+=("${a#real-}") ;;
    *[!0-9]* | '')
      echo "ocr_eval.sh: '$a' is not a seed, 'real', 'real-tuning', 'real-heldout' or" \
        "'real-heldout-N' (N ≥ 2)" >&2
      exit 1 ;;
    *) seeds+=("$a") ;;
  esac
done
[ $# -gt 0 ] || { seeds=(20261122 7 99 31337); splits=(tuning heldout); }
./scripts/install-deps.sh >/dev/null
./scripts/build.sh >/dev/null
mkdir -p bench/work
cores=$(nproc)  # before OMP_THREAD_LIMIT, which GNU nproc honours
export OMP_THREAD_LIMIT=1  # Debian's Tesseract is built with OpenMP: 2–3× slower without

# The real-material splits that are missing or older than their generator, made side by side.
stale() {
  [ -f "$1/labels.tsv" ] || return 0
  for f in samples/{make_real_set,real_material,real_pages,page_effects,make_ocr_set}.py; do
    [ "$f" -nt "$1/labels.tsv" ] && return 0
  done
  return 1
}
pids=()
for split in "${splits[@]}"; do
  set_dir=bench/work/real-$split
  if stale "$set_dir"; then
    rm -rf "$set_dir"
    case $split in
      heldout-*) draw=(--draw "${split#heldout-}") ;;
      *) draw=() ;;
    esac
    /usr/bin/python3 samples/make_real_set.py "$set_dir" --split "${split%%-*}" "${draw[@]}" &
    pids+=($!)
  fi
done
for pid in "${pids[@]}"; do wait "$pid"; done

for seed in "${seeds[@]}"; do
  set_dir=bench/work/ocr-set-$seed
  [ -f "$set_dir/labels.tsv" ] || /usr/bin/python3 samples/make_ocr_set.py "$set_dir" --seed "$seed"
  if [ "$seed" = 20261122 ]; then echo "### Tuning set (seed $seed)"; else echo "### Held-out set (seed $seed)"; fi
  echo
  ./build/bench/ocr_eval "$set_dir" "$cores" 2> "bench/work/ocr-eval-$seed.log"
  echo
done
for split in "${splits[@]}"; do
  if [ "$split" = tuning ]; then
    echo "### Real-material set, tuning split"
  elif [ "$split" != heldout ]; then
    echo "### Real-material set, held-out split, draw ${split#heldout-} (pages first seen here)"
  else
    echo "### Real-material set, held-out split (no threshold tuned on it)"
  fi
  echo
  ./build/bench/ocr_eval "bench/work/real-$split" "$cores" 2> "bench/work/ocr-eval-real-$split.log"
  echo
done
