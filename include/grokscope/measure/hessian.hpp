// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Curvature of a training loss through matrix-free products — the Hessian, the generalized
/// Gauss–Newton matrix and the empirical Fisher — with PyHessian's measurements (Yao et al. 2020,
/// amirgholami/PyHessian), Hutch++ (Meyer et al. 2021) and the Gauss–Newton sharpness from the NTK.
///
/// Products are exact by default: Pearlmutter's R-operator on the tape (autodiff/tape.hpp) carries
/// forward-mode tangents through the recorded forward pass and through every op's VJP, so H·v costs
/// one forward, one tangent and two reverse passes and is exact to rounding on every activation,
/// ReLU included (measured against PyTorch's double backward: tests/measure/hessian.test.cpp). The
/// older central-difference product stays as HvpMethod::FiniteDifference: it is wrong wherever its
/// step crosses a ReLU kink, and it says so (CurvatureOperator::warnings). The model must be in
/// double (train in float and copy the values into the same model in double to measure it).
///
/// On any symmetric operator (a CurvatureOperator, or a matrix through `matrix_operator`):
///   lanczos_eigenvalues   the k largest (or smallest) eigenvalues by Lanczos with full
///                         re-orthogonalisation; each Ritz pair's residual is measured against the
///                         operator itself, and the operator's symmetry on two random vectors
///   power_iteration       PyHessian's `eigenvalues(maxIter, tol, top_n)`: power iteration from
///                         N(0, I) with deflation against the eigenvectors found; it converges to
///                         the largest |λ|, which can be negative
///   hutchinson_trace      PyHessian's `trace`: the mean of vᵀHv over Rademacher v, stopping once
///                         the running mean changes by less than tol (relative)
///   hutchpp_trace         Hutch++: the trace of a low-rank sketch exactly, Hutchinson on the rest
///   slq_density           PyHessian's `density`: stochastic Lanczos quadrature, per run the Ritz
///                         values and the squared first components of their eigenvectors
///                         (weights summing to 1)
/// A result whose residual or symmetry check fails carries a warning (EigenEstimate::warnings):
/// the check that would have caught a non-linear or non-symmetric product.
/// PyHessian's Hessian is that of the criterion only; here too unless CurvatureOptions::l2 adds
/// a coupled L2 term (AdamW's decoupled decay is not one: see there).

#include <grokscope/autodiff/tape.hpp>
#include <grokscope/core/check.hpp>
#include <grokscope/core/config.hpp>
#include <grokscope/core/rng.hpp>
#include <grokscope/core/types.hpp>
#include <grokscope/nn/model.hpp>

#include <Eigen/Core>

#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace grokscope {

/// A symmetric linear operator on R^dim: y = A x.
struct SymmetricOperator {
  Index dim = 0;
  std::function<Eigen::VectorXd(const Eigen::VectorXd&)> apply;
};

/// A dense symmetric matrix as an operator (for tests and small problems).
GROKSCOPE_DEFERRED SymmetricOperator matrix_operator(const Eigen::MatrixXd& A);

/// Options of lanczos_eigenvalues.
struct LanczosOptions {
  Index k = 1;           ///< eigenvalues wanted
  Index iterations = 0;  ///< Krylov dimension (0: min(dim, max(2k + 20, 40)))
  bool largest = true;   ///< largest (true) or smallest (false) algebraic eigenvalues
  std::uint64_t seed = 0;
  /// Measure each Ritz pair's residual against the operator (k more products) and the
  /// operator's symmetry (2 more); off: the Lanczos estimate |β_m s_m| of the residual only.
  bool verify = true;
  std::size_t max_bytes = 0;  ///< refuse a Krylov basis above this (0: core/memory.hpp's limit)
};

