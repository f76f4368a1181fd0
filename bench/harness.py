"""The benchmark harness behind bench/run.sh (run that; it builds what this needs).

Runs every workload of BENCHMARKS.md as a PTL program (bench/ptl), as a PyTorch
baseline (bench/torch, only where /usr/bin/python3 can import torch) and, for
mlp_train and tiny_mlp, as hand-written C++ + OpenBLAS (bench/cpp), prints one
table and writes JSON. Standard library only.

PTL protocol (PTL has no clock): every program reads `arg("steps", ...)` and runs
that many steps. `ptlc run --stats` prints the in-process run time (compile time
excluded) and counters; the harness runs each program with steps = W (warm-up
only) and steps = W + N, R times each, alternating, and takes
    ms/step min    = (min run_ms(W + N) - min run_ms(W)) / N
    ms/step median = (median run_ms(W + N) - median run_ms(W)) / N
Set-up (data, model construction) and warm-up cancel in the difference.
Allocations per step are differences of counts too (deterministic): tensor
storage allocations from --stats, and every heap allocation counted by
bench/cpp/alloc_count.so preloaded into one extra pair of runs.
"""
import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PTL_DIR = os.path.join(HERE, "ptl")
TORCH_DIR = os.path.join(HERE, "torch")
PY = "/usr/bin/python3"  # Debian's Python: the one that sees python3-torch

# name: (W, N) of BENCHMARKS.md, and the --quick settings
FULL = {"mlp_train": (20, 200), "tiny_mlp": (100, 2000), "rnn_online": (3, 20), "rnn_online_fo": (3, 20),
        "maml_sine": (3, 20), "maml_sine_fo": (3, 20), "powerlaw_reparam": (0, 2000), "grad_overhead": (20, 200),
        "mlp_minibatch": (20, 500)}
QUICK = {"mlp_train": (1, 2), "tiny_mlp": (10, 50), "rnn_online": (1, 1), "rnn_online_fo": (1, 1),
         "maml_sine": (1, 1), "maml_sine_fo": (1, 1), "powerlaw_reparam": (0, 50), "grad_overhead": (1, 2),
         "mlp_minibatch": (1, 2)}
ORDER = ["mlp_train", "tiny_mlp", "rnn_online", "rnn_online_fo", "maml_sine", "maml_sine_fo",
         "powerlaw_reparam", "grad_overhead", "mlp_minibatch"]

STATS_RE = re.compile(r"ptlc-stats: (.*)")
BENCH_RE = re.compile(r"^BENCH (\S+) (.*)$", re.M)


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def median(xs):
    return statistics.median(xs) if xs else None


# ---- PTL ----------------------------------------------------------------------------
# Workloads with a `map`: PTL's parallel map may use every core (the issue's
# rule: PTL single-threaded unless the workload has a map), so they are also
# timed with ptlc's default thread count.
MAP_WORKLOADS = ("maml_sine", "maml_sine_fo")


def run_ptl(opts, name, args, alloc_file=None, threads=1, env_extra=None):
    """One `ptlc run --stats`; threads=None leaves ptlc's default (all cores)."""
    cmd = [opts.ptlc, "run", os.path.join(PTL_DIR, name + ".ptl"), "--stats"] + opts.ptlc_arg
    if threads is not None:
        cmd += ["--threads", str(threads)]
    for k, v in args.items():
        cmd += ["--arg", f"{k}={v}"]
    env = dict(os.environ, **(env_extra or {}))
    if alloc_file:
        env["LD_PRELOAD"] = opts.alloc_so
        env["PTL_ALLOC_COUNT_FILE"] = alloc_file
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=opts.timeout)
    wall_ms = (time.perf_counter() - t0) * 1e3
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{p.stdout}{p.stderr}")
    m = STATS_RE.search(p.stderr)
    if not m:
        raise RuntimeError(f"no ptlc-stats line from {' '.join(cmd)}:\n{p.stderr}")
    stats = {}
    for k, v in (kv.split("=", 1) for kv in m.group(1).split()):
        try:
            stats[k] = float(v)
        except ValueError:
            stats[k] = v  # cache=hit|miss|off
    out = {}
    for k, v in BENCH_RE.findall(p.stdout):
        try:
            out[k] = float(v)
        except ValueError:
            out[k] = v
    if alloc_file:
        with open(alloc_file) as f:
            stats["heap_allocs"] = float(f.read())
    stats["wall_ms"] = wall_ms
    return stats, out


