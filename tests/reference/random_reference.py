#!/usr/bin/env python3
"""An independent transcription of runtime/Rng.h's fold_in, keyed permutation
and of minibatch's row formula (docs/language.md, "Random numbers").

Usage: random_reference.py PTLC FILE.ptl
Runs `PTLC run FILE` (tests/reference/random_keys.ptl), recomputes every
printed line here and requires them equal. Pure Python (no NumPy)."""
import subprocess
import sys

M0, M1, W0, W1 = 0xD2511F53, 0xCD9E8D57, 0x9E3779B9, 0xBB67AE85
U32 = 0xFFFFFFFF


def philox(c, k):
    """Philox-4x32-10 (Salmon et al., Random123)."""
    c, k = list(c), list(k)
    for r in range(10):
        if r > 0:
            k = [(k[0] + W0) & U32, (k[1] + W1) & U32]
        p0, p1 = M0 * c[0], M1 * c[2]
        c = [((p1 >> 32) ^ c[1] ^ k[0]) & U32, p1 & U32, ((p0 >> 32) ^ c[3] ^ k[1]) & U32, p0 & U32]
    return c


def key_of(seed):
    s = seed & 0xFFFFFFFFFFFFFFFF  # i32 seeds are sign-extended to 64 bits
    return [s & U32, s >> 32]


def to_i32(x):
    return x - (1 << 32) if x >= 1 << 31 else x


def fold_in(k, d):
    return to_i32(philox([d & U32, 0, 0x666F6C64, 0x5F696E00], key_of(k))[0])


def perm(seed, n, i):
    if n <= 1:
        return 0
    bits = 0
    while (1 << bits) < n:
        bits += 1
    h = max(1, (bits + 1) // 2)
    mask = (1 << h) - 1
    x = i
    while True:
        left, right = x >> h, x & mask
        for r in range(8):
            w = philox([right, r, n & U32, 0x7065726D], key_of(seed))
            left, right = right, left ^ (w[0] & mask)
        x = (left << h) | right
        if x < n:
            return x


def minibatch_rows(n, batch, step, seed):
    k = n // batch
    s0 = step - 1
    b = s0 % k  # Python's % and // floor, as the formula says
    e = (s0 - b) // k
    key = fold_in(seed, e)
    return [perm(key, n, b * batch + j) for j in range(batch)]


def fmt(xs):
    """NumPy's print of a 1-D int array (one line, width of the widest)."""
    w = max(len(str(x)) for x in xs)
    body = " ".join(str(x).rjust(w) for x in xs)
    return "[" + body + "]"


def expected():
    out = []
    for k in range(-3, 4):
        for d in range(-2, 3):
            out.append(f"fold_in {k * 1000003} {d * 7919} {fold_in(k * 1000003, d * 7919)}")
    for key in range(-2, 3):
        for n in (1, 2, 7, 64, 100):
            out.append(f"perm {n} {key} " + fmt([perm(key, n, i) for i in range(n)]))
    for step in range(-1, 12):
        out.append(f"minibatch 50 8 seed 11 {step} " + fmt(minibatch_rows(50, 8, step, 11)))
    return out


def main():
    ptlc, script = sys.argv[1], sys.argv[2]
    run = subprocess.run([ptlc, "run", script], capture_output=True, text=True)
    if run.returncode != 0:
        print(run.stderr)
        sys.exit(f"FAIL: ptlc exited with {run.returncode}")
    # NumPy wraps long rows; join continuation lines (they start with a space).
    got = []
    for line in run.stdout.splitlines():
        if line.startswith(" ") and got:
            got[-1] += " " + line.strip()
        else:
            got.append(line)
    got = [" ".join(l.replace("[ ", "[").split()) for l in got]
    want = [" ".join(l.replace("[ ", "[").split()) for l in expected()]
    bad = [(g, w) for g, w in zip(got, want) if g != w]
    if len(got) != len(want) or bad:
        for g, w in bad[:5]:
            print(f"got  {g}\nwant {w}")
        sys.exit(f"FAIL: {len(bad)} of {len(want)} lines differ ({len(got)} printed)")
    print(f"PASS: {len(want)} lines")


if __name__ == "__main__":
    main()