/// Eigenvalues and eigenvectors found by an iterative method.
struct EigenEstimate {
  Eigen::VectorXd eigenvalues;   ///< descending for largest, ascending for smallest / by |λ| for power
  Eigen::MatrixXd eigenvectors;  ///< dim × k, unit columns
  /// ‖A v − λ v‖ per pair, measured with the operator itself (Lanczos with verify off: the
  /// Lanczos estimate |β_m s_m|, which assumes that the operator is linear and symmetric)
  Eigen::VectorXd residuals;
  /// |uᵀ(Aw) − wᵀ(Au)| / (‖Au‖ + ‖Aw‖) on two random unit vectors (0 to rounding for a symmetric
  /// linear operator); −1 when not checked
  double symmetry_error = -1;
  Index matvecs = 0;                  ///< operator applications used
  std::vector<std::string> warnings;  ///< a residual or symmetry check that failed, in words
};

/// The k extreme eigenvalues of `op` by Lanczos with full re-orthogonalisation.
GROKSCOPE_DEFERRED EigenEstimate lanczos_eigenvalues(const SymmetricOperator& op, const LanczosOptions& o = {});

/// Options of power_iteration (PyHessian's defaults).
struct PowerIterationOptions {
  Index top_n = 1;
  Index max_iter = 100;
  double tol = 1e-3;  ///< stop when |λ_new − λ| / (|λ| + 1e-6) < tol (PyHessian's test)
  std::uint64_t seed = 0;
  bool verify = true;  ///< check the operator's symmetry on two random vectors (2 more products)
};

/// PyHessian's eigenvalues(): power iteration with deflation (see the file comment).
GROKSCOPE_DEFERRED EigenEstimate power_iteration(const SymmetricOperator& op, const PowerIterationOptions& o = {});

/// Options of hutchinson_trace (PyHessian's defaults).
struct TraceOptions {
  Index max_iter = 100;
  double tol = 1e-3;  ///< stop when |mean_new − mean| / (|mean| + 1e-6) < tol
  std::uint64_t seed = 0;
};

/// Hutchinson's estimate of tr A.
struct TraceEstimate {
  double trace = 0;             ///< the mean of the samples
  std::vector<double> samples;  ///< vᵀAv per Rademacher vector
  double standard_error = 0;    ///< sample standard deviation / √count (0 for one sample)
};

/// PyHessian's trace(): Rademacher probes until the running mean settles.
GROKSCOPE_DEFERRED TraceEstimate hutchinson_trace(const SymmetricOperator& op, const TraceOptions& o = {});

/// Options of hutchpp_trace.
struct HutchppOptions {
  Index matvecs = 99;  ///< products in all, a multiple of 3 (m/3 sketch, m/3 basis, m/3 residual probes)
  std::uint64_t seed = 0;
  std::size_t max_bytes = 0;  ///< refuse the dim × m/3 blocks above this (0: core/memory.hpp's limit)
};

/// Hutch++ (Meyer, Musco, Musco & Woodruff 2021): with Rademacher S and G of m/3 columns each and
/// Q an orthonormal basis of A S, tr A ≈ tr(QᵀAQ) + (3/m) tr(Gᵀ(I − QQᵀ)A(I − QQᵀ)G). Exact (to
/// rounding) when A has rank at most m/3; otherwise the variance of Hutchinson's estimate on
/// what the sketch leaves. `samples` are the residual probes' gᵀ(I − QQᵀ)A(I − QQᵀ)g, and
/// `standard_error` is theirs (the sketch part has none).
GROKSCOPE_DEFERRED TraceEstimate hutchpp_trace(const SymmetricOperator& op, const HutchppOptions& o = {});

/// Options of slq_density (PyHessian's defaults: 100 iterations, 1 run).
struct DensityOptions {
  Index iterations = 100;  ///< Lanczos steps per run (capped at dim)
  Index runs = 1;          ///< independent starting vectors
  std::uint64_t seed = 0;
  std::size_t max_bytes = 0;  ///< refuse a Krylov basis above this (0: core/memory.hpp's limit)
};

