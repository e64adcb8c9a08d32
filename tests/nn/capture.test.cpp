#include <grokscope/io/npy.hpp>
#include <grokscope/nn/capture.hpp>
#include <grokscope/nn/mlp.hpp>
#include <grokscope/nn/transformer.hpp>

#include "../test_util.hpp"

#include <doctest/doctest.h>

#include <filesystem>

using namespace grokscope;

namespace {
ModelInput<double> grid_tokens(Index p) {  // every (a, b, =) of Z_p
  ModelInput<double> in;
  in.T = 3;
  for (Index a = 0; a < p; ++a)
    for (Index b = 0; b < p; ++b) in.tokens.insert(in.tokens.end(), {a, b, p});
  return in;
}
}  // namespace

TEST_CASE("CaptureFilter: exact names, trailing-* prefixes, empty keeps all") {
  CHECK(CaptureFilter{}.keeps("anything"));
  const CaptureFilter f{{"blocks.0.*", "hook_logits"}};
  CHECK(f.keeps("blocks.0.hook_resid_pre"));
  CHECK(f.keeps("hook_logits"));
  CHECK_FALSE(f.keeps("blocks.1.hook_resid_pre"));
  CHECK_FALSE(f.keeps("hook_logit"));
}

TEST_CASE("Mlp: every site holds what its layer computed, and capture leaves the model as it was") {
  MlpConfig c;
  c.input = 3, c.hidden = {5, 4}, c.output = 2, c.activation = Activation::Tanh, c.output_scale = 2.0, c.seed = 3;
  Mlp<double> m(c);
  ModelInput<double> in;
  in.x = Rng(1).normal_matrix(6, 3);
  CHECK(m.capture_sites() == std::vector<std::string>{"layers.0.hook_pre", "layers.0.hook_post", "layers.1.hook_pre",
                                                      "layers.1.hook_post", "layers.2.hook_pre", "hook_logits"});
  const ActivationCache<double> cache = m.run_with_cache(in);
  CHECK(cache.names() == m.capture_sites());
  CHECK(cache.examples == 6);
  const auto lin = [&](int l, const Eigen::MatrixXd& x) {
    Eigen::MatrixXd y = x * m.parameter("layers." + std::to_string(l) + ".weight").value.transpose();
    y.rowwise() += Eigen::RowVectorXd(m.parameter("layers." + std::to_string(l) + ".bias").value);
    return y;
  };
  // Mlp's standard parameterisation scales nothing: layer l is x Wᵀ + b
  CHECK((cache["layers.0.hook_pre"] - lin(0, in.x)).cwiseAbs().maxCoeff() < 1e-14);
  CHECK(
      (cache["layers.0.hook_post"] - Eigen::MatrixXd(cache["layers.0.hook_pre"].array().tanh())).cwiseAbs().maxCoeff() <
      1e-15);
  CHECK((cache["layers.2.hook_pre"] - lin(2, cache["layers.1.hook_post"])).cwiseAbs().maxCoeff() < 1e-14);
  CHECK((cache["hook_logits"] - 2.0 * cache["layers.2.hook_pre"]).cwiseAbs().maxCoeff() < 1e-14);
  Tape<double> t;
  CHECK((m.forward(t, in).value() - cache["hook_logits"]).cwiseAbs().maxCoeff() == 0);
  // a filter keeps only what it selects; a filter entry that selects nothing is refused
  const ActivationCache<double> some = m.run_with_cache(in, {{"layers.1.*"}});
  CHECK(some.names() == std::vector<std::string>{"layers.1.hook_pre", "layers.1.hook_post"});
  CHECK_THROWS_WITH_AS(m.run_with_cache(in, {{"layers.9.hook_pre"}}),
                       doctest::Contains("'layers.9.hook_pre' selects no capture site (sites: layers.0.hook_pre"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(some.at("hook_logits"), doctest::Contains("kept: layers.1.hook_pre, layers.1.hook_post"),
                       std::invalid_argument);
}

TEST_CASE("a centered model's cache is the pass at θ, not the pass at θ₀ that centering runs") {
  MlpConfig c;
  c.input = 2, c.hidden = {3}, c.output = 1, c.centered = true, c.seed = 2;
  Mlp<double> m(c);
  for (Parameter<double>* p : m.parameters()) p->value.array() += 0.5;  // θ ≠ θ₀
  ModelInput<double> in;
  in.x = Rng(4).normal_matrix(4, 2);
  const ActivationCache<double> cache = m.run_with_cache(in);
  Eigen::MatrixXd pre = in.x * m.parameter("layers.0.weight").value.transpose();
  pre.rowwise() += Eigen::RowVectorXd(m.parameter("layers.0.bias").value);
  CHECK((cache["layers.0.hook_pre"] - pre).cwiseAbs().maxCoeff() < 1e-14);
  Tape<double> t;
  CHECK((cache["hook_logits"] - m.forward(t, in).value()).cwiseAbs().maxCoeff() == 0);
}

TEST_CASE("Transformer: the residual stream adds up, patterns are causal distributions, logits read the last site") {
  for (const LayerNormPlacement ln : {LayerNormPlacement::None, LayerNormPlacement::Pre}) {
    TransformerConfig c = TransformerConfig::nanda2023(7, 5);
    c.d_model = 16, c.heads = 2, c.d_mlp = 24, c.layers = 2, c.layer_norm = ln, c.attn_bias = c.mlp_bias = true;
    Transformer<double> m(c);
    const ModelInput<double> in = grid_tokens(7);
    const Index n = 49, T = 3;
    const ActivationCache<double> cache = m.run_with_cache(in);
    CHECK(cache.names() == m.capture_sites());
    CHECK(cache.context == 3);
    CHECK((cache["hook_embed"] + cache["hook_pos_embed"] - cache["blocks.0.hook_resid_pre"]).cwiseAbs().maxCoeff() <
          1e-14);
    // block 0 runs at every position, block 1 (the last) at the final one
    CHECK(cache["blocks.0.hook_resid_post"].rows() == n * T);
    CHECK(cache["blocks.1.hook_resid_mid"].rows() == n);
    CHECK((cache["blocks.0.hook_resid_pre"] + cache["blocks.0.hook_attn_out"] - cache["blocks.0.hook_resid_mid"])
              .cwiseAbs()
              .maxCoeff() < 1e-13);
    CHECK((cache["blocks.0.hook_resid_mid"] + cache["blocks.0.hook_mlp_out"] - cache["blocks.0.hook_resid_post"])
              .cwiseAbs()
              .maxCoeff() < 1e-13);
    Eigen::MatrixXd last(n, c.d_model);
    for (Index i = 0; i < n; ++i) last.row(i) = cache["blocks.1.hook_resid_pre"].row(i * T + T - 1);
    CHECK((last + cache["blocks.1.hook_attn_out"] - cache["blocks.1.hook_resid_mid"]).cwiseAbs().maxCoeff() < 1e-13);
    // patterns: (example, head, query) rows summing to 1 over the keys a causal query sees
    const Matrix<double>& P0 = cache["blocks.0.attn.hook_pattern"];
    CHECK(P0.rows() == n * 2 * T);
    CHECK(P0.cols() == T);
    CHECK((P0.rowwise().sum().array() - 1).abs().maxCoeff() < 1e-14);
    CHECK(P0(0, 1) == 0);  // example 0, head 0, query 0 sees key 0 only
    CHECK(P0(0, 2) == 0);
    CHECK(cache["blocks.1.attn.hook_pattern"].rows() == n * 2);
    // mlp.hook_post = relu(mlp.hook_pre), hook_mlp_out = post W_outᵀ + b_out
    CHECK((cache["blocks.1.mlp.hook_post"] - Eigen::MatrixXd(cache["blocks.1.mlp.hook_pre"].cwiseMax(0.0)))
              .cwiseAbs()
              .maxCoeff() == 0);
    Eigen::MatrixXd out = cache["blocks.1.mlp.hook_post"] * m.parameter("blocks.1.mlp.W_out").value.transpose();
    out.rowwise() += Eigen::RowVectorXd(m.parameter("blocks.1.mlp.b_out").value);
    CHECK((out - cache["blocks.1.hook_mlp_out"]).cwiseAbs().maxCoeff() < 1e-13);
    const Matrix<double>& final_resid =
        ln == LayerNormPlacement::Pre ? cache["ln_final.hook_normalized"] : cache["blocks.1.hook_resid_post"];
    CHECK((final_resid * m.parameter("unembed.W_U").value - cache["hook_logits"]).cwiseAbs().maxCoeff() < 1e-12);
    CHECK(cache.has("ln_final.hook_normalized") == (ln == LayerNormPlacement::Pre));
  }
}

TEST_CASE("save_activations writes one .npy per site and a manifest") {
  MlpConfig c;
  c.input = 2, c.hidden = {3}, c.output = 2;
  Mlp<float> m(c);
  ModelInput<float> in;
  in.x = Rng(5).normal_matrix<float>(4, 2);
  const ActivationCache<float> cache = m.run_with_cache(in, {{"layers.0.hook_post", "hook_logits"}});
  const std::string dir = test::tmp_path("activations");
  std::filesystem::remove_all(dir);
  save_activations(dir, cache);
  CHECK(load_npy<float>(dir + "/layers.0.hook_post.npy") == cache["layers.0.hook_post"]);
  CHECK(load_npy<float>(dir + "/hook_logits.npy") == cache["hook_logits"]);
  CHECK(std::filesystem::exists(dir + "/manifest.json"));
}
