// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Mlp: a multilayer perceptron with the controls of the lazy/rich literature: activation,
/// biases, parameterisation, init scale (Omnigrok's α), output scale (Kumar et al.'s α) and
/// centering. Token inputs (e.g. the pair (x, p + y) of modular arithmetic) enter through the
/// one-hot form of the first layer, never as dense one-hot matrices.

#include <grokscope/autodiff/ops.hpp>
#include <grokscope/core/config.hpp>
#include <grokscope/core/memory.hpp>
#include <grokscope/core/text.hpp>
#include <grokscope/nn/init.hpp>
#include <grokscope/nn/linear.hpp>
#include <grokscope/nn/model.hpp>

#include <string>
#include <vector>

namespace grokscope {

/// Elementwise activations of hidden layers. LinearQuadratic is Kumar et al.'s
/// φ(h) = h + (ε/2) h², with ε the `epsilon` of MlpConfig (the alignment knob).
enum class Activation { Relu, Gelu, Tanh, Square, Identity, LinearQuadratic };

/// Name of an activation ("relu", "gelu", "tanh", "square", "identity", "linear_quadratic").
inline const char* activation_name(Activation a) {
  switch (a) {
    case Activation::Relu:
      return "relu";
    case Activation::Gelu:
      return "gelu";
    case Activation::Tanh:
      return "tanh";
    case Activation::Square:
      return "square";
    case Activation::Identity:
      return "identity";
    case Activation::LinearQuadratic:
      return "linear_quadratic";
  }
  return "?";
}

/// Activation by name; std::invalid_argument listing the names otherwise.
inline Activation activation_from_name(const std::string& s) {
  for (Activation a : {Activation::Relu, Activation::Gelu, Activation::Tanh, Activation::Square, Activation::Identity,
                       Activation::LinearQuadratic})
    if (s == activation_name(a)) return a;
  throw_invalid("activation_from_name",
                "unknown activation '" + s + "' (known: relu, gelu, tanh, square, identity, linear_quadratic)");
}

/// Applies an activation on the tape (GELU is the tanh form, as GPT-2 and Nanda et al.;
/// `epsilon` is used by LinearQuadratic only).
template <typename S>
Var<S> activate(const Var<S>& x, Activation a, double epsilon = 0.0) {
  switch (a) {
    case Activation::LinearQuadratic:
      return linear_quadratic(x, 0.5 * epsilon);
    case Activation::Relu:
      return relu(x);
    case Activation::Gelu:
      return gelu(x);
    case Activation::Tanh:
      return tanh(x);
    case Activation::Square:
      return square(x);
    case Activation::Identity:
      return x;
  }
  return x;
}

/// Configuration of an Mlp.
struct MlpConfig {
  Index input = 0;            ///< input width D (for token inputs: the one-hot width, e.g. 2p)
  std::vector<Index> hidden;  ///< hidden widths
  Index output = 0;           ///< output width
  Activation activation = Activation::Relu;
  bool bias = true;
  bool readout_bias = true;  ///< with `bias`: the last layer has one too (Merrill et al.'s readout has none)
  Parameterization parameterization = Parameterization::Standard;
  double init_std = 1.0;       ///< σ of the Gaussian weights (Ntk, MeanField)
  double init_scale = 1.0;     ///< multiplies every parameter after initialisation (Omnigrok's α)
  double output_scale = 1.0;   ///< multiplies the output (Kumar et al.'s α)
  bool centered = false;       ///< train f − f₀ with f₀ the frozen initial function
  double epsilon = 0.0;        ///< ε of the LinearQuadratic activation
  bool fixed_readout = false;  ///< readout weights set to ones and frozen (Kumar et al.'s committee machine)
  std::uint64_t seed = 0;

  /// Gromov's modular-arithmetic network f(x) = (1/N) W₂ (W₁ x/√D)² on one-hot pairs: D = 2p,
  /// one hidden layer of width N, no biases, N(0, 1) weights, mean-field scaling.
  static MlpConfig gromov(Index p, Index width, std::uint64_t seed = 0) {
    MlpConfig c;
    c.input = 2 * p;
    c.hidden = {width};
    c.output = p;
    c.activation = Activation::Square;
    c.bias = false;
    c.parameterization = Parameterization::MeanField;
    c.seed = seed;
    return c;
  }

  /// Merrill et al.'s (2023) sparse-parity network f(x) = uᵀ ReLU(Wx + b): one hidden ReLU layer
  /// with bias, a readout without bias, PyTorch's default initialisation (REFERENCES §6.2).
  static MlpConfig merrill(Index n = 40, Index width = 1000, std::uint64_t seed = 0) {
    MlpConfig c;
    c.input = n;
    c.hidden = {width};
    c.output = 1;
    c.activation = Activation::Relu;
    c.bias = true;
    c.readout_bias = false;
    c.seed = seed;
    return c;
  }

