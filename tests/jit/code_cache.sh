#!/usr/bin/env bash
#===- tests/jit/code_cache.sh - The persistent code cache, end to end ------===#
#
# Usage: code_cache.sh PTLC
#
# Runs `PTLC run` on a small script importing another file, with the cache
# in a fresh temporary directory (never ~/.cache), and requires:
#
#   - hit/miss: the first run misses and stores one entry, the second hits
#     (`--stats` says cache=miss / cache=hit; $PTL_CACHE_DEBUG lines agree);
#   - bit-identical output: cached, freshly compiled, --no-cache and the
#     interpreter print the same bytes;
#   - the key changes with the source, an imported file, -O, and the CPU
#     features ($PTL_JIT_FEATURES), and not with --threads (run time only)
#     or a comment that leaves the program the same;
#   - a corrupt entry (a flipped payload byte, a flipped magic byte, a
#     truncated file, an empty file) is reported, deleted and rebuilt, and
#     the output stays correct;
#   - concurrent writers: 6 processes at once on one empty directory all
#     print the right output, leaving one valid entry and no temporary file;
#   - the size bound: with PTL_CACHE_MAX_MB below three entries' size, the
#     directory stays within it and the newest entry survives;
#   - --no-cache neither reads nor writes; the default directory is
#     $XDG_CACHE_HOME/ptl, else $HOME/.cache/ptl.
#
#===----------------------------------------------------------------------===#
set -u
ptlc=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

cat > lib.ptl <<'EOF'
fn scale(x: f32[4]) -> f32[4] = x * 1.5 + 0.25
EOF
cat > main.ptl <<'EOF'
import "lib.ptl"
let x = [0.1, 0.2, 0.3, 0.4]
let y = scale(tanh(x) * exp(x))
print(y)
print(sum(y * y))
EOF

export PTL_CACHE_DIR=$work/cache
unset PTL_CACHE_MAX_MB PTL_JIT_FEATURES

# run NAME [FLAGS...]: ptlc run main.ptl --stats into NAME.out / NAME.err,
# with the cache's debug lines; prints the cache outcome.
run() {
  local name=$1
  shift
  PTL_CACHE_DEBUG=1 "$ptlc" run --stats "$@" main.ptl > "$name.out" 2> "$name.err"
  local status=$?
  [ $status = 0 ] || { fail "$name: exit $status"; cat "$name.err" >&2; }
  sed -n 's/.* cache=\([a-z]*\).*/\1/p' "$name.err"
}
entries() { find "$1" -name '*.ptlo' 2> /dev/null | wc -l; }
expect() { # expect WHAT GOT WANT
  [ "$2" = "$3" ] || fail "$1: got '$2', expected '$3'"
}

# ---- The reference output: the interpreter.
"$ptlc" run --interp main.ptl > interp.out 2> interp.err || fail "interpreter run failed"
grep -q '^\[' interp.out || fail "the interpreter printed no tensor"

# ---- Hit and miss; bit-identical output.
expect "first run" "$(run cold)" miss
expect "entries after the first run" "$(entries cache)" 1
grep -q '^ptl-cache: stored ' cold.err || fail "no 'stored' debug line"
expect "second run" "$(run warm)" hit
grep -q '^ptl-cache: hit ' warm.err || fail "no 'hit' debug line"
cmp -s cold.out interp.out || fail "freshly compiled output differs from the interpreter's"
cmp -s warm.out interp.out || fail "cached output differs from the interpreter's"
expect "--no-cache" "$(run nocache --no-cache)" off
cmp -s nocache.out interp.out || fail "--no-cache output differs"
expect "entries after --no-cache" "$(entries cache)" 1

# ---- What changes the key, and what does not.
expect "--threads 1 (run time only)" "$(run threads --threads 1)" hit
echo '// a comment changes no code' >> main.ptl
expect "a comment at the end" "$(run comment)" hit
cp main.ptl main.orig
sed -i 's/0.4\]/0.5]/' main.ptl
expect "changed source" "$(run source)" miss
cp main.orig main.ptl
expect "source changed back" "$(run back)" hit
cp lib.ptl lib.orig
sed -i 's/0.25/0.75/' lib.ptl
expect "changed imported file" "$(run import)" miss
cmp -s import.out warm.out && fail "the changed import printed the old output"
cp lib.orig lib.ptl
expect "-O1" "$(run o1 -O1)" miss
expect "-O1 again" "$(run o1b -O1)" hit
cmp -s o1.out interp.out || fail "-O1 output differs"
expect "CPU features" "$(PTL_JIT_FEATURES=-avx512f,-avx2 run features)" miss
expect "CPU features again" "$(PTL_JIT_FEATURES=-avx512f,-avx2 run features2)" hit
cmp -s features.out interp.out || fail "output without AVX differs"
expect "back to the host's features" "$(run host)" hit

