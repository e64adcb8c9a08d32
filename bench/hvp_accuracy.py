#!/usr/bin/python3
"""The exact and the finite-difference Hessian-vector products of grokscope on the benchmarked
model, Nanda et al.'s transformer at p = 113 (full training batch of 3 830, float64, Nanda's
initialisation), against PyTorch's double backward on the same weights, and the top eigenvalues
both products give. Not a timing: the accuracy figures of docs/measurements.md.

usage: PYTHONPATH=build/release/python /usr/bin/python3 bench/hvp_accuracy.py [--seed S]
"""
import argparse
import os
import sys
import warnings

import numpy as np
import torch
import torch.nn.functional as F

import grokscope

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures"))
from make_fixtures import transformer_logits  # noqa: E402 (the fixtures' torch model)

ap = argparse.ArgumentParser()
ap.add_argument("--seed", type=int, default=0)
args = ap.parse_args()
torch.set_default_dtype(torch.float64)
torch.set_num_threads(1)

d = grokscope.modular_dataset("add", 113, "nanda_tokens", split="nanda", fraction=0.3)
X, y = d["tokens"][d["train"]], d["labels"][d["train"]]
m = grokscope.Transformer({"nanda2023": 113, "seed": args.seed})
sd = m.state_dict()
names = list(sd)
P = {k: torch.from_numpy(v.copy()).requires_grad_() for k, v in sd.items()}
loss = F.cross_entropy(transformer_logits(P, torch.from_numpy(X), 128, 4, 1, "none", "relu", "learned"),
                       torch.from_numpy(y))
grads = torch.autograd.grad(loss, [P[n] for n in names], create_graph=True)
rng = np.random.default_rng(args.seed)
print("Nanda et al.'s transformer, p = 113, %d training pairs, %d parameters, seed %d"
      % (len(y), m.num_parameters, args.seed))
for trial in range(3):
    v = rng.normal(size=m.num_parameters)
    parts, o = [], 0
    for n in names:
        parts.append(torch.from_numpy(v[o:o + sd[n].size].reshape(sd[n].shape)))
        o += sd[n].size
    ref = torch.cat([h.reshape(-1) for h in torch.autograd.grad(grads, [P[n] for n in names], grad_outputs=parts,
                                                                  retain_graph=True)]).numpy()
    exact = grokscope.hessian_vector_product(m, X, y, v)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        fd = grokscope.hessian_vector_product(m, X, y, v, method="finite_difference")
    kinks = [str(x.message) for x in w]
    print("v%d: |Hv| torch %.4g; exact %.2e relative; finite differences %.2e relative (%s)"
          % (trial, np.linalg.norm(ref), np.linalg.norm(exact - ref) / np.linalg.norm(ref),
             np.linalg.norm(fd - ref) / np.linalg.norm(ref), kinks[0] if kinks else "no kink crossed"))
e = grokscope.hessian_eigenvalues(m, X, y, k=3)
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    f = grokscope.hessian_eigenvalues(m, X, y, k=3, method="finite_difference")
print("top-3 eigenvalues, Lanczos 40 steps: exact %s (residuals %s, symmetry %.1e); finite differences %s "
      "(symmetry %.1e, %d warnings)" % (np.array2string(e["eigenvalues"], precision=5),
                                        np.array2string(e["residuals"], precision=2), e["symmetry_error"],
                                        np.array2string(f["eigenvalues"], precision=5), f["symmetry_error"], len(w)))
