#!/usr/bin/python3
"""Plots examples/numerical_stability: per arm (colour) and seed (one line each), on a log step
axis, the test and train accuracy, the training loss, the softmax-collapse share of the training
rows (of StableMax's s(z) for the StableMax arms), cos(-grad L, theta) and the last layer's norm.

usage: plot_numerical_stability.py OUT_DIR [--name numerical_stability.png]
"""
import argparse
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from plot_common import finite, read_history, save  # noqa: E402

COLORS = {"ce_float32": "#e76f51", "ce_float64": "#f4a261", "stablemax": "#2a9d8f", "orthograd": "#264653",
          "stablemax_orthograd": "#8ab17d"}
PANELS = [("test_acc", "test accuracy", "linear"), ("train_acc", "train accuracy", "linear"),
          ("train_loss", "training loss", "log"), ("softmax_collapse", "softmax collapse (share of train rows)",
                                                     "linear"),
          ("nlm_cosine", "cos(-∇L, θ)", "linear"), ("last_layer_norm", "last-layer ‖W‖_F", "log")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--name", default="numerical_stability.png")
    args = ap.parse_args()
    with open(os.path.join(args.out_dir, "summary.json")) as f:
        summary = json.load(f)
    cfg, arms = summary["config"], summary["arms"]
    fig, axes = plt.subplots(2, 3, figsize=(15, 8))
    for name, arm in arms.items():
        c = COLORS.get(name, "black")
        for i, run in enumerate(arm["runs"]):
            h = read_history(os.path.join(args.out_dir, name, "seed_%d" % run["seed"], "history.csv"))
            for ax, (col, _, _) in zip(axes.flat, PANELS):
                xs, ys = finite(h["step"], h[col], True)
                if col == "train_loss":
                    xs, ys = zip(*[(x, y) for x, y in zip(xs, ys) if y > 0]) if any(y > 0 for y in ys) else ([], [])
                ax.plot(xs, ys, color=c, lw=1.1, alpha=0.8, label=name if i == 0 else None)
    for ax, (_, label, yscale) in zip(axes.flat, PANELS):
        ax.set(xscale="log", yscale=yscale, xlabel="step", title=label)
    axes[0, 0].legend(fontsize=8, loc="upper left")
    fig.suptitle("(a+b) mod %d, %.0f %% of pairs, MLP %s, AdamW lr %g betas (%g, %g) eps %g, weight decay %g, %d seeds"
                 % (cfg["p"], 100 * cfg["fraction"], cfg["hidden"], cfg["lr"], cfg["betas"][0], cfg["betas"][1],
                    cfg["adam_eps"], cfg["weight_decay"], cfg["seeds"]), fontsize=10)
    save(fig, args.out_dir, args.name, dpi=100)


if __name__ == "__main__":
    main()
