#!/usr/bin/env bash
#===- tests/aot/diverge.sh - A diverging train in AOT code -----------------===#
#
# Usage: diverge.sh PTLC CXX AOTRT RUNTIME FILE
#
# Builds FILE (tests/aot/train_diverge.ptl) with `ptlc build`, links it with
# the generic driver and the AOT runtime, and requires exit status 1, the
# output before `train`, and `FILE:10:1: error: training diverged at step 3:
# the gradient of 'b' is not finite` (AOT code keeps no parameters, so the
# message does not say it does).
#
#===----------------------------------------------------------------------===#
set -u
PTLC=$1 CXX=$2 AOTRT=$3 RUNTIME=$4 FILE=$5
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
"$PTLC" build "$FILE" -o "$WORK/model.o" 2>"$WORK/build.err" || { cat "$WORK/build.err" >&2; fail "ptlc build failed"; }
FLAGS=(-DPTL_AOT_HEADER='"model.h"' -DPTL_AOT_NAME=model -I"$WORK")
"$CXX" -x c -std=c99 "${FLAGS[@]}" -c "$HERE/main_driver.c" -o "$WORK/driver.o" || fail "driver does not compile"
"$CXX" "$WORK/driver.o" "$WORK/model.o" "$AOTRT" "$RUNTIME" -lm ${PTL_TEST_LDFLAGS:-} -o "$WORK/driver" || fail "link failed"
(cd "$WORK" && ./driver >"$WORK/aot.out" 2>"$WORK/aot.err"); rc=$?
[ "$rc" = 1 ] || { cat "$WORK/aot.err" >&2; fail "exit status $rc, expected 1"; }
[ "$(cat "$WORK/aot.out")" = "1.0" ] || fail "stdout '$(cat "$WORK/aot.out")', expected 1.0"
grep -q ":10:1: error: training diverged at step 3: the gradient of 'b' is not finite (NaN or infinity) (to train" "$WORK/aot.err" ||
  { cat "$WORK/aot.err" >&2; fail "no divergence error at 10:1"; }
echo "AOT divergence: ok"
