#!/usr/bin/env bash
#===- tests/robust/limits.sh - ptlc's run-time limits and out of memory ----===#
#
# Usage: limits.sh PTLC
#
# Checks, through the ptlc command line:
#   * bad option values (--max-loop-trips -1, --time-budget nan/inf/-1,
#     --memory-budget -5, --max-tensor-bytes -5) are refused: exit 1 and a
#     message naming the option;
#   * --time-budget and --memory-budget stop a run that loops long or
#     allocates a lot with a located error, exit 1, under the default engine,
#     --jit and --interp (a budgeted run uses the interpreter: --jit says so);
#   * a native-code frame that cannot be allocated (ulimit -v) is a located
#     error, as the interpreter's failed allocation is;
#   * a CSV of 20000 columns loads, and a model of 3000 parameters saves and
#     loads, in seconds under both engines (native code fills a host op's
#     pointer arrays by a loop over constant tables, not a store apiece);
#   * memory running out while compiling (ulimit -v at every level from the
#     least at which ptlc starts at all) is never a crash: each run either
#     works or ends with exit 1 and "out of memory while compiling"/a located
#     out-of-memory error, and some level hits the compiler.
# Exits 0 when all hold; prints FAIL lines otherwise.
#
#===----------------------------------------------------------------------===#
set -u
ptlc=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/ptl-limits.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# expect_run STATUS STDERR-PATTERN ARGS...: runs ptlc ARGS, checks the exit
# status and that stderr matches the extended regular expression.
expect_run() {
  local want=$1 pattern=$2
  shift 2
  "$ptlc" "$@" > out.txt 2> err.txt
  local got=$?
  if [ "$got" != "$want" ]; then fail "ptlc $*: exit $got, expected $want"; cat err.txt; return; fi
  if [ "$pattern" = "^$" ]; then
    if [ -s err.txt ]; then fail "ptlc $*: stderr is not empty:"; cat err.txt; fi
  elif [ -n "$pattern" ] && ! grep -Eq -- "$pattern" err.txt; then fail "ptlc $*: stderr lacks /$pattern/:"; cat err.txt; fi
}

cat > spin.ptl <<'PTL'
var t = 0.0
for i in 0..2000000000 {
  t = t * 0.5 + 1.0
}
print(t)
PTL
cat > alloc.ptl <<'PTL'
let a = ones[1000, 1000]
let b = a + 1.0
let c = b * 2.0
print(sum(c))
PTL
cat > big.ptl <<'PTL'
let a = ones[600000000]
let b = a * 2.0
let c = b + a
print(sum(c))
PTL
echo 'print(1.0)' > tiny.ptl

# ---- Bad option values. ---------------------------------------------------------
expect_run 1 "^--max-loop-trips: expected a whole number of at least 0" run --max-loop-trips -1 tiny.ptl
expect_run 1 "^--max-loop-trips: expected a whole number" run --max-loop-trips 1.5 tiny.ptl
expect_run 1 "^--max-loop-trips: expected a whole number" check --max-loop-trips -1 tiny.ptl
expect_run 1 "^--time-budget: expected a finite number of seconds of at least 0" run --time-budget nan tiny.ptl
expect_run 1 "^--time-budget: expected a finite number" run --time-budget inf tiny.ptl
expect_run 1 "^--time-budget: expected a finite number" run --time-budget -1 tiny.ptl
expect_run 1 "^--memory-budget: expected a size in bytes of at least 0" run --memory-budget -5 tiny.ptl
expect_run 1 "^--max-tensor-bytes: expected a size in bytes of at least 0" run --max-tensor-bytes -5 tiny.ptl
expect_run 0 "^$" run --time-budget 30 --memory-budget 1G --max-loop-trips 0 --max-tensor-bytes 0 tiny.ptl
[ "$(cat out.txt)" = "1.0" ] || fail "a run with valid limits printed '$(cat out.txt)'"

# ---- Budgets, under every engine choice. ---------------------------------------------
for engine in "" --jit --interp; do
  start=$(date +%s)
  expect_run 1 "^spin.ptl:3:7: error: time budget of 0.3 s exceeded$" run $engine --time-budget 0.3 spin.ptl
  [ $(( $(date +%s) - start )) -lt 30 ] || fail "--time-budget 0.3 $engine took over 30 s"
  [ -s out.txt ] && fail "--time-budget $engine: the script printed '$(cat out.txt)'"
  expect_run 1 "^alloc.ptl:2:9: error: memory budget of 5242880 bytes exceeded" run $engine --memory-budget 5M alloc.ptl
  expect_run 0 "" run $engine --memory-budget 100M alloc.ptl
  [ "$(cat out.txt)" = "4000000.0" ] || fail "alloc.ptl $engine with room printed '$(cat out.txt)'"
done
expect_run 1 "^ptlc: note: --time-budget and --memory-budget run the script in the reference interpreter" \
  run --jit --time-budget 0.3 spin.ptl

# ---- A CSV of 20000 columns: linear and fast in native code too. ---------------------
# (Each result's pointer was stored by its own instruction, in one block whose
# instruction scheduling grew with its square: 47 s. Now a loop over a table.)
awk 'BEGIN { n = 20000; for (r = 0; r < 4; ++r) { line = ""; for (i = 0; i < n; ++i) {
       cell = r == 0 ? "c" i : r - 1 + i; line = line (i ? "," : "") cell }; print line } }' > wide.csv
