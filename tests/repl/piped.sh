#!/usr/bin/env bash
#===- tests/repl/piped.sh - The REPL with stdin not a terminal ------------===#
#
# Usage: piped.sh PTLC
#
# Pipes a session into `PTLC` (no prompts, plain lines) and requires stdout
# to be exactly the expected text, the diagnostic on stderr, and status 0.
# A user function named `main` does not clash with the entry's generated `main`.
#
#===----------------------------------------------------------------------===#
set -u
ptlc=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/ptl-repl-piped.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
cat > input.txt <<'PTL'
fn f(x: f32[N]) -> f32 = sum(x * x)
var v = [1.0, 2.0]
f(v)
fn f(x: f32[N]) -> f32 = sum(x)
f(v)
v += 1.0
f(v + nope)
v
model Lin {
  param w: f32 = 0.0
  fn apply(x: f32[N]) -> f32[N] = w * x
}
var m = Lin()
train m minimizing mean((m.apply(v) - 2.0 * v) ^ 2) with sgd(lr = 0.05) for 200 steps
m
:type m.apply(v)
:gradcheck mean((m.apply(v) - 2.0 * v) ^ 2), m
fn main(x: f32) -> f32 = x * 2.0
main(2.0)
:quit
print("not reached")
PTL
cat > expected.txt <<'OUT'
f32 = 5.0
f32 = 3.0
f32[2] = [2. 3.]
Lin =
w = 2.0
f32[2]
f32 = 4.0
OUT
"$ptlc" < input.txt > stdout.txt 2> stderr.txt
status=$?
ok=1
if [ $status -ne 0 ]; then echo "FAIL: exit status $status"; ok=0; fi
# The gradcheck line's errors vary with rounding: compare up to them.
grep -q '^gradcheck: 1 elements, max abs error .*: PASS$' stdout.txt || { echo "FAIL: no passing gradcheck line"; ok=0; }
grep -v '^gradcheck: ' stdout.txt > stdout.cmp
if ! diff -u expected.txt stdout.cmp; then echo "FAIL: stdout differs"; ok=0; fi
if ! grep -q "^<repl>:1:7: error: unknown name 'nope'" stderr.txt; then
  echo "FAIL: stderr lacks the diagnostic:"; cat stderr.txt; ok=0
fi
# :help names the passes :ir shows: exactly those `ptlc --emit=ir-grad` runs
# (its --print-ir-after-all headers), in order, as docs/language.md says.
printf 'fn f(x: f32) -> f32 = x * x\nprint(f(2.0))\n' > passes.ptl
ran=$("$ptlc" --emit=ir-grad --print-ir-after-all passes.ptl 2>&1 >/dev/null |
      sed -n 's|^// ----- IR after \(.*\) -----$|\1|p' | paste -sd, - | sed 's/,/, /g')
printf ':help\n' | "$ptlc" > help.txt 2>&1
helped=$(grep -A1 '^  :ir NAME' help.txt | tail -1 | sed 's/^ *//')
if [ -z "$ran" ] || [ "$helped" != "$ran" ]; then
  echo "FAIL: :help lists the passes '$helped', ptlc runs '$ran'"; cat help.txt; ok=0
fi
docs=$(dirname "$0")/../../docs/language.md
if ! tr '\n' ' ' < "$docs" | sed 's/  */ /g' | grep -qF "\`$ran\`"; then
  echo "FAIL: docs/language.md does not list the default passes \`$ran\`"; ok=0
fi
# Every REPL command README.md names is one :help lists.
readme=$(dirname "$0")/../../README.md
cmds=$(grep '^| `ptlc` |' "$readme" | grep -o '`:[a-z]*`' | tr -d '`')
[ -n "$cmds" ] || { echo "FAIL: README.md names no REPL commands"; ok=0; }
for c in $cmds; do
  grep -q "^  $c " help.txt || { echo "FAIL: README.md names $c, which :help does not list"; ok=0; }
done
[ $ok = 1 ] && echo "piped REPL session: ok"
[ $ok = 1 ]
