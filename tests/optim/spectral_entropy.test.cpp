#include <grokscope/core/rng.hpp>
#include <grokscope/optim/spectral_entropy.hpp>

#include "fixture_util.hpp"

#include <doctest/doctest.h>

#include <cmath>

using namespace grokscope;

namespace {
Matrix<double> entropy_fx(const std::string& name) {
  return load_npy<double>(test::fixture("torch/spectral_entropy/" + name + ".npy"));
}
}  // namespace

TEST_CASE("spectral_entropy: ln n for the identity, 0 at rank 1, exp H between 1 and the rank") {
  for (int n : {1, 2, 5, 17})
    CHECK(spectral_entropy(Eigen::MatrixXd::Identity(n, n)) == doctest::Approx(std::log(n)).epsilon(1e-8));
  // at eps = 0 the identity is exactly ln n
  CHECK(spectral_entropy(Eigen::MatrixXd::Identity(7, 7), 0.0) == doctest::Approx(std::log(7.0)).epsilon(1e-14));
  Rng rng(3);
  const Eigen::VectorXd u = rng.normal_matrix<double>(9, 1), v = rng.normal_matrix<double>(6, 1);
  CHECK(std::abs(spectral_entropy(u * v.transpose())) < 1e-8);
  const Eigen::MatrixXd W = rng.normal_matrix<double>(9, 6);
  const double H = spectral_entropy(W);
  CHECK(H > 0);
  CHECK(std::exp(H) < 6.0);
  // invariant under scaling and under orthogonal maps on either side
  CHECK(spectral_entropy(3.5 * W) == doctest::Approx(H).epsilon(1e-12));
  const Eigen::HouseholderQR<Eigen::MatrixXd> qr(rng.normal_matrix<double>(9, 9));
  const Eigen::MatrixXd Q = qr.householderQ();
  CHECK(spectral_entropy(Q * W) == doctest::Approx(H).epsilon(1e-12));
  CHECK(spectral_entropy(Eigen::MatrixXd::Zero(3, 4)) == 0.0);
}

TEST_CASE("spectral_entropy_gradient matches central differences and PyTorch's autograd") {
  Rng rng(8);
  for (const auto& shape : {std::pair<int, int>{5, 3}, {4, 7}, {6, 6}}) {
    const Eigen::MatrixXd W = rng.normal_matrix<double>(shape.first, shape.second);
    Eigen::MatrixXd G;
    const double H = spectral_entropy_gradient(W, G);
    CHECK(H == doctest::Approx(spectral_entropy(W)).epsilon(1e-14));
    REQUIRE(G.rows() == W.rows());
    REQUIRE(G.cols() == W.cols());
    double worst = 0;
    const double h = 1e-6;
    for (Index i = 0; i < W.rows(); ++i)
      for (Index j = 0; j < W.cols(); ++j) {
        Eigen::MatrixXd P = W, M = W;
        P(i, j) += h, M(i, j) -= h;
        const double fd = (spectral_entropy(P) - spectral_entropy(M)) / (2 * h);
        worst = std::max(worst, std::abs(fd - G(i, j)) / std::max(1.0, std::abs(fd)));
      }
    CHECK(worst < 1e-7);
    // H is scale-invariant, so the gradient is orthogonal to W
    CHECK(std::abs(G.cwiseProduct(W).sum()) < 1e-12);
  }
  // the fixture: two matrices, the regulariser's mean, autograd through torch.linalg.svdvals
  const Matrix<double> a = entropy_fx("a"), b = entropy_fx("b"), H = entropy_fx("H");
  Eigen::MatrixXd ga, gb;
  CHECK(spectral_entropy_gradient(a, ga) == doctest::Approx(H(0, 0)).epsilon(1e-13));
  CHECK(spectral_entropy_gradient(b, gb) == doctest::Approx(H(0, 1)).epsilon(1e-13));
  Parameter<double> pa("a", a), pb("b", b), bias("bias", Matrix<double>::Ones(1, 4));
  SpectralEntropyPenalty<double> pen(1.0);
  pen.apply({&pa, &pb, &bias});
  CHECK((pa.grad - entropy_fx("grad.a")).cwiseAbs().maxCoeff() < 1e-12);
  CHECK((pb.grad - entropy_fx("grad.b")).cwiseAbs().maxCoeff() < 1e-12);
  CHECK(bias.grad.cwiseAbs().maxCoeff() == 0.0);  // a vector is not a weight matrix
  CHECK(pen.last_penalty() == doctest::Approx((H(0, 0) + H(0, 1)) / 2).epsilon(1e-13));
}

TEST_CASE("SpectralEntropyPenalty: adds beta times the mean's gradient to the loss gradient, in float too") {
  Rng rng(2);
  Parameter<float> w("w", rng.normal_matrix<float>(8, 5)), frozen("f", rng.normal_matrix<float>(4, 4));
  frozen.requires_grad = false;
  w.grad = Matrix<float>::Constant(8, 5, 0.25f);
  Eigen::MatrixXd G;
  spectral_entropy_gradient(w.value.cast<double>(), G);
  SpectralEntropyPenalty<float> pen(0.1);
  pen.apply({&w, &frozen});
  CHECK((w.grad.cast<double>() - (Eigen::MatrixXd::Constant(8, 5, 0.25) + 0.1 * G)).cwiseAbs().maxCoeff() < 1e-6);
  CHECK(frozen.grad.cwiseAbs().maxCoeff() == 0.0f);
  CHECK(pen.config()["filter"] == "spectral_entropy");
  CHECK(pen.config()["beta"] == 0.1);
  CHECK(mean_spectral_entropy(std::vector<Parameter<float>*>{&w, &frozen}) ==
        doctest::Approx(spectral_entropy(w.value.cast<double>())).epsilon(1e-6));
}

TEST_CASE("spectral entropy: bad input is named") {
  Eigen::MatrixXd G;
  CHECK_THROWS_WITH_AS(spectral_entropy(Eigen::MatrixXd(0, 3)), "grokscope::spectral_entropy: the matrix is empty",
                       std::invalid_argument);
  Eigen::MatrixXd nan = Eigen::MatrixXd::Ones(2, 2);
  nan(1, 0) = std::nan("");
  CHECK_THROWS_WITH_AS(spectral_entropy_gradient(nan, G),
                       "grokscope::spectral_entropy_gradient: the matrix has a NaN or Inf entry",
                       std::invalid_argument);
  CHECK_THROWS_AS(spectral_entropy(Eigen::MatrixXd::Ones(2, 2), -1.0), std::invalid_argument);
  CHECK_THROWS_WITH_AS(SpectralEntropyPenalty<double>(-0.5),
                       "grokscope::SpectralEntropyPenalty: beta must be finite and >= 0, got -0.500000",
                       std::invalid_argument);
}
