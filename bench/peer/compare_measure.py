#!/usr/bin/python3
"""Times grokscope's measurement benchmarks and their PyTorch / NumPy peers in one run, one after
the other on the same machine, and prints the table of the README.

usage: OPENBLAS_NUM_THREADS=2 /usr/bin/python3 bench/peer/compare_measure.py [build/bench/bench/grokscope_bench_measure]
"""
import json
import os
import re
import subprocess
import sys

from peer_env import comparison_env

HERE = os.path.dirname(os.path.abspath(__file__))
binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "build", "bench", "bench",
                                                             "grokscope_bench_measure")
env = comparison_env(int(os.environ.get("OPENBLAS_NUM_THREADS", "2")))


def run(cmd):
    print("#", " ".join(cmd), flush=True)
    return subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout


ours = {}
for b in json.loads(run([binary, "--benchmark_format=json", "--benchmark_repetitions=3",
                         "--benchmark_report_aggregates_only=true"]))["benchmarks"]:
    if b.get("aggregate_name") == "median":
        ours[b["run_name"]] = b
peer = {}
for dtype in ("float64", "float32"):
    for line in run([sys.executable, os.path.join(HERE, "ntk_torch.py"), "--dtype", dtype]
                    + ([] if dtype == "float64" else ["--skip-nanda"])).splitlines():
        m = re.match(r"(\w+) ([\d.]+) ms", line)
        if m:
            peer[m.group(1) + "_" + dtype] = float(m.group(2))
for line in run([sys.executable, os.path.join(HERE, "cka_numpy.py")]).splitlines():
    m = re.match(r"(\w+) ([\d.]+) ms", line)
    if m:
        peer["cka_" + m.group(1)] = float(m.group(2))


def ms(name):
    b = ours[name]
    scale = {"ms": 1.0, "us": 1e-3, "ns": 1e-6, "s": 1e3}[b["time_unit"]]
    return b["real_time"] * scale


rows = [
    ("NTK, Kumar MLP (D 100, N 500, biases), n = 1000", ms("BM_NTK_Structured_KumarMLP/1000"), [
        ("functorch Jacobian contraction, float64", peer["kumar_functorch_float64"]),
        ("functorch Jacobian contraction, float32", peer["kumar_functorch_float32"]),
        ("hand-written structured torch formula, float64", peer["kumar_structured_float64"]),
        ("hand-written structured torch formula, float32", peer["kumar_structured_float32"]),
        ("grokscope JacobianContraction (reference)", ms("BM_NTK_Jacobian_KumarMLP/1000/iterations:1")),
    ]),
    ("NTK, the same MLP in float32, Grams in float32 (NtkPrecision::ModelScalar), n = 1000",
     ms("BM_NTK_Structured_KumarMLP_Float32Grams/1000"), [
        ("hand-written structured torch formula, float32", peer["kumar_structured_float32"]),
        ("functorch Jacobian contraction, float32", peer["kumar_functorch_float32"]),
    ]),
    ("NTK, the same MLP in float32, Grams in double (default), n = 1000",
     ms("BM_NTK_Structured_KumarMLP_Float32/1000"), [
        ("hand-written structured torch formula, float64", peer["kumar_structured_float64"]),
    ]),
    ("NTK, Nanda transformer (p 113), trace over 114 outputs, n = 128",
     ms("BM_NTK_Structured_NandaTransformer/128"), [
        ("functorch Jacobian contraction per output, float64", peer["nanda_functorch_float64"]),
    ]),
    ("linear CKA, 10 000 × 512 float32", ms("BM_CKA_Linear/10000/512"), [
        ("Kornblith et al.'s NumPy, Gram form", peer["cka_gram_form"]),
        ("Kornblith et al.'s NumPy, feature form", peer["cka_feature_form"]),
    ]),
]
print("| measurement | grokscope (ms) | peer | peer (ms) | speed-up |")
print("|---|---|---|---|---|")
for title, t, peers in rows:
    for i, (pname, pt) in enumerate(peers):
        print("| %s | %s | %s | %.1f | %.1f× |" % (title if i == 0 else "", "%.1f" % t if i == 0 else "", pname, pt,
                                                  pt / t))
b = ours["BM_NTK_Structured_MLP784/500"]
print("\nNTK, 784-512-512-10 MLP, full 5000 × 5000 kernel on 500 inputs: %.0f ms, estimated peak %.0f MiB "
      "(the Jacobian contraction would need %.1f GiB)" % (ms("BM_NTK_Structured_MLP784/500"), b["peak_MiB"],
                                                          b["jacobian_peak_MiB"] / 1024))
