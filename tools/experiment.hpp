// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
// An experiment described as JSON (the format of grokscope-run and examples/configs/), resolved
// key by key and run: shared by tools/grokscope-run.cpp and the Python module (python/module.cpp,
// grokscope.run_experiment). Internal to the tools, not an installed header.

#include <grokscope/data/groups.hpp>
#include <grokscope/data/idx.hpp>
#include <grokscope/data/modular.hpp>
#include <grokscope/data/parity.hpp>
#include <grokscope/data/regression.hpp>
#include <grokscope/data/subsets.hpp>
#include <grokscope/detect/grokking.hpp>
#include <grokscope/measure/circuit_efficiency.hpp>
#include <grokscope/nn/mlp.hpp>
#include <grokscope/nn/transformer.hpp>
#include <grokscope/optim/adam.hpp>
#include <grokscope/optim/constant_norm.hpp>
#include <grokscope/optim/grokfast.hpp>
#include <grokscope/optim/orthograd.hpp>
#include <grokscope/optim/schedule.hpp>
#include <grokscope/optim/sgd.hpp>
#include <grokscope/optim/spectral_entropy.hpp>
#include <grokscope/train/probes.hpp>
#include <grokscope/train/trainer.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

namespace grokscope::experiment {

using json = nlohmann::ordered_json;

struct ConfigError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// A JSON value as it appears in a message: at most 80 characters (a long array or a 200 kB string
// is cut, with the total length said).
inline std::string excerpt(const json& x) {
  std::string d = x.dump();
  if (d.size() > 80) d = d.substr(0, 60) + "… (" + std::to_string(d.size()) + " characters)";
  return d;
}

// The deepest nesting of objects and arrays a configuration may have (grokscope's own are 4 deep).
constexpr int kMaxConfigDepth = 64;

// A configuration's JSON text parsed, refusing a nesting deeper than kMaxConfigDepth and a key
// repeated within one object (JSON allows it, and the later value would silently win); `where`
// names the source in the messages. The depth is checked while parsing, so a hostile file is
// refused before anything deep is built.
inline json parse_config(const std::string& text, const std::string& where) {
  std::vector<std::vector<std::string>> keys;  // the keys seen in each open object
  const json::parser_callback_t check = [&](int depth, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        if (depth >= kMaxConfigDepth)
          throw ConfigError(where + ": nesting too deep (more than " + std::to_string(kMaxConfigDepth) + " levels)");
        if (event == json::parse_event_t::object_start) keys.emplace_back();
        break;
      case json::parse_event_t::key: {
        const std::string k = parsed.get<std::string>();
        if (!keys.empty()) {
          if (std::find(keys.back().begin(), keys.back().end(), k) != keys.back().end())
            throw ConfigError(where + ": the key " + excerpt(json(k)) + " appears twice in one object");
          keys.back().push_back(k);
        }
        break;
      }
      case json::parse_event_t::object_end:
        if (!keys.empty()) keys.pop_back();
        break;
      default:
        break;
    }
    return true;
  };
  try {
    return json::parse(text, check);
  } catch (const json::parse_error& e) {
    throw ConfigError(where + ": not valid JSON (" + std::string(e.what()) + ")");
  }
}

inline std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

// One JSON object of the configuration: every read is type-checked and recorded with its value
// (default or given) in `resolved`; finish() refuses keys that were never read.
class Section {
 public:
  Section(const json& j, std::string path) : m_path(std::move(path)) {
    if (j.is_null()) return;
    if (!j.is_object()) fail("", "must be an object, got " + excerpt(j));
    m_j = j;
  }

  template <typename T>
  T get(const std::string& key, T def) {
    m_known.push_back(key);
    T v = def;
    if (m_j.contains(key)) {
      const json& x = m_j[key];
      try {
        if constexpr (std::is_same_v<T, bool>) {
          if (!x.is_boolean()) throw std::domain_error("");
        } else if constexpr (std::is_integral_v<T>) {
          if (!x.is_number_integer() && !(x.is_number() && x.get<double>() == std::floor(x.get<double>())))
            throw std::domain_error("");
          if (std::is_unsigned_v<T> && x.get<double>() < 0) throw std::domain_error("");
          // a float beyond T's range (1e19 for an int64) is refused before the conversion
          if (x.is_number_float() && !(x.get<double>() >= static_cast<double>(std::numeric_limits<T>::min()) &&
                                       x.get<double>() < std::ldexp(1.0, std::numeric_limits<T>::digits)))
            fail(key, std::string("must be ") + type_name<T>() + " within range, got " + excerpt(x));
        } else if constexpr (std::is_floating_point_v<T>) {
          if (!x.is_number()) throw std::domain_error("");
        } else if constexpr (std::is_same_v<T, std::string>) {
          if (!x.is_string()) throw std::domain_error("");
        } else if constexpr (std::is_same_v<T, std::vector<Index>>) {
          if (!x.is_array()) throw std::domain_error("");
          for (const json& e : x)
            if (!e.is_number_integer()) throw std::domain_error("");
        }
        v = x.get<T>();
      } catch (const ConfigError&) {
        throw;
      } catch (const std::exception&) {
        fail(key, std::string("must be ") + type_name<T>() + ", got " + excerpt(x));
      }
    }
    m_resolved[key] = v;
    return v;
  }

  std::string choice(const std::string& key, const std::string& def, const std::vector<std::string>& allowed) {
    const std::string v = get<std::string>(key, def);
    if (std::find(allowed.begin(), allowed.end(), v) == allowed.end())
      fail(key, "'" + v + "' is not one of " + join(allowed));
    return v;
  }