# ---- Corrupt entries: reported, deleted, rebuilt; never executed.
rm -rf cache
run fresh > /dev/null
entry=$(find cache -name '*.ptlo')
size=$(stat -c %s "$entry")
corrupt() { # corrupt NAME WHY: run with the entry corrupted, expect WHY
  expect "$1" "$(run "$1")" miss
  grep -q "^ptl-cache: bad entry .*($2)" "$1.err" || { fail "$1: no 'bad entry ($2)' line"; cat "$1.err" >&2; }
  cmp -s "$1.out" interp.out || fail "$1: wrong output"
  expect "$1: rebuilt" "$(stat -c %s "$entry" 2> /dev/null)" "$size"
  expect "$1: then a hit" "$(run "$1.after")" hit
}
flip() { # flip FILE OFFSET: invert one byte
  local byte
  byte=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
  printf "$(printf '\\%03o' $((255 - byte)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
flip "$entry" $((size / 2))
corrupt payload_flip "checksum mismatch"
flip "$entry" 0
corrupt magic_flip "not a PTL cache entry"
truncate -s $((size - 100)) "$entry"
corrupt truncated "truncated or padded"
: > "$entry"
corrupt empty "shorter than its header"

# ---- Concurrent writers on one empty directory.
rm -rf cache
pids=()
for i in 1 2 3 4 5 6; do
  PTL_CACHE_DEBUG=1 "$ptlc" run main.ptl > "conc$i.out" 2> "conc$i.err" &
  pids+=($!)
done
for i in 1 2 3 4 5 6; do
  wait "${pids[$((i - 1))]}" || fail "concurrent run $i failed"
  cmp -s "conc$i.out" interp.out || fail "concurrent run $i: wrong output"
  grep -q 'bad entry' "conc$i.err" && fail "concurrent run $i read a bad entry"
done
expect "entries after concurrent runs" "$(entries cache)" 1
expect "files after concurrent runs" "$(find cache -type f | wc -l)" 1
expect "after the concurrent runs" "$(run conc_after)" hit

# ---- The size bound: LRU eviction by mtime.
rm -rf cache
run one > /dev/null
one=$(stat -c %s "$(find cache -name '*.ptlo')")
bound_kb=$(( (one * 5 / 2) / 1024 ))   # room for two entries, not three
for v in 1 2 3 4; do
  sed "s/0.4\]/0.4$v]/" main.orig > main.ptl
  sleep 0.05
  PTL_CACHE_MAX_MB=$(awk "BEGIN { print $bound_kb / 1024 }") run "bound$v" > /dev/null
  total=$(find cache -name '*.ptlo' -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
  [ "$total" -le $((bound_kb * 1024)) ] || fail "bound run $v: $total bytes over the bound of $((bound_kb * 1024))"
done
expect "entries within the bound" "$(entries cache)" 2
grep -q '^ptl-cache: evicted ' bound4.err || fail "no eviction reported"
expect "the newest entry survives" "$(run newest)" hit
cp main.orig main.ptl
expect "the oldest entry was evicted" "$(run oldest)" miss

# ---- --no-cache never writes; the default directories.
rm -rf cache
run none --no-cache > /dev/null
[ -e cache ] && fail "--no-cache created the cache directory"
(
  unset PTL_CACHE_DIR
  XDG_CACHE_HOME=$work/xdg "$ptlc" run main.ptl > /dev/null 2>&1
  HOME=$work/home XDG_CACHE_HOME= "$ptlc" run main.ptl > /dev/null 2>&1
)
expect "entries under \$XDG_CACHE_HOME/ptl" "$(entries xdg/ptl)" 1
expect "entries under \$HOME/.cache/ptl" "$(entries home/.cache/ptl)" 1

if [ $failures -gt 0 ]; then
  echo "code_cache: $failures failure(s)" >&2
  exit 1
fi
echo "code_cache: all checks passed"
