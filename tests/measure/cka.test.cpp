#include <grokscope/core/rng.hpp>
#include <grokscope/io/npy.hpp>
#include <grokscope/measure/cka.hpp>

#include "../test_util.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <fstream>

using namespace grokscope;

namespace {
struct Demo {
  Eigen::MatrixXd X, Y;
  nlohmann::json ref;
  Demo() {
    X = load_npy<double>(test::fixture("cka/X.npy"));
    Y = load_npy<double>(test::fixture("cka/Y.npy"));
    std::ifstream in(test::fixture("cka/reference.json"));
    ref = nlohmann::json::parse(in);
  }
};
}  // namespace

TEST_CASE("Kornblith et al.'s demo values: linear 0.55761, RBF(0.5) 0.65483, debiased 0.51346") {
  const Demo d;
  const CkaResult lin = linear_cka(d.X, d.Y);
  CHECK(lin.method == CkaMethod::Feature);
  CHECK(lin.value == doctest::Approx(0.55761).epsilon(1e-5));
  CHECK(lin.value == doctest::Approx(d.ref["linear"].get<double>()).epsilon(1e-12));
  CHECK(cka_from_grams(gram_linear(d.X), gram_linear(d.Y)).value == doctest::Approx(lin.value).epsilon(1e-12));
  CHECK(rbf_cka(d.X, d.Y, 0.5).value == doctest::Approx(0.65483).epsilon(1e-5));
  CHECK(rbf_cka(d.X, d.Y, 0.5).value == doctest::Approx(d.ref["rbf_0.5"].get<double>()).epsilon(1e-12));
  CHECK(rbf_cka(d.X, d.Y, 2.0).value == doctest::Approx(d.ref["rbf_2.0"].get<double>()).epsilon(1e-12));
  CHECK(rbf_cka(d.X, d.Y, 0.5, true).value == doctest::Approx(d.ref["debiased_rbf_0.5"].get<double>()).epsilon(1e-12));
  const CkaResult deb = debiased_linear_cka(d.X, d.Y);
  CHECK(deb.value == doctest::Approx(0.51346).epsilon(1e-5));
  CHECK(deb.value == doctest::Approx(d.ref["debiased_linear"].get<double>()).epsilon(1e-12));
  CHECK(cka_from_grams(gram_linear(d.X), gram_linear(d.Y), true).value == doctest::Approx(deb.value).epsilon(1e-12));
}

TEST_CASE("invariants: CKA(X, X) = 1, symmetry, orthogonal and isotropic-scaling invariance") {
  Rng rng(3);
  const Eigen::MatrixXd X = rng.normal_matrix(50, 8), Y = rng.normal_matrix(50, 12);
  CHECK(linear_cka(X, X).value == doctest::Approx(1.0).epsilon(1e-12));
  CHECK(rbf_cka(X, X).value == doctest::Approx(1.0).epsilon(1e-12));
  CHECK(debiased_linear_cka(X, X).value == doctest::Approx(1.0).epsilon(1e-12));
  CHECK(linear_cka(X, Y).value == doctest::Approx(linear_cka(Y, X).value).epsilon(1e-12));
  const Eigen::MatrixXd Q = Eigen::HouseholderQR<Eigen::MatrixXd>(rng.normal_matrix(8, 8)).householderQ();
  CHECK(linear_cka(X * Q, Y).value == doctest::Approx(linear_cka(X, Y).value).epsilon(1e-10));
  CHECK(linear_cka(3.7 * X, Y).value == doctest::Approx(linear_cka(X, Y).value).epsilon(1e-12));
  CHECK(rbf_cka(X * Q, Y).value == doctest::Approx(rbf_cka(X, Y).value).epsilon(1e-10));
  // a general invertible linear map changes linear CKA
  const Eigen::MatrixXd A = rng.normal_matrix(8, 8) + 3 * Eigen::MatrixXd::Identity(8, 8);
  CHECK(std::abs(linear_cka(X * A, Y).value - linear_cka(X, Y).value) > 1e-4);
}

