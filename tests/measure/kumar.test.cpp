#include <grokscope/core/rng.hpp>
#include <grokscope/measure/kumar.hpp>
#include <grokscope/nn/mlp.hpp>

#include <doctest/doctest.h>

#include <cmath>

using namespace grokscope;

namespace {
// Monte-Carlo test MSE of f(x) = (α/N) Σ φ(w_i·x) against c (β·x)² with x ~ N(0, I/D), written
// directly from the definitions (no sufficient statistics).
double monte_carlo_mse(const Eigen::MatrixXd& W, const Eigen::VectorXd& beta, double alpha, double eps, double c,
                       Index samples, std::uint64_t seed, const Eigen::MatrixXd& W0 = Eigen::MatrixXd()) {
  Rng rng(seed);
  const Index D = W.cols(), chunk = 10000;
  const double N = static_cast<double>(W.rows());
  double sum = 0;
  auto f_of = [&](const Eigen::MatrixXd& V, const Eigen::MatrixXd& X) {  // (chunk) values
    const Eigen::ArrayXXd h = (X * V.transpose()).array();
    return Eigen::ArrayXd(alpha / N * (h + 0.5 * eps * h.square()).rowwise().sum());
  };
  for (Index done = 0; done < samples; done += chunk) {
    const Eigen::MatrixXd X = rng.normal_matrix(chunk, D) / std::sqrt(double(D));  // x ~ N(0, I/D)
    Eigen::ArrayXd f = f_of(W, X);
    if (W0.size()) f -= f_of(W0, X);
    const Eigen::ArrayXd y = c * (X * beta).array().square();
    sum += (y - f).square().sum();
  }
  return sum / static_cast<double>((samples + chunk - 1) / chunk * chunk);
}
}  // namespace

TEST_CASE("Kumar et al.'s decomposition equals a 10^6-sample Monte-Carlo test loss (within 1 %)") {
  const Index D = 8, N = 5;
  Rng rng(3);
  const Eigen::MatrixXd W = rng.normal_matrix(N, D);
  const Eigen::VectorXd beta = rng.normal_matrix(D, 1);
  for (double c : {0.5, 1.0}) {
    const KumarDecomposition k = kumar_decomposition(W, beta, 1.3, 0.4, c);
    const double mc = monte_carlo_mse(W, beta, 1.3, 0.4, c, 1000000, 7);
    INFO("c = " << c << ": closed form " << k.total << ", Monte Carlo " << mc);
    CHECK(std::abs(k.total - mc) < 0.01 * mc);
    CHECK(k.total == doctest::Approx(k.variance + k.misalignment + k.linear_power));
  }
  // centered: statistics of θ − θ₀
  const Eigen::MatrixXd W0 = rng.normal_matrix(N, D);
  const KumarDecomposition kc = kumar_decomposition(W, beta, 0.8, 0.5, 0.5, W0);
  const double mcc = monte_carlo_mse(W, beta, 0.8, 0.5, 0.5, 1000000, 8, W0);
  CHECK(std::abs(kc.total - mcc) < 0.01 * mcc);
}

TEST_CASE("Kumar decomposition: the exact solution has zero loss, and the terms separate") {
  const Index D = 6;
  Rng rng(4);
  const Eigen::VectorXd beta = rng.normal_matrix(D, 1);
  const double alpha = 1.0, eps = 0.25;
  // M = ββᵀ/(αε), w̄ = 0 with two neurons ±β/√(αε) (their Fig. 10 construction): loss 0
  Eigen::MatrixXd W(2, D);
  W.row(0) = beta.transpose() / std::sqrt(alpha * eps);
  W.row(1) = -W.row(0);
  const KumarDecomposition k = kumar_decomposition(W, beta, alpha, eps);
  CHECK(k.total < 1e-20);
  // one neuron along β: w̄ ≠ 0, only the linear-power term changes with its sign... both give the
  // same quadratic part, so variance and misalignment are equal and the linear power is (α²/D)|β|²s²
  Eigen::MatrixXd V = W;
  V.row(1) = W.row(0);
  const KumarDecomposition kv = kumar_decomposition(V, beta, alpha, eps);
  CHECK(kv.variance == doctest::Approx(k.variance).epsilon(1e-12));
  CHECK(kv.misalignment == doctest::Approx(k.misalignment).epsilon(1e-12));
  CHECK(kv.linear_power == doctest::Approx(alpha * alpha / D * W.row(0).squaredNorm()).epsilon(1e-12));
}

TEST_CASE("Kumar decomposition matches grokscope's committee machine (convention B, centered)") {
  const Index D = 7, N = 9;
  const double alpha = 1.5, eps = 0.3;
  Mlp<double> m(MlpConfig::kumar(D, N, eps, alpha, true, 2));
  const Eigen::MatrixXd W0 = m.parameter("layers.0.weight").value;
  m.parameter("layers.0.weight").value += 0.4 * Rng(5).normal_matrix(N, D);
  const Eigen::MatrixXd W = m.parameter("layers.0.weight").value;
  const Eigen::VectorXd beta = Rng(6).normal_matrix(D, 1);
  // model MSE on x ~ N(0, I) against (β·x/√D)² — convention B is c = 1 on x/√D
  ModelInput<double> X;
  X.x = Rng(9).normal_matrix(400000, D);
  Tape<double> t;
  const Matrix<double> f = m.forward(t, X).value();
  const Eigen::ArrayXd y = (X.x * beta).array().square() / double(D);
  const double mc = (y - f.col(0).array()).square().mean();
  const KumarDecomposition k = kumar_decomposition(W, beta, alpha, eps, 1.0, W0);
  INFO("closed form " << k.total << ", model Monte Carlo " << mc);
  CHECK(std::abs(k.total - mc) < 0.015 * mc);
}

TEST_CASE("kumar_decomposition rejects mismatched shapes and non-finite input") {
  const Eigen::MatrixXd W = Eigen::MatrixXd::Ones(3, 4);
  CHECK_THROWS_WITH_AS(kumar_decomposition(W, Eigen::VectorXd::Ones(5), 1, 1), doctest::Contains("beta has 5"),
                       std::invalid_argument);
  CHECK_THROWS_AS(kumar_decomposition(W, Eigen::VectorXd::Ones(4), 1, 1, 0.5, Eigen::MatrixXd::Ones(2, 4)),
                  std::invalid_argument);
  Eigen::MatrixXd bad = W;
  bad(1, 1) = std::nan("");
  CHECK_THROWS_AS(kumar_decomposition(bad, Eigen::VectorXd::Ones(4), 1, 1), std::invalid_argument);
  CHECK_THROWS_AS(kumar_decomposition(W, Eigen::VectorXd::Ones(4), 1, 1, -1.0), std::invalid_argument);
}
