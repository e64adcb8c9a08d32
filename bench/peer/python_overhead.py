#!/usr/bin/python3
"""What driving training from Python costs, timed in one run on one machine:

  1. the same configuration trained by grokscope-run (C++ process) and by grokscope.Trainer
     (Python module), alternated, each repetition's training time as the Trainer measures it
     (summary "seconds") and, for the Python side, the wall time of Trainer.run() as a notebook
     user sees it (result conversion included);
  2. a Python probe called every 100 steps: the run's extra time against the time spent in the
     probe's own body (perf_counter inside it);
  3. estimate_llc on the flagship's untrained model and training pairs (4 chains × 200 draws,
     mini-batches of 32, MSE as the run's loss): grokscope.estimate_llc from Python against the
     same estimate made in C++ by grokscope-run's llc probe at step 0 of a 0-step run (less the
     same 0-step run without the probe, which is the run's setup and its one evaluation).

usage: PYTHONPATH=build/release/python /usr/bin/python3 bench/peer/python_overhead.py \
           [--run build/release/tools/grokscope-run] [--repeats 5] [--steps 3000]
The configuration is examples/configs/flagship.json (p 59, width 512, full batch, float32) with
its probe removed and --steps steps. Medians over the repetitions.
"""
import argparse
import json
import os
import subprocess
import tempfile
import time

import numpy as np

import warnings

import grokscope

warnings.simplefilter("ignore", grokscope.MeasurementWarning)  # an untrained model's LLC warns; only time matters here

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def config(steps):
    with open(os.path.join(ROOT, "examples", "configs", "flagship.json")) as f:
        cfg = json.load(f)
    for k in ("name", "seeds", "out"):
        cfg.pop(k, None)
    cfg["probes"] = []
    cfg["train"]["steps"] = steps
    return cfg


def cxx_seconds(binary, cfg, tmp):
    os.makedirs(tmp, exist_ok=True)
    path = os.path.join(tmp, "cfg.json")
    with open(path, "w") as f:
        json.dump(dict(cfg, seeds=[0]), f)
    out = os.path.join(tmp, "cxx")
    subprocess.run([binary, path, "--out", out, "--no-plot"], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    summaries = []
    for root, _, files in os.walk(out):
        if "summary.json" in files:
            with open(os.path.join(root, "summary.json")) as f:
                summaries.append(json.load(f))
    assert len(summaries) == 1, "expected one run folder under " + out
    return summaries[0]["seconds"]


def python_seconds(cfg, probe=None):
    tr = grokscope.Trainer(cfg)
    spent = [0.0]
    if probe is not None:
        def timed_probe(step, model):
            t0 = time.perf_counter()
            v = probe(step, model)
            spent[0] += time.perf_counter() - t0
            return v
        tr.add_probe(timed_probe, every=100, prefix="probe_")
    t0 = time.perf_counter()
    r = tr.run()
    wall = time.perf_counter() - t0
    return r["seconds"], wall, spent[0]


LLC = dict(epsilon=1e-4, nbeta=0.0, gamma=100.0, chains=4, draws=200, batch_size=32)


def llc_cxx_seconds(binary, cfg, tmp):
    c = dict(cfg, train=dict(cfg["train"], steps=0, log_points=0))
    base = cxx_seconds(binary, dict(c, probes=[]), os.path.join(tmp, "base"))
    with_llc = cxx_seconds(binary, dict(c, probes=[dict(kind="llc", every=1, **LLC)]), os.path.join(tmp, "llc"))
    return with_llc - base


def llc_python_seconds(cfg):
    tr = grokscope.Trainer(dict(cfg, train=dict(cfg["train"], steps=0, log_points=0)))
    d = tr.dataset
    X, y = d["tokens"][d["train"]], d["labels"][d["train"]]
    t0 = time.perf_counter()
    grokscope.estimate_llc(tr.model, X, y, loss=cfg.get("loss", "cross_entropy"), **LLC)
    return time.perf_counter() - t0


def ipr_probe(step, model):  # the probe of examples/python/flagship.py
    w = model.state_dict()["layers.0.weight"]
    p = w.shape[1] // 2
    return {"ipr": float(np.mean([grokscope.inverse_participation_ratio(r[k * p:(k + 1) * p].astype(np.float64))
                                  for r in w for k in (0, 1)]))}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", default=os.path.join(ROOT, "build", "release", "tools", "grokscope-run"))
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--steps", type=int, default=3000)
    a = ap.parse_args()
    cfg = config(a.steps)
    print("# %s; load %s; OMP_NUM_THREADS=%s" % (grokscope.__file__, os.getloadavg(), os.environ.get("OMP_NUM_THREADS")))
    cxx, py, py_wall, probed, probe_body = [], [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(a.repeats):
            cxx.append(cxx_seconds(a.run, cfg, os.path.join(tmp, str(i))))
            s, w, _ = python_seconds(cfg)
            py.append(s), py_wall.append(w)
            s, _, body = python_seconds(cfg, ipr_probe)
            probed.append(s), probe_body.append(body)
            print("  rep %d: C++ %.3f s, Python %.3f s (wall %.3f), with probe %.3f s (body %.3f)" %
                  (i, cxx[-1], py[-1], py_wall[-1], probed[-1], probe_body[-1]))
    med = np.median
    cxx, py, py_wall, probed, probe_body = map(np.array, (cxx, py, py_wall, probed, probe_body))
    ratio = py_wall / cxx  # per repetition: the two sides ran back to back
    q1, q3 = np.percentile(ratio, [25, 75])
    print("\n| %d steps, flagship | C++ (grokscope-run) | Python Trainer.run | Python / C++ per repetition |" % a.steps)
    print("|---|---|---|---|")
    print("| median s | %.3f | %.3f (wall %.3f) | %.3f (IQR %.3f–%.3f) |" % (med(cxx), med(py), med(py_wall),
                                                                      med(ratio), q1, q3))
    extra = probed - py
    print("\nPython probe every 100 steps: run +%.3f s (median; IQR %.3f–%.3f), its bodies %.3f s (median)" %
          (med(extra), *np.percentile(extra, [25, 75]), med(probe_body)))
    llc_cxx, llc_py = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(a.repeats):
            llc_cxx.append(llc_cxx_seconds(a.run, cfg, os.path.join(tmp, str(i))))
            llc_py.append(llc_python_seconds(cfg))
            print("  rep %d: estimate_llc C++ %.3f s, Python %.3f s" % (i, llc_cxx[-1], llc_py[-1]))
    llc_cxx, llc_py = np.array(llc_cxx), np.array(llc_py)
    r = llc_py / llc_cxx
    print("\n| estimate_llc, flagship, %s | C++ (grokscope-run's llc probe) | Python grokscope.estimate_llc | "
          "Python / C++ per repetition |" % ", ".join("%s %s" % kv for kv in LLC.items()))
    print("|---|---|---|---|")
    print("| median s | %.3f | %.3f | %.3f (IQR %.3f–%.3f) |" % (med(llc_cxx), med(llc_py), med(r),
                                                             *np.percentile(r, [25, 75])))


if __name__ == "__main__":
    main()