TEST_CASE("feature and Gram forms agree, also when d > n (Gram path)") {
  Rng rng(4);
  const Eigen::MatrixXd X = rng.normal_matrix(20, 50), Y = rng.normal_matrix(20, 30) + X.leftCols(30);
  const CkaResult g = linear_cka(X, Y);
  CHECK(g.method == CkaMethod::Gram);
  const Eigen::MatrixXd Xs = X.leftCols(10), Ys = Y.leftCols(10);
  CHECK(linear_cka(Xs, Ys).value ==
        doctest::Approx(cka_from_grams(gram_linear(Xs), gram_linear(Ys)).value).epsilon(1e-12));
  CHECK(debiased_linear_cka(X, Y).method == CkaMethod::Gram);
}

TEST_CASE("debiased CKA is about 0 on independent data; the biased one is not") {
  double biased = 0, debiased = 0;
  for (std::uint64_t s = 0; s < 10; ++s) {
    Rng rng(100 + s);
    const Eigen::MatrixXd X = rng.normal_matrix(40, 30), Y = rng.normal_matrix(40, 30);
    biased += linear_cka(X, Y).value / 10;
    debiased += debiased_linear_cka(X, Y).value / 10;
  }
  CHECK(std::abs(debiased) < 0.03);
  CHECK(biased > 0.3);  // the biased estimator's well-known small-n inflation
}

TEST_CASE("float data with a large offset stays accurate (centred in double first)") {
  Rng rng(5);
  const Eigen::MatrixXd X = rng.normal_matrix(60, 5), Y = X * rng.normal_matrix(5, 5) + 0.1 * rng.normal_matrix(60, 5);
  const Matrix<float> Xf = (X.array() + 1e4).cast<float>().matrix(), Yf = (Y.array() - 3e4).cast<float>().matrix();
  CHECK(linear_cka(Xf, Yf).value == doctest::Approx(linear_cka(X, Y).value).epsilon(1e-3));
}

TEST_CASE("minibatch CKA accumulates unbiased HSIC; one batch equals debiased CKA") {
  Rng rng(6);
  const Eigen::MatrixXd X = rng.normal_matrix(64, 6), Y = X + rng.normal_matrix(64, 6);
  MinibatchCka one;
  one.update(X, Y);
  CHECK(one.value().value == doctest::Approx(debiased_linear_cka(X, Y).value).epsilon(1e-12));
  MinibatchCka many;
  for (Index b = 0; b < 64; b += 16) many.update(X.middleRows(b, 16), Y.middleRows(b, 16));
  CHECK(many.value().value == doctest::Approx(one.value().value).epsilon(0.2));
  CHECK(many.value().value > 0.3);
  CHECK_THROWS_WITH_AS(MinibatchCka{}.value(), "grokscope::MinibatchCka::value: no batches were added",
                       std::invalid_argument);
}

TEST_CASE("CKA matrix; constant representations give a documented result, not NaN") {
  Rng rng(7);
  const Eigen::MatrixXd X = rng.normal_matrix(30, 4), Y = rng.normal_matrix(30, 4);
  const Eigen::MatrixXd M = cka_matrix({X, Y}, {X, Y, X});
  CHECK(M.rows() == 2);
  CHECK(M.cols() == 3);
  CHECK(M(0, 0) == doctest::Approx(1.0));
  CHECK(M(1, 1) == doctest::Approx(1.0));
  CHECK(M(0, 1) == doctest::Approx(M(1, 0)));
  const Eigen::MatrixXd C = Eigen::MatrixXd::Constant(30, 4, 2.5);
  const CkaResult r = linear_cka(C, X);
  CHECK_FALSE(r.defined);
  CHECK(r.value == 0.0);
  CHECK(r.note == "X is constant across examples: CKA is undefined (reported as 0)");
  CHECK_FALSE(rbf_cka(X, C).defined);
  CHECK_FALSE(debiased_linear_cka(X, C).defined);
  CHECK_THROWS_WITH_AS(linear_cka(X, rng.normal_matrix(20, 4)),
                       "grokscope::linear_cka: X has 30 rows but Y has 20 (rows are examples)", std::invalid_argument);
  CHECK_THROWS_AS(rbf_cka(X, Y, 0.0), std::invalid_argument);
  CHECK_THROWS_AS(debiased_linear_cka(X.topRows(3), Y.topRows(3)), std::invalid_argument);
}
