#include <grokscope/core/types.hpp>

#include <doctest/doctest.h>

using namespace grokscope;

TEST_CASE("Matrix is row-major: a sample is a contiguous row") {
  Matrix<double> m(2, 3);
  m << 1, 2, 3, 4, 5, 6;
  CHECK(m.data()[1] == 2);
  CHECK(m.data()[3] == 4);
  CHECK(Matrix<float>::IsRowMajor);
  CHECK(is_real_scalar_v<float>);
  CHECK(is_real_scalar_v<double>);
  CHECK_FALSE(is_real_scalar_v<int>);
}
