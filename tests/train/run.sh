#!/usr/bin/env bash
#===- tests/train/run.sh - A train loop's metrics, stop and plot (check_report.py) ===#
#
# Usage: run.sh PTLC
# Needs Debian's /usr/bin/python3 (xml.etree reads the SVG); SKIPs without it.
#
#===----------------------------------------------------------------------===#
set -u
if [ $# -ne 1 ]; then
  echo "usage: $0 PTLC" >&2
  exit 2
fi
if [ ! -x /usr/bin/python3 ]; then
  echo "SKIP: /usr/bin/python3 not found (see scripts/setup.sh --tests)"
  exit 0
fi
exec /usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/check_report.py" "$1"