def ptl_measure(opts, name, small, big, n, threads=1, env_extra=None):
    """Times `big` against `small` (the argument dicts differ by n steps)."""
    rs, rb, compile_ms = [], [], []
    last = None
    for _ in range(opts.ptl_repeats):
        s, _ = run_ptl(opts, name, small, threads=threads, env_extra=env_extra)
        b, last = run_ptl(opts, name, big, threads=threads, env_extra=env_extra)
        rs.append(s)
        rb.append(b)
        compile_ms += [s["compile_ms"], b["compile_ms"]]
    res = {
        "step_ms_min": (min(r["run_ms"] for r in rb) - min(r["run_ms"] for r in rs)) / n,
        "step_ms_median": (median([r["run_ms"] for r in rb]) - median([r["run_ms"] for r in rs])) / n,
        "compile_ms_min": min(compile_ms),
        "compile_ms_median": median(compile_ms),
        "tensor_allocs_per_step": (rb[0]["tensor_allocs"] - rs[0]["tensor_allocs"]) / n,
        "peak_rss_kb": max(r["peak_rss_kb"] for r in rb),
        "peak_tensor_bytes": max(r["peak_tensor_bytes"] for r in rb),
        "run_ms_small": [r["run_ms"] for r in rs], "run_ms_big": [r["run_ms"] for r in rb],
        "args_small": small, "args_big": big, "outputs": last,
    }
    if opts.alloc_so and threads == 1 and not env_extra:
        f = os.path.join(opts.work, f"allocs-{os.getpid()}.txt")
        s, _ = run_ptl(opts, name, small, f)
        b, _ = run_ptl(opts, name, big, f)
        res["heap_allocs_per_step"] = (b["heap_allocs"] - s["heap_allocs"]) / n
        os.unlink(f)
    return res


def ptl_compile(opts, name, small):
    """Cold and warm (code cache) compiles of `name`, each in a process of its
    own with the workload's warm-up arguments: compile_ms of a run with an
    empty cache directory (a miss: LLVM optimises and generates code, then
    stores the objects), compile_ms of the run after it (a hit), and the whole
    process's wall time of that warm run (start-up, compile, W steps, exit);
    min over repeats. The cache is a scratch directory under --work."""
    import shutil
    cache = os.path.join(opts.work, f"code-cache-{os.getpid()}")
    cold, warm, wall = [], [], []
    for _ in range(opts.ptl_repeats):
        shutil.rmtree(cache, ignore_errors=True)
        env = {"PTL_CACHE_DIR": cache}
        c, _ = run_ptl(opts, name, small, env_extra=env)
        h, _ = run_ptl(opts, name, small, env_extra=env)
        if "cache" not in c:  # an engine without the code cache (--ptlc-arg=--interp)
            return None
        if c.get("cache") != "miss" or h.get("cache") != "hit":
            raise RuntimeError(f"{name}: expected a cache miss then a hit, got {c.get('cache')}, {h.get('cache')}")
        cold.append(c["compile_ms"])
        warm.append(h["compile_ms"])
        wall.append(h["wall_ms"])
    shutil.rmtree(cache, ignore_errors=True)
    return {"cold_compile_ms_min": min(cold), "cold_compile_ms_median": median(cold),
            "warm_compile_ms_min": min(warm), "warm_compile_ms_median": median(warm),
            "warm_wall_ms_min": min(wall), "warm_wall_ms_median": median(wall), "args": small}