/// Stochastic Lanczos quadrature: per run the nodes (Ritz values) and weights.
struct SpectralDensity {
  std::vector<Eigen::VectorXd> nodes;
  std::vector<Eigen::VectorXd> weights;  ///< sum to 1 per run
  /// The density smoothed by Gaussians of width `sigma` on `grid`, averaged over runs (PyHessian's
  /// get_esd_plot uses sigma = 1e-5 on a grid over [λ_min − 1, λ_max + 1] after normalising).
  Eigen::VectorXd smoothed(const Eigen::VectorXd& grid, double sigma) const;
};

/// PyHessian's density(): stochastic Lanczos quadrature.
GROKSCOPE_DEFERRED SpectralDensity slq_density(const SymmetricOperator& op, const DensityOptions& o = {});

/// The top eigenvalue of the Gauss–Newton matrix of grokscope's MSE, (2/N) JᵀJ with N = n·k, from
/// the full NTK K = J Jᵀ ((n·k) × (n·k), NtkOutput::Full; or n × n for one output): 2λ_max(K)/N. For
/// a network linear in its parameters it is the Hessian's top eigenvalue; otherwise the cheap
/// sharpness that ignores the residual-weighted second derivatives.
GROKSCOPE_DEFERRED double gauss_newton_sharpness(const Eigen::MatrixXd& K_full, Index targets);

/// A scalar loss of a model, recorded on a tape (forward pass and loss, no backward).
template <typename S>
using LossFn = std::function<Var<S>(Tape<S>&, Model<S>&)>;

/// A scalar loss of a model's outputs (n, k), recorded on the tape after the forward pass; it must
/// be a mean over the outputs' rows for the empirical Fisher (every grokscope loss is).
template <typename S>
using OutputLossFn = std::function<Var<S>(Tape<S>&, const Var<S>& outputs)>;

/// How a curvature–vector product is formed.
enum class HvpMethod {
  /// Default. Pearlmutter's R-operator on the tape (autodiff/tape.hpp): one forward pass, one
  /// tangent pass and two reverse passes, exact to rounding whatever the activation (ReLU's
  /// second derivative is zero wherever it exists, as in PyTorch's double backward).
  Exact,
  /// Central differences of gradients, Hv ≈ [∇L(θ + hv) − ∇L(θ − hv)]/2h, h = ε^{1/3}(1 + ‖θ‖)/‖v‖,
  /// ε = 2.2e-16. Accurate to ~1e-10 on smooth losses, but where the step moves a ReLU
  /// pre-activation across zero the result is neither the Hessian nor linear in v: on Nanda et
  /// al.'s transformer at p = 113 it was 83× off. Every crossing is counted (kinks_crossed) and
  /// reported in warnings(). Hessian only.
  FiniteDifference
};

/// Which curvature matrix a CurvatureOperator applies.
enum class Curvature {
  Hessian,      ///< ∇²L
  GaussNewton,  ///< the generalized Gauss–Newton JᵀH_ℓJ (H_ℓ: the loss's Hessian in the outputs)
  /// The empirical Fisher (1/n) Σ_i ∇ℓ_i ∇ℓ_iᵀ, ℓ_i the loss of example i at its own label
  /// (L = (1/n) Σ_i ℓ_i): the outer products of per-example gradients, as in Kunstner et al. 2019.
  EmpiricalFisher
};

/// Name of a curvature ("hessian", "gauss_newton", "empirical_fisher").
inline const char* curvature_name(Curvature c) {
  return c == Curvature::Hessian ? "hessian" : c == Curvature::GaussNewton ? "gauss_newton" : "empirical_fisher";
}

