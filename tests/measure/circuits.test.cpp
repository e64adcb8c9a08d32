#include <grokscope/measure/circuits.hpp>

#include <doctest/doctest.h>

#include <cmath>

using namespace grokscope;

namespace {
ModelInput<double> grid_tokens(Index p) {  // every (a, b, =) of Z_p, row a·p + b
  ModelInput<double> in;
  in.T = 3;
  for (Index a = 0; a < p; ++a)
    for (Index b = 0; b < p; ++b) in.tokens.insert(in.tokens.end(), {a, b, p});
  return in;
}

TransformerConfig small(LayerNormPlacement ln, double output_scale) {
  TransformerConfig c = TransformerConfig::nanda2023(7, 11);
  c.d_model = 16, c.heads = 2, c.d_mlp = 24, c.layers = 2, c.layer_norm = ln;
  c.attn_bias = c.mlp_bias = c.unembed_bias = true, c.output_scale = output_scale;
  return c;
}

double w(Index k, Index x, Index p) { return 2 * M_PI * static_cast<double>(k * x) / static_cast<double>(p); }
}  // namespace

TEST_CASE("logit lens at the last residual site is the model's logits; direct attribution sums to the logit") {
  for (const LayerNormPlacement ln : {LayerNormPlacement::None, LayerNormPlacement::Pre}) {
    Transformer<double> m(small(ln, 1.5));
    for (Parameter<double>* p : m.parameters())  // non-zero biases and layer-norm affine terms
      if (p->rows() == 1) p->value = Rng(7).normal_matrix(1, p->cols(), 0.3, 0.2);
    const ModelInput<double> in = grid_tokens(7);
    const ActivationCache<double> cache = m.run_with_cache(in);
    const Eigen::MatrixXd& logits = cache["hook_logits"];
    CHECK((logit_lens(m, cache, "blocks.1.hook_resid_post") - logits).cwiseAbs().maxCoeff() < 1e-12);
    // an earlier site reads out something else, of the same shape
    const Eigen::MatrixXd early = logit_lens(m, cache, "blocks.0.hook_resid_post");
    CHECK(early.rows() == 49);
    CHECK((early - logits).cwiseAbs().maxCoeff() > 1e-3);
    IndexList labels;
    for (Index i = 0; i < 49; ++i) labels.push_back((i / 7 + i % 7) % 7);
    const LogitAttribution a = direct_logit_attribution(m, cache, labels);
    CHECK(a.components == std::vector<std::string>{"embed", "pos_embed", "blocks.0.attn", "blocks.0.mlp",
                                                   "blocks.1.attn", "blocks.1.mlp", "bias"});
    for (Index i = 0; i < 49; ++i) {
      INFO("layer norm " << static_cast<int>(ln) << ", example " << i);
      CHECK(a.logit(i) == doctest::Approx(logits(i, labels[static_cast<std::size_t>(i)])).epsilon(1e-11));
      CHECK(a.contributions.row(i).sum() == doctest::Approx(a.logit(i)).epsilon(1e-13));
    }
    CHECK_THROWS_WITH_AS(logit_lens(m, cache, "blocks.0.mlp.hook_post"),
                         doctest::Contains("not on the residual stream"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(direct_logit_attribution(m, cache, IndexList(3, 0)), doctest::Contains("3 labels for 49"),
                         std::invalid_argument);
    // a cache of a model of another width is refused, naming the site and both widths
    TransformerConfig wide = small(ln, 1.5);
    wide.d_model = 32;
    Transformer<double> other(wide);
    CHECK_THROWS_WITH_AS(direct_logit_attribution(other, cache, labels),
                         doctest::Contains("hook_embed has width 16 but the model's unembed.W_U has d_model 32"),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(direct_logit_attribution(m, other.run_with_cache(in), labels),
                         doctest::Contains("has width 32 but the model's unembed.W_U has d_model 16"),
                         std::invalid_argument);
  }
  Transformer<double> post(small(LayerNormPlacement::Post, 1.0));
  const ActivationCache<double> c = post.run_with_cache(grid_tokens(7));
  CHECK_THROWS_WITH_AS(logit_lens(post, c, "blocks.1.hook_resid_post"), doctest::Contains("post-LN"),
                       std::invalid_argument);
}

TEST_CASE("grid_spectrum puts a pure 2-D term in its frequency pair; neuron_clusters groups by key frequency") {
  const Index p = 11;
  Eigen::MatrixXd v(p * p, 3);
  for (Index a = 0; a < p; ++a)
    for (Index b = 0; b < p; ++b) {
      v(a * p + b, 0) = std::cos(w(3, a, p));                         // (3, 0)
      v(a * p + b, 1) = std::cos(w(2, a, p)) * std::sin(w(5, b, p));  // (2, 5)
      v(a * p + b, 2) = 4.0;                                          // constant: no mass
    }
  const GridSpectrum s0 = grid_spectrum(v.col(0));
  CHECK(s0.dominant_a == 3);
  CHECK(s0.dominant_b == 0);
  CHECK(s0.dominant_share == doctest::Approx(1.0));
  CHECK(s0.per_frequency(3) == doctest::Approx(1.0));
  const GridSpectrum s1 = grid_spectrum(v.col(1));
  CHECK(s1.dominant_a == 2);
  CHECK(s1.dominant_b == 5);
  CHECK(s1.share.sum() == doctest::Approx(1.0));
  CHECK(s1.per_frequency(2) == doctest::Approx(1.0));
  CHECK(s1.per_frequency(5) == doctest::Approx(1.0));  // the term involves both
  CHECK(grid_spectrum(v.col(2)).share.sum() == 0);
  // neurons: two of frequency 4 (a linear and a product term), one of frequency 1, one mixed
  Eigen::MatrixXd acts(p * p, 4);
  for (Index a = 0; a < p; ++a)
    for (Index b = 0; b < p; ++b) {
      acts(a * p + b, 0) = std::sin(w(4, b, p));
      acts(a * p + b, 1) = std::cos(w(4, a, p)) * std::cos(w(4, b, p));
      acts(a * p + b, 2) = 2 * std::cos(w(1, a, p));
      acts(a * p + b, 3) = std::cos(w(4, a, p)) + std::cos(w(2, b, p));  // half its mass outside frequency 4's block
    }
  const NeuronClusters nc = neuron_clusters(acts.leftCols(3));
  CHECK(nc.frequencies == std::vector<Index>{4, 1});
  CHECK(nc.neurons[0] == IndexList{0, 1});
  CHECK(nc.neurons[1] == IndexList{2});
  CHECK(nc.fraction_explained == doctest::Approx(1.0));
  const NeuronClusters mixed = neuron_clusters(acts);
  // neuron 3 ties between 2 and 4 (equal mass); either way half of its mass (1/2 of 121/2 · 2) is outside
  const double total = 121.0 / 2 + 121.0 / 4 + 4 * 121.0 / 2 + 121.0;
  CHECK(mixed.fraction_explained == doctest::Approx(1.0 - (121.0 / 2) / total));
  CHECK_THROWS_AS(grid_spectrum(Eigen::MatrixXd::Ones(10, 1)), std::invalid_argument);
}
