"""Datasets from Python: Nanda et al.'s task with its exact split, as int64 arrays."""
import numpy as np
import pytest

import grokscope


def test_modular_dataset_and_nanda_split():
    d = grokscope.modular_dataset("add", 113, "nanda_tokens", split="nanda", fraction=0.3, seed=0)
    tokens, labels = d["tokens"], d["labels"]
    assert tokens.shape == (113 * 113, 3) and tokens.dtype == np.int64
    assert np.all(tokens[:, 2] == 113)
    assert np.all(labels == (tokens[:, 0] + tokens[:, 1]) % 113)
    assert len(d["train"]) == 3830 and len(d["train"]) + len(d["test"]) == 113 * 113
    assert len(np.intersect1d(d["train"], d["test"])) == 0
    assert d["vocab_size"] == 114 and d["num_classes"] == 113
    pairs = grokscope.modular_dataset("sub", 7, "pair_indices")
    assert pairs["tokens"].shape == (49, 2) and np.all(pairs["tokens"][:, 1] >= 7)
    assert len(pairs["train"]) == 0


def test_modular_dataset_errors():
    with pytest.raises(ValueError, match="unknown operation 'plus'"):
        grokscope.modular_dataset("plus", 7)
    with pytest.raises(ValueError, match="encoding must be"):
        grokscope.modular_dataset("add", 7, "one_hot")
    with pytest.raises(ValueError, match="split must be"):
        grokscope.modular_dataset("add", 7, split="half")