  /// Kumar et al.'s committee machine f(x) = (α/N) Σᵢ φ(wᵢ·x/√D), φ(h) = h + (ε/2) h², in their
  /// convention B (inputs x ~ N(0, I)): one hidden layer of N units, no biases, mean-field
  /// scaling. The readout (layers.1.weight) is set to ones and frozen, as in their code.
  static MlpConfig kumar(Index D, Index N, double epsilon, double alpha = 1.0, bool centered = true,
                         std::uint64_t seed = 0) {
    MlpConfig c;
    c.input = D;
    c.hidden = {N};
    c.output = 1;
    c.activation = Activation::LinearQuadratic;
    c.epsilon = epsilon;
    c.bias = false;
    c.parameterization = Parameterization::MeanField;
    c.output_scale = alpha;
    c.centered = centered;
    c.seed = seed;
    c.fixed_readout = true;
    return c;
  }
};

/// A multilayer perceptron; parameters named layers.<l>.weight / layers.<l>.bias.
template <typename S = float>
class Mlp : public Model<S> {
 public:
  explicit Mlp(const MlpConfig& c) : m_config(c) {
    require(c.input >= 1 && c.output >= 1, "Mlp", "input and output widths must be >= 1");
    for (Index h : c.hidden) require(h >= 1, "Mlp", "hidden widths must be >= 1");
    require(std::isfinite(c.init_scale) && std::isfinite(c.output_scale) && c.init_std > 0, "Mlp",
            "init_scale and output_scale must be finite and init_std > 0");
    Rng rng(c.seed);
    std::vector<Index> widths{c.input};
    widths.insert(widths.end(), c.hidden.begin(), c.hidden.end());
    widths.push_back(c.output);
    {  // value, gradient and the optimiser's two moments per parameter, estimated before any is made
      double count = 0;
      for (std::size_t l = 0; l + 1 < widths.size(); ++l)
        count +=
            static_cast<double>(widths[l]) * static_cast<double>(widths[l + 1]) + static_cast<double>(widths[l + 1]);
      detail::require_memory("Mlp", format_number(count) + " parameters", 4.0 * sizeof(S) * count, 0,
                             "GROKSCOPE_MAX_MEMORY", "use smaller widths");
    }
    for (std::size_t l = 0; l + 1 < widths.size(); ++l)
      m_layers.emplace_back("layers." + std::to_string(l), widths[l], widths[l + 1],
                            c.bias && (c.readout_bias || l + 2 < widths.size()), rng, c.parameterization,
                            l + 2 == widths.size(), c.init_std);
    if (c.fixed_readout) {
      m_layers.back().weight.value.setOnes();
      m_layers.back().weight.requires_grad = false;
    }
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

  /// The network without output scale and centering.
  Var<S> raw_forward(Tape<S>& t, const ModelInput<S>& in) {
    Var<S> h;
    if (in.is_tokens()) {
      require(static_cast<Index>(in.tokens.size()) % in.T == 0, "Mlp::forward", "token count is not a multiple of T");
      h = m_layers[0].forward_onehot(t, in.tokens, in.T);
    } else {
      if (in.x.cols() != m_config.input)  // the message only when it is needed: this runs every step
        throw_invalid("Mlp::forward", "input is " + shape_string(in.x) + " but the network expects " +
                                          std::to_string(m_config.input) + " columns");
      h = m_layers[0].forward(t, t.constant(in.x));
    }
    if (this->m_capture) this->m_capture->put("layers.0.hook_pre", h.value());
    for (std::size_t l = 1; l < m_layers.size(); ++l) {
      const Var<S> a = activate(h, m_config.activation, m_config.epsilon);
      if (this->m_capture) this->m_capture->put("layers." + std::to_string(l - 1) + ".hook_post", a.value());
      h = m_layers[l].forward(t, a);
      if (this->m_capture) this->m_capture->put("layers." + std::to_string(l) + ".hook_pre", h.value());
    }
    return h;
  }

  /// Capture sites (run_with_cache): layers.<l>.hook_pre, the output of linear layer l (n, width;
  /// for the last layer the outputs before output scale and centering), layers.<l>.hook_post,
  /// the activation of hidden layer l, then hook_logits.
  std::vector<std::string> capture_sites() const override {
    std::vector<std::string> v;
    for (std::size_t l = 0; l < m_layers.size(); ++l) {
      v.push_back("layers." + std::to_string(l) + ".hook_pre");
      if (l + 1 < m_layers.size()) v.push_back("layers." + std::to_string(l) + ".hook_post");
    }
    v.push_back("hook_logits");
    return v;
  }

  std::vector<Parameter<S>*> parameters() override {
    std::vector<Parameter<S>*> ps;
    for (auto& l : m_layers) l.append_parameters(ps);
    return ps;
  }

  nlohmann::ordered_json config() const override {
    return {{"model", "mlp"},
            {"input", m_config.input},
            {"hidden", m_config.hidden},
            {"output", m_config.output},
            {"activation", activation_name(m_config.activation)},
            {"bias", m_config.bias},
            {"readout_bias", m_config.readout_bias},
            {"parameterization", parameterization_name(m_config.parameterization)},
            {"init_std", m_config.init_std},
            {"init_scale", m_config.init_scale},
            {"output_scale", m_config.output_scale},
            {"centered", m_config.centered},
            {"epsilon", m_config.epsilon},
            {"fixed_readout", m_config.fixed_readout},
            {"seed", m_config.seed}};
  }

  const MlpConfig& mlp_config() const { return m_config; }
  /// Re-takes θ₀ for centering (after loading or editing parameters).
  void recenter() { m_out.snapshot(parameters()); }

 private:
  MlpConfig m_config;
  std::vector<Linear<S>> m_layers;
  OutputTransform<S> m_out;
};

// Provided by the compiled library in compiled mode (core/config.hpp).
GROKSCOPE_EXTERN_CLASS(Mlp)

}  // namespace grokscope
