#!/usr/bin/env bash
#===- tests/repl/train_loop.sh - The training loop's features in the REPL --===#
#
# Usage: train_loop.sh PTLC
#
# Pipes a session into `PTLC` whose one `train` uses what issue 16 added:
# `step` in the loss and the optimiser's arguments, `minibatch`, `fold_in`,
# AdamW with a `cosine_lr` schedule, `clip_norm`, a metric column and
# `until`. The REPL must give the same parameters (and whole-model `norm`) as
# `ptlc run` and `ptlc run --interp` of the same statements as a script, stop
# at the same step, and a later entry reads the log back (in the REPL a file
# an earlier entry wrote is simply read: one row, step 10).
#
#===----------------------------------------------------------------------===#
set -u
ptlc=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/ptl-repl-train.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
cat > common.ptl <<'PTL'
model Lin {
  param w: f32 = 0.0
  param b: f32 = 0.0
}
fn batch_loss(m: Lin, x: f32[N], y: f32[N], s: i32) -> f32 {
  let (xb, yb) = minibatch((x, y), 4, s, seed = 3)
  mean((m.w * xb + m.b - yb) ^ 2 + 0.0 * randn[4](fold_in(5, s)))
}
let x = f32(arange(12)) / 12.0
let y = 2.0 * x + 1.0
var m = Lin()
train m minimizing batch_loss(m, x, y, step) with adamw(lr = cosine_lr(step, 60, 0.2, warmup = 5), clip_norm = 1.0) for 60 steps log every 10 to "run.csv" with full = mean((m.w * x + m.b - y) ^ 2) until full < 0.05
PTL
{ cat common.ptl; printf 'm.w\nm.b\nnorm(m)\nlet log = load_csv("run.csv")\nlog.step\n'; } > session.txt
{ cat common.ptl; printf 'print(m.w)\nprint(m.b)\nprint(norm(m))\n'; } > script.ptl
ok=1
"$ptlc" < session.txt > repl.out 2> repl.err || { echo "FAIL: the REPL exited with $?"; cat repl.err; ok=0; }
cp run.csv repl.csv
# The REPL prints `f32 = VALUE`; a script's print prints VALUE.
sed -n 's/^f32 = //p' repl.out | head -3 > repl.values
for engine in "" --interp; do
  "$ptlc" run $engine script.ptl > script.out 2> script.err || { echo "FAIL: ptlc run $engine exited with $?"; cat script.err; ok=0; }
  if ! diff -u script.out repl.values; then echo "FAIL: the REPL's parameters differ from ptlc run $engine"; ok=0; fi
  grep -q "train: stopped at step 10/60: full < 0.05" script.err || { echo "FAIL: ptlc run $engine did not stop at step 10:"; cat script.err; ok=0; }
  if ! cmp -s run.csv repl.csv; then echo "FAIL: the log of ptlc run $engine differs from the REPL's"; ok=0; fi
done
grep -q "train: stopped at step 10/60: full < 0.05" repl.err || { echo "FAIL: the REPL did not stop at step 10:"; cat repl.err; ok=0; }
grep -qxF "f32[1] = [10.]" repl.out || { echo "FAIL: the log read back in the REPL is not one row at step 10:"; cat repl.out; ok=0; }
# The run must have trained: the loss fell from 1.0 (w = b = 0) below 0.05.
[ "$(head -1 repl.values | cut -c1-2)" != "0." ] || { echo "FAIL: w did not move"; ok=0; }
[ $ok = 1 ] && echo "train with step, minibatch, clipping, metrics and until in the REPL: ok"
[ $ok = 1 ]
