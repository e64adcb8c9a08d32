#!/usr/bin/python3
"""Wall-clock time to t_grok of the flagship experiment in PyTorch, for comparison with
`modular_addition --stop-at-grok` (same model, data size, optimiser, evaluation interval).

Gromov's MLP f(x) = (1/N) W2 (W1 x/sqrt(2p))^2 on (a + b) mod p, 40 % of pairs, MSE on one-hot
labels, full-batch AdamW (lr 3e-3, betas (0.9, 0.98), wd 0.03), float32, test accuracy evaluated
every 50 steps; stops when it first reaches 0.9 (t_grok) or after --steps.

usage: OPENBLAS_NUM_THREADS=T /usr/bin/python3 bench/peer/modular_addition_torch.py [--threads T] [--seed S]
"""
import argparse
import math
import time

from peer_env import openblas_report, reexec_without_overrides

reexec_without_overrides()
import torch  # noqa: E402 (OpenBLAS reads its environment when it is loaded)

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--seed", type=int, default=0)
ap.add_argument("--p", type=int, default=59)
ap.add_argument("--width", type=int, default=512)
ap.add_argument("--steps", type=int, default=20000)
a = ap.parse_args()
torch.set_num_threads(a.threads)
print("# " + openblas_report(a.threads))
torch.manual_seed(a.seed)
p, N = a.p, a.width
perm = torch.randperm(p * p)
n_train = round(0.4 * p * p)
tr, te = perm[:n_train], perm[n_train:]
W1 = torch.randn(N, 2 * p, requires_grad=True)
W2 = torch.randn(p, N, requires_grad=True)
opt = torch.optim.AdamW([W1, W2], lr=3e-3, betas=(0.9, 0.98), weight_decay=0.03)


def f(idx):
    x, y = idx // p, idx % p
    h = (W1.T[x] + W1.T[p + y]) / math.sqrt(2 * p)
    return (h * h) @ W2.T / N


def labels(idx):
    return (idx // p + idx % p) % p


y_tr = torch.nn.functional.one_hot(labels(tr), p).float()
t0 = time.perf_counter()
t_mem = None
for step in range(a.steps + 1):
    if step % 50 == 0:
        with torch.no_grad():
            acc_tr = (f(tr).argmax(1) == labels(tr)).float().mean().item()
            acc_te = (f(te).argmax(1) == labels(te)).float().mean().item()
        if t_mem is None and acc_tr >= 0.9:
            t_mem = step
        if acc_te >= 0.9:
            print("t_mem %s t_grok %d seconds %.2f ms_per_step %.3f" % (t_mem, step, time.perf_counter() - t0,
                                                                      1e3 * (time.perf_counter() - t0) / max(step, 1)))
            break
    opt.zero_grad()
    torch.nn.functional.mse_loss(f(tr), y_tr).backward()
    opt.step()
else:
    print("no t_grok within %d steps (%.2f s)" % (a.steps, time.perf_counter() - t0))
