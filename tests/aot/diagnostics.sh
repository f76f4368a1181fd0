#!/usr/bin/env bash
#===- tests/aot/diagnostics.sh - What `ptlc build` reports -----------------===#
#
# Usage: diagnostics.sh PTLC TESTS_AOT_DIR
#
#  - a script whose only function does file I/O: exit 1, an error saying
#    nothing can be compiled, and a note naming main and load_csv; no files
#  - a script whose main writes a file but has another function: exit 0, a
#    warning naming main and save_npy, the header declaring the other one
#    and listing main as not compiled, a static library (.a) with a symbol
#    table
#  - a script whose main trains with metrics: exit 0, a warning naming main
#    and train_progress (metrics, until and plot need the interpreter)
#  - an output that is neither .o nor .a, or an unknown --cpu: exit 1 with
#    an error
#
#===----------------------------------------------------------------------===#
set -u
PTLC=$1 DIR=$2
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
fails=0
expect() { # expect DESCRIPTION COMMAND...: the command must succeed
  local what=$1; shift
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fails=$((fails + 1)); fi
}

"$PTLC" build "$DIR/fileio_only.ptl" -o "$WORK/only.o" 2>"$WORK/only.err"; rc=$?
cat "$WORK/only.err"
expect "file-I/O-only build exits 1" test "$rc" = 1
expect "it says nothing can be compiled" grep -q "fileio_only.ptl: error: no function can be compiled ahead of time" "$WORK/only.err"
expect "it names main and load_npy" grep -q "function 'main' is not compiled ahead of time: op 'load_npy' (line 3) reads or writes files" "$WORK/only.err"
expect "no object is written" test ! -e "$WORK/only.o"
expect "no header is written" test ! -e "$WORK/only.h"

"$PTLC" build "$DIR/fileio_partial.ptl" -o "$WORK/libpartial.a" 2>"$WORK/partial.err"; rc=$?
cat "$WORK/partial.err"
expect "partial build exits 0" test "$rc" = 0
expect "it warns about main" grep -q "fileio_partial.ptl: warning: function 'main' is not compiled ahead of time: op 'save_npy' (line 5)" "$WORK/partial.err"
expect "the header declares partial_double" grep -q "^int partial_double(partial_ctx \*ctx," "$WORK/libpartial.h"
expect "the header does not declare partial_main" bash -c "! grep -q 'partial_main' '$WORK/libpartial.h'"
expect "the header lists main as not compiled" grep -q "^ \*   main: op 'save_npy' (line 5)" "$WORK/libpartial.h"
"$PTLC" build "$DIR/train_metrics.ptl" -o "$WORK/libtm.a" 2>"$WORK/tm.err"; rc=$?
cat "$WORK/tm.err"
expect "a train with metrics builds the rest" test "$rc" = 0
expect "it warns that main's train_progress needs the interpreter" grep -q "train_metrics.ptl: warning: function 'main' is not compiled ahead of time: op 'train_progress' (line 6) has metrics, 'until' conditions or a plot, which need the interpreter" "$WORK/tm.err"
expect "the archive's symbol table has partial_double" bash -c "nm -s '$WORK/libpartial.a' | grep -q 'partial_double in partial.o'"

"$PTLC" build "$DIR/fns.ptl" -o "$WORK/model.so" 2>"$WORK/ext.err"; rc=$?
cat "$WORK/ext.err"
expect "a .so output exits 1" test "$rc" = 1
expect "it says what build writes" grep -q "error: build writes an object file (.o) or a static library (.a)" "$WORK/ext.err"

"$PTLC" build "$DIR/fns.ptl" -o "$WORK/cpu.o" --cpu no-such-cpu 2>"$WORK/cpu.err"; rc=$?
cat "$WORK/cpu.err"
expect "an unknown --cpu exits 1" test "$rc" = 1
expect "it names the CPU" grep -q "error: unknown CPU 'no-such-cpu'" "$WORK/cpu.err"

[ "$fails" = 0 ] && echo PASS || { echo "FAIL: $fails checks"; exit 1; }
