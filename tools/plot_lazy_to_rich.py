#!/usr/bin/python3
"""Plots an examples/lazy_to_rich run.

--sweep alpha / epsilon: for every swept value, test loss (solid) and train loss (dashed) on a
log-step axis with that run's initial-NTK kernel-regression test loss as a dotted line of the same
colour, the linearized model's test loss under the same gradient descent (sparse dots) and the
step at which the network leaves it (thin vertical line), the NTK-target alignment on the test set, and the relative movement of the weights. The
first seed in summary.json is drawn.

--sweep grid: two heatmaps over (ε, α): Kumar et al.'s amount of grokking max(0, t_test - t_train)
(median over seeds; cells that never reach the test threshold are hatched) and the median final
test loss divided by the initial-NTK regression loss (below 1: the network beat its lazy limit).

usage: plot_lazy_to_rich.py OUT_DIR [--out FILE.png]
"""
import argparse
import json
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402

from plot_common import finite, read_history  # noqa: E402


def curves(summary, out_path):
    sweep = summary.get("sweep", "alpha")
    key = "epsilon" if sweep == "epsilon" else "alpha"
    symbol = "ε" if key == "epsilon" else "α"
    first_seed = summary["runs"][0]["seed"]
    runs = [r for r in summary["runs"] if r["seed"] == first_seed]
    fig, ax = plt.subplots(1, 3, figsize=(15, 4.2))
    colors = plt.cm.viridis([i / max(1, len(runs) - 1) for i in range(len(runs))])
    for r, c in zip(runs, colors):
        h = read_history(os.path.join(r["dir"], "history.csv"))
        label = "%s = %g" % (symbol, r[key])
        ax[0].plot(*finite(h["step"], h["test_loss"], True), color=c, label=label)
        ax[0].plot(*finite(h["step"], h["train_loss"], True), color=c, ls="--", lw=0.9)
        ax[0].axhline(r["ntk_regression_test_mse"], color=c, ls=":", lw=1.2)
        if "lin_test_loss" in h:
            ax[0].plot(*finite(h["step"], h["lin_test_loss"], True), color=c, ls=(0, (1, 3)), lw=1.6)
        if r.get("t_lazy_end") is not None:
            ax[0].axvline(r["t_lazy_end"], color=c, lw=0.6, alpha=0.6)
        ax[1].plot(*finite(h["step"], h["ntk_alignment"], True), color=c, label=label)
        ax[2].plot(*finite(h["step"], h["relative_movement"], True), color=c, label=label)
    threshold = 0.1 * runs[0]["initial_test_loss"]
    ax[0].axhline(threshold, color="grey", lw=0.8, ls="-.", label="threshold 0.1 × initial")
    ax[0].plot([], [], color="k", ls=":", label="initial-NTK regression")
    ax[0].plot([], [], color="k", ls=(0, (1, 3)), lw=1.6, label="linearized model (test)")
    ax[0].plot([], [], color="k", lw=0.6, label="end of lazy phase (gap > 0.1)")
    ax[0].set(xscale="log", yscale="log", xlabel="step", ylabel="MSE (dashed: train)", title="loss")
    ax[1].set(xscale="log", xlabel="step", ylabel="centered alignment", title="NTK–target alignment (test set)")
    ax[2].set(xscale="log", yscale="log", xlabel="step", ylabel="‖θ − θ₀‖ / ‖θ₀‖", title="relative weight movement")
    for a in ax:
        a.grid(alpha=0.3)
    ax[0].legend(fontsize=7)
    ax[1].legend(fontsize=8)
    cfg = summary["config"]
    fixed = ("ε = %g" % cfg["epsilons"][0]) if key == "alpha" else ("α = %g" % cfg["alphas"][0])
    eta = "η = %g/α²" % cfg["eta0"]
    fig.suptitle("Kumar et al.'s committee machine, D = %d, N = %d, P = %d, %s, %s, seed %d"
                 % (cfg["D"], cfg["N"], cfg["P"], fixed, eta, first_seed))
    fig.tight_layout()
    fig.savefig(out_path, dpi=90)


def grid(summary, out_path):
    cfg = summary["config"]
    alphas, epsilons = cfg["alphas"], cfg["epsilons"]
    cells = {(c["alpha"], c["epsilon"]): c for c in summary["aggregate"]}
    delay = [[cells[(a, e)]["median_delay"] for e in epsilons] for a in alphas]
    ratio = [[cells[(a, e)]["median_final_test_loss"] / cells[(a, e)]["median_ntk_regression_test_mse"]
              for e in epsilons] for a in alphas]
    fig, ax = plt.subplots(1, 2, figsize=(12, 4.6))
    finite_delays = [d for row in delay for d in row if isinstance(d, (int, float)) and d > 0]
    vals = [[d if isinstance(d, (int, float)) and d > 0 else math.nan for d in row] for row in delay]
    norm = LogNorm(min(finite_delays), max(finite_delays)) if finite_delays else None
    im = ax[0].imshow(vals, origin="lower", cmap="magma_r", norm=norm, aspect="auto")
    for i, row in enumerate(delay):
        for j, d in enumerate(row):
            if isinstance(d, (int, float)):
                ax[0].text(j, i, "%d" % d, ha="center", va="center", fontsize=8,
                           color="white" if norm and d > 0 and norm(d) > 0.6 else "black")
            else:
                ax[0].add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="//",
                                              edgecolor="#999999", lw=0))
                ax[0].text(j, i, "never", ha="center", va="center", fontsize=8)
    if finite_delays:
        fig.colorbar(im, ax=ax[0], label="steps")
    ax[0].set_title("amount of grokking max(0, t_test − t_train)")
    im2 = ax[1].imshow(ratio, origin="lower", cmap="viridis", aspect="auto", norm=LogNorm())
    for i, row in enumerate(ratio):
        for j, r in enumerate(row):
            ax[1].text(j, i, "%.2f" % r, ha="center", va="center", fontsize=8, color="white" if r < 0.2 else "black")
    fig.colorbar(im2, ax=ax[1], label="final test loss / initial-NTK regression loss")
    ax[1].set_title("final test loss relative to the lazy limit")
    for a in ax:
        a.set_xticks(range(len(epsilons)), ["%g" % e for e in epsilons])
        a.set_yticks(range(len(alphas)), ["%g" % x for x in alphas])
        a.set(xlabel="ε (initial kernel–target alignment)", ylabel="α (laziness)")
    fig.suptitle("Kumar et al.'s (α, ε) grid at CI scale: D = %d, N = %d, P = %d, %d steps, median of %d seed(s)"
                 % (cfg["D"], cfg["N"], cfg["P"], cfg["steps"], cfg["seeds"]))
    fig.tight_layout()
    fig.savefig(out_path, dpi=90)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--out")
    args = ap.parse_args()
    with open(os.path.join(args.out_dir, "summary.json")) as f:
        summary = json.load(f)
    if not summary.get("runs"):
        sys.exit("plot_lazy_to_rich.py: no runs in summary.json")
    out = args.out or os.path.join(args.out_dir, "lazy_to_rich.png")
    (grid if summary.get("sweep") == "grid" else curves)(summary, out)
    print("wrote", out)


if __name__ == "__main__":
    main()
