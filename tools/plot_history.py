#!/usr/bin/python3
"""Plots a grokscope run: train/test accuracy and loss on a log-step axis with t_mem and t_grok
marked, and the weight norm. Reads RUN/history.csv and, if present, RUN/summary.json.

usage: plot_history.py RUN_DIR [--out FILE.png] [--title TEXT]
"""
import argparse
import csv
import json
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read_history(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        sys.exit("plot_history.py: %s has no records" % path)
    cols = {k: [] for k in rows[0]}
    for r in rows:
        for k, v in r.items():
            try:
                cols[k].append(float(v))
            except (TypeError, ValueError):
                cols[k].append(math.nan)
    return cols


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir")
    ap.add_argument("--out", default=None)
    ap.add_argument("--title", default=None)
    a = ap.parse_args()
    hist = os.path.join(a.run_dir, "history.csv")
    if not os.path.exists(hist):
        sys.exit("plot_history.py: no history.csv in %s" % a.run_dir)
    h = read_history(hist)
    summary = {}
    sp = os.path.join(a.run_dir, "summary.json")
    if os.path.exists(sp):
        with open(sp) as f:
            summary = json.load(f)
    steps = [max(s, 1) for s in h["step"]]  # step 0 drawn at 1 on the log axis
    fig, ax = plt.subplots(1, 3, figsize=(13, 3.8))
    ax[0].plot(steps, h["train_acc"], label="train", color="tab:blue")
    ax[0].plot(steps, h["test_acc"], label="test", color="tab:red")
    ax[0].set_ylabel("accuracy")
    ax[1].plot(steps, h["train_loss"], label="train", color="tab:blue")
    ax[1].plot(steps, h["test_loss"], label="test", color="tab:red")
    ax[1].set_ylabel("loss")
    ax[1].set_yscale("log")
    ax[2].plot(steps, h["weight_norm"], color="tab:green")
    ax[2].set_ylabel("weight norm ‖θ‖₂")
    g = summary.get("grokking") or {}
    for a_ in ax:
        a_.set_xscale("log")
        a_.set_xlabel("step")
        a_.grid(alpha=0.3)
        for key, style in (("t_mem", ":"), ("t_grok", "--")):
            if g.get(key):
                a_.axvline(max(g[key], 1), color="k", ls=style, lw=1, label=key if a_ is ax[0] else None)
    ax[0].legend(loc="center right")
    ax[1].legend(loc="lower left")
    title = a.title or summary.get("dataset", {}).get("name", os.path.basename(os.path.abspath(a.run_dir)))
    if g.get("verdict"):
        title += "  —  %s (t_mem %s, t_grok %s)" % (g["verdict"], g.get("t_mem"), g.get("t_grok"))
    fig.suptitle(title)
    fig.tight_layout()
    out = a.out or os.path.join(a.run_dir, "history.png")
    fig.savefig(out, dpi=110)
    print(out)


if __name__ == "__main__":
    main()
