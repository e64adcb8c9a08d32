#include <grokscope/core/rng.hpp>
#include <grokscope/measure/complexity.hpp>
#include <grokscope/nn/mlp.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <vector>

using namespace grokscope;

namespace {

// A bias-free linear map y = W x (W: out × in) as an Mlp without hidden layers.
Mlp<double> linear_map(Index in, Index out) {
  MlpConfig c;
  c.input = in, c.output = out, c.bias = false, c.seed = 4;
  return Mlp<double>(c);
}

ModelInput<double> dense(const Matrix<double>& X) {
  ModelInput<double> in;
  in.x = X;
  return in;
}

LossFn<double> mse_on(const Matrix<double>& X, const Matrix<double>& Y) {
  const ModelInput<double> in = dense(X);
  return [in, Y](Tape<double>& t, Model<double>& m) { return mse(m.forward(t, in), t.constant(Y)); };
}

LossFn<double> ce_on(const Matrix<double>& X, const IndexList& y) {
  const ModelInput<double> in = dense(X);
  return [in, y](Tape<double>& t, Model<double>& m) { return cross_entropy(m.forward(t, in), y); };
}

}  // namespace

TEST_CASE("rank_for_threshold: the smallest k whose cumulative share reaches tau (Eq. 13)") {
  const Eigen::VectorXd s = (Eigen::VectorXd(4) << 4, 3, 2, 1).finished();  // shares .4 .7 .9 1
  CHECK(rank_for_threshold(s, 0.0) == 1);
  CHECK(rank_for_threshold(s, 0.4) == 1);  // exactly at the boundary: k = 1 (the authors' code: 0)
  CHECK(rank_for_threshold(s, 0.41) == 2);
  CHECK(rank_for_threshold(s, 0.7) == 2);
  CHECK(rank_for_threshold(s, 0.95) == 4);
  CHECK(rank_for_threshold(s, 1.0) == 4);
  CHECK(rank_for_threshold(Eigen::VectorXd::Zero(3), 0.5) == 1);
  CHECK_THROWS_AS(rank_for_threshold(s, 1.5), std::invalid_argument);
}

TEST_CASE("coarse_grain: weights on the quantisation grid are kept exactly; factors when they are smaller") {
  Rng rng(5);
  const double delta = 1.0 / 64;
  Parameter<double> W("W", Matrix<double>(6, 9)), b("b", Matrix<double>(1, 9));
  for (Index i = 0; i < W.size(); ++i) W.value.data()[i] = delta * std::round(rng.normal() * 40);
  for (Index i = 0; i < b.size(); ++i) b.value.data()[i] = delta * std::round(rng.normal() * 40);
  const CoarseGrainedWeights c = coarse_grain<double>({&W, &b}, 1.0, delta);
  CHECK((c.values[0] - W.value).cwiseAbs().maxCoeff() == 0.0);
  CHECK((c.values[1] - b.value).cwiseAbs().maxCoeff() == 0.0);
  CHECK(c.kept_components == 6);
  CHECK(c.total_components == 6);
  // rank 1 of a 6 × 9 matrix is stored as 6 + 9 numbers, and its value is the truncation (Δ = 0)
  const CoarseGrainedWeights r1 = coarse_grain<double>({&W}, 1e-9, 0.0);
  CHECK(r1.kept_components == 1);
  const Eigen::BDCSVD<Eigen::MatrixXd> svd(W.value, Eigen::ComputeThinU | Eigen::ComputeThinV);
  const Eigen::MatrixXd best1 = svd.singularValues()(0) * svd.matrixU().col(0) * svd.matrixV().col(0).transpose();
  CHECK((r1.values[0] - best1).cwiseAbs().maxCoeff() < 1e-12);
  // quantisation rounds half to even and writes no negative zero
  Parameter<double> h("h", (Matrix<double>(1, 4) << 0.5, 1.5, -0.25, -2.5).finished());
  const CoarseGrainedWeights q = coarse_grain<double>({&h}, 1.0, 1.0);
  CHECK(q.values[0](0, 0) == 0.0);
  CHECK(q.values[0](0, 1) == 2.0);
  CHECK(!std::signbit(q.values[0](0, 2)));
  CHECK(q.values[0](0, 3) == -2.0);
  CHECK_THROWS_AS(coarse_grain<double>({&W}, 0.0, delta), std::invalid_argument);
  CHECK_THROWS_AS(coarse_grain<double>({&W}, 0.5, -1.0), std::invalid_argument);
}

