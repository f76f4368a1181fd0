#!/usr/bin/env bash
#===- tests/diagnostics/run.sh - Expected-diagnostic test runner ----------===#
#
# Usage: run.sh PTLC FILE.ptl
#
# Runs `PTLC check FILE.ptl` and compares the diagnostics it prints with the
# expectations written in the file as comments (anywhere on a line):
#
#   // expect-error: LINE:COL: MESSAGE-SUBSTRING
#   // expect-warning: LINE:COL: MESSAGE-SUBSTRING
#
# Files that cannot hold comments (empty, invalid UTF-8, generated) put their
# expectations in a sibling FILE.expect (FILE without `.ptl`), one a line:
#
#   LINE:COL: MESSAGE-SUBSTRING             (an error)
#   warning: LINE:COL: MESSAGE-SUBSTRING    (a warning)
#   # a comment; blank lines are ignored
#
# A file that also holds the line
#
#   // expect-no-other-warnings
#
# fails on any warning not matched by an expectation (a warning that must not
# appear); with it, a file needs no other expectation.
#
# LINE and COL may be `*` (any). The test passes iff
#   - ptlc was not killed by a signal;
#   - it exited with status exactly 1 if any error is expected, 0 otherwise;
#   - every expectation matches a printed line `PATH:LINE:COL: error: TEXT`
#     (or `warning:`) where PATH names FILE and TEXT contains the substring;
#   - every printed error line is matched by some expectation (unexpected
#     warnings are shown but tolerated).
#
#===----------------------------------------------------------------------===#
set -u

if [ $# -ne 2 ]; then
  echo "usage: $0 PTLC FILE.ptl" >&2
  exit 2
fi
ptlc=$1
file=$2
base=$(basename "$file")

# ---- Collect expectations: parallel arrays kind/line/col/text. -----------------
exp_kind=() exp_line=() exp_col=() exp_text=()
bad_annotation=0

add_expectation() { # KIND SPEC  (SPEC = "LINE:COL: TEXT")
  local kind=$1 spec=$2
  spec=${spec%$'\r'}
  if [[ $spec =~ ^[[:space:]]*([0-9]+|\*):([0-9]+|\*):[[:space:]]?(.*)$ ]]; then
    exp_kind+=("$kind")
    exp_line+=("${BASH_REMATCH[1]}")
    exp_col+=("${BASH_REMATCH[2]}")
    local text=${BASH_REMATCH[3]}
    text=${text%"${text##*[![:space:]]}"} # trim trailing blanks
    exp_text+=("$text")
  else
    echo "FAIL: malformed $kind annotation: '$spec'" >&2
    bad_annotation=1
  fi
}

while IFS= read -r raw || [ -n "$raw" ]; do
  case $raw in
    *"// expect-error:"*) add_expectation error "${raw#*// expect-error:}" ;;
    *"// expect-warning:"*) add_expectation warning "${raw#*// expect-warning:}" ;;
  esac
done < <(LC_ALL=C grep -a -e '// expect-error:' -e '// expect-warning:' "$file")

expect_file=${file%.ptl}.expect
if [ -f "$expect_file" ]; then
  while IFS= read -r raw || [ -n "$raw" ]; do
    raw=${raw%$'\r'}
    case $raw in
      '' | '#'*) ;;
      warning:*) add_expectation warning "${raw#warning:}" ;;
      error:*) add_expectation error "${raw#error:}" ;;
      *) add_expectation error "$raw" ;;
    esac
  done < "$expect_file"
fi

strict_warnings=0
if LC_ALL=C grep -aq -e '// expect-no-other-warnings' "$file"; then strict_warnings=1; fi

