#!/usr/bin/env bash
#===- tests/repl/diverge.sh - A diverged train in the REPL -----------------===#
#
# Usage: diverge.sh PTLC
#
# Pipes a session into `PTLC` whose `train` diverges at step 3 (the gradient
# of b is NaN): the error names the step and leaf, and the variable then
# holds the parameters from before step 3 (a = 0.64 after two SGD steps), for
# an existing variable and for one the same entry defines; `save` works.
#
#===----------------------------------------------------------------------===#
set -u
ptlc=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/ptl-repl-diverge.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
cat > input.txt <<'PTL'
model L {
  param a: f32 = 1.0
  param b: f32 = 0.0
}
var m = L()
m.a = 2.0
train m minimizing m.a * m.a + sqrt(m.b * 0.0 + f32(3 - step)) with sgd(lr = 0.1) for 10 steps
m.a
save("kept.safetensors", m)
let back = load(L, "kept.safetensors")
back.a
var n = L(); train n minimizing n.a * n.a + log(f32(2 - step)) with sgd(lr = 0.1) for 10 steps
n.a
PTL
cat > expected.txt <<'OUT'
f32 = 1.28
f32 = 1.28
f32 = 0.8
OUT
"$ptlc" < input.txt > stdout.txt 2> stderr.txt
status=$?
ok=1
if [ $status -ne 0 ]; then echo "FAIL: exit status $status"; ok=0; fi
if ! diff -u expected.txt stdout.txt; then echo "FAIL: stdout differs"; cat stderr.txt; ok=0; fi
if ! grep -q "^<repl>:1:1: error: training diverged at step 3: the gradient of 'b' is not finite" stderr.txt; then
  echo "FAIL: stderr lacks the gradient divergence:"; cat stderr.txt; ok=0
fi
if ! grep -q "error: training diverged at step 2: the loss is not finite" stderr.txt; then
  echo "FAIL: stderr lacks the loss divergence:"; cat stderr.txt; ok=0
fi
[ $ok = 1 ] && echo "diverged train in the REPL: ok"
