"""Models from Python: PyTorch weights (the committed fixtures written by
tests/fixtures/make_fixtures.py and make_ntk_fixtures.py) loaded by name give PyTorch's logits and
functorch's NTK; every mismatch of a state dict is reported at once."""
import glob
import os

import numpy as np
import pytest

import grokscope


def load_case(fixtures, case):
    d = os.path.join(fixtures, "torch", case)
    arrays = {os.path.basename(f)[:-4]: np.load(f) for f in glob.glob(os.path.join(d, "*.npy"))}
    return {k: v for k, v in arrays.items() if not k.startswith("grad.") and not k.startswith("ntk_full")}, arrays


def test_mlp_from_torch_weights_gives_torch_logits_and_functorch_ntk(fixtures):
    weights, a = load_case(fixtures, "mlp_relu_ce")
    m = grokscope.Mlp({"input": 6, "hidden": [8, 7], "output": 4, "activation": "relu"})
    params = {k: v for k, v in weights.items() if k.startswith("layers.")}
    params["layers.0.bias"] = params["layers.0.bias"].reshape(-1)  # torch's (out,) bias is accepted
    m.load_state_dict(params)
    out = m(a["x"])
    assert np.max(np.abs(out - a["outputs"])) <= 1e-12 * max(1.0, np.max(np.abs(a["outputs"])))
    for method in ("structured", "jacobian"):
        K = grokscope.empirical_ntk(m, a["x"], output="full", method=method)
        assert K.shape == (20, 20)
        assert np.max(np.abs(K - a["ntk_full"])) / np.max(np.abs(a["ntk_full"])) < 1e-10
    trace = grokscope.empirical_ntk(m, a["x"])
    assert np.allclose(trace, sum(a["ntk_full"][i::4, i::4] for i in range(4)), rtol=1e-10, atol=1e-12)
    one = grokscope.empirical_ntk(m, a["x"], parameters=["layers.1.weight"], output="full")
    assert np.max(np.abs(one - a["ntk_full.layers.1.weight"])) / np.max(np.abs(a["ntk_full.layers.1.weight"])) < 1e-10
    sd = m.state_dict()
    assert set(sd) == set(params) and sd["layers.0.bias"].shape == (1, 8)


def test_transformer_from_torch_weights_gives_torch_logits(fixtures):
    weights, a = load_case(fixtures, "transformer_nanda")
    m = grokscope.Transformer({"nanda2023": 13, "d_model": 32, "heads": 4, "d_mlp": 64})
    m.load_state_dict({k: v for k, v in weights.items() if k not in ("tokens", "labels", "outputs", "loss")})
    out = m(a["tokens"].astype(np.int64))
    assert np.max(np.abs(out - a["outputs"])) <= 1e-11 * max(1.0, np.max(np.abs(a["outputs"])))
    K = grokscope.empirical_ntk(m, a["tokens"].astype(np.int64), output="full")
    assert np.max(np.abs(K - a["ntk_full"])) / np.max(np.abs(a["ntk_full"])) < 1e-10


def test_state_dict_mismatches_are_listed_and_nothing_is_loaded():
    m = grokscope.Mlp({"input": 3, "hidden": [4], "output": 2, "seed": 1})
    before = m.state_dict()
    bad = {"layers.0.weight": np.zeros((3, 4)), "layers.1.weight": np.zeros((2, 4)), "extra": np.zeros(1)}
    with pytest.raises(ValueError) as e:
        m.load_state_dict(bad)
    msg = str(e.value)
    assert "3 mismatches" not in msg  # four: the transposed weight, two missing biases, the extra
    assert "'layers.0.weight' is (3, 4), expected (4, 3) (transpose it" in msg
    assert "missing 'layers.0.bias' (1, 4)" in msg and "missing 'layers.1.bias' (1, 2)" in msg
    assert "unexpected 'extra'" in msg and "nothing was loaded" in msg
    after = m.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)
    m.load_state_dict({"layers.1.weight": np.ones((2, 4))}, strict=False)
    assert np.all(m.state_dict()["layers.1.weight"] == 1)
    nan = {k: v.copy() for k, v in before.items()}
    nan["layers.1.weight"][0, 0] = np.nan
    with pytest.raises(ValueError, match="'layers.1.weight' is not finite"):
        m.load_state_dict(nan)


