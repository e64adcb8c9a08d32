#!/usr/bin/python3
"""PyTorch side of bench/landscape.bench.cpp: the same loss-landscape measurements on the same
settings, written from PyHessian's and devinterp's algorithms (not their packages, which Debian
does not ship), timed here.

usage: OPENBLAS_NUM_THREADS=T /usr/bin/python3 bench/peer/landscape_torch.py [--threads T] [--repeats R]

  Gradient_NandaTransformer  loss + gradient (torch.autograd.grad), float64, full batch 3 830
  HVP_NandaTransformer       one double-backward Hessian-vector product, PyHessian's way: the
                             gradient is built once with create_graph=True, each product is
                             autograd.grad(gradient, params, grad_outputs=v, retain_graph=True)
  PowerIteration_NandaTransformer  PyHessian's hessian(...).eigenvalues(maxIter=20, tol=0, top_n=1),
                             including the create_graph gradient its constructor computes
  LLC_GromovMLP              devinterp's SGLD (estimate_learning_coeff, 4 chains x 200 draws,
                             batch 128, lr 1e-3, localization 100, nbeta m/ln m) with its MALA
                             acceptance callback, float32

Prints one line per benchmark: name, median milliseconds over R runs (after one warm-up), and for
the power iteration and the LLC the value found.
"""
import argparse
import math
import time

from peer_env import openblas_report, reexec_without_overrides

reexec_without_overrides()
import torch  # noqa: E402 (OpenBLAS reads its environment when it is loaded)

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--repeats", type=int, default=5)
args = ap.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(0)
print("# torch", torch.__version__, "threads", torch.get_num_threads())
print("# " + openblas_report(args.threads))


