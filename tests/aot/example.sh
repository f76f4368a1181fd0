#!/usr/bin/env bash
#===- tests/aot/example.sh - examples/aot against the JIT -------------------===#
#
# Usage: example.sh PTLC EXAMPLE_BIN FILE.ptl
#
# The example host (examples/aot/host.c, linked with the AOT object of FILE)
# must exit 0 (its own checks of predict and loss against hand-computed
# values passed), print 5 `host:` lines, and print before them exactly
# what `ptlc run --jit FILE` prints.
#
#===----------------------------------------------------------------------===#
set -u
PTLC=$1 EXAMPLE=$2 FILE=$3
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
"$EXAMPLE" >"$WORK/all.out" || { cat "$WORK/all.out"; echo "FAIL: the example exited nonzero"; exit 1; }
"$PTLC" run --jit "$FILE" >"$WORK/jit.out" 2>"$WORK/jit.err" || { cat "$WORK/jit.err"; echo "FAIL: ptlc run --jit"; exit 1; }
grep -v '^host: ' "$WORK/all.out" >"$WORK/aot.out"
cat "$WORK/all.out"
[ "$(grep -c '^host: ' "$WORK/all.out")" = 5 ] || { echo "FAIL: expected 5 host lines"; exit 1; }
[ -s "$WORK/jit.out" ] || { echo "FAIL: no JIT output"; exit 1; }
cmp -s "$WORK/aot.out" "$WORK/jit.out" || { diff "$WORK/jit.out" "$WORK/aot.out"; echo "FAIL: differs from the JIT"; exit 1; }
echo "PASS"
