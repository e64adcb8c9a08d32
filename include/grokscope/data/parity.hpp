// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Sparse (n, k)-parity (Merrill, Tsilivis & Shukla 2023; Barak et al. 2022): inputs in
/// {−1, +1}ⁿ, label the product of the k bits in a support S; an i.i.d. training set of size N
/// and a fixed test set drawn from its own seed.

#include <grokscope/core/check.hpp>
#include <grokscope/core/config.hpp>
#include <grokscope/core/rng.hpp>
#include <grokscope/data/dataset.hpp>

#include <string>

namespace grokscope {

/// Options of sparse_parity. Merrill et al.: n = 40, k = 3, N = 1000, test 100, S = first k bits.
struct ParityOptions {
  Index n = 40;
  Index k = 3;
  Index n_train = 1000;
  Index n_test = 100;
  IndexList support;               ///< bits in S; empty = the first k bits (the reference code)
  std::uint64_t train_seed = 0;    ///< seed of the training draws
  std::uint64_t test_seed = 2001;  ///< seed of the fixed test set (the reference code's seed)
};

/// The dataset: features (N + M) × n in {−1, +1}, targets ±1 (one column), labels 0 for −1 and
/// 1 for +1; train = first N rows, test = last M rows (independent draws, may repeat inputs).
GROKSCOPE_DEFERRED Dataset sparse_parity(const ParityOptions& o);

}  // namespace grokscope

#if GROKSCOPE_HEADER_ONLY
#include <grokscope/data/detail/parity-inl.hpp>
#endif
