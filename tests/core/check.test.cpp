#include <grokscope/core/check.hpp>
#include <grokscope/core/types.hpp>

#include <doctest/doctest.h>

#include <limits>

using namespace grokscope;

TEST_CASE("shape checks name the function, both operands and their shapes") {
  const Matrix<double> a = Matrix<double>::Zero(128, 4), b = Matrix<double>::Zero(64, 4);
  CHECK_THROWS_WITH_AS(require_same_shape("linear_cka", "X", a, "Y", b),
                       "grokscope::linear_cka: X is 128x4 but Y is 64x4 (expected equal shapes)",
                       std::invalid_argument);
  CHECK_NOTHROW(require_same_shape("f", "X", a, "Y", a));
  CHECK_THROWS_WITH_AS(require_nonempty("f", "X", Matrix<double>(0, 3)), "grokscope::f: X is empty (0x3)",
                       std::invalid_argument);
  CHECK(shape_string(a) == "128x4");
}

TEST_CASE("require_finite names the first non-finite entry") {
  Matrix<double> a = Matrix<double>::Zero(2, 2);
  CHECK_NOTHROW(require_finite("f", "a", a));
  a(1, 0) = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH_AS(require_finite("f", "a", a), "grokscope::f: a has a non-finite value nan at (1, 0)",
                       std::invalid_argument);
}

TEST_CASE("GROKSCOPE_ASSERT reports internal errors as std::logic_error") {
  CHECK_THROWS_AS(GROKSCOPE_ASSERT(1 + 1 == 3), std::logic_error);
  CHECK_NOTHROW(GROKSCOPE_ASSERT(1 + 1 == 2));
}
