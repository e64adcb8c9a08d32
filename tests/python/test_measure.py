"""CKA and kernel measurements from Python: against their formulas in NumPy, their invariants,
and the errors bad arrays must raise."""
import numpy as np
import pytest

import grokscope


def cka_numpy(X, Y):
    X = X - X.mean(0)
    Y = Y - Y.mean(0)
    return np.linalg.norm(Y.T @ X) ** 2 / (np.linalg.norm(X.T @ X) * np.linalg.norm(Y.T @ Y))


def test_linear_cka_matches_numpy_in_both_forms_and_dtypes():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 8))
    Y = X @ rng.standard_normal((8, 5)) + 0.3 * rng.standard_normal((60, 5))
    r = grokscope.linear_cka(X, Y)
    assert r.method == "feature" and r.n == 60 and r.defined
    assert abs(r.value - cka_numpy(X, Y)) < 1e-12
    wide = rng.standard_normal((20, 50))  # d > n: the Gram form
    g = grokscope.linear_cka(wide, wide[:, :30] * 2)
    assert g.method == "gram"
    assert abs(float(g) - cka_numpy(wide, wide[:, :30])) < 1e-12
    f32 = grokscope.linear_cka(X.astype(np.float32), Y.astype(np.float32))
    assert abs(f32.value - r.value) < 1e-6
    fortran = grokscope.linear_cka(np.asfortranarray(X), Y[:, ::-1])  # non-contiguous views too
    assert abs(fortran.value - r.value) < 1e-12


def test_cka_invariants_and_kinds():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((40, 6))
    Q, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    assert abs(grokscope.linear_cka(X, X).value - 1) < 1e-12
    assert abs(grokscope.linear_cka(X, 3 * X @ Q).value - 1) < 1e-12  # orthogonal maps and scaling
    assert abs(grokscope.cka(X, X, "rbf").value - 1) < 1e-12
    indep = grokscope.debiased_linear_cka(X, rng.standard_normal((40, 6)))
    assert abs(indep.value) < 0.2
    const = grokscope.linear_cka(np.ones((10, 3)), X[:10])
    assert not const.defined and const.value == 0


def test_bad_arrays_raise_with_the_argument_named():
    X = np.zeros((5, 3))
    with pytest.raises(TypeError, match="X: expected a real array .* got complex128"):
        grokscope.linear_cka(np.zeros((5, 3), dtype=np.complex128), X)
    ints = np.arange(15, dtype=np.int64).reshape(5, 3)  # integers are converted once, exactly
    assert grokscope.linear_cka(ints, ints % 4).value == grokscope.linear_cka(ints.astype(float), (ints % 4) * 1.0).value
    with pytest.raises(TypeError, match="Y: expected a numpy array, got list"):
        grokscope.linear_cka(X, [[1.0]])
    with pytest.raises(ValueError, match="X: expected a 2-d array, got 3-d"):
        grokscope.linear_cka(np.zeros((2, 2, 2)), X)
    with pytest.raises(ValueError, match="5 rows.*4|4.*5 rows|rows"):
        grokscope.linear_cka(X, np.zeros((4, 3)))
    bad = np.random.default_rng(2).standard_normal((5, 3))
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match="X has a non-finite value nan at \\(2, 1\\)"):
        grokscope.linear_cka(bad, bad)
    with pytest.raises(ValueError, match="kind must be 'linear', 'rbf' or 'debiased'"):
        grokscope.cka(X, X, "cosine")


