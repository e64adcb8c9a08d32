#!/usr/bin/env python3
"""The flagship grokking run driven from Python: Gromov's quadratic MLP on (a + b) mod 59 with
AdamW (the configuration of examples/configs/flagship.json, the same run as
examples/modular_addition.cpp), trained by grokscope's C++ engine, with a Python probe that
tracks how Fourier-sparse the embedding becomes, and the detector's t_mem / t_grok.

    PYTHONPATH=build/release/python python3 examples/python/flagship.py --out runs/python_flagship

--quick: the small run of the C++ example's --quick (p 23, width 200, 3 000 steps), which must
grok (exit 1 otherwise); CTest runs it.
"""
import argparse
import json
import os
import sys

import numpy as np

import grokscope

HERE = os.path.dirname(os.path.abspath(__file__))


def flagship_config(quick):
    with open(os.path.join(HERE, "..", "configs", "flagship.json")) as f:
        cfg = json.load(f)
    for key in ("name", "seeds", "out"):  # grokscope-run's; a Trainer runs one seed
        cfg.pop(key, None)
    cfg["probes"] = []  # the Python probe below replaces the C++ weight-norm probe
    if quick:
        cfg["task"]["p"] = 23
        cfg["split"]["fraction"] = 0.6
        cfg["model"]["width"] = 200
        cfg["optimizer"].update(lr=5e-3, weight_decay=0.1)
        cfg["train"]["steps"] = 3000
    return cfg


def fourier_sparsity(p):
    """A probe: the mean inverse participation ratio (Gromov's IPR, r = 2) of every neuron's
    input weights along a and along b. It rises as the embedding concentrates on a few
    frequencies, the signature of the generalising circuit."""

    def probe(step, model):
        w = model.state_dict()["layers.0.weight"]  # (width, 2p): a's one-hot block, then b's
        ipr = [grokscope.inverse_participation_ratio(row[k * p:(k + 1) * p].astype(np.float64))
               for row in w for k in (0, 1)]
        return {"mean": float(np.mean(ipr))}

    return probe


def plot(result, out, p):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    h, rep = result["history"], result["report"]
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 3.6))
    ax.plot(h["step"], h["train_acc"], label="train")
    ax.plot(h["step"], h["test_acc"], label="test")
    for name, style in (("t_mem", ":"), ("t_grok", "--")):
        if rep and rep.get(name) is not None:
            ax.axvline(rep[name], color="grey", linestyle=style, label="%s = %d" % (name, rep[name]))
    ax.set_xscale("symlog", linthresh=50)
    ax.set_xlim(0, h["step"][-1])
    ax.set_xlabel("step")
    ax.set_ylabel("accuracy")
    ax.set_title("(a + b) mod %d, Gromov MLP, AdamW" % p)
    ax.legend(loc="center right", fontsize=8)
    ok = ~np.isnan(h["ipr_mean"])
    bx.plot(h["step"][ok], h["ipr_mean"][ok], color="C2")
    bx.set_xscale("symlog", linthresh=50)
    bx.set_xlim(0, h["step"][-1])
    bx.set_xlabel("step")
    bx.set_ylabel("mean IPR of the embedding (Python probe)")
    fig.tight_layout()
    path = os.path.join(out, "history_python.png")
    fig.savefig(path, dpi=110)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="runs/python_flagship", help="run folder (history.csv, summary.json, plot)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="the small CTest run; must grok")
    ap.add_argument("--no-plot", action="store_true")
    args = ap.parse_args()

    cfg = flagship_config(args.quick)
    p = cfg["task"]["p"]
    trainer = grokscope.Trainer(cfg, seed=args.seed)
    trainer.add_probe(fourier_sparsity(p), every=100, prefix="ipr_")
    result = trainer.run(out=args.out)
    rep = result["report"]
    print("%s after %d steps in %.1f s: t_mem %s, t_grok %s, verdict %s" % (
        result["status"], result["steps_done"], result["seconds"], rep["t_mem"], rep["t_grok"], rep["verdict"]))
    ipr = result["history"]["ipr_mean"]
    ipr = ipr[~np.isnan(ipr)]
    print("mean embedding IPR: %.3f at step 0, %.3f at the end" % (ipr[0], ipr[-1]))
    if not args.no_plot:
        print("plot:", plot(result, args.out, p))
    if args.quick and rep["verdict"] != "grokked":
        print("flagship.py: --quick expected 'grokked', got '%s'" % rep["verdict"], file=sys.stderr)
        return 1
    if args.quick and not ipr[-1] > ipr[0]:
        print("flagship.py: --quick expected the embedding's IPR to rise", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
