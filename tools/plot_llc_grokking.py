#!/usr/bin/python3
"""Plots examples/llc_grokking: per seed (one colour each) the train (dashed) and test loss, the
local learning coefficient with the test loss on a second axis for the first seed, the Hessian's
top eigenvalue and trace, and the distance from the linearized model (taylor_gap). t_mem and t_grok
of the first seed are marked.

usage: plot_llc_grokking.py OUT_DIR [--name llc_grokking.png]
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
    ap.add_argument("--name", default="llc_grokking.png")
    args = ap.parse_args()
    with open(os.path.join(args.out_dir, "summary.json")) as f:
        summary = json.load(f)
    runs, cfg = summary["runs"], summary["config"]
    fig, ax = plt.subplots(1, 4, figsize=(19, 4.2))
    colors = plt.cm.tab10(range(len(runs)))
    for r, c in zip(runs, colors):
        h = read_history(os.path.join(r["dir"], "history.csv"))
        lab = "seed %d" % r["seed"]
        ax[0].plot(*finite(h["step"], h["test_loss"]), color=c, label=lab)
        ax[0].plot(*finite(h["step"], h["train_loss"]), color=c, ls="--", lw=0.9)
        ax[1].plot(*finite(h["step"], h["llc_mean"]), color=c, label=lab)
        ax[2].plot(*finite(h["step"], h["hessian_top"]), color=c, label=lab + " top eigenvalue")
        ax[2].plot(*finite(h["step"], h["hessian_trace"]), color=c, ls=":", lw=1.2)
        ax[3].plot(*finite(h["step"], h["taylor_gap"], True), color=c, label=lab)
    first = read_history(os.path.join(runs[0]["dir"], "history.csv"))
    tw = ax[1].twinx()
    tw.plot(*finite(first["step"], first["test_loss"]), color="grey", lw=0.8, ls="-.")
    tw.set_ylabel("test loss, seed %d (dash-dot)" % runs[0]["seed"], color="grey")
    rep = runs[0]["report"]
    for a in ax:
        for key, ls in (("t_mem", "--"), ("t_grok", "-")):
            if rep.get(key) is not None:
                a.axvline(rep[key], color="grey", lw=0.7, ls=ls)
    ax[0].set(yscale="log", xlabel="step", ylabel="MSE (dashed: train)", title="loss")
    llc = cfg["llc"]
    ax[1].set(xlabel="step", ylabel="LLC estimate",
              title="LLC (ε %g, nβ %g, γ %g, %d draws)" % (llc["epsilon"], llc["nbeta"], llc["gamma"], llc["draws"]))
    ax[2].set(yscale="log", xlabel="step", ylabel="Hessian of the training loss",
              title="top eigenvalue (solid), trace (dotted)")
    ax[3].set(xscale="log", yscale="log", xlabel="step", ylabel="‖f − f_lin‖ / ‖f_lin − f₀‖ (test pairs)",
              title="distance from the linearized model")
    ax[3].axhline(0.1, color="grey", lw=0.7, ls=":")
    ax[0].legend(fontsize=8)
    fig.suptitle("(a+b) mod %d, width %d, %.0f %% of pairs, AdamW wd %g; dashed t_mem, solid t_grok (seed %d)"
                 % (cfg["p"], cfg["width"], 100 * cfg["fraction"], cfg["weight_decay"], runs[0]["seed"]), fontsize=10)
    save(fig, args.out_dir, args.name, dpi=95)


if __name__ == "__main__":
    main()