/// Options of CurvatureOperator.
struct CurvatureOptions {
  Curvature kind = Curvature::Hessian;
  HvpMethod method = HvpMethod::Exact;
  /// λ of a coupled L2 term (λ/2)‖θ‖² in the objective (SGD's weight decay, Adam with L2): adds
  /// λI, so every eigenvalue shifts by exactly λ. AdamW's decoupled decay is not a gradient of
  /// any term of the objective (it is a separate shrinking step), so it adds nothing to the
  /// curvature of the loss; PyHessian likewise measures the criterion alone. Leave it 0 for AdamW.
  double l2 = 0;
  /// Parameters to differentiate by name (empty: every parameter with requires_grad); the others
  /// are held fixed.
  std::vector<std::string> parameters;
};

/// A curvature matrix of a model's loss as a symmetric operator on the chosen parameters,
/// flattened in the model's parameter order (row-major within each parameter): the Hessian (by
/// default, exactly, through the tape's R-operator), the generalized Gauss–Newton matrix or the
/// empirical Fisher, plus λI for a coupled L2 term. The parameters and their gradients are left
/// exactly as they were found after every product, also when the loss throws. Holds a tape: one
/// operator per thread.
class CurvatureOperator {
 public:
  /// The Hessian of any loss that `loss` records (options.kind must be Hessian: without the
  /// model's outputs there is no Gauss–Newton or Fisher split).
  CurvatureOperator(Model<double>& model, LossFn<double> loss, const CurvatureOptions& options)
      : m_model(model), m_loss(std::move(loss)), m_o(options) {
    require(static_cast<bool>(m_loss), "CurvatureOperator", "no loss function");
    require(m_o.kind == Curvature::Hessian, "CurvatureOperator",
            std::string("the ") + curvature_name(m_o.kind) +
                " needs the model's outputs: construct with a ModelInput and an OutputLossFn");
    init();
  }
  /// The Hessian of `loss` in the named parameters (every trainable one when empty), exact.
  CurvatureOperator(Model<double>& model, LossFn<double> loss, std::vector<std::string> names = {})
      : CurvatureOperator(model, std::move(loss), options_with(std::move(names))) {}
  /// Any curvature of `loss` applied to the model's outputs on `in`.
  CurvatureOperator(Model<double>& model, ModelInput<double> in, OutputLossFn<double> loss,
                    const CurvatureOptions& options = {})
      : m_model(model), m_in(std::move(in)), m_out_loss(std::move(loss)), m_o(options) {
    require(static_cast<bool>(m_out_loss), "CurvatureOperator", "no loss function");
    require(m_in.examples() > 0, "CurvatureOperator", "the input has no examples");
    require(m_o.kind == Curvature::Hessian || m_o.method == HvpMethod::Exact, "CurvatureOperator",
            std::string("the ") + curvature_name(m_o.kind) + " has no finite-difference form; use HvpMethod::Exact");
    init();
  }

  Index dim() const { return m_dim; }
  /// Gradient evaluations so far: two per finite-difference product; one per recording of the
  /// exact method, which keeps its forward pass and gradient across products until a parameter
  /// of the model changes (the loss function is taken to be deterministic).
  Index gradients() const { return m_gradients; }
  /// Products so far.
  Index products() const { return m_products; }
  const CurvatureOptions& options() const { return m_o; }
  /// The parameters the operator acts on, in order.
  const std::vector<Parameter<double>*>& chosen() const { return m_params; }
  /// ReLU entries whose sign differed between θ + hv and θ − hv, summed over the
  /// finite-difference products so far (0 for the exact method).
  Index kinks_crossed() const { return m_kinks; }
  /// What went wrong without failing: kinks crossed by the finite-difference product.
  std::vector<std::string> warnings() const {
    std::vector<std::string> w;
    if (m_kinks > 0)
      w.push_back("the finite-difference Hessian-vector product crossed " + std::to_string(m_kinks) +
                  " ReLU kinks over " + std::to_string(m_products) +
                  " products: it is not the Hessian there; use HvpMethod::Exact");
    return w;
  }

  /// θ flattened in parameter order (row-major within each parameter).
  Eigen::VectorXd parameters() const {
    Eigen::VectorXd v(m_dim);
    Index o = 0;
    for (const Parameter<double>* p : m_params) {
      v.segment(o, p->size()) = Eigen::Map<const Eigen::VectorXd>(p->value.data(), p->size());
      o += p->size();
    }
    return v;
  }

