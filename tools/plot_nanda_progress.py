#!/usr/bin/python3
"""Plots examples/nanda_progress for the first seed in summary.json: train and test accuracy on a
log-step axis; train, test, restricted (test) and excluded (train) loss; the excluded loss of each
key frequency; the sum of squared weights; the Gini coefficients of the Fourier component norms of
W_E and W_L; the neurons per key frequency in the final model; and, from the final model's captured
activations (run_with_cache), the MLP neurons clustered by key frequency, the share of each
frequency in the MLP activations and in each head's attention from "=" to a over the (a, b) grid.
t_mem and t_grok are marked.

usage: plot_nanda_progress.py OUT_DIR [--name nanda_progress.png]
"""
import argparse
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from plot_common import finite, read_history, save  # noqa: E402


def mark(ax, report):
    for key, ls in (("t_mem", "--"), ("t_grok", "-")):
        t = report.get(key)
        if t is not None:
            ax.axvline(t, color="grey", lw=0.8, ls=ls)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--name", default="nanda_progress.png")
    args = ap.parse_args()
    with open(os.path.join(args.out_dir, "summary.json")) as f:
        summary = json.load(f)
    if not summary.get("runs"):
        sys.exit("plot_nanda_progress.py: no runs in summary.json")
    run = summary["runs"][0]
    h = read_history(os.path.join(run["dir"], "history.csv"))
    g = read_history(os.path.join(run["dir"], "progress.csv"))
    rep = run["report"]
    circuits = run.get("circuits")
    fig, ax = plt.subplots(3 if circuits else 2, 3, figsize=(15, 12 if circuits else 8))
    a = ax[0, 0]
    a.plot(*finite(h["step"], h["train_acc"], True), color="#264653", label="train")
    a.plot(*finite(h["step"], h["test_acc"], True), color="#e76f51", label="test")
    a.set(xscale="log", xlabel="step", ylabel="accuracy", title="accuracy (dashed t_mem, solid t_grok)")
    a.legend(fontsize=8)
    mark(a, rep)
    a = ax[0, 1]
    a.plot(g["step"], g["train_loss"], color="#264653", label="train")
    a.plot(g["step"], g["test_loss"], color="#e76f51", label="test")
    a.plot(g["step"], g["restricted_loss_test"], color="#2a9d8f", label="restricted (test)")
    a.plot(g["step"], g["excluded_loss"], color="#6d597a", label="excluded (train)")
    a.set(yscale="log", xlabel="step", ylabel="cross-entropy over the p answers", title="progress measures")
    a.legend(fontsize=8)
    mark(a, rep)
    a = ax[0, 2]
    keys = [c for c in g if c.startswith("excluded_loss_k")]
    colors = plt.cm.tab10(range(len(keys)))
    for c, col in zip(keys, colors):
        a.plot(g["step"], g[c], color=col, lw=1, label="k = " + c[len("excluded_loss_k"):])
    a.plot(g["step"], g["train_loss"], color="#264653", lw=0.8, ls=":", label="train")
    a.set(yscale="log", xlabel="step", ylabel="training cross-entropy", title="excluded loss, one key frequency")
    a.legend(fontsize=7, ncol=2)
    mark(a, rep)
    a = ax[1, 0]
    a.plot(g["step"], g["sum_sq_weights"], color="#264653")
    a.set(xlabel="step", ylabel="Σθ²", title="sum of squared weights")
    mark(a, rep)
    a = ax[1, 1]
    a.plot(g["step"], g["gini_W_E"], color="#e9c46a", label="W_E (token axis)")
    a.plot(g["step"], g["gini_W_L"], color="#2a9d8f", label="W_L = W_Uᵀ W_out (answer axis)")
    a.set(xlabel="step", ylabel="Gini of Fourier component norms", title="sparsity in the Fourier basis")
    a.legend(fontsize=8)
    mark(a, rep)
    a = ax[1, 2]
    kf = run["key_frequencies"]
    a.bar([str(k["frequency"]) for k in kf], [k["neurons"] for k in kf], color="#6d597a")
    a.set(xlabel="key frequency k", ylabel="neurons", title="neurons per key frequency (final model, %.0f %% explained)"
          % (100 * run["neurons_explained_fraction"]))
    if circuits:
        a = ax[2, 0]
        nc = [c for c in circuits["neuron_clusters"] if c["neurons"] >= 2]
        bars = a.bar([str(c["frequency"]) for c in nc], [c["neurons"] for c in nc],
                     color=plt.cm.viridis([c["explained"] for c in nc]))
        for b, c in zip(bars, nc):
            a.annotate("%.0f%%" % (100 * c["explained"]), (b.get_x() + b.get_width() / 2, b.get_height()),
                       ha="center", va="bottom", fontsize=7)
        a.set(xlabel="key frequency k (clusters of >= 2 neurons)", ylabel="neurons",
              title="MLP neuron clusters: %.0f %% of the variance explained" % (100 * circuits["variance_explained"]))
        a = ax[2, 1]
        for h, share in enumerate(circuits["attention_per_frequency"]):
            a.plot(range(1, len(share)), share[1:], lw=1, label="head %d" % h)
        a.set(xlabel="frequency k", ylabel="share of the pattern's variance",
              title='attention from "=" to a over the (a, b) grid')
        a.legend(fontsize=7)
        a = ax[2, 2]
        share = circuits["mlp_per_frequency"]
        a.bar(range(1, len(share)), share[1:], color="#2a9d8f")
        a.set(xlabel="frequency k", ylabel="share of the activations' variance",
              title="MLP activations over the (a, b) grid, by frequency")
    for a in ax.flat:
        a.grid(alpha=0.3)
    cfg = summary["config"]
    fig.suptitle("Nanda et al.'s transformer on (a + b) mod %d, %g of pairs, AdamW lr %g wd %g, seed %d: %s"
                 % (cfg["p"], cfg["fraction"], cfg["lr"], cfg["weight_decay"], run["seed"], rep.get("verdict", "")))
    save(fig, args.out_dir, args.name, dpi=90)


if __name__ == "__main__":
    main()
