// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// Heavy-tailed self-regularisation (measure/heavy_tail.hpp) against known answers: the exponent
// of Pareto samples, no traps in an i.i.d. Gaussian matrix, traps after planting a common mean or
// a few large entries.
#include <grokscope/measure/heavy_tail.hpp>

#include <grokscope/core/rng.hpp>

#include <doctest/doctest.h>

#include <cmath>

using namespace grokscope;

TEST_CASE("fit_power_law: 10^4 Pareto samples with alpha = 2.5 give alpha within 0.05") {
  Rng rng(3);
  const double alpha = 2.5;
  Eigen::VectorXd x(10000);
  for (Index i = 0; i < x.size(); ++i) x(i) = std::pow(1.0 - rng.uniform(0.0, 1.0), -1.0 / (alpha - 1.0));  // xmin 1
  const PowerLawFit f = fit_power_law(x);
  CHECK(f.alpha == doctest::Approx(alpha).epsilon(0.02));
  CHECK(std::abs(f.alpha - alpha) < 0.05);
  CHECK(f.n == 10000);
  CHECK(f.n_tail > 1000);  // the whole sample is a power law: the tail is most of it
  CHECK(f.xmin < 2.0);
  CHECK(f.ks < 0.02);
  // a power law glued above uniform noise: the fit finds the tail's start
  Eigen::VectorXd y(12000);
  for (Index i = 0; i < 10000; ++i) y(i) = 5.0 * x(i);
  for (Index i = 10000; i < 12000; ++i) y(i) = rng.uniform(0.1, 5.0);
  const PowerLawFit g = fit_power_law(y);
  CHECK(std::abs(g.alpha - alpha) < 0.1);
  CHECK(g.xmin >= 4.0);
}

TEST_CASE("fit_power_law: bad input is named") {
  Eigen::VectorXd x = Eigen::VectorXd::LinSpaced(20, 1.0, 2.0);
  CHECK_THROWS_WITH(fit_power_law(x, 30), doctest::Contains("20 positive values, fewer than min_tail = 30"));
  CHECK_THROWS_WITH(fit_power_law(x, 1), doctest::Contains("min_tail must be >= 2"));
  x(3) = NAN;
  CHECK_THROWS_WITH(fit_power_law(x), doctest::Contains("value 3 is"));
  x(3) = -1;
  CHECK_THROWS_WITH(fit_power_law(x), doctest::Contains("must be finite and >= 0"));
  CHECK_THROWS_WITH(fit_power_law(Eigen::VectorXd::Constant(50, 2.0)), doctest::Contains("no tail"));
  // zeros are dropped (a matrix's null space), not refused
  Eigen::VectorXd z = Eigen::VectorXd::Zero(40);
  z.head(20) = Eigen::VectorXd::LinSpaced(20, 1.0, 3.0);
  CHECK(fit_power_law(z).n == 20);
}

TEST_CASE("esd_eigenvalues: sigma^2 / N with W oriented N x M, N >= M") {
  Eigen::MatrixXd W = Eigen::MatrixXd::Zero(5, 3);
  W(0, 0) = 2, W(1, 1) = 1, W(2, 2) = 3;
  const Eigen::VectorXd e = esd_eigenvalues(W), et = esd_eigenvalues(W.transpose());
  CHECK(e(0) == doctest::Approx(9.0 / 5));
  CHECK(e(1) == doctest::Approx(4.0 / 5));
  CHECK(e(2) == doctest::Approx(1.0 / 5));
  CHECK((e - et).norm() < 1e-14);
  CHECK_THROWS_WITH(esd_eigenvalues(Eigen::MatrixXd(0, 3)), doctest::Contains("empty"));
}

TEST_CASE("correlation_traps: none in an i.i.d. Gaussian matrix, some after a common mean or large entries") {
  Rng rng(11);
  const Eigen::MatrixXd W = rng.normal_matrix(400, 200);
  const CorrelationTraps clean = correlation_traps(W, 1);
  CHECK(clean.traps == 0);
  CHECK(clean.sigma2 == doctest::Approx(1.0).epsilon(0.02));
  CHECK(clean.lambda_plus == doctest::Approx(clean.sigma2 * std::pow(1 + std::sqrt(0.5), 2)));
  CHECK(clean.largest < clean.lambda_plus + 2.02 * clean.tracy_widom);
  CHECK(clean.largest > 0.9 * clean.lambda_plus);  // the bulk reaches its edge
  // the same answer for the transposed matrix (the spectrum is oriented N >= M either way)
  CHECK(correlation_traps(W.transpose(), 1).traps == 0);
  // a common mean: shuffling keeps it, and it adds an eigenvalue near m² M
  const Eigen::MatrixXd shifted = W.array() + 0.5;
  const CorrelationTraps mean = correlation_traps(shifted, 1);
  CHECK(mean.traps >= 1);
  CHECK(mean.largest == doctest::Approx(0.25 * 200).epsilon(0.15));
  // a few very large entries stay large wherever the shuffle puts them
  Eigen::MatrixXd spiky = W;
  spiky(3, 4) = 60, spiky(100, 7) = -60, spiky(250, 150) = 60;
  CHECK(correlation_traps(spiky, 1).traps >= 1);
  CHECK_THROWS_WITH(correlation_traps(Eigen::MatrixXd::Ones(1, 5)), doctest::Contains("needs at least 2x2"));
  Eigen::MatrixXd bad = W;
  bad(0, 0) = INFINITY;
  CHECK_THROWS_WITH(correlation_traps(bad), doctest::Contains("non-finite"));
}
