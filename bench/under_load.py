#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Copyright (c) 2026 The grokscope authors
"""Times grokscope's training-step and NTK benchmarks on a machine that other jobs keep busy.

For each load (no other job, then 1, 2, ... busy single-threaded processes that this script
starts, and stops after each measurement; each also stops by itself after --load-seconds), it
runs every benchmark three ways: on one thread (OMP_NUM_THREADS=1), on all cores with the
load-aware thread count (the default), and on all cores with it switched off
(GROKSCOPE_ADAPT_THREADS=0, the behaviour before it). Each cell is the median over
--repetitions rounds (each round runs the three ways once, interleaved) of Google Benchmark's
real time per iteration. Prints a Markdown table.

    ./run bench --benchmark_filter=none     # builds build/bench
    python3 bench/under_load.py [--loads 0 1 2] [--repetitions 5]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

BENCHMARKS = [
    ("train", "BM_TrainStep_NandaTransformer", "Nanda transformer step (p = 113)"),
    ("train", "BM_TrainStep_GromovMLP", "Gromov MLP step (p = 97)"),
    ("train", "BM_TrainStep_KumarMLP", "Kumar MLP step"),
    ("measure", "BM_NTK_Structured_KumarMLP/1000", "NTK, Kumar MLP, n = 1 000"),
]

BUSY = "import time\nend = time.time() + {seconds}\nwhile time.time() < end:\n    pass\n"


def run_benchmark(exe, name, env_extra, repetitions, min_time):
    env = dict(os.environ)
    env.update(env_extra)
    out = subprocess.run(
        [exe, "--benchmark_filter=^" + name + "(/real_time)?$", "--benchmark_format=json",
         "--benchmark_repetitions=%d" % repetitions, "--benchmark_min_time=%g" % min_time],
        env=env, check=True, capture_output=True, text=True, timeout=600).stdout
    runs = [b for b in json.loads(out)["benchmarks"] if b.get("run_type") == "iteration"]
    unit = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}
    return statistics.median(b["real_time"] * unit[b["time_unit"]] for b in runs)


def start_load(k, seconds):
    return [subprocess.Popen([sys.executable, "-c", BUSY.format(seconds=seconds)]) for _ in range(k)]


def stop_load(procs):
    for p in procs:
        p.kill()
    for p in procs:
        p.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build", "bench"))
    ap.add_argument("--loads", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--repetitions", type=int, default=7, help="rounds")
    ap.add_argument("--min-time", type=float, default=0.5, help="seconds per measurement")
    ap.add_argument("--load-seconds", type=float, default=300, help="a busy process's own time limit")
    ap.add_argument("--filter", default="", help="only benchmarks whose name contains this")
    args = ap.parse_args()

    print("uptime before:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(), file=sys.stderr)
    modes = [("1 thread", {"OMP_NUM_THREADS": "1"}),
             ("all cores, load-aware", {}),
             ("all cores, fixed", {"GROKSCOPE_ADAPT_THREADS": "0"})]
    rows = []
    for area, name, label in BENCHMARKS:
        if args.filter not in name:
            continue
        exe = os.path.join(args.build_dir, "bench", "grokscope_bench_" + area)
        for k in args.loads:
            # Rounds interleave the three modes, so that a drift of the machine's speed (it is
            # shared) affects them alike; each cell is the median over the rounds.
            samples = [[] for _ in modes]
            load = start_load(k, args.load_seconds)
            try:
                time.sleep(0.5)  # let the busy processes get their cores
                for _ in range(args.repetitions):
                    for m, (_, env) in enumerate(modes):
                        samples[m].append(run_benchmark(exe, name, env, 1, args.min_time))
            finally:
                stop_load(load)
            cells = [statistics.median(x) for x in samples]
            rows.append((label, k, cells))
            print(label, k, ["%.2f" % c for c in cells], file=sys.stderr)

    print("| benchmark | other busy processes | 1 thread (ms) | all cores, load-aware (ms) | "
          "all cores, fixed (ms) | load-aware / 1 thread |")
    print("|---|---|---|---|---|---|")
    for label, k, (one, adaptive, fixed) in rows:
        print("| %s | %d | %.2f | %.2f | %.2f | %.2f |" % (label, k, one, adaptive, fixed, adaptive / one))
    print("uptime after:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(), file=sys.stderr)


if __name__ == "__main__":
    main()
