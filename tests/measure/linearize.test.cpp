// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors

#include <grokscope/core/rng.hpp>
#include <grokscope/measure/linearize.hpp>
#include <grokscope/measure/linearized.hpp>
#include <grokscope/measure/ntk.hpp>
#include <grokscope/nn/mlp.hpp>
#include <grokscope/nn/transformer.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <limits>

using namespace grokscope;

namespace {

Eigen::VectorXd flat_values(Model<double>& m) {
  std::vector<double> out;
  for (Parameter<double>* p : m.parameters()) out.insert(out.end(), p->value.data(), p->value.data() + p->size());
  return Eigen::Map<Eigen::VectorXd>(out.data(), static_cast<Index>(out.size()));
}

void set_values(Model<double>& m, const Eigen::VectorXd& v) {
  Index o = 0;
  for (Parameter<double>* p : m.parameters())
    for (Index e = 0; e < p->size(); ++e) p->value.data()[e] = v(o++);
}

Matrix<double> outputs(Model<double>& m, const ModelInput<double>& in) {
  Tape<double> t;
  return m.forward(t, in).value();
}

// Jᵀ u: the outputs' reverse pass with seed u, flattened.
Eigen::VectorXd vjp(Model<double>& m, const ModelInput<double>& in, const Matrix<double>& u) {
  Tape<double> t;
  const Var<double> z = m.forward(t, in);
  m.zero_grad();
  t.backward(z, u);
  std::vector<double> out;
  for (Parameter<double>* p : m.parameters()) out.insert(out.end(), p->grad.data(), p->grad.data() + p->size());
  return Eigen::Map<Eigen::VectorXd>(out.data(), static_cast<Index>(out.size()));
}

}  // namespace

