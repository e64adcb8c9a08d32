#include <grokscope/measure/ntk.hpp>
#include <grokscope/nn/mlp.hpp>
#include <grokscope/nn/transformer.hpp>

#include "../nn/fixture_util.hpp"

#include "../test_util.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

using namespace grokscope;
using test::load_fixture;
using test::load_model;

namespace {

double rel(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b) {
  REQUIRE(a.rows() == b.rows());
  REQUIRE(a.cols() == b.cols());
  return (a - b).cwiseAbs().maxCoeff() / std::max(b.cwiseAbs().maxCoeff(), 1e-300);
}

NtkOptions opts(NtkMethod m, NtkOutput out = NtkOutput::Trace, Index block = 256) {
  NtkOptions o;
  o.method = m;
  o.output = out;
  o.block_examples = block;
  return o;
}

// Structured and JacobianContraction agree in every mode, on one input set and on two.
void check_methods_agree(Model<double>& m, const ModelInput<double>& X1, const ModelInput<double>& X2,
                         const std::vector<std::string>& params = {}) {
  for (NtkOutput out : {NtkOutput::Trace, NtkOutput::Single, NtkOutput::Full}) {
    for (Index block : {Index(256), Index(3)}) {  // 3 does not divide the example counts
      INFO("output mode " << static_cast<int>(out) << ", block " << block);
      NtkOptions s = opts(NtkMethod::Structured, out, block), j = opts(NtkMethod::JacobianContraction, out, block);
      s.parameters = j.parameters = params;
      s.output_index = j.output_index = 1 % X1.examples();
      if (out == NtkOutput::Single) {
        Tape<double> t;
        s.output_index = j.output_index = m.forward(t, X1).cols() - 1;
      }
      const Eigen::MatrixXd Ks = empirical_ntk(m, X1, s), Kj = empirical_ntk(m, X1, j);
      CHECK(rel(Ks, Kj) < 1e-10);
      CHECK((Ks - Ks.transpose()).cwiseAbs().maxCoeff() == 0.0);
      const Eigen::MatrixXd Cs = empirical_ntk(m, X1, X2, s), Cj = empirical_ntk(m, X1, X2, j);
      CHECK(rel(Cs, Cj) < 1e-10);
      s.diagonal = j.diagonal = true;
      const Eigen::MatrixXd Ds = empirical_ntk(m, X1, s), Dj = empirical_ntk(m, X1, j);
      CHECK(rel(Ds, Dj) < 1e-10);
      CHECK(rel(Ds, Eigen::MatrixXd(Ks.diagonal())) < 1e-12);
    }
  }
}

ModelInput<double> dense(Index n, Index d, std::uint64_t seed) {
  ModelInput<double> in;
  in.x = Rng(seed).normal_matrix(n, d);
  return in;
}

ModelInput<double> tokens(const std::vector<std::vector<Index>>& rows) {
  ModelInput<double> in;
  in.T = static_cast<Index>(rows[0].size());
  for (const auto& r : rows) in.tokens.insert(in.tokens.end(), r.begin(), r.end());
  return in;
}

ModelInput<double> fixture_tokens(const std::string& c, const char* name, Index T) {
  const Matrix<double> tok = load_fixture(c, name);
  ModelInput<double> in;
  in.T = T;
  for (Index i = 0; i < tok.size(); ++i) in.tokens.push_back(static_cast<Index>(tok.data()[i]));
  return in;
}

TransformerConfig small(Index d, Index H, Index d_mlp, Index layers) {
  TransformerConfig c = TransformerConfig::nanda2023(13);
  c.d_model = d, c.heads = H, c.d_mlp = d_mlp, c.layers = layers;
  return c;
}

// A model that uses its parameters in every pattern the structured method knows, twice for one
// of them (tied weights), through scale() chains, and as row operands of add, sub and mul.
class Patchwork : public Model<double> {
 public:
  Parameter<double> W{"W", Rng(11).normal_matrix(5, 4)};
  Parameter<double> U{"U", Rng(12).normal_matrix(5, 3)};
  Parameter<double> g{"g", Rng(13).normal_matrix(1, 5)};
  Parameter<double> b{"b", Rng(14).normal_matrix(1, 5)};
  Parameter<double> c{"c", Rng(15).normal_matrix(1, 1)};
  bool misuse = false;

