// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Weight statistics tracked over training: norms (total and per parameter), relative
/// movement from initialisation (Kumar et al. App. 8.2: ‖θ_t − θ₀‖/‖θ₀‖), neuron norms (the
/// ranking behind Merrill et al.'s effective sparsity), and a compression-based complexity of
/// the weights (quantised, then zlib-compressed size; a description-length proxy), and Merrill et
/// al.'s effective sparsity of a one-hidden-layer network.

#include <grokscope/autodiff/tape.hpp>
#include <grokscope/core/check.hpp>
#include <grokscope/nn/model.hpp>

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

namespace grokscope {

/// Euclidean norm of every parameter and of all of them together.
struct ParameterNorms {
  double total = 0;
  std::vector<std::pair<std::string, double>> per_parameter;
};

/// ‖θ‖₂ over all parameters and per parameter (accumulated in double).
template <typename S>
ParameterNorms parameter_norms(const std::vector<Parameter<S>*>& params) {
  ParameterNorms r;
  double sq = 0;
  for (const Parameter<S>* p : params) {
    const double s = p->value.template cast<double>().squaredNorm();
    sq += s;
    r.per_parameter.emplace_back(p->name, std::sqrt(s));
  }
  r.total = std::sqrt(sq);
  return r;
}

/// Relative movement ‖θ − θ₀‖ / ‖θ₀‖ over all parameters (θ₀ given in the same order and shapes).
template <typename S>
double relative_movement(const std::vector<Parameter<S>*>& params, const std::vector<Matrix<S>>& initial) {
  require(params.size() == initial.size(), "relative_movement",
          std::to_string(params.size()) + " parameters but " + std::to_string(initial.size()) + " initial values");
  double num = 0, den = 0;
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (!(params[i]->rows() == initial[i].rows() && params[i]->cols() == initial[i].cols()))
      throw_invalid("relative_movement", "'" + params[i]->name + "' is " + shape_string(params[i]->value) +
                                             " but its initial value is " + shape_string(initial[i]));
    num += (params[i]->value - initial[i]).template cast<double>().squaredNorm();
    den += initial[i].template cast<double>().squaredNorm();
  }
  return den > 0 ? std::sqrt(num / den) : 0.0;
}

/// Norm of every row of a weight in PyTorch layout (out, in): the incoming weights of each neuron.
template <typename S>
Eigen::VectorXd neuron_norms(const Matrix<S>& W) {
  return W.template cast<double>().rowwise().norm();
}

/// Compressed size in bytes of the weights quantised to `levels` uniform levels per parameter
/// (range ± max|w| of that parameter), then zlib-compressed at level 9. Smaller means simpler;
/// comparable across checkpoints of one model.
template <typename S>
std::size_t compressed_size(const std::vector<Parameter<S>*>& params, int levels = 256) {
  require(levels >= 2 && levels <= 256, "compressed_size", "levels must be in [2, 256], got " + std::to_string(levels));
  std::vector<unsigned char> bytes;
  for (const Parameter<S>* p : params) {
    const double m = p->value.size() ? static_cast<double>(p->value.cwiseAbs().maxCoeff()) : 0.0;
    for (Index i = 0; i < p->value.size(); ++i) {
      const double v = static_cast<double>(p->value.data()[i]);
      const double u = m > 0 ? (v / m + 1.0) / 2.0 : 0.5;  // [0, 1]
      bytes.push_back(static_cast<unsigned char>(std::lround(u * (levels - 1))));
    }
  }
  uLongf out_len = compressBound(static_cast<uLong>(bytes.size()));
  std::vector<unsigned char> out(out_len);
  const int rc = compress2(out.data(), &out_len, bytes.data(), static_cast<uLong>(bytes.size()), 9);
  GROKSCOPE_ASSERT(rc == Z_OK);
  return static_cast<std::size_t>(out_len);
}

/// Merrill et al.'s (2023) effective sparsity: neurons ranked by the norm of their incoming
/// weights (excluding the bias); the active subnetwork is the smallest k such that keeping only
/// the top-k neurons (the others' readout masked) gives the same accuracy on X as the full network.
struct EffectiveSparsity {
  Index k = 0;                      ///< size of the active subnetwork
  Index width = 0;                  ///< neurons in the layer
  double accuracy = 0;              ///< accuracy of the full network on X
  std::vector<double> accuracy_at;  ///< accuracy with the top-k neurons, k = 0 .. width
};