TEST_CASE("coarse_grained_complexity: a rank-1 map plus noise below the bound is coarse-grained to rank 1") {
  Rng rng(7);
  Mlp<double> m = linear_map(30, 40);
  Parameter<double>& W = m.parameter("layers.0.weight");
  const Eigen::VectorXd u = rng.normal_matrix<double>(40, 1), v = rng.normal_matrix<double>(30, 1);
  const Eigen::MatrixXd W1 = 0.3 * u * v.transpose();
  W.value = W1 + 1e-4 * rng.normal_matrix<double>(40, 30);
  const Matrix<double> X = rng.normal_matrix<double>(200, 30);
  const Matrix<double> Y = X * W1.transpose();  // the rank-1 part is the truth
  const Matrix<double> before = W.value;
  const CoarseGrainedComplexity r = coarse_grained_complexity<double>(m, mse_on(X, Y), 1e-3);
  CHECK(r.bounded);
  CHECK(r.kept_components == 1);
  CHECK(r.total_components == 30);
  CHECK(r.rank_fraction == doctest::Approx(1.0 / 30));
  CHECK(r.coarse_loss <= r.loss + 1e-3);
  CHECK(r.bytes < r.raw_bytes / 10);
  CHECK(r.delta >= 1e-5);
  CHECK(r.delta <= 1e-1);
  CHECK(std::isnan(r.test_loss));
  CHECK(r.evaluations > 0);
  CHECK(r.search.find("bisection") != std::string::npos);
  CHECK((W.value - before).cwiseAbs().maxCoeff() == 0.0);  // restored
}

TEST_CASE(
    "coarse_grained_complexity: lossless on the grid at epsilon 0, non-increasing in epsilon, test loss reported") {
  Rng rng(9);
  MlpConfig c;
  c.input = 12, c.hidden = {24}, c.output = 5, c.seed = 3;
  Mlp<double> m(c);
  const Matrix<double> X = rng.normal_matrix<double>(120, 12), Xt = rng.normal_matrix<double>(60, 12);
  IndexList y, yt;
  for (Index i = 0; i < 120; ++i) y.push_back(static_cast<Index>(rng.integer(5)));
  for (Index i = 0; i < 60; ++i) yt.push_back(static_cast<Index>(rng.integer(5)));
  const LossFn<double> train = ce_on(X, y), test = ce_on(Xt, yt);

  // every weight a multiple of Δ: at τ = 1 and that Δ alone, nothing changes, so ε = 0 holds
  const double delta = 1.0 / 128;
  for (Parameter<double>* p : m.parameters())
    for (Index i = 0; i < p->size(); ++i) p->value.data()[i] = delta * std::round(p->value.data()[i] / delta);
  CoarseGrainOptions exact;
  exact.taus = {1.0};
  exact.delta_min = exact.delta_max = delta;
  const CoarseGrainedComplexity z = coarse_grained_complexity<double>(m, train, 0.0, exact, test);
  CHECK(z.bounded);
  CHECK(z.coarse_loss == z.loss);
  CHECK(z.coarse_test_loss == z.test_loss);
  CHECK(z.delta == delta);
  CHECK(z.rank_fraction == 1.0);

  // the search's size does not grow with ε; at a huge ε everything is as coarse as the grid allows
  std::size_t last = std::numeric_limits<std::size_t>::max();
  for (double eps : {0.0, 1e-4, 1e-3, 1e-2, 0.1, 1.0, 1e9}) {
    const CoarseGrainedComplexity r = coarse_grained_complexity<double>(m, train, eps, {}, test);
    CHECK(r.bytes <= last);
    CHECK(r.coarse_loss <= r.loss + eps);
    CHECK(std::isfinite(r.coarse_test_loss));
    last = r.bytes;
    if (eps == 1e9) {
      CHECK(r.tau == 0.05);
      CHECK(r.delta == doctest::Approx(0.1));
      CHECK(r.kept_components == 2);  // rank 1 in each of the two weight matrices
    }
  }
}