def ptl_workload(opts, name, w, n):
    if name == "grad_overhead":
        small = {"loss_steps": w, "grad_steps": w}
        loss = ptl_measure(opts, name, small, {"loss_steps": w + n, "grad_steps": w}, n)
        grad = ptl_measure(opts, name, small, {"loss_steps": w, "grad_steps": w + n}, n)
        res = dict(grad)
        res["loss_ms_min"], res["loss_ms_median"] = loss["step_ms_min"], loss["step_ms_median"]
        res["ratio_min"] = grad["step_ms_min"] / loss["step_ms_min"]
        res["ratio_median"] = grad["step_ms_median"] / loss["step_ms_median"]
        return res
    # --quick: mlp_minibatch on 640 rows (the 60,000-row data set takes seconds to draw).
    extra = {"rows": 640} if opts.quick and name == "mlp_minibatch" else {}
    res = ptl_measure(opts, name, dict(extra, steps=w), dict(extra, steps=w + n), n)
    if name == "powerlaw_reparam":
        res["fit_steps"] = n
        res["fit_ms_min"], res["fit_ms_median"] = res["step_ms_min"] * n, res["step_ms_median"] * n
        res["a"], res["p"] = res["outputs"].get("a"), res["outputs"].get("p")
    return res


def ptl_quality(opts, name, steps):
    _, out = run_ptl(opts, name, {"steps": steps, "seed": 0})
    return {"meta_steps": steps, "seed": 0, "meta_loss_init": out.get("meta_loss_init"),
            "meta_loss": out.get("meta_loss")}


# ---- PyTorch --------------------------------------------------------------------------
def torch_available():
    try:
        p = subprocess.run([PY, "-c", "import torch; print(torch.__version__)"], capture_output=True, text=True,
                           timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return p.stdout.strip() if p.returncode == 0 else None


def run_torch(opts, script, args, threads):
    cmd = [PY, os.path.join(TORCH_DIR, script + ".py"), "--threads", str(threads)] + [str(a) for a in args]
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=opts.timeout)
    wall_ms = (time.perf_counter() - t0) * 1e3
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{p.stdout}{p.stderr}")
    m = re.search(r"^BENCH_JSON (.*)$", p.stdout, re.M)
    return json.loads(m.group(1))


def torch_variants(name):
    """(variant label, script, extra args) for a workload."""
    if name in ("rnn_online", "rnn_online_fo"):
        return [("", "rnn_online", ["--first-order"] if name.endswith("_fo") else [])]
    if name in ("maml_sine", "maml_sine_fo"):
        fo = ["--first-order"] if name.endswith("_fo") else []
        return [("batched", "maml_sine", ["--variant", "batched"] + fo), ("loop", "maml_sine", ["--variant", "loop"] + fo)]
    return [("", name, [])]


def torch_workload(opts, name, w, n):
    res = {}
    for label, script, extra in torch_variants(name):
        if name == "powerlaw_reparam":
            args = ["--fit-steps", n, "--warmup", 1 if not opts.quick else 0, "--steps", 1,
                    "--repeats", opts.torch_repeats]
        else:
            args = ["--warmup", w, "--steps", n, "--repeats", opts.torch_repeats]
        for t in opts.threads:
            res[f"{label or 'default'}/{t}"] = run_torch(opts, script, args + extra, t)
    return res


def torch_best(res):
    """(ms, key) of the fastest variant/thread count by step_ms_min."""
    k = min(res, key=lambda k: res[k]["step_ms_min"])
    return res[k]["step_ms_min"], k


