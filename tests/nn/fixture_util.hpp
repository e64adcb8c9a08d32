// Loading PyTorch fixtures (tests/fixtures/make_fixtures.py) into grokscope models.
#pragma once

#include <grokscope/io/npy.hpp>
#include <grokscope/nn/model.hpp>

#include "../test_util.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>

namespace grokscope::test {

inline std::string torch_case(const std::string& c) { return fixture("torch/" + c); }

/// Matrix from a fixture file (rank 1 -> 1 x n row, as biases are stored).
inline Matrix<double> load_fixture(const std::string& c, const std::string& name) {
  NpyArray<double> a = load_npy_array<double>(torch_case(c) + "/" + name + ".npy");
  const Index rows = a.shape.empty() ? 1 : static_cast<Index>(a.shape[0]);
  const Index cols = rows == 0 ? 0 : static_cast<Index>(a.data.size()) / rows;
  Matrix<double> m(rows, cols);
  std::copy(a.data.begin(), a.data.end(), m.data());
  return m;
}

/// Sets every parameter of `m` from `<prefix><name>.npy` of a fixture case.
inline void load_model(Model<double>& m, const std::string& c, const std::string& prefix = "") {
  for (Parameter<double>* p : m.parameters()) {
    const Matrix<double> v = load_fixture(c, prefix + p->name);
    REQUIRE_MESSAGE(v.rows() == p->rows(), p->name);
    REQUIRE_MESSAGE(v.cols() == p->cols(), p->name);
    p->value = v;
  }
}

/// Largest |a − b| relative to the largest |b| (floored at 1e-6, so that tensors that are zero
/// up to rounding, such as the gradient of a key bias, compare absolutely).
inline double rel_diff(const Matrix<double>& a, const Matrix<double>& b) {
  REQUIRE(a.rows() == b.rows());
  REQUIRE(a.cols() == b.cols());
  const double scale = std::max(b.cwiseAbs().maxCoeff(), 1e-6);
  return (a - b).cwiseAbs().maxCoeff() / scale;
}

}  // namespace grokscope::test
