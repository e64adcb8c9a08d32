// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Transformer: a decoder-only transformer with causal attention, logits read at the last
/// position, configurable LayerNorm placement, positions, biases, output scale and centering;
/// presets for Nanda et al. (2023) and Power et al. (2022).
///
/// Parameter names follow Nanda et al.'s code (TransformerLens style) with their shapes, except
/// that W_Q, W_K, W_V are stored as (H·d_head, d_model), a reshape of their (H, d_head, d_model):
///   embed.W_E (d_model, vocab)   pos_embed.W_pos (context, d_model)
///   blocks.<l>.attn.W_Q / W_K / W_V (H·d_head, d_model)   blocks.<l>.attn.W_O (d_model, H·d_head)
///   blocks.<l>.attn.b_Q / b_K / b_V (1, H·d_head), b_O (1, d_model)         [attention biases]
///   blocks.<l>.mlp.W_in (d_mlp, d_model), b_in (1, d_mlp), W_out (d_model, d_mlp), b_out (1, d_model)
///   blocks.<l>.ln1.w / ln1.b, ln2.w / ln2.b, ln_final.w / ln_final.b (1, d_model)   [LayerNorm]
///   unembed.W_U (d_model, output), unembed.b_U (1, output)                     [unembed bias]
/// In the last block only the last position's query, residual and MLP are computed: the logits
/// read there do not depend on the other positions' outputs, so this is exact.

#include <grokscope/autodiff/ops.hpp>
#include <grokscope/core/config.hpp>
#include <grokscope/core/memory.hpp>
#include <grokscope/core/text.hpp>
#include <grokscope/nn/init.hpp>
#include <grokscope/nn/mlp.hpp>
#include <grokscope/nn/model.hpp>

#include <cmath>
#include <string>
#include <vector>

namespace grokscope {

/// Where LayerNorm goes in each block.
enum class LayerNormPlacement { None, Pre, Post };
/// Positional information added to the token embeddings.
enum class PositionEncoding { Learned, Sinusoidal };
/// Initialisation scheme.
enum class TransformerInit {
  Nanda,   ///< randn/√d_model for every matrix, W_U randn/√vocab, biases 0 (Nanda et al.)
  PyTorch  ///< W_E, W_pos ~ N(0, 1) (nn.Embedding); matrices U(±1/√fan_in) (nn.Linear); biases 0
};

/// Configuration of a Transformer.
struct TransformerConfig {
  Index vocab = 114;
  Index context = 3;
  Index output = 0;  ///< number of logits (0: vocab)
  Index d_model = 128;
  Index heads = 4;
  Index d_mlp = 512;
  Index layers = 1;
  Activation activation = Activation::Relu;
  LayerNormPlacement layer_norm = LayerNormPlacement::None;
  PositionEncoding positions = PositionEncoding::Learned;
  bool attn_bias = false;
  bool mlp_bias = true;
  bool unembed_bias = false;
  TransformerInit init = TransformerInit::Nanda;
  double init_scale = 1.0;
  double output_scale = 1.0;
  bool centered = false;
  std::uint64_t seed = 0;

  /// Nanda et al. 2023: one layer, d_model 128, 4 heads of 32, d_mlp 512, ReLU, no LayerNorm,
  /// learned positions, MLP biases only, vocabulary p + 1 ("=" is p), context 3, and p + 1 logits
  /// as in their code (its cross-entropy runs over all of them); TransformerLens's grokking demo
  /// has d_vocab_out = p: set `output = p` for that model.
  static TransformerConfig nanda2023(Index p, std::uint64_t seed = 0) {
    TransformerConfig c;
    c.vocab = p + 1;
    c.context = 3;
    c.seed = seed;
    return c;
  }