# ---- host_call: a C++ host calling a tiny function -------------------------------------
def run_host_call(binary, calls):
    """The BENCH_JSON lines of bench/cpp/host_call*.cpp, by label."""
    p = subprocess.run([binary, str(calls)], capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise RuntimeError(f"{binary} failed:\n{p.stdout}{p.stderr}")
    out = {}
    for m in re.finditer(r"^BENCH_JSON (.*)$", p.stdout, re.M):
        j = json.loads(m.group(1))
        out[j["label"]] = j
    return out


def host_call(opts):
    """PTL's call_into and call, and LibTorch's two forms, of the 2x8 readout
    update W - eta * outer(err, feat); returns (results, report lines)."""
    calls = opts.host_call_calls or (10_000 if opts.quick else 1_000_000)
    res = {"calls": calls, "ptl": run_host_call(opts.host_call, calls)}
    if opts.host_call_torch:
        res["torch"] = run_host_call(opts.host_call_torch, calls)
    lines = [f"host_call: W - eta * outer(err, feat) on f32[2, 8], {calls} calls each; ns/call (mean / fastest tenth), "
             "p50 and p99 of calls timed one by one (each with a clock read), heap allocations per call"]
    rows = list(res["ptl"].items()) + list(res.get("torch", {}).items())
    for label, j in rows:
        lines.append(f"  {label:<18} {fmt(j['ns_per_call'], 4):>8} / {fmt(j['ns_per_call_min'], 4):>8} ns   "
                     f"p50 {fmt(j['p50_ns'], 4):>7}  p99 {fmt(j['p99_ns'], 4):>7} ns   allocs {fmt(j['allocs_per_call'], 3)}")
    fast = res["ptl"].get("ptl call_into")
    if fast and res.get("torch"):
        for label, j in res["torch"].items():
            lines.append(f"  ratio {label} / ptl call_into: {fmt(j['ns_per_call_min'] / fast['ns_per_call_min'])} "
                         f"(fastest tenth), {fmt(j['p50_ns'] / fast['p50_ns'])} (p50)")
        lines.append(f"  (a clock read costs {fmt(fast['timer_ns'], 3)} ns here: p50 and p99 include one)")
    elif not opts.host_call_torch:
        lines.append("  (no LibTorch baseline: see bench/run.sh's message)")
    return res, lines


# ---- C++ floor ------------------------------------------------------------------------
def run_floor(opts, name, w, n, coretype=None, products=False):
    """The C++ floor's step (or, with products, only its matrix products)."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    env.pop("OPENBLAS_CORETYPE", None)
    if coretype:
        env["OPENBLAS_CORETYPE"] = coretype
    cmd = [opts.floor, name, str(w), str(n), str(opts.torch_repeats)] + (["products"] if products else [])
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=opts.timeout)
    if p.returncode != 0:
        raise RuntimeError(f"mlp_floor {name} failed:\n{p.stderr}")
    return json.loads(re.search(r"^BENCH_JSON (.*)$", p.stdout, re.M).group(1))


# ---- Report ---------------------------------------------------------------------------
def fmt(x, digits=3):
    if x is None:
        return "-"
    if isinstance(x, str):
        return x
    if x == 0:
        return "0"
    if abs(x) >= 100:
        return f"{x:.0f}"
    return f"{x:.{digits}g}"


def table(results, opts):
    head = ["workload", "PTL 1T ms/step min", "median", "PTL all cores", "PyTorch 1T", "PyTorch 2T", "ratio PT/PTL",
            "C++ floor", "PTL/floor", "compile ms cold", "warm (cached)", "warm run wall ms",
            "allocs/step heap (tensor)", "peak RSS MB"]
    rows = []
    for name in ORDER:
        if name not in results:
            continue
        r = results[name]
        p, t, f = r.get("ptl"), r.get("torch"), r.get("floor")
        row = [name]
        row += [fmt(p["step_ms_min"]), fmt(p["step_ms_median"])] if p else ["-", "-"]
        pt = r.get("ptl_threads")
        row.append(fmt(pt["step_ms_min"]) if pt else "-")
        # the PTL time the ratio uses: all cores for a workload with a map
        best_ptl = min(p["step_ms_min"], pt["step_ms_min"]) if p and pt else (p["step_ms_min"] if p else None)
        for th in opts.threads:
            if t:
                cands = {k: v for k, v in t.items() if k.endswith(f"/{th}")}
                k = min(cands, key=lambda k: cands[k]["step_ms_min"])
                tag = k.split("/")[0]
                row.append(fmt(cands[k]["step_ms_min"]) + ("" if tag == "default" else f" ({tag})"))
            else:
                row.append("-")
        if len(opts.threads) == 1:
            row.append("-")
        row.append(fmt(torch_best(t)[0] / best_ptl) if t and best_ptl and best_ptl > 0 else "-")
        if f:
            best = min(v["step_ms_min"] for v in f.values())
            row += [" / ".join(fmt(f[k]["step_ms_min"]) for k in ("default", "SkylakeX") if k in f),
                    fmt(p["step_ms_min"] / best) if p else "-"]
        else:
            row += ["-", "-"]
        if p:
            heap = p.get("heap_allocs_per_step")
            c = r.get("compile")
            row += [fmt(c["cold_compile_ms_min"]), fmt(c["warm_compile_ms_min"]), fmt(c["warm_wall_ms_min"])] \
                if c else ["-", "-", "-"]
            row += [f"{fmt(heap) if heap is not None else '-'} ({fmt(p['tensor_allocs_per_step'])})",
                    fmt(p["peak_rss_kb"] / 1024)]
        else:
            row += ["-"] * 5
        rows.append(row)
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"
    out = [line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in rows]
    return "\n".join(out)


def notes(results):
    out = []
    g = results.get("grad_overhead")
    if g:
        s = "grad_overhead (time(loss and gradient) / time(loss), min / median):"
        if g.get("ptl"):
            s += f" PTL {fmt(g['ptl']['ratio_min'])} / {fmt(g['ptl']['ratio_median'])}" \
                 f" (loss alone {fmt(g['ptl']['loss_ms_min'])} ms)"
        for k, v in sorted((g.get("torch") or {}).items()):
            s += f"; PyTorch {k.split('/')[1]}T {fmt(v['ratio_min'])} / {fmt(v['ratio_median'])}"
        out.append(s)
    pl = results.get("powerlaw_reparam")
    if pl:
        s = "powerlaw_reparam fit"
        if pl.get("ptl"):
            p = pl["ptl"]
            s += f" ({p['fit_steps']} steps): PTL {fmt(p['fit_ms_min'])} ms, a = {fmt(p['a'], 5)}, p = {fmt(p['p'], 5)}"
        for k, v in sorted((pl.get("torch") or {}).items()):
            s += f"; PyTorch {k.split('/')[1]}T {fmt(v['fit_ms_min'])} ms, a = {fmt(v['a'], 5)}, p = {fmt(v['p'], 5)}"
        out.append(s + "  (truth: a = 2.5, p = 0.7)")
    for name in ("maml_sine", "maml_sine_fo"):
        q = results.get(name, {}).get("quality")
        if q:
            s = f"{name} meta-loss on 100 held-out tasks after {q['steps']} meta-steps, seed 0 (initial):"
            if q.get("ptl"):
                s += f" PTL {fmt(q['ptl']['meta_loss'], 4)} ({fmt(q['ptl']['meta_loss_init'], 4)})"
            if q.get("torch"):
                s += f"; PyTorch {fmt(q['torch']['meta_loss'], 4)} ({fmt(q['torch']['meta_loss_init'], 4)})"
            out.append(s)
    for name in ("mlp_train", "tiny_mlp"):
        fp = results.get(name, {}).get("floor_products")
        if fp:
            s = f"{name}: its matrix products alone (the floor's cblas_sgemm calls, PTL's shapes and transposes, " \
                f"SkylakeX) {fmt(fp['step_ms_min'])} ms/step"
            if results[name].get("ptl"):
                s += f"; PTL's whole step {fmt(results[name]['ptl']['step_ms_min'])}"
            out.append(s)
    ob = results.get("mlp_train", {}).get("ptl_openblas")
    if ob and results["mlp_train"].get("ptl"):
        out.append(f"mlp_train: PTL with OpenBLAS's sgemm for its products (PTL_GEMM=openblas) "
                   f"{fmt(ob['step_ms_min'])} ms/step; with its own kernels (the table) "
                   f"{fmt(results['mlp_train']['ptl']['step_ms_min'])}")
    for name in ("maml_sine", "maml_sine_fo"):
        t = results.get(name, {}).get("torch")
        if t:
            out.append(f"{name} PyTorch by variant (ms/step min): " +
                       ", ".join(f"{k.replace('/', ' ')}T {fmt(v['step_ms_min'])}" for k, v in sorted(t.items())))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ptlc", required=True)
    ap.add_argument("--work", required=True, help="directory for helper binaries and scratch files")
    ap.add_argument("--floor", help="the mlp_floor binary (omit to skip the C++ floor)")
    ap.add_argument("--alloc-so", help="alloc_count.so (omit to skip heap allocation counts)")
    ap.add_argument("--ptlc-arg", action="append", default=[],
                    help="extra flag for `ptlc run` (repeatable), e.g. --ptlc-arg=--jit; the engine must print --stats")
    ap.add_argument("--quick", action="store_true", help="tiny step counts: a smoke test of the suite")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--only", help="comma-separated workloads")
    ap.add_argument("--ptl-repeats", type=int)
    ap.add_argument("--torch-repeats", type=int)
    ap.add_argument("--quality-steps", type=int, help="maml meta-steps for the meta-loss report (default 300)")
    ap.add_argument("--threads", default="1,2", help="PyTorch thread counts")
    ap.add_argument("--out", help="JSON output (default bench/results.json; --quick: $TMPDIR)")
    ap.add_argument("--timeout", type=float, default=3600)
    ap.add_argument("--host-call", help="the host_call binary (omit to skip the host_call benchmark)")
    ap.add_argument("--host-call-torch", help="host_call_torch, its LibTorch baseline")
    ap.add_argument("--host-call-calls", type=int, help="calls per form (default 10^6; --quick 10^4)")
    opts = ap.parse_args()
    opts.threads = [int(t) for t in opts.threads.split(",")]
    opts.ptl_repeats = opts.ptl_repeats or (1 if opts.quick else 3)
    opts.torch_repeats = opts.torch_repeats or (1 if opts.quick else 5)
    if opts.quality_steps is None:
        opts.quality_steps = 2 if opts.quick else 300
    if not opts.out:
        opts.out = (os.path.join(os.environ.get("TMPDIR", "/tmp"), "ptl-bench-quick.json") if opts.quick
                    else os.path.join(HERE, "results.json"))
    steps = QUICK if opts.quick else FULL
    names = opts.only.split(",") if opts.only else ORDER
    run_host = opts.host_call and (not opts.only or "host_call" in names)
    names = [n for n in names if n != "host_call"]
    for n in names:
        if n not in steps:
            ap.error(f"unknown workload {n}")

    torch_version = None if opts.no_torch else torch_available()
    if not opts.no_torch and not torch_version:
        log("bench: PyTorch is not importable by /usr/bin/python3 (apt-get install python3-torch): "
            "skipping the baselines")
    t_start = time.time()
    results = {}
    for name in names:
        w, n = steps[name]
        r = results[name] = {"warmup": w, "steps": n}
        log(f"bench: {name}: PTL (W = {w}, N = {n}, {opts.ptl_repeats} repeats)")
        r["ptl"] = ptl_workload(opts, name, w, n)
        if not opts.quick or name == names[0]:  # --quick: one program checks the columns
            small = {"loss_steps": w, "grad_steps": w} if name == "grad_overhead" else {"steps": w}
            log(f"bench: {name}: cold and warm (code cache) compiles")
            r["compile"] = ptl_compile(opts, name, small)
        if name in MAP_WORKLOADS:
            log(f"bench: {name}: PTL with ptlc's default threads (all {os.cpu_count()} cores)")
            r["ptl_threads"] = ptl_measure(opts, name, {"steps": w}, {"steps": w + n}, n, threads=None)
        if name == "mlp_train":
            log(f"bench: {name}: PTL with OpenBLAS's sgemm for its products (PTL_GEMM=openblas)")
            r["ptl_openblas"] = ptl_measure(opts, name, {"steps": w}, {"steps": w + n}, n,
                                            env_extra={"PTL_GEMM": "openblas"})
        if torch_version:
            log(f"bench: {name}: PyTorch, threads {opts.threads}")
            r["torch"] = torch_workload(opts, name, w, n)
        if opts.floor and name in ("mlp_train", "tiny_mlp"):
            log(f"bench: {name}: C++ + OpenBLAS floor")
            r["floor"] = {"default": run_floor(opts, name, w, n), "SkylakeX": run_floor(opts, name, w, n, "SkylakeX")}
            r["floor_products"] = run_floor(opts, name, w, n, "SkylakeX", products=True)
        if name in ("maml_sine", "maml_sine_fo") and opts.quality_steps > 0:
            log(f"bench: {name}: meta-loss after {opts.quality_steps} meta-steps, seed 0")
            q = r["quality"] = {"steps": opts.quality_steps, "ptl": ptl_quality(opts, name, opts.quality_steps)}
            if torch_version:
                q["torch"] = run_torch(opts, "maml_sine", ["--variant", "batched", "--quality", opts.quality_steps,
                                                           "--seed", 0] + (["--first-order"] if name.endswith("_fo") else []), 1)

    host = None
    if run_host:
        log("bench: host_call: a C++ host calling a tiny function (PTL, and LibTorch if built)")
        host = host_call(opts)
    tab = table(results, opts)
    extra = notes(results) + (host[1] if host else [])
    gemm = ptl_gemm(opts)
    sys.stdout.flush()
    print(flush=True)
    if names:
        print(f"PTL: {opts.ptlc} run {' '.join(opts.ptlc_arg) or '(native code, the default engine)'} "
          f"(float matrix products: {gemm}); PTL --threads 1, "
          f"and for the workloads with a map also ptlc's default (all {os.cpu_count()} cores; the ratio uses the faster); "
          f"PyTorch {torch_version or 'not run'}; times in ms per step (min over repeats)")
        print(tab)
        print()
    for line in extra:
        print(line)
    sys.stdout.flush()
    doc = {
        "mode": "quick" if opts.quick else "full",
        "ptlc": opts.ptlc, "ptlc_args": opts.ptlc_arg, "ptl_threads_note": "ptl: --threads 1; ptl_threads: ptlc's default",
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": {"cpu": cpu_name(), "cores": os.cpu_count(), "load_avg_at_end": os.getloadavg(),
                    "platform": platform.platform()},
        "torch_version": torch_version,
        "ptl_gemm": gemm,
        "protocol": {"ptl_repeats": opts.ptl_repeats, "torch_repeats": opts.torch_repeats, "threads": opts.threads},
        "wall_s": time.time() - t_start,
        "workloads": results,
        "host_call": host[0] if host else None,
        "table": tab,
        "notes": extra,
    }
    with open(opts.out, "w") as f:
        json.dump(doc, f, indent=1)
    log(f"bench: wrote {opts.out} ({time.time() - t_start:.0f} s)")


def ptl_gemm(opts):
    """What runs PTL's large float products (from `ptlc --version`)."""
    p = subprocess.run([opts.ptlc, "--version"], capture_output=True, text=True)
    m = re.search(r"float matrix products: (.*)", p.stdout)
    return m.group(1).strip() if m else "unknown"


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


if __name__ == "__main__":
    main()