TEST_CASE("jvp: central differences of the outputs, on an MLP and a transformer") {
  Rng rng(4);
  MlpConfig c;
  c.input = 4, c.hidden = {6, 5}, c.output = 3, c.activation = Activation::Gelu, c.seed = 2;
  Mlp<double> mlp(c);
  ModelInput<double> x;
  x.x = rng.normal_matrix<double>(7, 4);
  TransformerConfig tc = TransformerConfig::nanda2023(5, 3);
  tc.d_model = 8, tc.heads = 2, tc.d_mlp = 12, tc.layer_norm = LayerNormPlacement::Pre,
  tc.activation = Activation::Gelu;
  Transformer<double> tr(tc);
  ModelInput<double> tok;
  tok.T = 3;
  tok.tokens = {0, 1, 5, 2, 4, 5, 3, 3, 5};
  for (auto [m, in] : {std::pair<Model<double>*, ModelInput<double>*>{&mlp, &x}, {&tr, &tok}}) {
    const Eigen::VectorXd theta = flat_values(*m);
    Eigen::VectorXd v(theta.size());
    for (Index i = 0; i < v.size(); ++i) v(i) = rng.normal();
    const Matrix<double> jv = jvp(*m, *in, v);
    const double h = 1e-5;
    set_values(*m, theta + h * v);
    const Matrix<double> up = outputs(*m, *in);
    set_values(*m, theta - h * v);
    const Matrix<double> down = outputs(*m, *in);
    set_values(*m, theta);
    const Matrix<double> fd = (up - down) / (2 * h);
    CHECK((jv - fd).norm() / fd.norm() < 1e-8);
  }
  // only the named parameters move
  const Index n0 = mlp.parameter("layers.0.weight").size();
  const Matrix<double> j0 = jvp(mlp, x, Eigen::VectorXd::Ones(n0), {"layers.0.weight"});
  Eigen::VectorXd full = Eigen::VectorXd::Zero(mlp.num_parameters());
  full.head(n0).setOnes();
  CHECK((j0 - jvp(mlp, x, full)).norm() < 1e-14);
  CHECK_THROWS_WITH_AS(jvp(mlp, x, Eigen::VectorXd::Ones(3)), doctest::Contains("3 entries for"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(jvp(mlp, x, Eigen::VectorXd::Ones(1), {"nope"}), doctest::Contains("no parameter 'nope'"),
                       std::invalid_argument);
  Eigen::VectorXd nan = Eigen::VectorXd::Zero(mlp.num_parameters());
  nan(0) = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH_AS(jvp(mlp, x, nan), doctest::Contains("not finite"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(jvp(mlp, ModelInput<double>{}, full), doctest::Contains("no examples"), std::invalid_argument);
}

TEST_CASE("jvp along an output's gradient gives that column of the full NTK") {
  Rng rng(5);
  MlpConfig c;
  c.input = 3, c.hidden = {7}, c.output = 2, c.activation = Activation::Tanh, c.seed = 3;
  Mlp<double> net(c);
  ModelInput<double> in;
  in.x = rng.normal_matrix<double>(5, 3);
  NtkOptions full;
  full.output = NtkOutput::Full;
  const Eigen::MatrixXd K = empirical_ntk(net, in, full);  // row i·k + a
  for (Index col : {0, 3, 9}) {
    Matrix<double> seed = Matrix<double>::Zero(5, 2);
    seed(col / 2, col % 2) = 1;
    const Matrix<double> jv = jvp(net, in, vjp(net, in, seed));
    const Eigen::VectorXd flat = Eigen::Map<const Eigen::VectorXd>(jv.data(), jv.size());  // row-major: i·k + a
    CHECK((flat - K.col(col)).norm() < 1e-12 * K.col(col).norm());
  }
}

TEST_CASE("LinearizedModel: gradient descent on it matches LinearizedDynamics step by step") {
  Rng rng(6);
  MlpConfig c;
  c.input = 3, c.hidden = {9}, c.output = 2, c.activation = Activation::Tanh, c.seed = 8;
  Mlp<double> net(c);
  ModelInput<double> train, test;
  train.x = rng.normal_matrix<double>(6, 3);
  test.x = rng.normal_matrix<double>(4, 3);
  const Matrix<double> Y = rng.normal_matrix<double>(6, 2);
  LinearizedModel<double> lin(net);
  const Eigen::VectorXd theta0 = lin.theta0();
  CHECK((theta0 - flat_values(net)).norm() == 0);
  const Matrix<double> f0 = lin.initial_outputs(train), f0_test = lin.initial_outputs(test);
  CHECK((lin(train, theta0) - f0).norm() == 0);
  NtkOptions full;
  full.output = NtkOutput::Full;
  LinearizedOptions lo;
  lo.learning_rate = 0.3;
  const LinearizedDynamics dyn(empirical_ntk(net, train, full), Y, f0, lo);
  const Eigen::MatrixXd K_xt = empirical_ntk(net, test, train, full);
  // GD on grokscope's mse of the linearized model: θ ← θ − η (2/N) Jᵀ(f_lin − y), Jᵀ at θ₀
  Eigen::VectorXd theta = theta0;
  const double N = static_cast<double>(Y.size());
  for (int step = 1; step <= 3; ++step) {
    const Matrix<double> r = lin(train, theta) - Y;
    theta -= lo.learning_rate * (2.0 / N) * vjp(net, train, r);  // net still at θ₀
    const Eigen::MatrixXd want_train = dyn.train_outputs(step), want_test = dyn.test_outputs(step, K_xt, f0_test);
    CHECK((Eigen::MatrixXd(lin(train, theta)) - want_train).norm() < 1e-10 * want_train.norm());
    CHECK((Eigen::MatrixXd(lin(test, theta)) - want_test).norm() < 1e-10 * want_test.norm());
  }
  // training the model afterwards: the linearization keeps θ₀ and leaves the model where it is
  set_values(net, theta);
  const Matrix<double> moved = lin(test, theta);
  CHECK((flat_values(net) - theta).norm() == 0);
  CHECK((lin(test, theta) - moved).norm() == 0);
  CHECK_THROWS_WITH_AS(lin(test, Eigen::VectorXd::Ones(2)), doctest::Contains("2 entries for"), std::invalid_argument);
}
