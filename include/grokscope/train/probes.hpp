// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file The measurements as Trainer probes: each factory returns a ProbeFn that appends named
/// columns to the history. State that a measurement needs across calls (the kernel and the
/// representation at the first call, the previous kernel) lives inside the probe, so a probe is
/// meant for one training run; the first call is the reference ("init").
///
///   ntk_probe              ntk_alignment, ntk_kumar_alignment, kernel_distance, kernel_velocity, ntk_trace
///   cka_to_init_probe      cka_to_init
///   weight_norm_probe      weight_norm_<parameter name>..., relative_movement (the Trainer records
///                          the total weight_norm itself)
///   fourier_probe          restricted_loss, excluded_loss, fourier_gini, restricted_test_loss
///   heavy_tail_probe       alpha_<matrix>, alpha_ks_<matrix>, traps_<matrix> (measure/heavy_tail.hpp)
///   complexity_probe       complexity_bytes, complexity_raw_bytes, complexity_tau, complexity_delta,
///                          complexity_rank_fraction, complexity_train_loss, complexity_test_loss,
///                          complexity_bounded, spectral_entropy (measure/complexity.hpp)
///   local_complexity_probe local_complexity, local_complexity_<layer site> (measure/local_complexity.hpp)
///   sparsity_probe         effective_sparsity, active_neuron_norm, other_neuron_norm
///   stability_probe        softmax_collapse, zero_loss_fraction, nlm_cosine, logit_norm, last_layer_norm
///
/// Usage: `trainer.add_probe(100, ntk_probe<float>(X_test, Y_test));`

#include <grokscope/measure/cka.hpp>
#include <grokscope/measure/complexity.hpp>
#include <grokscope/measure/fourier.hpp>
#include <grokscope/measure/heavy_tail.hpp>
#include <grokscope/measure/hessian.hpp>
#include <grokscope/measure/kernel.hpp>
#include <grokscope/measure/linearized.hpp>
#include <grokscope/measure/llc.hpp>
#include <grokscope/measure/local_complexity.hpp>
#include <grokscope/measure/ntk.hpp>
#include <grokscope/measure/spectra.hpp>
#include <grokscope/measure/weights.hpp>
#include <grokscope/nn/model.hpp>
#include <grokscope/train/trainer.hpp>

#include <algorithm>
#include <functional>
#include <limits>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