  std::vector<Index> indices(const std::string& key, std::vector<Index> def) {
    m_known.push_back(key);
    if (m_j.contains(key)) {
      const json& x = m_j[key];
      if (!x.is_array()) fail(key, "must be a list of integers, got " + excerpt(x));
      def.clear();
      for (const json& e : x) {
        if (!e.is_number_integer()) fail(key, "must be a list of integers, got " + excerpt(x));
        def.push_back(e.get<Index>());
      }
    }
    m_resolved[key] = def;
    return def;
  }

  bool has(const std::string& key) const { return m_j.contains(key); }
  const json& raw(const std::string& key) {
    m_known.push_back(key);
    static const json null;
    return m_j.contains(key) ? m_j[key] : null;
  }

  void positive(const std::string& key, double v) const {
    if (!(v > 0)) fail(key, "must be > 0");
  }
  void non_negative(const std::string& key, double v) const {
    if (!(v >= 0)) fail(key, "must be >= 0");
  }

  json finish() const {
    for (auto it = m_j.begin(); it != m_j.end(); ++it)
      if (std::find(m_known.begin(), m_known.end(), it.key()) == m_known.end())
        fail(it.key(), "is not a key here (allowed: " + join(m_known) + ")");
    return m_resolved;
  }

  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    const std::string where = m_path + (key.empty() ? "" : (m_path.empty() ? "" : ".") + key);
    throw ConfigError("config: " + (where.empty() ? std::string("the top level") : where) + ": " + what);
  }

 private:
  template <typename T>
  static const char* type_name() {
    if constexpr (std::is_same_v<T, bool>)
      return "true or false";
    else if constexpr (std::is_integral_v<T>)
      return std::is_unsigned_v<T> ? "a non-negative integer" : "an integer";
    else if constexpr (std::is_floating_point_v<T>)
      return "a number";
    else if constexpr (std::is_same_v<T, std::vector<Index>>)
      return "a list of integers";
    else
      return "a string";
  }

  json m_j = json::object();
  std::string m_path;
  std::vector<std::string> m_known;
  json m_resolved = json::object();
};

// ---------------------------------------------------------------------------------------------
// The experiment: what one seed runs, resolved from the configuration.

struct Experiment {
  json resolved = json::object();
  Dataset data;
  bool mlp = true;
  MlpConfig mlp_cfg;
  TransformerConfig tf_cfg;
  std::string optimizer = "adamw";
  double constant_norm = 0;  // > 0: the optimiser wrapped in ConstantNorm with this factor
  AdamConfig adam;
  SgdConfig sgd;
  json filters = json::array();
  TrainConfig train;
  json probes = json::array();
  bool float64 = false;
  std::string task_kind;
  Index p = 0;  // modular tasks
};

inline Dataset make_task(Section& t, Experiment& e, std::uint64_t seed, bool& has_split) {
  e.task_kind = t.choice("kind", "modular", {"modular", "permutation", "dihedral", "parity", "kumar", "images"});
  has_split = false;
  if (e.task_kind == "modular") {
    ModularOptions o;
    const std::string op = t.get<std::string>("op", "add");
    try {
      o.op = mod_op_from_name(op);
    } catch (const std::exception& ex) {
      t.fail("op", ex.what());
    }
    o.p = t.get<Index>("p", 59);
    e.p = o.p;
    const std::string enc = t.choice("encoding", "pair_indices", {"pair_indices", "nanda_tokens", "op_tokens"});
    o.encoding = enc == "pair_indices"   ? ModEncoding::PairIndices
                 : enc == "nanda_tokens" ? ModEncoding::NandaTokens
                                         : ModEncoding::OpTokens;
    try {
      return modular_dataset(o);
    } catch (const std::invalid_argument& ex) {
      t.fail("", ex.what());
    }
  }
  if (e.task_kind == "permutation") {
    const Index n = t.get<Index>("n", 5);
    const std::string op = t.choice("op", "compose", {"compose", "conjugate", "xyx"});
    return permutation_dataset(n, op == "compose"     ? PermOp::Compose
                                  : op == "conjugate" ? PermOp::Conjugate
                                                      : PermOp::XYX);
  }
  if (e.task_kind == "dihedral") return dihedral_dataset(t.get<Index>("n", 12));
  has_split = true;  // parity, Kumar et al.'s task and the image files have their own training and test sets
  if (e.task_kind == "images") {
    IdxOptions o;
    o.n_train = t.get<Index>("n_train", 1000);
    o.n_test = t.get<Index>("n_test", 10000);
    o.train_per_class = t.get<Index>("train_per_class", o.train_per_class);
    o.scale01 = t.get<bool>("scale01", o.scale01);
    o.seed = seed;
    const std::string dir = t.get<std::string>("dir", fashion_mnist_dir());
    const std::string tr = t.get<std::string>("train_images", "");
    if (tr.empty()) return fashion_mnist(o, dir);
    return idx_classification(tr, t.get<std::string>("train_labels", ""), t.get<std::string>("test_images", ""),
                              t.get<std::string>("test_labels", ""), o);
  }
  if (e.task_kind == "parity") {
    ParityOptions o;
    o.n = t.get<Index>("n", o.n);
    o.k = t.get<Index>("k", o.k);
    o.n_train = t.get<Index>("n_train", o.n_train);
    o.n_test = t.get<Index>("n_test", o.n_test);
    o.train_seed = t.get<std::uint64_t>("train_seed", seed);
    o.test_seed = t.get<std::uint64_t>("test_seed", o.test_seed);
    return sparse_parity(o);
  }
  KumarOptions o;
  o.D = t.get<Index>("D", o.D);
  o.n_train = t.get<Index>("n_train", o.n_train);
  o.n_test = t.get<Index>("n_test", o.n_test);
  o.epsilon = t.get<double>("epsilon", o.epsilon);
  o.convention = t.choice("convention", "A", {"A", "B"}) == "A" ? KumarConvention::A : KumarConvention::B;
  o.seed = t.get<std::uint64_t>("data_seed", seed);
  const double target_scale = t.get<double>("target_scale", 1.0);  // 0.5 with convention B gives A's ½(β·x)²
  Dataset d = kumar_polynomial(o);
  d.targets *= target_scale;
  d.meta["target_scale"] = target_scale;
  return d;
}

