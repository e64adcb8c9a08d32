#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Copyright (c) 2026 The grokscope authors
"""Times the compile steps that the README's build table reports, as CPU and wall seconds.

Each step runs --repeat times (default 3) and the median is printed, beside the load average
before the first run: the machine may be shared, and CPU seconds are what load changes least.

  tools/build_figures.py                 parse and compile figures (a few minutes)
  tools/build_figures.py --full          also a fresh clone to the flagship's plot (./run demo)
                                         and to a passed ./run test, each timed once
"""
import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CXX = os.environ.get("CXX", "g++")
BASE = [CXX, "-std=c++17", "-I" + os.path.join(ROOT, "include"), "-I/usr/include/eigen3"]
OPT = ["-O3", "-march=native", "-fopenmp", "-DGROKSCOPE_SOURCE_DIR=\"" + ROOT + "\""]


def timed(cmd, cwd=None, env=None):
    """Runs cmd; returns (cpu seconds of the children, wall seconds)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    r = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        sys.exit("build_figures: failed: " + " ".join(cmd) + "\n" + r.stderr[-4000:])
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def median_of(cmd, repeat, **kw):
    runs = [timed(cmd, **kw) for _ in range(repeat)]
    return statistics.median(c for c, _ in runs), statistics.median(w for _, w in runs)


def header_tu(header, tmp):
    path = os.path.join(tmp, header.replace("/", "_") + ".cpp")
    with open(path, "w") as f:
        f.write("#include <grokscope/%s>\n" % header)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3, help="runs per figure (median reported)")
    ap.add_argument("--full", action="store_true", help="also time ./run demo and ./run test on a fresh clone")
    a = ap.parse_args()
    if a.repeat < 1:
        sys.exit("build_figures: --repeat must be at least 1")

    print("load average before: %.2f %.2f %.2f on %d cores" % (os.getloadavg() + (os.cpu_count(),)))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        # The machine's speed reference: the same VM has run this 0.65-1.8 s within one day, so
        # figures from different sessions compare through their ratio to it.
        eigen = os.path.join(tmp, "eigen_dense.cpp")
        with open(eigen, "w") as f:
            f.write("#include <Eigen/Dense>\n")
        cpu, wall = median_of(BASE + ["-fsyntax-only", eigen], a.repeat)
        rows.append(("-fsyntax-only <Eigen/Dense> (reference)", cpu, wall))
        for header in ["grokscope.hpp", "train/trainer.hpp"]:
            tu = header_tu(header, tmp)
            for mode, flags in [("header-only", []), ("compiled", ["-DGROKSCOPE_COMPILED"])]:
                cpu, wall = median_of(BASE + flags + ["-fsyntax-only", tu], a.repeat)
                rows.append(("-fsyntax-only <grokscope/%s>, %s" % (header, mode), cpu, wall))
        example = os.path.join(ROOT, "examples", "modular_addition.cpp")
        obj = os.path.join(tmp, "example.o")
        for mode, flags in [("header-only", []), ("compiled", ["-DGROKSCOPE_COMPILED"])]:
            cpu, wall = median_of(BASE + OPT + flags + ["-c", example, "-o", obj], a.repeat)
            rows.append(("examples/modular_addition.cpp -O3 -march=native, %s" % mode, cpu, wall))

        if a.full:
            clone = os.path.join(tmp, "clone")
            subprocess.run(["git", "clone", "-q", ROOT, clone], check=True)
            env = dict(os.environ, CCACHE_DISABLE="1")
            cpu, wall = timed(["./run", "demo"], cwd=clone, env=env)
            if not os.path.exists(os.path.join(clone, "runs", "modular_addition", "history.png")):
                sys.exit("build_figures: ./run demo wrote no plot")
            rows.append(("fresh clone: ./run demo to the flagship's plot", cpu, wall))
            shutil.rmtree(os.path.join(clone, "build"))
            cpu, wall = timed(["./run", "test"], cwd=clone, env=env)
            rows.append(("fresh clone: ./run test (Release + ASan/UBSan)", cpu, wall))

    print("| step | CPU s | wall s |")
    print("|---|---:|---:|")
    for name, cpu, wall in rows:
        print("| %s | %.1f | %.1f |" % (name, cpu, wall))
    print("load average after: %.2f %.2f %.2f" % os.getloadavg())


if __name__ == "__main__":
    main()
