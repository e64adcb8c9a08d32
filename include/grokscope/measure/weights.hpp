// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Weight statistics tracked over training: norms (total and per parameter), relative
/// movement from initialisation (Kumar et al. App. 8.2: ‖θ_t − θ₀‖/‖θ₀‖), neuron norms (the
/// ranking behind Merrill et al.'s effective sparsity), and a compression-based complexity of
/// the weights (quantised, then zlib-compressed size; a description-length proxy).

#include <grokscope/autodiff/tape.hpp>
#include <grokscope/core/check.hpp>

#include <zlib.h>

#include <cmath>
#include <cstdint>
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
    require(params[i]->rows() == initial[i].rows() && params[i]->cols() == initial[i].cols(), "relative_movement",
            "'" + params[i]->name + "' is " + shape_string(params[i]->value) + " but its initial value is " +
                shape_string(initial[i]));
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

}  // namespace grokscope