TEST_CASE("coarse_grained_complexity: bad input is named, and the weights are restored after a throw") {
  Mlp<double> m = linear_map(3, 2);
  const Matrix<double> X = Matrix<double>::Ones(4, 3), Y = Matrix<double>::Zero(4, 2);
  CHECK_THROWS_WITH_AS(coarse_grained_complexity<double>(m, mse_on(X, Y), -1.0),
                       "grokscope::coarse_grained_complexity: epsilon must be finite and >= 0, got -1.000000",
                       std::invalid_argument);
  CoarseGrainOptions o;
  o.taus = {0.5, 2.0};
  CHECK_THROWS_WITH_AS(coarse_grained_complexity<double>(m, mse_on(X, Y), 0.1, o),
                       "grokscope::coarse_grained_complexity: every tau must be in (0, 1], got 2.000000",
                       std::invalid_argument);
  o = {};
  o.delta_min = 0.5, o.delta_max = 0.1;
  CHECK_THROWS_AS(coarse_grained_complexity<double>(m, mse_on(X, Y), 0.1, o), std::invalid_argument);
  CHECK_THROWS_AS(coarse_grained_complexity<double>(m, nullptr, 0.1), std::invalid_argument);
  const LossFn<double> not_scalar = [X](Tape<double>& t, Model<double>& mm) { return mm.forward(t, dense(X)); };
  const Matrix<double> before = m.parameter("layers.0.weight").value;
  CHECK_THROWS_WITH_AS(coarse_grained_complexity<double>(m, not_scalar, 0.1),
                       "grokscope::coarse_grained_complexity: the loss must be a 1 x 1 value, got 4x2",
                       std::invalid_argument);
  // a loss that fails part-way through the search: the weights come back
  int calls = 0;
  const LossFn<double> flaky = [&calls, X, Y](Tape<double>& t, Model<double>& mm) {
    if (++calls == 3) throw std::runtime_error("loss failed");
    return mse(mm.forward(t, dense(X)), t.constant(Y));
  };
  CHECK_THROWS_AS(coarse_grained_complexity<double>(m, flaky, 0.1), std::runtime_error);
  CHECK((m.parameter("layers.0.weight").value - before).cwiseAbs().maxCoeff() == 0.0);
  m.parameter("layers.0.weight").value(0, 0) = std::nan("");
  CHECK_THROWS_WITH_AS(coarse_grained_complexity<double>(m, mse_on(X, Y), 0.1),
                       "grokscope::coarse_grained_complexity: parameter 'layers.0.weight' has a NaN or Inf entry",
                       std::invalid_argument);
}

TEST_CASE("bzip2_size: repetitive data compresses, and sizes are deterministic") {
  std::vector<float> zeros(10000, 0.0f), noise(10000);
  Rng rng(1);
  for (float& x : noise) x = static_cast<float>(rng.normal());
  const std::size_t a = bzip2_size(zeros.data(), zeros.size() * 4), b = bzip2_size(noise.data(), noise.size() * 4);
  CHECK(a < 100);
  CHECK(b > 30000);
  CHECK(bzip2_size(noise.data(), noise.size() * 4) == b);
  CHECK(bzip2_size(nullptr, 0) > 0);  // an empty stream still has its header
}