def test_model_config_and_input_errors():
    with pytest.raises(ValueError, match="unknown config key 'widht' \\(allowed: model, input, hidden, output"):
        grokscope.Mlp({"input": 3, "widht": 4})
    with pytest.raises(ValueError, match="'swish' is not one of relu, gelu"):
        grokscope.Mlp({"input": 3, "hidden": [4], "output": 2, "activation": "swish"})
    t = grokscope.Transformer({"nanda2023": 7})
    with pytest.raises(TypeError, match="token ids must be integers"):
        t(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="output must be 'trace', 'full' or 'single'"):
        grokscope.empirical_ntk(t, np.zeros((2, 3), dtype=np.int64), output="diag")
    with pytest.raises(ValueError):  # token 99 is outside the vocabulary of 8
        t(np.array([[1, 2, 99]]))
    assert t.config["vocab"] == 8 and t.num_parameters > 0


def test_config_round_trips_and_recenter_retakes_theta0():
    m = grokscope.Mlp({"input": 3, "hidden": [5], "output": 1, "centered": True, "seed": 4})
    x = np.random.default_rng(0).standard_normal((7, 3))
    np.testing.assert_allclose(m(x), 0, atol=1e-15)  # f(θ₀) − f(θ₀)
    twin = grokscope.Mlp(m.config)
    assert twin.config == m.config
    moved = {k: v + 0.1 for k, v in m.state_dict().items()}
    m.load_state_dict(moved)
    assert np.abs(m(x)).max() > 1e-3  # θ₀ kept: f(θ) − f(θ₀) is no longer 0
    m.recenter()
    np.testing.assert_allclose(m(x), 0, atol=1e-15)
    with pytest.raises(ValueError, match="'model' is 'transformer', not 'mlp'"):
        grokscope.Mlp(dict(m.config, model="transformer"))


def test_ntk_diagonal_is_the_kernels_diagonal_and_memory_is_bounded():
    m = grokscope.Mlp({"input": 3, "hidden": [6], "output": 2, "activation": "tanh", "seed": 1})
    x = np.random.default_rng(0).standard_normal((9, 3))
    K = grokscope.empirical_ntk(m, x, output="full")
    np.testing.assert_allclose(grokscope.empirical_ntk(m, x, output="full", diagonal=True)[:, 0], np.diag(K),
                               rtol=1e-13)
    np.testing.assert_allclose(grokscope.empirical_ntk(m, x, block_examples=2), grokscope.empirical_ntk(m, x),
                               rtol=1e-13)
    with pytest.raises(MemoryError, match="more than the limit"):
        grokscope.empirical_ntk(m, x, max_bytes=100)
    with pytest.raises(MemoryError, match="parameters needs about"):  # estimated before it is allocated
        grokscope.Mlp({"input": 100, "hidden": [10**9], "output": 10})


def test_float32_models_and_the_ntk_in_the_models_precision():
    cfg = {"input": 20, "hidden": [64], "output": 1, "activation": "relu", "seed": 2}
    m32 = grokscope.Mlp(cfg, dtype="float32")
    assert m32.dtype == "float32" and grokscope.Mlp(cfg).dtype == "float64"
    x = np.random.default_rng(1).standard_normal((50, 20)).astype(np.float32)
    assert m32(x).dtype == np.float32
    K = grokscope.empirical_ntk(m32, x)
    Kf = grokscope.empirical_ntk(m32, x, precision="model")
    err = np.linalg.norm(Kf - K) / np.linalg.norm(K)
    assert 0 < err < 1e-6  # float Grams: float rounding, not more
    np.testing.assert_array_equal(Kf, Kf.T)
    with pytest.raises(ValueError, match="precision must be 'double' or 'model'"):
        grokscope.empirical_ntk(m32, x, precision="half")
    with pytest.raises(ValueError, match="applies to the Structured method"):
        grokscope.empirical_ntk(m32, x, precision="model", method="jacobian")
    with pytest.raises(ValueError, match="dtype must be 'float64' or 'float32'"):
        grokscope.Mlp(cfg, dtype="float16")
    t = grokscope.Transformer({"nanda2023": 7, "d_model": 8, "heads": 2, "d_mlp": 16}, dtype="float32")
    assert t.dtype == "float32"


