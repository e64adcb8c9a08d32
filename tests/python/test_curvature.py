"""Curvature and forward mode from Python on a model and data the caller brings: exact
Hessian-vector products against PyTorch's double backward (the committed fixtures of
tests/fixtures/make_hessian_fixtures.py), spectra and traces against numpy on a model whose
Hessian is known in closed form, warnings that reach the caller, refusals, and concurrent calls
on one model from several threads."""
import glob
import os
import threading
import warnings

import numpy as np
import pytest

import grokscope


def nanda_case(fixtures):
    d = os.path.join(fixtures, "torch", "transformer_nanda")
    a = {os.path.basename(f)[:-4]: np.load(f) for f in glob.glob(os.path.join(d, "*.npy"))}
    m = grokscope.Transformer({"nanda2023": 13, "d_model": 32, "heads": 4, "d_mlp": 64})
    m.load_state_dict({k: v for k, v in a.items() if "." in k and not k.startswith("grad.")})
    return m, a["tokens"].astype(np.int64), a["labels"].astype(np.int64)


def flat(model, fixtures, case, prefix):
    d = os.path.join(fixtures, "torch", case)
    return np.concatenate([np.load(os.path.join(d, prefix + name + ".npy")).reshape(-1) for name in model.state_dict()])


def test_exact_hvp_matches_double_backward_on_nandas_relu_transformer(fixtures):
    m, tokens, labels = nanda_case(fixtures)
    theta = grokscope.parameter_vector(m)
    assert theta.shape == (m.num_parameters,)
    for s in ("0.", "1."):
        v, ref = flat(m, fixtures, "hvp_transformer_nanda", "v" + s), flat(m, fixtures, "hvp_transformer_nanda", "Hv" + s)
        hv = grokscope.hessian_vector_product(m, tokens, labels, v)
        assert np.linalg.norm(hv - ref) / np.linalg.norm(ref) < 1e-10
    torch = pytest.importorskip("torch")  # torch tensors are accepted as they are
    hv_t = grokscope.hessian_vector_product(m, torch.from_numpy(tokens), torch.from_numpy(labels), torch.from_numpy(v))
    assert np.array_equal(hv_t, grokscope.hessian_vector_product(m, tokens, labels, v))


def linear_problem(seed=0, n=20, d=4, k=3):
    rng = np.random.default_rng(seed)
    X, Y = rng.normal(size=(n, d)), rng.normal(size=(n, k))
    m = grokscope.Mlp({"input": d, "output": k, "activation": "identity", "bias": False, "seed": 1})
    H = np.kron(np.eye(k), 2.0 / (n * k) * X.T @ X)  # W (k, d) row-major: index a·d + j
    return m, X, Y, H


def test_spectra_and_traces_of_a_known_hessian():
    m, X, Y, H = linear_problem()
    ev = np.linalg.eigvalsh(H)
    top = grokscope.hessian_eigenvalues(m, X, Y, k=2, loss="mse")
    assert top["eigenvalues"] == pytest.approx(ev[::-1][:2], rel=1e-10)
    assert top["symmetry_error"] < 1e-12 and top["warnings"] == []
    bottom = grokscope.hessian_eigenvalues(m, X, Y, k=1, which="smallest", loss="mse", eigenvectors=True)
    assert bottom["eigenvalues"][0] == pytest.approx(ev[0], rel=1e-10)
    vec = bottom["eigenvectors"][0]
    assert np.linalg.norm(H @ vec - ev[0] * vec) < 1e-10
    power = grokscope.hessian_eigenvalues(m, X, Y, algorithm="power", loss="mse", max_iter=500, tol=1e-12)
    assert power["eigenvalues"][0] == pytest.approx(ev[-1], rel=1e-6)
    exact = grokscope.hessian_trace(m, X, Y, estimator="hutch++", samples=36, loss="mse")  # sketch spans R^12
    assert exact["trace"] == pytest.approx(np.trace(H), rel=1e-12)
    hutch = grokscope.hessian_trace(m, X, Y, samples=300, tol=0, loss="mse")
    assert abs(hutch["trace"] - np.trace(H)) < 5 * hutch["standard_error"]
    density = grokscope.hessian_density(m, X, Y, iterations=12, runs=2, loss="mse")
    assert len(density["nodes"]) == 2 and density["weights"][0].sum() == pytest.approx(1.0)
    # Gauss-Newton equals the Hessian of a linear model; l2 shifts every eigenvalue by λ
    v = np.random.default_rng(3).normal(size=H.shape[0])
    gn = grokscope.hessian_vector_product(m, X, Y, v, loss="mse", kind="gauss_newton")
    assert np.allclose(gn, H @ v, rtol=1e-12, atol=1e-14)
    shifted = grokscope.hessian_eigenvalues(m, X, Y, loss="mse", l2=0.5)
    assert shifted["eigenvalues"][0] == pytest.approx(ev[-1] + 0.5, rel=1e-10)
    # integer labels for the MSE are one-hot targets of the outputs' width
    labels = np.arange(20) % 3
    onehot = np.eye(3)[labels]
    assert np.array_equal(grokscope.hessian_vector_product(m, X, labels, v, loss="mse"),
                          grokscope.hessian_vector_product(m, X, onehot, v, loss="mse"))


