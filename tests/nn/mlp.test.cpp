#include <grokscope/autodiff/gradcheck.hpp>
#include <grokscope/nn/mlp.hpp>
#include <grokscope/nn/transformer.hpp>

#include "fixture_util.hpp"

#include <doctest/doctest.h>

using namespace grokscope;
using test::load_fixture;
using test::load_model;
using test::rel_diff;

namespace {
void check_grads(Model<double>& m, const std::string& c) {
  for (Parameter<double>* p : m.parameters()) {
    INFO(p->name);
    CHECK(rel_diff(p->grad, load_fixture(c, "grad." + p->name)) < 1e-9);
  }
}
}  // namespace

TEST_CASE("ReLU MLP with biases and cross-entropy matches PyTorch (logits, loss, every gradient)") {
  MlpConfig c;
  c.input = 6, c.hidden = {8, 7}, c.output = 4;
  Mlp<double> m(c);
  load_model(m, "mlp_relu_ce");
  ModelInput<double> in;
  in.x = load_fixture("mlp_relu_ce", "x");
  const Matrix<double> lab = load_fixture("mlp_relu_ce", "labels");
  IndexList y;
  for (Index i = 0; i < lab.size(); ++i) y.push_back(static_cast<Index>(lab.data()[i]));
  Tape<double> t;
  const Var<double> out = m.forward(t, in);
  CHECK(rel_diff(out.value(), load_fixture("mlp_relu_ce", "outputs")) < 1e-12);
  const Var<double> loss = cross_entropy(out, y);
  CHECK(loss.item() == doctest::Approx(load_fixture("mlp_relu_ce", "loss")(0, 0)).epsilon(1e-12));
  t.backward(loss);
  check_grads(m, "mlp_relu_ce");
}

TEST_CASE("Gromov's quadratic mean-field MLP on one-hot pairs matches PyTorch") {
  Mlp<double> m(MlpConfig::gromov(7, 10));
  load_model(m, "mlp_gromov_mse");
  const Matrix<double> ids = load_fixture("mlp_gromov_mse", "ids");
  ModelInput<double> in;
  in.T = 2;
  for (Index i = 0; i < ids.size(); ++i) in.tokens.push_back(static_cast<Index>(ids.data()[i]));
  Tape<double> t;
  const Var<double> out = m.forward(t, in);
  CHECK(rel_diff(out.value(), load_fixture("mlp_gromov_mse", "outputs")) < 1e-12);
  const Var<double> loss = mse(out, t.constant(load_fixture("mlp_gromov_mse", "targets")));
  CHECK(loss.item() == doctest::Approx(load_fixture("mlp_gromov_mse", "loss")(0, 0)).epsilon(1e-12));
  t.backward(loss);
  check_grads(m, "mlp_gromov_mse");
}

TEST_CASE("NTK parameterisation, output scale and centering match PyTorch: α (f(θ) − f(θ₀))") {
  MlpConfig c;
  c.input = 3, c.hidden = {9}, c.output = 2, c.activation = Activation::Tanh;
  c.parameterization = Parameterization::Ntk;
  c.output_scale = 2.0;
  c.centered = true;
  Mlp<double> m(c);
  load_model(m, "mlp_ntk_tanh_centered", "init.");
  m.recenter();
  load_model(m, "mlp_ntk_tanh_centered");
  ModelInput<double> in;
  in.x = load_fixture("mlp_ntk_tanh_centered", "x");
  Tape<double> t;
  const Var<double> out = m.forward(t, in);
  CHECK(rel_diff(out.value(), load_fixture("mlp_ntk_tanh_centered", "outputs")) < 1e-12);
  const Var<double> loss = mse(out, t.constant(load_fixture("mlp_ntk_tanh_centered", "targets")));
  t.backward(loss);
  check_grads(m, "mlp_ntk_tanh_centered");
  // at θ = θ₀ a centered model outputs exactly zero
  load_model(m, "mlp_ntk_tanh_centered", "init.");
  Tape<double> t0;
  CHECK(m.forward(t0, in).value().cwiseAbs().maxCoeff() == 0.0);
}

TEST_CASE("token input is the one-hot linear layer: same function and gradients") {
  const Index p = 5;
  MlpConfig c;
  c.input = 2 * p, c.hidden = {6}, c.output = p, c.activation = Activation::Gelu;
  Mlp<double> a(c), b(c);
  ModelInput<double> tok, dense;
  tok.T = 2;
  dense.x = Matrix<double>::Zero(4, 2 * p);
  const Index pairs[4][2] = {{0, 1}, {4, 4}, {2, 0}, {3, 2}};
  for (Index i = 0; i < 4; ++i) {
    tok.tokens.push_back(pairs[i][0]);
    tok.tokens.push_back(p + pairs[i][1]);
    dense.x(i, pairs[i][0]) = dense.x(i, p + pairs[i][1]) = 1.0;
  }
  Tape<double> ta, tb;
  const Var<double> ya = a.forward(ta, tok), yb = b.forward(tb, dense);
  CHECK((ya.value() - yb.value()).cwiseAbs().maxCoeff() < 1e-14);
  const Matrix<double> seed = Rng(1).normal_matrix(4, p);
  ta.backward(ya, seed);
  tb.backward(yb, seed);
  for (std::size_t i = 0; i < a.parameters().size(); ++i)
    CHECK((a.parameters()[i]->grad - b.parameters()[i]->grad).cwiseAbs().maxCoeff() < 1e-14);
}

