#!/usr/bin/env bash
#===- tests/repl/run.sh - Runs the REPL's pseudo-terminal test ------------===#
#
# Usage: run.sh PTLC
#
# Runs tests/repl/session.py, which types a session into `PTLC` through a
# pseudo-terminal. Without python3 it prints SKIP and exits 0.
#
#===----------------------------------------------------------------------===#
set -u
if ! command -v python3 >/dev/null 2>&1; then
  echo "SKIP: python3 not found (install it with scripts/setup.sh --tests)"
  exit 0
fi
exec python3 "$(dirname "$0")/session.py" "$1"
