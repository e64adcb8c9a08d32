#!/usr/bin/python3
"""Times grokscope's loss-landscape benchmarks (bench/landscape.bench.cpp) and their PyTorch peer
(bench/peer/landscape_torch.py) in one run, one after the other on the same machine, and prints
the README's table.

usage: OPENBLAS_NUM_THREADS=2 /usr/bin/python3 bench/peer/compare_landscape.py [build/bench/bench/grokscope_bench_landscape]

grokscope's gradient and Hessian-vector product run with 5 repetitions in random interleaving, the
power iteration and the LLC (seconds each) with 3; medians are reported on both sides.
"""
import json
import os
import re
import subprocess
import sys

from peer_env import comparison_env

HERE = os.path.dirname(os.path.abspath(__file__))
binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "build", "bench", "bench",
                                                             "grokscope_bench_landscape")
threads = os.environ.get("OPENBLAS_NUM_THREADS", "2")
env = comparison_env(int(threads))


def run(cmd):
    print("#", " ".join(cmd), flush=True)
    return subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout


def medians(extra):
    out = {}
    for b in json.loads(run([binary, "--benchmark_format=json", "--benchmark_report_aggregates_only=true"]
                            + extra))["benchmarks"]:
        if b.get("aggregate_name") == "median":
            out[b["run_name"].split("/")[0]] = b
    return out


ours = medians(["--benchmark_filter=Gradient|HVP", "--benchmark_repetitions=5",
                "--benchmark_enable_random_interleaving=true", "--benchmark_min_time=1"])
ours.update(medians(["--benchmark_filter=PowerIteration|LLC", "--benchmark_repetitions=3"]))
peer, peer_value = {}, {}
for line in run([sys.executable, os.path.join(HERE, "landscape_torch.py"), "--threads", threads,
                 "--repeats", "3"]).splitlines():
    if line.startswith("#"):
        print(line)
    m = re.match(r"(\w+) ([\d.]+) ms(?: \w+ (\S+))?", line)
    if m:
        peer[m.group(1)] = float(m.group(2))
        peer_value[m.group(1)] = m.group(3)


def ms(b):
    return b["real_time"] * {"ms": 1.0, "us": 1e-3, "ns": 1e-6, "s": 1e3}[b["time_unit"]]


grad = ms(ours["BM_Gradient_NandaTransformer"])
print()
print("| measurement | grokscope | PyTorch | speed-up |")
print("|---|---|---|---|")
for name, label in (("Gradient_NandaTransformer", "loss + gradient, Nanda et al.'s transformer, full batch 3 830, float64"),
                    ("HVP_NandaTransformer", "one exact Hessian-vector product, same loss (torch: double backward)"),
                    ("PowerIteration_NandaTransformer", "top-1 Hessian eigenvalue, power iteration, 20 iterations"),
                    ("LLC_GromovMLP", "LLC, 4 chains x 200 draws, batch 128, Gromov's MLP p = 59, float32")):
    t, tp = ms(ours["BM_" + name]), peer["BM_" + name]
    print("| %s | %.0f ms | %.0f ms | **%.1f×** |" % (label, t, tp, tp / t))
fd = ms(ours["BM_HVP_NandaTransformer_FiniteDifference"])
print("| the older finite-difference product (not the Hessian on this ReLU model; %.0f kinks crossed per product) "
      "| %.0f ms | | |" % (ours["BM_HVP_NandaTransformer_FiniteDifference"]["kinks_crossed"], fd))
hvp = ms(ours["BM_HVP_NandaTransformer"])
print("\ngrokscope's Hessian-vector product costs %.2f gradient evaluations; PyTorch's double backward %.2f "
      "(of its own gradient)" % (hvp / grad, peer["BM_HVP_NandaTransformer"] / peer["BM_Gradient_NandaTransformer"]))
print("top eigenvalue: grokscope %.6g, PyTorch %s (different random weights and starting vectors); "
      "LLC at initialisation: grokscope %.4g, PyTorch %s" % (
          ours["BM_PowerIteration_NandaTransformer"]["top_eigenvalue"], peer_value["BM_PowerIteration_NandaTransformer"],
          ours["BM_LLC_GromovMLP"]["llc"], peer_value["BM_LLC_GromovMLP"]))
