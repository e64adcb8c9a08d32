#include <grokscope/core/rng.hpp>
#include <grokscope/measure/fourier.hpp>

#include <doctest/doctest.h>

#include <cmath>

using namespace grokscope;

namespace {
// L[(a,b), c] = A Σ_{k∈K} cos(w_k (a + b − c)), the analytic test of REFERENCES §3.5.
Eigen::MatrixXd trig_logits(Index p, const std::vector<Index>& K, double A) {
  Eigen::MatrixXd L = Eigen::MatrixXd::Zero(p * p, p);
  for (Index a = 0; a < p; ++a)
    for (Index b = 0; b < p; ++b)
      for (Index c = 0; c < p; ++c)
        for (Index k : K)
          L(a * p + b, c) += A * std::cos(2 * M_PI * static_cast<double>(k * (a + b - c)) / static_cast<double>(p));
  return L;
}
}  // namespace

TEST_CASE("the Fourier basis is orthonormal and the 2-D DFT is invertible") {
  const Eigen::MatrixXd F = fourier_basis(13);
  CHECK((F * F.transpose() - Eigen::MatrixXd::Identity(13, 13)).cwiseAbs().maxCoeff() < 1e-12);
  Rng rng(1);
  const Eigen::MatrixXd L = rng.normal_matrix(169, 3);
  const Eigen::MatrixXd D = fourier_2d(L);
  CHECK(D.squaredNorm() == doctest::Approx(L.squaredNorm()));  // Parseval
  CHECK_THROWS_WITH_AS(fourier_basis(10), "grokscope::fourier_basis: p must be odd and >= 3, got 10",
                       std::invalid_argument);
  CHECK_THROWS_AS(fourier_2d(rng.normal_matrix(170, 1)), std::invalid_argument);
}

TEST_CASE("restricted and excluded losses on Σ_k cos(w_k(a+b−c)): the analytic values of REFERENCES §3.5") {
  const Index p = 113;
  const std::vector<Index> K{14, 35, 41, 42, 52};
  const Eigen::MatrixXd L = trig_logits(p, K, 2.0);
  IndexList labels(static_cast<std::size_t>(p * p)), rows;
  for (Index a = 0; a < p; ++a)
    for (Index b = 0; b < p; ++b) labels[static_cast<std::size_t>(a * p + b)] = (a + b) % p;
  for (Index r = 0; r < p * p; r += 7) rows.push_back(r);
  const double full = detail::grid_cross_entropy(L, labels, rows);
  CHECK((project_frequencies(L, K) - L).cwiseAbs().maxCoeff() < 1e-9);  // P_K(L) = L exactly
  CHECK(restricted_loss(L, labels, K, rows) == doctest::Approx(full).epsilon(1e-10));
  CHECK(excluded_loss(L, labels, K, rows) == doctest::Approx(std::log(113.0)).epsilon(1e-10));  // = ln 113 = 4.7274
  double previous = full;
  std::vector<Index> kept = K, removed;
  for (Index k : K) {  // excluding frequencies one by one: the loss of the logits built from the rest
    removed.push_back(k);
    kept.erase(std::find(kept.begin(), kept.end(), k));
    const double ex = excluded_loss(L, labels, removed, rows);
    const double want =
        kept.empty() ? std::log(113.0) : detail::grid_cross_entropy(trig_logits(p, kept, 2.0), labels, rows);
    CHECK(ex == doctest::Approx(want).epsilon(1e-9));
    CHECK(ex > previous);
    previous = ex;
  }
}

TEST_CASE("key frequencies of neurons that each carry one frequency") {
  const Index p = 31;
  Eigen::MatrixXd act(p * p, 3);
  const Index freqs[3] = {4, 11, 4};
  for (Index a = 0; a < p; ++a)
    for (Index b = 0; b < p; ++b)
      for (Index n = 0; n < 3; ++n)
        act(a * p + b, n) =
            std::pow(std::cos(2 * M_PI * freqs[n] * a / p + 0.3 * n) + std::cos(2 * M_PI * freqs[n] * b / p), 2);
  const KeyFrequencies kf = key_frequencies(act);
  CHECK(kf.neuron_frequency == IndexList{4, 11, 4});
  CHECK(kf.frequencies == std::vector<Index>{4, 11});
  CHECK(kf.explained.minCoeff() > 0.3);
}

