#!/usr/bin/python3
"""Times grokscope's three training steps, Eigen's GEMMs on the same shapes, and the PyTorch
steps in one run, one after the other on the same machine, and prints the README's tables.

usage: /usr/bin/python3 bench/peer/compare_train.py [--threads 1 2] [--rounds 2]
           [--build native=build/bench/bench/grokscope_bench_train]
           [--build avx2=build/bench-avx2/bench/grokscope_bench_train]

For every thread count and round, the PyTorch steps run once and every build runs once, back to
back, with the same environment (peer_env.comparison_env: that many threads for OpenBLAS, OpenMP
and torch, grokscope's load-aware count off, OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset). Each
grokscope run is 5 repetitions in random interleaving (median). A cell of the tables lists one
value per round. The OpenBLAS core torch ran on and each side's thread count are printed.
"""
import argparse
import json
import os
import re
import subprocess
import sys

from peer_env import comparison_env

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
ap.add_argument("--threads", type=int, nargs="+", default=[2])
ap.add_argument("--rounds", type=int, default=1)
ap.add_argument("--build", action="append", metavar="NAME=BINARY",
                help="a grokscope_bench_train binary and the column name it gets (repeatable); default: "
                     "native=build/bench/bench/grokscope_bench_train")
ap.add_argument("--repeats", type=int, default=20, help="timed PyTorch steps per run")
args = ap.parse_args()
builds = []
for spec in args.build or ["native=" + os.path.join(ROOT, "build", "bench", "bench", "grokscope_bench_train")]:
    name, sep, path = spec.partition("=")
    if not sep or not name or not os.access(path, os.X_OK):
        sys.exit("compare_train.py: --build %r: expected NAME=BINARY with an executable benchmark" % spec)
    builds.append((name, path))

STEPS = (("NandaTransformer", "Nanda et al.'s transformer, p = 113, full batch 3 830, AdamW"),
         ("GromovMLP", "Gromov's MLP, p = 97, width 512, full batch 4 704, AdamW"),
         ("KumarMLP", "Kumar et al.'s MLP, D = 100, P = 550, N = 500, GD"))


def run(cmd, env):
    print("#", " ".join(cmd), flush=True)
    return subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout


def ms(b):
    return b["real_time"] * {"ms": 1.0, "us": 1e-3, "ns": 1e-6, "s": 1e3}[b["time_unit"]]


def ours(binary, env):
    out = json.loads(run([binary, "--benchmark_format=json", "--benchmark_repetitions=5",
                          "--benchmark_enable_random_interleaving=true", "--benchmark_min_time=1",
                          "--benchmark_report_aggregates_only=true"], env))
    ctx = out["context"]
    print("# grokscope: %s threads (load-aware count %s), compiled for %s, %s CPUs at %s MHz" % (
        ctx.get("grokscope_threads", "?"), ctx.get("grokscope_adapt_threads", "?"), ctx.get("compiled_for", "?"),
        ctx.get("num_cpus"), ctx.get("mhz_per_cpu")))
    return {b["run_name"]: b for b in out["benchmarks"] if b.get("aggregate_name") == "median"}


def peer(threads, env):
    times = {}
    for line in run([sys.executable, os.path.join(HERE, "train_torch.py"), "--threads", str(threads),
                     "--repeats", str(args.repeats)], env).splitlines():
        if line.startswith("#"):
            print(line)
        m = re.match(r"(\w+) ([\d.]+) ms", line)
        if m:
            times[m.group(1)] = float(m.group(2))
    return times


results = {}  # (build, threads) -> list over rounds of (ours, peer) dicts
for rnd in range(args.rounds):
    for t in args.threads:
        env = comparison_env(t)
        p = peer(t, env)
        for name, binary in builds:
            results.setdefault((name, t), []).append((ours(binary, env), p))

cols = [(name, t) for name, _ in builds for t in args.threads]
print()
print("| step | " + " | ".join("%s, %d thread%s" % (n, t, "s" if t > 1 else "") for n, t in cols) + " |")
print("|---|" + "---|" * len(cols))
for key, label in STEPS:
    cells = []
    for c in cols:
        runs = results[c]
        cells.append(" / ".join("%.2f vs %.2f ms **%.1f×**" % (ms(o["BM_TrainStep_%s/real_time" % key]),
                                                               p["BM_TrainStep_" + key],
                                                               p["BM_TrainStep_" + key] / ms(o["BM_TrainStep_%s/real_time" % key]))
                                 for o, p in runs))
    print("| %s | %s |" % (label, " | ".join(cells)))

print()
print("| step | build, threads | grokscope useful FLOP rate | Eigen GEMM rate, same shapes | fraction |")
print("|---|---|---|---|---|")
for key, label in STEPS:
    for c in cols:
        o = results[c][-1][0]
        step = o["BM_TrainStep_%s/real_time" % key]
        gemm = o["BM_EigenGemms_%sStep/real_time" % key.replace("Transformer", "").replace("MLP", "")]
        rate, ref = step["FLOPs"] / 1e9, gemm["FLOPs"] / 1e9
        print("| %s | %s, %d | %.0f GFLOP/s | %.0f GFLOP/s | %.0f %% |" % (label, c[0], c[1], rate, ref, 100 * rate / ref))
