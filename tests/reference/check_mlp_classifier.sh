#!/usr/bin/env bash
#===- tests/reference/check_mlp_classifier.sh - The MLP classifier example's result -===#
#
# Usage: check_mlp_classifier.sh PTLC EXAMPLE.ptl
#
# Runs examples/mlp_classifier.ptl under `ptlc run --jit` and `ptlc run --interp`,
# each in a fresh temporary directory holding a copy of the example (files it
# writes never land in the tree), and requires of each run:
#   - exit status 0;
#   - "validation accuracy before training A0" with A0 < 0.5 and the final
#     "validation accuracy A" with A >= 0.9 (three classes: chance is 1/3, and
#     a linear model cannot separate the spirals; so the training worked);
#   - stderr saying the `until` clause stopped it early
#     ("train: stopped at step S/3000: acc >= 0.99" with S < 3000);
#   - mlp_classifier.csv with the header step,loss,val,acc, at least 2 rows,
#     a step column counting 50, 100, ... (every 50 steps) up to S;
#   - mlp_classifier.svg holding 3 polylines (loss, val, acc), each with one
#     point per logged row, and the "step" axis label;
# and the two engines' stdout and CSV must be identical.
#
#===----------------------------------------------------------------------===#
set -u

if [ $# -ne 2 ]; then
  echo "usage: $0 PTLC EXAMPLE.ptl" >&2
  exit 2
fi
ptlc=$1
file=$2
base=$(basename "$file")
fail() { echo "FAIL: $*" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/ptl-mlp-classifier.XXXXXX")
trap 'rm -rf "$work"' EXIT

for engine in jit interp; do
  dir=$work/$engine
  mkdir -p "$dir" && cp "$file" "$dir/"
  (cd "$dir" && "$ptlc" run --$engine "$base" >out.txt 2>err.txt)
  status=$?
  [ $status -eq 0 ] || { cat "$dir/err.txt" >&2; fail "$engine: exit status $status"; }
  before=$(sed -n 's/^validation accuracy before training //p' "$dir/out.txt")
  after=$(sed -n 's/^validation accuracy //p' "$dir/out.txt" | grep -v before)
  [ -n "$before" ] && [ -n "$after" ] || { cat "$dir/out.txt" >&2; fail "$engine: no accuracy lines"; }
  awk -v a="$before" 'BEGIN { exit !(a < 0.5) }' || fail "$engine: accuracy before training $before >= 0.5"
  awk -v a="$after" 'BEGIN { exit !(a >= 0.9) }' || fail "$engine: final validation accuracy $after < 0.9"
  stop=$(sed -n 's|^train: stopped at step \([0-9]*\)/3000: acc >= 0.99$|\1|p' "$dir/err.txt")
  [ -n "$stop" ] && [ "$stop" -lt 3000 ] || { cat "$dir/err.txt" >&2; fail "$engine: no early stop"; }
  csv=$dir/mlp_classifier.csv svg=$dir/mlp_classifier.svg
  [ -f "$csv" ] || fail "$engine: no CSV"
  [ "$(head -1 "$csv")" = "step,loss,val,acc" ] || fail "$engine: CSV header '$(head -1 "$csv")'"
  rows=$(($(wc -l <"$csv") - 1))
  [ $rows -ge 2 ] || fail "$engine: $rows CSV rows"
  want=$(seq 50 50 "$stop" | tr '\n' ' ')
  got=$(tail -n +2 "$csv" | cut -d, -f1 | tr '\n' ' ')
  [ "$got" = "$want" ] || fail "$engine: CSV steps '$got', expected '$want'"
  [ -f "$svg" ] || fail "$engine: no SVG"
  lines=$(grep -o '<polyline[^>]*points="[^"]*"' "$svg" | sed 's/.*points="//; s/"$//')
  [ "$(printf '%s\n' "$lines" | grep -c .)" -eq 3 ] || fail "$engine: SVG has not 3 polylines"
  while read -r pts; do
    n=$(printf '%s\n' $pts | grep -c ,)
    [ "$n" -eq $rows ] || fail "$engine: a polyline with $n points, expected $rows"
  done <<<"$lines"
  grep -q '>step</text>' "$svg" || fail "$engine: SVG without the step axis label"
done
cmp -s "$work/jit/out.txt" "$work/interp/out.txt" || fail "stdout differs between --jit and --interp"
cmp -s "$work/jit/mlp_classifier.csv" "$work/interp/mlp_classifier.csv" || fail "CSV differs between --jit and --interp"
echo "PASS: validation accuracy $after (before training $before), stopped at step $stop"
