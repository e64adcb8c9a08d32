#!/usr/bin/python3
"""Plots examples/sparse_parity: for every seed, train and test accuracy (top) and the effective
sparsity (bottom, log scale) against step, with t_grok (solid) and t_sparse (dotted) marked, and the
mean incoming-weight norm of the active neurons and of the others (right).

usage: plot_sparse_parity.py OUT_DIR [--name sparse_parity.png]
"""
import argparse
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from plot_common import finite, read_history, save  # noqa: E402

COLORS = ["#264653", "#e76f51", "#2a9d8f", "#e9c46a", "#6d597a", "#8ab17d"]



def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--name", default="sparse_parity.png")
    args = ap.parse_args()
    with open(os.path.join(args.out_dir, "summary.json")) as f:
        summary = json.load(f)
    fig = plt.figure(figsize=(11, 5.5))
    acc_ax = fig.add_subplot(2, 2, 1)
    sp_ax = fig.add_subplot(2, 2, 3, sharex=acc_ax)
    norm_ax = fig.add_subplot(1, 2, 2)
    for run, c in zip(summary["runs"], COLORS * 4):
        h = read_history(os.path.join(run["dir"], "history.csv"))
        lab = "seed %d" % run["seed"]
        acc_ax.plot(h["step"], h["test_acc"], color=c, label=lab)
        acc_ax.plot(h["step"], h["train_acc"], color=c, ls="--", lw=0.8)
        sp_ax.plot(*finite(h["step"], h["effective_sparsity"]), color=c)
        norm_ax.plot(*finite(h["step"], h["active_neuron_norm"]), color=c, label=lab + " active")
        norm_ax.plot(*finite(h["step"], h["other_neuron_norm"]), color=c, ls=":", label=lab + " others")
        tg, ts = run["report"].get("t_grok"), run.get("t_sparse")
        for ax in (acc_ax, sp_ax):
            if tg is not None:
                ax.axvline(tg, color=c, lw=0.6)
            if ts is not None:
                ax.axvline(ts, color=c, lw=0.6, ls=":")
    acc_ax.set_ylabel("accuracy (test solid, train dashed)")
    acc_ax.legend(fontsize=7)
    sp_ax.set_yscale("log")
    sp_ax.set_ylabel("effective sparsity")
    sp_ax.set_xlabel("step")
    norm_ax.set_yscale("log")
    norm_ax.set_xlabel("step")
    norm_ax.set_ylabel("mean incoming-weight norm")
    norm_ax.legend(fontsize=6, ncol=2)
    cfg = summary["config"]
    fig.suptitle("(%d, %d)-parity, width %d, SGD lr %g wd %g batch %d" % (
        cfg["n"], cfg["k"], cfg["width"], cfg["lr"], cfg["weight_decay"], cfg["batch"]), fontsize=10)
    save(fig, args.out_dir, args.name, dpi=110)


if __name__ == "__main__":
    main()