inline Activation activation_of(Section& s, const std::string& key, Activation def) {
  const std::vector<std::string> names = {"relu", "gelu", "tanh", "square", "identity", "linear_quadratic"};
  const std::string v = s.choice(key, activation_name(def), names);
  const Activation all[] = {Activation::Relu,   Activation::Gelu,     Activation::Tanh,
                            Activation::Square, Activation::Identity, Activation::LinearQuadratic};
  return all[std::find(names.begin(), names.end(), v) - names.begin()];
}

inline void make_model(Section& m, Experiment& e, std::uint64_t seed) {
  const Dataset& d = e.data;
  const std::string kind = m.choice("kind", "mlp", {"mlp", "transformer"});
  e.mlp = kind == "mlp";
  const Index outputs = !d.labels.empty() ? d.num_classes : d.targets.cols();
  if (e.mlp) {
    const std::string preset = m.choice("preset", "none", {"none", "gromov", "merrill", "kumar"});
    MlpConfig c;
    const Index width = m.get<Index>("width", preset == "merrill" ? 1000 : 512);
    if (preset == "gromov") {
      if (e.task_kind != "modular") m.fail("preset", "gromov needs a modular task");
      c = MlpConfig::gromov(e.p, width, seed);
    } else if (preset == "merrill") {
      c = MlpConfig::merrill(d.features.cols(), width, seed);
    } else if (preset == "kumar") {
      c = MlpConfig::kumar(d.features.cols(), width, e.data.meta.value("epsilon", 0.02));
    } else {
      c.input = d.has_tokens() ? d.vocab_size : d.features.cols();
      c.hidden = {width};
      c.output = outputs;
    }
    c.seed = seed;
    c.input = m.get<Index>("input", c.input);
    c.hidden = m.indices("hidden", c.hidden);
    c.output = m.get<Index>("output", c.output);
    c.activation = activation_of(m, "activation", c.activation);
    c.bias = m.get<bool>("bias", c.bias);
    c.readout_bias = m.get<bool>("readout_bias", c.readout_bias);
    const std::string par =
        m.choice("parameterization", parameterization_name(c.parameterization), {"standard", "ntk", "mean_field"});
    c.parameterization = par == "standard" ? Parameterization::Standard
                         : par == "ntk"    ? Parameterization::Ntk
                                           : Parameterization::MeanField;
    c.init_std = m.get<double>("init_std", c.init_std);
    c.init_scale = m.get<double>("init_scale", c.init_scale);
    c.output_scale = m.get<double>("output_scale", c.output_scale);
    c.centered = m.get<bool>("centered", c.centered);
    c.epsilon = m.get<double>("epsilon", c.epsilon);
    c.fixed_readout = m.get<bool>("fixed_readout", c.fixed_readout);
    e.mlp_cfg = c;
    return;
  }
  if (!d.has_tokens())
    m.fail("kind",
           "a transformer needs token inputs (a modular task with nanda_tokens or op_tokens, "
           "a permutation or dihedral task)");
  const std::string preset = m.choice("preset", "none", {"none", "nanda2023", "power2022"});
  TransformerConfig c;
  if (preset != "none" && e.task_kind != "modular") m.fail("preset", preset + " needs a modular task");
  if (preset == "nanda2023") c = TransformerConfig::nanda2023(e.p, seed);
  if (preset == "power2022") c = TransformerConfig::power2022(e.p, seed);
  if (preset == "none") c.vocab = d.vocab_size, c.context = d.context(), c.output = outputs;
  c.seed = seed;
  c.vocab = m.get<Index>("vocab", c.vocab);
  c.context = m.get<Index>("context", c.context);
  c.output = m.get<Index>("output", c.output);
  c.d_model = m.get<Index>("d_model", c.d_model);
  c.heads = m.get<Index>("heads", c.heads);
  c.d_mlp = m.get<Index>("d_mlp", c.d_mlp);
  c.layers = m.get<Index>("layers", c.layers);
  c.activation = activation_of(m, "activation", c.activation);
  const std::string ln = m.choice("layer_norm",
                                  c.layer_norm == LayerNormPlacement::None  ? "none"
                                  : c.layer_norm == LayerNormPlacement::Pre ? "pre"
                                                                            : "post",
                                  {"none", "pre", "post"});
  c.layer_norm = ln == "none"  ? LayerNormPlacement::None
                 : ln == "pre" ? LayerNormPlacement::Pre
                               : LayerNormPlacement::Post;
  c.positions = m.choice("positions", c.positions == PositionEncoding::Learned ? "learned" : "sinusoidal",
                         {"learned", "sinusoidal"}) == "learned"
                    ? PositionEncoding::Learned
                    : PositionEncoding::Sinusoidal;
  c.attn_bias = m.get<bool>("attn_bias", c.attn_bias);
  c.mlp_bias = m.get<bool>("mlp_bias", c.mlp_bias);
  c.unembed_bias = m.get<bool>("unembed_bias", c.unembed_bias);
  c.init = m.choice("init", c.init == TransformerInit::Nanda ? "nanda" : "pytorch", {"nanda", "pytorch"}) == "nanda"
               ? TransformerInit::Nanda
               : TransformerInit::PyTorch;
  c.init_scale = m.get<double>("init_scale", c.init_scale);
  c.output_scale = m.get<double>("output_scale", c.output_scale);
  c.centered = m.get<bool>("centered", c.centered);
  e.tf_cfg = c;
}

