// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// Python bindings of the measurements on arrays: CKA, kernels, Fourier measures (Nanda et al.),
// weight statistics, Kumar et al.'s decomposition, effective sparsity.
#include <grokscope/core/version.hpp>
#include <grokscope/data/groups.hpp>
#include <grokscope/data/idx.hpp>
#include <grokscope/data/modular.hpp>
#include <grokscope/data/parity.hpp>
#include <grokscope/data/regression.hpp>
#include <grokscope/detect/grokking.hpp>
#include <grokscope/io/csv.hpp>
#include <grokscope/measure/circuit_efficiency.hpp>
#include <grokscope/measure/circuits.hpp>
#include <grokscope/measure/cka.hpp>
#include <grokscope/measure/fourier.hpp>
#include <grokscope/measure/heavy_tail.hpp>
#include <grokscope/measure/kernel.hpp>
#include <grokscope/measure/kumar.hpp>
#include <grokscope/measure/local_complexity.hpp>
#include <grokscope/measure/ntk.hpp>
#include <grokscope/measure/weights.hpp>
#include <grokscope/nn/mlp.hpp>
#include <grokscope/nn/transformer.hpp>
#include <grokscope/optim/spectral_entropy.hpp>

#include "experiment.hpp"  // tools/experiment.hpp: grokscope-run's configuration format

#include "common.hpp"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace py = pybind11;
using namespace grokscope;
using namespace grokscope_python;

namespace {

// Two representations for CKA: computed in float when both are float32 (as the C++ API does for
// float matrices), in double otherwise.
template <typename Fn>
CkaResult cka_pair(const py::handle& X, const py::handle& Y, Fn&& fn) {
  bool fx = false, fy = false;
  const py::array a = checked_array(X, "X", false, fx), b = checked_array(Y, "Y", false, fy);
  // numpy's C order kept: row-major matrices (a plain copy), as the C++ API's Matrix<T>
  if (fx && fy) {
    const Matrix<float> x = copy_as<float, float, Eigen::RowMajor>(a), y = copy_as<float, float, Eigen::RowMajor>(b);
    py::gil_scoped_release unlocked;
    return fn(x, y);
  }
  const Matrix<double> x =
      fx ? copy_as<double, float, Eigen::RowMajor>(a) : copy_as<double, double, Eigen::RowMajor>(a);
  const Matrix<double> y =
      fy ? copy_as<double, float, Eigen::RowMajor>(b) : copy_as<double, double, Eigen::RowMajor>(b);
  py::gil_scoped_release unlocked;
  return fn(x, y);
}

CkaKind cka_kind(const std::string& k) {
  if (k == "linear") return CkaKind::Linear;
  if (k == "rbf") return CkaKind::Rbf;
  if (k == "debiased") return CkaKind::DebiasedLinear;
  throw py::value_error("cka: kind must be 'linear', 'rbf' or 'debiased', got '" + k + "'");
}

}  // namespace

