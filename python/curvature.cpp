// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// Python bindings of the curvature measurements (measure/hessian.hpp) and forward mode
// (measure/linearize.hpp) on a model and data the caller brings.

#include "common.hpp"

#include <grokscope/measure/complexity.hpp>
#include <grokscope/measure/hessian.hpp>
#include <grokscope/measure/linearize.hpp>
#include <grokscope/measure/llc.hpp>

#include <Python.h>

#include <string>
#include <vector>

namespace grokscope_python {

namespace {

// The float64 model behind a handle (the curvature operators differentiate in double).
Model<double>& double_model(const PyModel& pm, const char* where) {
  if (!pm.d)
    throw py::type_error(std::string(where) +
                         ": the model is float32; curvature is measured on a float64 model (make one with "
                         "dtype='float64' and load_state_dict(model.state_dict()))");
  return *pm.d;
}

// The loss of the outputs on `targets`: labels for 'cross_entropy' and 'stablemax'; for 'mse'
// dense targets (n, k) or labels (one-hot of the outputs' width).
OutputLossFn<double> output_loss(const std::string& loss, const py::handle& targets, Index examples,
                                 const char* where) {
  const auto check_count = [&](Index n) {
    if (n != examples)
      throw py::value_error(std::string(where) + ": targets has " + std::to_string(n) + " rows for " +
                            std::to_string(examples) + " examples");
  };
  const py::object t = tensor_to_numpy(targets);
  const bool integers = is_integer_array(t);
  if (loss == "cross_entropy" || loss == "stablemax") {
    const IndexList y = index_arg(t, "targets");
    check_count(static_cast<Index>(y.size()));
    if (loss == "stablemax") return [y](Tape<double>&, const Var<double>& z) { return stablemax_cross_entropy(z, y); };
    return [y](Tape<double>&, const Var<double>& z) { return cross_entropy(z, y); };
  }
  if (loss != "mse")
    throw py::value_error(std::string(where) + ": loss must be 'cross_entropy', 'stablemax' or 'mse', got '" + loss +
                          "'");
  if (integers) {
    const IndexList y = index_arg(t, "targets");
    check_count(static_cast<Index>(y.size()));
    return [y](Tape<double>& tp, const Var<double>& z) {
      Matrix<double> onehot = Matrix<double>::Zero(z.rows(), z.cols());
      for (std::size_t i = 0; i < y.size(); ++i) {
        require(y[i] >= 0 && y[i] < z.cols(), "mse",
                "label " + std::to_string(y[i]) + " is outside the " + std::to_string(z.cols()) + " outputs");
        onehot(static_cast<Index>(i), y[i]) = 1;
      }
      return mse(z, tp.constant(onehot));
    };
  }
  const Matrix<double> Y = matrix_arg(t, "targets", true);
  check_count(Y.rows());
  if (!Y.allFinite()) throw py::value_error(std::string(where) + ": targets has non-finite entries");
  return [Y](Tape<double>& tp, const Var<double>& z) { return mse(z, tp.constant(Y)); };
}

CurvatureOptions curvature_options(const std::string& kind, const std::string& method, double l2,
                                   const std::vector<std::string>& parameters, const char* where) {
  CurvatureOptions o;
  o.kind = choice_arg<Curvature>(kind, where, "kind",
                                 {{"hessian", Curvature::Hessian},
                                  {"gauss_newton", Curvature::GaussNewton},
                                  {"empirical_fisher", Curvature::EmpiricalFisher}});
  o.method = choice_arg<HvpMethod>(method, where, "method",
                                   {{"exact", HvpMethod::Exact}, {"finite_difference", HvpMethod::FiniteDifference}});
  if (!std::isfinite(l2)) throw py::value_error(std::string(where) + ": l2 must be finite");
  o.l2 = l2;
  o.parameters = parameters;
  return o;
}

// Issues every warning as grokscope.MeasurementWarning (an error when the warnings filter says so).
void warn_all(const std::vector<std::string>& warnings) {
  const py::object category = py::module_::import("grokscope").attr("MeasurementWarning");
  for (const std::string& w : warnings)
    if (PyErr_WarnEx(category.ptr(), w.c_str(), 2) != 0) throw py::error_already_set();
}

py::list string_list(const std::vector<std::string>& v) {
  py::list out;
  for (const std::string& s : v) out.append(s);
  return out;
}

// Everything the curvature functions share: the model, its input, the loss and the options.
struct Problem {
  Model<double>* model;
  ModelInput<double> in;
  OutputLossFn<double> loss;
  CurvatureOptions options;
};

Problem problem(const PyModel& pm, const py::handle& inputs, const py::handle& targets, const std::string& loss,
                const std::string& kind, const std::string& method, double l2,
                const std::vector<std::string>& parameters, const char* where) {
  Problem p;
  p.model = &double_model(pm, where);
  p.in = model_input<double>(pm, inputs, "inputs");
  if (p.in.examples() == 0) throw py::value_error(std::string(where) + ": inputs has no examples");
  p.loss = output_loss(loss, targets, p.in.examples(), where);
  p.options = curvature_options(kind, method, l2, parameters, where);
  return p;
}

#define GROKSCOPE_CURVATURE_ARGS                                                                   \
  py::arg("model"), py::arg("inputs"), py::arg("targets"),                                         \
      py::arg("loss") = "cross_entropy", py::arg("kind") = "hessian", py::arg("method") = "exact", \
      py::arg("l2") = 0.0, py::arg("parameters") = std::vector<std::string> {}

const char* kCurvatureDoc =
    "model: a float64 grokscope model; inputs: rows (n, d) or token ids (n, T), numpy or torch;\n"
    "targets: labels (n,) for loss 'cross_entropy' or 'stablemax', targets (n, k) or labels (one-hot)\n"
    "for 'mse'. kind: 'hessian', 'gauss_newton' (JᵀH_ℓJ) or 'empirical_fisher' ((1/n) Σ ∇ℓ_i ∇ℓ_iᵀ);\n"
    "method: 'exact' (the R-operator, exact to rounding on ReLU models too) or 'finite_difference'\n"
    "(central differences of gradients: wrong where the step crosses a ReLU kink, which it reports);\n"
    "l2: λ of a coupled L2 term (adds λI; AdamW's decoupled decay is not one); parameters: names\n"
    "(default every trainable one), flattened in the model's order, row-major within each.";

// The rows `r` of a model input.
template <typename S>
ModelInput<S> rows_of(const ModelInput<S>& in, const IndexList& r) {
  ModelInput<S> out;
  out.T = in.T;
  if (in.is_tokens()) {
    out.tokens.reserve(r.size() * static_cast<std::size_t>(in.T));
    for (const Index i : r)
      for (Index t = 0; t < in.T; ++t) out.tokens.push_back(in.tokens[static_cast<std::size_t>(i * in.T + t)]);
  } else {
    out.x.resize(static_cast<Index>(r.size()), in.x.cols());
    for (std::size_t k = 0; k < r.size(); ++k) out.x.row(static_cast<Index>(k)) = in.x.row(r[k]);
  }
  return out;
}

// The loss of a batch of rows for estimate_llc: labels (cross_entropy, stablemax) or targets (mse).
template <typename S>
BatchLossFn<S> batch_loss(const ModelInput<S>& in, const std::string& loss, const py::handle& targets, Index n,
                          const char* where) {
  const py::object t = tensor_to_numpy(targets);
  const bool integers = is_integer_array(t);
  const bool labels = loss == "cross_entropy" || loss == "stablemax";
  if (!labels && loss != "mse")
    throw py::value_error(std::string(where) + ": loss must be 'cross_entropy', 'stablemax' or 'mse', got '" + loss +
                          "'");
  IndexList y;
  Matrix<S> Y;
  if (labels || integers) {
    y = index_arg(t, "targets");
    if (static_cast<Index>(y.size()) != n)
      throw py::value_error(std::string(where) + ": targets has " + std::to_string(y.size()) + " rows for " +
                            std::to_string(n) + " examples");
  } else {
    Y = matrix_arg(t, "targets", true).cast<S>();
    if (Y.rows() != n)
      throw py::value_error(std::string(where) + ": targets has " + std::to_string(Y.rows()) + " rows for " +
                            std::to_string(n) + " examples");
  }
  return [in, y, Y, loss](Tape<S>& tp, Model<S>& m, const IndexList& r) {
    const Var<S> z = m.forward(tp, rows_of(in, r));
    if (loss == "cross_entropy" || loss == "stablemax") {
      IndexList yb;
      for (const Index i : r) yb.push_back(y[static_cast<std::size_t>(i)]);
      return loss == "stablemax" ? stablemax_cross_entropy(z, yb) : cross_entropy(z, yb);
    }
    Matrix<S> target(static_cast<Index>(r.size()), z.cols());
    for (std::size_t k = 0; k < r.size(); ++k) {
      if (Y.size() > 0) {
        require(Y.cols() == z.cols(), "estimate_llc",
                "targets have " + std::to_string(Y.cols()) + " columns, the model " + std::to_string(z.cols()) +
                    " outputs");
        target.row(static_cast<Index>(k)) = Y.row(r[k]);
      } else {
        const Index label = y[static_cast<std::size_t>(r[k])];
        require(label >= 0 && label < z.cols(), "estimate_llc",
                "label " + std::to_string(label) + " is outside the " + std::to_string(z.cols()) + " outputs");
        target.row(static_cast<Index>(k)).setZero();
        target(static_cast<Index>(k), label) = S(1);
      }
    }
    return mse(z, tp.constant(target));
  };
}

// LinearizedModel with the handle of its model (for its inputs and its lock).
struct PyLinearized {
  PyModel pm;
  std::shared_ptr<LinearizedModel<double>> lin;
};

}  // namespace

void bind_curvature(py::module_& m) {
  m.attr("MeasurementWarning") = py::reinterpret_steal<py::object>(
      PyErr_NewExceptionWithDoc("grokscope.MeasurementWarning",
                                "A measurement finished but its own checks say it is not to be trusted as is "
                                "(an LLC chain that did not mix, a Lanczos pair that did not converge, a finite "
                                "difference across a ReLU kink).",
                                PyExc_UserWarning, nullptr));

  m.def(
      "parameter_vector",
      [](const PyModel& pm, const std::vector<std::string>& parameters) {
        return pm.visit([&](auto& mm) {
          using S = typename std::decay_t<decltype(mm)>::Scalar;
          const std::vector<Parameter<S>*> ps = detail::chosen_parameters(mm, parameters, "parameter_vector");
          Eigen::VectorXd v(detail::flat_size(ps));
          Index o = 0;
          for (const Parameter<S>* p : ps)
            for (Index e = 0; e < p->size(); ++e) v(o++) = static_cast<double>(p->value.data()[e]);
          return to_numpy(v);
        });
      },
      py::arg("model"), py::arg("parameters") = std::vector<std::string>{},
      "θ flattened as the curvature functions and jvp flatten it: the named parameters (default every\n"
      "trainable one) in the model's order, row-major within each, as float64.");

  m.def(
      "hessian_vector_product",
      [](const PyModel& pm, const py::handle& inputs, const py::handle& targets, const py::handle& v,
         const std::string& loss, const std::string& kind, const std::string& method, double l2,
         const std::vector<std::string>& parameters) {
        Problem p = problem(pm, inputs, targets, loss, kind, method, l2, parameters, "hessian_vector_product");
        const std::vector<double> vv = vector_arg(v, "v");
        const Eigen::VectorXd x = Eigen::Map<const Eigen::VectorXd>(vv.data(), static_cast<Index>(vv.size()));
        Eigen::VectorXd out;
        std::vector<std::string> warnings;
        {
          const ModelGuard guard(pm.mutex);
          CurvatureOperator H(*p.model, p.in, p.loss, p.options);
          out = H.apply(x);
          warnings = H.warnings();
        }
        warn_all(warnings);
        return to_numpy(out);
      },
      py::arg("model"), py::arg("inputs"), py::arg("targets"), py::arg("v"), py::arg("loss") = "cross_entropy",
      py::arg("kind") = "hessian", py::arg("method") = "exact", py::arg("l2") = 0.0,
      py::arg("parameters") = std::vector<std::string>{},
      (std::string("H·v for a flat v (parameter_vector's layout); returns an array of the same length.\n") +
       kCurvatureDoc)
          .c_str());

  m.def(
      "hessian_eigenvalues",
      [](const PyModel& pm, const py::handle& inputs, const py::handle& targets, Index k, const std::string& which,
         const std::string& algorithm, Index iterations, Index max_iter, double tol, std::uint64_t seed,
         bool eigenvectors, const std::string& loss, const std::string& kind, const std::string& method, double l2,
         const std::vector<std::string>& parameters) {
        Problem p = problem(pm, inputs, targets, loss, kind, method, l2, parameters, "hessian_eigenvalues");
        const bool largest =
            choice_arg<bool>(which, "hessian_eigenvalues", "which", {{"largest", true}, {"smallest", false}});
        const bool lanczos =
            choice_arg<bool>(algorithm, "hessian_eigenvalues", "algorithm", {{"lanczos", true}, {"power", false}});
        if (!lanczos && !largest)
          throw py::value_error("hessian_eigenvalues: power iteration finds the largest |λ| only (which='largest')");
        EigenEstimate e;
        std::vector<std::string> op_warnings;
        {
          const ModelGuard guard(pm.mutex);
          CurvatureOperator H(*p.model, p.in, p.loss, p.options);
          if (lanczos) {
            LanczosOptions o;
            o.k = k, o.largest = largest, o.iterations = iterations, o.seed = seed;
            e = lanczos_eigenvalues(H.as_operator(), o);
          } else {
            PowerIterationOptions o;
            o.top_n = k, o.max_iter = max_iter, o.tol = tol, o.seed = seed;
            e = power_iteration(H.as_operator(), o);
          }
          op_warnings = H.warnings();
        }
        std::vector<std::string> all = e.warnings;
        all.insert(all.end(), op_warnings.begin(), op_warnings.end());
        warn_all(all);
        py::dict d;
        d["eigenvalues"] = to_numpy(e.eigenvalues);
        d["residuals"] = to_numpy(e.residuals);
        d["symmetry_error"] = e.symmetry_error;
        d["matvecs"] = e.matvecs;
        d["warnings"] = string_list(all);
        if (eigenvectors) d["eigenvectors"] = to_numpy(Eigen::MatrixXd(e.eigenvectors.transpose()));
        return d;
      },
      py::arg("model"), py::arg("inputs"), py::arg("targets"), py::arg("k") = 1, py::arg("which") = "largest",
      py::arg("algorithm") = "lanczos", py::arg("iterations") = 0, py::arg("max_iter") = 100, py::arg("tol") = 1e-3,
      py::arg("seed") = 0, py::arg("eigenvectors") = false, py::arg("loss") = "cross_entropy",
      py::arg("kind") = "hessian", py::arg("method") = "exact", py::arg("l2") = 0.0,
      py::arg("parameters") = std::vector<std::string>{},
      (std::string("The k largest (or smallest) eigenvalues of the curvature: algorithm 'lanczos' (full\n"
                   "re-orthogonalisation, iterations 0: max(2k + 20, 40)) or 'power' (PyHessian's eigenvalues(),\n"
                   "max_iter, tol). Returns a dict: eigenvalues, residuals (‖Av − λv‖ measured with the operator),\n"
                   "symmetry_error, matvecs, warnings (also issued as grokscope.MeasurementWarning) and, when asked,\n"
                   "eigenvectors (k, dim).\n") +
       kCurvatureDoc)
          .c_str());

  m.def(
      "hessian_trace",
      [](const PyModel& pm, const py::handle& inputs, const py::handle& targets, const std::string& estimator,
         Index samples, double tol, std::uint64_t seed, const std::string& loss, const std::string& kind,
         const std::string& method, double l2, const std::vector<std::string>& parameters) {
        Problem p = problem(pm, inputs, targets, loss, kind, method, l2, parameters, "hessian_trace");
        const bool hutchpp =
            choice_arg<bool>(estimator, "hessian_trace", "estimator", {{"hutchinson", false}, {"hutch++", true}});
        TraceEstimate t;
        std::vector<std::string> warnings;
        {
          const ModelGuard guard(pm.mutex);
          CurvatureOperator H(*p.model, p.in, p.loss, p.options);
          if (hutchpp) {
            HutchppOptions o;
            o.matvecs = samples, o.seed = seed;
            t = hutchpp_trace(H.as_operator(), o);
          } else {
            TraceOptions o;
            o.max_iter = samples, o.tol = tol, o.seed = seed;
            t = hutchinson_trace(H.as_operator(), o);
          }
          warnings = H.warnings();
        }
        warn_all(warnings);
        py::dict d;
        d["trace"] = t.trace;
        d["standard_error"] = t.standard_error;
        d["samples"] = t.samples;
        return d;
      },
      py::arg("model"), py::arg("inputs"), py::arg("targets"), py::arg("estimator") = "hutchinson",
      py::arg("samples") = 100, py::arg("tol") = 1e-3, py::arg("seed") = 0, py::arg("loss") = "cross_entropy",
      py::arg("kind") = "hessian", py::arg("method") = "exact", py::arg("l2") = 0.0,
      py::arg("parameters") = std::vector<std::string>{},
      (std::string("The curvature's trace: estimator 'hutchinson' (PyHessian's trace(): up to `samples`\n"
                   "Rademacher probes, stopping when the running mean changes by less than tol; tol 0 runs them\n"
                   "all) or 'hutch++' (Meyer et al. 2021; `samples` products in all, a multiple of 3: exact when\n"
                   "the rank is at most samples/3). Returns a dict: trace, standard_error, samples.\n") +
       kCurvatureDoc)
          .c_str());

  m.def(
      "hessian_density",
      [](const PyModel& pm, const py::handle& inputs, const py::handle& targets, Index iterations, Index runs,
         std::uint64_t seed, const std::string& loss, const std::string& kind, const std::string& method, double l2,
         const std::vector<std::string>& parameters) {
        Problem p = problem(pm, inputs, targets, loss, kind, method, l2, parameters, "hessian_density");
        SpectralDensity sd;
        std::vector<std::string> warnings;
        {
          const ModelGuard guard(pm.mutex);
          CurvatureOperator H(*p.model, p.in, p.loss, p.options);
          DensityOptions o;
          o.iterations = iterations, o.runs = runs, o.seed = seed;
          sd = slq_density(H.as_operator(), o);
          warnings = H.warnings();
        }
        warn_all(warnings);
        py::list nodes, weights;
        for (std::size_t r = 0; r < sd.nodes.size(); ++r) {
          nodes.append(to_numpy(sd.nodes[r]));
          weights.append(to_numpy(sd.weights[r]));
        }
        py::dict d;
        d["nodes"] = nodes;
        d["weights"] = weights;
        return d;
      },
      py::arg("model"), py::arg("inputs"), py::arg("targets"), py::arg("iterations") = 100, py::arg("runs") = 1,
      py::arg("seed") = 0, py::arg("loss") = "cross_entropy", py::arg("kind") = "hessian", py::arg("method") = "exact",
      py::arg("l2") = 0.0, py::arg("parameters") = std::vector<std::string>{},
      (std::string("PyHessian's density(): stochastic Lanczos quadrature. Returns a dict: nodes and weights,\n"
                   "one array per run (weights sum to 1).\n") +
       kCurvatureDoc)
          .c_str());

  m.def(
      "estimate_llc",
      [](const PyModel& pm, const py::handle& inputs, const py::handle& targets, const std::string& loss,
         double epsilon, double nbeta, double gamma, Index chains, Index draws, Index burnin, Index steps_between_draws,
         Index batch_size, Index init_loss_batches, const std::vector<std::string>& parameters, std::uint64_t seed) {
        LlcOptions o;
        o.epsilon = epsilon, o.nbeta = nbeta, o.gamma = gamma, o.chains = chains, o.draws = draws, o.burnin = burnin;
        o.steps_between_draws = steps_between_draws, o.batch_size = batch_size;
        o.init_loss_batches = init_loss_batches, o.parameters = parameters, o.seed = seed;
        const LlcResult r = pm.visit([&](auto& mm) {
          using S = typename std::decay_t<decltype(mm)>::Scalar;
          const ModelInput<S> in = model_input<S>(pm, inputs, "inputs");
          const Index n = in.examples();
          if (n == 0) throw py::value_error("estimate_llc: inputs has no examples");
          const BatchLossFn<S> fn = batch_loss<S>(in, loss, targets, n, "estimate_llc");
          const ModelGuard guard(pm.mutex);
          return estimate_llc<S>(mm, fn, n, o);
        });
        warn_all(r.warnings);
        py::dict d;
        d["llc_mean"] = r.llc_mean;
        d["llc_std"] = r.llc_std;
        d["llc_per_chain"] = r.llc_per_chain;
        d["loss_trace"] = to_numpy(r.loss_trace);
        d["init_loss"] = r.init_loss;
        d["nbeta"] = r.nbeta;
        d["mala_acceptance"] = r.mala_acceptance;
        d["fraction_below_init"] = r.fraction_below_init;
        d["final_distance"] = r.final_distance;
        d["steps"] = r.steps;
        d["warnings"] = string_list(r.warnings);
        return d;
      },
      py::arg("model"), py::arg("inputs"), py::arg("targets"), py::arg("loss") = "cross_entropy",
      py::arg("epsilon") = 1e-3, py::arg("nbeta") = 0.0, py::arg("gamma") = 100.0, py::arg("chains") = 4,
      py::arg("draws") = 200, py::arg("burnin") = 0, py::arg("steps_between_draws") = 1, py::arg("batch_size") = 32,
      py::arg("init_loss_batches") = 32, py::arg("parameters") = std::vector<std::string>{}, py::arg("seed") = 0,
      "The local learning coefficient at the model's current parameters by localized SGLD (devinterp's\n"
      "semantics: λ̂ = nβ (mean L_b(w_t) − L₀) per chain; ε = epsilon, nβ = nbeta (0: m / ln m for batch m),\n"
      "γ = gamma), on the inputs and targets you give (labels for 'cross_entropy' / 'stablemax', targets\n"
      "or labels for 'mse'). Returns a dict: llc_mean, llc_std, llc_per_chain, loss_trace (chains, draws),\n"
      "init_loss, nbeta, mala_acceptance (aim near 0.9), fraction_below_init, final_distance, steps and\n"
      "warnings, each also issued as grokscope.MeasurementWarning (a negative λ̂, draws below L₀, a trace\n"
      "that has not settled, a low acceptance: lower epsilon or raise gamma; docs/measurements.md says how\n"
      "to choose them). The model is left as it was found.");

  m.def(
      "coarse_grained_complexity",
      [](const PyModel& pm, const py::handle& inputs, const py::handle& targets, double epsilon,
         const std::string& loss, const py::object& test_inputs, const py::object& test_targets,
         std::vector<double> taus, double delta_min, double delta_max, Index points_per_decade) {
        if (test_inputs.is_none() != test_targets.is_none())
          throw py::value_error("coarse_grained_complexity: give test_inputs and test_targets together");
        CoarseGrainOptions o;
        o.taus = std::move(taus), o.delta_min = delta_min, o.delta_max = delta_max;
        o.points_per_decade = points_per_decade;
        const CoarseGrainedComplexity c = pm.visit([&](auto& mm) {
          using S = typename std::decay_t<decltype(mm)>::Scalar;
          const auto whole = [&](const py::handle& x, const py::handle& y, const char* name) {
            const ModelInput<S> in = model_input<S>(pm, x, name);
            const Index n = in.examples();
            if (n == 0) throw py::value_error(std::string("coarse_grained_complexity: ") + name + " has no examples");
            const BatchLossFn<S> fn = batch_loss<S>(in, loss, y, n, "coarse_grained_complexity");
            IndexList all(static_cast<std::size_t>(n));
            for (Index i = 0; i < n; ++i) all[static_cast<std::size_t>(i)] = i;
            return LossFn<S>([fn, all](Tape<S>& t, Model<S>& m) { return fn(t, m, all); });
          };
          const LossFn<S> train = whole(inputs, targets, "inputs");
          const LossFn<S> test = test_inputs.is_none() ? LossFn<S>() : whole(test_inputs, test_targets, "test_inputs");
          const ModelGuard guard(pm.mutex);
          return coarse_grained_complexity<S>(mm, train, epsilon, o, test);
        });
        py::dict d;
        d["bytes"] = c.bytes, d["raw_bytes"] = c.raw_bytes, d["bounded"] = c.bounded, d["epsilon"] = c.epsilon;
        d["tau"] = c.tau, d["delta"] = c.delta, d["kept_components"] = c.kept_components;
        d["total_components"] = c.total_components, d["rank_fraction"] = c.rank_fraction;
        d["loss"] = c.loss, d["coarse_loss"] = c.coarse_loss, d["test_loss"] = c.test_loss;
        d["coarse_test_loss"] = c.coarse_test_loss, d["evaluations"] = c.evaluations, d["search"] = c.search;
        return d;
      },
      py::arg("model"), py::arg("inputs"), py::arg("targets"), py::arg("epsilon") = 1.0,
      py::arg("loss") = "cross_entropy", py::arg("test_inputs") = py::none(), py::arg("test_targets") = py::none(),
      py::arg("taus") = std::vector<double>{}, py::arg("delta_min") = 1e-5, py::arg("delta_max") = 1e-1,
      py::arg("points_per_decade") = 8,
      "DeMoss et al.'s (2024) loss-bounded coarse-grained complexity: the smallest bzip2 size of a low-rank\n"
      "(rank rule: the paper's Eq. 13) and quantised version of the weights whose loss on (inputs, targets)\n"
      "stays within epsilon of the original's, found by a deterministic grid over tau (default 0.05 ... 1)\n"
      "and bisection over a log grid of quantisation steps in [delta_min, delta_max]. Returns a dict: bytes,\n"
      "raw_bytes (bzip2 of the float32 weights as they are), bounded, tau, delta, kept_components,\n"
      "total_components, rank_fraction, loss, coarse_loss, test_loss and coarse_test_loss (NaN without test\n"
      "data), evaluations, search. The model is left as it was found.");

  m.def(
      "jvp",
      [](const PyModel& pm, const py::handle& inputs, const py::handle& v, const std::vector<std::string>& parameters) {
        const std::vector<double> vv = vector_arg(v, "v");
        const Eigen::VectorXd x = Eigen::Map<const Eigen::VectorXd>(vv.data(), static_cast<Index>(vv.size()));
        return pm.visit([&](auto& mm) {
          using S = typename std::decay_t<decltype(mm)>::Scalar;
          const ModelInput<S> in = model_input<S>(pm, inputs, "inputs");
          Matrix<S> out;
          {
            const ModelGuard guard(pm.mutex);
            out = jvp(mm, in, x, parameters);
          }
          return to_numpy_of(out);
        });
      },
      py::arg("model"), py::arg("inputs"), py::arg("v"), py::arg("parameters") = std::vector<std::string>{},
      "J·v: the directional derivative (n, k) of the model's outputs on `inputs` along a flat v\n"
      "(parameter_vector's layout), by forward mode through the tape: about two forward passes, J never\n"
      "formed. In the model's dtype.");

  py::class_<PyLinearized>(
      m, "LinearizedModel",
      "A float64 model linearized at its current parameters θ₀: f_lin(x; θ) = f(x; θ₀) + J(x; θ₀)(θ − θ₀),\n"
      "one forward-mode pass per call (neural-tangents' linearize). The model may be trained further:\n"
      "every call evaluates at θ₀ and leaves the model as it is.")
      .def(py::init([](const PyModel& pm, const std::vector<std::string>& parameters) {
             Model<double>& model = double_model(pm, "LinearizedModel");
             const ModelGuard guard(pm.mutex);
             return PyLinearized{pm, std::make_shared<LinearizedModel<double>>(model, parameters)};
           }),
           py::arg("model"), py::arg("parameters") = std::vector<std::string>{})
      .def_property_readonly(
          "theta0", [](const PyLinearized& l) { return to_numpy(l.lin->theta0()); },
          "θ₀ flattened (parameter_vector's layout).")
      .def_property_readonly("dim", [](const PyLinearized& l) { return l.lin->dim(); })
      .def(
          "__call__",
          [](PyLinearized& l, const py::handle& inputs, const py::handle& theta) {
            const ModelInput<double> in = model_input<double>(l.pm, inputs, "inputs");
            const std::vector<double> t = vector_arg(theta, "theta");
            const Eigen::VectorXd x = Eigen::Map<const Eigen::VectorXd>(t.data(), static_cast<Index>(t.size()));
            if (in.examples() == 0) throw py::value_error("LinearizedModel: inputs has no examples");
            Matrix<double> out;
            {
              const ModelGuard guard(l.pm.mutex);
              out = (*l.lin)(in, x);
            }
            return to_numpy_of(out);
          },
          py::arg("inputs"), py::arg("theta"), "f_lin(inputs; θ) (n, k) for a flat θ.");
}

}  // namespace grokscope_python