/// Effective sparsity of the hidden layer whose incoming weight is `hidden` and whose readout is
/// `readout` (PyTorch layout, out × width), e.g. an Mlp with one hidden layer. Labels are class
/// ids when the model has several outputs, and ±1 (accuracy of sign f) when it has one. The
/// masked outputs are computed exactly and cheaply from one forward pass: everything after the
/// readout product must be affine with scalar factors (scale, bias, centering), as in Mlp.
template <typename S>
EffectiveSparsity effective_sparsity(Model<S>& model, const ModelInput<S>& X, const IndexList& labels,
                                     const std::string& hidden = "layers.0.weight",
                                     const std::string& readout = "layers.1.weight") {
  const char* where = "effective_sparsity";
  const Index n = X.examples();
  require(n > 0, where, "X has no examples");
  require(static_cast<Index>(labels.size()) == n, where,
          std::to_string(labels.size()) + " labels for " + std::to_string(n) + " examples");
  Parameter<S>& Win = model.parameter(hidden);
  Parameter<S>& U = model.parameter(readout);
  require(Win.rows() == U.cols(), where,
          "'" + hidden + "' has " + std::to_string(Win.rows()) + " neurons but '" + readout + "' reads " +
              std::to_string(U.cols()));
  Tape<S> t;
  const Var<S> out = model.forward(t, X);
  const Matrix<double> f = out.value().template cast<double>();
  const Index k_out = f.cols();
  for (Index i = 0; i < n; ++i) {
    const Index y = labels[static_cast<std::size_t>(i)];
    if (!(k_out == 1 ? (y == 1 || y == -1) : (y >= 0 && y < k_out)))
      throw_invalid(where, "label " + std::to_string(y) + " at " + std::to_string(i) +
                               (k_out == 1 ? " is not +1 or -1 (one output: sign accuracy)" : " is not a class id"));
  }
  // The readout product and the scalar factor s between it and the output: f = c + s·(H Uᵀ).
  int node = -1;
  for (int id = 0; id < t.size(); ++id) {
    const Node<S>& nd = t.node(id);
    if ((nd.kind == OpKind::Linear || nd.kind == OpKind::MatMul) && nd.inputs.size() >= 2 &&
        t.node(nd.inputs[1]).kind == OpKind::Parameter && t.node(nd.inputs[1]).param == &U &&
        (nd.kind == OpKind::Linear || nd.iattr[1] == 1))
      node = id;
  }
  require(node >= 0, where, "'" + readout + "' is not used as a linear readout in the model's forward pass");
  double s = t.node(node).kind == OpKind::Linear ? t.node(node).attr[0] : 1.0;  // the layer's own multiplier
  for (int cur = node, id = node + 1; id < t.size(); ++id) {
    const Node<S>& nd = t.node(id);
    if (nd.inputs.empty() || nd.inputs[0] != cur) continue;
    if (nd.kind == OpKind::Scale)
      s *= nd.attr[0];
    else if (nd.kind != OpKind::Add && nd.kind != OpKind::Sub)
      throw_invalid(where, "the output is not affine in the readout (an op follows it that is not scale/add/sub)");
    else
      require(t.node(nd.inputs[1]).rows_per_example == 0 || t.node(nd.inputs[1]).kind == OpKind::Constant, where,
              "the output is not affine in the readout");
    cur = id;
  }
  const Matrix<double> H = t.node(t.node(node).inputs[0]).value().template cast<double>();  // (n, width)
  const Matrix<double> Ud = U.value.template cast<double>();                                // (out, width)
  const Index width = U.cols();
  const Eigen::VectorXd norms = neuron_norms(Win.value);
  std::vector<Index> order(static_cast<std::size_t>(width));
  std::iota(order.begin(), order.end(), Index(0));
  std::stable_sort(order.begin(), order.end(), [&](Index a, Index b) { return norms(a) > norms(b); });
  // Values within rounding of zero count as zero (a masked network whose output is exactly 0).
  const Matrix<double> tol = 64.0 * std::numeric_limits<double>::epsilon() *
                             (f.cwiseAbs() + std::abs(s) * (H.cwiseAbs() * Ud.cwiseAbs().transpose())).eval();
  auto accuracy = [&](const Matrix<double>& g) {
    Index ok = 0;
    for (Index i = 0; i < n; ++i) {
      const Index y = labels[static_cast<std::size_t>(i)];
      if (k_out == 1) {
        ok += (g(i, 0) > tol(i, 0) ? 1 : -1) == y;
      } else {
        Index arg = 0;
        g.row(i).maxCoeff(&arg);
        ok += arg == y;
      }
    }
    return static_cast<double>(ok) / static_cast<double>(n);
  };
  EffectiveSparsity r;
  r.width = width;
  r.accuracy = accuracy(f);
  Matrix<double> g = f - s * (H * Ud.transpose());  // no neuron kept
  r.accuracy_at.push_back(accuracy(g));
  r.k = -1;
  if (r.accuracy_at[0] == r.accuracy) r.k = 0;
  for (Index k = 1; k <= width; ++k) {
    const Index j = order[static_cast<std::size_t>(k - 1)];
    g.noalias() += s * H.col(j) * Ud.col(j).transpose();
    r.accuracy_at.push_back(accuracy(g));
    if (r.k < 0 && r.accuracy_at.back() == r.accuracy) r.k = k;
  }
  if (r.k < 0) r.k = width;  // rounding kept the full network from matching itself exactly
  return r;
}

}  // namespace grokscope