if [ $bad_annotation -ne 0 ]; then exit 1; fi
if [ ${#exp_kind[@]} -eq 0 ] && [ $strict_warnings -eq 0 ]; then
  echo "FAIL: $file has no '// expect-error:' annotations and no .expect file" >&2
  exit 1
fi

want_errors=0
for k in "${exp_kind[@]}"; do
  if [ "$k" = error ]; then want_errors=1; fi
done

# ---- Run the compiler. -----------------------------------------------------------
out=$("$ptlc" check "$file" 2>&1)
rc=$?

fail=0
report() { echo "FAIL: $*" >&2; fail=1; }

if [ $rc -ge 128 ]; then
  report "ptlc was killed by signal $((rc - 128)) (exit status $rc)"
elif [ $want_errors -eq 1 ] && [ $rc -ne 1 ]; then
  report "expected exit status 1, got $rc"
elif [ $want_errors -eq 0 ] && [ $rc -ne 0 ]; then
  report "expected exit status 0 (only warnings expected), got $rc"
fi

# ---- Parse the printed diagnostics. ------------------------------------------------
# A diagnostic line starts in column 1 (echoed source lines are indented):
#   PATH:LINE:COL: error: TEXT      or      ptlc: error: TEXT (no location)
act_kind=() act_line=() act_col=() act_text=() act_raw=() act_ours=()
diag_re='^([^[:space:]].*):([0-9]+):([0-9]+): (error|warning): (.*)$'
noloc_re='^ptlc: (error|warning): (.*)$'
while IFS= read -r line; do
  if [[ $line =~ $diag_re ]]; then
    act_kind+=("${BASH_REMATCH[4]}")
    act_line+=("${BASH_REMATCH[2]}")
    act_col+=("${BASH_REMATCH[3]}")
    act_text+=("${BASH_REMATCH[5]}")
    act_raw+=("$line")
    path=${BASH_REMATCH[1]}
    if [ "$path" = "$file" ] || [ "$(basename "$path")" = "$base" ]; then
      act_ours+=(1)
    else
      act_ours+=(0)
    fi
  elif [[ $line =~ $noloc_re ]]; then
    act_kind+=("${BASH_REMATCH[1]}")
    act_line+=("")
    act_col+=("")
    act_text+=("${BASH_REMATCH[2]}")
    act_raw+=("$line")
    act_ours+=(1)
  fi
done <<< "$out"

matches() { # EXPECTATION-INDEX ACTUAL-INDEX
  local e=$1 a=$2
  [ "${exp_kind[e]}" = "${act_kind[a]}" ] || return 1
  [ "${act_ours[a]}" = 1 ] || return 1
  if [ "${exp_line[e]}" != '*' ] && [ "${exp_line[e]}" != "${act_line[a]}" ]; then return 1; fi
  if [ "${exp_col[e]}" != '*' ] && [ "${exp_col[e]}" != "${act_col[a]}" ]; then return 1; fi
  [[ ${act_text[a]} == *"${exp_text[e]}"* ]]
}

declare -A used=()
for e in "${!exp_kind[@]}"; do
  found=0
  for a in "${!act_kind[@]}"; do
    if matches "$e" "$a"; then found=1; used[$a]=1; fi
  done
  if [ $found -eq 0 ]; then
    report "missing expected ${exp_kind[e]} at ${exp_line[e]}:${exp_col[e]}: '${exp_text[e]}'"
  fi
done
for a in "${!act_kind[@]}"; do
  if [ -z "${used[$a]:-}" ]; then
    if [ "${act_kind[a]}" = error ]; then
      report "unexpected error: ${act_raw[a]}"
    elif [ $strict_warnings -eq 1 ]; then
      report "unexpected warning: ${act_raw[a]}"
    else
      echo "note: unexpected warning (tolerated): ${act_raw[a]}" >&2
    fi
  fi
done

if [ $fail -ne 0 ]; then
  echo "---- ptlc check $file (exit $rc) ----" >&2
  printf '%s\n' "$out" >&2
  exit 1
fi
echo "PASS: $base (${#exp_kind[@]} expected diagnostics)"
exit 0
