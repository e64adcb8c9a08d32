#include <grokscope/optim/adam.hpp>
#include <grokscope/optim/constant_norm.hpp>
#include <grokscope/optim/sgd.hpp>

#include <doctest/doctest.h>

#include <cmath>

using namespace grokscope;

TEST_CASE("ConstantNorm keeps ||theta|| at factor * ||theta_0|| after every step of the wrapped optimiser") {
  Parameter<double> w("w", Matrix<double>::Constant(2, 3, 0.5)), b("b", Matrix<double>::Constant(1, 3, -1.0));
  const double n0 = std::sqrt(6 * 0.25 + 3 * 1.0);
  Adam<double> adam({&w, &b}, AdamConfig::grokking(1.0));
  ConstantNorm<double> opt(adam, 0.5);
  CHECK(opt.target_norm() == doctest::Approx(0.5 * n0).epsilon(1e-15));
  for (int k = 0; k < 5; ++k) {
    w.grad.setConstant(0.3 * (k + 1));
    b.grad.setConstant(-0.2);
    opt.step(adam.lr());
    CHECK(opt.norm() == doctest::Approx(0.5 * n0).epsilon(1e-14));
  }
  CHECK(opt.lr() == adam.lr());
  CHECK(opt.config()["inner"]["optimizer"] == adam.config()["optimizer"]);
}

TEST_CASE("ConstantNorm is the inner step followed by a rescaling; frozen parameters stay; bad settings fail") {
  Parameter<double> w("w", Matrix<double>::Ones(2, 2)), frozen("f", Matrix<double>::Constant(1, 2, 4.0));
  frozen.requires_grad = false;
  Sgd<double> sgd({&w, &frozen}, SgdConfig{});
  ConstantNorm<double> opt(sgd, 1.0);  // ||w|| = 2 is kept
  w.grad << 1, 0, 0, -1;
  opt.step(0.5);  // SGD: w = [[0.5, 1], [1, 1.5]], norm sqrt(4.5), rescaled to 2
  const double f = 2.0 / std::sqrt(4.5);
  CHECK(w.value(0, 0) == doctest::Approx(0.5 * f));
  CHECK(w.value(1, 1) == doctest::Approx(1.5 * f));
  CHECK(frozen.value == Matrix<double>::Constant(1, 2, 4.0));
  CHECK_THROWS_AS(ConstantNorm<double>(sgd, 0.0), std::invalid_argument);
  Parameter<double> z("z", Matrix<double>::Zero(1, 1));
  Sgd<double> sz({&z}, SgdConfig{});
  CHECK_THROWS_WITH_AS(ConstantNorm<double>(sz, 1.0), doctest::Contains("initial norm must be finite and > 0"),
                       std::invalid_argument);
}
