#include <grokscope/autodiff/gradcheck.hpp>
#include <grokscope/nn/transformer.hpp>

#include "fixture_util.hpp"

#include <doctest/doctest.h>

using namespace grokscope;
using test::load_fixture;
using test::load_model;
using test::rel_diff;

namespace {
void check_case(TransformerConfig c, const std::string& name) {
  Transformer<double> m(c);
  load_model(m, name);
  const Matrix<double> tok = load_fixture(name, "tokens"), lab = load_fixture(name, "labels");
  ModelInput<double> in;
  in.T = 3;
  for (Index i = 0; i < tok.size(); ++i) in.tokens.push_back(static_cast<Index>(tok.data()[i]));
  IndexList y;
  for (Index i = 0; i < lab.size(); ++i) y.push_back(static_cast<Index>(lab.data()[i]));
  Tape<double> t;
  const Var<double> logits = m.forward(t, in);
  CHECK(rel_diff(logits.value(), load_fixture(name, "outputs")) < 1e-11);
  const Var<double> loss = cross_entropy(logits, y);
  CHECK(loss.item() == doctest::Approx(load_fixture(name, "loss")(0, 0)).epsilon(1e-11));
  t.backward(loss);
  for (Parameter<double>* p : m.parameters()) {
    INFO(p->name);
    CHECK(rel_diff(p->grad, load_fixture(name, "grad." + p->name)) < 1e-9);
  }
}

TransformerConfig small(Index d, Index H, Index d_mlp, Index layers) {
  TransformerConfig c = TransformerConfig::nanda2023(13);
  c.d_model = d, c.heads = H, c.d_mlp = d_mlp, c.layers = layers;
  return c;
}
}  // namespace

TEST_CASE("Nanda-style transformer matches PyTorch: logits, loss and every gradient") {
  check_case(small(32, 4, 64, 1), "transformer_nanda");
}

TEST_CASE("two-layer pre-LN transformer with GELU and all biases matches PyTorch") {
  TransformerConfig c = small(16, 2, 32, 2);
  c.layer_norm = LayerNormPlacement::Pre;
  c.activation = Activation::Gelu;
  c.attn_bias = c.mlp_bias = c.unembed_bias = true;
  check_case(c, "transformer_preln");
}

TEST_CASE("two-layer post-LN transformer with sinusoidal positions matches PyTorch") {
  TransformerConfig c = small(16, 4, 32, 2);
  c.layer_norm = LayerNormPlacement::Post;
  c.positions = PositionEncoding::Sinusoidal;
  c.mlp_bias = false;
  check_case(c, "transformer_postln");
}

TEST_CASE("presets: Nanda et al.'s sizes and Power et al.'s architecture") {
  Transformer<float> nanda(TransformerConfig::nanda2023(113));
  const Index d = 128, V = 114;
  CHECK(nanda.num_parameters() == d * V + 3 * d + 4 * d * d + 512 * d + 512 + d * 512 + d + d * V);
  CHECK(nanda.parameter("blocks.0.attn.W_Q").rows() == 128);
  CHECK(nanda.parameter("unembed.W_U").cols() == 114);
  // TransformerLens's demo model: d_vocab p + 1 in, d_vocab_out p out
  TransformerConfig tl = TransformerConfig::nanda2023(113);
  tl.output = 113;
  Transformer<float> lens(tl);
  CHECK(lens.parameter("embed.W_E").cols() == 114);
  CHECK(lens.parameter("unembed.W_U").cols() == 113);
  ModelInput<float> x;
  x.T = 3;
  x.tokens = {1, 2, 113};
  Tape<float> t;
  CHECK(lens.forward(t, x).value().cols() == 113);
  Transformer<float> power(TransformerConfig::power2022(97));
  CHECK(power.config()["layer_norm"] == "post");
  CHECK(power.config()["positions"] == "sinusoidal");
  CHECK_THROWS_AS(power.parameter("pos_embed.W_pos"), std::invalid_argument);
  const Matrix<double> pe = Transformer<double>::sinusoidal_positions(3, 4);
  CHECK(pe(2, 0) == doctest::Approx(std::sin(2.0)));
  CHECK(pe(2, 1) == doctest::Approx(std::cos(2.0)));
  CHECK(pe(2, 2) == doctest::Approx(std::sin(2.0 / 100.0)));
}

TEST_CASE("finite differences through a small transformer (subsampled entries)") {
  TransformerConfig c = small(8, 2, 8, 2);
  c.layer_norm = LayerNormPlacement::Pre;
  c.output_scale = 0.7;
  Transformer<double> m(c);
  ModelInput<double> in;
  in.T = 3;
  in.tokens = {1, 2, 13, 4, 4, 13};
  GradcheckOptions o;
  o.max_entries_per_param = 6;
  o.step = 1e-5;  // a deeper graph: a larger step keeps rounding error below the tolerance
  const GradcheckResult r = gradcheck(
      [&](Tape<double>& t) {
        return cross_entropy(m.forward(t, in), IndexList{3, 8});
      },
      m.parameters(), o);
  CHECK(r.max_error < 1e-6);
}

TEST_CASE("centered transformer outputs zero at initialisation") {
  TransformerConfig c = small(8, 2, 8, 1);
  c.centered = true;
  Transformer<double> m(c);
  ModelInput<double> in;
  in.T = 3;
  in.tokens = {1, 2, 13};
  Tape<double> t;
  CHECK(m.forward(t, in).value().cwiseAbs().maxCoeff() == 0.0);
}

TEST_CASE("bad configurations and inputs are rejected") {
  TransformerConfig c = small(10, 3, 8, 1);
  CHECK_THROWS_WITH_AS(Transformer<double>{c}, "grokscope::Transformer: d_model = 10 is not a multiple of heads = 3",
                       std::invalid_argument);
  Transformer<double> m(small(8, 2, 8, 1));
  ModelInput<double> in;
  in.T = 2;
  in.tokens = {1, 2};
  Tape<double> t;
  CHECK_THROWS_WITH_AS(m.forward(t, in), "grokscope::Transformer::forward: expects token inputs with T = 3, got T = 2",
                       std::invalid_argument);
  in.T = 3;
  in.tokens = {1, 2, 14};
  CHECK_THROWS_WITH_AS(m.forward(t, in), "grokscope::onehot_matmul: id 14 at position 2 is out of range [0, 14)",
                       std::invalid_argument);
}

TEST_CASE("a forward pass over zero examples gives zero rows of logits (every LayerNorm placement)") {
  for (LayerNormPlacement ln : {LayerNormPlacement::None, LayerNormPlacement::Pre, LayerNormPlacement::Post}) {
    TransformerConfig c = small(16, 2, 32, 2);
    c.layer_norm = ln;
    Transformer<double> m(c);
    ModelInput<double> in;
    in.T = 3;
    Tape<double> t;
    const Var<double> logits = m.forward(t, in);
    CHECK(logits.rows() == 0);
    CHECK(logits.cols() == 14);  // the vocabulary of small(): p + 1
  }
}
