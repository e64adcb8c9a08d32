#include <grokscope/core/rng.hpp>
#include <grokscope/measure/local_complexity.hpp>
#include <grokscope/nn/mlp.hpp>
#include <grokscope/nn/transformer.hpp>

#include <doctest/doctest.h>

#include <cmath>

using namespace grokscope;

namespace {

Mlp<double> one_relu_layer(Index d, Index width, std::uint64_t seed) {
  MlpConfig c;
  c.input = d, c.hidden = {width}, c.output = 3, c.seed = seed;
  return Mlp<double>(c);
}

}  // namespace

TEST_CASE("local complexity: one ReLU layer gives the exact combinatorial count") {
  const Index d = 6, width = 40;
  Mlp<double> m = one_relu_layer(d, width, 2);
  const Matrix<double>& W = m.parameter("layers.0.weight").value;  // width × d
  const Matrix<double>& b = m.parameter("layers.0.bias").value;    // 1 × width
  Rng rng(5);
  const Eigen::MatrixXd X = rng.normal_matrix<double>(30, d);
  for (double r : {0.05, 0.3, 1.0}) {
    LocalComplexityOptions o;
    o.vertices = 2 * d, o.radius = r, o.axis_directions = true, o.chunk = 7;
    const LocalComplexity lc = local_complexity(m, X, o);
    REQUIRE(lc.per_example.size() == 30);
    CHECK(lc.neurons == width);
    double total = 0;
    for (Index i = 0; i < X.rows(); ++i) {
      Index expect = 0;
      for (Index j = 0; j < width; ++j) {
        const double z = X.row(i).dot(W.row(j)) + b(0, j);
        expect += std::abs(z) < r * W.row(j).cwiseAbs().maxCoeff() ? 1 : 0;
      }
      CHECK(lc.per_example(i) == static_cast<double>(expect));
      total += static_cast<double>(expect);
    }
    CHECK(lc.mean == doctest::Approx(total / 30));
    REQUIRE(lc.per_layer.size() == 1);
    CHECK(lc.per_layer[0].first == "layers.0.hook_pre");
    CHECK(lc.per_layer[0].second == doctest::Approx(lc.mean));
  }
  // random orthonormal directions: a neuron can only count if its hyperplane is within r·‖w_j‖
  LocalComplexityOptions o;
  o.vertices = 8, o.radius = 0.4, o.seed = 3;
  const LocalComplexity lc = local_complexity(m, X, o);
  for (Index i = 0; i < X.rows(); ++i) {
    Index bound = 0;
    for (Index j = 0; j < width; ++j)
      bound += std::abs(X.row(i).dot(W.row(j)) + b(0, j)) < 0.4 * W.row(j).norm() ? 1 : 0;
    CHECK(lc.per_example(i) <= static_cast<double>(bound));
  }
}

TEST_CASE("local complexity: 0 as the radius shrinks away from every hyperplane, all neurons through x") {
  const Index d = 4, width = 16;
  Mlp<double> m = one_relu_layer(d, width, 7);
  Rng rng(1);
  const Eigen::MatrixXd x = rng.normal_matrix<double>(1, d);
  LocalComplexityOptions o;
  o.vertices = 8, o.radius = 1e-9;
  CHECK(local_complexity(m, x, o).mean == 0.0);
  // every hyperplane through x: b_j = −w_j·x
  Parameter<double>& b = m.parameter("layers.0.bias");
  const Matrix<double>& W = m.parameter("layers.0.weight").value;
  for (Index j = 0; j < width; ++j) b.value(0, j) = -x.row(0).dot(W.row(j));
  o.radius = 1e-3;
  CHECK(local_complexity(m, x, o).mean == static_cast<double>(width));
  // a deeper network counts every hidden layer, the output layer not
  MlpConfig c;
  c.input = d, c.hidden = {10, 12}, c.output = 2, c.seed = 1;
  Mlp<float> deep(c);
  o.radius = 0.5;
  const LocalComplexity lc = local_complexity(deep, rng.normal_matrix<double>(5, d), o);
  CHECK(lc.neurons == 22);
  REQUIRE(lc.per_layer.size() == 2);
  CHECK(lc.per_layer[1].first == "layers.1.hook_pre");
  CHECK(lc.per_example.maxCoeff() <= 22);
}

TEST_CASE("local complexity: bad input is named") {
  Mlp<double> m = one_relu_layer(3, 5, 1);
  const Eigen::MatrixXd X = Eigen::MatrixXd::Ones(2, 3);
  LocalComplexityOptions o;
  CHECK_THROWS_WITH_AS(local_complexity(m, X, o),
                       "grokscope::local_complexity: 40 vertices need 20 orthogonal directions but the input has 3 "
                       "dimensions",
                       std::invalid_argument);
  o.vertices = 5;
  CHECK_THROWS_WITH_AS(local_complexity(m, X, o),
                       "grokscope::local_complexity: vertices must be an even number >= 2, got 5",
                       std::invalid_argument);
  o.vertices = 6, o.radius = 0;
  CHECK_THROWS_AS(local_complexity(m, X, o), std::invalid_argument);
  o.radius = 0.01;
  Eigen::MatrixXd bad = X;
  bad(1, 2) = std::nan("");
  CHECK_THROWS_WITH_AS(local_complexity(m, bad, o), "grokscope::local_complexity: X has a NaN or Inf entry",
                       std::invalid_argument);
  CHECK_THROWS_AS(local_complexity(m, Eigen::MatrixXd(0, 3), o), std::invalid_argument);
  // a model whose input width differs: the model's own message
  CHECK_THROWS_AS(local_complexity(m, Eigen::MatrixXd::Ones(2, 4), o), std::invalid_argument);
  MlpConfig lin;
  lin.input = 3, lin.output = 2;
  Mlp<double> no_hidden(lin);
  CHECK_THROWS_WITH_AS(
      local_complexity(no_hidden, X, o),
      "grokscope::local_complexity: the model has no hidden pre-activation site (<layer>.hook_pre with "
      "a hook_post)",
      std::invalid_argument);
}
