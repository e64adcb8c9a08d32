#!/usr/bin/python3
"""A Python user's two ways to the same numbers, timed in one run: the grokscope module against
functorch (the NTK) and NumPy (CKA), on the inputs of bench/measure.bench.cpp. Checks that both
sides agree before timing, and prints the README's table.

usage: OPENBLAS_NUM_THREADS=2 PYTHONPATH=build/release/python /usr/bin/python3 bench/peer/compare_python.py
  NTK   one-hidden-layer ReLU MLP with biases, D = 100, N = 500, one output, n = 1 000, float64:
        grokscope.empirical_ntk (structured) vs functorch vmap(jacrev) and J Jᵀ
  CKA   linear CKA of two float32 10 000 x 512 representations: grokscope.linear_cka vs Kornblith
        et al.'s NumPy (feature form, the faster of their two)
Medians of 5 repetitions after one warm-up; the array conversion at the boundary is included.
"""
import math
import os
import time

from peer_env import openblas_report, reexec_without_overrides

reexec_without_overrides()
import numpy as np  # noqa: E402 (OpenBLAS reads its environment when it is loaded)
import torch
from functorch import jacrev, vmap

import grokscope

threads = int(os.environ.get("OPENBLAS_NUM_THREADS", "2"))
torch.set_num_threads(threads)
print("# " + openblas_report(threads))
print("# grokscope %s from %s; torch %s, %d threads" % (grokscope.__version__, grokscope.__file__, torch.__version__,
                                                       threads))


def timed(fn, repeats=5):
    fn()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    ts.sort()
    return 1e3 * ts[len(ts) // 2]


# --- NTK -------------------------------------------------------------------------------------
torch.manual_seed(0)
D, N, n = 100, 500, 1000
P = {"W1": torch.randn(N, D, dtype=torch.float64) / math.sqrt(D), "b1": 0.1 * torch.randn(N, dtype=torch.float64),
     "W2": torch.randn(1, N, dtype=torch.float64) / math.sqrt(N), "b2": 0.1 * torch.randn(1, dtype=torch.float64)}
X = torch.randn(n, D, dtype=torch.float64)
Xn = X.numpy()
m = grokscope.Mlp({"input": D, "hidden": [N], "output": 1, "activation": "relu"})
m.load_state_dict({"layers.0.weight": P["W1"], "layers.0.bias": P["b1"], "layers.1.weight": P["W2"],
                   "layers.1.bias": P["b2"]})


def f_single(p, x):
    return (torch.relu(x @ p["W1"].T + p["b1"]) @ p["W2"].T + p["b2"]).squeeze(-1)


def ntk_functorch():
    jac = vmap(jacrev(f_single), (None, 0))(P, X)
    K = None
    for j in jac.values():
        j = j.reshape(j.shape[0], -1)
        K = j @ j.T if K is None else K + j @ j.T
    return K.numpy()


def ntk_grokscope():
    return grokscope.empirical_ntk(m, Xn)


K_ref, K_ours = ntk_functorch(), ntk_grokscope()
ntk_err = np.max(np.abs(K_ours - K_ref)) / np.max(np.abs(K_ref))
assert ntk_err < 1e-10, ntk_err

# --- CKA -------------------------------------------------------------------------------------
rng = np.random.default_rng(0)
A = rng.standard_normal((10000, 512)).astype(np.float32)
B = (A @ rng.standard_normal((512, 512)).astype(np.float32) + 0.1).astype(np.float32)


def cka_numpy():
    a = A - A.mean(0)
    b = B - B.mean(0)
    return np.linalg.norm(b.T @ a) ** 2 / (np.linalg.norm(a.T @ a) * np.linalg.norm(b.T @ b))


def cka_grokscope():
    return grokscope.linear_cka(A, B).value


cka_diff = abs(cka_numpy() - cka_grokscope())
assert cka_diff < 1e-4, cka_diff  # NumPy's sums run in float32

rows = [("NTK, ReLU MLP D 100, N 500, n = 1 000, float64", timed(ntk_grokscope), "functorch vmap(jacrev)",
         timed(ntk_functorch), "max relative difference %.1e" % ntk_err),
        ("linear CKA, 10 000 x 512 float32", timed(cka_grokscope), "NumPy feature form", timed(cka_numpy),
         "difference %.1e" % cka_diff)]
print()
print("| from Python | grokscope | peer | peer time | speed-up | agreement |")
print("|---|---|---|---|---|---|")
for title, t, peer, tp, agree in rows:
    print("| %s | %.1f ms | %s | %.1f ms | **%.1f×** | %s |" % (title, t, peer, tp, tp / t, agree))
