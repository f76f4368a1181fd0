#!/usr/bin/env bash
# tests/host/run_online.sh HOST PTLC SOURCE_DIR
# The embedding example (examples/host/online_host) runs online.ptl's trial
# from C++ on zero-copy views of its own buffers; its loss and eta lines must
# equal what `ptlc run examples/host/online_reference.ptl` prints for the
# same data built in PTL. The host must also report the mismatched shape as
# an exception and survive a save/load round trip (its exit status).
set -euo pipefail
host=$1 ptlc=$2 src=$3
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
"$host" "$src/examples/online.ptl" "$scratch" >"$scratch/host.out"
(cd "$src" && "$ptlc" run examples/host/online_reference.ptl) >"$scratch/ref.out"
cat "$scratch/host.out"
for key in "trial loss:" "eta:"; do
  want=$(grep "^$key" "$scratch/ref.out")
  got=$(grep "^$key" "$scratch/host.out")
  if [[ "$want" != "$got" ]]; then
    echo "FAIL: host printed '$got', ptlc run printed '$want'"
    exit 1
  fi
done
grep -q "^mismatched shape: trial(RNN, f32\[100, 32, 2, 2\], f32\[100, 32, 2\]): .*expects f32\[T, B, 4\]" "$scratch/host.out" ||
  { echo "FAIL: no mismatched-shape error"; exit 1; }
grep -q "^after save and load: same loss" "$scratch/host.out" || { echo "FAIL: save/load"; exit 1; }
echo "PASS"