// Resolves the whole configuration for one seed (the sweep axes already applied). `given`: data
// the caller brings (the Python Trainer's data=...) instead of the config's task; its split, when it
// has one, is the run's split ("given").
inline Experiment resolve(const json& cfg, std::uint64_t seed, const Dataset* given = nullptr) {
  Experiment e;
  Section top(cfg, "");
  top.raw("name");
  top.raw("seeds");
  top.raw("sweep");
  top.raw("out");
  {
    Section t(top.raw("task"), "task");
    bool has_split = false;
    if (given) {
      if (top.has("task")) top.fail("task", "the data was given, so the config must not have a task section");
      given->validate();
      e.data = *given;
      e.task_kind = "given";
      has_split = !given->train.empty();
      e.resolved["task"] = {{"kind", "given"}, {"examples", given->size()}};
    } else {
      e.data = make_task(t, e, seed, has_split);
      e.resolved["task"] = t.finish();
    }
    Section s(top.raw("split"), "split");
    const std::string kind = s.choice("kind", has_split ? "given" : "random", {"given", "random", "nanda", "power"});
    if (kind == "given") {
      if (!has_split) s.fail("kind", "this task has no split of its own: use random, nanda or power");
    } else {
      if (has_split) s.fail("kind", "this task has its own training and test sets: use given");
      if (kind == "random") {
        const double f = s.get<double>("fraction", 0.4);
        if (!(f > 0 && f < 1)) s.fail("fraction", "must be in (0, 1)");
        Rng r = Rng(seed).fork(1);
        apply_split(e.data, split_by_fraction(e.data.size(), f, r), "random(seed " + std::to_string(seed) + ")");
      } else if (kind == "nanda") {
        if (e.task_kind != "modular") s.fail("kind", "nanda needs a modular task");
        apply_split(e.data, nanda_split(e.data, s.get<double>("fraction", 0.3), seed), "nanda");
      } else {
        if (e.task_kind != "modular") s.fail("kind", "power needs a modular task");
        apply_split(e.data, power_split(e.data, s.get<double>("percent", 50.0), static_cast<std::uint32_t>(seed)),
                    "power");
      }
    }
    // Varma et al.'s random labels: permuted over all examples, seeded by the run's seed
    if (s.get<bool>("random_labels", false)) {
      if (e.data.labels.empty() && e.data.targets.rows() == 0) s.fail("random_labels", "the task has no labels");
      e.data = random_labels(std::move(e.data), seed ^ 0x6c6162656c73ULL);
    }
    e.resolved["split"] = s.finish();
  }
  {
    Section m(top.raw("model"), "model");
    make_model(m, e, seed);
    e.resolved["model"] = m.finish();
  }
  {
    const std::string loss = top.choice("loss", e.data.labels.empty() || e.mlp ? "mse" : "cross_entropy",
                                        {"cross_entropy", "stablemax", "mse", "hinge"});
    e.train.loss = loss == "cross_entropy" ? LossKind::CrossEntropy
                   : loss == "stablemax"   ? LossKind::StableMax
                   : loss == "mse"         ? LossKind::Mse
                                           : LossKind::Hinge;
    e.resolved["loss"] = loss;
    const std::string scalar = top.choice("scalar", "float32", {"float32", "float64"});
    e.float64 = scalar == "float64";
    e.resolved["scalar"] = scalar;
  }
  {
    Section o(top.raw("optimizer"), "optimizer");
    e.optimizer = o.choice("kind", "adamw", {"adamw", "adam", "adam_l2", "sgd"});
    if (e.optimizer == "sgd") {
      e.sgd.lr = o.get<double>("lr", e.sgd.lr);
      e.sgd.momentum = o.get<double>("momentum", e.sgd.momentum);
      e.sgd.dampening = o.get<double>("dampening", e.sgd.dampening);
      e.sgd.weight_decay = o.get<double>("weight_decay", e.sgd.weight_decay);
      e.sgd.nesterov = o.get<bool>("nesterov", e.sgd.nesterov);
      o.positive("lr", e.sgd.lr);
    } else {
      e.adam = AdamConfig::grokking(e.optimizer == "adam" ? 0.0 : 1.0);
      e.adam.lr = o.get<double>("lr", e.adam.lr);
      e.adam.beta1 = o.get<double>("beta1", e.adam.beta1);
      e.adam.beta2 = o.get<double>("beta2", e.adam.beta2);
      e.adam.eps = o.get<double>("eps", e.adam.eps);
      e.adam.weight_decay = e.optimizer == "adam" ? 0.0 : o.get<double>("weight_decay", e.adam.weight_decay);
      e.adam.decay = e.optimizer == "adam_l2" ? WeightDecayMode::CoupledL2 : WeightDecayMode::Decoupled;
      o.positive("lr", e.adam.lr);
      o.positive("eps", e.adam.eps);  // 0 divides by √v̂ = 0 for a parameter whose gradient is 0
      o.non_negative("weight_decay", e.adam.weight_decay);
    }
    e.constant_norm = o.get<double>("constant_norm", 0.0);  // Omnigrok: keep ‖θ‖ at this × ‖θ₀‖ (0: off)
    o.non_negative("constant_norm", e.constant_norm);
    e.resolved["optimizer"] = o.finish();
  }
  {
    const json& fl = top.raw("filters");
    if (!fl.is_null() && !fl.is_array()) top.fail("filters", "must be a list of objects");
    for (std::size_t i = 0; i < (fl.is_array() ? fl.size() : 0); ++i) {
      Section f(fl[i], "filters[" + std::to_string(i) + "]");
      const std::string k =
          f.choice("kind", "grokfast_ema", {"grokfast_ema", "grokfast_ma", "orthograd", "spectral_entropy"});
      if (k == "orthograd") {
        f.non_negative("eps", f.get<double>("eps", 1e-30));
      } else if (k == "spectral_entropy") {  // DeMoss et al.: β 0.1 beside weight decay 1
        f.non_negative("beta", f.get<double>("beta", 0.1));
        f.non_negative("eps", f.get<double>("eps", 1e-10));
      } else if (k == "grokfast_ema") {
        f.get<double>("alpha", 0.98);
        f.get<double>("lamb", 2.0);
        f.get<bool>("normalize", false);
      } else {
        const Index window = f.get<Index>("window", 100);
        if (window < 1 || window > 1000000)  // the filter keeps `window` gradients of every parameter
          f.fail("window", "must be in [1, 1000000], got " + std::to_string(window));
        f.get<double>("lamb", 5.0);
        f.get<bool>("warmup", true);
        f.get<bool>("use_sum", false);
        f.get<bool>("normalize", false);
      }
      e.filters.push_back(f.finish());
    }
    e.resolved["filters"] = e.filters;
  }
  {
    Section t(top.raw("train"), "train");
    TrainConfig& tc = e.train;
    tc.steps = t.get<Index>("steps", 3000);
    tc.batch_size = t.get<Index>("batch_size", 0);
    tc.eval_every = t.get<Index>("eval_every", 50);
    tc.log_points = t.get<Index>("log_points", 40);
    tc.stop_test_acc = t.get<double>("stop_test_acc", tc.stop_test_acc);
    tc.stop_train_acc = t.get<double>("stop_train_acc", tc.stop_train_acc);
    tc.stop_patience = t.get<Index>("stop_patience", tc.stop_patience);
    tc.regression_threshold = t.get<double>("regression_threshold", tc.regression_threshold);
    t.non_negative("regression_threshold", tc.regression_threshold);
    tc.ce_precision = t.choice("ce_precision", "stable", {"stable", "native"}) == "stable"
                          ? CrossEntropyPrecision::Stable
                          : CrossEntropyPrecision::Native;
    // Varma et al.'s norm at convergence: stop once a history column has converged ("" : off)
    const std::string converge = t.get<std::string>("stop_converged", "");
    const Index converge_window = t.get<Index>("converge_window", 5);
    const double converge_tol = t.get<double>("converge_tol", 1e-3);
    if (converge_window < 1) t.fail("converge_window", "must be >= 1");
    t.non_negative("converge_tol", converge_tol);
    if (!converge.empty()) {
      ConvergenceRule rule;
      rule.window = converge_window, rule.rel_tol = converge_tol;
      tc.stop_when = convergence_stop(converge, rule);
    }
    // DeMoss et al.'s weight noise: the gradient at θ + δξ (0: off); the noise's stream follows the seed
    tc.weight_noise = t.get<double>("weight_noise", 0.0);
    t.non_negative("weight_noise", tc.weight_noise);
    tc.seed = seed;
    tc.weight_noise_seed = seed ^ 0x6e6f697365ULL;
    e.resolved["train"] = t.finish();
    Section s(top.raw("schedule"), "schedule");
    const std::string k = s.choice("kind", "constant", {"constant", "linear_warmup", "cosine"});
    if (k == "linear_warmup") tc.schedule = Schedule::linear_warmup(s.get<Index>("warmup", 10));
    if (k == "cosine")
      tc.schedule = Schedule::cosine(tc.steps, s.get<Index>("warmup", 0), s.get<double>("min_factor", 0.0));
    e.resolved["schedule"] = s.finish();
  }
  {
    const json& pl = top.raw("probes");
    if (!pl.is_null() && !pl.is_array()) top.fail("probes", "must be a list of objects");
    for (std::size_t i = 0; i < (pl.is_array() ? pl.size() : 0); ++i) {
      Section p(pl[i], "probes[" + std::to_string(i) + "]");
      const std::string k = p.choice("kind", "weight_norm",
                                     {"weight_norm", "weight_spectrum", "stability", "ntk", "fourier", "llc",
                                      "sharpness", "heavy_tail", "complexity", "local_complexity", "trig_share"});
      const Index every = p.get<Index>("every", 100);
      if (every < 1) p.fail("every", "must be >= 1");
      p.get<std::string>("prefix", "");
      if (k == "weight_spectrum") {
        const Index heads = p.get<Index>("heads", e.mlp ? 0 : e.tf_cfg.heads);
        if (e.mlp && heads != 0) p.fail("heads", "an MLP has no attention heads");
        if (heads < 0) p.fail("heads", "must be >= 0");
        if (p.get<Index>("top", 3) < 0) p.fail("top", "must be >= 0");
      }
      if (k == "stability" || k == "ntk") p.choice("on", k == "ntk" ? "test" : "train", {"train", "test"});
      if (k == "stability" && e.data.labels.empty()) p.fail("kind", "stability needs class labels");
      if (k == "stability" && e.train.loss != LossKind::CrossEntropy && e.train.loss != LossKind::StableMax)
        p.fail("kind", std::string("stability measures the softmax's collapse: it needs the loss cross_entropy or "
                                   "stablemax, this run's is ") +
                           loss_name(e.train.loss));
      if (k == "sharpness") {  // the exact Hessian's top eigenvalue (Lanczos) and trace on the training set
        if (p.get<Index>("iterations", 20) < 1) p.fail("iterations", "must be >= 1");
        if (p.get<Index>("trace_samples", 0) < 0) p.fail("trace_samples", "must be >= 0");
        if (p.get<Index>("max_examples", 512) < 1) p.fail("max_examples", "must be >= 1");
      }
      if (k == "ntk") {
        if (p.get<Index>("max_examples", 256) < 1) p.fail("max_examples", "must be >= 1");
        p.choice("precision", "double", {"double", "model"});
      }
      if (k == "fourier") {
        if (e.task_kind != "modular" || e.data.size() != e.p * e.p)
          p.fail("kind", "fourier needs a modular task over all p^2 pairs (add, sub, mul, x2_plus_y2, ...)");
        const Index n_key = p.get<Index>("n_key", 5);
        if (n_key < 1 || n_key > (e.p - 1) / 2)
          p.fail("n_key", "must be in [1, " + std::to_string((e.p - 1) / 2) + "] for p = " + std::to_string(e.p));
        const std::vector<Index> keys = p.get<std::vector<Index>>("key_frequencies", {});
        for (std::size_t i = 0; i < keys.size(); ++i) {
          if (keys[i] < 1 || keys[i] > (e.p - 1) / 2)
            p.fail("key_frequencies", std::to_string(keys[i]) + " is outside [1, " + std::to_string((e.p - 1) / 2) +
                                          "] for p = " + std::to_string(e.p));
          if (std::count(keys.begin(), keys.begin() + static_cast<long>(i), keys[i]))
            p.fail("key_frequencies", std::to_string(keys[i]) + " is given twice");
        }
      }
      if (k == "complexity") {  // DeMoss et al.'s coarse-grained complexity (measure/complexity.hpp)
        p.non_negative("epsilon", p.get<double>("epsilon", 1.0));
        if (p.get<Index>("max_examples", 0) < 0) p.fail("max_examples", "must be >= 0 (0: every example)");
        const double lo = p.get<double>("delta_min", 1e-5), hi = p.get<double>("delta_max", 1e-1);
        if (!(lo > 0 && hi >= lo && std::isfinite(hi))) p.fail("delta_min", "need 0 < delta_min <= delta_max");
        const Index ppd = p.get<Index>("points_per_decade", 8);
        if (ppd < 1 || ppd > 1000) p.fail("points_per_decade", "must be in [1, 1000]");
        const Index taus = p.get<Index>("taus", 20);
        if (taus < 1 || taus > 1000) p.fail("taus", "must be in [1, 1000] (the grid 1/taus, 2/taus, ..., 1)");
      }
      if (k == "trig_share" && (e.task_kind != "modular" || e.data.size() != e.p * e.p || e.data.labels.empty()))
        p.fail("kind", "trig_share needs a modular task over all p^2 pairs with labels");
      if (k == "local_complexity") {  // Humayun et al.: dense inputs only
        if (e.data.has_tokens())
          p.fail("kind",
                 "local_complexity needs dense inputs (a neighbourhood in input space); this task's are tokens");
        p.choice("on", "train", {"train", "test"});
        if (p.get<Index>("max_examples", 256) < 1) p.fail("max_examples", "must be >= 1");
        const Index v = p.get<Index>("vertices", 40);
        if (v < 2 || v % 2 != 0 || v / 2 > e.data.features.cols())
          p.fail("vertices", "must be an even number >= 2 with vertices / 2 <= the input width " +
                                 std::to_string(e.data.features.cols()));
        if (!(p.get<double>("radius", 0.005) > 0)) p.fail("radius", "must be > 0");
        p.get<std::uint64_t>("seed", 0);
      }
      if (k == "heavy_tail") {
        if (p.get<Index>("min_tail", 10) < 2) p.fail("min_tail", "must be >= 2");
        p.get<std::uint64_t>("seed", 0);
      }
      if (k == "llc") {
        p.get<double>("epsilon", 1e-3), p.get<double>("nbeta", 0.0), p.get<double>("gamma", 100.0);
        p.get<Index>("chains", 4), p.get<Index>("draws", 200), p.get<Index>("batch_size", 32);
      }
      e.probes.push_back(p.finish());
    }
    e.resolved["probes"] = e.probes;
  }
  {
    Section d(top.raw("detect"), "detect");
    DetectOptions& o = e.train.detect_options;
    o.metric = d.choice("metric", "accuracy", {"accuracy", "loss"}) == "loss" ? GrokMetric::Loss : GrokMetric::Accuracy;
    o.threshold = d.get<double>("threshold", o.threshold);
    if (!(o.threshold > 0)) d.fail("threshold", "must be > 0 (an accuracy or loss level)");
    if (d.has("test_threshold")) {
      o.test_threshold = d.get<double>("test_threshold", 0.0);
      if (!(*o.test_threshold > 0)) d.fail("test_threshold", "must be > 0");
    }
    o.loss_relative = d.get<bool>("loss_relative", o.loss_relative);
    o.patience = d.get<Index>("patience", o.patience);
    o.min_delay_ratio = d.get<double>("min_delay_ratio", o.min_delay_ratio);
    o.min_delay_steps = d.get<double>("min_delay_steps", o.min_delay_steps);
    o.log_x = d.get<bool>("log_x", o.log_x);
    o.fit_sigmoid = d.get<bool>("fit_sigmoid", o.fit_sigmoid);
    e.resolved["detect"] = d.finish();
  }
  top.finish();
  return e;
}