TEST_CASE("initialisation: PyTorch bounds, init_scale multiplies every parameter, names") {
  MlpConfig c;
  c.input = 50, c.hidden = {40}, c.output = 3;
  Mlp<double> m(c);
  CHECK(m.parameters().size() == 4);
  CHECK(m.parameters()[0]->name == "layers.0.weight");
  CHECK(m.parameters()[3]->name == "layers.1.bias");
  CHECK(m.parameter("layers.0.weight").value.cwiseAbs().maxCoeff() <= 1.0 / std::sqrt(50.0));
  CHECK(m.num_parameters() == 50 * 40 + 40 + 40 * 3 + 3);
  MlpConfig c8 = c;
  c8.init_scale = 8.0;
  Mlp<double> m8(c8);
  for (std::size_t i = 0; i < 4; ++i)
    CHECK((m8.parameters()[i]->value - 8.0 * m.parameters()[i]->value).norm() < 1e-12);
  CHECK_THROWS_WITH_AS(m.parameter("nope"), doctest::Contains("no parameter 'nope' (have: layers.0.weight"),
                       std::invalid_argument);
  CHECK(m.config()["parameterization"] == "standard");
}

TEST_CASE("gradients of the whole MLP pass finite differences (mean-field, square, biases)") {
  MlpConfig c;
  c.input = 4, c.hidden = {5, 3}, c.output = 2, c.activation = Activation::Square;
  c.parameterization = Parameterization::MeanField;
  c.output_scale = 0.5;
  Mlp<double> m(c);
  ModelInput<double> in;
  in.x = Rng(3).normal_matrix(6, 4);
  const GradcheckResult r = gradcheck([&](Tape<double>& t) { return mean(square(m.forward(t, in))); }, m.parameters());
  CHECK(r.max_error < 1e-6);
}

TEST_CASE("bad configurations and inputs are rejected") {
  MlpConfig c;
  CHECK_THROWS_WITH_AS(Mlp<double>{c}, "grokscope::Mlp: input and output widths must be >= 1", std::invalid_argument);
  c.input = 3, c.output = 2, c.hidden = {0};
  CHECK_THROWS_AS(Mlp<double>{c}, std::invalid_argument);
  c.hidden = {4};
  Mlp<double> m(c);
  ModelInput<double> in;
  in.x = Matrix<double>::Zero(2, 5);
  Tape<double> t;
  CHECK_THROWS_WITH_AS(m.forward(t, in), "grokscope::Mlp::forward: input is 2x5 but the network expects 3 columns",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(activation_from_name("swish"), doctest::Contains("unknown activation 'swish'"),
                       std::invalid_argument);
}

TEST_CASE("Kumar et al.'s committee machine: f = (α/N) Σ φ(w·x/√D), φ(h) = h + (ε/2)h², frozen readout") {
  Mlp<double> m(MlpConfig::kumar(5, 7, 0.3, 2.0, false, 1));
  const Parameter<double>& W = m.parameter("layers.0.weight");
  CHECK(m.parameter("layers.1.weight").value == Matrix<double>::Ones(1, 7));
  CHECK_FALSE(m.parameter("layers.1.weight").requires_grad);
  CHECK(m.config()["activation"] == "linear_quadratic");
  CHECK(activation_from_name("linear_quadratic") == Activation::LinearQuadratic);
  ModelInput<double> in;
  in.x = Rng(2).normal_matrix(3, 5);
  Tape<double> t;
  const Matrix<double> y = m.forward(t, in).value();
  for (Index i = 0; i < 3; ++i) {
    const Vector<double> h = W.value * in.x.row(i).transpose() / std::sqrt(5.0);
    const double f = 2.0 / 7.0 * (h.array() + 0.15 * h.array().square()).sum();
    CHECK(y(i, 0) == doctest::Approx(f).epsilon(1e-12));
  }
  const GradcheckResult r =
      gradcheck([&](Tape<double>& tp) { return mean(square(m.forward(tp, in))); }, {&m.parameter("layers.0.weight")});
  CHECK(r.max_error < 1e-6);
}

TEST_CASE("models estimate their memory before allocating: a width of 1e9 is refused with the size") {
  MlpConfig c;
  c.input = 100, c.hidden = {1000000000}, c.output = 10;
  CHECK_THROWS_WITH_AS(Mlp<float>{c}, doctest::Contains("parameters needs about"), std::runtime_error);
  TransformerConfig t = TransformerConfig::nanda2023(113);
  t.d_model = 1000000, t.heads = 1;
  CHECK_THROWS_WITH_AS(Transformer<float>{t}, doctest::Contains("grokscope::Transformer: "), std::runtime_error);
}
