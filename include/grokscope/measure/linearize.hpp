// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Forward mode through a model: the Jacobian–vector product J·v of its outputs (`jvp`),
/// and the model linearized at θ₀, f_lin(x; θ) = f(x; θ₀) + J(x; θ₀)(θ − θ₀), evaluated by one
/// JVP per call (`LinearizedModel`: the semantics of neural-tangents' `linearize`, Lee et al.
/// 2019). Both run the tape's forward-mode rules (autodiff/tape.hpp) after one forward pass, so a
/// JVP costs about two forward passes and never forms J. LinearizedDynamics
/// (measure/linearized.hpp) gives the same model's outputs under gradient descent in closed form
/// from the NTK J Jᵀ; this is the model itself, at any θ.
///
/// Directions and parameter vectors are flattened in the model's parameter order, row-major
/// within each parameter, over the chosen parameters (every one with requires_grad, or the named
/// ones), as CurvatureOperator::parameters.

#include <grokscope/autodiff/tape.hpp>
#include <grokscope/core/check.hpp>
#include <grokscope/core/types.hpp>
#include <grokscope/nn/model.hpp>

#include <Eigen/Core>

#include <string>
#include <utility>
#include <vector>

namespace grokscope {

namespace detail {

// The parameters named in `names` (every one with requires_grad when empty), in the model's order.
template <typename S>
std::vector<Parameter<S>*> chosen_parameters(Model<S>& model, const std::vector<std::string>& names,
                                             const char* where) {
  std::vector<Parameter<S>*> out;
  for (Parameter<S>* p : model.parameters()) {
    bool chosen = names.empty() ? p->requires_grad : false;
    for (const std::string& n : names) chosen = chosen || p->name == n;
    if (chosen) out.push_back(p);
  }
  for (const std::string& n : names) {
    bool found = false;
    for (const Parameter<S>* p : out) found = found || p->name == n;
    require(found, where, "the model has no parameter '" + n + "'");
  }
  require(!out.empty(), where, "no parameter chosen (none requires grad)");
  return out;
}

template <typename S>
Index flat_size(const std::vector<Parameter<S>*>& ps) {
  Index n = 0;
  for (const Parameter<S>* p : ps) n += p->size();
  return n;
}

// One forward pass of `model` on `t` with the directions of `v` (flattened over `ps`): the outputs'
// tangent, and their value in `*value` when asked.
template <typename S>
Matrix<S> outputs_tangent(Tape<S>& t, Model<S>& model, const ModelInput<S>& in, const std::vector<Parameter<S>*>& ps,
                          const Eigen::VectorXd& v, const char* where, Matrix<S>* value = nullptr) {
  const Index dim = flat_size(ps);
  require(v.size() == dim, where,
          "the direction has " + std::to_string(v.size()) + " entries for " + std::to_string(dim) + " parameters");
  require(v.allFinite(), where, "the direction is not finite");
  require(in.examples() > 0, where, "the input has no examples");
  t.reset();
  t.clear_tangents();
  Index o = 0;
  for (Parameter<S>* p : ps) {
    Matrix<S>& d = t.tangent_of(*p);
    Eigen::Map<Eigen::Matrix<S, Eigen::Dynamic, 1>>(d.data(), d.size()) = v.segment(o, p->size()).template cast<S>();
    o += p->size();
  }
  const Var<S> out = model.forward(t, in);
  if (value) *value = out.value();
  t.forward_tangents();
  return t.tangent(out);
}

}  // namespace detail

/// J·v: the directional derivative of the model's outputs (n, k) on `in` at its current
/// parameters along `v` (flattened over the named parameters, or every trainable one).
template <typename S>
Matrix<S> jvp(Model<S>& model, const ModelInput<S>& in, const Eigen::VectorXd& v,
              const std::vector<std::string>& names = {}) {
  Tape<S> t;
  return detail::outputs_tangent(t, model, in, detail::chosen_parameters(model, names, "jvp"), v, "jvp");
}

/// A model linearized at its parameters θ₀ when constructed: f_lin(x; θ) = f(x; θ₀) + J(x; θ₀)(θ − θ₀).
/// The model may be trained on afterwards; every evaluation sets θ₀ for its pass and restores the
/// model's parameters. Keeps the model by reference and a tape: one per thread.
template <typename S>
class LinearizedModel {
 public:
  explicit LinearizedModel(Model<S>& model, std::vector<std::string> names = {})
      : m_model(model), m_params(detail::chosen_parameters(model, names, "LinearizedModel")) {
    for (const Parameter<S>* p : m_params) m_theta0.push_back(p->value);
    m_dim = detail::flat_size(m_params);
  }

  Index dim() const { return m_dim; }

  /// θ₀ flattened.
  Eigen::VectorXd theta0() const {
    Eigen::VectorXd v(m_dim);
    Index o = 0;
    for (const Matrix<S>& m : m_theta0) {
      v.segment(o, m.size()) =
          Eigen::Map<const Eigen::Matrix<S, Eigen::Dynamic, 1>>(m.data(), m.size()).template cast<double>();
      o += m.size();
    }
    return v;
  }

  /// f(x; θ₀) on `in` (n, k).
  Matrix<S> initial_outputs(const ModelInput<S>& in) { return evaluate(in, Eigen::VectorXd::Zero(m_dim), false); }

  /// f_lin(x; θ) on `in` for parameters θ (flattened as theta0()).
  Matrix<S> operator()(const ModelInput<S>& in, const Eigen::VectorXd& theta) {
    require(theta.size() == m_dim, "LinearizedModel",
            "θ has " + std::to_string(theta.size()) + " entries for " + std::to_string(m_dim) + " parameters");
    return evaluate(in, theta - theta0(), true);
  }

 private:
  Matrix<S> evaluate(const ModelInput<S>& in, const Eigen::VectorXd& delta, bool linear_part) {
    struct Restore {  // the model's current parameters, whatever happens
      const std::vector<Parameter<S>*>& ps;
      std::vector<Matrix<S>> saved;
      ~Restore() {
        for (std::size_t k = 0; k < ps.size(); ++k) ps[k]->value = std::move(saved[k]);
      }
    } restore{m_params, {}};
    for (std::size_t k = 0; k < m_params.size(); ++k) {
      restore.saved.push_back(m_params[k]->value);
      m_params[k]->value = m_theta0[k];
    }
    Matrix<S> out;
    const Matrix<S> tangent = detail::outputs_tangent(m_tape, m_model, in, m_params, delta, "LinearizedModel", &out);
    if (linear_part) out += tangent;
    return out;
  }

  Model<S>& m_model;
  std::vector<Parameter<S>*> m_params;
  std::vector<Matrix<S>> m_theta0;
  Index m_dim = 0;
  Tape<S> m_tape;
};

}  // namespace grokscope
