#!/usr/bin/env bash
# bench/run.sh: the benchmark suite, as one command (see bench/README.md).
#
#   bash bench/run.sh                  every workload, the spec's step counts; writes bench/results.json
#   bash bench/run.sh --quick          tiny step counts (a smoke test; JSON to $TMPDIR)
#   bash bench/run.sh --no-torch       skip the PyTorch baselines
#   bash bench/run.sh --only mlp_train,tiny_mlp
#   bash bench/run.sh --ptlc PATH      use this ptlc instead of building ./build/ptlc
#   bash bench/run.sh --work DIR       where the C++ floor and helpers are built (default BUILD_DIR/bench)
#   bash bench/run.sh --only host_call the host_call benchmark alone (C++ host calls, PTL vs LibTorch)
# Other options are passed to bench/harness.py (--help lists them).
#
# Builds what it needs: ptlc (Release, in $BUILD_DIR, default ./build) unless
# --ptlc is given (and then also the host_call benchmark, which links libptl;
# with --ptlc, pass --host-call BINARY to run it); bench/cpp/mlp_floor.cpp
# (g++ -O3 -march=native, OpenBLAS); the allocation counter bench/cpp/alloc_count.c;
# bench/cpp/host_call_torch.cpp, host_call's LibTorch baseline, where
# Debian's libtorch-dev is installed (skipped with a message otherwise). Needs Debian's /usr/bin/python3
# (standard library only); PyTorch is used only if /usr/bin/python3 can import it.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
PTLC="" WORK="" PASS=()
while (($#)); do
  case "$1" in
    --ptlc) PTLC=$2; shift 2 ;;
    --ptlc=*) PTLC=${1#*=}; shift ;;
    --work) WORK=$2; shift 2 ;;
    --work=*) WORK=${1#*=}; shift ;;
    *) PASS+=("$1"); shift ;;
  esac
done
WORK=${WORK:-$BUILD_DIR/bench}
mkdir -p "$WORK"

if [ -z "$PTLC" ]; then
  if [ ! -f "$BUILD_DIR/build.ninja" ] && [ ! -f "$BUILD_DIR/Makefile" ]; then
    cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  cmake --build "$BUILD_DIR" --target ptlc >&2
  PTLC=$BUILD_DIR/ptlc
  if cmake --build "$BUILD_DIR" --target host_call >&2; then
    PASS+=(--host-call "$BUILD_DIR/bench/host_call")
  else
    echo "bench: could not build host_call; skipping the host_call benchmark" >&2
  fi
fi
[ -x "$PTLC" ] || { echo "bench: no ptlc at $PTLC" >&2; exit 1; }

# Rebuilds $1 from $2 when the source is newer; the rest is the compile command.
build_if_stale() {
  local out=$1 src=$2; shift 2
  if [ ! -x "$out" ] || [ "$src" -nt "$out" ]; then "$@" -o "$out.tmp" && mv "$out.tmp" "$out"; fi
}
EXTRA=()
if [ -f /usr/include/x86_64-linux-gnu/cblas.h ] || [ -f /usr/include/cblas.h ]; then
  if build_if_stale "$WORK/mlp_floor" "$ROOT/bench/cpp/mlp_floor.cpp" \
       g++ -O3 -march=native -std=c++20 "$ROOT/bench/cpp/mlp_floor.cpp" -lopenblas; then
    EXTRA+=(--floor "$WORK/mlp_floor")
  else
    echo "bench: could not build the C++ floor; skipping it" >&2
  fi
else
  echo "bench: no cblas.h (apt-get install libopenblas-dev): skipping the C++ floor" >&2
fi
if [ -n "${PTL_BENCH_NO_ALLOC_COUNT:-}" ]; then
  echo "bench: PTL_BENCH_NO_ALLOC_COUNT is set: no heap counts" >&2   # e.g. a sanitizer build's ptlc
elif build_if_stale "$WORK/alloc_count.so" "$ROOT/bench/cpp/alloc_count.c" \
     gcc -O2 -shared -fPIC "$ROOT/bench/cpp/alloc_count.c"; then
  EXTRA+=(--alloc-so "$WORK/alloc_count.so")
else
  echo "bench: could not build the allocation counter; skipping heap counts" >&2
fi

# host_call's LibTorch baseline (not with --no-torch).
if [[ " ${PASS[*]} " != *" --no-torch "* ]]; then
  TORCH_INC=/usr/include/torch/csrc/api/include
  if [ -f "$TORCH_INC/torch/torch.h" ]; then
    # torch.h takes a minute or two to compile: only when the source (or the shared timing header) changed.
    [ "$ROOT/bench/cpp/host_call_timing.h" -nt "$WORK/host_call_torch" ] && rm -f "$WORK/host_call_torch"
    if build_if_stale "$WORK/alloc_count.o" "$ROOT/bench/cpp/alloc_count.c" gcc -O2 -c "$ROOT/bench/cpp/alloc_count.c" &&
       build_if_stale "$WORK/host_call_torch" "$ROOT/bench/cpp/host_call_torch.cpp" \
         g++ -O2 -march=native -std=c++17 -I"$TORCH_INC" "$ROOT/bench/cpp/host_call_torch.cpp" "$WORK/alloc_count.o" \
           -ltorch -ltorch_cpu -lc10; then
      PASS+=(--host-call-torch "$WORK/host_call_torch")
    else
      echo "bench: could not build host_call_torch; the host_call benchmark runs without its LibTorch baseline" >&2
    fi
  else
    echo "bench: no LibTorch (apt-get install libtorch-dev, or scripts/setup.sh --tests): the host_call benchmark runs without its LibTorch baseline" >&2
  fi
fi

exec /usr/bin/python3 "$ROOT/bench/harness.py" --ptlc "$PTLC" --work "$WORK" "${EXTRA[@]}" "${PASS[@]}"