def test_kernel_measures_match_numpy():
    rng = np.random.default_rng(3)
    A = rng.standard_normal((30, 10))
    K = A @ A.T
    y = rng.standard_normal(30)
    H = np.eye(30) - 1 / 30
    yc = y - y.mean()
    expected = yc @ K @ yc / (np.linalg.norm(H @ K @ H) * np.linalg.norm(np.outer(yc, yc)))
    assert abs(grokscope.centered_alignment(K, y) - expected) < 1e-12
    assert abs(grokscope.kernel_distance(K, 2 * K)) < 1e-12
    s = grokscope.kernel_spectrum(K)
    assert np.allclose(s["eigenvalues"], np.sort(np.linalg.eigvalsh(K))[::-1], atol=1e-9)
    assert 1 <= s["participation_ratio"] <= 10 + 1e-9
    Kr = K + 1e-3 * np.eye(30)
    r = grokscope.kernel_regression(Kr, y, Kr[:5], y_test=y[:5])
    assert r["solver"] == "cholesky"
    assert np.allclose(r["coefficients"][:, 0], np.linalg.solve(Kr, y), atol=1e-8)
    assert r["test_mse"] < 1e-12  # the training points are interpolated
    with pytest.raises(ValueError):
        grokscope.kernel_regression(K[:, :5], y, K)


def test_fourier_measures_on_constructed_logits():
    p = 11
    F = grokscope.fourier_basis(p)
    assert np.allclose(F @ F.T, np.eye(p), atol=1e-12)
    a, b = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    a, b = a.ravel(), b.ravel()
    labels = (a + b) % p
    c = np.arange(p)
    w = 2 * np.pi * 3 / p
    L = 4.0 * np.cos(w * (a[:, None] + b[:, None] - c[None, :]))  # logits of one key frequency, k = 3
    rows = np.arange(p * p, dtype=np.int64)
    full = grokscope.restricted_loss(L, labels, [3], rows)
    without = grokscope.excluded_loss(L, labels, [3], rows)
    z = L - L.max(1, keepdims=True)
    ce = np.mean(np.log(np.exp(z).sum(1)) - z[rows, labels])
    assert abs(full - ce) < 1e-9  # L lies in the key frequency's span: the restricted loss is L's own
    assert abs(without - np.log(p)) < 1e-9  # removing the key frequency leaves chance
    assert abs(grokscope.gini(np.array([1.0, 0, 0, 0])) - 0.75) < 1e-12 and grokscope.gini(np.ones(4)) == 0
    norms = grokscope.fourier_component_norms(np.random.default_rng(0).standard_normal((p, 4)))
    assert norms.shape == (p,)
    with pytest.raises(TypeError, match="labels: expected integers"):
        grokscope.restricted_loss(L, labels.astype(float), [3], rows)


def kumar_model(D, N, alpha, eps, seed=0):
    """Kumar et al.'s committee machine in convention B (MlpConfig::kumar, not centered)."""
    return grokscope.Mlp({"input": D, "hidden": [N], "output": 1, "activation": "linear_quadratic", "epsilon": eps,
                          "bias": False, "parameterization": "mean_field", "output_scale": alpha, "centered": False,
                          "fixed_readout": True, "seed": seed})


def test_kumar_decomposition_of_a_model_is_its_monte_carlo_test_loss():
    D, N, alpha, eps = 6, 9, 1.7, 0.6
    m = kumar_model(D, N, alpha, eps)
    beta = np.random.default_rng(1).standard_normal(D)
    # convention B: x ~ N(0, I), y = (β·x/√D)², i.e. c = 1 on the model's own scale
    x = np.random.default_rng(2).standard_normal((400000, D))
    mc = np.mean(((x @ beta) ** 2 / D - m(x)[:, 0]) ** 2)
    k = grokscope.kumar_decomposition(m, beta, c=1.0)
    assert abs(k["total"] - mc) < 0.02 * mc, (k, mc)
    assert k["total"] == pytest.approx(k["variance"] + k["misalignment"] + k["linear_power"], rel=1e-12)
    W = m.state_dict()["layers.0.weight"]
    same = grokscope.kumar_decomposition(W, beta, alpha=alpha, epsilon=eps, c=1.0)
    assert same == pytest.approx(k, rel=1e-14)
    with pytest.raises(ValueError, match="give alpha and epsilon"):
        grokscope.kumar_decomposition(W, beta)
    with pytest.raises(ValueError, match="beta has 5 entries"):
        grokscope.kumar_decomposition(W, beta[:5], alpha=1.0, epsilon=0.1)
    centered = grokscope.Mlp(dict(m.config, centered=True))
    with pytest.raises(ValueError, match="pass W0"):
        grokscope.kumar_decomposition(centered, beta)


