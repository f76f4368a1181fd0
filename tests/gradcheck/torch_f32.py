#!/usr/bin/python3
"""tests/gradcheck/torch_f32.py - f32 softmax family against PyTorch float32.

Usage: torch_f32.py PTLC softmax_f32.ptl

Runs `PTLC run --interp` and `PTLC run --jit` on the script (in a fresh
temporary directory holding a copy of it), which prints, per case, its name
and then one element per line, and computes every case here with PyTorch in
float32 from the same inputs. Requires of each engine
  - the same case names and element counts;
  - every element within 4 float32 ulps of PyTorch's (ulp at the larger
    magnitude; below the smallest normal float32, within 2^-126 absolute),
    equal infinities, NaN for NaN.
Only the libm routines and summation order differ, a few ulps at most; the
old log_softmax rounding (max + log(sum) to f32 first) is hundreds of ulps
off at logits near 1000.

Needs Debian's /usr/bin/python3 with python3-torch (scripts/setup.sh --tests);
without PyTorch it prints SKIP and exits 0.
"""

import math
import os
import shutil
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import torch
except ImportError:
    print("SKIP: PyTorch (or NumPy) is not importable by %s (install python3-torch; see scripts/setup.sh --tests)"
          % sys.executable)
    sys.exit(0)

torch.set_num_threads(1)
F = torch.nn.functional
INF = math.inf


def t(values, grad=False):
    return torch.tensor(values, dtype=torch.float32, requires_grad=grad)


def gradient(make_loss, values):
    x = t(values, grad=True)
    make_loss(x).backward()
    return x.grad


def reference():
    """Each case of softmax_f32.ptl, in its order: name -> flat float32 values."""
    big = [1000.0, 1000.0]
    mixed = [1000.0, 999.0, 998.5, -3.0, 1003.25]
    rows = [[1.0e4, 10001.0, 9998.0], [0.1, -2.0, 3.5]]
    neginf = [-INF, 0.0, 1.0]
    logits = [[1000.0, 1000.0, 999.0], [50.0, -50.0, 20.0], [-1000.0, 1000.0, 0.0]]
    labels = torch.tensor([0, 2, 1])
    weights = t([0.5, -1.0, 2.0, 0.25, 1.5])
    cases = [
        ("log_softmax_big", F.log_softmax(t(big), -1)),
        ("log_softmax_neg", F.log_softmax(-t(big), -1)),
        ("log_softmax_mixed", F.log_softmax(t(mixed), -1)),
        ("log_softmax_rows", F.log_softmax(t(rows), -1)),
        ("log_softmax_cols", F.log_softmax(t(rows), 0)),
        ("log_softmax_neginf", F.log_softmax(t(neginf), -1)),
        ("softmax_mixed", F.softmax(t(mixed), -1)),
        ("softmax_rows", F.softmax(t(rows), -1)),
        ("logsumexp_mixed", torch.logsumexp(t(mixed), 0)),
        ("logsumexp_rows", torch.logsumexp(t(rows), 1)),
        ("cross_entropy", F.cross_entropy(t(logits), labels)),
        ("cross_entropy_grad", gradient(lambda x: F.cross_entropy(x, labels), logits)),
        ("log_softmax_grad", gradient(lambda x: (F.log_softmax(x, -1) * weights).sum(), mixed)),
        ("logsumexp_grad", gradient(lambda x: torch.logsumexp(x, 0), mixed)),
        ("softmax_grad", gradient(lambda x: (F.softmax(x, -1) * weights).sum(), mixed)),
    ]
    return [(name, value.detach().reshape(-1).numpy().astype(np.float32)) for name, value in cases]


def parse(text):
    """PTL's output: a name line starts a case; the lines after it are its elements."""
    cases = []
    for line in text.split("\n"):
        line = line.strip()
        if not line:
            continue
        try:
            cases[-1][1].append(np.float32(float(line)))
        except (ValueError, IndexError):
            cases.append((line, []))
    return cases


def close(actual, expected):
    if math.isnan(expected) or math.isnan(actual):
        return math.isnan(expected) and math.isnan(actual)
    if math.isinf(expected) or math.isinf(actual):
        return actual == expected
    scale = max(abs(actual), abs(expected), np.finfo(np.float32).tiny)
    return abs(float(actual) - float(expected)) <= 4 * float(np.spacing(np.float32(scale)))


def main():
    if len(sys.argv) != 3:
        print("usage: torch_f32.py PTLC SCRIPT.ptl", file=sys.stderr)
        return 2
    ptlc, script = os.path.abspath(sys.argv[1]), sys.argv[2]
    expected = reference()
    failures = 0
    for engine in ("--interp", "--jit"):
        work = tempfile.mkdtemp(prefix="ptl-torch-f32.")
        try:
            shutil.copy(script, work)
            run = subprocess.run([ptlc, "run", engine, os.path.basename(script)], cwd=work, capture_output=True,
                                 text=True, stdin=subprocess.DEVNULL)
        finally:
            shutil.rmtree(work)
        if run.returncode != 0:
            print("FAIL: ptlc run %s exited with status %d\n%s" % (engine, run.returncode, run.stderr))
            return 1
        actual = parse(run.stdout)
        if [(n, len(v)) for n, v in actual] != [(n, len(v)) for n, v in expected]:
            print("FAIL (%s): cases differ:\n  ptlc:    %s\n  PyTorch: %s"
                  % (engine, [(n, len(v)) for n, v in actual], [(n, len(v)) for n, v in expected]))
            return 1
        for (name, got), (_, want) in zip(actual, expected):
            for i, (a, e) in enumerate(zip(got, want)):
                if not close(a, e):
                    print("FAIL (%s): %s[%d] = %r, PyTorch float32 %r" % (engine, name, i, float(a), float(e)))
                    failures += 1
    count = sum(len(v) for _, v in expected)
    if failures:
        return 1
    print("PASS: %d elements in %d cases match PyTorch float32 in both engines" % (count, len(expected)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