  Var<double> forward(Tape<double>& t, const ModelInput<double>& in) override {
    const Var<double> x = t.constant(in.x);
    Var<double> h = linear(x, scale(t.param(W), 0.7));                         // x (0.7 W)ᵀ
    h = tanh(mul(h, t.param(g)));                                              // ∘ g
    h = sub(h, t.param(b));                                                    // − b
    h = add(h, t.param(c));                                                    // + c (scalar)
    Var<double> y = matmul(h, t.param(U));                                     // (n,5)(5,3)
    const Var<double> tied = matmul(x, scale(t.param(W), -0.3), false, true);  // x (−0.3 W)ᵀ: (n,5)
    y = add(y, slice_cols(tied, 0, 3));
    if (misuse) y = add(y, slice_cols(t.param(g), 0, 3));  // a parameter sliced: no formula
    return y;
  }
  std::vector<Parameter<double>*> parameters() override { return {&W, &U, &g, &b, &c}; }
  nlohmann::ordered_json config() const override { return {{"model", "patchwork"}}; }
};

}  // namespace

TEST_CASE("structured and Jacobian-contraction NTKs agree on MLPs of every activation and parameterisation") {
  for (Activation act :
       {Activation::Relu, Activation::Gelu, Activation::Tanh, Activation::Square, Activation::Identity}) {
    for (Parameterization par : {Parameterization::Standard, Parameterization::Ntk, Parameterization::MeanField}) {
      INFO(activation_name(act) << " / " << parameterization_name(par));
      MlpConfig c;
      c.input = 4, c.hidden = {6, 5}, c.output = 3, c.activation = act, c.parameterization = par;
      c.output_scale = 1.5;
      c.seed = 3;
      Mlp<double> m(c);
      check_methods_agree(m, dense(7, 4, 1), dense(5, 4, 2));
    }
  }
}

TEST_CASE("NTK of centered, token-input and Kumar MLPs; restriction to named parameters") {
  SUBCASE("centered with biases after some movement") {
    MlpConfig c;
    c.input = 3, c.hidden = {8}, c.output = 2, c.activation = Activation::Tanh, c.centered = true;
    c.parameterization = Parameterization::Ntk;
    c.output_scale = 2.0;
    Mlp<double> m(c);
    for (Parameter<double>* p : m.parameters()) p->value.array() += 0.1;
    check_methods_agree(m, dense(6, 3, 4), dense(4, 3, 5));
    check_methods_agree(m, dense(6, 3, 4), dense(4, 3, 5), {"layers.0.weight"});
  }
  SUBCASE("Gromov's one-hot pairs (embedding-sum first layer)") {
    Mlp<double> m(MlpConfig::gromov(5, 7, 2));
    const ModelInput<double> a = tokens({{0, 5}, {3, 9}, {4, 4 + 5}, {2, 6}, {1, 8}}), b = tokens({{3, 6}, {0, 9}});
    check_methods_agree(m, a, b);
  }
  SUBCASE("Kumar's committee machine: only the hidden weights train") {
    Mlp<double> m(MlpConfig::kumar(6, 9, 0.3, 2.0, true, 1));
    check_methods_agree(m, dense(7, 6, 6), dense(3, 6, 7));
  }
}

TEST_CASE("structured and Jacobian-contraction NTKs agree on transformers") {
  SUBCASE("Nanda et al.'s layout") {
    Transformer<double> m(small(16, 4, 32, 1));
    check_methods_agree(m, tokens({{1, 2, 13}, {12, 12, 13}, {0, 5, 13}, {7, 9, 13}}),
                        tokens({{3, 11, 13}, {4, 4, 13}}));
  }
  SUBCASE("pre-LN, GELU, every bias, two layers, queries at every position") {
    TransformerConfig c = small(8, 2, 16, 2);
    c.layer_norm = LayerNormPlacement::Pre;
    c.activation = Activation::Gelu;
    c.attn_bias = c.mlp_bias = c.unembed_bias = true;
    c.output_scale = 0.5;
    Transformer<double> m(c);
    check_methods_agree(m, tokens({{1, 2, 13}, {12, 12, 13}, {0, 5, 13}, {7, 9, 13}}), tokens({{3, 11, 13}}));
  }
  SUBCASE("post-LN with sinusoidal positions") {
    TransformerConfig c = small(8, 4, 16, 2);
    c.layer_norm = LayerNormPlacement::Post;
    c.positions = PositionEncoding::Sinusoidal;
    Transformer<double> m(c);
    check_methods_agree(m, tokens({{1, 2, 13}, {12, 12, 13}, {0, 5, 13}}), tokens({{3, 11, 13}, {6, 1, 13}}),
                        {"blocks.1.mlp.W_in", "embed.W_E"});
  }
}