  /// The loss and its gradient at the current parameters.
  double loss_and_gradient(Eigen::VectorXd& g) {
    const GradGuard guard(m_model, m_saved_grads);
    Tape<double>& t = *m_tape;
    m_recorded = false;  // the kept recording of the exact products is replaced
    t.reset();
    t.clear_tangents();
    const Var<double> L = record(t);
    t.backward(L);
    g.resize(m_dim);
    gather_grads(g);
    ++m_gradients;
    return L.value()(0, 0);
  }

  /// The curvature matrix times v (plus λv for a coupled L2 term).
  Eigen::VectorXd apply(const Eigen::VectorXd& v) {
    Eigen::VectorXd out;
    apply(v, out);
    return out;
  }

  /// The same into `out` (resized to dim()): with the exact method, products after the first
  /// at unchanged parameters allocate nothing.
  void apply(const Eigen::VectorXd& v, Eigen::VectorXd& out) {
    const char* where = "CurvatureOperator::apply";
    if (v.size() != m_dim)
      throw_invalid(where,
                    "v has " + std::to_string(v.size()) + " entries for " + std::to_string(m_dim) + " parameters");
    require(v.allFinite(), where, "v is not finite");
    require(&out != &v, where, "out must not be v");
    ++m_products;
    out.resize(m_dim);
    if (m_o.method == HvpMethod::Exact)
      exact(v, out);
    else
      out = finite_difference(v);
    if (m_o.l2 != 0) out += m_o.l2 * v;
  }

  /// This operator for the iterative methods (it refers to *this: keep it alive while used).
  SymmetricOperator as_operator() {
    return {m_dim, [this](const Eigen::VectorXd& v) { return apply(v); }};
  }

 private:
  // Saves every parameter's gradient and restores it on scope exit, however the scope ends. The
  // copies go into the operator's kept storage (same shapes every product: no allocation).
  struct GradGuard {
    std::vector<Parameter<double>*> all;
    std::vector<Matrix<double>>& saved;
    GradGuard(Model<double>& m, std::vector<Matrix<double>>& store) : all(m.parameters()), saved(store) {
      saved.resize(all.size());
      for (std::size_t k = 0; k < all.size(); ++k) saved[k] = all[k]->grad;
      for (Parameter<double>* p : all) p->zero_grad();
    }
    GradGuard(const GradGuard&) = delete;
    GradGuard& operator=(const GradGuard&) = delete;
    ~GradGuard() {
      for (std::size_t k = 0; k < all.size(); ++k) all[k]->grad = saved[k];
    }
  };
  // Restores the chosen parameters' values on scope exit.
  struct ValueGuard {
    const std::vector<Parameter<double>*>& ps;
    std::vector<Matrix<double>> saved;
    explicit ValueGuard(const std::vector<Parameter<double>*>& p) : ps(p) {
      for (const Parameter<double>* q : ps) saved.push_back(q->value);
    }
    ~ValueGuard() {
      for (std::size_t k = 0; k < ps.size(); ++k) ps[k]->value = saved[k];
    }
  };

  static CurvatureOptions options_with(std::vector<std::string> names) {
    CurvatureOptions o;
    o.parameters = std::move(names);
    return o;
  }

  void init() {
    require(std::isfinite(m_o.l2), "CurvatureOperator", "l2 must be finite");
    for (Parameter<double>* p : m_model.parameters()) {
      bool chosen = m_o.parameters.empty() ? p->requires_grad : false;
      for (const std::string& n : m_o.parameters) chosen = chosen || p->name == n;
      if (chosen) m_params.push_back(p);
    }
    for (const std::string& n : m_o.parameters) {
      const Parameter<double>* found = nullptr;
      for (const Parameter<double>* p : m_params)
        if (p->name == n) found = p;
      require(found != nullptr, "CurvatureOperator", "the model has no parameter '" + n + "'");
      require(found->requires_grad, "CurvatureOperator", "parameter '" + n + "' does not require grad");
    }
    require(!m_params.empty(), "CurvatureOperator", "no parameter to differentiate (none requires grad)");
    for (const Parameter<double>* p : m_params) m_dim += p->size();
  }

