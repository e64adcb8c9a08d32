#!/usr/bin/python3
"""What NtkPrecision::ModelScalar (float32 Grams) changes in the measurements built on the NTK.

usage: PYTHONPATH=build/release/python /usr/bin/python3 bench/ntk_precision.py [--seeds 3]

On Kumar et al.'s task (D = 100, 550 train and 1 000 test points) and two float32 models -- their
committee machine (N = 500, φ(h) = h + (ε/2)h², hidden weights only) and a ReLU MLP with biases
(width 500, every parameter: the NTK benchmark's model) -- the initial NTK is computed with double
Grams (the default) and with float32 Grams, and the script prints, per seed, the relative
Frobenius error of the train kernel, the test MSE of kernel regression with each kernel (ridge
1e-6 × mean diagonal) and Kumar et al.'s alignment with the train targets with each.
"""
import argparse

import numpy as np

import grokscope

ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
ap.add_argument("--seeds", type=int, default=3)
args = ap.parse_args()

print("| model | seed | ‖K_f32 − K‖_F / ‖K‖_F | test MSE, double Grams | test MSE, float32 Grams | "
      "alignment, double | alignment, float32 |")
print("|---|---|---|---|---|---|---|")
for seed in range(args.seeds):
    d = grokscope.kumar_polynomial(D=100, n_train=550, n_test=1000, seed=seed)
    x = d["features"].astype(np.float32)
    y = d["targets"]
    tr, te = d["train"], d["test"]
    models = {
        "Kumar committee machine, N 500": grokscope.Mlp(grokscope.mlp_preset("kumar", D=100, width=500, seed=seed),
                                                       dtype="float32"),
        "ReLU MLP 100-500-1 with biases": grokscope.Mlp(
            {"input": 100, "hidden": [500], "output": 1, "activation": "relu", "seed": seed}, dtype="float32"),
    }
    for name, m in models.items():
        row = [name, str(seed)]
        K = {p: grokscope.empirical_ntk(m, x[tr], precision=p) for p in ("double", "model")}
        Kx = {p: grokscope.empirical_ntk(m, x[te], x[tr], precision=p) for p in ("double", "model")}
        row.append("%.2e" % (np.linalg.norm(K["model"] - K["double"]) / np.linalg.norm(K["double"])))
        mse, align = [], []
        for p in ("double", "model"):
            ridge = 1e-6 * float(np.mean(np.diag(K[p])))
            r = grokscope.kernel_regression(K[p], y[tr], Kx[p], ridge=ridge, y_test=y[te])
            mse.append("%.6g" % r["test_mse"])
            align.append("%.9g" % grokscope.kumar_alignment(K[p], y[tr]))
        print("| " + " | ".join(row + mse + align) + " |")
