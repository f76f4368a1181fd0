#!/usr/bin/env bash
#===- tests/annotations/matrix.sh - The parameter-annotation matrix -------===#
#
# Usage: matrix.sh PTLC [KIND...]
#
# Generates one program per annotation kind (every `constrain` bijector, the
# `check` and `project` modes, `reparam` exp / softplus / sigmoid(lo, hi),
# `stop_grad`, and `reparam NAME = EXPR`) and runs it with `PTLC run` (JIT)
# and `PTLC run --interp`. Each program declares the same three-level model
# Top { m: Mid { i: In { v } } } four times, the annotation written
#
#   A  on the parameter          param v: T = INIT ANNOT
#   B  as a body statement       constrain v ...          (in In)
#   C  on a sub-model path       constrain i.v ...        (in Mid)
#   D  on a nested path          constrain m.i.v ...      (in Top)
#
# (with a plain parameter k beside v, so a frozen v leaves something to
# train) and reads each the same ways: field reads at the top (`t.m.i.v`), inside
# the sub-models' own methods, through `raw`, `print` of the model and of its
# gradient, after `save`/`load`, and after two `train` steps. Every
# placement's output must equal A's, byte for byte, and the two engines'
# outputs must be equal. A reference is printed for A (`print(t)`) so an
# empty or failing run never passes.
#
#===----------------------------------------------------------------------===#
set -u
if [ $# -lt 1 ]; then
  echo "usage: $0 PTLC [KIND...]" >&2
  exit 2
fi
ptlc=$1
shift

# KIND|TYPE|INIT|ANNOTATION AFTER THE PARAM|STATEMENT (PATH stands for the path)|LOSS TARGET
kinds=(
  "gt|f32|2.0|constrain > 0.5|constrain PATH > 0.5|0.0"
  "lt|f32|-1.0|constrain < 0.25|constrain PATH < 0.25|3.0"
  "interval|f32|0.3|constrain in (-1, 1)|constrain PATH in (-1, 1)|2.0"
  "simplex|f32[3]|[0.2, 0.3, 0.5]|constrain : simplex|constrain PATH : simplex|[1.0, 0.0, 0.0]"
  "ordered|f32[3]|[-1.0, 0.5, 2.0]|constrain : ordered|constrain PATH : ordered|[0.0, 0.0, 3.0]"
  "cholesky|f32[2, 2]|[[1.0, 0.0], [0.5, 2.0]]|constrain : cholesky|constrain PATH : cholesky|[[2.0, 0.0], [0.0, 1.0]]"
  "check|f32|2.0|constrain > 0 check|constrain PATH > 0 check|1.0"
  "project|f32|0.5|constrain in (0, 1) project|constrain PATH in (0, 1) project|5.0"
  "exp|f32|2.0|reparam exp|reparam PATH exp|0.5"
  "softplus|f32|2.0|reparam softplus|reparam PATH softplus|0.5"
  "sigmoid|f32|1.0|reparam sigmoid(0, 4)|reparam PATH sigmoid(0, 4)|3.5"
  "stop_grad|f32|2.0|stop_grad|stop_grad PATH|0.0"
  "derived|f32|2.0|reparam exp|reparam PATH exp|0.5"
)

work=$(mktemp -d "${TMPDIR:-/tmp}/ptl-annot.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail=0
ran=0

# The models of placement $1 (A..D) for one kind.
models() {
  local p=$1 onParam="" own="" mid="" top=""
  case $p in
    A) onParam=" $annot" ;;
    B) own="  ${stmt//PATH/v}" ;;
    C) mid="  ${stmt//PATH/i.v}" ;;
    D) top="  ${stmt//PATH/m.i.v}" ;;
  esac
  local derived=""
  if [ "$kind" = derived ]; then
    # reparam NAME = EXPR: a derived value read like a parameter.
    derived="  reparam w = v * 2.0 + 1.0"
  fi
  cat <<PTL
