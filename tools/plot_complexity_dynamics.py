#!/usr/bin/python3
"""Plots examples/complexity_dynamics: per run the coarse-grained complexity (solid) beside the raw
bzip2 size of the weights (dotted), the mean spectral entropy, and the train (dashed) and test
accuracy; regularised runs in colour, unregularised runs in grey, log-scaled steps.

usage: plot_complexity_dynamics.py OUT_DIR [--name complexity_dynamics.png]
"""
import argparse
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from plot_common import finite, read_history, save  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--name", default="complexity_dynamics.png")
    args = ap.parse_args()
    with open(os.path.join(args.out_dir, "summary.json")) as f:
        summary = json.load(f)
    runs, cfg = summary["runs"], summary["config"]
    fig, ax = plt.subplots(1, 3, figsize=(16, 4.4))
    reg = [r for r in runs if r["arm"] == "regularised"]
    colors = dict(zip([r["seed"] for r in reg], plt.cm.tab10(range(len(reg)))))
    for r in runs:
        h = read_history(os.path.join(r["dir"], "history.csv"))
        c = colors.get(r["seed"]) if r["arm"] == "regularised" else "grey"
        lab = "%s, seed %d" % (r["arm"], r["seed"])
        ax[0].plot(*finite(h["step"], h["complexity_bytes"], True), color=c, label=lab, marker=".", ms=3)
        ax[0].plot(*finite(h["step"], h["complexity_raw_bytes"], True), color=c, ls=":", lw=0.9)
        ax[1].plot(*finite(h["step"], h["spectral_entropy"], True), color=c, label=lab)
        ax[2].plot(*finite(h["step"], h["test_acc"], True), color=c, label=lab)
        ax[2].plot(*finite(h["step"], h["train_acc"], True), color=c, ls="--", lw=0.9)
    cc = cfg["complexity"]
    ax[0].set(xscale="log", yscale="log", xlabel="step", ylabel="bytes (bzip2)",
              title="coarse-grained complexity, ε %g (dotted: raw weights)" % cc["epsilon"])
    ax[1].set(xscale="log", xlabel="step", ylabel="mean spectral entropy of the weight matrices",
              title="spectral entropy")
    ax[2].set(xscale="log", xlabel="step", ylabel="accuracy (dashed: train)", title="accuracy")
    ax[0].legend(fontsize=7)
    rg = cfg["regularised"]
    fig.suptitle("(a+b) mod %d as [a, op, b, =], %.0f %% of pairs, pre-LN transformer, AdamW lr %g; regularised: wd %g, "
                 "β %g, weight noise %g; unregularised: none" % (cfg["p"], 100 * cfg["fraction"], cfg["lr"],
                                                                rg["weight_decay"], rg["beta"], rg["weight_noise"]),
                 fontsize=10)
    save(fig, args.out_dir, args.name, dpi=95)


if __name__ == "__main__":
    main()
