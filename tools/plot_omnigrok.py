#!/usr/bin/python3
"""Plots examples/omnigrok_images: train (dashed) and test (solid) accuracy against step for every
init scale α on a log step axis, with t_mem (triangle) and t_grok (circle) marked and the two
thresholds dotted (left); the weight norm against step, with the norm at t_grok marked (middle);
and the delay ratio t_grok / t_mem against α, one dot per seed (right; runs that never reached
the test threshold are crosses at the top).

usage: plot_omnigrok.py OUT_DIR [--name omnigrok_images.png] [--title TEXT]
"""
import argparse
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from plot_common import finite, read_history, save  # noqa: E402


def value_at(h, column, step):
    """The column's value at the first record at or after step."""
    for s, v in zip(h["step"], h[column]):
        if s >= step:
            return v
    return h[column][-1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--name", default="omnigrok_images.png")
    ap.add_argument("--title", default="")
    args = ap.parse_args()
    with open(os.path.join(args.out_dir, "summary.json")) as f:
        summary = json.load(f)
    cfg, runs = summary["config"], summary["runs"]
    alphas = cfg["alphas"]
    cmap = plt.get_cmap("viridis")
    color = {a: cmap(i / max(1, len(alphas) - 1)) for i, a in enumerate(alphas)}
    fig, (ax, nx, rx) = plt.subplots(1, 3, figsize=(15, 4.3), gridspec_kw={"width_ratios": [1.4, 1, 0.8]})
    labelled = set()
    ratios = {a: [] for a in alphas}
    for run in runs:
        a, rep = run["alpha"], run["report"]
        h = read_history(os.path.join(run["dir"], "history.csv"))
        c = color[a]
        first = a not in labelled
        labelled.add(a)
        xs, ys = finite(h["step"], h["test_acc"], positive_x=True)
        ax.plot(xs, ys, color=c, lw=1.4, label="α = %g" % a if first else None)
        xs, ys = finite(h["step"], h["train_acc"], positive_x=True)
        ax.plot(xs, ys, color=c, lw=1.0, ls="--")
        xs, ys = finite(h["step"], h["weight_norm"], positive_x=True)
        nx.plot(xs, ys, color=c, lw=1.4, label="α = %g" % a if first else None)
        if rep.get("t_mem"):
            ax.scatter([max(rep["t_mem"], 1)], [value_at(h, "train_acc", rep["t_mem"])], marker="^", color=c,
                       edgecolor="black", s=40, zorder=4)
        if rep.get("t_grok"):
            ax.scatter([max(rep["t_grok"], 1)], [value_at(h, "test_acc", rep["t_grok"])], marker="o", color=c,
                       edgecolor="black", s=40, zorder=4)
            nx.scatter([max(rep["t_grok"], 1)], [value_at(h, "weight_norm", rep["t_grok"])], marker="o", color=c,
                       edgecolor="black", s=40, zorder=4)
        if rep.get("t_mem"):
            ratios[a].append(rep["t_grok"] / max(rep["t_mem"], 1) if rep.get("t_grok") else None)
    ax.axhline(cfg["train_threshold"], color="grey", ls=":", lw=0.8)
    ax.axhline(cfg["test_threshold"], color="grey", ls=":", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("accuracy (dashed: train)")
    ax.set_ylim(0, 1.02)
    ax.set_title("accuracy; ▲ t_mem, ● t_grok")
    ax.legend(fontsize=8, loc="upper left")
    nx.set_xscale("log")
    nx.set_yscale("log")
    nx.set_xlabel("step")
    nx.set_ylabel("‖θ‖")
    nx.set_title("weight norm; ● at t_grok")
    finite_ratios = [r for rs in ratios.values() for r in rs if r is not None]
    top = max(finite_ratios + [2.0]) * 2
    for a, rs in ratios.items():
        for r in rs:
            if r is None:
                rx.scatter([a], [top], marker="x", color=color[a])
            else:
                rx.scatter([a], [r], color=color[a], edgecolor="black", s=40, zorder=3)
    rx.axhline(1, color="grey", ls=":", lw=0.8)
    rx.axhline(2, color="grey", ls="--", lw=0.8)
    rx.text(alphas[0], 2, " grokked above", fontsize=7, va="bottom")
    rx.set_xscale("log", base=2)
    rx.set_yscale("log")
    rx.set_xticks(alphas)
    rx.set_xticklabels(["%g" % a for a in alphas])
    rx.set_xlabel("init scale α")
    rx.set_ylabel("t_grok / t_mem")
    rx.set_title("delay (× = never)")
    fig.suptitle(args.title or "Omnigrok on Fashion-MNIST: %d training images, AdamW lr %g, weight decay %g, batch %d"
                 % (cfg["train"], cfg["optimizer"]["lr"], cfg["optimizer"]["weight_decay"], cfg["batch"]))
    save(fig, args.out_dir, args.name)


if __name__ == "__main__":
    main()