  // The forward pass and the loss on `t`; m_out is the model's output (split form only).
  Var<double> record(Tape<double>& t) {
    Var<double> L;
    if (m_out_loss) {
      m_out = m_model.forward(t, m_in);
      L = m_out_loss(t, m_out);
    } else {
      L = m_loss(t, m_model);
    }
    if (!(L.valid() && L.value().rows() == 1 && L.value().cols() == 1))
      throw_invalid("CurvatureOperator", "the loss is not a scalar");
    const double value = L.value()(0, 0);
    if (!std::isfinite(value)) throw_invalid("CurvatureOperator", "the loss is " + std::to_string(value));
    return L;
  }

  void gather_grads(Eigen::VectorXd& g) const {
    Index o = 0;
    for (const Parameter<double>* p : m_params) {
      g.segment(o, p->size()) = Eigen::Map<const Eigen::VectorXd>(p->grad.data(), p->size());
      o += p->size();
    }
  }

  // True when the kept recording was made at the model's current parameters.
  bool recording_current() {
    if (!m_recorded) return false;
    const std::vector<Parameter<double>*> all = m_model.parameters();
    if (all.size() != m_snapshot.size()) return false;
    for (std::size_t k = 0; k < all.size(); ++k)
      if (all[k]->value.rows() != m_snapshot[k].rows() || all[k]->value.cols() != m_snapshot[k].cols() ||
          !(all[k]->value == m_snapshot[k]))
        return false;
    return true;
  }

  // The forward pass and the gradient do not depend on v: they are recorded once and kept (as
  // PyHessian keeps its create_graph gradient), and remade when a parameter of the model has
  // changed since. Each product then runs the tangent pass and the second-order reverse pass.
  void exact(const Eigen::VectorXd& v, Eigen::VectorXd& out) {
    const GradGuard guard(m_model, m_saved_grads);
    Tape<double>& t = *m_tape;
    if (!recording_current()) {
      m_recorded = false;
      t.reset();
      t.clear_tangents();
      m_L = record(t);
      t.backward(m_L);
      ++m_gradients;
      if (m_o.kind == Curvature::EmpiricalFisher) m_G = t.grad(m_out);
      m_snapshot.clear();
      for (const Parameter<double>* p : m_model.parameters()) m_snapshot.push_back(p->value);
      m_recorded = true;
    }
    t.clear_tangents();
    Index o = 0;
    for (Parameter<double>* p : m_params) {
      Matrix<double>& d = t.tangent_of(*p);
      Eigen::Map<Eigen::VectorXd>(d.data(), d.size()) = v.segment(o, p->size());
      o += p->size();
    }
    t.forward_tangents();
    if (m_o.kind == Curvature::EmpiricalFisher) {
      // ∇ℓ_i = n·Ḡ_i with Ḡ = ∂L/∂outputs; F v = (1/n) Σ_i J_iᵀ ∇ℓ_i (∇ℓ_i · J_i v): one reverse
      // pass from the outputs with seed U_i = n (Ḡ_i · ż_i) Ḡ_i.
      const Matrix<double>& G = m_G;
      const Matrix<double>& zdot = t.tangent(m_out);
      const double n = static_cast<double>(G.rows());
      Matrix<double>& U = m_seed;  // kept: no allocation per product
      U = G;
      U.array().colwise() *= n * G.cwiseProduct(zdot).rowwise().sum().array();
      for (Parameter<double>* p : m_model.parameters()) p->zero_grad();
      t.backward(m_out, U);
      gather_grads(out);
      return;
    }
    // Hessian: every op's curvature; Gauss–Newton: only the loss's ops (after the outputs).
    t.backward_tangents(m_L, m_o.kind == Curvature::GaussNewton ? m_out.id + 1 : 0);
    o = 0;
    for (Parameter<double>* p : m_params) {
      const Matrix<double>& h = t.second_grad(*p);
      out.segment(o, p->size()) = Eigen::Map<const Eigen::VectorXd>(h.data(), h.size());
      o += p->size();
    }
  }

