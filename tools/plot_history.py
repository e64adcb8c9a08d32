#!/usr/bin/python3
"""Plots a grokscope run folder: train/test accuracy and loss on a log-step axis with t_mem and
t_grok marked, the weight norm, and every group of probe columns on its own panel. Installed as
`grokscope-plot`.

usage: grokscope-plot RUN_DIR [--out FILE.png] [--title TEXT] [--linear-x]
       grokscope-plot --cka-matrix MATRIX.json [--out FILE.png] [--title TEXT]

RUN_DIR holds history.csv (any CSV with a `step` column works) and, if present, summary.json,
whose "grokking" report gives t_mem, t_grok and the verdict. Probe columns are grouped by the
text before their first underscore (ntk_alignment and ntk_trace share a panel); a group whose
values are positive and span more than two decades is drawn on a log scale. --cka-matrix draws
the JSON that `grokscope-cka` prints for three or more files as a heatmap.
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

BUILT_IN = {"step", "train_loss", "test_loss", "train_acc", "test_acc", "weight_norm", "grad_norm", "update_norm", "lr"}


def die(msg):
    sys.exit("grokscope-plot: " + msg)


def read_history(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        die("%s has no records" % path)
    if "step" not in rows[0]:
        die("%s has no 'step' column (columns: %s)" % (path, ", ".join(rows[0])))
    cols = {k: [] for k in rows[0]}
    for r in rows:
        for k, v in r.items():
            try:
                cols[k].append(float(v))
            except (TypeError, ValueError):
                cols[k].append(math.nan)
    return cols


def show_step(v):
    return "never" if v is None else "%g" % v


def finite_pairs(xs, ys):
    pts = [(x, y) for x, y in zip(xs, ys) if math.isfinite(x) and math.isfinite(y)]
    return [p[0] for p in pts], [p[1] for p in pts]


def probe_groups(h):
    groups = {}
    for c in h:
        if c in BUILT_IN or not any(math.isfinite(v) for v in h[c]):
            continue
        groups.setdefault(c.split("_", 1)[0], []).append(c)
    return groups


def plot_run(a):
    hist = os.path.join(a.run_dir, "history.csv")
    if not os.path.isfile(hist):
        die("no history.csv in %s" % a.run_dir)
    h = read_history(hist)
    summary = {}
    sp = os.path.join(a.run_dir, "summary.json")
    if os.path.exists(sp):
        with open(sp) as f:
            summary = json.load(f)
    x = h["step"] if a.linear_x else [max(s, 1) for s in h["step"]]  # step 0 drawn at 1 on the log axis
    base = [("accuracy", ["train_acc", "test_acc"], False), ("loss", ["train_loss", "test_loss"], True),
            ("weight norm ‖θ‖₂", ["weight_norm"], False)]
    base = [b for b in base if any(c in h for c in b[1])]
    groups = probe_groups(h)
    n = len(base) + len(groups)
    ncol = min(3, max(n, 1))
    nrow = max(1, math.ceil(n / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.4 * ncol, 3.4 * nrow), squeeze=False)
    axes = [ax for row in axes for ax in row]
    colors = {"train_acc": "tab:blue", "test_acc": "tab:red", "train_loss": "tab:blue", "test_loss": "tab:red",
              "weight_norm": "tab:green"}
    panels = [(t, cs, log) for t, cs, log in base] + [(g, cs, None) for g, cs in sorted(groups.items())]
    g = summary.get("grokking") or {}
    for ax, (title, cs, log) in zip(axes, panels):
        values = []
        for c in cs:
            if c not in h:
                continue
            xs, ys = finite_pairs(x, h[c])
            values += ys
            ax.plot(xs, ys, label=c.replace("_acc", "").replace("_loss", "") if title in ("accuracy", "loss") else c,
                    color=colors.get(c), marker="." if len(xs) < 30 else None)
        if log is None:  # probe panels: log scale when positive over more than two decades
            pos = [v for v in values if v > 0]
            log = len(pos) == len(values) and pos and max(pos) / min(pos) > 100
        if log:
            ax.set_yscale("log")
        ax.set_title(title, fontsize=10)
        if not a.linear_x:
            ax.set_xscale("log")
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        for key, style in (("t_mem", ":"), ("t_grok", "--")):
            if g.get(key) is not None:
                ax.axvline(max(g[key], 1) if not a.linear_x else g[key], color="k", ls=style, lw=1, label=key)
        ax.legend(fontsize=7, loc="best")
    for ax in axes[len(panels):]:
        ax.axis("off")
    title = a.title or summary.get("dataset", {}).get("name", os.path.basename(os.path.abspath(a.run_dir)))
    if g:
        title += "  —  %s (t_mem %s, t_grok %s)" % (g.get("verdict", "?"), show_step(g.get("t_mem")),
                                                    show_step(g.get("t_grok")))
    fig.suptitle(title)
    fig.tight_layout()
    out = a.out or os.path.join(a.run_dir, "history.png")
    fig.savefig(out, dpi=110)
    print("%s: %s" % (out, title))


def plot_cka_matrix(a):
    try:
        with open(a.cka_matrix) as f:
            j = json.load(f)
    except (OSError, ValueError) as e:
        die("%s: %s" % (a.cka_matrix, e))
    if not isinstance(j, dict) or "files" not in j or not isinstance(j.get("cka"), list):
        die("%s: not a grokscope-cka matrix (run grokscope-cka with three or more files)" % a.cka_matrix)
    m, names = j["cka"], [os.path.basename(f) for f in j["files"]]
    if len(m) != len(names) or any(len(r) != len(names) for r in m):
        die("%s: the matrix is not %d x %d" % (a.cka_matrix, len(names), len(names)))
    k = len(names)
    fig, ax = plt.subplots(figsize=(2.2 + 0.6 * k, 1.6 + 0.6 * k))
    im = ax.imshow(m, vmin=0, vmax=1, cmap="viridis")
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.set_xticklabels(names, rotation=45, ha="right", fontsize=8)
    ax.set_yticklabels(names, fontsize=8)
    if k <= 12:
        for i in range(k):
            for c in range(k):
                ax.text(c, i, "%.2f" % m[i][c], ha="center", va="center", fontsize=7,
                        color="w" if m[i][c] < 0.6 else "k")
    fig.colorbar(im, ax=ax, label="%s CKA" % j.get("kind", ""))
    ax.set_title(a.title or "CKA, n = %s" % j.get("n", "?"))
    fig.tight_layout()
    out = a.out or os.path.splitext(a.cka_matrix)[0] + ".png"
    fig.savefig(out, dpi=110)
    print(out)


def main():
    ap = argparse.ArgumentParser(prog="grokscope-plot", description=__doc__.splitlines()[0])
    ap.add_argument("run_dir", nargs="?")
    ap.add_argument("--cka-matrix", metavar="MATRIX.json")
    ap.add_argument("--out", default=None)
    ap.add_argument("--title", default=None)
    ap.add_argument("--linear-x", action="store_true", help="a linear step axis (default: log)")
    a = ap.parse_args()
    if (a.run_dir is None) == (a.cka_matrix is None):
        ap.error("give a run folder or --cka-matrix, not both")
    plot_cka_matrix(a) if a.cka_matrix else plot_run(a)


if __name__ == "__main__":
    main()
