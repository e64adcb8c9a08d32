#include <grokscope/core/rng.hpp>
#include <grokscope/measure/cka.hpp>
#include <grokscope/measure/kernel.hpp>

#include "../test_util.hpp"

#include <doctest/doctest.h>

#include <cmath>

using namespace grokscope;

TEST_CASE("kernel regression interpolates the training targets and matches a direct solve") {
  Rng rng(1);
  const Eigen::MatrixXd X = rng.normal_matrix(30, 5), Xt = rng.normal_matrix(10, 5);
  auto rbf = [](const Eigen::MatrixXd& A, const Eigen::MatrixXd& B) {
    Eigen::MatrixXd K(A.rows(), B.rows());
    for (Index i = 0; i < A.rows(); ++i)
      for (Index j = 0; j < B.rows(); ++j) K(i, j) = std::exp(-0.5 * (A.row(i) - B.row(j)).squaredNorm());
    return K;
  };
  const Eigen::MatrixXd y = X.rowwise().sum().array().sin().matrix(), yt = Xt.rowwise().sum().array().sin().matrix();
  const KernelRegressionResult r = kernel_regression(rbf(X, X), y, rbf(X, X), 0.0);
  CHECK(r.solver == KernelSolve::Cholesky);
  CHECK((r.predictions - y).cwiseAbs().maxCoeff() < 1e-6);
  const KernelRegressionResult t = kernel_regression(rbf(X, X), y, rbf(Xt, X), 1e-3, yt);
  const Eigen::MatrixXd direct = rbf(Xt, X) * (rbf(X, X) + 1e-3 * Eigen::MatrixXd::Identity(30, 30)).ldlt().solve(y);
  CHECK((t.predictions - direct).cwiseAbs().maxCoeff() < 1e-9);
  CHECK(t.test_mse == doctest::Approx((direct - yt).squaredNorm() / 10));
}

TEST_CASE("a rank-deficient kernel falls back to the pseudo-inverse and says so") {
  Rng rng(2);
  const Eigen::MatrixXd F = rng.normal_matrix(20, 3);
  const Eigen::MatrixXd K = F * F.transpose();            // rank 3
  const Eigen::MatrixXd y = F * rng.normal_matrix(3, 1);  // in the kernel's range
  const KernelRegressionResult r = kernel_regression(K, y, K);
  CHECK(r.solver == KernelSolve::PseudoInverse);
  CHECK(r.rank == 3);
  CHECK((r.predictions - y).cwiseAbs().maxCoeff() < 1e-8);
  CHECK_THROWS_WITH_AS(kernel_regression(K, y.topRows(5), K),
                       "grokscope::kernel_regression: y_train is 5x1 but K_train is 20x20", std::invalid_argument);
  Eigen::MatrixXd bad = K;
  bad(0, 0) = std::nan("");
  CHECK_THROWS_AS(kernel_regression(bad, y, K), std::invalid_argument);
}

TEST_CASE("centered alignment equals linear CKA between K and yyᵀ; Kumar's variant shares the numerator") {
  Rng rng(3);
  const Eigen::MatrixXd F = rng.normal_matrix(25, 6);
  const Eigen::MatrixXd K = F * F.transpose() + Eigen::MatrixXd::Identity(25, 25);
  const Eigen::MatrixXd y = F.col(0) + 0.3 * rng.normal_matrix(25, 1);
  const double a = centered_alignment(K, y);
  CHECK(a == doctest::Approx(cka_from_grams(K, y * y.transpose()).value).epsilon(1e-12));
  CHECK(a > 0.2);
  CHECK(centered_alignment(y * y.transpose(), y) == doctest::Approx(1.0));
  const double k = kumar_alignment(K, y);
  Eigen::MatrixXd Kc = K;
  Kc.rowwise() -= Kc.colwise().mean();
  Eigen::MatrixXd Hk = Kc;
  Hk.colwise() -= Hk.rowwise().mean();
  CHECK(k * Kc.norm() == doctest::Approx(a * Hk.norm()).epsilon(1e-10));  // same numerator over ‖y_c‖²
  CHECK(centered_alignment(K, Eigen::MatrixXd::Ones(25, 1)) == 0.0);      // constant target: defined as 0
}

TEST_CASE("kernel distance: 0 for proportional kernels, symmetric, velocity per step") {
  Rng rng(4);
  const Eigen::MatrixXd A = rng.normal_matrix(10, 10), B = rng.normal_matrix(10, 10);
  const Eigen::MatrixXd K0 = A * A.transpose(), K1 = B * B.transpose();
  CHECK(kernel_distance(K0, 3.0 * K0) == doctest::Approx(0.0).scale(1.0));
  CHECK(kernel_distance(K0, K1) == doctest::Approx(kernel_distance(K1, K0)));
  CHECK(kernel_distance(K0, K1) > 0);
  CHECK(kernel_velocity(K0, K1, 10.0) == doctest::Approx(kernel_distance(K0, K1) / 10));
  CHECK_THROWS_AS(kernel_distance(K0, K1.topRows(3)), std::invalid_argument);
  CHECK_THROWS_AS(kernel_velocity(K0, K1, 0.0), std::invalid_argument);
}

TEST_CASE("spectrum: descending eigenpairs, effective rank and participation ratio, target fraction") {
  const Eigen::VectorXd l = (Eigen::VectorXd(4) << 4, 3, 2, 1).finished();
  Rng rng(5);
  const Eigen::MatrixXd Q = test::householder_q(rng.normal_matrix(4, 4));
  const Eigen::MatrixXd K = Q * l.asDiagonal() * Q.transpose();
  const KernelSpectrum s = kernel_spectrum(K);
  CHECK((s.eigenvalues - l).cwiseAbs().maxCoeff() < 1e-12);
  CHECK((K * s.eigenvectors.col(0) - 4.0 * s.eigenvectors.col(0)).norm() < 1e-12);
  CHECK(s.participation_ratio() == doctest::Approx(100.0 / 30.0));
  double h = 0;
  for (double v : {4.0, 3.0, 2.0, 1.0}) h -= v / 10 * std::log(v / 10);
  CHECK(s.effective_rank() == doctest::Approx(std::exp(h)));
  const Eigen::VectorXd y = s.eigenvectors.col(1);
  CHECK(s.target_fraction(y, 1) == doctest::Approx(0.0).scale(1.0));
  CHECK(s.target_fraction(y, 2) == doctest::Approx(1.0));
  const KernelSpectrum flat = kernel_spectrum(Eigen::MatrixXd::Identity(5, 5));
  CHECK(flat.effective_rank() == doctest::Approx(5.0));
  CHECK(flat.participation_ratio() == doctest::Approx(5.0));
  CHECK_THROWS_AS(kernel_spectrum(Eigen::MatrixXd::Zero(2, 3)), std::invalid_argument);
}