def median_ms(fn, repeats, warmup=1):
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    ts.sort()
    return 1e3 * ts[len(ts) // 2]


# --- Nanda et al.'s transformer, p = 113, 3 830 training pairs, cross-entropy, float64 ---------
dt = torch.float64
p, d, H, dh, dm, T = 113, 128, 4, 32, 512, 3
V = p + 1
shapes = {"W_E": (d, V), "W_pos": (T, d), "W_Q": (H * dh, d), "W_K": (H * dh, d), "W_V": (H * dh, d),
          "W_O": (d, H * dh), "W_in": (dm, d), "b_in": (dm,), "W_out": (d, dm), "b_out": (d,), "W_U": (d, V)}
P = {k: (torch.randn(*s, dtype=dt) / math.sqrt(d)).requires_grad_() for k, s in shapes.items()}
params = list(P.values())
pairs = torch.randperm(p * p)[:3830]
tokens = torch.stack([pairs // p, pairs % p, torch.full_like(pairs, p)], 1)
labels = (tokens[:, 0] + tokens[:, 1]) % p
mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)


def nanda_loss():
    x = P["W_E"].T[tokens] + P["W_pos"]
    n = x.shape[0]
    q = (x @ P["W_Q"].T).reshape(n, T, H, dh).transpose(1, 2)
    k = (x @ P["W_K"].T).reshape(n, T, H, dh).transpose(1, 2)
    v = (x @ P["W_V"].T).reshape(n, T, H, dh).transpose(1, 2)
    s = (q @ k.transpose(-1, -2) / math.sqrt(dh)).masked_fill(mask, float("-inf"))
    z = (torch.softmax(s, -1) @ v).transpose(1, 2).reshape(n, T, H * dh)
    x = x + z @ P["W_O"].T
    x = x + torch.relu(x @ P["W_in"].T + P["b_in"]) @ P["W_out"].T + P["b_out"]
    return torch.nn.functional.cross_entropy(x[:, -1] @ P["W_U"], labels)


def gradient():
    return torch.autograd.grad(nanda_loss(), params)


# PyHessian's helpers (pyhessian/utils.py): group_product, group_add, normalization, orthnormal
def group_product(xs, ys):
    return sum(torch.sum(x * y) for x, y in zip(xs, ys))


def normalization(v):
    s = torch.sqrt(group_product(v, v))
    return [vi / (s + 1e-6) for vi in v]


def orthnormal(w, v_list):
    for v in v_list:
        w = [wi - group_product(w, v) * vi for wi, vi in zip(w, v)]
    return normalization(w)


class Hessian:
    """pyhessian.hessian for one full batch: the gradient with create_graph=True, kept."""

    def __init__(self):
        self.grads = torch.autograd.grad(nanda_loss(), params, create_graph=True)

    def hvp(self, v):
        return torch.autograd.grad(self.grads, params, grad_outputs=v, only_inputs=True, retain_graph=True)

    def eigenvalues(self, max_iter=100, tol=1e-3, top_n=1):
        eigenvalues, eigenvectors = [], []
        for _ in range(top_n):
            eigenvalue = None
            v = normalization([torch.randn_like(q) for q in params])
            for _ in range(max_iter):
                v = orthnormal(v, eigenvectors)
                Hv = self.hvp(v)
                tmp = group_product(Hv, v).item()
                v = normalization(Hv)
                if eigenvalue is not None and abs(eigenvalue - tmp) / (abs(eigenvalue) + 1e-6) < tol:
                    eigenvalue = tmp
                    break
                eigenvalue = tmp
            eigenvalues.append(eigenvalue)
            eigenvectors.append(v)
        return eigenvalues, eigenvectors


hessian = Hessian()
vec = [torch.randn_like(q) for q in params]
top = [None]


def power_iteration():
    top[0] = Hessian().eigenvalues(max_iter=20, tol=0.0)[0][0]


print("BM_Gradient_NandaTransformer %.3f ms" % median_ms(gradient, max(args.repeats, 5)))
print("BM_HVP_NandaTransformer %.3f ms" % median_ms(lambda: hessian.hvp(vec), max(args.repeats, 5)))
del hessian
print("BM_PowerIteration_NandaTransformer %.3f ms top_eigenvalue %.6g"
      % (median_ms(power_iteration, args.repeats, warmup=0), top[0]))

# --- devinterp's SGLD on Gromov's MLP, p = 59, width 512, 40 % of pairs, MSE, float32 ----------
p2, N = 59, 512
W1 = (torch.randn(N, 2 * p2)).requires_grad_()
W2 = (torch.randn(p2, N)).requires_grad_()
mlp = [W1, W2]
idx = torch.randperm(p2 * p2)[: int(0.4 * p2 * p2)]
a_all, b_all = idx // p2, idx % p2
y_all = torch.nn.functional.one_hot((a_all + b_all) % p2, p2).float()
n_train, m = len(idx), 128
nbeta, eps, gamma, chains, draws = m / math.log(m), 1e-3, 100.0, 4, 200


def gromov_loss(rows):
    h = (W1.T[a_all[rows]] + W1.T[p2 + b_all[rows]]) / math.sqrt(2 * p2)
    return torch.nn.functional.mse_loss((h * h) @ W2.T / N, y_all[rows])


def batches(gen):
    while True:
        perm = torch.randperm(n_train, generator=gen)
        for i in range(0, n_train - m + 1, m):
            yield perm[i:i + m]


llc = [None]


def estimate_llc():
    w_star = [w.detach().clone() for w in mlp]
    gen = torch.Generator().manual_seed(0)
    init_batches = batches(gen)
    with torch.no_grad():
        init_loss = sum(gromov_loss(next(init_batches)).item() for _ in range(32)) / 32
    per_chain, accept = [], []
    for c in range(chains):
        with torch.no_grad():
            for w, w0 in zip(mlp, w_star):
                w.copy_(w0)
        gen = torch.Generator().manual_seed(c + 1)
        it = batches(gen)
        trace, prev = [], None
        for _ in range(draws):
            loss = gromov_loss(next(it))
            grads = torch.autograd.grad(loss, mlp)
            with torch.no_grad():
                # devinterp's SGLD.step: dw = -lr/2 (nbeta g + localization (w - w*)) + N(0, lr)
                flat_w = torch.cat([w.reshape(-1) for w in mlp])
                dU = torch.cat([(nbeta * g + gamma * (w - w0)).reshape(-1) for g, w, w0 in zip(grads, mlp, w_star)])
                U = nbeta * loss.item() + 0.5 * gamma * sum(((w - w0) ** 2).sum().item() for w, w0 in zip(mlp, w_star))
                if prev is not None:  # MalaAcceptanceRate between consecutive steps
                    w_p, dU_p, U_p = prev
                    fwd = (flat_w - w_p + 0.5 * eps * dU_p).pow(2).sum()
                    bwd = (w_p - flat_w + 0.5 * eps * dU).pow(2).sum()
                    accept.append(min(1.0, math.exp(min(0.0, U_p - U + (fwd - bwd).item() / (2 * eps)))))
                prev = (flat_w, dU, U)
                trace.append(loss.item())
                for g, w, w0 in zip(grads, mlp, w_star):
                    w.add_(-0.5 * eps * (nbeta * g + gamma * (w - w0)) + math.sqrt(eps) * torch.randn_like(w))
        per_chain.append(nbeta * (sum(trace) / len(trace) - init_loss))
    with torch.no_grad():
        for w, w0 in zip(mlp, w_star):
            w.copy_(w0)
    llc[0] = sum(per_chain) / chains


print("BM_LLC_GromovMLP %.3f ms llc %.6g" % (median_ms(estimate_llc, args.repeats, warmup=0), llc[0]))