def test_an_mlp_reads_its_datasets_token_ids_and_the_same_one_hot_rows():
    d = grokscope.modular_dataset("add", 7, "pair_indices")
    m = grokscope.Mlp(grokscope.mlp_preset("gromov", p=7, width=16))
    tokens = d["tokens"][:10]  # int64 [a, p + b]
    onehot = np.zeros((10, 14))
    onehot[np.arange(10), tokens[:, 0]] = 1
    onehot[np.arange(10), tokens[:, 1]] = 1
    assert np.allclose(m(tokens), m(onehot), rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match="out of range"):
        m(tokens + 100)


def test_state_dicts_in_sequential_and_transformer_lens_names():
    rng = np.random.default_rng(3)
    m = grokscope.Mlp({"input": 4, "hidden": [5, 6], "output": 3, "activation": "relu", "seed": 1})
    gs = m.state_dict()
    seq = {"0.weight": gs["layers.0.weight"], "0.bias": gs["layers.0.bias"].ravel(), "2.weight": gs["layers.1.weight"],
           "2.bias": gs["layers.1.bias"].ravel(), "4.weight": gs["layers.2.weight"], "4.bias": gs["layers.2.bias"].ravel()}
    fresh = grokscope.Mlp({"input": 4, "hidden": [5, 6], "output": 3, "activation": "relu", "seed": 9})
    fresh.load_state_dict(seq, convention="sequential")
    x = rng.normal(size=(5, 4))
    assert np.array_equal(fresh(x), m(x))
    with pytest.raises(ValueError, match="'head.weight' is not '<index>.weight'"):
        fresh.load_state_dict({"head.weight": gs["layers.0.weight"]}, convention="sequential")
    # a HookedTransformer's layouts: W_E (V, d), W_Q (H, d, dh), W_O (H, dh, d), W_in (d, d_mlp), ...
    cfg = {"nanda2023": 13, "d_model": 16, "heads": 4, "d_mlp": 24, "attn_bias": True, "seed": 2}
    t = grokscope.Transformer(cfg)
    sd = {k: v + 0.1 * rng.normal(size=v.shape) for k, v in t.state_dict().items()}  # non-zero biases too
    t.load_state_dict(sd)
    H, d, dh = 4, 16, 4
    tl = {"embed.W_E": sd["embed.W_E"].T, "pos_embed.W_pos": sd["pos_embed.W_pos"],
          "blocks.0.attn.W_O": sd["blocks.0.attn.W_O"].T.reshape(H, dh, d),
          "blocks.0.attn.b_O": sd["blocks.0.attn.b_O"].ravel(),
          "blocks.0.mlp.W_in": sd["blocks.0.mlp.W_in"].T, "blocks.0.mlp.b_in": sd["blocks.0.mlp.b_in"].ravel(),
          "blocks.0.mlp.W_out": sd["blocks.0.mlp.W_out"].T, "blocks.0.mlp.b_out": sd["blocks.0.mlp.b_out"].ravel(),
          "unembed.W_U": sd["unembed.W_U"], "unembed.b_U": np.zeros(14),  # a zero bias the model lacks: dropped
          "blocks.0.attn.mask": np.ones((3, 3)), "blocks.0.attn.IGNORE": np.array(-1e5)}
    for w in "QKV":
        tl["blocks.0.attn.W_" + w] = sd["blocks.0.attn.W_" + w].reshape(H, dh, d).transpose(0, 2, 1)
        tl["blocks.0.attn.b_" + w] = sd["blocks.0.attn.b_" + w].reshape(H, dh)
    other = grokscope.Transformer(dict(cfg, seed=7))
    other.load_state_dict(tl, convention="transformer_lens")
    tokens = np.array([[1, 2, 13], [5, 7, 13]])
    np.testing.assert_allclose(other(tokens), t(tokens), rtol=1e-13, atol=1e-13)
    with pytest.raises(ValueError, match="'unembed.b_U' has no grokscope parameter \\(a non-zero bias"):
        other.load_state_dict(dict(tl, **{"unembed.b_U": np.ones(14)}), convention="transformer_lens")
    with pytest.raises(ValueError, match="convention must be 'grokscope', 'sequential' or 'transformer_lens'"):
        other.load_state_dict(tl, convention="tl")