// ---------------------------------------------------------------------------------------------
// Running one resolved experiment.

// What a caller adds to a run besides the configuration (the Python module: a model it holds,
// Python probes, Ctrl-C).
template <typename S>
struct Hooks {
  std::shared_ptr<Model<S>> model;  ///< trained in place when set; otherwise made from the config and left here
  std::vector<std::tuple<Index, ProbeFn<S>, std::string>> probes;  ///< (every, probe, prefix), after the config's
  std::function<bool()> interrupt;                                 ///< TrainConfig::interrupt
  std::function<void(Index, const Record&)> on_record;             ///< TrainConfig::on_record
};

template <typename S>
std::shared_ptr<Model<S>> build_model(const Experiment& e) {
  if (e.mlp) return std::make_shared<Mlp<S>>(e.mlp_cfg);
  return std::make_shared<Transformer<S>>(e.tf_cfg);
}

template <typename S>
TrainResult train(Experiment& e, const std::string& out_dir, Hooks<S>* hooks = nullptr) {
  Hooks<S> none;
  Hooks<S>& h = hooks ? *hooks : none;
  if (!h.model) h.model = build_model<S>(e);
  Model<S>* net = h.model.get();
  std::unique_ptr<Optimizer<S>> opt;
  if (e.optimizer == "sgd")
    opt = std::make_unique<Sgd<S>>(net->parameters(), e.sgd);
  else
    opt = std::make_unique<Adam<S>>(net->parameters(), e.adam);
  std::unique_ptr<Optimizer<S>> wrapped;
  if (e.constant_norm > 0) wrapped = std::make_unique<ConstantNorm<S>>(*opt, e.constant_norm);
  e.train.out_dir = out_dir;
  e.train.interrupt = h.interrupt;
  e.train.on_record = h.on_record;
  Trainer<S> tr(*net, e.data, wrapped ? *wrapped : *opt, e.train);
  e.train.interrupt = nullptr;  // the Trainer has its copy; the caller's hooks may not outlive this run
  e.train.on_record = nullptr;
  std::vector<std::unique_ptr<GradientFilter<S>>> filters;
  for (const json& f : e.filters) {
    if (f["kind"] == "orthograd")
      filters.push_back(std::make_unique<OrthoGrad<S>>(f["eps"].get<double>()));
    else if (f["kind"] == "spectral_entropy")
      filters.push_back(std::make_unique<SpectralEntropyPenalty<S>>(f["beta"].get<double>(), f["eps"].get<double>()));
    else if (f["kind"] == "grokfast_ema")
      filters.push_back(std::make_unique<GrokfastEma<S>>(f["alpha"].get<double>(), f["lamb"].get<double>(),
                                                         f["normalize"].get<bool>()));
    else
      filters.push_back(std::make_unique<GrokfastMa<S>>(f["window"].get<Index>(), f["lamb"].get<double>(),
                                                        f["warmup"].get<bool>(), f["use_sum"].get<bool>(),
                                                        f["normalize"].get<bool>()));
    tr.add_filter(*filters.back());
  }
  const Dataset& d = e.data;
  const auto first_rows = [](const IndexList& rows, Index m) {
    return IndexList(rows.begin(),
                     rows.begin() + std::min<std::ptrdiff_t>(static_cast<std::ptrdiff_t>(rows.size()), m));
  };
  for (const json& p : e.probes) {
    const std::string k = p["kind"], prefix = p["prefix"];
    const Index every = p["every"].get<Index>();
    if (k == "weight_norm") {
      tr.add_probe(every, weight_norm_probe<S>(), prefix);
    } else if (k == "weight_spectrum") {
      SpectraOptions so;
      so.heads = p["heads"].get<Index>();
      tr.add_probe(every, weight_spectrum_probe<S>(so, p["top"].get<Index>()), prefix);
    } else if (k == "stability") {
      const IndexList& rows = p["on"] == "train" ? d.train : d.test;
      tr.add_probe(every, stability_probe<S>(ModelInput<S>::from_dataset(d, rows), d.labels_of(rows), "", e.train.loss),
                   prefix);
    } else if (k == "ntk") {
      const IndexList rows = first_rows(p["on"] == "train" ? d.train : d.test, p["max_examples"].get<Index>());
      const Eigen::MatrixXd Y = d.labels.empty() ? d.targets_of(rows) : d.one_hot_of(rows);
      NtkOptions o;
      o.precision = p["precision"] == "model" ? NtkPrecision::ModelScalar : NtkPrecision::Double;
      tr.add_probe(every, ntk_probe<S>(ModelInput<S>::from_dataset(d, rows), Y, o), prefix);
    } else if (k == "complexity") {
      CoarseGrainOptions co;
      co.delta_min = p["delta_min"], co.delta_max = p["delta_max"], co.points_per_decade = p["points_per_decade"];
      const Index taus = p["taus"].get<Index>();
      for (Index i = 1; i <= taus; ++i) co.taus.push_back(static_cast<double>(i) / static_cast<double>(taus));
      const Index m = p["max_examples"].get<Index>();
      tr.add_probe(
          every,
          complexity_probe<S>(e.data, m > 0 ? first_rows(d.train, m) : d.train, m > 0 ? first_rows(d.test, m) : d.test,
                              e.train.loss, p["epsilon"].get<double>(), co, e.train.ce_precision),
          prefix);
    } else if (k == "trig_share") {  // Varma et al.'s C_gen proxy on every pair
      IndexList all(static_cast<std::size_t>(d.size()));
      for (Index i = 0; i < d.size(); ++i) all[static_cast<std::size_t>(i)] = i;
      const ModelInput<S> X = ModelInput<S>::from_dataset(d, all);
      const IndexList y = d.labels;
      const Index p_mod = e.p;
      tr.add_probe(
          every,
          [X, y, p_mod](Model<S>& m, Index) {
            Tape<S> t;
            const TrigShare ts = trig_subspace_share(m.forward(t, X).value().template cast<double>(), y, p_mod);
            return Record{{"trig_share", ts.share}, {"trig_gen_norm", ts.gen_norm}, {"trig_mem_norm", ts.mem_norm}};
          },
          prefix);
    } else if (k == "local_complexity") {
      const IndexList rows = first_rows(p["on"] == "train" ? d.train : d.test, p["max_examples"].get<Index>());
      Eigen::MatrixXd X = d.features_of(rows);
      LocalComplexityOptions lo;
      lo.vertices = p["vertices"], lo.radius = p["radius"], lo.seed = p["seed"];
      tr.add_probe(every, local_complexity_probe<S>(std::move(X), lo), prefix);
    } else if (k == "heavy_tail") {
      tr.add_probe(every, heavy_tail_probe<S>(p["min_tail"].get<Index>(), p["seed"].get<std::uint64_t>()), prefix);
    } else if (k == "fourier") {
      IndexList all(static_cast<std::size_t>(d.size()));
      for (Index i = 0; i < d.size(); ++i) all[static_cast<std::size_t>(i)] = i;
      tr.add_probe(every,
                   fourier_probe<S>(ModelInput<S>::from_dataset(d, all), d.labels, d.train,
                                    p["key_frequencies"].get<std::vector<Index>>(), p["n_key"].get<Index>()),
                   prefix);
    } else if (k == "llc") {
      LlcOptions lo;
      lo.epsilon = p["epsilon"], lo.nbeta = p["nbeta"], lo.gamma = p["gamma"];
      lo.chains = p["chains"], lo.draws = p["draws"];
      lo.batch_size = std::min<Index>(p["batch_size"].get<Index>(), static_cast<Index>(d.train.size()));
      lo.seed = e.train.seed;
      tr.add_probe(every, llc_probe<S>(e.data, d.train, e.train.loss, lo), prefix);
    } else if (k == "sharpness") {
      // measured in double: a float run's values are copied into a double twin of its model
      const ProbeFn<double> inner =
          sharpness_probe(dataset_loss<double>(d, first_rows(d.train, p["max_examples"].get<Index>()), e.train.loss,
                                               e.train.ce_precision),
                          p["iterations"].get<Index>(), p["trace_samples"].get<Index>(), e.train.seed);
      if constexpr (std::is_same_v<S, double>) {
        tr.add_probe(every, inner, prefix);
      } else {
        const std::shared_ptr<Model<double>> twin = build_model<double>(e);
        tr.add_probe(
            every,
            [twin, inner](Model<S>& m, Index step) {
              const std::vector<Parameter<S>*> from = m.parameters();
              const std::vector<Parameter<double>*> to = twin->parameters();
              for (std::size_t i = 0; i < from.size(); ++i) to[i]->value = from[i]->value.template cast<double>();
              return inner(*twin, step);
            },
            prefix);
      }
    }
  }
  for (auto& [every, fn, prefix] : h.probes) tr.add_probe(every, fn, prefix);
  return tr.run();
}