printf 'let d = load_csv("wide.csv")\nprint(d.c0 + d.c19999)\n' > wide.ptl
stores=$("$ptlc" --emit=loops wide.ptl | grep -c "store ptr")
[ "$stores" -le 10 ] || fail "--emit=loops of a 20000-column load_csv has $stores pointer stores (one per column?)"
for engine in --jit --interp; do
  start=$(date +%s)
  timeout 60 "$ptlc" run $engine wide.ptl > out.txt 2> err.txt
  status=$?
  took=$(( $(date +%s) - start ))
  [ $status = 0 ] || { fail "wide.ptl $engine: exit $status"; cat err.txt; }
  [ "$(cat out.txt)" = "[19999. 20001. 20003.]" ] || fail "wide.ptl $engine printed '$(cat out.txt)'"
  [ $took -lt 20 ] || fail "wide.ptl $engine took $took s"
done

# Saving a model of 3000 parameters: 3000 operands of one host op (61 s before).
{
  echo 'model Big {'
  for i in $(seq 0 2999); do echo "  param p$i: f32 = $i.0"; done
  echo '}'
  echo 'save("big.safetensors", Big())'
  echo 'print(sum(load(Big, "big.safetensors").p2999))'
} > leaves.ptl
stores=$("$ptlc" --emit=loops leaves.ptl | grep -c "store ptr")
[ "$stores" -le 10 ] || fail "--emit=loops of saving 3000 parameters has $stores pointer stores (one per parameter?)"
start=$(date +%s)
timeout 60 "$ptlc" run --jit leaves.ptl > out.txt 2> err.txt
status=$?
took=$(( $(date +%s) - start ))
[ $status = 0 ] || { fail "leaves.ptl: exit $status"; cat err.txt; }
[ "$(cat out.txt)" = "2999.0" ] || fail "leaves.ptl printed '$(cat out.txt)'"
[ $took -lt 20 ] || fail "leaves.ptl took $took s"

# ---- Out of memory at run time: located under both engines. ------------------------
# (A sanitizer build reserves far more address space than ulimit -v allows.)
if (ulimit -v 4000000; "$ptlc" run tiny.ptl > /dev/null 2>&1); then
  (ulimit -v 4000000; exec "$ptlc" run --max-tensor-bytes 0 big.ptl > out.txt 2> err.txt)
  status=$?
  [ $status = 1 ] || fail "big.ptl (JIT) under ulimit -v 4000000: exit $status"
  grep -q "^big.ptl:1:9: error: out of memory: cannot allocate 4800000064 bytes for the tensors of this call" err.txt ||
    { fail "big.ptl (JIT): no located out-of-memory error:"; cat err.txt; }
  (ulimit -v 4000000; exec "$ptlc" run --interp --max-tensor-bytes 0 big.ptl > out.txt 2> err.txt)
  status=$?
  [ $status = 1 ] || fail "big.ptl (interpreter) under ulimit -v 4000000: exit $status"
  grep -q "^big.ptl:2:9: error: out of memory: cannot allocate 2400000000 bytes" err.txt ||
    { fail "big.ptl (interpreter): no located out-of-memory error:"; cat err.txt; }

  # ---- Out of memory while compiling: never a crash. ---------------------------------
  # The least address space (KiB, to 1000) in which ptlc starts at all.
  lo=50000 hi=2000000
  while [ $((hi - lo)) -gt 1000 ]; do
    mid=$(( (lo + hi) / 2 ))
    if (ulimit -v $mid; "$ptlc" --version > /dev/null 2>&1) 2> /dev/null; then hi=$mid; else lo=$mid; fi
  done
  {
    echo 'var t = 0.0'
    for i in $(seq 1 150); do echo "let x$i = [1.0, 2.0, 3.0] * $i.0"; echo "t += sum(x$i)"; done
    echo 'print(t)'
  } > heavy.ptl
  compiling=0 worked=0
  for v in $(seq "$hi" 1000 $((hi + 20000))); do
    # --no-cache: every run compiles (a hit from an earlier level would skip LLVM).
    (ulimit -v "$v"; exec "$ptlc" run --no-cache heavy.ptl > out.txt 2> err.txt)
    status=$?
    if [ $status = 0 ]; then
      [ "$(cat out.txt)" = "67950.0" ] || fail "heavy.ptl under ulimit -v $v printed '$(cat out.txt)'"
      worked=$((worked + 1))
    elif [ $status = 1 ] && grep -q "^ptlc: error: out of memory while compiling heavy.ptl" err.txt; then
      compiling=$((compiling + 1))
    elif [ $status = 1 ] && grep -Eq "^(heavy.ptl:[0-9]+:[0-9]+|ptlc): error: out of memory" err.txt; then
      :
    else
      fail "heavy.ptl under ulimit -v $v: exit $status:"; cat err.txt
    fi
  done
  [ $compiling -gt 0 ] || fail "no address-space limit ran out while compiling (ptlc starts at $hi KiB)"
  [ $worked -gt 0 ] || fail "heavy.ptl never ran within $((hi + 20000)) KiB"
  echo "ulimit -v sweep from $hi KiB: $compiling runs out of memory while compiling, $worked complete"
else
  echo "SKIP: ptlc does not start under ulimit -v 4000000 (a sanitizer build?): out-of-memory checks skipped"
fi

if [ $fails = 0 ]; then echo "limits: ok"; fi
[ $fails = 0 ]
