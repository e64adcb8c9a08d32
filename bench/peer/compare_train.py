#!/usr/bin/python3
"""Times grokscope's three training steps, Eigen's GEMMs on the same shapes, and the PyTorch
steps in one run, one after the other on the same machine, and prints the README's table.

usage: OPENBLAS_NUM_THREADS=2 /usr/bin/python3 bench/peer/compare_train.py [build/bench/bench/grokscope_bench_train]

The grokscope benchmarks run with 5 repetitions in random interleaving (medians reported), so
that a slow spell of the machine does not land on one side of a ratio only.
"""
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "build", "bench", "bench",
                                                             "grokscope_bench_train")
threads = os.environ.get("OPENBLAS_NUM_THREADS", "2")
env = dict(os.environ, OPENBLAS_NUM_THREADS=threads)


def run(cmd):
    print("#", " ".join(cmd), flush=True)
    return subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout


ours = {}
for b in json.loads(run([binary, "--benchmark_format=json", "--benchmark_repetitions=5",
                         "--benchmark_enable_random_interleaving=true", "--benchmark_min_time=1",
                         "--benchmark_report_aggregates_only=true"]))["benchmarks"]:
    if b.get("aggregate_name") == "median":
        ours[b["run_name"]] = b
peer = {}
for line in run([sys.executable, os.path.join(HERE, "train_torch.py"), "--threads", threads]).splitlines():
    if line.startswith("#"):
        print(line)
    m = re.match(r"(\w+) ([\d.]+) ms", line)
    if m:
        peer[m.group(1)] = float(m.group(2))


def ms(b):
    return b["real_time"] * {"ms": 1.0, "us": 1e-3, "ns": 1e-6, "s": 1e3}[b["time_unit"]]


print()
print("| step | grokscope | PyTorch | speed-up | grokscope useful FLOP rate | Eigen GEMM rate, same shapes | fraction |")
print("|---|---|---|---|---|---|---|")
for name, label in (("NandaTransformer", "Nanda et al.'s transformer, p = 113, full batch 3 830, AdamW"),
                    ("GromovMLP", "Gromov's MLP, p = 97, width 512, full batch 4 704, AdamW"),
                    ("KumarMLP", "Kumar et al.'s MLP, D = 100, P = 550, N = 500, GD")):
    step = ours["BM_TrainStep_%s/real_time" % name]
    gemm = ours["BM_EigenGemms_%sStep/real_time" % name.replace("Transformer", "").replace("MLP", "")]
    t_ours, t_peer = ms(step), peer["BM_TrainStep_" + name]
    rate, ref = step["FLOPs"] / 1e9, gemm["FLOPs"] / 1e9
    print("| %s | %.2f ms | %.2f ms | **%.1f×** | %.0f GFLOP/s | %.0f GFLOP/s | **%.0f %%** |"
          % (label, t_ours, t_peer, t_peer / t_ours, rate, ref, 100 * rate / ref))