inline TrainResult run_one(const json& cfg, std::uint64_t seed, const std::string& out_dir) {
  Experiment e = resolve(cfg, seed);
  return e.float64 ? train<double>(e, out_dir) : train<float>(e, out_dir);
}

// Sets a dotted path ("optimizer.weight_decay", "probes.0.every") in a copy of the config.
inline json with_axis(json cfg, const std::string& path, const json& value) {
  json* node = &cfg;
  const std::string what = "'" + path + "'";
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = path.find('.', start);
    const std::string key = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (key.empty()) throw ConfigError("config: " + what + " has an empty part");
    const bool last = dot == std::string::npos;
    if (node->is_array()) {
      // compared as text first: a 30-digit index must not reach std::stoul (out_of_range, "stoul")
      const bool digits = key.find_first_not_of("0123456789") == std::string::npos;
      const bool fits = digits && key.size() <= 9 && std::stoul(key) < node->size();
      if (!fits)
        throw ConfigError("config: " + what + ": '" + excerpt(json(key)) + "' is not an index of the list (it has " +
                          std::to_string(node->size()) + " entries)");
      node = &(*node)[std::stoul(key)];
    } else {
      if (node->is_null()) *node = json::object();
      if (!node->is_object()) throw ConfigError("config: " + what + ": '" + key + "' is not in an object");
      node = &(*node)[key];
    }
    if (last) {
      *node = value;
      return cfg;
    }
    start = dot + 1;
  }
}

}  // namespace grokscope::experiment
