#!/usr/bin/python3
"""Plots the runs of an example's summary.json as train (dashed) and test (solid) loss divided by
their initial values on a log-step axis, one colour per value of `--key`, for the first seed.
Used by examples/ntk_eigenvector_labels (--key j) and examples/goldilocks_data (--key P).

usage: plot_loss_ratios.py OUT_DIR --key j --name FILE.png [--title TEXT] [--ymin 1e-3 --ymax 3]
"""
import argparse
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from plot_common import read_history  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--key", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--title", default="")
    ap.add_argument("--ymin", type=float)
    ap.add_argument("--ymax", type=float)
    args = ap.parse_args()
    with open(os.path.join(args.out_dir, "summary.json")) as f:
        summary = json.load(f)
    seed = summary["runs"][0]["seed"]
    runs = [r for r in summary["runs"] if r["seed"] == seed]
    fig, ax = plt.subplots(figsize=(7, 4.2))
    colors = ["#264653", "#e76f51", "#2a9d8f", "#e9c46a", "#6d597a", "#8ab17d"]
    for r, c in zip(runs, colors * 4):
        h = read_history(os.path.join(r["dir"], "history.csv"))
        tr0, te0 = h["train_loss"][0], h["test_loss"][0]
        pts = [(s, tr / tr0, te / te0) for s, tr, te in zip(h["step"], h["train_loss"], h["test_loss"]) if s > 0]
        xs = [p[0] for p in pts]
        ax.plot(xs, [p[2] for p in pts], color=c, label="%s = %s test" % (args.key, r[args.key]))
        ax.plot(xs, [p[1] for p in pts], color=c, ls="--", lw=0.9)
    ax.set(xscale="log", yscale="log", xlabel="step", ylabel="loss / initial loss (dashed: train)",
           title="%s (seed %d)" % (args.title, seed))
    if args.ymin is not None or args.ymax is not None:
        ax.set_ylim(args.ymin, args.ymax)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    out = os.path.join(args.out_dir, args.name)
    fig.savefig(out, dpi=90)
    print("wrote", out)


if __name__ == "__main__":
    main()
