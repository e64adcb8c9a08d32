#!/usr/bin/python3
"""Draws a sweep's phase diagram from OUT/results.json (grokscope::run_sweep): a heatmap over two
axes, each cell coloured by the most frequent verdict over its seeds (or, with --phase liu, by the most
frequent of Liu et al.'s four phases: comprehension, grokking, memorization, confusion) and annotated
with the median t_grok; a second panel colours the cells by log10 of the median t_grok.

usage: plot_phase_diagram.py OUT_DIR [--x fraction] [--y weight_decay] [--phase verdict|liu] [--out FILE.png]
"""
import argparse
import json
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402

from plot_common import VERDICT_COLORS as COLORS, VERDICTS  # noqa: E402

LIU_PHASES = ["comprehension", "grokking", "memorization", "confusion"]
LIU_COLORS = ["#8ab17d", "#2a9d8f", "#e76f51", "#6c757d"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--x", default="fraction")
    ap.add_argument("--y", default="weight_decay")
    ap.add_argument("--phase", choices=["verdict", "liu"], default="verdict")
    ap.add_argument("--out")
    args = ap.parse_args()
    with open(os.path.join(args.out_dir, "results.json")) as f:
        table = json.load(f)
    labels, colors = (LIU_PHASES, LIU_COLORS) if args.phase == "liu" else (VERDICTS, COLORS)
    liu = {}
    for r in table.get("rows", []):
        if args.x in r["params"] and args.y in r["params"] and r.get("liu_phase"):
            key = (r["params"][args.x], r["params"][args.y])
            liu.setdefault(key, {}).setdefault(r["liu_phase"], 0)
            liu[key][r["liu_phase"]] += 1
    cells = {}
    for a in table["aggregate"]:
        p = a["params"]
        if args.x not in p or args.y not in p:
            sys.exit("plot_phase_diagram.py: points lack axis %s or %s" % (args.x, args.y))
        cells[(p[args.x], p[args.y])] = a["summary"]
    xs = sorted({k[0] for k in cells})
    ys = sorted({k[1] for k in cells})
    verdict = [[float("nan")] * len(xs) for _ in ys]
    tg = [[float("nan")] * len(xs) for _ in ys]
    fig, ax = plt.subplots(1, 2, figsize=(11, 4.5))
    for (x, y), s in cells.items():
        i, j = ys.index(y), xs.index(x)
        counts = liu.get((x, y), {}) if args.phase == "liu" else s["verdicts"]
        if counts:
            best = max(labels, key=lambda v: counts.get(v, 0))
            verdict[i][j] = labels.index(best)
        t = s.get("t_grok")
        if t and t.get("median") is not None:
            tg[i][j] = math.log10(max(t["median"], 1))
            ax[0].text(j, i, "%d" % t["median"], ha="center", va="center", fontsize=8)
    ax[0].imshow(verdict, cmap=ListedColormap(colors), vmin=-0.5, vmax=len(labels) - 0.5, origin="lower",
                 aspect="auto")
    im = ax[1].imshow(tg, cmap="viridis", origin="lower", aspect="auto")
    fig.colorbar(im, ax=ax[1], label="log10 median t_grok")
    for a in ax:
        a.set_xticks(range(len(xs)), ["%g" % v for v in xs])
        a.set_yticks(range(len(ys)), ["%g" % v for v in ys])
        a.set_xlabel(args.x)
        a.set_ylabel(args.y)
    ax[0].set_title("%s (most frequent over seeds), median t_grok" % ("Liu et al.'s phase" if args.phase == "liu" else "verdict"))
    ax[1].set_title("median t_grok")
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in colors]
    ax[0].legend(handles, labels, fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    out = args.out or os.path.join(args.out_dir, "phase_diagram.png")
    fig.savefig(out, dpi=90)
    print("wrote", out)


if __name__ == "__main__":
    main()