def test_weight_statistics_and_effective_sparsity():
    m = grokscope.Mlp({"input": 4, "hidden": [6], "output": 3, "seed": 2})
    sd = m.state_dict()
    n = grokscope.parameter_norms(m)
    assert n["total"] == pytest.approx(np.sqrt(sum(np.sum(v ** 2) for v in sd.values())), rel=1e-14)
    assert n["per_parameter"]["layers.0.weight"] == pytest.approx(np.linalg.norm(sd["layers.0.weight"]), rel=1e-14)
    np.testing.assert_allclose(grokscope.neuron_norms(sd["layers.0.weight"]), np.linalg.norm(sd["layers.0.weight"], axis=1))
    assert grokscope.relative_movement(m, sd) == 0
    moved = {k: v * 1.5 for k, v in sd.items()}
    m.load_state_dict(moved)
    assert grokscope.relative_movement(m, sd) == pytest.approx(0.5, rel=1e-14)
    assert grokscope.compressed_size(m) > 0
    with pytest.raises(ValueError, match="levels must be in \\[2, 256\\]"):
        grokscope.compressed_size(m, levels=1)
    # effective sparsity: neurons with zero incoming weight and readout are not needed
    w = moved["layers.0.weight"].copy()
    u = moved["layers.1.weight"].copy()
    w[3:] = 0
    u[:, 3:] = 0
    m.load_state_dict(dict(moved, **{"layers.0.weight": w, "layers.1.weight": u, "layers.0.bias": np.zeros((1, 6))}))
    x = np.random.default_rng(0).standard_normal((50, 4))
    labels = np.argmax(m(x), axis=1)  # the network's own predictions: accuracy 1
    e = grokscope.effective_sparsity(m, x, labels)
    assert e["accuracy"] == 1.0 and e["width"] == 6 and e["k"] <= 3 and e["accuracy_at"][-1] == 1.0
    assert len(e["accuracy_at"]) == 7
    with pytest.raises(ValueError, match="labels for 50 examples"):
        grokscope.effective_sparsity(m, x, labels[:10])


def test_activation_capture_and_the_mechanistic_analyses():
    p = 7
    t = grokscope.Transformer({"nanda2023": p, "d_model": 16, "heads": 2, "d_mlp": 24})
    grid = grokscope.modular_dataset("add", p, "nanda_tokens")
    cache = t.run_with_cache(grid["tokens"])
    assert list(cache) == t.capture_sites and cache["blocks.0.attn.hook_pattern"].shape == (p * p * 2, 3)
    np.testing.assert_array_equal(cache["hook_logits"], t(grid["tokens"]))
    only = t.run_with_cache(grid["tokens"], names=["blocks.0.mlp.*"])
    assert list(only) == ["blocks.0.mlp.hook_pre", "blocks.0.mlp.hook_post"]
    with pytest.raises(ValueError, match="'blocks.3.mlp.hook_post' selects no capture site"):
        t.run_with_cache(grid["tokens"], names=["blocks.3.mlp.hook_post"])
    np.testing.assert_allclose(grokscope.logit_lens(t, grid["tokens"], "blocks.0.hook_resid_post"),
                               cache["hook_logits"], atol=1e-12)
    a = grokscope.direct_logit_attribution(t, grid["tokens"], grid["labels"])
    assert a["components"] == ["embed", "pos_embed", "blocks.0.attn", "blocks.0.mlp", "bias"]
    np.testing.assert_allclose(a["contributions"].sum(1), cache["hook_logits"][np.arange(p * p), grid["labels"]],
                               rtol=1e-11)
    spec = grokscope.grid_spectrum(np.cos(2 * np.pi * 3 * np.repeat(np.arange(p), p) / p))
    assert spec["dominant"] == (3, 0) and spec["dominant_share"] == pytest.approx(1.0)
    nc = grokscope.neuron_clusters(cache["blocks.0.mlp.hook_post"])
    assert sum(len(c["neurons"]) for c in nc["clusters"]) == 24 and 0 < nc["fraction_explained"] <= 1
    m = grokscope.Mlp({"input": 3, "hidden": [4], "output": 2})
    with pytest.raises(TypeError, match="not a Transformer"):
        grokscope.logit_lens(m, np.zeros((2, 3)), "hook_embed")


