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


def test_other_tasks():
    s3 = grokscope.permutation_dataset(3)
    assert s3["tokens"].shape[0] == 36 and s3["num_classes"] == 6
    d5 = grokscope.dihedral_dataset(5)
    assert d5["tokens"].shape[0] == 100 and d5["num_classes"] == 10
    par = grokscope.sparse_parity(n=10, k=3, n_train=50, n_test=20)
    x, y = par["features"], par["targets"][:, 0]
    assert x.shape == (70, 10) and set(np.unique(x)) == {-1.0, 1.0}
    assert np.all(y == np.prod(x[:, :3], axis=1))
    assert len(par["train"]) == 50 and len(par["test"]) == 20
    kum = grokscope.kumar_polynomial(D=5, n_train=7, n_test=3)
    assert kum["features"].shape == (10, 5) and kum["targets"].shape == (10, 1)
    img = grokscope.fashion_mnist(n_train=20, n_test=10)
    assert img["features"].shape == (30, 784) and 0 <= img["features"].min() and img["features"].max() <= 1
    assert img["num_classes"] == 10
    with pytest.raises(ValueError, match="op must be 'compose', 'conjugate' or 'xyx'"):
        grokscope.permutation_dataset(3, "power")
    with pytest.raises(RuntimeError, match="no such file"):
        grokscope.fashion_mnist(dir="/nope")


def test_power_split_is_numpy_legacy_shuffle_of_the_reference_order():
    for seed, fraction in ((0, 0.5), (7, 0.3)):
        d = grokscope.modular_dataset("add", 11, "op_tokens", split="power", fraction=fraction, seed=seed)
        n = 11 * 11
        order = np.arange(n)
        np.random.RandomState(seed).shuffle(order)  # Power et al.'s legacy NumPy shuffle
        k = int(round(n * fraction))
        assert sorted(d["train"]) == sorted(order[:k]) and sorted(d["test"]) == sorted(order[k:])
    with pytest.raises(ValueError, match="fraction must be in \\(0, 1\\)"):
        grokscope.modular_dataset("add", 11, split="power", fraction=1.5)


def test_kumar_teacher_is_exported_and_defines_the_targets():
    kum = grokscope.kumar_polynomial(D=6, n_train=20, n_test=10, convention="A")
    beta = kum["arrays"]["beta"][:, 0]
    x, y = kum["features"], kum["targets"][:, 0]
    np.testing.assert_allclose(y, 0.5 * (x @ beta) ** 2, rtol=1e-12)  # convention A: y = ½ (β·x)²