def test_empirical_fisher_from_per_example_gradients():
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(6, 3)), np.array([0, 1, 1, 0, 1, 0])
    m = grokscope.Mlp({"input": 3, "hidden": [4], "output": 2, "activation": "tanh", "seed": 2})
    P = m.num_parameters
    F = np.stack([grokscope.hessian_vector_product(m, X, y, e, kind="empirical_fisher") for e in np.eye(P)], 1)
    assert np.allclose(F, F.T, atol=1e-14)
    assert np.linalg.eigvalsh(F).min() > -1e-12  # a sum of outer products
    assert np.linalg.matrix_rank(F, tol=1e-10) <= 6  # one per example


def test_finite_differences_across_a_kink_warn_and_the_exact_product_does_not():
    m = grokscope.Mlp({"input": 2, "hidden": [3], "output": 2, "activation": "relu", "seed": 4})
    X = np.array([[1.0, 0.5], [-0.3, 0.8]])
    sd = m.state_dict()
    sd["layers.0.bias"][0, 0] = -(sd["layers.0.weight"][0] @ X[0]) + 1e-9  # one unit 1e-9 from its kink
    m.load_state_dict(sd)
    y = np.array([0, 1])
    v = np.random.default_rng(1).normal(size=m.num_parameters)
    with pytest.warns(grokscope.MeasurementWarning, match="crossed 1 ReLU kinks"):
        grokscope.hessian_vector_product(m, X, y, v, method="finite_difference")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        grokscope.hessian_vector_product(m, X, y, v)


def test_curvature_refusals_name_the_problem():
    m, X, Y, _ = linear_problem()
    f32 = grokscope.Mlp({"input": 4, "output": 3}, dtype="float32")
    with pytest.raises(TypeError, match="the model is float32"):
        grokscope.hessian_eigenvalues(f32, X, Y, loss="mse")
    with pytest.raises(ValueError, match="targets has 19 rows for 20 examples"):
        grokscope.hessian_eigenvalues(m, X, Y[:19], loss="mse")
    with pytest.raises(ValueError, match="kind must be 'hessian', 'gauss_newton' or 'empirical_fisher'"):
        grokscope.hessian_trace(m, X, Y, loss="mse", kind="fisher")
    with pytest.raises(ValueError, match="v has 3 entries for 12 parameters"):
        grokscope.hessian_vector_product(m, X, Y, np.ones(3), loss="mse")
    with pytest.raises(ValueError, match="v is not finite"):
        grokscope.hessian_vector_product(m, X, Y, np.full(12, np.nan), loss="mse")
    with pytest.raises(ValueError, match=r"k must be in \[1, 12\]"):
        grokscope.hessian_eigenvalues(m, X, Y, k=13, loss="mse")
    with pytest.raises(ValueError, match="multiple of 3"):
        grokscope.hessian_trace(m, X, Y, estimator="hutch++", samples=10, loss="mse")
    with pytest.raises(ValueError, match="no finite-difference form"):
        grokscope.hessian_vector_product(m, X, Y, np.ones(12), loss="mse", kind="gauss_newton",
                                         method="finite_difference")
    with pytest.raises(ValueError, match="inputs has no examples"):
        grokscope.hessian_eigenvalues(m, np.zeros((0, 4)), np.zeros((0, 3)), loss="mse")
    with pytest.raises(TypeError, match="targets: expected integers"):
        grokscope.hessian_eigenvalues(m, X, Y, loss="cross_entropy")