  /// Power et al. 2022 (their code's defaults): two layers, d_model 128, 4 heads, d_mlp 512,
  /// ReLU, post-LN, sinusoidal positions, no biases. Inputs [x, op, y, =] as
  /// ModEncoding::OpTokens (vocabulary p + 2, context 4); logits over the vocabulary.
  static TransformerConfig power2022(Index p, std::uint64_t seed = 0) {
    TransformerConfig c;
    c.vocab = p + 2;
    c.context = 4;
    c.layers = 2;
    c.layer_norm = LayerNormPlacement::Post;
    c.positions = PositionEncoding::Sinusoidal;
    c.mlp_bias = false;
    c.init = TransformerInit::PyTorch;
    c.seed = seed;
    return c;
  }
};

/// Decoder-only transformer returning logits (n, output) at the last position.
template <typename S = float>
class Transformer : public Model<S> {
 public:
  explicit Transformer(const TransformerConfig& c) : m_c(c) {
    require(c.vocab >= 1 && c.context >= 1 && c.d_model >= 1 && c.d_mlp >= 1 && c.layers >= 1 && c.heads >= 1,
            "Transformer", "vocab, context, d_model, d_mlp, layers and heads must be >= 1");
    if (!(c.d_model % c.heads == 0))
      throw_invalid("Transformer", "d_model = " + std::to_string(c.d_model) +
                                       " is not a multiple of heads = " + std::to_string(c.heads));
    if (m_c.output == 0) m_c.output = c.vocab;
    {  // value, gradient and the optimiser's two moments per parameter, estimated before any is made
      const double d = static_cast<double>(c.d_model), V = static_cast<double>(c.vocab),
                   out = static_cast<double>(m_c.output), T = static_cast<double>(c.context),
                   dm = static_cast<double>(c.d_mlp), L = static_cast<double>(c.layers);
      const double count = d * V + T * d + L * (8 * d * d + 2 * d * dm + dm + 5 * d) + d * out + out;
      detail::require_memory("Transformer", format_number(count) + " parameters", 4.0 * sizeof(S) * count, 0,
                             "GROKSCOPE_MAX_MEMORY", "use a smaller d_model, d_mlp, vocab or layers");
    }
    Rng rng(c.seed);
    const Index d = c.d_model;
    const bool nanda = c.init == TransformerInit::Nanda;
    const double sd = 1.0 / std::sqrt(static_cast<double>(d));
    auto mat = [&](const std::string& name, Index rows, Index cols, Index fan_in, double nanda_sd) {
      m_params.push_back(std::make_unique<Parameter<S>>(
          name, nanda ? rng.normal_matrix<S>(rows, cols, 0.0, nanda_sd) : pytorch_linear_weight<S>(rng, rows, cols)));
      (void)fan_in;
      return m_params.back().get();
    };
    auto fill = [&](const std::string& name, Index cols, double v) {
      m_params.push_back(std::make_unique<Parameter<S>>(name, Matrix<S>::Constant(1, cols, static_cast<S>(v))));
      return m_params.back().get();
    };
    m_params.push_back(
        std::make_unique<Parameter<S>>("embed.W_E", rng.normal_matrix<S>(d, c.vocab, 0.0, nanda ? sd : 1.0)));
    W_E = m_params.back().get();
    if (c.positions == PositionEncoding::Learned) {
      m_params.push_back(
          std::make_unique<Parameter<S>>("pos_embed.W_pos", rng.normal_matrix<S>(c.context, d, 0.0, nanda ? sd : 1.0)));
      W_pos = m_params.back().get();
    } else {
      m_sinusoid = sinusoidal_positions(c.context, d);
    }
    for (Index l = 0; l < c.layers; ++l) {
      const std::string b = "blocks." + std::to_string(l) + ".";
      Block blk;
      blk.W_Q = mat(b + "attn.W_Q", d, d, d, sd);
      blk.W_K = mat(b + "attn.W_K", d, d, d, sd);
      blk.W_V = mat(b + "attn.W_V", d, d, d, sd);
      blk.W_O = mat(b + "attn.W_O", d, d, d, sd);
      if (c.attn_bias) {
        blk.b_Q = fill(b + "attn.b_Q", d, 0.0);
        blk.b_K = fill(b + "attn.b_K", d, 0.0);
        blk.b_V = fill(b + "attn.b_V", d, 0.0);
        blk.b_O = fill(b + "attn.b_O", d, 0.0);
      }
      blk.W_in = mat(b + "mlp.W_in", c.d_mlp, d, d, sd);
      if (c.mlp_bias) blk.b_in = fill(b + "mlp.b_in", c.d_mlp, 0.0);
      blk.W_out = mat(b + "mlp.W_out", d, c.d_mlp, c.d_mlp, sd);
      if (c.mlp_bias) blk.b_out = fill(b + "mlp.b_out", d, 0.0);
      if (c.layer_norm != LayerNormPlacement::None) {
        blk.ln1_w = fill(b + "ln1.w", d, 1.0);
        blk.ln1_b = fill(b + "ln1.b", d, 0.0);
        blk.ln2_w = fill(b + "ln2.w", d, 1.0);
        blk.ln2_b = fill(b + "ln2.b", d, 0.0);
      }
      m_blocks.push_back(blk);
    }
    if (c.layer_norm == LayerNormPlacement::Pre) {
      ln_f_w = fill("ln_final.w", d, 1.0);
      ln_f_b = fill("ln_final.b", d, 0.0);
    }
    m_params.push_back(std::make_unique<Parameter<S>>(
        "unembed.W_U", nanda ? rng.normal_matrix<S>(d, m_c.output, 0.0, 1.0 / std::sqrt(static_cast<double>(c.vocab)))
                             : Matrix<S>(pytorch_linear_weight<S>(rng, m_c.output, d).transpose())));
    W_U = m_params.back().get();
    if (c.unembed_bias) b_U = fill("unembed.b_U", m_c.output, 0.0);
    for (Parameter<S>* p : parameters()) p->value *= static_cast<S>(c.init_scale);
    m_out.output_scale = c.output_scale;
    m_out.centered = c.centered;
    if (c.centered) m_out.snapshot(parameters());
  }

