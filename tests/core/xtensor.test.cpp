#include <grokscope/core/xtensor.hpp>

#include <doctest/doctest.h>

using namespace grokscope;

TEST_CASE("as_xtensor views a matrix without copying, in row-major order") {
  Matrix<double> m(2, 3);
  m << 1, 2, 3, 4, 5, 6;
  auto x = as_xtensor(m);
  REQUIRE(x.dimension() == 2);
  CHECK(x.shape()[0] == 2);
  CHECK(x.shape()[1] == 3);
  CHECK(x(1, 0) == 4);
  x(0, 2) = 30;  // writes through
  CHECK(m(0, 2) == 30);
  const Matrix<double>& cm = m;
  CHECK(as_xtensor(cm)(1, 2) == 6);
}

TEST_CASE("as_eigen maps rank-1 and rank-2 xtensor arrays") {
  xt::xarray<double> a = {{1.0, 2.0}, {3.0, 4.0}, {5.0, 6.0}};
  auto m = as_eigen<double>(a);
  CHECK(m.rows() == 3);
  CHECK(m.cols() == 2);
  CHECK(m(2, 1) == 6);
  m(0, 0) = -1;
  CHECK(a(0, 0) == -1);
  xt::xarray<double> v = {1.0, 2.0, 3.0};
  CHECK(as_eigen<double>(v).rows() == 3);
  xt::xarray<double> r3 = xt::xarray<double>::from_shape({2, 2, 2});
  CHECK_THROWS_WITH_AS(as_eigen<double>(r3), "grokscope::as_eigen: expected a rank-1 or rank-2 array, got rank 3",
                       std::invalid_argument);
}