def test_jvp_and_the_linearized_model():
    rng = np.random.default_rng(7)
    m = grokscope.Mlp({"input": 3, "hidden": [5], "output": 2, "activation": "gelu", "seed": 3})
    X = rng.normal(size=(4, 3))
    theta0 = grokscope.parameter_vector(m)
    v = rng.normal(size=theta0.size)
    jv = grokscope.jvp(m, X, v)
    names = list(m.state_dict())

    def outputs_at(theta):
        sd, o = {}, 0
        for name, a in m.state_dict().items():
            sd[name] = theta[o:o + a.size].reshape(a.shape)
            o += a.size
        m.load_state_dict(sd)
        return m(X)

    h = 1e-6
    fd = (outputs_at(theta0 + h * v) - outputs_at(theta0 - h * v)) / (2 * h)
    outputs_at(theta0)
    assert np.linalg.norm(jv - fd) / np.linalg.norm(fd) < 1e-7
    lin = grokscope.LinearizedModel(m)
    assert np.array_equal(lin.theta0, theta0) and lin.dim == theta0.size
    assert np.allclose(lin(X, theta0), m(X), rtol=0, atol=1e-15)
    assert np.allclose(lin(X, theta0 + v) + lin(X, theta0 - v), 2 * m(X), atol=1e-12)  # linear in θ
    assert np.allclose(lin(X, theta0 + v) - m(X), jv, atol=1e-12)
    outputs_at(theta0 + v)  # training the model on does not move the linearization
    assert np.allclose(lin(X, theta0 + v) - lin(X, theta0), jv, atol=1e-12)
    assert np.array_equal(grokscope.parameter_vector(m), theta0 + v)
    assert names == list(m.state_dict())