namespace grokscope {

/// Empirical NTK on X (trace over outputs unless `options` say otherwise) and its relation to the
/// targets Y (n × k): centered kernel–target alignment, Kumar et al.'s alignment, the kernel
/// distance from the first call's kernel, the kernel velocity since the previous call (distance
/// per step), and the mean diagonal ntk_trace = tr K / n.
template <typename S>
ProbeFn<S> ntk_probe(ModelInput<S> X, Eigen::MatrixXd Y, NtkOptions options = {}) {
  require(Y.rows() == X.examples(), "ntk_probe",
          "Y has " + std::to_string(Y.rows()) + " rows for " + std::to_string(X.examples()) + " examples");
  struct State {
    Eigen::MatrixXd K0, prev;
    Index prev_step = -1;
  };
  auto st = std::make_shared<State>();
  return [X = std::move(X), Y = std::move(Y), options, st](Model<S>& m, Index step) {
    const Eigen::MatrixXd K = empirical_ntk(m, X, options);
    if (st->K0.size() == 0) st->K0 = K;
    const double velocity = st->prev_step >= 0 && step > st->prev_step
                                ? kernel_velocity(st->prev, K, static_cast<double>(step - st->prev_step))
                                : 0.0;
    st->prev = K;
    st->prev_step = step;
    return Record{{"ntk_alignment", centered_alignment(K, Y)},
                  {"ntk_kumar_alignment", kumar_alignment(K, Y)},
                  {"kernel_distance", kernel_distance(st->K0, K)},
                  {"kernel_velocity", velocity},
                  {"ntk_trace", K.trace() / static_cast<double>(K.rows())}};
  };
}

/// The model beside its linearization (LinearizedDynamics, discrete steps) at the step of the
/// first call t₀: the NTK on the training inputs and between test and training inputs (the full
/// kernel when the model has several outputs, so the linear model is exact), and the outputs f₀,
/// are taken then. At every call, after t − t₀ steps of full-batch gradient descent on the MSE
/// with `learning_rate` (constant; the setting of Kumar et al. and of lazy_to_rich):
///   lin_train_loss, lin_test_loss  grokscope's MSE of the linearized model on (X, Y)
///   linearization_gap             ‖f_t − f_lin,t‖_F / ‖f_lin,t − f₀‖_F on the test inputs: the
///                                 part of the network's change that the linear model does not
///                                 explain (0 at t₀; linearization_exit finds where it passes a
///                                 threshold)
/// The kernels cost one empirical_ntk call each, once; later calls are one forward pass each.
template <typename S>
ProbeFn<S> linearization_probe(ModelInput<S> X_train, Eigen::MatrixXd Y_train, ModelInput<S> X_test,
                               Eigen::MatrixXd Y_test, double learning_rate, NtkOptions ntk = {}) {
  require(Y_train.rows() == X_train.examples() && Y_test.rows() == X_test.examples(), "linearization_probe",
          "targets (" + std::to_string(Y_train.rows()) + " and " + std::to_string(Y_test.rows()) + " rows) for " +
              std::to_string(X_train.examples()) + " training and " + std::to_string(X_test.examples()) +
              " test examples");
  require(X_train.examples() > 0 && X_test.examples() > 0, "linearization_probe", "no training or test examples");
  require(Y_train.cols() == Y_test.cols(), "linearization_probe", "training and test targets differ in width");
  require(std::isfinite(learning_rate) && learning_rate > 0, "linearization_probe",
          "the learning rate must be finite and > 0");
  struct State {
    std::optional<LinearizedDynamics> lin;
    Eigen::MatrixXd K_xt, f0_test;
    Index t0 = 0;
  };
  auto st = std::make_shared<State>();
  return [X_train = std::move(X_train), Y_train = std::move(Y_train), X_test = std::move(X_test),
          Y_test = std::move(Y_test), learning_rate, ntk, st](Model<S>& m, Index step) {
    const auto outputs = [&m](const ModelInput<S>& X) {
      Tape<S> t;
      return Eigen::MatrixXd(m.forward(t, X).value().template cast<double>());
    };
    const Eigen::MatrixXd f_train = outputs(X_train), f_test = outputs(X_test);
    require(f_train.cols() == Y_train.cols(), "linearization_probe",
            "the model gives " + std::to_string(f_train.cols()) + " outputs, the targets have " +
                std::to_string(Y_train.cols()) + " columns");
    if (!st->lin) {
      NtkOptions o = ntk;
      o.output = f_train.cols() > 1 ? NtkOutput::Full : NtkOutput::Trace;
      o.diagonal = false;
      LinearizedOptions lo;
      lo.learning_rate = learning_rate;
      st->lin.emplace(empirical_ntk(m, X_train, o), Y_train, f_train, lo);
      st->K_xt = empirical_ntk(m, X_test, X_train, o);
      st->f0_test = f_test;
      st->t0 = step;
    }
    require(step >= st->t0, "linearization_probe",
            "called at step " + std::to_string(step) + ", before the step of linearization " + std::to_string(st->t0));
    const double t = static_cast<double>(step - st->t0);
    const Eigen::MatrixXd lin_test = st->lin->test_outputs(t, st->K_xt, st->f0_test);
    const double moved = (lin_test - st->f0_test).norm();
    const double gap = moved > 0 ? (f_test - lin_test).norm() / moved : 0.0;
    return Record{{"lin_train_loss", st->lin->train_loss(t)},
                  {"lin_test_loss", (lin_test - Y_test).squaredNorm() / static_cast<double>(Y_test.size())},
                  {"linearization_gap", gap}};
  };
}

namespace detail {

// labels (classification) or dense targets (one-hot when the dataset has none) of `rows`, into
// the given buffers (no allocation once they are large enough)
template <typename S>
void loss_operands(const Dataset& data, const IndexList& rows, LossKind kind, IndexList& labels, Matrix<S>& targets) {
  if (kind == LossKind::CrossEntropy || kind == LossKind::StableMax)
    gather_labels(data, rows, labels);
  else
    gather_targets(data, rows, targets);
}

// the Trainer's losses on one batch's outputs
template <typename S>
Var<S> loss_value(Tape<S>& t, const Var<S>& out, LossKind kind, const IndexList& labels, const Matrix<S>& targets,
                  CrossEntropyPrecision precision, const char* where) {
  if (kind == LossKind::CrossEntropy) return cross_entropy(out, labels, precision);
  if (kind == LossKind::StableMax) return stablemax_cross_entropy(out, labels);
  require(out.cols() == targets.cols(), where,
          "the model gives " + std::to_string(out.cols()) + " outputs, the targets have " +
              std::to_string(targets.cols()) + " columns");
  if (kind == LossKind::Hinge) return mean(relu(add_scalar(scale(mul(out, t.constant(targets)), -1.0), 1.0)));
  return mse(out, t.constant(targets));
}

inline void check_rows(const Dataset& data, const IndexList& rows, const char* where) {
  require(!rows.empty(), where, "no rows");
  for (Index r : rows)
    if (r < 0 || r >= data.size())
      throw_invalid(where,
                    "row " + std::to_string(r) + " is outside the dataset's " + std::to_string(data.size()) + " rows");
}

}  // namespace detail

/// The Trainer's loss on `rows` of a dataset: cross-entropy or StableMax on labels, the hinge
/// loss, or the MSE against dense targets (one-hot labels when there are none). The inputs are
/// gathered once.
template <typename S>
LossFn<S> dataset_loss(const Dataset& data, IndexList rows, LossKind kind,
                       CrossEntropyPrecision precision = CrossEntropyPrecision::Stable) {
  detail::check_rows(data, rows, "dataset_loss");
  const ModelInput<S> X = ModelInput<S>::from_dataset(data, rows);
  IndexList labels;
  Matrix<S> targets;
  detail::loss_operands(data, rows, kind, labels, targets);
  return [X, labels, targets, kind, precision](Tape<S>& t, Model<S>& m) {
    return detail::loss_value(t, m.forward(t, X), kind, labels, targets, precision, "dataset_loss");
  };
}

/// The same loss on a batch of positions into `rows` (0 … rows.size() − 1), for estimate_llc.
/// The dataset is kept by reference: it must outlive the function.
template <typename S>
BatchLossFn<S> dataset_batch_loss(const Dataset& data, IndexList rows, LossKind kind,
                                  CrossEntropyPrecision precision = CrossEntropyPrecision::Stable) {
  detail::check_rows(data, rows, "dataset_batch_loss");
  return [&data, rows = std::move(rows), kind, precision](Tape<S>& t, Model<S>& m, const IndexList& batch) {
    // the batch's rows, inputs and labels go into the calling thread's buffers, kept across
    // calls: an SGLD chain's steps allocate nothing once they have run (the tape copies what it keeps)
    struct Buffers {
      IndexList sel, labels;
      Matrix<S> targets;
      ModelInput<S> in;
    };
    static thread_local Buffers buf;
    buf.sel.resize(batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const Index b = batch[i];
      if (b < 0 || b >= static_cast<Index>(rows.size()))
        throw_invalid("dataset_batch_loss", "batch position " + std::to_string(b) + " is outside the " +
                                                std::to_string(rows.size()) + " rows");
      buf.sel[i] = rows[static_cast<std::size_t>(b)];
    }
    detail::loss_operands(data, buf.sel, kind, buf.labels, buf.targets);
    buf.in.assign_from(data, buf.sel);
    return detail::loss_value(t, m.forward(t, buf.in), kind, buf.labels, buf.targets, precision, "dataset_batch_loss");
  };
}

/// DeMoss et al.'s loss-bounded coarse-grained complexity at every call (measure/complexity.hpp),
/// with the training loss on `train_rows` bounded by `epsilon` and the coarse-grained weights'
/// loss on `test_rows` (none: NaN): complexity_bytes (bzip2 bytes of the coarse-grained weights),
/// complexity_raw_bytes (bzip2 of the float32 weights as they are: the naive size),
/// complexity_tau, complexity_delta, complexity_rank_fraction, complexity_train_loss and
/// complexity_test_loss (of the coarse-grained weights), complexity_bounded (1 when a grid point
/// kept the loss within ε), and spectral_entropy (the mean over the weight matrices). The dataset
/// is kept by reference. Each call costs about (1 + log₂ of the Δ grid) loss evaluations on the
/// rows per distinct τ of the grid, and one SVD per matrix.
template <typename S>
ProbeFn<S> complexity_probe(const Dataset& data, IndexList train_rows, IndexList test_rows, LossKind kind,
                            double epsilon, CoarseGrainOptions options = {},
                            CrossEntropyPrecision precision = CrossEntropyPrecision::Stable) {
  require(epsilon >= 0 && std::isfinite(epsilon), "complexity_probe",
          "epsilon must be finite and >= 0, got " + std::to_string(epsilon));
  const LossFn<S> train = dataset_loss<S>(data, std::move(train_rows), kind, precision);
  const LossFn<S> test = test_rows.empty() ? LossFn<S>() : dataset_loss<S>(data, std::move(test_rows), kind, precision);
  return [train, test, epsilon, options](Model<S>& m, Index) {
    const CoarseGrainedComplexity c = coarse_grained_complexity<S>(m, train, epsilon, options, test);
    return Record{{"complexity_bytes", static_cast<double>(c.bytes)},
                  {"complexity_raw_bytes", static_cast<double>(c.raw_bytes)},
                  {"complexity_tau", c.tau},
                  {"complexity_delta", c.delta},
                  {"complexity_rank_fraction", c.rank_fraction},
                  {"complexity_train_loss", c.coarse_loss},
                  {"complexity_test_loss", c.coarse_test_loss},
                  {"complexity_bounded", c.bounded ? 1.0 : 0.0},
                  {"spectral_entropy", mean_spectral_entropy(m.parameters())}};
  };
}

/// Humayun et al.'s local complexity on the rows of X (dense inputs) at every call
/// (measure/local_complexity.hpp): local_complexity, the mean over the rows of the neurons whose
/// pre-activation changes sign in the cross-polytope around each row, and local_complexity_<site>
/// per hidden layer. Forward only: `options.vertices` rows per input.
template <typename S>
ProbeFn<S> local_complexity_probe(Eigen::MatrixXd X, LocalComplexityOptions options = {}) {
  require(X.rows() > 0, "local_complexity_probe", "X is empty");
  return [X = std::move(X), options](Model<S>& m, Index) {
    const LocalComplexity lc = local_complexity(m, X, options);
    Record r{{"local_complexity", lc.mean}};
    for (const auto& [site, v] : lc.per_layer) r.emplace_back("local_complexity_" + site, v);
    return r;
  };
}

/// The local learning coefficient at every call (estimate_llc on `rows` of `data` with `loss`):
/// llc_mean, llc_std, llc_nbeta, llc_init_loss, llc_mala_acceptance, llc_fraction_below_init and
/// llc_warnings (how many of LlcResult::warnings the estimate raised: 0 when it can be trusted). The
/// dataset is kept by reference. Each call costs chains × (burn-in + draws × steps between)
/// mini-batch gradients.
template <typename S>
ProbeFn<S> llc_probe(const Dataset& data, IndexList rows, LossKind kind, LlcOptions options = {},
                     CrossEntropyPrecision precision = CrossEntropyPrecision::Stable) {
  const Index n = static_cast<Index>(rows.size());
  BatchLossFn<S> loss = dataset_batch_loss<S>(data, std::move(rows), kind, precision);
  return [loss = std::move(loss), n, options](Model<S>& m, Index) {
    const LlcResult r = estimate_llc<S>(m, loss, n, options);
    return Record{{"llc_mean", r.llc_mean},
                  {"llc_std", r.llc_std},
                  {"llc_nbeta", r.nbeta},
                  {"llc_init_loss", r.init_loss},
                  {"llc_mala_acceptance", r.mala_acceptance},
                  {"llc_fraction_below_init", r.fraction_below_init},
                  {"llc_warnings", static_cast<double>(r.warnings.size())}};
  };
}

/// Curvature of `loss` (a model in double: the Hessian–vector products are differences of
/// gradients, see measure/hessian.hpp) at every call: hessian_top, the largest eigenvalue by
/// Lanczos (`iterations` products), hessian_top_residual ‖Hv − λv‖, and, when trace_samples > 0,
/// hessian_trace by Hutchinson with that many Rademacher probes (tol 0, so exactly that many).
/// Each product costs two gradient evaluations of `loss`.
GROKSCOPE_DEFERRED ProbeFn<double> sharpness_probe(LossFn<double> loss, Index iterations = 20, Index trace_samples = 0,
                                                   std::uint64_t seed = 0);

/// A representation function: the rows that the readout parameter `readout` multiplies when the
/// model runs on X (e.g. the last hidden layer of an Mlp, the final residual stream at the last
/// position of a Transformer with "unembed.W_U").
template <typename S>
std::function<Eigen::MatrixXd(Model<S>&)> readout_input(ModelInput<S> X, std::string readout) {
  return [X = std::move(X), readout](Model<S>& m) {
    Parameter<S>& U = m.parameter(readout);
    Tape<S> t;
    m.forward(t, X);
    for (int id = t.size() - 1; id >= 0; --id) {
      const Node<S>& n = t.node(id);
      if ((n.kind == OpKind::Linear || n.kind == OpKind::MatMul) && n.inputs.size() >= 2 &&
          t.node(n.inputs[1]).kind == OpKind::Parameter && t.node(n.inputs[1]).param == &U)
        return Eigen::MatrixXd(t.node(n.inputs[0]).value().template cast<double>());
    }
    throw_invalid("readout_input", "parameter '" + readout + "' is not a readout (right operand of a product)");
  };
}

/// Linear CKA between the representation now and at the first call.
template <typename S>
ProbeFn<S> cka_to_init_probe(std::function<Eigen::MatrixXd(Model<S>&)> representation) {
  auto init = std::make_shared<Eigen::MatrixXd>();
  return [representation = std::move(representation), init](Model<S>& m, Index) {
    const Eigen::MatrixXd R = representation(m);
    if (init->size() == 0) *init = R;
    return Record{{"cka_to_init", linear_cka(*init, R).value}};
  };
}

/// ‖θ‖ per parameter (weight_norm_<name>; the Trainer's own weight_norm column is the total), and the relative movement
/// ‖θ − θ_first‖ / ‖θ_first‖ from the first call.
template <typename S>
ProbeFn<S> weight_norm_probe() {
  auto init = std::make_shared<std::vector<Matrix<S>>>();
  return [init](Model<S>& m, Index) {
    const std::vector<Parameter<S>*> ps = m.parameters();
    if (init->empty())
      for (const Parameter<S>* p : ps) init->push_back(p->value);
    const ParameterNorms n = parameter_norms(ps);
    Record r;
    for (const auto& e : n.per_parameter) r.emplace_back("weight_norm_" + e.first, e.second);
    r.emplace_back("relative_movement", relative_movement(ps, *init));
    return r;
  };
}

/// Weight-matrix spectra (parameter_spectra with `options`): per matrix, and per head when
/// options.heads > 1, the columns spectral_norm_<name>, stable_rank_<name>, effective_rank_<name>
/// and participation_ratio_<name>, and the `top` largest singular values sv<i>_<name> (i from 0;
/// NaN beyond the matrix's rank count).
template <typename S>
ProbeFn<S> weight_spectrum_probe(SpectraOptions options = {}, Index top = 0) {
  require(top >= 0, "weight_spectrum_probe", "top must be >= 0, got " + std::to_string(top));
  require(options.heads >= 0, "weight_spectrum_probe", "heads must be >= 0, got " + std::to_string(options.heads));
  return [options = std::move(options), top](Model<S>& m, Index) {
    Record r;
    for (const MatrixSpectrum& s : parameter_spectra(m.parameters(), options)) {
      r.emplace_back("spectral_norm_" + s.name, s.spectral_norm);
      r.emplace_back("stable_rank_" + s.name, s.stable_rank);
      r.emplace_back("effective_rank_" + s.name, s.effective_rank);
      r.emplace_back("participation_ratio_" + s.name, s.participation_ratio);
      for (Index i = 0; i < top; ++i)
        r.emplace_back("sv" + std::to_string(i) + "_" + s.name,
                       i < s.singular_values.size() ? s.singular_values(i) : std::numeric_limits<double>::quiet_NaN());
    }
    return r;
  };
}

/// Heavy-tailed self-regularisation of every weight matrix (parameters with at least 2 rows and
/// 2 columns): the power-law exponent of its spectrum (alpha_<name>, with the fit's KS distance
/// alpha_ks_<name>; NaN when the matrix has fewer than `min_tail` non-zero eigenvalues) and its
/// correlation traps (traps_<name>, shuffled with `seed`). See measure/heavy_tail.hpp.
template <typename S>
ProbeFn<S> heavy_tail_probe(Index min_tail = 10, std::uint64_t seed = 0) {
  require(min_tail >= 2, "heavy_tail_probe", "min_tail must be >= 2, got " + std::to_string(min_tail));
  return [min_tail, seed](Model<S>& m, Index) {
    Record r;
    const double nan = std::numeric_limits<double>::quiet_NaN();
    for (const Parameter<S>* p : m.parameters()) {
      if (p->rows() < 2 || p->cols() < 2) continue;
      const Eigen::MatrixXd W = p->value.template cast<double>();
      const Eigen::VectorXd esd = esd_eigenvalues(W);
      const Index positive = (esd.array() > 0).count();
      PowerLawFit fit;
      bool fitted = false;
      if (positive >= min_tail) {
        fit = fit_power_law(esd, min_tail);
        fitted = true;
      }
      r.emplace_back("alpha_" + p->name, fitted ? fit.alpha : nan);
      r.emplace_back("alpha_ks_" + p->name, fitted ? fit.ks : nan);
      r.emplace_back("traps_" + p->name, static_cast<double>(correlation_traps(W, seed).traps));
    }
    return r;
  };
}

/// Merrill et al.'s effective sparsity of a one-hidden-layer network on (X, labels) (see
/// effective_sparsity), and the mean incoming-weight norm of the neurons inside the active
/// subnetwork and of the others (their "the subnetwork's norm grows while the rest decays").
template <typename S>
ProbeFn<S> sparsity_probe(ModelInput<S> X, IndexList labels, std::string hidden = "layers.0.weight",
                          std::string readout = "layers.1.weight") {
  return [X = std::move(X), labels = std::move(labels), hidden = std::move(hidden), readout = std::move(readout)](
             Model<S>& m, Index) {
    const EffectiveSparsity e = effective_sparsity(m, X, labels, hidden, readout);
    Eigen::VectorXd norms = neuron_norms(m.parameter(hidden).value);
    std::sort(norms.data(), norms.data() + norms.size(), std::greater<double>());
    const Index k = e.k, w = static_cast<Index>(norms.size());
    const double nan = std::numeric_limits<double>::quiet_NaN();
    return Record{{"effective_sparsity", static_cast<double>(k)},
                  {"active_neuron_norm", k > 0 ? norms.head(k).mean() : nan},
                  {"other_neuron_norm", k < w ? norms.tail(w - k).mean() : nan}};
  };
}

/// Nanda et al.'s progress measures for a model on (a ∘ b) mod p: `grid` holds all p² inputs in
/// row-major order (row a·p + b), `labels` their answers, `train_rows` the training pairs. The
/// key frequencies are `key_freqs` when given (as Nanda et al. fix them, from the final model;
/// each in [1, (p − 1)/2], no repeats), else the `n_key` frequencies whose cos/sin(w_k(a+b))
/// directions hold the most squared mass of the current logits. restricted_loss is on all rows
/// (the key-frequency part plus the grid mean), restricted_test_loss the same on the pairs outside
/// `train_rows` (the paper's measure; NaN when every pair is a training pair), excluded_loss on the
/// training rows with the key frequencies removed, fourier_gini the Gini coefficient of the
/// per-frequency mass.
template <typename S>
ProbeFn<S> fourier_probe(ModelInput<S> grid, IndexList labels, IndexList train_rows, std::vector<Index> key_freqs = {},
                         Index n_key = 5) {
  const Index n = grid.examples();
  const Index p = detail::grid_p("fourier_probe", n);
  require(static_cast<Index>(labels.size()) == n, "fourier_probe",
          std::to_string(labels.size()) + " labels for a grid of " + std::to_string(n));
  require(!train_rows.empty(), "fourier_probe", "no training rows");
  for (Index r : train_rows) require(r >= 0 && r < n, "fourier_probe", "training row out of range");
  require(n_key >= 1 && n_key <= (p - 1) / 2, "fourier_probe", "n_key must be in [1, (p-1)/2]");
  for (std::size_t i = 0; i < key_freqs.size(); ++i) {
    if (key_freqs[i] < 1 || key_freqs[i] > (p - 1) / 2)
      throw_invalid("fourier_probe", "key frequency " + std::to_string(key_freqs[i]) + " is outside [1, " +
                                         std::to_string((p - 1) / 2) + "] for p = " + std::to_string(p));
    for (std::size_t j = 0; j < i; ++j)
      if (key_freqs[j] == key_freqs[i])
        throw_invalid("fourier_probe", "key frequency " + std::to_string(key_freqs[i]) + " is given twice");
  }
  IndexList all(static_cast<std::size_t>(n)), test_rows;
  std::iota(all.begin(), all.end(), Index(0));
  {
    std::vector<char> is_train(static_cast<std::size_t>(n), 0);
    for (Index r : train_rows) is_train[static_cast<std::size_t>(r)] = 1;
    for (Index r = 0; r < n; ++r)
      if (!is_train[static_cast<std::size_t>(r)]) test_rows.push_back(r);
  }
  return [grid = std::move(grid), labels = std::move(labels), train_rows = std::move(train_rows), key_freqs, n_key, p,
          all, test_rows](Model<S>& m, Index) {
    Tape<S> t;
    const Eigen::MatrixXd L = m.forward(t, grid).value().template cast<double>();
    Eigen::VectorXd mass((p - 1) / 2);
    for (Index k = 1; k <= (p - 1) / 2; ++k) mass(k - 1) = project_frequencies(L, {k}).squaredNorm();
    std::vector<Index> keys = key_freqs;
    if (keys.empty()) {
      std::vector<Index> order(static_cast<std::size_t>(mass.size()));
      std::iota(order.begin(), order.end(), Index(0));
      std::stable_sort(order.begin(), order.end(), [&](Index a, Index b) { return mass(a) > mass(b); });
      for (Index i = 0; i < n_key; ++i) keys.push_back(order[static_cast<std::size_t>(i)] + 1);
      std::sort(keys.begin(), keys.end());
    }
    return Record{
        {"restricted_loss", restricted_loss(L, labels, keys, all)},
        {"excluded_loss", excluded_loss(L, labels, keys, train_rows)},
        {"fourier_gini", gini(mass)},
        {"restricted_test_loss", test_rows.empty() ? std::nan("") : restricted_loss(L, labels, keys, test_rows)}};
  };
}

/// The numerical-stability measures of Prieto et al. (2025) on (X, labels), in the training
/// precision S:
///   softmax_collapse    share of rows whose Σ_j exp(z_j − max z) is exactly 1 in S (every other
///                       class underflows: the softmax has collapsed and the loss gives no gradient)
///   zero_loss_fraction  share of rows whose cross-entropy −log_softmax(z)_t is exactly 0 in S
///   nlm_cosine          cos(−∇L, θ) over all trainable parameters: how much of the descent
///                       direction only scales the weights up (naive loss minimisation, which
///                       for a homogeneous network only scales the logits)
///   logit_norm          mean over rows of ‖z_i‖₂
///   last_layer_norm     ‖W‖_F of `last_layer` (default: the model's last parameter with more than
///                       one row and column, e.g. unembed.W_U or the MLP's output weight), the
///                       quantity whose bursts of growth Thilak et al.'s slingshots follow
/// ∇L is the (stable) cross-entropy gradient on (X, labels); the model's gradients are left as
/// they were. With `loss` = LossKind::StableMax the same measures are taken of the StableMax
/// normalisation s(z) (Prieto et al.'s remedy, whose point is that it does not collapse where the
/// softmax does): softmax_collapse is then the share of rows whose Σ_j s(z_j) equals s(max z)
/// exactly in S, zero_loss_fraction the share with −log(s(z_t)/Σ_j s(z_j)) = 0 in S, and ∇L the
/// StableMax cross-entropy gradient. Other losses are refused.
template <typename S>
ProbeFn<S> stability_probe(ModelInput<S> X, IndexList labels, std::string last_layer = "",
                           LossKind loss = LossKind::CrossEntropy) {
  require(loss == LossKind::CrossEntropy || loss == LossKind::StableMax, "stability_probe",
          std::string("the measures are defined for cross_entropy and stablemax, not ") + loss_name(loss));
  require(static_cast<Index>(labels.size()) == X.examples(), "stability_probe",
          std::to_string(labels.size()) + " labels for " + std::to_string(X.examples()) + " examples");
  require(X.examples() > 0, "stability_probe", "no examples");
  const bool stablemax = loss == LossKind::StableMax;
  return [X = std::move(X), labels = std::move(labels), last_layer, stablemax](Model<S>& m, Index) {
    const std::vector<Parameter<S>*> ps = m.parameters();
    std::vector<Matrix<S>> saved;
    for (Parameter<S>* p : ps) saved.push_back(p->grad);
    for (Parameter<S>* p : ps) p->zero_grad();
    Tape<S> t;
    const Var<S> z = m.forward(t, X);
    t.backward(stablemax ? stablemax_cross_entropy(z, labels) : cross_entropy(z, labels));
    const Matrix<S>& Z = z.value();
    double collapsed = 0, zero = 0, logit = 0;
    for (Index i = 0; i < Z.rows(); ++i) {
      const S mx = Z.row(i).maxCoeff();
      const S zt = Z(i, labels[static_cast<std::size_t>(i)]);
      if (stablemax) {
        // s in S: x + 1 for x >= 0, 1 / (1 - x) below
        const auto s_of = [](S x) { return x >= S(0) ? x + S(1) : S(1) / (S(1) - x); };
        S sum = 0;
        for (Index j = 0; j < Z.cols(); ++j) sum += s_of(Z(i, j));
        collapsed += sum == s_of(mx);
        zero += std::log(s_of(zt) / sum) == S(0);
      } else {
        const S se = (Z.row(i).array() - mx).exp().sum();
        collapsed += se == S(1);
        zero += (zt - mx) - std::log(se) == S(0);
      }
      logit += Z.row(i).template cast<double>().norm();
    }
    double gt = 0, gg = 0, tt = 0;
    const Parameter<S>* last = nullptr;
    for (std::size_t k = 0; k < ps.size(); ++k) {
      const Parameter<S>* p = ps[k];
      if (last_layer.empty() ? (p->rows() > 1 && p->cols() > 1) : p->name == last_layer) last = p;
      if (!p->requires_grad) continue;
      const auto g = p->grad.template cast<double>().array(), th = p->value.template cast<double>().array();
      gt += (g * th).sum(), gg += g.square().sum(), tt += th.square().sum();
    }
    require(
        last != nullptr, "stability_probe",
        last_layer.empty() ? "the model has no matrix parameter" : "the model has no parameter '" + last_layer + "'");
    for (std::size_t k = 0; k < ps.size(); ++k) ps[k]->grad = saved[k];
    const double n = static_cast<double>(Z.rows());
    const double cosine = gg > 0 && tt > 0 ? -gt / std::sqrt(gg * tt) : 0.0;
    return Record{{"softmax_collapse", collapsed / n},
                  {"zero_loss_fraction", zero / n},
                  {"nlm_cosine", cosine},
                  {"logit_norm", logit / n},
                  {"last_layer_norm", last->value.template cast<double>().norm()}};
  };
}

/// The probes' float and double instantiations, listed once: `X` is `extern template` in the
/// headers (compiled mode) and `template` in the compiled library, so a translation unit that
/// registers probes compiles none of the measurements behind them.
#define GROKSCOPE_PROBES_INSTANTIATIONS(X, S)                                                                 \
  X ProbeFn<S> ntk_probe<S>(ModelInput<S>, Eigen::MatrixXd, NtkOptions);                                      \
  X ProbeFn<S> linearization_probe<S>(ModelInput<S>, Eigen::MatrixXd, ModelInput<S>, Eigen::MatrixXd, double, \
                                      NtkOptions);                                                            \
  X void detail::loss_operands<S>(const Dataset&, const IndexList&, LossKind, IndexList&, Matrix<S>&);        \
  X Var<S> detail::loss_value<S>(Tape<S>&, const Var<S>&, LossKind, const IndexList&, const Matrix<S>&,       \
                                 CrossEntropyPrecision, const char*);                                         \
  X LossFn<S> dataset_loss<S>(const Dataset&, IndexList, LossKind, CrossEntropyPrecision);                    \
  X BatchLossFn<S> dataset_batch_loss<S>(const Dataset&, IndexList, LossKind, CrossEntropyPrecision);         \
  X ProbeFn<S> llc_probe<S>(const Dataset&, IndexList, LossKind, LlcOptions, CrossEntropyPrecision);          \
  X std::function<Eigen::MatrixXd(Model<S>&)> readout_input<S>(ModelInput<S>, std::string);                   \
  X ProbeFn<S> cka_to_init_probe<S>(std::function<Eigen::MatrixXd(Model<S>&)>);                               \
  X ProbeFn<S> weight_norm_probe<S>();                                                                        \
  X ProbeFn<S> weight_spectrum_probe<S>(SpectraOptions, Index);                                               \
  X ProbeFn<S> heavy_tail_probe<S>(Index, std::uint64_t);                                                     \
  X ProbeFn<S> sparsity_probe<S>(ModelInput<S>, IndexList, std::string, std::string);                         \
  X ProbeFn<S> fourier_probe<S>(ModelInput<S>, IndexList, IndexList, std::vector<Index>, Index);              \
  X ProbeFn<S> stability_probe<S>(ModelInput<S>, IndexList, std::string, LossKind);

#if defined(GROKSCOPE_COMPILED)
GROKSCOPE_PROBES_INSTANTIATIONS(extern template, float)
GROKSCOPE_PROBES_INSTANTIATIONS(extern template, double)
#endif

}  // namespace grokscope

#if GROKSCOPE_HEADER_ONLY
#include <grokscope/train/detail/probes-inl.hpp>
#endif
