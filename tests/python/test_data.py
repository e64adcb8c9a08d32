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


def write_idx(path, array):
    """An IDX file (MNIST's format) of uint8 data: magic 0x08 and the rank, then big-endian sizes."""
    with open(path, "wb") as f:
        f.write(bytes([0, 0, 0x08, array.ndim]))
        f.write(np.array(array.shape, dtype=">u4").tobytes())
        f.write(array.astype(np.uint8).tobytes())


def test_idx_classification_reads_any_idx_files_and_names_a_truncated_one(tmp_path):
    rng = np.random.default_rng(0)
    tr_x, te_x = rng.integers(0, 256, (12, 4, 3)), rng.integers(0, 256, (5, 4, 3))
    tr_y, te_y = np.arange(12) % 3, np.arange(5) % 3
    paths = [str(tmp_path / n) for n in ("tri", "trl", "tei", "tel")]
    for p, a in zip(paths, (tr_x, tr_y, te_x, te_y)):
        write_idx(p, a)
    d = grokscope.idx_classification(*paths)
    assert d["features"].shape == (17, 12) and d["num_classes"] == 3
    np.testing.assert_allclose(d["features"][:12], tr_x.reshape(12, 12) / 255.0)
    np.testing.assert_array_equal(d["labels"], np.concatenate([tr_y, te_y]))
    np.testing.assert_array_equal(d["train"], np.arange(12)) and np.testing.assert_array_equal(d["test"], 12 + np.arange(5))
    with open(paths[0], "r+b") as f:
        f.truncate(40)
    with pytest.raises((ValueError, RuntimeError), match="tri"):
        grokscope.idx_classification(*paths)


def test_presets_are_the_published_models():
    g = grokscope.mlp_preset("gromov", p=23, width=64)
    assert g["input"] == 46 and g["hidden"] == [64] and g["output"] == 23 and g["activation"] == "square"
    assert grokscope.Mlp(g).num_parameters == 64 * 46 + 23 * 64
    k = grokscope.mlp_preset("kumar", D=10, width=20, epsilon=0.5, alpha=2.0)
    assert k["fixed_readout"] and k["parameterization"] == "mean_field" and k["output_scale"] == 2.0
    t = grokscope.transformer_preset("nanda2023", p=113)
    assert (t["d_model"], t["heads"], t["d_mlp"], t["layers"], t["layer_norm"]) == (128, 4, 512, 1, "none")
    assert grokscope.Transformer(t).config == t
    with pytest.raises(ValueError, match="name must be 'gromov', 'merrill' or 'kumar'"):
        grokscope.mlp_preset("resnet")


def test_random_labels_and_nested_subsets():
    d = grokscope.modular_dataset("add", 13)
    r = grokscope.random_labels(d["labels"], seed=3)
    assert sorted(r) == sorted(d["labels"]) and (r != d["labels"]).mean() > 0.7
    np.testing.assert_array_equal(r, grokscope.random_labels(d["labels"], seed=3))
    sizes = grokscope.geometric_sizes(10, 80, 5)
    assert sizes[0] == 10 and sizes[-1] == 80 and sorted(set(sizes)) == sizes
    subs = grokscope.nested_subsets(np.arange(100), sizes, seed=1)
    for small, big in zip(subs, subs[1:]):
        assert set(small) <= set(big)
    with pytest.raises(ValueError, match="strictly ascending"):
        grokscope.nested_subsets(np.arange(100), [5, 5])


def test_random_labels_in_a_config():
    cfg = {"task": {"kind": "modular", "op": "add", "p": 23}, "split": {"kind": "random", "fraction": 0.6},
           "model": {"kind": "mlp", "preset": "gromov", "width": 16}, "train": {"steps": 1}}
    plain = grokscope.Trainer(cfg).dataset["labels"]
    shuffled = grokscope.Trainer(dict(cfg, split={"kind": "random", "fraction": 0.6, "random_labels": True}))
    assert sorted(shuffled.dataset["labels"]) == sorted(plain) and (shuffled.dataset["labels"] != plain).mean() > 0.7
    assert shuffled.resolved["split"]["random_labels"] is True


def test_multitask_sparse_parity_oracle_and_frequencies():
    d = grokscope.multitask_sparse_parity(n_tasks=10, n=20, k=3, exponent=1.4, n_train=20000, n_test=500, seed=2)
    X, y, task, sub = d["features"], d["labels"], d["arrays"]["task"].reshape(-1).astype(int), d["arrays"]["subsets"]
    bits = X[:, 10:]
    oracle = (bits[np.arange(len(y))[:, None], sub[task].astype(int)].sum(axis=1) % 2).astype(int)
    np.testing.assert_array_equal(oracle, y)
    acc = grokscope.subtask_accuracy(oracle, y, task, 10)
    assert all(a == 1.0 for a in acc)
    counts = np.bincount(task[d["train"]], minlength=10)
    p = np.arange(1, 11) ** -1.4
    p /= p.sum()
    assert np.all(np.abs(counts - 20000 * p) < 4.5 * np.sqrt(20000 * p * (1 - p)))
    with pytest.raises(ValueError, match="1 <= k <= n"):
        grokscope.multitask_sparse_parity(k=500)
