// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Matrix and vector aliases shared by the whole library (samples are rows).

#include <Eigen/Dense>

#include <cstdint>
#include <type_traits>
#include <vector>

namespace grokscope {

/// Signed index type used for sizes and positions (Eigen's).
using Index = Eigen::Index;

/// Dense row-major matrix: one sample per row, so a sample is contiguous and C-order
/// `.npy` files round-trip without transposes.
template <typename S>
using Matrix = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// Dense column vector.
template <typename S>
using Vector = Eigen::Matrix<S, Eigen::Dynamic, 1>;

/// Dense row vector (a single sample, or a per-feature statistic).
template <typename S>
using RowVector = Eigen::Matrix<S, 1, Eigen::Dynamic>;

/// Integer ids (tokens, class labels, selected rows).
using IndexList = std::vector<Index>;

/// True for the floating-point types the numerical code is written for.
template <typename S>
inline constexpr bool is_real_scalar_v = std::is_same_v<S, float> || std::is_same_v<S, double>;

}  // namespace grokscope