model In$p {
  param v: $type = $init$onParam
  param k: f32 = 1.5
$own
$derived
  fn get() -> $type = v
  fn loss() -> f32 = sum((v - $target) ^ 2.0) + (k * 2.0 - 1.0) ^ 2.0
$( [ "$kind" = derived ] && echo "  fn getw() -> $type = w" )
}
model Mid$p {
  i: In$p
$mid
  fn get() -> $type = i.get()
  fn direct() -> $type = i.v
  fn loss() -> f32 = i.loss() + 0.0
}
model Top$p {
  m: Mid$p
$top
  fn get() -> $type = m.i.v
}
PTL
}

# The reads of placement $1.
reads() {
  local p=$1
  cat <<PTL
print("== $p")
var t$p = Top$p()
print(t$p.m.i.v)
print(t$p.get(), t$p.m.get(), t$p.m.direct(), t$p.m.i.get())
print(raw(t$p.m.i.v))
print(t$p)
let sub$p = t$p.m.i
print(sub$p.v, sub$p.get())
print(grad(t$p.m.loss(), t$p))
print(raw(grad(t$p.m.loss(), t$p).m.i.v))
save("$p.safetensors", t$p)
let back$p = load(Top$p, "$p.safetensors")
print(back$p.m.i.v, back$p.m.get(), raw(back$p.m.i.v))
train t$p minimizing t$p.m.loss() with sgd(lr = 0.05) for 2 steps
print(t$p.m.i.v, t$p.m.get(), raw(t$p.m.i.v))
print(t$p)
PTL
  if [ "$kind" = derived ]; then
    cat <<PTL
print(t$p.m.i.w, t$p.m.i.getw())
PTL
  fi
}

selected=("$@")
for row in "${kinds[@]}"; do
  IFS='|' read -r kind type init annot stmt target <<< "$row"
  if [ ${#selected[@]} -gt 0 ] && [[ ! " ${selected[*]} " == *" $kind "* ]]; then continue; fi
  prog="$work/$kind.ptl"
  {
    echo "// annotation matrix: $kind"
    for p in A B C D; do models $p; done
    for p in A B C D; do reads $p; done
  } > "$prog"
  declare -A out=()
  for engine in jit interp; do
    flags=()
    [ $engine = interp ] && flags=(--interp)
    if ! (cd "$work" && "$ptlc" run "${flags[@]}" "$prog" > "$work/$kind.$engine.out" 2> "$work/$kind.$engine.err"); then
      echo "FAIL: $kind ($engine): ptlc run failed" >&2
      cat "$work/$kind.$engine.err" >&2
      fail=1
      continue
    fi
    ran=$((ran + 1))
    # Split the output into the placements' sections.
    awk -v dir="$work" -v k="$kind.$engine" '/^== [A-D]$/ { f = dir "/" k "." $2; next } { print > f }' \
      "$work/$kind.$engine.out"
    if [ ! -s "$work/$kind.$engine.A" ]; then
      echo "FAIL: $kind ($engine): placement A printed nothing" >&2
      fail=1
      continue
    fi
    for p in B C D; do
      if ! cmp -s "$work/$kind.$engine.A" "$work/$kind.$engine.$p"; then
        echo "FAIL: $kind ($engine): placement $p differs from the annotation on the parameter (A):" >&2
        diff "$work/$kind.$engine.A" "$work/$kind.$engine.$p" >&2
        fail=1
      fi
    done
  done
  if [ -f "$work/$kind.jit.out" ] && [ -f "$work/$kind.interp.out" ] &&
     ! cmp -s "$work/$kind.jit.out" "$work/$kind.interp.out"; then
    echo "FAIL: $kind: the JIT and the interpreter differ:" >&2
    diff "$work/$kind.jit.out" "$work/$kind.interp.out" >&2
    fail=1
  fi
  if [ -n "${PTL_MATRIX_SHOW:-}" ]; then cat "$prog"; cat "$work/$kind.jit.out"; fi
done

if [ $ran -eq 0 ]; then
  echo "FAIL: no program ran" >&2
  exit 1
fi
if [ $fail -ne 0 ]; then exit 1; fi
echo "PASS: annotation matrix ($ran runs)"
