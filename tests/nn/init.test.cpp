#include <grokscope/nn/init.hpp>

#include <doctest/doctest.h>

#include <cmath>

using namespace grokscope;

TEST_CASE("PyTorch nn.Linear default init: U(−1/√fan_in, 1/√fan_in), variance 1/(3 fan_in)") {
  Rng rng(4);
  const Matrix<double> W = pytorch_linear_weight<double>(rng, 400, 100);
  CHECK(W.cwiseAbs().maxCoeff() <= 0.1);
  const double var = W.array().square().mean();
  CHECK(var == doctest::Approx(1.0 / 300).epsilon(0.02));
  CHECK(pytorch_linear_bias<double>(rng, 7, 100).cols() == 7);
  CHECK_THROWS_AS(pytorch_linear_weight<double>(rng, 0, 3), std::invalid_argument);
}

TEST_CASE("forward multipliers of the parameterisations") {
  CHECK(forward_multiplier(Parameterization::Standard, 64, false) == 1.0);
  CHECK(forward_multiplier(Parameterization::Ntk, 64, true) == 0.125);
  CHECK(forward_multiplier(Parameterization::MeanField, 64, false) == 0.125);
  CHECK(forward_multiplier(Parameterization::MeanField, 64, true) == 1.0 / 64);
  CHECK(std::string(parameterization_name(Parameterization::MeanField)) == "mean_field");
}
