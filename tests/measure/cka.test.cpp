#include <grokscope/core/rng.hpp>
#include <grokscope/io/npy.hpp>
#include <grokscope/measure/cka.hpp>

#include "../test_util.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>

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
  const Eigen::MatrixXd Q = test::householder_q(rng.normal_matrix(8, 8));
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

TEST_CASE("non-finite activations are an error naming the entry, not a 'constant' representation") {
  Rng rng(3);
  const Eigen::MatrixXd Y = rng.normal_matrix(20, 3);
  for (double bad : {std::nan(""), std::numeric_limits<double>::infinity()}) {
    Eigen::MatrixXd X = rng.normal_matrix(20, 3);
    X(4, 1) = bad;
    CAPTURE(bad);
    CHECK_THROWS_WITH_AS(linear_cka(X, Y), doctest::Contains("grokscope::linear_cka: X has a non-finite value"),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(rbf_cka(Y, X), doctest::Contains("Y has a non-finite value"), std::invalid_argument);
    CHECK_THROWS_AS(debiased_linear_cka(X, Y), std::invalid_argument);
    CHECK_THROWS_AS(cka_from_grams(X * X.transpose(), Y * Y.transpose()), std::invalid_argument);
    MinibatchCka mb;
    CHECK_THROWS_AS(mb.update(X, Y), std::invalid_argument);
    const Eigen::MatrixXf Xf = X.cast<float>();
    CHECK_THROWS_AS(linear_cka(Xf, Y.cast<float>().eval()), std::invalid_argument);
  }
}

TEST_CASE("scale invariance holds from 1e-300 to 1e300, on every route and in float") {
  Rng rng(5);
  const Eigen::MatrixXd X = rng.normal_matrix(40, 3), Y = rng.normal_matrix(40, 3) + 0.5 * X;
  const Eigen::MatrixXd Xw = rng.normal_matrix(10, 30), Yw = rng.normal_matrix(10, 30) + Xw;  // d > n: Gram route
  const double lin = linear_cka(X, Y).value, rbf = rbf_cka(X, Y).value, deb = debiased_linear_cka(X, Y).value;
  const double lin_w = linear_cka(Xw, Yw).value, deb_w = debiased_linear_cka(Xw, Yw).value;
  for (double s : {1e-300, 1e-150, 1e-75, 1e77, 1e150, 1e300}) {
    CAPTURE(s);
    const Eigen::MatrixXd Xs = X * s, Xws = Xw * s;
    CHECK(linear_cka(Xs, Y).value == doctest::Approx(lin).epsilon(1e-12));
    CHECK(linear_cka(Xs, Y).defined);
    CHECK(rbf_cka(Xs, Y).value == doctest::Approx(rbf).epsilon(1e-12));
    CHECK(debiased_linear_cka(Xs, Y).value == doctest::Approx(deb).epsilon(1e-10));
    CHECK(linear_cka(Xws, Yw).value == doctest::Approx(lin_w).epsilon(1e-12));
    CHECK(debiased_linear_cka(Xws, Yw).value == doctest::Approx(deb_w).epsilon(1e-10));
    const Eigen::MatrixXd Ks = (X * X.transpose()) * s;
    CHECK(cka_from_grams(Ks, Y * Y.transpose()).value ==
          doctest::Approx(cka_from_grams(X * X.transpose(), Y * Y.transpose()).value).epsilon(1e-12));
  }
  // an offset 10^6 times the spread, at a magnitude whose fourth power underflows
  const Eigen::MatrixXd Xo = (X * 1e-200).array() + 1e-194;
  CHECK(linear_cka(Xo, Y).value == doctest::Approx(lin).epsilon(1e-6));
  // float: tiny magnitudes (subnormal range) and large ones
  for (float s : {1e-38f, 1e30f}) {
    const Eigen::MatrixXf Xf = (X * static_cast<double>(s)).cast<float>(), Yf = Y.cast<float>();
    CHECK(linear_cka(Xf, Yf).value == doctest::Approx(lin).epsilon(1e-4));
  }
}

TEST_CASE("a constant representation whose mean is not exact is still reported as constant") {
  Rng rng(9);
  const Eigen::MatrixXd X = rng.normal_matrix(37, 3), C = Eigen::MatrixXd::Constant(37, 3, 0.1);
  for (const CkaResult& r : {linear_cka(C, X), rbf_cka(C, X), debiased_linear_cka(C, X)}) {
    CHECK_FALSE(r.defined);
    CHECK(r.value == 0);
  }
  const Eigen::MatrixXd K = Eigen::MatrixXd::Constant(37, 37, 0.1);
  CHECK_FALSE(cka_from_grams(K, X * X.transpose()).defined);
}

TEST_CASE("the Gram routes estimate their memory first and refuse with a message") {
  // 30 000 examples of one feature: RBF would hold several 7 GB matrices.
  const Eigen::MatrixXd X = Eigen::VectorXd::LinSpaced(30000, 0, 1), Y = X.array().square().matrix();
  ::setenv("GROKSCOPE_MAX_MEMORY", "4G", 1);
  CHECK_THROWS_WITH_AS(rbf_cka(X, Y),
                       doctest::Contains("grokscope::rbf_cka: the Gram route for n = 30000 examples needs about"),
                       std::runtime_error);
  CHECK_THROWS_AS(cka(X, Y, CkaKind::Rbf), std::runtime_error);
  // linear CKA of the same data takes the feature route: no n x n matrix, no refusal
  CHECK(linear_cka(X, Y).method == CkaMethod::Feature);
  CHECK(linear_cka(X, Y).value > 0.9);
  const Eigen::MatrixXd W = Eigen::MatrixXd::Zero(30000, 30000 / 1000);
  CHECK_NOTHROW(debiased_linear_cka(W.leftCols(3) + X.replicate(1, 3), Y.replicate(1, 3)));
  ::unsetenv("GROKSCOPE_MAX_MEMORY");
}
