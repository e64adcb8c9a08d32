#include <grokscope/core/rng.hpp>
#include <grokscope/measure/weights.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <grokscope/nn/mlp.hpp>

using namespace grokscope;

TEST_CASE("norms, relative movement and neuron norms") {
  Parameter<float> a("a", (Matrix<float>(2, 2) << 3, 4, 0, 0).finished()), b("b", Matrix<float>::Constant(1, 1, 12.0f));
  const ParameterNorms n = parameter_norms<float>({&a, &b});
  CHECK(n.total == doctest::Approx(13.0));
  CHECK(n.per_parameter[0].first == "a");
  CHECK(n.per_parameter[0].second == doctest::Approx(5.0));
  const std::vector<Matrix<float>> init{a.value, b.value};
  CHECK(relative_movement<float>({&a, &b}, init) == 0.0);
  b.value(0, 0) = 0;
  CHECK(relative_movement<float>({&a, &b}, init) == doctest::Approx(12.0 / 13.0));
  const Eigen::VectorXd nn = neuron_norms(a.value);
  CHECK(nn(0) == doctest::Approx(5.0));
  CHECK(nn(1) == 0.0);
  CHECK_THROWS_AS(relative_movement<float>({&a}, init), std::invalid_argument);
}

TEST_CASE("compressed size: structured weights compress, random weights do not") {
  Rng rng(1);
  Parameter<double> noise("w", rng.normal_matrix(64, 64)), zeros("w", Matrix<double>::Zero(64, 64));
  Parameter<double> periodic("w", Matrix<double>(64, 64));
  for (Index i = 0; i < 64; ++i)
    for (Index j = 0; j < 64; ++j) periodic.value(i, j) = std::cos(2 * M_PI * 5 * j / 64.0);
  const std::size_t cn = compressed_size<double>({&noise}), cz = compressed_size<double>({&zeros}),
                    cp = compressed_size<double>({&periodic});
  CHECK(cz < 100);
  CHECK(cp < cn / 4);
  CHECK(cn > 64 * 64 / 2);
  CHECK(compressed_size<double>({&noise}, 4) < cn);
  CHECK_THROWS_AS(compressed_size<double>({&noise}, 1), std::invalid_argument);
}

TEST_CASE("effective sparsity: the incremental masked outputs equal masked forward passes") {
  for (bool centered : {false, true}) {
    MlpConfig c;
    c.input = 3, c.hidden = {12}, c.output = 1, c.activation = Activation::Relu;
    c.parameterization = Parameterization::MeanField;
    c.output_scale = 3.0;
    c.centered = centered;
    c.seed = 4;
    Mlp<double> m(c);
    // three dominant neurons: large incoming weights; the rest small and not read out
    Matrix<double>& W1 = m.parameter("layers.0.weight").value;
    Matrix<double>& U = m.parameter("layers.1.weight").value;
    for (Index j = 3; j < 12; ++j) W1.row(j) *= 0.01, U(0, j) = 0.0;
    ModelInput<double> X;
    X.x = Rng(5).normal_matrix(60, 3);
    Tape<double> t;
    const Matrix<double> f = m.forward(t, X).value();
    IndexList y;
    for (Index i = 0; i < 60; ++i) y.push_back(f(i, 0) > 0 ? 1 : -1);
    y[0] = -y[0];  // one wrong label: full accuracy 59/60
    const EffectiveSparsity e = effective_sparsity(m, X, y);
    CHECK(e.width == 12);
    CHECK(e.accuracy == doctest::Approx(59.0 / 60.0));
    CHECK(e.k <= 3);
    REQUIRE(e.accuracy_at.size() == 13);
    // brute force: zero the readout of all but the top-k neurons and run the model
    const Eigen::VectorXd norms = neuron_norms(W1);
    std::vector<Index> order(12);
    for (Index j = 0; j < 12; ++j) order[static_cast<std::size_t>(j)] = j;
    std::stable_sort(order.begin(), order.end(), [&](Index a, Index b) { return norms(a) > norms(b); });
    const Matrix<double> U0 = U;
    for (Index k = 0; k <= 12; ++k) {
      U.setZero();
      for (Index r = 0; r < k; ++r)
        U(0, order[static_cast<std::size_t>(r)]) = U0(0, order[static_cast<std::size_t>(r)]);
      Tape<double> tk;
      const Matrix<double> g = m.forward(tk, X).value();
      Index ok = 0;
      for (Index i = 0; i < 60; ++i) ok += (g(i, 0) > 0 ? 1 : -1) == y[static_cast<std::size_t>(i)];
      INFO("centered " << centered << " k " << k);
      CHECK(e.accuracy_at[static_cast<std::size_t>(k)] == doctest::Approx(ok / 60.0));
    }
    U = U0;
  }
}

TEST_CASE("effective sparsity with class outputs, and its errors") {
  MlpConfig c;
  c.input = 4, c.hidden = {8}, c.output = 3;
  Mlp<double> m(c);
  ModelInput<double> X;
  X.x = Rng(1).normal_matrix(20, 4);
  IndexList y(20, 1);
  const EffectiveSparsity e = effective_sparsity(m, X, y);
  CHECK(e.k >= 0);
  CHECK(e.k <= 8);
  CHECK(e.accuracy_at[static_cast<std::size_t>(e.k)] == e.accuracy);
  CHECK_THROWS_WITH_AS(effective_sparsity(m, X, IndexList(19, 0)), doctest::Contains("19 labels"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(effective_sparsity(m, X, IndexList(20, 3)), doctest::Contains("not a class id"),
                       std::invalid_argument);
  CHECK_THROWS_AS(effective_sparsity(m, X, y, "layers.0.weight", "layers.9.weight"), std::invalid_argument);
  MlpConfig deep = c;
  deep.hidden = {8, 8};
  Mlp<double> d(deep);
  CHECK_THROWS_WITH_AS(effective_sparsity(d, X, y), doctest::Contains("not affine"), std::invalid_argument);
}
