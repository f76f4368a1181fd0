#!/usr/bin/env bash
#===- tests/repl/load_sandbox.sh - The REPL's :load and import, sandboxed --===#
#
# Usage: load_sandbox.sh PTLC
#
# Pipes a session into `PTLC` in a directory PROJ beside OUTSIDE: `:load`
# of a script outside by `..`, by absolute path and through a symbolic link,
# and an `import` outside, are each refused with the sandbox's message (and
# the file's text is never shown); a script inside loads; with
# `--allow-dir OUTSIDE` the same :load works.
#
#===----------------------------------------------------------------------===#
set -u
ptlc=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/ptl-repl-sandbox.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/proj" "$work/outside"
cd "$work/proj"
printf 'fn secret() -> f32 = 42.0\nprint(secret())\n' > ../outside/x.ptl
printf 'fn lib() -> f32 = 7.0\n' > ../outside/lib.ptl
ln -s ../outside/x.ptl link.ptl
printf 'let z = 3.0\n' > ok.ptl
cat > input.txt <<PTL
:load ../outside/x.ptl
:load $work/outside/x.ptl
:load link.ptl
import "../outside/lib"
:load ok.ptl
z
PTL
"$ptlc" < input.txt > stdout.txt 2> stderr.txt
status=$?
ok=1
[ $status = 0 ] || { echo "FAIL: exit status $status"; ok=0; }
printf 'f32 = 3.0\n' > expected.txt
diff -u expected.txt stdout.txt || { echo "FAIL: stdout differs (something outside ran?)"; ok=0; }
want=(
  "^error: :load: cannot read '../outside/x.ptl' \\(it resolves to '[^']*/outside/x.ptl'\\): it is outside the directories"
  "^error: :load: cannot read '$work/outside/x.ptl': it is outside the directories"
  "^error: :load: cannot read 'link.ptl' \\(it resolves to '[^']*/outside/x.ptl'\\): it is outside the directories"
  "^<repl>:1:1: error: cannot import '../outside/lib': cannot read"
)
for w in "${want[@]}"; do
  grep -Eq -- "$w" stderr.txt || { echo "FAIL: stderr lacks /$w/"; ok=0; }
done
grep -q "secret" stderr.txt && { echo "FAIL: the text of a file outside was shown"; ok=0; }
[ $ok = 1 ] || cat stderr.txt
# --allow-dir lets the same :load in.
printf ':load ../outside/x.ptl\n' | "$ptlc" --allow-dir ../outside > allowed.txt 2>&1
[ "$(cat allowed.txt)" = "42.0" ] || { echo "FAIL: with --allow-dir, :load printed '$(cat allowed.txt)'"; ok=0; }
[ $ok = 1 ] && echo "REPL :load and import sandbox: ok"
[ $ok = 1 ]