TEST_CASE("tied weights, scale chains and row operands: every cross term of a shared parameter") {
  Patchwork m;
  check_methods_agree(m, dense(6, 4, 8), dense(4, 4, 9));
  m.misuse = true;
  const ModelInput<double> X = dense(4, 4, 8);
  CHECK_THROWS_WITH_AS(empirical_ntk(m, X), doctest::Contains("parameter 'g' is used by"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(empirical_ntk(m, X), doctest::Contains("JacobianContraction"), std::invalid_argument);
  const Eigen::MatrixXd K = empirical_ntk(m, X, opts(NtkMethod::JacobianContraction));
  CHECK(K.rows() == 4);
}

TEST_CASE("both methods reproduce functorch's Jacobian contraction (committed fixtures)") {
  auto check = [](Model<double>& m, const ModelInput<double>& X, const std::string& c) {
    const Eigen::MatrixXd ref = load_fixture(c, "ntk_full");
    for (NtkMethod meth : {NtkMethod::Structured, NtkMethod::JacobianContraction}) {
      INFO(c << " method " << static_cast<int>(meth));
      CHECK(rel(empirical_ntk(m, X, opts(meth, NtkOutput::Full)), ref) < 1e-10);
    }
  };
  {
    MlpConfig c;
    c.input = 6, c.hidden = {8, 7}, c.output = 4, c.activation = Activation::Relu;
    Mlp<double> m(c);
    load_model(m, "mlp_relu_ce");
    ModelInput<double> X;
    X.x = load_fixture("mlp_relu_ce", "x");
    check(m, X, "mlp_relu_ce");
    NtkOptions o = opts(NtkMethod::Structured, NtkOutput::Full);
    o.parameters = {"layers.1.weight"};
    CHECK(rel(empirical_ntk(m, X, o), load_fixture("mlp_relu_ce", "ntk_full.layers.1.weight")) < 1e-10);
  }
  {
    Mlp<double> m(MlpConfig::gromov(7, 10));
    load_model(m, "mlp_gromov_mse");
    check(m, fixture_tokens("mlp_gromov_mse", "ids", 2), "mlp_gromov_mse");
  }
  {
    MlpConfig c;
    c.input = 3, c.hidden = {9}, c.output = 2, c.activation = Activation::Tanh;
    c.parameterization = Parameterization::Ntk;
    c.output_scale = 2.0;
    c.centered = true;
    Mlp<double> m(c);
    load_model(m, "mlp_ntk_tanh_centered", "init.");
    m.recenter();
    load_model(m, "mlp_ntk_tanh_centered");
    ModelInput<double> X;
    X.x = load_fixture("mlp_ntk_tanh_centered", "x");
    check(m, X, "mlp_ntk_tanh_centered");
  }
  {
    Transformer<double> m(small(32, 4, 64, 1));
    load_model(m, "transformer_nanda");
    check(m, fixture_tokens("transformer_nanda", "tokens", 3), "transformer_nanda");
  }
  {
    TransformerConfig c = small(16, 2, 32, 2);
    c.layer_norm = LayerNormPlacement::Pre;
    c.activation = Activation::Gelu;
    c.attn_bias = c.mlp_bias = c.unembed_bias = true;
    Transformer<double> m(c);
    load_model(m, "transformer_preln");
    check(m, fixture_tokens("transformer_preln", "tokens", 3), "transformer_preln");
  }
  {
    TransformerConfig c = small(16, 4, 32, 2);
    c.layer_norm = LayerNormPlacement::Post;
    c.positions = PositionEncoding::Sinusoidal;
    c.mlp_bias = false;
    Transformer<double> m(c);
    load_model(m, "transformer_postln");
    check(m, fixture_tokens("transformer_postln", "tokens", 3), "transformer_postln");
  }
}

TEST_CASE("Kumar et al.'s eq. 5: the committee machine's NTK in closed form") {
  // f = (α/N) Σ φ(w_i·x/√D), φ(h) = h + ε h²/2: ∂f/∂w_i = (α/N)(1 + ε h_i) x/√D, so
  // K(x, x') = α²/(N² D) (x·x') Σ_i (1 + ε h_i)(1 + ε h'_i).
  const Index D = 5, N = 11;
  const double eps = 0.4, alpha = 1.7;
  Mlp<double> m(MlpConfig::kumar(D, N, eps, alpha, true, 4));
  m.parameter("layers.0.weight").value.array() += 0.2;  // move away from θ₀: centering must not matter
  const ModelInput<double> X = dense(9, D, 10);
  const Matrix<double>& W = m.parameter("layers.0.weight").value;
  const Eigen::MatrixXd H = (X.x * W.transpose()) / std::sqrt(double(D));
  const Eigen::MatrixXd A = (1.0 + eps * H.array()).matrix();
  const Eigen::MatrixXd expect =
      (alpha * alpha / (double(N) * N * D)) * (X.x * X.x.transpose()).cwiseProduct(A * A.transpose());
  CHECK(rel(empirical_ntk(m, X), expect) < 1e-12);
}

TEST_CASE("NTK invariants: positive semi-definite, trace = Σ single outputs = Σ full diagonal blocks") {
  MlpConfig c;
  c.input = 5, c.hidden = {12}, c.output = 3, c.activation = Activation::Gelu;
  Mlp<double> m(c);
  const ModelInput<double> X = dense(10, 5, 12);
  const Eigen::MatrixXd K = empirical_ntk(m, X);
  const test::SymEigen es = test::sym_eigen(K);
  CHECK(es.values.minCoeff() > -1e-12 * es.values.maxCoeff());
  Eigen::MatrixXd sum = Eigen::MatrixXd::Zero(10, 10);
  NtkOptions o;
  o.output = NtkOutput::Single;
  for (Index a = 0; a < 3; ++a) {
    o.output_index = a;
    sum += empirical_ntk(m, X, o);
  }
  CHECK(rel(sum, K) < 1e-12);
  o.output = NtkOutput::Full;
  const Eigen::MatrixXd F = empirical_ntk(m, X, o);
  Eigen::MatrixXd blocks = Eigen::MatrixXd::Zero(10, 10);
  for (Index i = 0; i < 10; ++i)
    for (Index j = 0; j < 10; ++j) blocks(i, j) = F.block(i * 3, j * 3, 3, 3).trace();
  CHECK(rel(blocks, K) < 1e-12);
  // K(X, X) through the two-set path equals the symmetric path
  CHECK(rel(empirical_ntk(m, X, X), K) < 1e-12);
}

TEST_CASE("empirical_ntk restores gradients and flags, and works in float") {
  MlpConfig c;
  c.input = 3, c.hidden = {4}, c.output = 2;
  Mlp<double> m(c);
  m.parameter("layers.0.weight").grad.setConstant(0.25);
  m.parameter("layers.1.bias").requires_grad = false;
  NtkOptions o;
  o.parameters = {"layers.1.bias"};
  const Eigen::MatrixXd K = empirical_ntk(m, dense(4, 3, 1), o);
  CHECK(K.isApprox(Eigen::MatrixXd::Ones(4, 4) * 2.0));  // ∂f_a/∂b_a = 1 for both outputs
  CHECK(m.parameter("layers.0.weight").grad.isApproxToConstant(0.25));
  CHECK_FALSE(m.parameter("layers.1.bias").requires_grad);

  MlpConfig cf = c;
  Mlp<float> mf(cf);
  Mlp<double> md(cf);
  ModelInput<float> Xf;
  const ModelInput<double> Xd = dense(5, 3, 2);
  Xf.x = Xd.x.cast<float>();
  CHECK(rel(empirical_ntk(mf, Xf), empirical_ntk(md, Xd)) < 1e-5);
}

TEST_CASE("NtkPrecision::ModelScalar: float Grams within float rounding of the double kernel in every mode") {
  auto frob = [](const Eigen::MatrixXd& a, const Eigen::MatrixXd& b) { return (a - b).norm() / b.norm(); };
  NtkOptions d, f;
  f.precision = NtkPrecision::ModelScalar;
  SUBCASE("a ReLU MLP with biases, one output, the size of the benchmark's") {
    MlpConfig c;
    c.input = 100, c.hidden = {500}, c.output = 1, c.activation = Activation::Relu, c.bias = true;
    Mlp<float> m(c);
    ModelInput<float> X, Y;
    X.x = Rng(5).normal_matrix(300, 100).cast<float>();
    Y.x = Rng(6).normal_matrix(70, 100).cast<float>();
    const Eigen::MatrixXd Kd = empirical_ntk(m, X, d), Kf = empirical_ntk(m, X, f);
    const double err = frob(Kf, Kd);
    MESSAGE("relative Frobenius error of the float Grams: " << err);
    CHECK(err > 0);  // the float path ran
    CHECK(err < 1e-6);
    CHECK((Kf - Kf.transpose()).cwiseAbs().maxCoeff() == 0.0);
    CHECK(frob(empirical_ntk(m, X, Y, f), empirical_ntk(m, X, Y, d)) < 1e-6);
    f.diagonal = d.diagonal = true;
    CHECK(frob(empirical_ntk(m, X, f), empirical_ntk(m, X, d)) < 1e-6);
  }
  SUBCASE("several outputs: trace, single and full kernels, blocks that do not divide n") {
    MlpConfig c;
    c.input = 7, c.hidden = {30, 20}, c.output = 4, c.activation = Activation::Tanh, c.bias = true;
    Mlp<float> m(c);
    ModelInput<float> X;
    X.x = Rng(7).normal_matrix(41, 7).cast<float>();
    for (NtkOutput out : {NtkOutput::Trace, NtkOutput::Single, NtkOutput::Full}) {
      d.output = f.output = out;
      d.output_index = f.output_index = 2;
      d.block_examples = f.block_examples = 16;
      CHECK(frob(empirical_ntk(m, X, f), empirical_ntk(m, X, d)) < 1e-5);
    }
    d.output = f.output = NtkOutput::Full;
    CHECK(ntk_memory_estimate(m, X, f).gradients < ntk_memory_estimate(m, X, d).gradients);
  }
  SUBCASE("a transformer: embeddings (one-hot against float factors), attention, layer norm") {
    TransformerConfig c = small(16, 2, 24, 1);
    c.layer_norm = LayerNormPlacement::Pre;
    Transformer<float> m(c);
    ModelInput<float> X;
    X.T = 3;
    Rng rng(8);
    for (Index i = 0; i < 20; ++i) X.tokens.insert(X.tokens.end(), {rng.integer(13), rng.integer(13), 13});
    CHECK(frob(empirical_ntk(m, X, f), empirical_ntk(m, X, d)) < 1e-5);
  }
  SUBCASE("a double model is unaffected; the reference method refuses the option") {
    MlpConfig c;
    c.input = 5, c.hidden = {9}, c.output = 2;
    Mlp<double> m(c);
    const ModelInput<double> X = dense(11, 5, 9);
    CHECK((empirical_ntk(m, X, f) - empirical_ntk(m, X, d)).cwiseAbs().maxCoeff() == 0.0);
    f.method = NtkMethod::JacobianContraction;
    CHECK_THROWS_WITH_AS(empirical_ntk(m, X, f), doctest::Contains("applies to the Structured method"),
                         std::invalid_argument);
  }
}

TEST_CASE("empirical_ntk rejects bad requests with a message naming the problem") {
  MlpConfig c;
  c.input = 3, c.hidden = {4}, c.output = 2;
  Mlp<double> m(c);
  const ModelInput<double> X = dense(4, 3, 1);
  NtkOptions o;
  o.parameters = {"layers.9.weight"};
  CHECK_THROWS_WITH_AS(empirical_ntk(m, X, o), doctest::Contains("have: layers.0.weight"), std::invalid_argument);
  o.parameters = {"layers.0.weight", "layers.0.weight"};
  CHECK_THROWS_WITH_AS(empirical_ntk(m, X, o), doctest::Contains("named twice"), std::invalid_argument);
  o = NtkOptions{};
  o.output = NtkOutput::Single;
  o.output_index = 2;
  CHECK_THROWS_WITH_AS(empirical_ntk(m, X, o), doctest::Contains("out of range for 2 outputs"), std::invalid_argument);
  o = NtkOptions{};
  o.diagonal = true;
  CHECK_THROWS_WITH_AS(empirical_ntk(m, X, X, o), doctest::Contains("single input set"), std::invalid_argument);
  o = NtkOptions{};
  o.block_examples = 0;
  CHECK_THROWS_AS(empirical_ntk(m, X, o), std::invalid_argument);
  ModelInput<double> bad = X;
  bad.x(1, 2) = std::nan("");
  CHECK_THROWS_WITH_AS(empirical_ntk(m, bad), doctest::Contains("X1"), std::invalid_argument);
  ModelInput<double> empty;
  empty.x.resize(0, 3);
  CHECK_THROWS_WITH_AS(empirical_ntk(m, empty), doctest::Contains("no examples"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(empirical_ntk(m, X, dense(2, 5, 1)), doctest::Contains("features"), std::invalid_argument);
  for (Parameter<double>* p : m.parameters()) p->requires_grad = false;
  CHECK_THROWS_WITH_AS(empirical_ntk(m, X), doctest::Contains("no parameter"), std::invalid_argument);
}

TEST_CASE("ntk_memory_estimate predicts the kernel size and the full mode refuses past the limit") {
  MlpConfig c;
  c.input = 20, c.hidden = {30}, c.output = 10;
  Mlp<double> m(c);
  const ModelInput<double> X = dense(50, 20, 3);
  NtkOptions o;
  o.output = NtkOutput::Full;
  const NtkMemoryEstimate e = ntk_memory_estimate(m, X, o);
  CHECK(e.kernel == std::size_t(500) * 500 * sizeof(double));
  CHECK(e.gradients > 0);
  CHECK(e.total() > e.kernel);
  NtkOptions tr;
  CHECK(ntk_memory_estimate(m, X, tr).kernel == std::size_t(50) * 50 * sizeof(double));
  o.max_bytes = e.kernel;  // below the total
  CHECK_THROWS_WITH_AS(empirical_ntk(m, X, o), doctest::Contains("more than the limit"), std::runtime_error);
  o.max_bytes = e.total() + 1;
  CHECK(empirical_ntk(m, X, o).rows() == 500);
  NtkOptions j;
  j.method = NtkMethod::JacobianContraction;
  CHECK(ntk_memory_estimate(m, X, j).gradients >= std::size_t(50) * m.num_parameters() * sizeof(double));
}

TEST_CASE("the per-thread workspace gives identical kernels on repeated calls and can be released") {
  MlpConfig c;
  c.input = 4, c.hidden = {7}, c.output = 2;
  Mlp<double> m(c);
  const ModelInput<double> X = dense(9, 4, 3), Y = dense(5, 4, 4);
  const Eigen::MatrixXd K1 = empirical_ntk(m, X);
  CHECK(empirical_ntk(m, Y).rows() == 5);  // a different size in between
  CHECK((empirical_ntk(m, X) - K1).cwiseAbs().maxCoeff() == 0.0);
  ntk_release_workspace<double>();
  CHECK((empirical_ntk(m, X) - K1).cwiseAbs().maxCoeff() == 0.0);
  // the pooled factor buffers, in double and in float (ModelScalar), in every output mode: a
  // call reuses what the last one left, of another size too, and gives the same kernel
  MlpConfig cf = c;
  cf.hidden = {300};
  Mlp<float> mf(cf);
  ModelInput<float> Xf, Yf;
  Xf.x = X.x.cast<float>();
  Yf.x = Y.x.cast<float>();
  for (const NtkPrecision precision : {NtkPrecision::Double, NtkPrecision::ModelScalar})
    for (const NtkOutput output : {NtkOutput::Trace, NtkOutput::Full}) {
      NtkOptions o;
      o.precision = precision;
      o.output = output;
      const Eigen::MatrixXd F1 = empirical_ntk(mf, Xf, o);
      const Eigen::MatrixXd F12 = empirical_ntk(mf, Xf, Yf, o);
      CHECK(empirical_ntk(mf, Yf, o).rows() == (output == NtkOutput::Full ? 10 : 5));
      CHECK((empirical_ntk(mf, Xf, o) - F1).cwiseAbs().maxCoeff() == 0.0);
      CHECK((empirical_ntk(mf, Xf, Yf, o) - F12).cwiseAbs().maxCoeff() == 0.0);
      ntk_release_workspace<float>();
      CHECK((empirical_ntk(mf, Xf, o) - F1).cwiseAbs().maxCoeff() == 0.0);
    }
}
