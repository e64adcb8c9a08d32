#!/usr/bin/python3
"""Plots examples/grokfast: test accuracy against step for every arm and seed (left, log step
axis, the target accuracy dashed) and the steps each arm needed to reach it, one dot per seed with
the median as a bar (right; runs that never got there are drawn at the budget as crosses).

usage: plot_grokfast.py OUT_DIR [--name grokfast.png] [--title TEXT]
"""
import argparse
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from plot_common import read_history, save  # noqa: E402

COLORS = {"adamw": "#264653", "adamw_lr_x3": "#8d99ae", "ema": "#e76f51", "ema_normalized": "#f4a261",
          "ma": "#2a9d8f", "ma_normalized": "#8ab17d"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--name", default="grokfast.png")
    ap.add_argument("--title", default="")
    args = ap.parse_args()
    with open(os.path.join(args.out_dir, "summary.json")) as f:
        summary = json.load(f)
    cfg, arms = summary["config"], summary["arms"]
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [1.5, 1]})
    for name, arm in arms.items():
        c = COLORS.get(name, "black")
        for i, run in enumerate(arm["runs"]):
            h = read_history(os.path.join(args.out_dir, name, "seed_%d" % run["seed"], "history.csv"))
            pts = [(s, a) for s, a in zip(h["step"], h["test_acc"]) if s > 0]
            ax.plot([p[0] for p in pts], [p[1] for p in pts], color=c, lw=1.2, alpha=0.85,
                    label=name if i == 0 else None)
    ax.axhline(cfg["target_test_acc"], color="grey", ls="--", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8, loc="upper left")
    names = list(arms)
    for k, name in enumerate(names):
        arm, c = arms[name], COLORS.get(name, "black")
        for run in arm["runs"]:
            t = run["steps_to_target"]
            if t is None:
                bx.scatter([cfg["steps"]], [k], marker="x", color=c)
            else:
                bx.scatter([t], [k], color=c, s=18, zorder=3)
        if arm["steps_to_target_median"] is not None:
            m = arm["steps_to_target_median"]
            bx.barh([k], [m], color=c, alpha=0.35)
            sp = arm.get("speedup_vs_adamw")
            bx.text(m, k + 0.3, " %.0f (x%.2f)" % (m, sp) if sp else " %.0f" % m, fontsize=7, va="center")
    bx.set_yticks(range(len(names)))
    bx.set_yticklabels(names, fontsize=8)
    bx.invert_yaxis()
    bx.set_xlabel("steps to test accuracy %.2f" % cfg["target_test_acc"])
    title = args.title or ("(a+b) mod %d, %s lr %g wd %g, %d seeds" % (
        cfg["p"], cfg.get("optimizer", "adamw"), cfg["lr"], cfg["weight_decay"], cfg["seeds"]))
    fig.suptitle(title, fontsize=10)
    save(fig, args.out_dir, args.name, dpi=110)


if __name__ == "__main__":
    main()