TEST_CASE("Gini, inverse participation ratio and RQI on known cases") {
  CHECK(gini(Eigen::VectorXd::Ones(10)) == doctest::Approx(0.0).scale(1.0));
  Eigen::VectorXd one = Eigen::VectorXd::Zero(10);
  one(3) = 5;
  CHECK(gini(one) == doctest::Approx(0.9));  // (n − 1)/n
  CHECK(gini((Eigen::VectorXd(4) << 1, 2, 3, 4).finished()) == doctest::Approx(0.25));
  CHECK_THROWS_AS(gini((Eigen::VectorXd(2) << 1, -1).finished()), std::invalid_argument);
  Eigen::VectorXd w(64);
  for (Index i = 0; i < 64; ++i) w(i) = std::cos(2 * M_PI * 5 * i / 64.0);
  CHECK(inverse_participation_ratio(w) == doctest::Approx(1.0));  // a single frequency
  Rng rng(2);
  CHECK(inverse_participation_ratio(rng.normal_matrix(64, 1).col(0)) < 0.2);
  Eigen::MatrixXd lin(10, 2);
  for (Index k = 0; k < 10; ++k) lin.row(k) << 0.5 + 2.0 * k, -1.0 + 0.3 * k;
  CHECK(representation_quality_index(lin) == 1.0);  // E_k = a + k·b
  CHECK(representation_quality_index(rng.normal_matrix(10, 8)) < 0.05);
}

TEST_CASE("Fourier component norms: one frequency lands in its cos/sin pair, Parseval holds") {
  const Index p = 13, k = 4;
  Eigen::MatrixXd M(p, 3);
  for (Index x = 0; x < p; ++x) {
    const double w = 2 * M_PI * static_cast<double>(k * x) / static_cast<double>(p);
    M.row(x) << std::cos(w), 2 * std::sin(w), std::cos(w + 0.7);
  }
  const Eigen::VectorXd rows = fourier_component_norms(M);
  REQUIRE(rows.size() == p);
  CHECK(rows.squaredNorm() == doctest::Approx(M.squaredNorm()));
  for (Index f = 0; f < p; ++f)
    if (f != 2 * k - 1 && f != 2 * k) CHECK(rows(f) == doctest::Approx(0.0).scale(1.0));
  const Eigen::VectorXd freq = fourier_component_norms(M, true);
  REQUIRE(freq.size() == (p + 1) / 2);
  CHECK(freq(k) == doctest::Approx(M.norm()));
  CHECK(freq.squaredNorm() == doctest::Approx(M.squaredNorm()));
  // a constant column sits in the constant component only
  const Eigen::VectorXd c = fourier_component_norms(Eigen::MatrixXd::Constant(p, 1, 3.0), true);
  CHECK(c(0) == doctest::Approx(3.0 * std::sqrt(static_cast<double>(p))));
  CHECK(c.tail(c.size() - 1).norm() == doctest::Approx(0.0).scale(1.0));
  // one frequency out of six: Gini of the per-frequency norms is (n − 1)/n
  CHECK(gini(freq.tail(freq.size() - 1)) == doctest::Approx(5.0 / 6.0));
  CHECK_THROWS_WITH_AS(fourier_component_norms(Eigen::MatrixXd::Ones(12, 2)), doctest::Contains("p odd"),
                       std::invalid_argument);
  Eigen::MatrixXd bad = M;
  bad(2, 1) = std::nan("");
  CHECK_THROWS_WITH_AS(fourier_component_norms(bad), doctest::Contains("NaN"), std::invalid_argument);
}