def test_concurrent_calls_on_one_transformer_do_not_crash_or_mix():
    m, tokens, labels = nanda_case(os.environ.get("GROKSCOPE_TEST_DATA",
                                                  os.path.join(os.path.dirname(__file__), "..", "fixtures")))
    want_logits = m(tokens)
    want_cache = m.run_with_cache(tokens)["blocks.0.mlp.hook_post"]
    want_top = grokscope.hessian_eigenvalues(m, tokens, labels)["eigenvalues"][0]
    want_ntk = grokscope.empirical_ntk(m, tokens)
    sd0 = m.state_dict()
    errors = []

    def loop(fn, check):
        try:
            for _ in range(15):
                check(fn())
        except Exception as e:  # noqa: BLE001 (reported below)
            errors.append(repr(e))

    threads = [
        threading.Thread(target=loop, args=(lambda: m(tokens), lambda r: np.testing.assert_array_equal(r, want_logits))),
        threading.Thread(target=loop, args=(lambda: m.run_with_cache(tokens)["blocks.0.mlp.hook_post"],
                                            lambda r: np.testing.assert_array_equal(r, want_cache))),
        threading.Thread(target=loop, args=(lambda: grokscope.hessian_eigenvalues(m, tokens, labels)["eigenvalues"][0],
                                            lambda r: np.testing.assert_allclose(r, want_top, rtol=1e-12))),
        threading.Thread(target=loop, args=(lambda: grokscope.empirical_ntk(m, tokens),
                                            lambda r: np.testing.assert_array_equal(r, want_ntk))),
        # the same weights loaded again and read back, between the others' calls
        threading.Thread(target=loop, args=(lambda: (m.load_state_dict(sd0), m.state_dict())[1],
                                            lambda r: [np.testing.assert_array_equal(r[k], sd0[k]) for k in sd0])),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_estimate_llc_on_your_data_with_warnings_that_reach_you():
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(64, 3)), rng.integers(0, 2, size=64)
    m = grokscope.Mlp({"input": 3, "hidden": [8], "output": 2, "activation": "tanh", "seed": 1})
    before = m.state_dict()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = grokscope.estimate_llc(m, X, y, chains=2, draws=50, batch_size=16, epsilon=1e-4, gamma=1000.0)
    assert [str(w.message) for w in caught] == r["warnings"]  # each warning both raised and returned
    assert all(w.category is grokscope.MeasurementWarning for w in caught)
    assert r["loss_trace"].shape == (2, 50) and len(r["llc_per_chain"]) == 2 and np.isfinite(r["llc_mean"])
    assert r["nbeta"] == pytest.approx(16 / np.log(16))  # devinterp's m / ln m
    assert all(np.array_equal(before[k], v) for k, v in m.state_dict().items())  # the model is left as it was
    with pytest.warns(grokscope.MeasurementWarning, match="acceptance"):  # a step size far too large
        grokscope.estimate_llc(m, X, y, chains=1, draws=20, batch_size=16, epsilon=1.0)
    with pytest.raises(ValueError, match="batch_size must be in"):
        grokscope.estimate_llc(m, X, y, batch_size=1000)
    with pytest.raises(ValueError, match="targets has 3 rows for 64 examples"):
        grokscope.estimate_llc(m, X, y[:3])


def test_linearized_dynamics_parameter_spectra_and_slingshots(fixtures):
    # GD on the MSE with K = I: f_1 = f_0 − (2η/N)(f_0 − y); the stable rates are below N / λ_max
    y = np.arange(6.0).reshape(3, 2)
    d = grokscope.LinearizedDynamics(np.eye(3), y, np.zeros((3, 2)), learning_rate=0.5)
    np.testing.assert_allclose(d.train_outputs(1), (2 * 0.5 / 6) * y, rtol=1e-14)
    assert d.max_learning_rate() == pytest.approx(6.0) and d.eigenvalues[0] == pytest.approx(1.0)
    assert d.train_loss(0) == pytest.approx(np.mean(y ** 2))
    flow = grokscope.LinearizedDynamics(np.eye(3), y, np.zeros((3, 2)), learning_rate=0.5, time="gradient_flow")
    np.testing.assert_allclose(flow.train_outputs(2.0), (1 - np.exp(-2 * 0.5 / 6 * 2.0)) * y, rtol=1e-12)
    with pytest.raises(ValueError, match="time must be 'discrete' or 'gradient_flow'"):
        grokscope.LinearizedDynamics(np.eye(3), y, y, time="continuous")
    # singular values of a model's matrices against numpy's
    m, _, _ = nanda_case(fixtures)
    spectra = grokscope.parameter_spectra(m, heads=4)
    names = [s["name"] for s in spectra]
    assert "blocks.0.attn.W_Q" in names and "blocks.0.attn.W_Q.head3" in names
    W = m.state_dict()["blocks.0.mlp.W_in"]
    s = next(s for s in spectra if s["name"] == "blocks.0.mlp.W_in")
    np.testing.assert_allclose(s["singular_values"], np.linalg.svd(W, compute_uv=False), rtol=1e-12)
    assert s["spectral_norm"] == pytest.approx(np.linalg.norm(W, 2))
    # the committed slingshot log: three spikes, each after a norm burst (the CLI's answer)
    log = np.genfromtxt(os.path.join(fixtures, "logs", "slingshot.csv"), delimiter=",", names=True)
    r = grokscope.detect_slingshots(log["step"].astype(np.int64), log["train_loss"], log["last_layer_norm"])
    assert r["spikes"] == 3 and r["cycles"] == 3 and r["spike_steps"][0] == 6000