  Var<S> forward(Tape<S>& t, const ModelInput<S>& in) override {
    const Var<S> f = raw_forward(t, in);
    return m_out.apply(t, f, in, parameters(),
                       [this](Tape<S>& tp, const ModelInput<S>& i) { return raw_forward(tp, i); });
  }

  /// Logits without output scale and centering.
  Var<S> raw_forward(Tape<S>& t, const ModelInput<S>& in) {
    const Index T = m_c.context;
    if (!(in.is_tokens() && in.T == T))  // the message only when it is needed: this runs every step
      throw_invalid("Transformer::forward", "expects token inputs with T = " + std::to_string(T) + ", got " +
                                                (in.is_tokens() ? "T = " + std::to_string(in.T) : "dense inputs"));
    const Index n = in.examples();
    ActivationCache<S>* cap = this->m_capture;
    Var<S> x = onehot_matmul(t.param(*W_E), in.tokens, 1, T);  // (n·T, d): columns of W_E
    if (cap) cap->put("hook_embed", x.value());
    if (W_pos) {
      if (m_pos_ids.size() != in.tokens.size()) {
        m_pos_ids.resize(in.tokens.size());
        for (std::size_t i = 0; i < m_pos_ids.size(); ++i) m_pos_ids[i] = static_cast<Index>(i) % T;
      }
      const Var<S> pe = embedding(t.param(*W_pos), m_pos_ids, T);
      if (cap) cap->put("hook_pos_embed", pe.value());
      x = add(x, pe);
    } else {
      const Var<S> pe = t.constant(m_sinusoid.replicate(n, 1), T);
      if (cap) cap->put("hook_pos_embed", pe.value());
      x = add(x, pe);
    }
    const bool pre = m_c.layer_norm == LayerNormPlacement::Pre, post = m_c.layer_norm == LayerNormPlacement::Post;
    auto lin = [&](const Var<S>& a, Parameter<S>* W, Parameter<S>* b) {
      return b ? linear(a, t.param(*W), t.param(*b)) : linear(a, t.param(*W));
    };
    for (std::size_t l = 0; l < m_blocks.size(); ++l) {
      Block& B = m_blocks[l];
      const bool last_only = l + 1 == m_blocks.size();
      const std::string b = cap ? "blocks." + std::to_string(l) + "." : std::string();
      if (cap) cap->put(b + "hook_resid_pre", x.value());
      const Var<S> a_in = pre ? layer_norm(x, t.param(*B.ln1_w), t.param(*B.ln1_b)) : x;
      const Var<S> q = lin(last_only ? last_position(a_in, T) : a_in, B.W_Q, B.b_Q);
      const Var<S> k = lin(a_in, B.W_K, B.b_K);
      const Var<S> v = lin(a_in, B.W_V, B.b_V);
      const Var<S> z = attention(q, k, v, T, m_c.heads, true);
      const Var<S> attn_out = lin(z, B.W_O, B.b_O);
      x = add(last_only ? last_position(x, T) : x, attn_out);
      if (cap) {
        cap->put(b + "attn.hook_q", q.value());
        cap->put(b + "attn.hook_k", k.value());
        cap->put(b + "attn.hook_v", v.value());
        cap->put(b + "attn.hook_pattern", t.node(z.id).cache0);  // the op's own probabilities
        cap->put(b + "attn.hook_z", z.value());
        cap->put(b + "hook_attn_out", attn_out.value());
      }
      if (post) x = layer_norm(x, t.param(*B.ln1_w), t.param(*B.ln1_b));
      if (cap) cap->put(b + "hook_resid_mid", x.value());
      const Var<S> m_in = pre ? layer_norm(x, t.param(*B.ln2_w), t.param(*B.ln2_b)) : x;
      const Var<S> m_pre = lin(m_in, B.W_in, B.b_in);
      const Var<S> m_post = activate(m_pre, m_c.activation);
      const Var<S> mlp_out = lin(m_post, B.W_out, B.b_out);
      x = add(x, mlp_out);
      if (post) x = layer_norm(x, t.param(*B.ln2_w), t.param(*B.ln2_b));
      if (cap) {
        cap->put(b + "mlp.hook_pre", m_pre.value());
        cap->put(b + "mlp.hook_post", m_post.value());
        cap->put(b + "hook_mlp_out", mlp_out.value());
        cap->put(b + "hook_resid_post", x.value());
      }
    }
    if (pre) {
      x = layer_norm(x, t.param(*ln_f_w), t.param(*ln_f_b));
      if (cap) cap->put("ln_final.hook_normalized", x.value());
    }
    Var<S> logits = matmul(x, t.param(*W_U));  // (n, output)
    if (b_U) logits = add(logits, t.param(*b_U));
    return logits;
  }

