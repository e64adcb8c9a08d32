#!/usr/bin/python3
"""Plots an examples/lazy_to_rich run: for every α, test loss (solid) and train loss (dashed) on a
log-step axis with the initial-NTK kernel-regression test loss as a dotted line, the NTK–target
alignment on the test set, and the relative movement of the weights. Seed 0 of each α is drawn
(the first seed in summary.json).

usage: plot_lazy_to_rich.py OUT_DIR [--out FILE.png]
"""
import argparse
import json
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from plot_common import read_history  # noqa: E402


def series(h, col):
    xs, ys = [], []
    for s, v in zip(h["step"], h[col]):
        if not math.isnan(v) and s > 0:
            xs.append(s)
            ys.append(v)
    return xs, ys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--out")
    args = ap.parse_args()
    with open(os.path.join(args.out_dir, "summary.json")) as f:
        summary = json.load(f)
    first_seed = summary["runs"][0]["seed"]
    runs = [r for r in summary["runs"] if r["seed"] == first_seed]
    if not runs:
        sys.exit("plot_lazy_to_rich.py: no runs in summary.json")
    fig, ax = plt.subplots(1, 3, figsize=(15, 4.2))
    colors = plt.cm.viridis([i / max(1, len(runs) - 1) for i in range(len(runs))])
    for r, c in zip(runs, colors):
        h = read_history(os.path.join(r["dir"], "history.csv"))
        label = "α = %g" % r["alpha"]
        ax[0].plot(*series(h, "test_loss"), color=c, label=label + " test")
        ax[0].plot(*series(h, "train_loss"), color=c, ls="--", lw=0.9)
        ax[1].plot(*series(h, "ntk_alignment"), color=c, label=label)
        ax[2].plot(*series(h, "relative_movement"), color=c, label=label)
    ax[0].axhline(runs[0]["ntk_regression_test_mse"], color="k", ls=":", label="initial-NTK regression")
    ax[0].set(xscale="log", yscale="log", xlabel="step", ylabel="MSE (dashed: train)", title="loss")
    ax[1].set(xscale="log", xlabel="step", ylabel="centered alignment", title="NTK–target alignment (test set)")
    ax[2].set(xscale="log", yscale="log", xlabel="step", ylabel="‖θ − θ₀‖ / ‖θ₀‖", title="relative weight movement")
    for a in ax:
        a.grid(alpha=0.3)
    ax[0].legend(fontsize=8)
    ax[1].legend(fontsize=8)
    cfg = summary["config"]
    fig.suptitle("Kumar et al.'s committee machine, D = %d, N = %d, P = %d, ε = %g, η = %g/α², seed %d"
                 % (cfg["D"], cfg["N"], cfg["P"], cfg["epsilon"], cfg["eta0"], first_seed))
    fig.tight_layout()
    out = args.out or os.path.join(args.out_dir, "lazy_to_rich.png")
    fig.savefig(out, dpi=90)
    print("wrote", out)


if __name__ == "__main__":
    main()