def test_heavy_tail_known_answers_and_bad_input():
    rng = np.random.default_rng(0)
    x = (1.0 - rng.random(10000)) ** (-1.0 / 1.5)  # Pareto, density exponent 2.5, xmin 1
    f = grokscope.fit_power_law(x)
    assert abs(f["alpha"] - 2.5) < 0.05 and f["n"] == 10000 and f["xmin"] < 2
    W = rng.standard_normal((400, 200))
    t = grokscope.correlation_traps(W, seed=1)
    assert t["traps"] == 0 and abs(t["sigma2"] - 1) < 0.02 and t["shuffled"].shape == (200,)
    assert grokscope.correlation_traps(W + 0.5, seed=1)["traps"] >= 1
    e = grokscope.esd_eigenvalues(W)
    np.testing.assert_allclose(e, np.sort(np.linalg.svd(W, compute_uv=False) ** 2 / 400)[::-1], rtol=1e-12)
    with pytest.raises(ValueError, match="fewer than min_tail"):
        grokscope.fit_power_law(np.ones(5))
    with pytest.raises(ValueError, match="non-finite"):
        grokscope.correlation_traps(np.full((3, 3), np.nan))


def test_heavy_tail_probe_in_a_config():
    cfg = {"task": {"kind": "modular", "op": "add", "p": 23}, "split": {"kind": "random", "fraction": 0.6},
           "model": {"kind": "mlp", "preset": "gromov", "width": 64},
           "optimizer": {"kind": "adamw", "lr": 0.005, "weight_decay": 0.1},
           "train": {"steps": 20, "eval_every": 10, "log_points": 0},
           "probes": [{"kind": "heavy_tail", "every": 10, "min_tail": 5}]}
    h = grokscope.run_experiment(cfg, progress=False)["history"]
    alpha = h["alpha_layers.0.weight"]
    assert np.all(np.isfinite(alpha)) and np.all(alpha > 1)
    assert np.all(h["traps_layers.0.weight"] >= 0) and "alpha_ks_layers.1.weight" in h
    with pytest.raises(ValueError, match=r"probes\[0\]\.min_tail: must be >= 2"):
        grokscope.run_experiment(dict(cfg, probes=[{"kind": "heavy_tail", "min_tail": 1}]))


def test_spectral_entropy_known_answers_and_gradient():
    assert grokscope.spectral_entropy(np.eye(6), eps=0.0) == pytest.approx(np.log(6), rel=1e-14)
    rng = np.random.default_rng(4)
    u, v = rng.normal(size=(7, 1)), rng.normal(size=(1, 5))
    assert abs(grokscope.spectral_entropy(u @ v)) < 1e-8
    W = rng.normal(size=(7, 5))
    H, G = grokscope.spectral_entropy_gradient(W)
    assert G.shape == W.shape and H == pytest.approx(grokscope.spectral_entropy(W), rel=1e-14)
    E = np.zeros_like(W)
    E[2, 3] = 1e-6
    fd = (grokscope.spectral_entropy(W + E) - grokscope.spectral_entropy(W - E)) / 2e-6
    assert fd == pytest.approx(G[2, 3], rel=1e-6, abs=1e-9)
    with pytest.raises(ValueError, match="NaN or Inf"):
        grokscope.spectral_entropy(np.full((2, 2), np.inf))


