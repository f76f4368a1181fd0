#!/usr/bin/env bash
#===- fuzz/run.sh - A bounded run of the libFuzzer harnesses ---------------===#
#
# Usage: fuzz/run.sh [--seconds N] [--build DIR] [--jobs J] [--timeout T] [frontend|programs|all]
#
# Runs each chosen harness for N seconds (default 60) with J workers
# (default 1), from a corpus kept in DIR/fuzz-corpus/<harness> (seeded from
# examples/, tests/, stdlib/, fuzz/regressions/ and the repository's corpus
# fuzz/corpus/<harness> on every run), writing any crashing input to
# DIR/fuzz-artifacts/. Afterwards the inputs that add coverage are merged
# (libFuzzer -merge=1: only those that add features, so the folder stays
# small) into fuzz/corpus/<harness>, to be committed. DIR (default build-fuzz beside
# the source tree) must have been configured with clang, PTL_SANITIZE=ON and
# PTL_FUZZ=ON (see fuzz/README.md); the harnesses are built if needed.
# T (default 20) is libFuzzer's -timeout per input in seconds: raise it on a
# loaded machine, where a slow but bounded input can exceed it in wall time.
# Prints libFuzzer's final statistics (executions, exec/s) per harness, and
# exits 1 if any harness found a crash, a leak, a timeout or a sanitizer report.
#
#===----------------------------------------------------------------------===#
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
seconds=60
build=$(dirname "$src")/build-fuzz
jobs=1
timeout=20
which=all
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    frontend|programs|all) which=$1; shift ;;
    *) echo "usage: $0 [--seconds N] [--build DIR] [--jobs J] [--timeout T] [frontend|programs|all]" >&2; exit 2 ;;
  esac
done
[ "$which" = all ] && harnesses="frontend programs" || harnesses=$which

if [ ! -f "$build/CMakeCache.txt" ]; then
  echo "configuring $build (clang-19, ASan+UBSan, libFuzzer)" >&2
  cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-g -O1" \
        -DCMAKE_CXX_COMPILER=clang++-19 -DPTL_SANITIZE=ON -DPTL_FUZZ=ON >&2 || exit 1
fi
targets=""
for h in $harnesses; do targets="$targets ptl_fuzz_$h"; done
cmake --build "$build" --target $targets >&2 || exit 1

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
status=0
mkdir -p "$build/fuzz-artifacts"
for h in $harnesses; do
  corpus=$build/fuzz-corpus/$h
  kept=$src/fuzz/corpus/$h
  mkdir -p "$corpus" "$kept"
  cp -n "$kept"/* "$corpus"/ 2>/dev/null
  extra=()
  if [ "$h" = frontend ]; then
    # Seeds: every script of the tree (cp -n keeps the corpus's own files).
    find "$src/examples" "$src/tests" "$src/stdlib" "$src/fuzz/regressions/frontend" -name '*.ptl' -type f \
      -exec sh -c 'for f; do cp -n "$f" "$0/seed-$(echo "$f" | md5sum | cut -c1-16)"; done' "$corpus" {} +
    maxlen=8192
    extra=(-dict="$here/ptl.dict" -max_len=$maxlen)
  else
    cp -n "$src"/fuzz/regressions/programs/* "$corpus"/ 2>/dev/null
    [ -n "$(ls -A "$corpus")" ] || head -c 256 /dev/urandom > "$corpus/seed-random"
    maxlen=1024
    extra=(-max_len=$maxlen)
  fi
  log=$build/fuzz-artifacts/$h.log
  echo "== $h: ${seconds}s, $jobs worker(s), corpus $corpus" >&2
  if [ "$jobs" -gt 1 ]; then
    extra+=(-fork="$jobs" -ignore_crashes=0)
  fi
  "$build/fuzz/ptl_fuzz_$h" "$corpus" -max_total_time="$seconds" -timeout="$timeout" -rss_limit_mb=3000 \
      -artifact_prefix="$build/fuzz-artifacts/$h-" -print_final_stats=1 "${extra[@]}" > "$log" 2>&1
  rc=$?
  grep -E "^(stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb)|^#[0-9]+ *DONE" "$log" >&2
  if [ $rc -ne 0 ]; then
    echo "== $h FAILED (exit $rc); see $log and $build/fuzz-artifacts/" >&2
    grep -E "ERROR|BUG|SUMMARY|Test unit written" "$log" | head -20 >&2
    status=1
  else
    # Keep what is new in the repository's corpus (minimised by coverage):
    # the inputs libFuzzer found (not the seed-* copies of the tree's scripts).
    before=$(ls "$kept" | wc -l)
    found=$(mktemp -d "${TMPDIR:-/tmp}/ptl-fuzz-found.XXXXXX")
    find "$corpus" -maxdepth 1 -type f ! -name 'seed-*' -exec cp {} "$found"/ \;
    "$build/fuzz/ptl_fuzz_$h" -merge=1 -max_len=$maxlen -timeout="$timeout" -rss_limit_mb=3000 "$kept" "$found" \
        > "$log.merge" 2>&1 ||
      echo "== $h: merging into $kept failed; see $log.merge" >&2
    rm -rf "$found"
    echo "== $h: fuzz/corpus/$h has $(ls "$kept" | wc -l) inputs ($before before)" >&2
  fi
done
exit $status
