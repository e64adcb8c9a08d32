#!/usr/bin/python3
"""NumPy side of BM_CKA_Linear/10000/512 in bench/measure.bench.cpp: linear CKA of two float32
10 000 × 512 representations, in the two forms of Kornblith et al.'s reference notebook.

usage: OPENBLAS_NUM_THREADS=2 /usr/bin/python3 bench/peer/cka_numpy.py [--repeats 3]
  gram_form     K = X Xᵀ, L = Y Yᵀ, both double-centred, HSIC = ⟨K, L⟩ / (‖K‖ ‖L‖)
  feature_form  centre the columns, ‖Xᵀ Y‖²_F / (‖Xᵀ X‖_F ‖Yᵀ Y‖_F)
Prints the median milliseconds of each over the repeats, and the two values (they must agree).
"""
import argparse
import time

from peer_env import openblas_report, reexec_without_overrides

reexec_without_overrides()
import numpy as np  # noqa: E402 (OpenBLAS reads its environment when it is loaded)

ap = argparse.ArgumentParser()
ap.add_argument("--repeats", type=int, default=3)
ap.add_argument("--n", type=int, default=10000)
ap.add_argument("--d", type=int, default=512)
args = ap.parse_args()
print("# numpy", np.__version__, "; " + openblas_report())

rng = np.random.default_rng(0)
X = rng.standard_normal((args.n, args.d)).astype(np.float32)
Y = (X @ rng.standard_normal((args.d, args.d)).astype(np.float32) + 0.1).astype(np.float32)


def center_gram(G):
    G = G.astype(np.float64, copy=True)
    m = G.mean(0)
    G -= m[None, :]
    G -= m[:, None]
    G += m.mean()
    return G


def gram_form():
    K = center_gram(X @ X.T)
    L = center_gram(Y @ Y.T)
    return (K.ravel() @ L.ravel()) / (np.linalg.norm(K) * np.linalg.norm(L))


def feature_form():
    x = X - X.mean(0)
    y = Y - Y.mean(0)
    return np.linalg.norm(x.T @ y) ** 2 / (np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y))


def timed(fn):
    v = fn()
    ts = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return 1e3 * sorted(ts)[len(ts) // 2], v


tg, vg = timed(gram_form)
tf, vf = timed(feature_form)
print("gram_form %.1f ms (cka %.6f)" % (tg, vg))
print("feature_form %.1f ms (cka %.6f)" % (tf, vf))