def test_coarse_grained_complexity_on_your_model_and_data():
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(80, 6)), rng.integers(0, 3, size=80)
    Xt, yt = rng.normal(size=(40, 6)), rng.integers(0, 3, size=40)
    m = grokscope.Mlp({"input": 6, "hidden": [16], "output": 3, "seed": 2})
    before = m.state_dict()
    r = grokscope.coarse_grained_complexity(m, X, y, epsilon=0.05, test_inputs=Xt, test_targets=yt)
    assert r["bounded"] and 0 < r["bytes"] < r["raw_bytes"]
    assert r["coarse_loss"] <= r["loss"] + 0.05 and np.isfinite(r["coarse_test_loss"]) and np.isfinite(r["test_loss"])
    assert 0 < r["rank_fraction"] <= 1 and r["total_components"] == 6 + 3 and "bisection" in r["search"]
    loose = grokscope.coarse_grained_complexity(m, X, y, epsilon=1.0)
    assert loose["bytes"] <= r["bytes"] and np.isnan(loose["test_loss"])
    assert all(np.array_equal(before[k], v) for k, v in m.state_dict().items())  # left as it was
    with pytest.raises(ValueError, match="epsilon must be finite and >= 0"):
        grokscope.coarse_grained_complexity(m, X, y, epsilon=-1)
    with pytest.raises(ValueError, match="test_inputs and test_targets together"):
        grokscope.coarse_grained_complexity(m, X, y, test_inputs=Xt)
    with pytest.raises(ValueError, match="targets has 3 rows for 80 examples"):
        grokscope.coarse_grained_complexity(m, X, y[:3])


def test_complexity_probe_spectral_entropy_filter_and_weight_noise_in_a_config():
    cfg = {"task": {"kind": "modular", "op": "add", "p": 23}, "split": {"kind": "random", "fraction": 0.6},
           "model": {"kind": "mlp", "preset": "gromov", "width": 32},
           "optimizer": {"kind": "adamw", "lr": 0.005, "weight_decay": 1.0},
           "filters": [{"kind": "spectral_entropy", "beta": 0.1}],
           "train": {"steps": 20, "eval_every": 10, "log_points": 0, "weight_noise": 1e-3},
           "probes": [{"kind": "complexity", "every": 10, "epsilon": 0.01, "taus": 5, "points_per_decade": 2}]}
    out = grokscope.run_experiment(cfg, progress=False)
    h = out["history"]
    assert np.all(h["complexity_bytes"] > 0) and np.all(h["complexity_bytes"] <= h["complexity_raw_bytes"])
    assert np.all(h["spectral_entropy"] > 0) and np.all(h["complexity_bounded"] == 1)
    assert out["summary"]["filters"][0] == {"filter": "spectral_entropy", "beta": 0.1, "eps": 1e-10}
    assert out["summary"]["train"]["weight_noise"] == 1e-3
    with pytest.raises(ValueError, match=r"probes\[0\]\.taus: must be in \[1, 1000\]"):
        grokscope.run_experiment(dict(cfg, probes=[{"kind": "complexity", "taus": 0}]))
    with pytest.raises(ValueError, match=r"train\.weight_noise: must be >= 0"):
        grokscope.run_experiment(dict(cfg, train={"steps": 5, "weight_noise": -1.0}))


def test_local_complexity_known_answer_and_bad_input():
    m = grokscope.Mlp({"input": 5, "hidden": [30], "output": 2, "seed": 4})
    sd = m.state_dict()
    W, b = sd["layers.0.weight"], sd["layers.0.bias"].reshape(-1)
    X = np.random.default_rng(1).normal(size=(20, 5))
    r = grokscope.local_complexity(m, X, vertices=10, radius=0.3, axis_directions=True)
    expect = (np.abs(X @ W.T + b) < 0.3 * np.abs(W).max(axis=1)).sum(axis=1)  # exact for one ReLU layer
    np.testing.assert_array_equal(r["per_example"], expect)
    assert r["mean"] == pytest.approx(expect.mean()) and r["neurons"] == 30
    assert list(r["per_layer"]) == ["layers.0.hook_pre"]
    assert grokscope.local_complexity(m, X, vertices=4, radius=1e-12)["mean"] == 0
    with pytest.raises(ValueError, match="40 vertices need 20 orthogonal directions but the input has 5"):
        grokscope.local_complexity(m, X)
    with pytest.raises(ValueError, match="NaN or Inf"):
        grokscope.local_complexity(m, np.full((2, 5), np.nan), vertices=4)