  /// Capture sites (run_with_cache), TransformerLens's names: hook_embed and hook_pos_embed
  /// (n·T, d_model); per block l, blocks.<l>.hook_resid_pre, attn.hook_q / hook_k / hook_v (heads
  /// in column blocks of d_model / heads), attn.hook_pattern (softmax probabilities, rows
  /// (example, head, query) in that order, columns the key positions), attn.hook_z,
  /// hook_attn_out, hook_resid_mid, mlp.hook_pre / mlp.hook_post (d_mlp columns), hook_mlp_out,
  /// hook_resid_post; ln_final.hook_normalized with pre-LN; hook_logits. Rows are (example,
  /// position) except in the last block, which runs from its queries on at the final position only
  /// (what the logits read): there attn.hook_q, hook_z, hook_attn_out and everything after have n
  /// rows, and hook_pattern has one query per example and head.
  std::vector<std::string> capture_sites() const override {
    std::vector<std::string> v = {"hook_embed", "hook_pos_embed"};
    for (std::size_t l = 0; l < m_blocks.size(); ++l) {
      const std::string b = "blocks." + std::to_string(l) + ".";
      for (const char* s :
           {"hook_resid_pre", "attn.hook_q", "attn.hook_k", "attn.hook_v", "attn.hook_pattern", "attn.hook_z",
            "hook_attn_out", "hook_resid_mid", "mlp.hook_pre", "mlp.hook_post", "hook_mlp_out", "hook_resid_post"})
        v.push_back(b + s);
    }
    if (m_c.layer_norm == LayerNormPlacement::Pre) v.push_back("ln_final.hook_normalized");
    v.push_back("hook_logits");
    return v;
  }

