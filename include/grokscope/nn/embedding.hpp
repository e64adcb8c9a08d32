// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Embedding: a lookup table of token vectors (PyTorch nn.Embedding layout: vocab × d).

#include <grokscope/autodiff/ops.hpp>
#include <grokscope/core/config.hpp>
#include <grokscope/core/rng.hpp>

#include <string>

namespace grokscope {

/// Rows of `weight` (vocab, d) gathered by token id; gradients scatter-add back.
template <typename S>
struct Embedding {
  Parameter<S> weight;

  Embedding() = default;
  /// `name`.weight (vocab, d) ~ N(0, init_std²) (PyTorch's nn.Embedding default is N(0, 1)).
  Embedding(const std::string& name, Index vocab, Index d, Rng& rng, double init_std = 1.0)
      : weight(name + ".weight", rng.normal_matrix<S>(vocab, d, 0.0, init_std)) {
    require(vocab >= 1 && d >= 1, "Embedding", "vocab and d must be >= 1");
  }

  /// ids (n·T) -> (n·T, d), T rows per example.
  Var<S> forward(Tape<S>& t, const IndexList& ids, Index T = 1) { return embedding(t.param(weight), ids, T); }
};

// Provided by the compiled library in compiled mode (core/config.hpp).
GROKSCOPE_EXTERN_STRUCT(Embedding)

}  // namespace grokscope
