#!/usr/bin/python3
"""Plots an examples/goldilocks_data run: train (dashed) and test (solid) loss divided by
their initial values, on a log-step axis, one colour per training-set size P, for the first seed.

usage: plot_goldilocks.py OUT_DIR [--out FILE.png]
"""
import argparse
import csv
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read_history(path):
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = [[float(v) for v in r] for r in reader]
    return {name: [r[i] for r in rows] for i, name in enumerate(header)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--out")
    args = ap.parse_args()
    with open(os.path.join(args.out_dir, "summary.json")) as f:
        summary = json.load(f)
    seed = summary["runs"][0]["seed"]
    runs = [r for r in summary["runs"] if r["seed"] == seed]
    fig, ax = plt.subplots(figsize=(7, 4.2))
    colors = ["#264653", "#e76f51", "#2a9d8f", "#e9c46a", "#6d597a"]
    for r, c in zip(runs, colors):
        h = read_history(os.path.join(r["dir"], "history.csv"))
        steps = [s for s in h["step"]]
        tr0, te0 = h["train_loss"][0], h["test_loss"][0]
        xs = [s for s in steps if s > 0]
        ax.plot(xs, [v / te0 for s, v in zip(steps, h["test_loss"]) if s > 0], color=c, label="P = %d test" % r["P"])
        ax.plot(xs, [v / tr0 for s, v in zip(steps, h["train_loss"]) if s > 0], color=c, ls="--", lw=0.9)
    ax.set(xscale="log", yscale="log", xlabel="step", ylabel="loss / initial loss (dashed: train)",
           title="Goldilocks data: committee machine, D = 40, N = 100 (seed %d)" % seed)
    ax.set_ylim(1e-3, 3)  # the training losses fall far below; the test losses are the point
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    out = args.out or os.path.join(args.out_dir, "goldilocks_data.png")
    fig.savefig(out, dpi=90)
    print("wrote", out)


if __name__ == "__main__":
    main()
