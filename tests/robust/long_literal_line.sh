#!/usr/bin/env bash
#===- tests/robust/long_literal_line.sh - A 12 MB line of numbers ---------===#
#
# Usage: long_literal_line.sh PTLC
#
# Writes a script whose one line is a list literal of 2,000,000 numbers
# (about 12 MB) and requires `PTLC run --interp` (which checks it first) to
# print its exact sum and two elements, within the ctest TIMEOUT. Locating
# every token used to scan to the end of the line (quadratic: minutes), and
# every element used to build a chain of parse-tree contexts and an IR
# constant (4 GB); now the whole list is one token and one constant.
#
#===----------------------------------------------------------------------===#
set -eu
ptlc=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/ptl-longline.XXXXXX")
trap 'rm -rf "$work"' EXIT
n=2000000
# Elements cycle through 0.0 .. 99.0 (and -1 every 1000th), so the sum is exact in f64.
awk -v n=$n 'BEGIN {
  printf "let x = f64(["
  for (i = 0; i < n; i++) {
    if (i) printf ", "
    if (i % 1000 == 999) printf "-1"; else printf "%d.0", i % 100
  }
  printf "])\nprint(sum(x))\nprint(x[1999998], x[999])\n"
}' > "$work/long.ptl"
out=$("$ptlc" run --interp "$work/long.ptl")
# sum: 2000 blocks of 1000; each block holds 0..99 ten times minus its last
# element (99) replaced by -1: 10 * 4950 - 99 - 1 = 49400 per block.
want=$'98800000.0\n98.0 -1.0'
if [ "$out" != "$want" ]; then
  echo "FAIL: printed '$out', expected '$want'" >&2
  exit 1
fi
echo "PASS: a 2,000,000-element literal line checks and runs"
