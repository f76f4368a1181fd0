#!/usr/bin/python3
"""tests/plot/check_plot.py - `ptlc plot`: the SVG's structure and the errors.

Usage: check_plot.py PTLC

In a fresh temporary directory:
  - trains a tiny model with `train ... log every 5 to "run.csv"`, plots it, and
    checks the SVG: well-formed XML (xml.etree), one <polyline data-column="loss">
    with one point per CSV row, x increasing with the step and y decreasing with
    the loss inside the panel's frame, the title `loss`, the x label `step`,
    tick labels on both axes;
  - a three-column CSV (loss, val with two NaN rows, acc): one panel (title)
    per column, val broken into two polylines holding the 98 finite points;
  - --overlay: one panel, a legend naming every column, same point counts;
  - --log-y: values <= 0 are left out with a note on stderr, decade tick labels;
  - a header without rows: an empty panel, status 0;
  - errors, each exit status 1 with a `ptlc plot: error:` message: a missing
    file, no `step` column, a non-numeric cell, an output outside the sandbox,
    an output that is a symbolic link to a file outside it (not written).
Prints PASS, or FAIL lines and exits 1.
"""

import math
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

SVG = "{http://www.w3.org/2000/svg}"
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def run(ptlc, args, cwd):
    p = subprocess.run([ptlc] + args, cwd=cwd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


def parse(path):
    try:
        return ET.parse(path).getroot()
    except ET.ParseError as e:
        failures.append(f"{path}: not well-formed XML: {e}")
        return None


def texts(root, cls):
    return [t.text for t in root.iter(SVG + "text") if t.get("class") == cls]


def polylines(root, column):
    out = []
    for p in root.iter(SVG + "polyline"):
        if p.get("data-column") == column:
            out.append([tuple(map(float, xy.split(","))) for xy in p.get("points").split()])
    return out


def write_csv(path, header, rows):
    with open(path, "w") as f:
        f.write(",".join(header) + "\n")
        for r in rows:
            f.write(",".join(str(v) for v in r) + "\n")


def main():
    ptlc = os.path.abspath(sys.argv[1])
    work = tempfile.mkdtemp(prefix="ptl-plot.")
    outside = tempfile.mkdtemp(prefix="ptl-plot-outside.")
    try:
        return checks(ptlc, work, outside)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(outside, ignore_errors=True)


def checks(ptlc, work, outside):
    # ---- A real training log ------------------------------------------------------------
    with open(os.path.join(work, "t.ptl"), "w") as f:
        f.write('var w = zeros[3]\n'
                'train w minimizing sum((w - 1.0) ^ 2) + 0.01 with adamw(lr = 0.05) for 200 steps '
                'log every 5 to "run.csv"\n')
    rc, _, err = run(ptlc, ["run", "t.ptl"], work)
    check(rc == 0, f"ptlc run t.ptl failed: {err}")
    with open(os.path.join(work, "run.csv")) as f:
        lines = f.read().split()
    check(lines[0] == "step,loss", f"train's log header is {lines[0]!r}")
    rows = [tuple(map(float, line.split(","))) for line in lines[1:]]
    check(len(rows) == 40, f"train's log has {len(rows)} rows, expected 40")
    rc, _, err = run(ptlc, ["plot", "run.csv", "-o", "run.svg"], work)
    check(rc == 0 and err == "", f"ptlc plot run.csv: status {rc}, stderr {err!r}")
    root = parse(os.path.join(work, "run.svg"))
    if root is not None:
        check(root.tag == SVG + "svg", f"root element is {root.tag}")
        lines_ = polylines(root, "loss")
        check(len(lines_) == 1, f"{len(lines_)} polylines for loss, expected 1")
        pts = lines_[0] if lines_ else []
        check(len(pts) == len(rows), f"loss polyline has {len(pts)} points, the CSV {len(rows)} rows")
        check(all(b[0] > a[0] for a, b in zip(pts, pts[1:])), "x does not increase with the step")
        # The loss falls (Adam on a quadratic), so y (downwards on screen) grows.
        falling = [i for i in range(len(rows) - 1) if rows[i + 1][1] < rows[i][1]]
        check(len(falling) >= 10 and pts[-1][1] > pts[0][1] + 100 and
              all(pts[i + 1][1] >= pts[i][1] for i in falling), "y does not follow the loss")
        frame = [r for r in root.iter(SVG + "rect") if r.get("class") == "frame"]
        check(len(frame) == 1, f"{len(frame)} panel frames, expected 1")
        if frame:
            x0, y0 = float(frame[0].get("x")), float(frame[0].get("y"))
            x1, y1 = x0 + float(frame[0].get("width")), y0 + float(frame[0].get("height"))
            check(all(x0 <= x <= x1 and y0 <= y <= y1 for x, y in pts), "points outside the panel frame")
        check(texts(root, "title") == ["loss"], f"titles {texts(root, 'title')}")
        check(texts(root, "xlabel") == ["step"], f"x labels {texts(root, 'xlabel')}")
        check(texts(root, "ylabel") == ["loss"], f"y labels {texts(root, 'ylabel')}")
        xt, yt = texts(root, "xtick"), texts(root, "ytick")
        check(len(xt) >= 3 and "0" in xt and "200" in xt, f"x tick labels {xt}")
        check(len(yt) >= 3, f"y tick labels {yt}")

    # ---- Several columns, NaN breaks the line --------------------------------------------
    rows = []
    for s in range(1, 101):
        loss = 2 * math.exp(-s / 20) + 0.05
        rows.append((s, loss, "nan" if s in (40, 41) else loss * 1.2, 1 - math.exp(-s / 30)))
    write_csv(os.path.join(work, "multi.csv"), ["step", "loss", "val", "acc"], rows)
    for extra, panels in (([], 3), (["--overlay"], 1)):
        rc, _, err = run(ptlc, ["plot", "multi.csv", "-o", "multi.svg"] + extra, work)
        check(rc == 0, f"ptlc plot multi.csv {extra}: status {rc}: {err}")
        root = parse(os.path.join(work, "multi.svg"))
        if root is None:
            continue
        frames = [r for r in root.iter(SVG + "rect") if r.get("class") == "frame"]
        check(len(frames) == panels, f"{extra}: {len(frames)} panels, expected {panels}")
        for col, n_lines, n_pts in (("loss", 1, 100), ("val", 2, 98), ("acc", 1, 100)):
            ls = polylines(root, col)
            check(len(ls) == n_lines and sum(map(len, ls)) == n_pts,
                  f"{extra}: {col}: {len(ls)} polylines, {sum(map(len, ls))} points; expected {n_lines}, {n_pts}")
        if extra:
            legend = [g for g in root.iter(SVG + "g") if g.get("class") == "legend"]
            names = [t.text for g in legend for t in g.iter(SVG + "text")]
            check(names == ["loss", "val", "acc"], f"overlay legend {names}")
            check(texts(root, "title") == ["loss, val, acc"], f"overlay title {texts(root, 'title')}")
        else:
            check(texts(root, "title") == ["loss", "val", "acc"], f"titles {texts(root, 'title')}")
            check(texts(root, "xlabel") == ["step"], "one shared x label under the last panel")

    # ---- --log-y: values <= 0 left out with a note -----------------------------------------
    write_csv(os.path.join(work, "signs.csv"), ["step", "loss"],
              [(1, 100.0), (2, 10.0), (3, 0.0), (4, -1.0), (5, 0.01), (6, 0.001)])
    rc, _, err = run(ptlc, ["plot", "signs.csv", "--log-y"], work)
    check(rc == 0, f"--log-y: status {rc}: {err}")
    check("note: column 'loss': 2 values <= 0 are not drawn on the log scale" in err, f"--log-y note: {err!r}")
    root = parse(os.path.join(work, "signs.svg"))  # the default output: the CSV's name with .svg
    if root is not None:
        ls = polylines(root, "loss")
        check([len(p) for p in ls] == [2, 2], f"--log-y: runs of {[len(p) for p in ls]} points, expected [2, 2]")
        yt = texts(root, "ytick")
        check(yt == ["0.001", "0.01", "0.1", "1", "10", "100"], f"--log-y tick labels {yt}")
        check(texts(root, "ylabel") == ["loss (log scale)"], f"--log-y label {texts(root, 'ylabel')}")

    # ---- No data rows yet: empty panels, not an error ------------------------------------
    write_csv(os.path.join(work, "empty.csv"), ["step", "loss"], [])
    rc, _, err = run(ptlc, ["plot", "empty.csv"], work)
    check(rc == 0, f"empty.csv: status {rc}: {err}")
    root = parse(os.path.join(work, "empty.svg"))
    if root is not None:
        check(polylines(root, "loss") == [] and texts(root, "empty") == ["no values to draw"],
              "empty.csv: expected an empty panel saying so")

    # ---- Errors ---------------------------------------------------------------------------
    write_csv(os.path.join(work, "nostep.csv"), ["epoch", "loss"], [(1, 0.5)])
    write_csv(os.path.join(work, "bad.csv"), ["step", "loss"], [(1, 0.5), (2, "oops")])
    target = os.path.join(outside, "victim.svg")
    with open(target, "w") as f:
        f.write("untouched")
    os.symlink(target, os.path.join(work, "link.svg"))
    cases = [
        (["plot", "missing.csv"], "missing.csv: cannot open file"),
        (["plot", "nostep.csv"], "nostep.csv: no 'step' column (the header has: epoch, loss)"),
        (["plot", "bad.csv"], "bad.csv: line 3 (row 2), column 'loss': 'oops' is not a number"),
        (["plot", "run.csv", "-o", os.path.join(outside, "x.svg")], "is outside the directories this script may access"),
        (["plot", "run.csv", "-o", "link.svg"], "resolves to"),
    ]
    for args, message in cases:
        rc, out, err = run(ptlc, args, work)
        check(rc == 1, f"{' '.join(args)}: status {rc}, expected 1")
        check(err.startswith("ptlc plot: error: ") and message in err,
              f"{' '.join(args)}: stderr {err!r} lacks {message!r}")
    with open(target) as f:
        check(f.read() == "untouched", "the link's target outside the sandbox was written")
    check(not os.path.exists(os.path.join(outside, "x.svg")), "a file outside the sandbox was written")

    for f in failures:
        print("FAIL:", f)
    if failures:
        return 1
    print("PASS: ptlc plot (structure, NaN breaks, overlay, log scale, 5 errors)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