  Eigen::VectorXd finite_difference(const Eigen::VectorXd& v) {
    const double nv = v.norm();
    if (nv == 0) return Eigen::VectorXd::Zero(m_dim);
    const ValueGuard values(m_params);
    double theta = 0;
    for (const Matrix<double>& s : values.saved) theta += s.squaredNorm();
    const double h = std::cbrt(2.220446049250313e-16) * (1 + std::sqrt(theta)) / nv;
    Eigen::VectorXd gp, gm;
    shift(values.saved, v, h);
    loss_and_gradient(gp);
    relu_signs(m_signs, false);
    shift(values.saved, v, -h);
    loss_and_gradient(gm);
    m_kinks += relu_signs(m_signs, true);
    return (gp - gm) / (2 * h);
  }

  // The sign pattern of every ReLU input on the current recording: stored in `signs`, or compared
  // with it (returning the number of entries that differ).
  Index relu_signs(std::vector<unsigned char>& signs, bool compare) {
    Tape<double>& t = *m_tape;
    Index pos = 0, differ = 0;
    if (!compare) signs.clear();
    for (int i = 0; i < t.size(); ++i) {
      const Node<double>& n = t.node(i);
      if (n.kind != OpKind::Relu) continue;
      const Matrix<double>& x = t.in_value(n.inputs[0]);
      for (Index e = 0; e < x.size(); ++e, ++pos) {
        const unsigned char s = x.data()[e] > 0;
        if (!compare)
          signs.push_back(s);
        else if (pos >= static_cast<Index>(signs.size()) || signs[static_cast<std::size_t>(pos)] != s)
          ++differ;
      }
    }
    return differ;
  }

  void shift(const std::vector<Matrix<double>>& base, const Eigen::VectorXd& v, double h) {
    Index o = 0;
    for (std::size_t k = 0; k < m_params.size(); ++k) {
      Parameter<double>* p = m_params[k];
      Eigen::Map<Eigen::VectorXd>(p->value.data(), p->size()) =
          Eigen::Map<const Eigen::VectorXd>(base[k].data(), p->size()) + h * v.segment(o, p->size());
      o += p->size();
    }
  }

  Model<double>& m_model;
  LossFn<double> m_loss;
  ModelInput<double> m_in;
  OutputLossFn<double> m_out_loss;
  CurvatureOptions m_o;
  Var<double> m_out, m_L;
  bool m_recorded = false;                    ///< the tape holds the forward pass and gradient at m_snapshot
  std::vector<Matrix<double>> m_snapshot;     ///< every model parameter's value when recorded
  std::vector<Matrix<double>> m_saved_grads;  ///< the caller's gradients during a product (GradGuard)
  Matrix<double> m_seed;                      ///< the empirical Fisher's output seed
  Matrix<double> m_G;                         ///< ∂L/∂outputs of the recording (empirical Fisher)
  std::vector<Parameter<double>*> m_params;
  Index m_dim = 0, m_gradients = 0, m_products = 0, m_kinks = 0;
  std::vector<unsigned char> m_signs;
  std::unique_ptr<Tape<double>> m_tape = std::make_unique<Tape<double>>();
};

/// The Hessian operator by its usual name: a CurvatureOperator with Curvature::Hessian.
using HessianOperator = CurvatureOperator;

}  // namespace grokscope

#if GROKSCOPE_HEADER_ONLY
#include <grokscope/measure/detail/hessian-inl.hpp>
#endif
