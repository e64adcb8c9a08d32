// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file The one place xtensor is included, for its flat (<= 0.25) and nested (>= 0.26) layouts,
/// and zero-copy views between grokscope matrices and xtensor arrays.

#include <grokscope/core/check.hpp>
#include <grokscope/core/types.hpp>

#include <array>
#include <cstddef>

// xtensor's .npy encoder (with <regex>) is left to the one file that writes .npy files
// (io/detail/npy-inl.hpp), through GROKSCOPE_XTENSOR_NPY_HEADER: every other includer would parse and
// instantiate it for nothing.
#if __has_include(<xtensor/containers/xarray.hpp>)
#include <xtensor/containers/xadapt.hpp>
#include <xtensor/containers/xarray.hpp>
#define GROKSCOPE_XTENSOR_NPY_HEADER <xtensor/io/xnpy.hpp>
#else
#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>
#define GROKSCOPE_XTENSOR_NPY_HEADER <xtensor/xnpy.hpp>
#endif

namespace grokscope {

/// Row-major 2-D xtensor view over a matrix's storage (no copy; the matrix must outlive it).
template <typename S>
auto as_xtensor(Matrix<S>& m) {
  const std::array<std::size_t, 2> shape{static_cast<std::size_t>(m.rows()), static_cast<std::size_t>(m.cols())};
  return xt::adapt(m.data(), static_cast<std::size_t>(m.size()), xt::no_ownership(), shape);
}

/// Read-only row-major 2-D xtensor view over a matrix's storage (no copy).
template <typename S>
auto as_xtensor(const Matrix<S>& m) {
  const std::array<std::size_t, 2> shape{static_cast<std::size_t>(m.rows()), static_cast<std::size_t>(m.cols())};
  return xt::adapt(m.data(), static_cast<std::size_t>(m.size()), xt::no_ownership(), shape);
}

/// Eigen view (no copy) of a row-major xtensor array of rank 1 (as n × 1) or rank 2.
template <typename S, typename XArray>
Eigen::Map<Matrix<S>> as_eigen(XArray& a) {
  static_assert(std::is_same_v<typename XArray::value_type, S>, "as_eigen: scalar type mismatch");
  require(a.dimension() == 1 || a.dimension() == 2, "as_eigen",
          "expected a rank-1 or rank-2 array, got rank " + std::to_string(a.dimension()));
  require(a.layout() == xt::layout_type::row_major, "as_eigen", "expected a row-major array");
  const Index rows = static_cast<Index>(a.shape()[0]);
  const Index cols = a.dimension() == 2 ? static_cast<Index>(a.shape()[1]) : 1;
  return Eigen::Map<Matrix<S>>(a.data(), rows, cols);
}

}  // namespace grokscope