namespace grokscope_python {

void bind_measure(py::module_& m) {
  // ---- CKA ----------------------------------------------------------------------------------
  py::class_<CkaResult>(m, "CkaResult", "A CKA value and how it was computed.")
      .def_readonly("value", &CkaResult::value)
      .def_property_readonly("kind", [](const CkaResult& r) { return std::string(cka_kind_name(r.kind)); })
      .def_property_readonly("method",
                             [](const CkaResult& r) { return r.method == CkaMethod::Feature ? "feature" : "gram"; })
      .def_readonly("n", &CkaResult::n)
      .def_readonly("defined", &CkaResult::defined, "False when a representation is constant (value 0)")
      .def_readonly("note", &CkaResult::note)
      .def("__float__", [](const CkaResult& r) { return r.value; })
      .def("__repr__", [](const CkaResult& r) {
        return "CkaResult(value=" + format_number(r.value) + ", kind='" + cka_kind_name(r.kind) +
               "', n=" + std::to_string(r.n) + ", defined=" + (r.defined ? "True" : "False") + ")";
      });
  m.def(
      "linear_cka",
      [](const py::handle& X, const py::handle& Y) {
        return cka_pair(X, Y, [](const auto& x, const auto& y) { return linear_cka(x, y); });
      },
      py::arg("X"), py::arg("Y"),
      "Linear CKA (Kornblith et al. 2019) between X (n, d1) and Y (n, d2), rows = examples:\n"
      "‖Ycᵀ Xc‖²_F / (‖Xcᵀ Xc‖_F ‖Ycᵀ Yc‖_F) with column-centred Xc, Yc; feature form when d < n,\n"
      "Gram form otherwise. Returns a CkaResult (float(r) is the value).");
  m.def(
      "debiased_linear_cka",
      [](const py::handle& X, const py::handle& Y) {
        return cka_pair(X, Y, [](const auto& x, const auto& y) { return debiased_linear_cka(x, y); });
      },
      py::arg("X"), py::arg("Y"),
      "Debiased linear CKA (the unbiased HSIC estimator of Song et al. 2012), X (n, d1), Y (n, d2), n >= 4.");
  m.def(
      "rbf_cka",
      [](const py::handle& X, const py::handle& Y, double threshold, bool debiased) {
        return cka_pair(X, Y, [&](const auto& x, const auto& y) { return rbf_cka(x, y, threshold, debiased); });
      },
      py::arg("X"), py::arg("Y"), py::arg("threshold") = 0.5, py::arg("debiased") = false,
      "RBF CKA with bandwidth threshold × √(median squared distance) (Kornblith et al. use 0.5).");
  m.def(
      "cka",
      [](const py::handle& X, const py::handle& Y, const std::string& kind, double threshold) {
        const CkaKind k = cka_kind(kind);
        return cka_pair(X, Y, [&](const auto& x, const auto& y) { return cka(x, y, k, threshold); });
      },
      py::arg("X"), py::arg("Y"), py::arg("kind") = "linear", py::arg("threshold") = 0.5,
      "CKA of a kind: 'linear', 'rbf' (threshold used) or 'debiased'.");

  // ---- kernels -------------------------------------------------------------------------------
  m.def(
      "centered_alignment",
      [](const py::handle& K, const py::handle& Y) {
        const Eigen::MatrixXd k = matrix_arg(K, "K"), y = matrix_arg(Y, "Y", true);
        py::gil_scoped_release unlocked;
        return centered_alignment(k, y);
      },
      py::arg("K"), py::arg("Y"),
      "Centered kernel–target alignment tr(Ycᵀ K Yc) / (‖HKH‖_F ‖Yc Ycᵀ‖_F); K (n, n), Y (n, k) or (n,).");
  m.def(
      "kumar_alignment",
      [](const py::handle& K, const py::handle& Y) {
        const Eigen::MatrixXd k = matrix_arg(K, "K"), y = matrix_arg(Y, "Y", true);
        py::gil_scoped_release unlocked;
        return kumar_alignment(k, y);
      },
      py::arg("K"), py::arg("Y"), "Kumar et al.'s NTK alignment tr(ycᵀ Kc yc) / (‖Kc‖_F ‖yc‖²), Kc column-centred.");
  m.def(
      "kernel_distance",
      [](const py::handle& K0, const py::handle& Kt) {
        const Eigen::MatrixXd a = matrix_arg(K0, "K0"), b = matrix_arg(Kt, "Kt");
        py::gil_scoped_release unlocked;
        return kernel_distance(a, b);
      },
      py::arg("K0"), py::arg("Kt"), "Kernel distance 1 − ⟨K0, Kt⟩_F / (‖K0‖_F ‖Kt‖_F) (Fort et al. 2020).");
  m.def(
      "kernel_regression",
      [](const py::handle& K_train, const py::handle& y_train, const py::handle& K_test, double ridge,
         const py::object& y_test) {
        const Eigen::MatrixXd kt = matrix_arg(K_train, "K_train"), yt = matrix_arg(y_train, "y_train", true),
                              ks = matrix_arg(K_test, "K_test");
        const Eigen::MatrixXd ys = y_test.is_none() ? Eigen::MatrixXd() : matrix_arg(y_test, "y_test", true);
        KernelRegressionResult r;
        {
          py::gil_scoped_release unlocked;
          r = kernel_regression(kt, yt, ks, ridge, ys);
        }
        py::dict d;
        d["coefficients"] = to_numpy(r.coefficients);
        d["predictions"] = to_numpy(r.predictions);
        d["solver"] = r.solver == KernelSolve::Cholesky ? "cholesky" : "pseudo_inverse";
        d["rank"] = r.rank;
        d["test_mse"] = r.test_mse;
        return d;
      },
      py::arg("K_train"), py::arg("y_train"), py::arg("K_test"), py::arg("ridge") = 0.0, py::arg("y_test") = py::none(),
      "Kernel regression a = (K_train + ridge·I)⁻¹ y_train, predictions K_test · a; K_train (n, n),\n"
      "y_train (n, k), K_test (m, n), y_test (m, k) or None. Returns a dict: coefficients, predictions,\n"
      "solver ('cholesky' or 'pseudo_inverse' when K is not positive definite), rank, test_mse.");
  m.def(
      "kernel_spectrum",
      [](const py::handle& K) {
        const Eigen::MatrixXd k = matrix_arg(K, "K");
        KernelSpectrum s;
        {
          py::gil_scoped_release unlocked;
          s = kernel_spectrum(k);
        }
        py::dict d;
        d["eigenvalues"] = to_numpy(s.eigenvalues);
        d["eigenvectors"] = to_numpy(s.eigenvectors);
        d["effective_rank"] = s.effective_rank();
        d["participation_ratio"] = s.participation_ratio();
        return d;
      },
      py::arg("K"),
      "Eigen-decomposition of a symmetric kernel (eigenvalues descending) with its effective rank\n"
      "(exp of the spectral entropy) and participation ratio (Σλ)²/Σλ².");

  // ---- heavy-tailed self-regularisation (Martin & Mahoney; Prakash & Martin 2025) -----------
  m.def(
      "fit_power_law",
      [](const py::handle& x, Index min_tail) {
        const Eigen::MatrixXd v = matrix_arg(x, "x", true);
        const Eigen::VectorXd flat = Eigen::Map<const Eigen::VectorXd>(v.data(), v.size());
        PowerLawFit f;
        {
          py::gil_scoped_release unlocked;
          f = fit_power_law(flat, min_tail);
        }
        py::dict d;
        d["alpha"] = f.alpha, d["xmin"] = f.xmin, d["ks"] = f.ks, d["n_tail"] = f.n_tail, d["n"] = f.n;
        return d;
      },
      py::arg("x"), py::arg("min_tail") = 10,
      "A power-law tail ρ(x) ∝ x^−alpha fitted to the positive values of x (zeros dropped) as Clauset\n"
      "et al. do: the maximum-likelihood alpha for every candidate xmin with at least min_tail values\n"
      "above it, and the xmin whose Kolmogorov–Smirnov distance is smallest. A dict: alpha, xmin, ks,\n"
      "n_tail, n.");
  m.def(
      "esd_eigenvalues", [](const py::handle& W) { return to_numpy(esd_eigenvalues(matrix_arg(W, "W"))); },
      py::arg("W"), "The eigenvalues σᵢ²/N of WᵀW/N, W oriented N × M with N ≥ M (descending).");
  m.def(
      "correlation_traps",
      [](const py::handle& W, std::uint64_t seed) {
        const Eigen::MatrixXd w = matrix_arg(W, "W");
        CorrelationTraps t;
        {
          py::gil_scoped_release unlocked;
          t = correlation_traps(w, seed);
        }
        py::dict d;
        d["traps"] = t.traps, d["sigma2"] = t.sigma2, d["lambda_plus"] = t.lambda_plus;
        d["tracy_widom"] = t.tracy_widom, d["largest"] = t.largest, d["shuffled"] = to_numpy(t.shuffled);
        return d;
      },
      py::arg("W"), py::arg("seed") = 0,
      "Correlation traps (Prakash & Martin 2025): W's entries shuffled with `seed`, the eigenvalues of\n"
      "the shuffled WᵀW/N beyond the Marchenko–Pastur edge λ⁺ = σ²(1 + √(M/N))² by more than 2.02\n"
      "Tracy–Widom scales (Johnstone's). A dict: traps, sigma2, lambda_plus, tracy_widom, largest,\n"
      "shuffled (the shuffled spectrum).");

  // ---- Fourier measures (Nanda et al.) and weight statistics ---------------------------------
  m.def(
      "fourier_basis", [](Index p) { return to_numpy(fourier_basis(p)); }, py::arg("p"),
      "Nanda et al.'s Fourier basis over Z_p (p odd >= 3): p x p, orthonormal rows const, cos_1, sin_1, ...");
  m.def(
      "restricted_loss",
      [](const py::handle& L, const py::handle& labels, const std::vector<Index>& key_freqs, const py::handle& rows) {
        const Eigen::MatrixXd l = matrix_arg(L, "L");
        const IndexList y = index_arg(labels, "labels"), r = index_arg(rows, "rows");
        py::gil_scoped_release unlocked;
        return restricted_loss(l, y, key_freqs, r);
      },
      py::arg("L"), py::arg("labels"), py::arg("key_freqs"), py::arg("rows"),
      "Restricted loss (Nanda et al. §5.1): cross-entropy on `rows` of the grid logits L (p², k; row\n"
      "a·p + b) projected on the key frequencies' cos/sin(w_k(a + b)) directions, plus the grid mean.");
  m.def(
      "excluded_loss",
      [](const py::handle& L, const py::handle& labels, const std::vector<Index>& freqs, const py::handle& rows) {
        const Eigen::MatrixXd l = matrix_arg(L, "L");
        const IndexList y = index_arg(labels, "labels"), r = index_arg(rows, "rows");
        py::gil_scoped_release unlocked;
        return excluded_loss(l, y, freqs, r);
      },
      py::arg("L"), py::arg("labels"), py::arg("freqs"), py::arg("rows"),
      "Excluded loss (Nanda et al. §5.1): cross-entropy on `rows` with those frequencies removed.");
  m.def(
      "key_frequencies",
      [](const py::handle& acts) {
        const Eigen::MatrixXd a = matrix_arg(acts, "activations");
        KeyFrequencies k;
        {
          py::gil_scoped_release unlocked;
          k = key_frequencies(a);
        }
        py::dict d;
        d["frequencies"] = k.frequencies;
        d["neuron_frequency"] = to_numpy(k.neuron_frequency);
        d["explained"] = to_numpy(k.explained);
        return d;
      },
      py::arg("activations"),
      "Each neuron's key frequency from its activations over the p² grid (p², neurons), as Nanda et\n"
      "al.'s code assigns it, with the share of the neuron's squared mass it explains.");
  m.def(
      "fourier_component_norms",
      [](const py::handle& M, bool per_frequency) {
        return to_numpy(fourier_component_norms(matrix_arg(M, "M"), per_frequency));
      },
      py::arg("M"), py::arg("per_frequency") = false,
      "Norms of the Fourier components of M (p, m) along its rows; their squares sum to ‖M‖²_F.");
  m.def(
      "gini", [](const py::handle& c) { return gini(Eigen::VectorXd(matrix_arg(c, "c", true).col(0))); }, py::arg("c"),
      "Gini coefficient of non-negative values (0 when equal, towards 1 when concentrated).");
  m.def(
      "inverse_participation_ratio",
      [](const py::handle& w, int r) {
        return inverse_participation_ratio(Eigen::VectorXd(matrix_arg(w, "w", true).col(0)), r);
      },
      py::arg("w"), py::arg("r") = 2, "Gromov's inverse participation ratio of a weight vector's rFFT magnitudes.");
  m.def(
      "representation_quality_index",
      [](const py::handle& E, double threshold) { return representation_quality_index(matrix_arg(E, "E"), threshold); },
      py::arg("E"), py::arg("threshold") = 0.01, "Liu et al.'s RQI of embeddings E (values, dims) for addition.");

  // ---- weight statistics, Kumar et al.'s decomposition, effective sparsity ----------------------
  m.def(
      "parameter_norms",
      [](const PyModel& pm) {
        const ParameterNorms n = pm.visit([](auto& mm) { return parameter_norms(mm.parameters()); });
        py::dict per;
        for (const auto& [name, v] : n.per_parameter) per[py::str(name)] = v;
        py::dict d;
        d["total"] = n.total;
        d["per_parameter"] = per;
        return d;
      },
      py::arg("model"), "‖θ‖₂ over every parameter ('total') and per parameter, accumulated in double.");
  m.def(
      "relative_movement",
      [](const PyModel& pm, const py::dict& initial) {
        return pm.visit([&](auto& mm) {
          using S = typename std::decay_t<decltype(mm)>::Scalar;
          std::vector<Matrix<S>> init;
          for (const auto* p : mm.parameters()) {
            if (!initial.contains(p->name))
              throw py::value_error("relative_movement: the initial state has no '" + p->name + "'");
            init.push_back(matrix_arg(initial[py::str(p->name)], p->name.c_str(), true).template cast<S>());
            if (init.back().rows() != p->rows() && init.back().cols() == 1 && init.back().rows() == p->cols())
              init.back() = init.back().transpose().eval();  // a 1-d bias
          }
          return relative_movement(mm.parameters(), init);
        });
      },
      py::arg("model"), py::arg("initial"),
      "‖θ − θ₀‖ / ‖θ₀‖ over every parameter (Kumar et al. App. 8.2); initial: a state_dict taken earlier.");
  m.def(
      "neuron_norms", [](const py::handle& W) { return to_numpy(neuron_norms<double>(matrix_arg(W, "W"))); },
      py::arg("W"), "Norm of every row of a weight (out, in): each neuron's incoming weights.");
  m.def(
      "spectral_entropy", [](const py::handle& W, double eps) { return spectral_entropy(matrix_arg(W, "W"), eps); },
      py::arg("W"), py::arg("eps") = 1e-10,
      "Spectral entropy H = −Σ σ̄ᵢ ln(σ̄ᵢ + eps) of a matrix, σ̄ its singular values over their sum (DeMoss\n"
      "et al. 2024): ln n for the n × n identity, 0 at rank 1; exp H is the effective rank.");
  m.def(
      "spectral_entropy_gradient",
      [](const py::handle& W, double eps) {
        Eigen::MatrixXd G;
        const double H = spectral_entropy_gradient(matrix_arg(W, "W"), G, eps);
        return py::make_tuple(H, to_numpy(G));
      },
      py::arg("W"), py::arg("eps") = 1e-10,
      "(H, dH/dW) with dH/dW = U diag(dH/dσ) Vᵀ: the exact gradient that the 'spectral_entropy' filter adds,\n"
      "times beta / (number of weight matrices).");
  m.def(
      "local_complexity",
      [](const PyModel& pm, const py::handle& X, Index vertices, double radius, bool axis_directions,
         std::uint64_t seed) {
        LocalComplexityOptions o;
        o.vertices = vertices, o.radius = radius, o.axis_directions = axis_directions, o.seed = seed;
        const Eigen::MatrixXd x = matrix_arg(X, "X");
        const LocalComplexity lc = pm.visit([&](auto& mm) {
          const ModelGuard guard(pm.mutex);
          return local_complexity(mm, x, o);
        });
        py::dict per;
        for (const auto& [site, v] : lc.per_layer) per[py::str(site)] = v;
        py::dict d;
        d["mean"] = lc.mean, d["per_example"] = to_numpy(lc.per_example), d["per_layer"] = per;
        d["neurons"] = lc.neurons;
        return d;
      },
      py::arg("model"), py::arg("X"), py::arg("vertices") = 40, py::arg("radius") = 0.005,
      py::arg("axis_directions") = false, py::arg("seed") = 0,
      "Humayun et al.'s (2024) local complexity at each row of X (dense inputs): the number of hidden\n"
      "neurons whose pre-activation changes sign over the cross-polytope x ± radius·vᵢ (vertices / 2\n"
      "orthonormal directions, random with `seed` or the first axes). Returns a dict: mean, per_example,\n"
      "per_layer (mean per hook_pre site), neurons. Exact for the first layer; forward only.");
  m.def(
      "trig_subspace_share",
      [](const py::handle& logits, const py::handle& y, Index p) {
        const TrigShare t = trig_subspace_share(matrix_arg(logits, "logits"), index_arg(y, "y"), p);
        py::dict d;
        d["share"] = t.share, d["gen_norm"] = t.gen_norm, d["mem_norm"] = t.mem_norm;
        return d;
      },
      py::arg("logits"), py::arg("y"), py::arg("p"),
      "Varma et al.'s proxy for C_gen: the share of the row-centred logits (n, >= p) in the functions of\n"
      "(y - c) mod p (every frequency's cos and sin of w(y - c)), with the norms of that part (gen_norm)\n"
      "and of the rest (mem_norm). It overestimates C_gen when the circuits' logits are correlated.");
  m.def(
      "crossover_size",
      [](const std::vector<double>& sizes, const std::vector<double>& n_mem, const std::vector<double>& n_gen) {
        const std::optional<double> d = crossover_size(sizes, n_mem, n_gen);
        return d ? py::object(py::float_(*d)) : py::object(py::none());
      },
      py::arg("sizes"), py::arg("n_mem"), py::arg("n_gen"),
      "D_crit: where the memorising runs' norm at convergence meets the generalising runs' (both per size),\n"
      "interpolated linearly in (log D, log N); None when they do not cross in the range.");
  m.def(
      "converged_at",
      [](const std::vector<double>& steps, const std::vector<double>& values, Index window, double rel_tol) {
        ConvergenceRule r;
        r.window = window, r.rel_tol = rel_tol;
        const std::optional<double> s = converged_at(steps, values, r);
        return s ? py::object(py::float_(*s)) : py::object(py::none());
      },
      py::arg("steps"), py::arg("values"), py::arg("window") = 5, py::arg("rel_tol") = 1e-3,
      "The first step whose window of evaluations (window + 1 values) lies within rel_tol of its value.");
  m.def(
      "compressed_size",
      [](const PyModel& pm, int levels) {
        return pm.visit([&](auto& mm) { return compressed_size(mm.parameters(), levels); });
      },
      py::arg("model"), py::arg("levels") = 256,
      "Bytes of the weights quantised to `levels` levels per parameter and zlib-compressed (level 9):\n"
      "a description-length proxy, comparable across checkpoints of one model.");
  m.def(
      "kumar_decomposition",
      [](const py::handle& W_or_model, const py::handle& beta, std::optional<double> alpha,
         std::optional<double> epsilon, double c, const py::object& W0) {
        Eigen::MatrixXd W;
        if (py::isinstance<PyModel>(W_or_model)) {
          const PyModel& pm = W_or_model.cast<const PyModel&>();
          const nlohmann::ordered_json cfg = pm.visit([](auto& mm) { return mm.config(); });
          W = pm.visit(
              [](auto& mm) { return Eigen::MatrixXd(mm.parameter("layers.0.weight").value.template cast<double>()); });
          if (!alpha) alpha = cfg.value("output_scale", 1.0);
          if (!epsilon) epsilon = cfg.value("epsilon", 0.0);
          if (cfg.value("centered", false) && W0.is_none())
            throw py::value_error(
                "kumar_decomposition: the model is centered (f(θ) − f(θ₀)): pass W0, its initial layers.0.weight");
        } else {
          W = matrix_arg(W_or_model, "W");
          if (!alpha || !epsilon) throw py::value_error("kumar_decomposition: with an array W, give alpha and epsilon");
        }
        const Eigen::MatrixXd b = matrix_arg(beta, "beta", true);
        const Eigen::MatrixXd w0 = W0.is_none() ? Eigen::MatrixXd() : matrix_arg(W0, "W0");
        const KumarDecomposition k = kumar_decomposition(W, b, *alpha, *epsilon, c, w0);
        py::dict d;
        d["variance"] = k.variance, d["misalignment"] = k.misalignment, d["linear_power"] = k.linear_power;
        d["total"] = k.total, d["trace_M"] = k.trace_M, d["mean_norm"] = k.mean_norm;
        return d;
      },
      py::arg("W"), py::arg("beta"), py::arg("alpha") = py::none(), py::arg("epsilon") = py::none(), py::arg("c") = 0.5,
      py::arg("W0") = py::none(),
      "Kumar et al.'s (2024, eq. 6) exact population test loss of f(x) = (α/N) Σ φ(wᵢ·x), φ(h) = h + (ε/2)h²,\n"
      "on the target c(β·x)², as variance + misalignment + linear_power (and the total). W: hidden weights\n"
      "(N, D) or a Kumar Mlp (its layers.0.weight, output_scale and epsilon); W0: initial weights for a\n"
      "centered predictor. beta: the dataset's arrays['beta'].");
  m.def(
      "effective_sparsity",
      [](const PyModel& pm, const py::handle& X, const py::handle& labels, const std::string& hidden,
         const std::string& readout) {
        const IndexList y = index_arg(labels, "labels");
        const EffectiveSparsity e = pm.visit([&](auto& mm) {
          using S = typename std::decay_t<decltype(mm)>::Scalar;
          const ModelInput<S> in = model_input<S>(pm, X, "X");
          const ModelGuard guard(pm.mutex);
          return effective_sparsity(mm, in, y, hidden, readout);
        });
        py::dict d;
        d["k"] = e.k, d["width"] = e.width, d["accuracy"] = e.accuracy;
        d["accuracy_at"] = to_numpy(Eigen::VectorXd(
            Eigen::Map<const Eigen::VectorXd>(e.accuracy_at.data(), static_cast<Index>(e.accuracy_at.size()))));
        return d;
      },
      py::arg("model"), py::arg("X"), py::arg("labels"), py::arg("hidden") = "layers.0.weight",
      py::arg("readout") = "layers.1.weight",
      "Merrill et al.'s (2023) effective sparsity: neurons ranked by incoming-weight norm, k the smallest\n"
      "top-k subnetwork with the full network's accuracy on X (labels: class ids, or ±1 for one output);\n"
      "accuracy_at[k] for k = 0 .. width.");
}

}  // namespace grokscope_python
