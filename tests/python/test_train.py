"""Training from Python: the Trainer over grokscope-run's configuration, Python probes, models
given from Python, every optimiser and filter, Ctrl-C between steps."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import grokscope

FLAGSHIP_SMALL = {"task": {"kind": "modular", "op": "add", "p": 23}, "split": {"kind": "random", "fraction": 0.6},
                  "model": {"kind": "mlp", "preset": "gromov", "width": 200},
                  "optimizer": {"kind": "adamw", "lr": 0.005, "weight_decay": 0.1},
                  "train": {"steps": 3000, "eval_every": 50, "log_points": 40}}


def small(steps=200, **sections):
    cfg = {k: (dict(v) if isinstance(v, dict) else v) for k, v in FLAGSHIP_SMALL.items()}
    cfg["train"] = {"steps": steps, "eval_every": 50, "log_points": 0}
    cfg.update(sections)
    return cfg


def test_run_experiment_trains_the_flagship_and_returns_its_history():
    cfg = {"task": {"kind": "modular", "op": "add", "p": 23}, "split": {"kind": "random", "fraction": 0.6},
           "model": {"kind": "mlp", "preset": "gromov", "width": 200},
           "optimizer": {"kind": "adamw", "lr": 0.005, "weight_decay": 0.1},
           "train": {"steps": 3000, "eval_every": 50, "log_points": 40},
           "probes": [{"kind": "weight_norm", "every": 100, "prefix": "p_"}]}
    r = grokscope.run_experiment(cfg)
    h = r["history"]
    assert r["status"] == "completed" and r["steps_done"] == 3000
    assert r["report"]["verdict"] == "grokked" and r["report"]["t_mem"] < r["report"]["t_grok"]
    assert h["step"][0] == 0 and h["step"][-1] == 3000 and h["train_acc"][-1] == 1.0
    assert "p_relative_movement" in h and np.isnan(h["p_relative_movement"][1])  # step 1 is off its grid
    with pytest.raises(ValueError, match="config: model.widht: is not a key here"):
        grokscope.run_experiment({"model": {"kind": "mlp", "widht": 3}})
    with pytest.raises(ValueError, match="'seeds' is grokscope-run's"):
        grokscope.run_experiment(dict(cfg, seeds=2))


def test_python_probes_run_on_their_grid_with_the_model_being_trained():
    tr = grokscope.Trainer(small(300), seed=1)
    calls = []

    def first_weight(step, model):
        calls.append(step)
        assert model.dtype == "float32"
        return {"w00": float(model.state_dict()["layers.0.weight"][0, 0]), "step_seen": step}

    tr.add_probe(first_weight, every=100, prefix="py_")
    tr.add_probe(lambda step, model: step * 2.0, every=150, prefix="twice")
    r = tr.run()
    h = r["history"]
    assert calls == [0, 100, 200, 300]  # evaluations at multiples of 50; the probe at multiples of 100
    assert list(h["step"]) == [0, 50, 100, 150, 200, 250, 300]
    np.testing.assert_array_equal(h["py_step_seen"], [0, np.nan, 100, np.nan, 200, np.nan, 300])
    np.testing.assert_array_equal(h["twice"], [0, np.nan, np.nan, 300, np.nan, np.nan, 600])
    assert len(set(h["py_w00"][::2])) == 4  # the weights moved between probe calls
    # the probe's model is the trainer's: its final weights are the ones the last call saw
    assert tr.model.state_dict()["layers.0.weight"][0, 0] == pytest.approx(h["py_w00"][-1])
    assert tr.result is not None and tr.result["steps_done"] == 300
    with pytest.raises(ValueError, match="this trainer has run"):
        tr.run()


def test_probe_errors_come_back_as_python_errors():
    tr = grokscope.Trainer(small(100))

    def broken(step, model):
        raise ArithmeticError("probe failed at %d" % step)

    tr.add_probe(broken, every=50)
    with pytest.raises(ArithmeticError, match="probe failed at 0"):
        tr.run()
    tr = grokscope.Trainer(small(100))
    tr.add_probe(lambda s, m: "text", every=50, prefix="bad")
    with pytest.raises(TypeError, match="not a number"):
        tr.run()
    tr = grokscope.Trainer(small(100))
    with pytest.raises(ValueError, match="every must be >= 1"):
        tr.add_probe(lambda s, m: 1.0, every=0)


def test_a_model_from_python_is_trained_in_place():
    m = grokscope.Mlp({"input": 46, "hidden": [64], "output": 23, "activation": "square", "bias": False, "seed": 3})
    before = m.state_dict()
    cfg = small(100)
    del cfg["model"]
    tr = grokscope.Trainer(cfg, model=m)
    r = tr.run()
    assert r["summary"]["train"]["scalar"] == "float64" and r["summary"]["model"]["hidden"] == [64]
    after = m.state_dict()
    assert not np.array_equal(before["layers.0.weight"], after["layers.0.weight"])
    assert np.array_equal(after["layers.0.weight"], tr.model.state_dict()["layers.0.weight"])
    assert tr.resolved["model"]["hidden"] == [64]
    with pytest.raises(ValueError, match="must not have a 'model' section"):
        grokscope.Trainer(small(10), model=m)
    with pytest.raises(ValueError, match="'scalar' is \"float32\" but the model is float64"):
        grokscope.Trainer(dict(cfg, scalar="float32"), model=m)
    with pytest.raises(TypeError, match="model must be a grokscope Model .*got str"):
        grokscope.Trainer(cfg, model="not a model")


def test_a_transformer_given_from_python_trains_with_cross_entropy():
    t = grokscope.Transformer({"nanda2023": 7, "d_model": 16, "heads": 2, "d_mlp": 32})
    cfg = {"task": {"kind": "modular", "p": 7, "encoding": "nanda_tokens"}, "split": {"kind": "nanda", "fraction": 0.5},
           "train": {"steps": 20, "eval_every": 10}}
    r = grokscope.Trainer(cfg, model=t).run()
    assert r["summary"]["train"]["loss"] == "cross_entropy" and r["status"] == "completed"


def norms(model):
    return grokscope.parameter_norms(model)


def test_every_optimiser_and_filter_runs_and_keeps_its_invariant():
    base = dict(small(60), scalar="float64")
    for opt in ({"kind": "adamw"}, {"kind": "adam"}, {"kind": "adam_l2", "weight_decay": 0.01},
                {"kind": "sgd", "lr": 0.5, "momentum": 0.9, "nesterov": True}):
        for filters in ([], [{"kind": "grokfast_ema"}], [{"kind": "grokfast_ma", "window": 10}], [{"kind": "orthograd"}]):
            r = grokscope.Trainer(dict(base, optimizer=opt, filters=filters)).run()
            assert r["status"] == "completed", (opt, filters)
            assert r["summary"]["optimizer"]["optimizer"] == {"adam": "adamw"}.get(opt["kind"], opt["kind"])
            assert [f["filter"] for f in r["summary"]["filters"]] == [f["kind"] for f in filters]
    # constant norm (Omnigrok): ‖θ‖ stays at factor × ‖θ₀‖
    tr = grokscope.Trainer(dict(base, optimizer={"kind": "adamw", "constant_norm": 0.8}))
    n0 = norms(tr.model)["total"]
    tr.add_probe(lambda s, m: norms(m)["total"], every=10, prefix="norm")
    h = tr.run()["history"]
    np.testing.assert_allclose(h["norm"][1:], 0.8 * n0, rtol=1e-12)
    # ⊥Grad with plain SGD: w·g̃ = 0 per tensor, so ‖w − lr·g̃‖ ≥ ‖w‖ for every parameter at every step
    tr = grokscope.Trainer(dict(base, optimizer={"kind": "sgd", "lr": 0.1}, filters=[{"kind": "orthograd"}]))
    seen = []
    tr.add_probe(lambda s, m: seen.append(norms(m)["per_parameter"]) or 0.0, every=10, prefix="n")
    tr.run()
    for a, b in zip(seen, seen[1:]):
        assert all(b[k] >= a[k] * (1 - 1e-12) for k in a)
    with pytest.raises(ValueError, match="constant_norm"):
        grokscope.Trainer(dict(base, optimizer={"kind": "adamw", "constant_norm": -1}))
    with pytest.raises(ValueError, match="'lion' is not one of"):
        grokscope.Trainer(dict(base, optimizer={"kind": "lion"}))


def test_ctrl_c_ends_the_run_between_steps_and_keeps_the_partial_result(tmp_path):
    script = textwrap.dedent("""
        import sys, time, grokscope
        cfg = {"task": {"kind": "modular", "p": 23}, "model": {"kind": "mlp", "preset": "gromov", "width": 200},
               "train": {"steps": 10000000, "eval_every": 100, "log_points": 0}}
        tr = grokscope.Trainer(cfg)
        tr.add_probe(lambda s, m: print("started", flush=True) or 0.0, every=100, prefix="p")
        t0 = time.time()
        try:
            tr.run(out=sys.argv[1])
        except KeyboardInterrupt:
            r = tr.result
            print("interrupted", r["status"], r["steps_done"], len(r["history"]["step"]), "%.2f" % (time.time() - t0))
    """)
    p = subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "run")], stdout=subprocess.PIPE, text=True,
                         env=dict(os.environ))
    assert p.stdout.readline().strip() == "started"
    time.sleep(0.3)
    sent = time.time()
    p.send_signal(signal.SIGINT)
    out, _ = p.communicate(timeout=60)
    waited = time.time() - sent
    words = out.strip().splitlines()[-1].split()
    assert words[:2] == ["interrupted", "interrupted"], out
    assert int(words[2]) < 10000000 and int(words[3]) >= 1
    assert waited < 10, waited  # between steps, not at the end of ten million
    assert (tmp_path / "run" / "history.csv").exists() and (tmp_path / "run" / "summary.json").exists()


def test_history_frame_needs_pandas_only_when_called():
    r = grokscope.run_experiment(small(50))
    try:
        import pandas  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="python3-pandas"):
            grokscope.history_frame(r)
        return
    f = grokscope.history_frame(r)
    assert list(f.columns) == list(r["history"].keys()) and len(f) == len(r["history"]["step"])


def test_the_sharpness_probe_from_a_config_and_probe_loss_mismatches_refused_at_construction():
    cfg = small(steps=100, probes=[{"kind": "sharpness", "every": 50, "iterations": 12, "trace_samples": 4,
                                    "max_examples": 64}])
    cfg["model"] = {"kind": "mlp", "preset": "gromov", "width": 32}
    tr = grokscope.Trainer(cfg, seed=0)  # float32 training: measured on a float64 twin of the model
    h = tr.run()["history"]
    top = np.array(h["hessian_top"])
    assert len(top) == len(h["step"]) >= 3 and np.isfinite(top[np.isin(h["step"], [0, 50, 100])]).all()
    assert np.isfinite(h["hessian_trace"][-1])
    bad = small(probes=[{"kind": "stability", "every": 50}])  # the flagship's loss is the MSE
    with pytest.raises(ValueError, match="stability measures the softmax's collapse: it needs the loss cross_entropy"):
        grokscope.Trainer(bad, seed=0)
    with pytest.raises(ValueError, match="probes\\[0\\].iterations: must be >= 1"):
        grokscope.Trainer(small(probes=[{"kind": "sharpness", "iterations": 0}]), seed=0)


def test_progress_is_shown_and_can_be_silenced(capfd, monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "tqdm", None)  # the plain line, as without tqdm installed
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    grokscope.Trainer(small(steps=100), seed=0).run()
    err = capfd.readouterr().err
    assert "grokscope: step 100/100  train_loss" in err and "test_acc" in err
    grokscope.Trainer(small(steps=100), seed=0).run(progress=False)
    assert "grokscope: step" not in capfd.readouterr().err


def test_a_trainer_on_data_and_a_split_you_bring():
    d = grokscope.modular_dataset("add", 11, "pair_indices")
    n = len(d["labels"])
    order = np.random.default_rng(4).permutation(n)
    data = {"tokens": d["tokens"], "labels": d["labels"], "train": order[:70], "test": order[70:]}
    cfg = {"model": {"kind": "mlp", "hidden": [32], "activation": "square"}, "loss": "cross_entropy",
           "optimizer": {"kind": "adamw", "lr": 0.01, "weight_decay": 0.1},
           "train": {"steps": 100, "eval_every": 50, "log_points": 0}}
    tr = grokscope.Trainer(cfg, seed=0, data=data)
    assert np.array_equal(tr.dataset["train"], order[:70]) and np.array_equal(tr.dataset["test"], order[70:])
    assert tr.resolved["task"]["kind"] == "given" and tr.resolved["split"]["kind"] == "given"
    r = tr.run(progress=False)
    assert r["status"] == "completed" and r["history"]["train_acc"][-1] > r["history"]["train_acc"][0]
    # features and no split: the config's split makes one
    X = np.random.default_rng(1).normal(size=(40, 3))
    tr2 = grokscope.Trainer({"split": {"kind": "random", "fraction": 0.5}, "train": {"steps": 10}},
                            data={"features": X, "targets": X[:, :1] ** 2})
    assert len(tr2.dataset["train"]) == 20
    with pytest.raises(ValueError, match="split index 500 outside"):
        grokscope.Trainer(cfg, data=dict(data, train=np.array([500]), test=np.array([1])))
    with pytest.raises(ValueError, match="must not have a task section"):
        grokscope.Trainer(dict(cfg, task={"kind": "modular", "p": 11}), data=data)
    with pytest.raises(ValueError, match="exactly one of 'tokens'"):
        grokscope.Trainer(cfg, data={"labels": d["labels"]})
    with pytest.raises(ValueError, match="unknown key 'label'"):
        grokscope.Trainer(cfg, data={"tokens": d["tokens"], "label": d["labels"]})


def test_fourier_probe_in_a_config_with_fixed_key_frequencies_and_the_test_pairs_restricted_loss():
    cfg = small(steps=100, probes=[{"kind": "fourier", "every": 50, "key_frequencies": [1, 3], "prefix": "f_"},
                                   {"kind": "fourier", "every": 50, "n_key": 2, "prefix": "g_"}])
    r = grokscope.run_experiment(cfg, progress=False)
    h = r["history"]
    for col in ("f_restricted_loss", "f_restricted_test_loss", "f_excluded_loss", "f_fourier_gini",
                "g_restricted_test_loss"):
        ran = h[col][~np.isnan(h[col])]
        assert len(ran) == 3 and np.all(np.isfinite(ran)) and np.all(ran >= 0), col
    p = cfg["task"]["p"]
    with pytest.raises(ValueError, match=r"probes\[0\]\.key_frequencies: %d is outside \[1, %d\]" % (p, (p - 1) // 2)):
        grokscope.run_experiment(small(steps=10, probes=[{"kind": "fourier", "key_frequencies": [p]}]))
    with pytest.raises(ValueError, match="key_frequencies: 2 is given twice"):
        grokscope.run_experiment(small(steps=10, probes=[{"kind": "fourier", "key_frequencies": [2, 2]}]))
    with pytest.raises(ValueError, match="key_frequencies: must be a list of integers"):
        grokscope.run_experiment(small(steps=10, probes=[{"kind": "fourier", "key_frequencies": [1.5]}]))