def test_circuit_efficiency_measures():
    p = 7
    a, b = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    y = ((a + b) % p).reshape(-1)
    c = np.arange(p)
    gen = np.cos(2 * np.pi * 2 * (y[:, None] - c[None, :]) / p) + np.arange(p * p)[:, None]  # a row offset
    t = grokscope.trig_subspace_share(gen, y, p)
    assert t["share"] == pytest.approx(1, abs=1e-12) and t["mem_norm"] < 1e-9
    assert grokscope.trig_subspace_share(np.random.default_rng(0).normal(size=(p * p, p)), y, p)["share"] < 0.4
    D = [100.0 * 2 ** k for k in range(7)]
    assert grokscope.crossover_size(D, [0.5 * np.sqrt(d) for d in D], [20.0] * 7) == pytest.approx(1600, rel=1e-12)
    assert grokscope.crossover_size(D, [0.5 * np.sqrt(d) for d in D], [1.0] * 7) is None
    assert grokscope.converged_at([0, 1, 2, 3], [4, 2, 1, 1.0001], window=1, rel_tol=1e-3) == 3
    with pytest.raises(ValueError, match="outside \\[0, p\\)"):
        grokscope.trig_subspace_share(gen, y + p, p)


def test_trig_share_probe_and_convergence_stop_in_a_config():
    cfg = {"task": {"kind": "modular", "op": "add", "p": 23, "encoding": "nanda_tokens"},
           "split": {"kind": "random", "fraction": 0.6}, "model": {"kind": "transformer", "preset": "nanda2023"},
           "optimizer": {"kind": "adamw", "lr": 0.003, "weight_decay": 1.0},
           "train": {"steps": 400, "eval_every": 20, "log_points": 0, "stop_converged": "train_acc",
                     "converge_window": 3, "converge_tol": 0.0},
           "probes": [{"kind": "trig_share", "every": 20}]}
    out = grokscope.run_experiment(cfg, progress=False)
    h = out["history"]
    assert np.all((h["trig_share"] >= 0) & (h["trig_share"] <= 1))
    np.testing.assert_allclose(h["trig_gen_norm"] ** 2 / (h["trig_gen_norm"] ** 2 + h["trig_mem_norm"] ** 2),
                               h["trig_share"], rtol=1e-12)
    # train accuracy unchanged over 3 evaluations (it reaches 1 well before step 400): stopped early
    assert out["status"] == "stopped" and out["steps_done"] < 400
    with pytest.raises(ValueError, match=r"probes\[0\]\.kind: trig_share needs a modular task"):
        grokscope.run_experiment(dict(cfg, task={"kind": "permutation", "n": 4}, model={"kind": "transformer"}))


def test_local_complexity_probe_in_a_config():
    cfg = {"task": {"kind": "parity", "n": 12, "k": 3, "n_train": 200, "n_test": 50}, "split": {"kind": "given"},
           "model": {"kind": "mlp", "preset": "merrill", "width": 32}, "loss": "hinge",
           "train": {"steps": 10, "eval_every": 5, "log_points": 0},
           "probes": [{"kind": "local_complexity", "every": 5, "vertices": 8, "radius": 0.05, "max_examples": 20}]}
    h = grokscope.run_experiment(cfg, progress=False)["history"]
    assert np.all(h["local_complexity"] >= 0) and np.all(h["local_complexity"] <= 32)
    assert "local_complexity_layers.0.hook_pre" in h
    with pytest.raises(ValueError, match=r"probes\[0\]\.vertices: must be an even number"):
        grokscope.run_experiment(dict(cfg, probes=[{"kind": "local_complexity", "vertices": 7}]))
