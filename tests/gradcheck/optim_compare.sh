#!/usr/bin/env bash
#===- tests/gradcheck/optim_compare.sh - std/optim against torch.optim -------===#
#
# Usage: optim_compare.sh PTLC SCRIPT.ptl
#
# SCRIPT is tests/gradcheck/optim_steps.ptl (the optimisers) or
# optim_schedules.ptl (the learning-rate schedules and a scheduled loop) or
# optim_clip.ptl (gradient clipping, in std/optim and in `train`).
# Runs it under `PTLC run` (the JIT) and `PTLC run --interp`, each in a fresh
# temporary directory, and checks each output with optim_reference.py, which
# replays the run with torch.optim / torch.optim.lr_scheduler in float64 (see
# its docstring for the tolerances: 1e-12 relative for the optimiser steps).
#
# Needs Debian's /usr/bin/python3 with python3-torch and python3-numpy
# (scripts/setup.sh --tests). If either is missing the test prints SKIP and exits 0.
#
#===----------------------------------------------------------------------===#
set -u

if [ $# -ne 2 ]; then
  echo "usage: $0 PTLC SCRIPT.ptl" >&2
  exit 2
fi
ptlc=$1
file=$2
case $ptlc in */*) ptlc=$(cd "$(dirname "$ptlc")" && pwd)/$(basename "$ptlc") ;; esac
base=$(basename "$file")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
python=/usr/bin/python3
case $base in
  optim_steps.ptl) mode=steps ;;
  optim_schedules.ptl) mode=schedules ;;
  optim_clip.ptl) mode=clip ;;
  *) echo "$0: unknown script $base" >&2; exit 2 ;;
esac

export OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1

if [ ! -x "$python" ]; then
  echo "SKIP: $python not found (install Debian's python3 and python3-torch; see scripts/setup.sh --tests)"
  exit 0
fi
if ! "$python" -c 'import torch, numpy' > /dev/null 2>&1; then
  echo "SKIP: PyTorch or NumPy is not importable by $python (install python3-torch; see scripts/setup.sh --tests)"
  exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/ptl-optim.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp "$file" "$work/$base"

for engine in --jit --interp; do
  if ! (cd "$work" && "$ptlc" run $engine "$base" > ".out$engine" 2> ".err$engine" < /dev/null); then
    cat "$work/.err$engine" >&2
    echo "FAIL: $base: ptlc run $engine failed" >&2
    exit 1
  fi
  if ! "$python" "$here/optim_reference.py" "$mode" "$work/.out$engine" > "$work/.diff" 2>&1; then
    cat "$work/.diff" >&2
    echo "FAIL: $base ($engine) differs from the PyTorch reference" >&2
    exit 1
  fi
  echo "PASS: $base ($engine): $(tail -n 1 "$work/.diff")"
done
exit 0
