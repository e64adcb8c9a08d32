#!/usr/bin/python3
"""PyTorch side of bench/train.bench.cpp: the same three float32 training steps, timed here.

usage: OPENBLAS_NUM_THREADS=T /usr/bin/python3 bench/peer/train_torch.py [--threads T] [--repeats R]
Logs the BLAS in use (update-alternatives), torch's configuration and thread settings first,
because they decide torch's speed on this machine. Prints one line per benchmark: name, median
milliseconds per step over R timed steps (after warm-up).
"""
import argparse
import math
import subprocess
import time

from peer_env import openblas_report, reexec_without_overrides

reexec_without_overrides()
import torch  # noqa: E402 (OpenBLAS reads its environment when torch loads it)

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--repeats", type=int, default=20)
args = ap.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(0)

try:
    alt = subprocess.run(["update-alternatives", "--display", "libblas.so.3-x86_64-linux-gnu"],
                         capture_output=True, text=True).stdout.splitlines()[:2]
except OSError:
    alt = ["update-alternatives unavailable"]
print("# blas:", " | ".join(s.strip() for s in alt))
print("# torch", torch.__version__, "threads", torch.get_num_threads())
print("# " + openblas_report(args.threads))
print("#", torch.__config__.parallel_info().replace("\n", " | "))


def time_step(step, repeats):
    for _ in range(3):
        step()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        step()
        ts.append(time.perf_counter() - t0)
    ts.sort()
    return 1e3 * ts[len(ts) // 2]


# --- Nanda et al.'s transformer, p = 113, 3 830 training pairs, full batch, AdamW -------------
p, d, H, dh, dm, T = 113, 128, 4, 32, 512, 3
V = p + 1
P = {
    "W_E": torch.randn(d, V) / math.sqrt(d), "W_pos": torch.randn(T, d) / math.sqrt(d),
    "W_Q": torch.randn(H * dh, d) / math.sqrt(d), "W_K": torch.randn(H * dh, d) / math.sqrt(d),
    "W_V": torch.randn(H * dh, d) / math.sqrt(d), "W_O": torch.randn(d, H * dh) / math.sqrt(d),
    "W_in": torch.randn(dm, d) / math.sqrt(d), "b_in": torch.zeros(dm),
    "W_out": torch.randn(d, dm) / math.sqrt(d), "b_out": torch.zeros(d),
    "W_U": torch.randn(d, V) / math.sqrt(V),
}
for t in P.values():
    t.requires_grad_()
pairs = torch.randperm(p * p)[:3830]
tokens = torch.stack([pairs // p, pairs % p, torch.full_like(pairs, p)], 1)
labels = (tokens[:, 0] + tokens[:, 1]) % p
mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)
opt_n = torch.optim.AdamW(P.values(), lr=1e-3, betas=(0.9, 0.98), weight_decay=1.0)


def nanda_step():
    opt_n.zero_grad()
    x = P["W_E"].T[tokens] + P["W_pos"]
    n = x.shape[0]
    q = (x @ P["W_Q"].T).reshape(n, T, H, dh).transpose(1, 2)
    k = (x @ P["W_K"].T).reshape(n, T, H, dh).transpose(1, 2)
    v = (x @ P["W_V"].T).reshape(n, T, H, dh).transpose(1, 2)
    s = (q @ k.transpose(-1, -2) / math.sqrt(dh)).masked_fill(mask, float("-inf"))
    z = (torch.softmax(s, -1) @ v).transpose(1, 2).reshape(n, T, H * dh)
    x = x + z @ P["W_O"].T
    x = x + torch.relu(x @ P["W_in"].T + P["b_in"]) @ P["W_out"].T + P["b_out"]
    logits = (x[:, -1] @ P["W_U"]).double()  # float64 cross-entropy, as grokscope
    torch.nn.functional.cross_entropy(logits, labels).backward()
    opt_n.step()


# --- Gromov's MLP, p = 97, width 512, half the table, MSE, AdamW ------------------------------
p2, N = 97, 512
W1 = torch.randn(N, 2 * p2, requires_grad=True)
W2 = torch.randn(p2, N, requires_grad=True)
idx = torch.randperm(p2 * p2)[: (p2 * p2 + 1) // 2]
a, b = idx // p2, idx % p2
y2 = torch.nn.functional.one_hot((a + b) % p2, p2).float()
opt_g = torch.optim.AdamW([W1, W2], lr=5e-3, betas=(0.9, 0.98), weight_decay=0.1)


def gromov_step():
    opt_g.zero_grad()
    h = (W1.T[a] + W1.T[p2 + b]) / math.sqrt(2 * p2)  # one-hot pairs as an embedding sum
    f = (h * h) @ W2.T / N
    torch.nn.functional.mse_loss(f, y2).backward()
    opt_g.step()


# --- Kumar et al.'s committee machine, D = 100, P = 550, N = 500, centered, GD ----------------
D, Pn, Nk, eps = 100, 550, 500, 0.02
W = torch.randn(Nk, D, requires_grad=True)
W0 = W.detach().clone()
X = torch.randn(Pn, D)
beta = torch.randn(D)
y3 = ((X @ beta) / math.sqrt(D)) ** 2
opt_k = torch.optim.SGD([W], lr=500.0)


def kumar_f(w):
    h = X @ w.T / math.sqrt(D)
    return (h + 0.5 * eps * h * h).mean(1)


f0 = kumar_f(W0)


def kumar_step():
    opt_k.zero_grad()
    torch.nn.functional.mse_loss(kumar_f(W) - f0, y3).backward()
    opt_k.step()


for name, fn in (("NandaTransformer", nanda_step), ("GromovMLP", gromov_step), ("KumarMLP", kumar_step)):
    print("BM_TrainStep_%s %.3f ms" % (name, time_step(fn, args.repeats)))
