#!/usr/bin/python3
"""tests/gradcheck/optim_reference.py - std/optim against torch.optim (float64).

Usage:
  optim_reference.py steps ACTUAL       ACTUAL: the stdout of tests/gradcheck/optim_steps.ptl
  optim_reference.py schedules ACTUAL   ACTUAL: the stdout of tests/gradcheck/optim_schedules.ptl
  optim_reference.py clip ACTUAL        ACTUAL: the stdout of tests/gradcheck/optim_clip.ptl

Replays what the script did with PyTorch in float64, starting from the stored
values the script printed (`init`/`loop 0` lines, so both sides start from the
same bits), and compares every printed number:
  - optimiser steps (AdamW, RMSprop, Adagrad from torch.optim; Lion from the
    paper's update, which torch.optim lacks) with hyperparameters whose f32
    values and f32 products/powers are exact: |a - e| <= 1e-12 * max(|a|, |e|)
    + 1e-14 (only the rounding order differs);
  - the defaults (`train ... with OPT()`): PyTorch's defaults (read from the
    torch.optim signatures; Lion's from the paper) rounded to f32, as PTL
    stores them; PTL computes their powers (0.9^t) in f32, PyTorch in float64,
    to f32 accuracy, so 1e-6 of the distance each element moved;
  - schedules: every value against torch.optim.lr_scheduler (ConstantLR-free
    constant, LinearLR, CosineAnnealingLR, StepLR, ExponentialLR) and the
    closed form of docs/language.md, within f32 rounding (2e-6 relative);
  - the scheduled loop: PyTorch's AdamW with param_group["lr"] set to the lr
    PTL printed for that step (read as an f32), 1e-12 relative;
  - clipping: torch.nn.utils.clip_grad_norm_ / clip_grad_value_ (value
    first when both) between backward() and an AdamW, SGD or RMSprop step,
    after every step and after `train`, 1e-12 relative.
Exit status 0 when everything matches; prints one line per mismatch.
Needs Debian's /usr/bin/python3 with python3-torch and NumPy; optim_compare.sh skips without them.
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import inspect  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)
F = torch.float64
EPS20 = 2.0 ** -20
LEAVES = ("W", "b", "s")
SHAPES = {"W": (2, 3), "b": (2,), "s": ()}
failures = []


def f32(v):
    """The f64 value of v rounded to f32, as PTL stores an f32 hyperparameter."""
    return float(np.float32(v))


def close(a, e, rtol, atol):
    return abs(a - e) <= rtol * max(abs(a), abs(e)) + atol


def parse(path):
    """Lines `A B ... = VALUE` -> {(A, B, ...): value}."""
    out = {}
    with open(path) as fh:
        for line in fh:
            if "=" not in line:
                continue
            key, value = line.split("=")
            out[tuple(key.split())] = float(value)
    return out


def data():
    ar = lambda n: torch.arange(n, dtype=F)  # noqa: E731
    x = torch.sin(0.37 * ar(24) + 0.1).reshape(8, 3)
    y = torch.cos(0.9 * ar(16)).reshape(8, 2)
    return x, y


def leaves_from(values, prefix, leaves):
    """Stored leaves (W, b, u for s) from printed `PREFIX LEAF K` values."""
    p = {}
    for leaf in leaves:
        n = int(np.prod(SHAPES[leaf])) if SHAPES[leaf] else 1
        flat = [values[prefix + (leaf, str(k))] for k in range(n)]
        p[leaf] = torch.tensor(flat, dtype=F).reshape(SHAPES[leaf]).requires_grad_(True)
    return p


def loss_fn(p, x, y):
    s = torch.nn.functional.softplus(p["s"])  # `constrain > 0` stores u, s = softplus(u)
    h = x @ p["W"].T
    if "b" in p:
        h = h + p["b"]
    return torch.mean((s * torch.tanh(h) - y) ** 2)


class Lion(torch.optim.Optimizer):
    """Chen et al. 2023, Algorithm 2 (decoupled weight decay)."""

    def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0):
        super().__init__(params, dict(lr=lr, betas=betas, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            b1, b2 = group["betas"]
            for p in group["params"]:
                state = self.state[p]
                if not state:
                    state["exp_avg"] = torch.zeros_like(p)
                mom = state["exp_avg"]
                c = b1 * mom + (1 - b1) * p.grad
                p.mul_(1 - group["lr"] * group["weight_decay"])
                p.add_(torch.sign(c), alpha=-group["lr"])
                mom.mul_(b2).add_(p.grad, alpha=1 - b2)


def make(opt, params, defaults):
    if defaults:
        def dflt(cls, name):
            return inspect.signature(cls.__init__).parameters[name].default
        if opt == 1:
            b = dflt(torch.optim.AdamW, "betas")
            return torch.optim.AdamW(params, lr=f32(dflt(torch.optim.AdamW, "lr")), betas=(f32(b[0]), f32(b[1])),
                                     eps=f32(dflt(torch.optim.AdamW, "eps")),
                                     weight_decay=f32(dflt(torch.optim.AdamW, "weight_decay")))
        if opt == 2:
            assert dflt(torch.optim.RMSprop, "momentum") == 0 and not dflt(torch.optim.RMSprop, "centered")
            return torch.optim.RMSprop(params, lr=f32(dflt(torch.optim.RMSprop, "lr")),
                                       alpha=f32(dflt(torch.optim.RMSprop, "alpha")),
                                       eps=f32(dflt(torch.optim.RMSprop, "eps")))
        if opt == 3:
            return torch.optim.Adagrad(params, lr=f32(dflt(torch.optim.Adagrad, "lr")),
                                       initial_accumulator_value=f32(
                                           dflt(torch.optim.Adagrad, "initial_accumulator_value")),
                                       eps=f32(dflt(torch.optim.Adagrad, "eps")))
        return Lion(params, lr=f32(1e-4), betas=(f32(0.9), f32(0.99)), weight_decay=0.0)
    if opt == 1:
        return torch.optim.AdamW(params, lr=0.125, betas=(0.5, 0.25), eps=EPS20, weight_decay=0.25)
    if opt == 2:
        return torch.optim.RMSprop(params, lr=0.125, alpha=0.75, eps=EPS20)
    if opt == 3:
        return torch.optim.Adagrad(params, lr=0.25, initial_accumulator_value=0.5, eps=EPS20)
    return Lion(params, lr=0.0625, betas=(0.5, 0.75), weight_decay=0.5)


def expect(actual, key, value, rtol, atol):
    if key not in actual:
        failures.append(f"missing line: {' '.join(key)}")
    elif not close(actual[key], value, rtol, atol):
        failures.append(f"{' '.join(key)}: PTL {actual[key]!r}, PyTorch {value!r} "
                        f"(difference {abs(actual[key] - value):.3g})")


def check_params(actual, prefix, p, rtol, atol, start=None, move_tol=0.0):
    """Every element of p against ACTUAL; with START (the initial stored values),
    also allow move_tol times how far the element moved."""
    for leaf, t in p.items():
        for k, v in enumerate(t.detach().reshape(-1).tolist()):
            extra = move_tol * abs(v - start[(leaf, k)]) if start else 0.0
            expect(actual, prefix + (leaf, str(k)), v, rtol, atol + extra)


def run_steps(actual):
    x, y = data()
    checked = 0
    for opt in (1, 2, 3, 4):
        for prefix_of, defaults in ((lambda t: (str(opt), str(t)), False),
                                    (lambda t: (str(10 + opt), "5"), False),
                                    (lambda t: (str(20 + opt), "5"), True)):
            p = leaves_from(actual, ("0", "0"), LEAVES)
            start = {(leaf, k): v for leaf, t in p.items()
                     for k, v in enumerate(t.detach().reshape(-1).tolist())}
            o = make(opt, list(p.values()), defaults)
            for t in range(1, 6):
                o.zero_grad()
                loss_fn(p, x, y).backward()
                o.step()
                if prefix_of(t)[1] == str(t):
                    if defaults:  # f32 powers of 0.9, 0.999: 1e-6 of the distance moved
                        check_params(actual, prefix_of(t), p, 1e-12, 1e-14, start, 1e-6)
                    else:
                        check_params(actual, prefix_of(t), p, 1e-12, 1e-14)
                    checked += 1
    return checked


def schedule_reference():
    """{name: [lr at steps 1..12]} from torch.optim.lr_scheduler and the closed forms."""
    def torch_lrs(base, make_sched, n=12):
        p = torch.zeros(1, requires_grad=True)
        o = torch.optim.SGD([p], lr=base)
        s = make_sched(o)
        lrs = []
        for _ in range(n):
            lrs.append(o.param_groups[0]["lr"])
            o.step()
            s.step()
        return lrs

    import warnings
    warnings.filterwarnings("ignore", category=UserWarning)  # SequentialLR's epoch notice

    sch = torch.optim.lr_scheduler
    ref = {
        "constant": [0.05] * 12,
        "linear_warmup": torch_lrs(0.1, lambda o: sch.LinearLR(o, start_factor=1 / 4, end_factor=1.0, total_iters=3)),
        "cosine": torch_lrs(0.1, lambda o: sch.CosineAnnealingLR(o, T_max=12)),
        "cosine_final": torch_lrs(0.1, lambda o: sch.CosineAnnealingLR(o, T_max=12, eta_min=0.01)),
        "step_decay": torch_lrs(0.1, lambda o: sch.StepLR(o, step_size=3, gamma=0.5)),
        "exponential": torch_lrs(0.1, lambda o: sch.ExponentialLR(o, gamma=0.9)),
    }
    # Warm-up then cosine: LinearLR for steps 1..4, then CosineAnnealingLR(T_max = 12 - 4).
    ref["cosine_warmup"] = torch_lrs(0.1, lambda o: sch.SequentialLR(
        o, [sch.LinearLR(o, start_factor=1 / 4, total_iters=3), sch.CosineAnnealingLR(o, T_max=8)],
        milestones=[4]))
    # The closed forms of docs/language.md must say the same.
    closed = {
        "linear_warmup": [0.1 * min(s, 4) / 4 for s in range(1, 13)],
        "cosine": [0.1 * 0.5 * (1 + math.cos(math.pi * (s - 1) / 12)) for s in range(1, 13)],
        "step_decay": [0.1 * 0.5 ** ((s - 1) // 3) for s in range(1, 13)],
        "exponential": [0.1 * 0.9 ** (s - 1) for s in range(1, 13)],
        "cosine_warmup": [0.1 * s / 4 if s <= 4 else 0.1 * 0.5 * (1 + math.cos(math.pi * (s - 5) / 8))
                          for s in range(1, 13)],
    }
    for name, values in closed.items():
        for s, (a, b) in enumerate(zip(values, ref[name]), 1):
            if not close(a, b, 1e-12, 1e-15):
                failures.append(f"reference disagrees with itself: {name} step {s}: formula {a}, torch {b}")
    return ref


def run_schedules(actual):
    checked = 0
    for name, values in schedule_reference().items():
        for s, v in enumerate(values, 1):
            expect(actual, ("sched", name, str(s)), v, 2e-6, 1e-9)
            checked += 1
    # The hand-written loop: AdamW with the lr PTL computed for each step.
    x, y = data()
    p = leaves_from(actual, ("loop", "0"), ("W", "s"))
    o = torch.optim.AdamW(list(p.values()), lr=0.0, betas=(0.5, 0.25), eps=EPS20, weight_decay=0.25)
    for t in range(1, 9):
        lr = f32(actual[("loop", str(t), "lr")])
        expect(actual, ("loop", str(t), "lr"),
               0.125 * t / 3 if t <= 3 else 0.0625 * (1 + math.cos(math.pi * (t - 4) / 5)), 2e-6, 1e-9)
        o.param_groups[0]["lr"] = lr
        o.zero_grad()
        loss_fn(p, x, y).backward()
        o.step()
        check_params(actual, ("loop", str(t)), p, 1e-12, 1e-14)
        checked += 1
    return checked


def run_clip(actual):
    """optim_clip.ptl: clipping between backward() and the optimiser step."""
    x, y = data()
    checked = 0
    p0 = leaves_from(actual, ("0", "0"), LEAVES)
    loss_fn(p0, x, y).backward()
    gnorm = math.sqrt(sum(float((t.grad ** 2).sum()) for t in p0.values()))
    expect(actual, ("gnorm", "0"), gnorm, 1e-12, 0.0)
    if gnorm <= 0.125:
        failures.append(f"the first gradient's norm {gnorm} does not exceed max_norm 0.125: clipping is inactive")
    cases = {  # case: (optimiser, max_norm, clip_value)
        1: (lambda ps: torch.optim.AdamW(ps, lr=0.125, betas=(0.5, 0.25), eps=EPS20, weight_decay=0.25), 0.125, None),
        2: (lambda ps: torch.optim.SGD(ps, lr=0.5), None, 0.0625),
        3: (lambda ps: torch.optim.RMSprop(ps, lr=0.125, alpha=0.75, eps=EPS20), 0.125, 0.25),
    }
    for case, (make_opt, max_norm, clip_value) in cases.items():
        p = leaves_from(actual, ("0", "0"), LEAVES)
        o = make_opt(list(p.values()))
        for t in range(1, 6):
            o.zero_grad()
            loss_fn(p, x, y).backward()
            if clip_value is not None:
                torch.nn.utils.clip_grad_value_(list(p.values()), clip_value)
            if max_norm is not None:
                torch.nn.utils.clip_grad_norm_(list(p.values()), max_norm)
            o.step()
            check_params(actual, (str(case), str(t)), p, 1e-12, 1e-14)
            checked += 1
        check_params(actual, (str(10 + case), "5"), p, 1e-12, 1e-14)
        checked += 1
    return checked


def main():
    modes = {"steps": run_steps, "schedules": run_schedules, "clip": run_clip}
    if len(sys.argv) != 3 or sys.argv[1] not in modes:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    actual = parse(sys.argv[2])
    checked = modes[sys.argv[1]](actual)
    for f in failures[:40]:
        print(f)
    if failures:
        print(f"{len(failures)} mismatches")
        return 1
    print(f"{checked} checks of every leaf element")
    return 0


if __name__ == "__main__":
    sys.exit(main())
