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
    with pytest.raises(TypeError, match="steps: expected float32 or float64"):
        grokscope.detect_grokking(np.arange(3), np.ones(3), np.ones(3))
