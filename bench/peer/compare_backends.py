#!/usr/bin/python3
"""Matrix-product backends and the allocator, measured in one run: bench/gemm_backends.cpp is
compiled header-only once per backend (Eigen's kernels; Debian's OpenBLAS, pthread build; BLIS,
OpenMP build; through core/gemm.hpp), and each binary runs the Nanda and Gromov steps and their
largest products at every thread count, with glibc's default malloc settings and with glibc told
to keep freed blocks (the setting under which page faults from returned memory disappear). The
PyTorch steps (train_torch.py) run at defaults beside them, so the last table is each backend's
speed-up over PyTorch at defaults.

usage: /usr/bin/python3 bench/peer/compare_backends.py [--threads 1 2] [--rounds 2] [--repeats 20]
Needs g++, Eigen, libopenblas-pthread-dev, libblis-openmp-dev and python3-torch.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys

from peer_env import comparison_env

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(ROOT, "build", "gemm-backends")
KEEP = "glibc.malloc.mmap_threshold=2147483647:glibc.malloc.trim_threshold=2147483647"
ARCH = subprocess.run(["gcc", "-print-multiarch"], capture_output=True, text=True).stdout.strip() or "x86_64-linux-gnu"
BACKENDS = {
    "eigen": [],
    "openblas": ["-DGROKSCOPE_USE_CBLAS", "-I/usr/include/%s/openblas-pthread" % ARCH,
                 "-L/usr/lib/%s/openblas-pthread" % ARCH, "-Wl,-rpath,/usr/lib/%s/openblas-pthread" % ARCH,
                 "-lopenblas"],
    "blis": ["-DGROKSCOPE_USE_CBLAS", "-I/usr/include/%s/blis-openmp" % ARCH,
             "-L/usr/lib/%s/blis-openmp" % ARCH, "-Wl,-rpath,/usr/lib/%s/blis-openmp" % ARCH, "-lblis"],
}

ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
ap.add_argument("--rounds", type=int, default=2)
ap.add_argument("--repeats", type=int, default=20)
ap.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=list(BACKENDS))
args = ap.parse_args()

os.makedirs(OUT, exist_ok=True)
binaries = {}
for name in args.backends:
    exe = os.path.join(OUT, "gemm_backends_" + name)
    cmd = ["g++", "-std=c++17", "-O3", "-DNDEBUG", "-march=native", "-fopenmp", "-I" + os.path.join(ROOT, "include"),
           "-isystem", "/usr/include/eigen3", os.path.join(ROOT, "bench", "gemm_backends.cpp"), "-o", exe, "-lz"]
    cmd += BACKENDS[name]
    print("#", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    binaries[name] = exe


def ours(exe, threads, keep):
    env = comparison_env(threads)
    env["BLIS_NUM_THREADS"] = str(threads)
    if keep:
        env["GLIBC_TUNABLES"] = KEEP
    else:
        env.pop("GLIBC_TUNABLES", None)
    out = subprocess.run([exe, "--threads", str(threads), "--repeats", str(args.repeats)], check=True,
                         capture_output=True, text=True, env=env).stdout
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in out.splitlines()
            if line and not line.startswith("#")}


def peer(threads):
    env = comparison_env(threads)
    env.pop("GLIBC_TUNABLES", None)
    times = {}
    out = subprocess.run([sys.executable, os.path.join(HERE, "train_torch.py"), "--threads", str(threads),
                          "--repeats", str(args.repeats)], check=True, capture_output=True, text=True, env=env).stdout
    for line in out.splitlines():
        if line.startswith("# openblas") or line.startswith("# torch"):
            print(line)
        m = re.match(r"(\w+) ([\d.]+) ms", line)
        if m:
            times[m.group(1)] = float(m.group(2))
    return times


runs = {}  # (backend, threads, keep) -> list of dicts; ("torch", threads) -> list
for rnd in range(args.rounds):
    for t in args.threads:
        runs.setdefault(("torch", t), []).append(peer(t))
        for name, exe in binaries.items():
            for keep in (False, True):
                runs.setdefault((name, t, keep), []).append(ours(exe, t, keep))


def cell(key, item):
    vals = [r[item] for r in runs[key]]
    return " / ".join("%.2f" % v for v in vals), statistics.median(vals)


items = [k for k in runs[(args.backends[0], args.threads[0], False)][0]]
print("\n## milliseconds (one value per round): defaults | glibc keeping freed blocks\n")
print("| | threads | " + " | ".join(args.backends) + " |")
print("|---|---|" + "---|" * len(args.backends))
for item in items:
    for t in args.threads:
        cells = []
        for name in args.backends:
            a, _ = cell((name, t, False), item)
            b, _ = cell((name, t, True), item)
            cells.append("%s \\| %s" % (a, b))
        print("| %s | %d | %s |" % (item, t, " | ".join(cells)))

print("\n## speed-up over PyTorch at defaults (medians over rounds)\n")
print("| step | threads | PyTorch ms | " + " | ".join(args.backends) + " |")
print("|---|---|---|" + "---|" * len(args.backends))
for item, torch_name in (("nanda_step", "BM_TrainStep_NandaTransformer"), ("gromov_step", "BM_TrainStep_GromovMLP")):
    for t in args.threads:
        tv = statistics.median(r[torch_name] for r in runs[("torch", t)])
        cells = ["%.2f ms **%.1f×**" % (cell((n, t, False), item)[1], tv / cell((n, t, False), item)[1])
                 for n in args.backends]
        print("| %s | %d | %.1f | %s |" % (item, t, tv, " | ".join(cells)))
