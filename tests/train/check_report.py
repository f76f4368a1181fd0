#!/usr/bin/python3
"""tests/train/check_report.py - a train loop's metrics, early stop and plot.

Usage: check_report.py PTLC

Runs one script under `ptlc run --interp` and `ptlc run --jit`, each in a
fresh temporary directory (no file exists before the run, so the same-run
load_csv of the log is typed from the train statement), and checks
  - both runs exit 0 with identical stdout and stderr (plain progress lines:
    stderr is not a terminal here), and stdout is what the script prints;
  - the log, byte for byte: `step,loss,val,q` then a row per logged step up to
    the stop (the same bytes from both engines);
  - stderr: the plain progress lines show the metrics logged so far, and the
    stop reason `train: stopped at step 5/10: q stalls for 2 (best -3 at step 3)`;
  - the plot refreshed by `plot to "run.svg"`: well-formed SVG with one
    <polyline data-column=C> per column (loss, val, q), one point per logged
    row, a panel title per column and the `step` x label.
Prints PASS, or FAIL lines and exits 1.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

SVG = "{http://www.w3.org/2000/svg}"

# SGD (lr = 0.25) on sum((w - 1)^2): before step t, w = 1 - 0.5^(t-1), so the
# loss 2 * 0.25^(t-1), val = sum((w - 2)^2) and q = -floor(4 w) are exact.
SCRIPT = """var w = zeros[2]
train w minimizing sum((w - 1.0) ^ 2) with sgd(lr = 0.25) for 10 steps
  log every 1 to "run.csv" with val = sum((w - 2.0) ^ 2), q = -floor(w[0] * 4.0) plot to "run.svg"
  until q stalls for 2
print(w)
let log = load_csv("run.csv")
print(log.q)
"""

CSV = """step,loss,val,q
1,2.0,8.0,-0.0
2,0.5,4.5,-2.0
3,0.125,3.125,-3.0
4,0.03125,2.53125,-3.0
5,0.0078125,2.2578125,-3.0
"""

STDOUT = """[0.96875 0.96875]
[-0. -2. -3. -3. -3. nan nan nan nan nan]
"""

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def run(ptlc, engine):
    work = tempfile.mkdtemp(prefix="ptl-train-report.")
    try:
        with open(os.path.join(work, "t.ptl"), "w") as f:
            f.write(SCRIPT)
        p = subprocess.run([ptlc, "run", engine, "t.ptl"], cwd=work, capture_output=True, text=True,
                           stdin=subprocess.DEVNULL)
        files = {}
        for name in ("run.csv", "run.svg"):
            path = os.path.join(work, name)
            files[name] = open(path, "rb").read() if os.path.exists(path) else None
        return p.returncode, p.stdout, p.stderr, files
    finally:
        shutil.rmtree(work, ignore_errors=True)


def polylines(root, column):
    return [[tuple(map(float, xy.split(","))) for xy in p.get("points").split()]
            for p in root.iter(SVG + "polyline") if p.get("data-column") == column]


def texts(root, cls):
    return [t.text for t in root.iter(SVG + "text") if t.get("class") == cls]


def main():
    ptlc = os.path.abspath(sys.argv[1])
    runs = {e: run(ptlc, e) for e in ("--interp", "--jit")}
    for engine, (rc, out, err, files) in runs.items():
        check(rc == 0, f"{engine}: exit status {rc}, stderr {err!r}")
        check(out == STDOUT, f"{engine}: stdout {out!r}, expected {STDOUT!r}")
        check(files["run.csv"] == CSV.encode(), f"{engine}: run.csv is {files['run.csv']!r}, expected {CSV!r}")
        lines = err.splitlines()
        check("train: step 2/10 loss 0.5  val 4.5  q -2" in lines, f"{engine}: no metrics on the progress lines: {err!r}")
        check(lines[-1:] == ["train: stopped at step 5/10: q stalls for 2 (best -3 at step 3)"],
              f"{engine}: stop reason: {err!r}")
        check(files["run.svg"] is not None, f"{engine}: no run.svg")
        if files["run.svg"] is None:
            continue
        try:
            root = ET.fromstring(files["run.svg"])
        except ET.ParseError as e:
            failures.append(f"{engine}: run.svg is not well-formed XML: {e}")
            continue
        for column in ("loss", "val", "q"):
            lines_ = polylines(root, column)
            check(len(lines_) == 1 and len(lines_[0]) == 5,
                  f"{engine}: column {column}: polylines with {[len(l) for l in lines_]} points, expected one of 5")
        check(texts(root, "title") == ["loss", "val", "q"], f"{engine}: titles {texts(root, 'title')}")
        check(texts(root, "xlabel") == ["step"], f"{engine}: x labels {texts(root, 'xlabel')}")
    (_, out_i, err_i, files_i), (_, out_j, err_j, files_j) = runs["--interp"], runs["--jit"]
    check(out_i == out_j and err_i == err_j and files_i == files_j,
          "the engines differ: stdout, stderr, run.csv or run.svg")
    if failures:
        for f in failures:
            print("FAIL:", f)
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
