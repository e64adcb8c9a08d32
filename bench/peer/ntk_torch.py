#!/usr/bin/python3
"""PyTorch side of the NTK rows of bench/measure.bench.cpp, timed here on inputs of the same sizes.

usage: OPENBLAS_NUM_THREADS=2 /usr/bin/python3 bench/peer/ntk_torch.py [--threads 2] [--dtype float64]
Timings do not depend on the weight values, so the weights are random with the benchmark's
shapes (correctness against functorch is tested separately with committed fixtures).
Prints one line per benchmark: name, median milliseconds over the repeats.
  kumar_functorch      functorch Jacobian contraction (vmap(jacrev) per example, then J Jᵀ)
  kumar_structured     a hand-written structured formula for the same one-hidden-layer ReLU MLP:
                       K = h hᵀ + 1 + (x xᵀ + 1) ∘ (δ δᵀ), δ = W₂ ∘ 1[z > 0]
  nanda_functorch      Nanda et al.'s transformer (p = 113), trace over the 114 outputs, 128
                       sequences, one Jacobian contraction per output (the whole Jacobian does
                       not fit in memory at once)
The 784-512-512-10 full kernel on 500 inputs is not run with functorch: its Jacobian alone is
500·10·932 362 doubles (35 GiB), beyond this 24 GiB machine.
"""
import argparse
import math
import time

from peer_env import openblas_report, reexec_without_overrides

reexec_without_overrides()
import torch  # noqa: E402 (OpenBLAS reads its environment when torch loads it)
from functorch import jacrev, vmap

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--repeats", type=int, default=5)
ap.add_argument("--dtype", default="float64", choices=["float32", "float64"])
ap.add_argument("--skip-nanda", action="store_true")
args = ap.parse_args()
torch.set_num_threads(args.threads)
dtype = getattr(torch, args.dtype)
torch.set_default_dtype(dtype)
torch.manual_seed(0)
print("# torch", torch.__version__, "threads", torch.get_num_threads(), "dtype", args.dtype)
print("# " + openblas_report(args.threads))


def timed(fn, repeats):
    fn()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    ts.sort()
    return 1e3 * ts[len(ts) // 2]


def contraction(jac):
    """Σ over parameters of J Jᵀ, J: (n, |p|)."""
    K = None
    for j in jac.values():
        j = j.reshape(j.shape[0], -1)
        K = j @ j.T if K is None else K + j @ j.T
    return K


# --- one-hidden-layer ReLU MLP with biases, D = 100, N = 500, one output, n = 1000 -------------
D, N, n = 100, 500, 1000
P = {"W1": torch.randn(N, D) / math.sqrt(D), "b1": torch.randn(N) * 0.1,
     "W2": torch.randn(1, N) / math.sqrt(N), "b2": torch.randn(1) * 0.1}
X = torch.randn(n, D)


def f_single(p, x):
    return (torch.relu(x @ p["W1"].T + p["b1"]) @ p["W2"].T + p["b2"]).squeeze(-1)


def kumar_functorch():
    return contraction(vmap(jacrev(f_single), (None, 0))(P, X))


def kumar_structured():
    z = X @ P["W1"].T + P["b1"]
    h = torch.relu(z)
    delta = (z > 0).to(dtype) * P["W2"]  # ∂f/∂z, (n, N)
    return h @ h.T + 1 + (X @ X.T + 1) * (delta @ delta.T)


with torch.no_grad():
    assert torch.allclose(kumar_functorch(), kumar_structured(), rtol=1e-6, atol=1e-8)
print("kumar_functorch %.1f ms" % timed(kumar_functorch, args.repeats))
print("kumar_structured %.1f ms" % timed(kumar_structured, args.repeats))

# --- Nanda et al.'s transformer, p = 113, 128 sequences, trace over outputs --------------------
if not args.skip_nanda:
    p, d, H, dh, dm, T = 113, 128, 4, 32, 512, 3
    V = p + 1
    Q = {"W_E": torch.randn(d, V) / math.sqrt(d), "W_pos": torch.randn(T, d) / math.sqrt(d),
         "W_Q": torch.randn(H * dh, d) / math.sqrt(d), "W_K": torch.randn(H * dh, d) / math.sqrt(d),
         "W_V": torch.randn(H * dh, d) / math.sqrt(d), "W_O": torch.randn(d, H * dh) / math.sqrt(d),
         "W_in": torch.randn(dm, d) / math.sqrt(d), "b_in": torch.zeros(dm),
         "W_out": torch.randn(d, dm) / math.sqrt(dm), "b_out": torch.zeros(d),
         "W_U": torch.randn(d, V) / math.sqrt(V)}
    tokens = torch.stack([torch.randint(0, p, (128,)), torch.randint(0, p, (128,)), torch.full((128,), p)], 1)
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)

    def logits_single(q, tok):
        x = q["W_E"].T[tok] + q["W_pos"]  # (T, d)
        qh = (x @ q["W_Q"].T).reshape(T, H, dh).transpose(0, 1)
        kh = (x @ q["W_K"].T).reshape(T, H, dh).transpose(0, 1)
        vh = (x @ q["W_V"].T).reshape(T, H, dh).transpose(0, 1)
        s = (qh @ kh.transpose(-1, -2)) / math.sqrt(dh)
        s = s.masked_fill(mask, float("-inf"))
        z = (torch.softmax(s, -1) @ vh).transpose(0, 1).reshape(T, H * dh)
        x = x + z @ q["W_O"].T
        x = x + torch.relu(x @ q["W_in"].T + q["b_in"]) @ q["W_out"].T + q["b_out"]
        return x[-1] @ q["W_U"]

    def nanda_functorch():
        K = torch.zeros(128, 128)
        for a in range(V):
            K += contraction(vmap(jacrev(lambda q, t: logits_single(q, t)[a]), (None, 0))(Q, tokens))
        return K

    print("nanda_functorch %.1f ms" % timed(nanda_functorch, 1))
