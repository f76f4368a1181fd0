#!/usr/bin/env bash
#===- tests/aot/compare.sh - An AOT build against the JIT, byte for byte --===#
#
# Usage: compare.sh PTLC CXX AOTRT_LIB RUNTIME_LIB FILE.ptl [--arg k=v]...
#
# In a fresh temporary directory: `ptlc build FILE -o model.o` (with the
# args), checks that the object's undefined symbols are only the ptlrt_*
# runtime and libm/libc, compiles tests/aot/main_driver.c against the
# generated header as C99 and as C++ (-Wall -Werror), links it with the AOT
# runtime (no LLVM), runs it, and requires its stdout and exit status to
# equal `ptlc run --jit FILE` with the same args -- and the JIT to have
# compiled main (no interpreter fallback). Output must not be empty. After a
# run-time fault (nonzero exit), the driver's `FILE:LINE:COL: error: MESSAGE`
# line must equal the JIT's first error line.
#
#===----------------------------------------------------------------------===#
set -u
PTLC=$1 CXX=$2 AOTRT=$3 RUNTIME=$4 FILE=$5
shift 5
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$PTLC" build "$FILE" -o "$WORK/model.o" "$@" 2>"$WORK/build.err" || { cat "$WORK/build.err" >&2; fail "ptlc build failed"; }
[ -s "$WORK/model.h" ] || fail "no header model.h"

# Undefined symbols: the runtime, libm and libc only.
ALLOWED='^(ptlrt_[a-z_0-9]+|expf?|logf?|log1pf?|expm1f?|tanhf?|sinf?|cosf?|powf?|fmodf?|sqrtf?|fabsf?|floorf?|ceilf?|roundf?|roundevenf?|memcpy|memset|memmove)$'
nm -u "$WORK/model.o" | awk '{print $NF}' > "$WORK/undefined.txt"
bad=$(grep -Ev "$ALLOWED" "$WORK/undefined.txt")
[ -z "$bad" ] || fail "unexpected undefined symbols in the object: $bad"
grep -q '^ptlrt_aot_create$' "$WORK/undefined.txt" || fail "the object does not call ptlrt_aot_create"
# Defined global symbols: the model's C API only.
nm -g --defined-only "$WORK/model.o" | awk '{print $NF}' | grep -v '^model_' > "$WORK/extra.txt"
[ ! -s "$WORK/extra.txt" ] || fail "global symbols outside the C API: $(cat "$WORK/extra.txt")"

FLAGS=(-DPTL_AOT_HEADER='"model.h"' -DPTL_AOT_NAME=model -I"$WORK" -Wall -Wextra -Werror)
"$CXX" -x c -std=c99 -pedantic "${FLAGS[@]}" -c "$HERE/main_driver.c" -o "$WORK/driver.o" || fail "the header is not valid C99"
"$CXX" -x c++ -std=c++17 "${FLAGS[@]}" -fsyntax-only "$HERE/main_driver.c" || fail "the header is not valid C++"
# PTL_TEST_LDFLAGS: what a sanitizer build's runtime needs at link time.
"$CXX" "$WORK/driver.o" "$WORK/model.o" "$AOTRT" "$RUNTIME" -lm ${PTL_TEST_LDFLAGS:-} -o "$WORK/driver" ||
  fail "link failed"

(cd "$WORK" && ./driver >"$WORK/aot.out" 2>"$WORK/aot.err"); aot_rc=$?
"$PTLC" run --jit "$FILE" "$@" >"$WORK/jit.out" 2>"$WORK/jit.err"; jit_rc=$?
if grep -q "runs in the interpreter\|JIT is unavailable" "$WORK/jit.err"; then
  cat "$WORK/jit.err" >&2
  fail "the JIT did not compile main"
fi
[ -s "$WORK/jit.out" ] || fail "no output to compare"
if ! cmp -s "$WORK/aot.out" "$WORK/jit.out"; then
  diff "$WORK/jit.out" "$WORK/aot.out" | head -20 >&2
  fail "AOT stdout differs from the JIT's (< jit, > aot)"
fi
[ "$aot_rc" = "$jit_rc" ] || { cat "$WORK/aot.err" >&2; fail "exit status $aot_rc (AOT) vs $jit_rc (JIT)"; }
if [ "$jit_rc" != 0 ]; then
  # A run-time fault: the same `FILE:LINE:COL: error: MESSAGE` line.
  jit_error=$(grep -m1 ': error: ' "$WORK/jit.err")
  aot_error=$(grep -m1 ': error: ' "$WORK/aot.err")
  [ -n "$jit_error" ] && [ "$jit_error" = "$aot_error" ] ||
    fail "fault reported differently: JIT '$jit_error', AOT '$aot_error'"
  echo "same fault: $aot_error"
fi
echo "PASS: $(basename "$FILE") $* ($(wc -l <"$WORK/aot.out") lines identical, $(wc -c <"$WORK/model.o") byte object)"
