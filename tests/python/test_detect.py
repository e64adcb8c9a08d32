"""The grokking detectors from Python, on arrays and on the CSV logs the C++ tests read."""
import os

import numpy as np
import pytest

import grokscope


def test_detect_on_arrays_gives_the_documented_report():
    steps = np.arange(0, 101, dtype=float)
    train = np.where(steps >= 10, 1.0, 0.1)
    test = np.where(steps >= 60, 1.0, 0.1)
    r = grokscope.detect_grokking(steps, train, test)
    assert r["t_mem"] == 10 and r["t_grok"] == 60 and r["gap"] == 50
    assert r["verdict"] == "grokked"
    never = grokscope.detect_grokking(steps, train, np.full(101, 0.1))
    assert never["t_grok"] is None and never["verdict"] != "grokked"


def test_detect_on_a_pytorch_log_matches_the_cli(fixtures):
    r = grokscope.detect_grokking_csv(os.path.join(fixtures, "logs", "pytorch_log.csv"), step="epoch",
                                      test="val_acc")
    assert r["t_mem"] == 170 and 1900 <= r["t_grok"] <= 1990 and r["verdict"] == "grokked"
    loss = grokscope.detect_grokking_csv(os.path.join(fixtures, "logs", "pytorch_log.csv"), step="epoch",
                                         test="val_loss", metric="loss")
    assert loss["verdict"] == "grokked"


def test_detect_errors():
    with pytest.raises(ValueError, match="metric must be 'accuracy' or 'loss'"):
        grokscope.detect_grokking(np.arange(3.0), np.ones(3), np.ones(3), metric="speed")
    with pytest.raises(RuntimeError, match="nope.csv"):
        grokscope.detect_grokking_csv("/nope.csv")
    with pytest.raises(ValueError, match="steps, train and test have 3, 4 and 3 entries"):
        grokscope.detect_grokking(np.arange(3.0), np.ones(4), np.ones(3))
    with pytest.raises(TypeError, match="steps: expected a real array"):
        grokscope.detect_grokking(np.array(["a", "b", "c"]), np.ones(3), np.ones(3))
    # int64 steps, as every logger writes them, are accepted
    steps = np.arange(0, 1000, 10)
    acc = np.clip(steps / 300.0, 0, 1)
    test = np.clip((steps - 500) / 300.0, 0, 1)
    assert grokscope.detect_grokking(steps, acc, test)["t_grok"] == grokscope.detect_grokking(steps * 1.0, acc, test)["t_grok"]


def test_aggregate_reports_over_seeds_counts_every_verdict_and_takes_numpy_quartiles():
    steps = np.arange(0, 201, dtype=float)
    reports = []
    for t_mem, t_grok in ((10, 60), (12, 90), (20, 150), (15, None)):
        train = np.where(steps >= t_mem, 1.0, 0.1)
        test = np.full(201, 0.1) if t_grok is None else np.where(steps >= t_grok, 1.0, 0.1)
        reports.append(grokscope.detect_grokking(steps, train, test))
    a = grokscope.aggregate_reports(reports)
    assert a["runs"] == 4
    assert a["verdicts"]["grokked"] == 3 and sum(a["verdicts"].values()) == 4
    t_grok = [60, 90, 150]
    assert a["t_grok"]["count"] == 3 and a["t_grok"]["median"] == np.median(t_grok)
    assert a["t_grok"]["q1"] == np.percentile(t_grok, 25) and a["t_grok"]["q3"] == np.percentile(t_grok, 75)
    assert a["t_mem"]["count"] == 4 and a["t_mem"]["median"] == np.median([10, 12, 20, 15])
    with pytest.raises(TypeError, match="entry 1 is not a report dict"):
        grokscope.aggregate_reports([reports[0], 3])
    with pytest.raises(ValueError, match="unknown verdict 'maybe'"):
        grokscope.aggregate_reports([dict(reports[0], verdict="maybe")])
    assert grokscope.aggregate_reports([])["runs"] == 0


def test_classify_liu_phase_known_answers():
    steps = np.arange(0, 20001, 100.0)

    def phase(t_train, t_test):
        tr = np.where((t_train is not None) & (steps >= (t_train or 0)), 1.0, 0.1)
        te = np.where((t_test is not None) & (steps >= (t_test or 0)), 0.95, 0.05)
        return grokscope.classify_liu_phase(steps, tr, te)

    assert phase(100, 900)["phase"] == "comprehension"
    assert phase(100, 1200) == {"phase": "grokking", "t_train": 100.0, "t_test": 1200.0}
    assert phase(100, None)["phase"] == "memorization" and phase(None, None)["phase"] == "confusion"
    with pytest.raises(ValueError, match="differ in length"):
        grokscope.classify_liu_phase(np.array([0.0, 1.0]), np.array([0.0]), np.array([0.0, 1.0]))
