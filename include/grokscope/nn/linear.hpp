// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Linear: a fully connected layer in PyTorch layout (weight out × in, optional bias)
/// with a forward multiplier for the NTK and mean-field parameterisations.

#include <grokscope/autodiff/ops.hpp>
#include <grokscope/core/config.hpp>
#include <grokscope/nn/init.hpp>

#include <string>

namespace grokscope {

/// y = c · x Wᵀ + b, with c the parameterisation's forward multiplier (1 for Standard), carried
/// by the linear op itself.
template <typename S>
struct Linear {
  Parameter<S> weight, bias;
  bool has_bias = true;
  double multiplier = 1.0;

  Linear() = default;
  /// A layer `name`.weight (out, in) and `name`.bias (1, out) initialised for `param`
  /// (Standard: PyTorch's default; Ntk / MeanField: N(0, init_std²) weights, zero bias).
  Linear(const std::string& name, Index in, Index out, bool with_bias, Rng& rng,
         Parameterization param = Parameterization::Standard, bool readout = false, double init_std = 1.0)
      : has_bias(with_bias), multiplier(forward_multiplier(param, in, readout)) {
    if (!(in >= 1 && out >= 1))
      throw_invalid("Linear", "in and out must be >= 1, got " + std::to_string(in) + " and " + std::to_string(out));
    if (param == Parameterization::Standard) {
      weight = Parameter<S>(name + ".weight", pytorch_linear_weight<S>(rng, out, in));
      bias = Parameter<S>(name + ".bias", with_bias ? pytorch_linear_bias<S>(rng, out, in) : Matrix<S>());
    } else {
      weight = Parameter<S>(name + ".weight", rng.normal_matrix<S>(out, in, 0.0, init_std));
      bias = Parameter<S>(name + ".bias", with_bias ? Matrix<S>::Zero(1, out) : Matrix<S>());
    }
  }

  /// x: (n, in) -> (n, out).
  Var<S> forward(Tape<S>& t, const Var<S>& x) {
    return has_bias ? linear(x, t.param(weight), t.param(bias), multiplier)
                    : linear(x, t.param(weight), Var<S>{}, multiplier);
  }

  /// Token input as one-hot blocks: k ids per example select columns of W (the embedding-sum
  /// form of this layer on concatenated one-hot vectors; never forms the one-hots).
  Var<S> forward_onehot(Tape<S>& t, const IndexList& ids, Index k) {
    const Var<S> y = onehot_matmul(t.param(weight), ids, k, 1, multiplier);
    return has_bias ? add(y, t.param(bias)) : y;
  }

  void append_parameters(std::vector<Parameter<S>*>& out) {
    out.push_back(&weight);
    if (has_bias) out.push_back(&bias);
  }
};

// Provided by the compiled library in compiled mode (core/config.hpp).
GROKSCOPE_EXTERN_STRUCT(Linear)

}  // namespace grokscope
