#!/usr/bin/python3
"""Draws a one-axis sweep from OUT/results.json (grokscope::run_sweep, e.g. modular_addition
--sweep weight_decay): t_mem and t_grok against the axis (median over seeds with the IQR as error
bars; runs where a time is undefined are left out of its median), the verdict counts of each value
as a stacked bar below, and the final test accuracy of every run.

usage: plot_sweep.py OUT_DIR --axis weight_decay [--out FILE.png] [--title TEXT]
"""
import argparse
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from plot_common import VERDICT_COLORS as COLORS, VERDICTS  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--axis", required=True)
    ap.add_argument("--out")
    ap.add_argument("--title", default="")
    args = ap.parse_args()
    with open(os.path.join(args.out_dir, "results.json")) as f:
        table = json.load(f)
    agg = sorted(table["aggregate"], key=lambda a: a["params"][args.axis])
    xs = [a["params"][args.axis] for a in agg]
    pos = list(range(len(xs)))  # categorical positions: values may include 0 and span decades
    fig, (ax, vx, fx) = plt.subplots(3, 1, figsize=(7, 7.5), sharex=True,
                                     gridspec_kw={"height_ratios": [2.2, 1, 1]})
    for key, color, off in (("t_mem", "#264653", -0.08), ("t_grok", "#e76f51", 0.08)):
        px, med, lo, hi = [], [], [], []
        for p, a in zip(pos, agg):
            q = a["summary"].get(key)
            if q:
                px.append(p + off)
                med.append(q["median"])
                lo.append(q["median"] - q["q1"])
                hi.append(q["q3"] - q["median"])
        if px:
            ax.errorbar(px, med, yerr=[lo, hi], fmt="o-", color=color, capsize=3, label=key + " (median, IQR)")
    ax.set_yscale("log")
    ax.set_ylabel("step")
    ax.legend(fontsize=8)
    bottom = [0] * len(xs)
    for v, c in zip(VERDICTS, COLORS):
        counts = [a["summary"]["verdicts"].get(v, 0) for a in agg]
        if any(counts):
            vx.bar(pos, counts, bottom=bottom, color=c, label=v, width=0.6)
            bottom = [b + n for b, n in zip(bottom, counts)]
    vx.set_ylabel("runs")
    vx.legend(fontsize=7, ncol=3)
    for r in table["rows"]:
        fin = r.get("final", {}).get("test_acc")
        if fin is not None:
            fx.scatter([xs.index(r["params"][args.axis])], [fin], color="#264653", s=14)
    fx.set_ylabel("final test acc")
    fx.set_ylim(-0.03, 1.03)
    fx.set_xticks(pos)
    fx.set_xticklabels(["%g" % x for x in xs])
    fx.set_xlabel(args.axis)
    ax.set_title(args.title or "%s sweep (%d runs)" % (args.axis, len(table["rows"])), fontsize=10)
    fig.tight_layout()
    path = args.out or os.path.join(args.out_dir, "sweep.png")
    fig.savefig(path, dpi=110)
    print(path)


if __name__ == "__main__":
    main()
