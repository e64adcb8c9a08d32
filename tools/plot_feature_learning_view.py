#!/usr/bin/python3
"""Plots examples/feature_learning_view: one column per run (kumar_gd, modular_gd, modular_adamw),
first seed. Rows: train (dashed) and test (solid) accuracy; the weight norm; the kernel distance
from initialisation and the kernel-target alignment of the empirical NTK on held-out points.
t_mem and t_grok are marked on every panel; the step axis is logarithmic.

usage: plot_feature_learning_view.py OUT_DIR [--name feature_learning_view.png]
"""
import argparse
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from plot_common import finite, read_history, save  # noqa: E402

TITLES = {"kumar_gd": "Kumar polynomial, GD, no weight decay",
          "modular_gd": "modular MLP, GD, no weight decay",
          "modular_adamw": "modular MLP, AdamW with weight decay"}



def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--name", default="feature_learning_view.png")
    args = ap.parse_args()
    with open(os.path.join(args.out_dir, "summary.json")) as f:
        summary = json.load(f)
    seed = summary["runs"][0]["seed"]
    runs = [r for r in summary["runs"] if r["seed"] == seed]
    fig, axes = plt.subplots(3, len(runs), figsize=(4.2 * len(runs), 8), squeeze=False)
    for j, run in enumerate(runs):
        h = read_history(os.path.join(run["dir"], "history.csv"))
        a, w, k = axes[0][j], axes[1][j], axes[2][j]
        a.plot(*finite(h["step"], positive_x=True, ys=h["test_acc"]), color="#e76f51", label="test")
        a.plot(*finite(h["step"], positive_x=True, ys=h["train_acc"]), color="#264653", ls="--", label="train")
        a.set_ylim(-0.02, 1.02)
        a.set_title(TITLES.get(run["run"], run["run"]), fontsize=9)
        w.plot(*finite(h["step"], positive_x=True, ys=h["weight_norm"]), color="#6d597a")
        k.plot(*finite(h["step"], positive_x=True, ys=h["kernel_distance"]), color="#2a9d8f", label="kernel distance")
        k2 = k.twinx()
        k2.plot(*finite(h["step"], positive_x=True, ys=h["ntk_alignment"]), color="#e9c46a", label="alignment")
        k2.set_ylabel("kernel-target alignment", fontsize=8)
        rep = run["report"]
        for ax in (a, w, k):
            ax.set_xscale("log")
            if rep.get("t_mem") is not None:
                ax.axvline(rep["t_mem"], color="grey", ls="--", lw=0.8)
            if rep.get("t_grok") is not None:
                ax.axvline(rep["t_grok"], color="grey", lw=0.8)
        share = run.get("share_of_kernel_movement_by_t_mem")
        if share is not None:
            k.text(0.02, 0.92, "%.0f %% of the final distance by t_mem" % (100 * share), transform=k.transAxes,
                   fontsize=7)
        if j == 0:
            a.set_ylabel("accuracy")
            w.set_ylabel("weight norm")
            k.set_ylabel("kernel distance from init")
            a.legend(fontsize=7)
        k.set_xlabel("step")
    fig.suptitle("dashed: t_mem, solid: t_grok", fontsize=9)
    save(fig, args.out_dir, args.name, dpi=100)


if __name__ == "__main__":
    main()