  std::vector<Parameter<S>*> parameters() override {
    std::vector<Parameter<S>*> ps;
    for (auto& p : m_params) ps.push_back(p.get());
    return ps;
  }

  nlohmann::ordered_json config() const override {
    const char* ln[] = {"none", "pre", "post"};
    return {{"model", "transformer"},
            {"vocab", m_c.vocab},
            {"context", m_c.context},
            {"output", m_c.output},
            {"d_model", m_c.d_model},
            {"heads", m_c.heads},
            {"d_mlp", m_c.d_mlp},
            {"layers", m_c.layers},
            {"activation", activation_name(m_c.activation)},
            {"layer_norm", ln[static_cast<int>(m_c.layer_norm)]},
            {"positions", m_c.positions == PositionEncoding::Learned ? "learned" : "sinusoidal"},
            {"attn_bias", m_c.attn_bias},
            {"mlp_bias", m_c.mlp_bias},
            {"unembed_bias", m_c.unembed_bias},
            {"init", m_c.init == TransformerInit::Nanda ? "nanda" : "pytorch"},
            {"init_scale", m_c.init_scale},
            {"output_scale", m_c.output_scale},
            {"centered", m_c.centered},
            {"seed", m_c.seed}};
  }

  const TransformerConfig& transformer_config() const { return m_c; }
  /// Re-takes θ₀ for centering (after loading or editing parameters).
  void recenter() { m_out.snapshot(parameters()); }

  /// Power et al.'s sinusoidal encoding: sin(pos/10000^(i/d)) at even i, cos(pos/10000^((i−1)/d)) at odd i.
  static Matrix<S> sinusoidal_positions(Index T, Index d) {
    Matrix<S> P(T, d);
    for (Index pos = 0; pos < T; ++pos)
      for (Index i = 0; i < d; ++i) {
        const double e = static_cast<double>(i % 2 == 0 ? i : i - 1) / static_cast<double>(d);
        const double a = static_cast<double>(pos) / std::pow(10000.0, e);
        P(pos, i) = static_cast<S>(i % 2 == 0 ? std::sin(a) : std::cos(a));
      }
    return P;
  }

 private:
  struct Block {
    Parameter<S>*W_Q = nullptr, *W_K = nullptr, *W_V = nullptr, *W_O = nullptr;
    Parameter<S>*b_Q = nullptr, *b_K = nullptr, *b_V = nullptr, *b_O = nullptr;
    Parameter<S>*W_in = nullptr, *b_in = nullptr, *W_out = nullptr, *b_out = nullptr;
    Parameter<S>*ln1_w = nullptr, *ln1_b = nullptr, *ln2_w = nullptr, *ln2_b = nullptr;
  };

  TransformerConfig m_c;
  std::vector<std::unique_ptr<Parameter<S>>> m_params;
  std::vector<Block> m_blocks;
  Parameter<S>*W_E = nullptr, *W_pos = nullptr, *W_U = nullptr, *b_U = nullptr, *ln_f_w = nullptr, *ln_f_b = nullptr;
  Matrix<S> m_sinusoid;
  IndexList m_pos_ids;
  OutputTransform<S> m_out;
};

// Provided by the compiled library in compiled mode (core/config.hpp).
GROKSCOPE_EXTERN_CLASS(Transformer)

}  // namespace grokscope
