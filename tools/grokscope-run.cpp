// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// grokscope-run: runs an experiment described as JSON — task, split, model, loss, optimiser and
// filters, schedule, training settings, probes, detector settings, seeds and sweep axes — without
// writing C++. One seed and no sweep: a standard run folder (history.csv, summary.json, ...,
// history.png). Several seeds or sweep axes: run_sweep's folder (points/<id>/..., results.csv,
// results.json), resumable. --print-config prints the resolved configuration with every default.
// Every key is checked: an unknown key or a value out of its set names the key and the allowed
// values. Exit 0 when every run finished, 1 when a run diverged or failed, 2 on a bad config.
// Built with MPI, a sweep launched under mpirun spreads its points over the ranks (run_sweep_mpi).

#include <grokscope/data/groups.hpp>
#include <grokscope/data/idx.hpp>
#include <grokscope/data/modular.hpp>
#include <grokscope/data/parity.hpp>
#include <grokscope/data/regression.hpp>
#include <grokscope/detect/grokking.hpp>
#include <grokscope/nn/mlp.hpp>
#include <grokscope/nn/transformer.hpp>
#include <grokscope/optim/adam.hpp>
#include <grokscope/optim/grokfast.hpp>
#include <grokscope/optim/schedule.hpp>
#include <grokscope/optim/sgd.hpp>
#include <grokscope/train/probes.hpp>
#include <grokscope/train/sweep.hpp>
#include <grokscope/train/trainer.hpp>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <new>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#if defined(__linux__)
#include <unistd.h>
#endif
#ifdef GROKSCOPE_WITH_MPI
#include <grokscope/train/sweep_mpi.hpp>
#endif

namespace {

using json = nlohmann::ordered_json;
using namespace grokscope;

struct ConfigError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

std::string join(const std::vector<std::string>& v) {
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
    if (!j.is_object()) fail("", "must be an object, got " + j.dump());
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
        } else if constexpr (std::is_floating_point_v<T>) {
          if (!x.is_number()) throw std::domain_error("");
        } else if constexpr (std::is_same_v<T, std::string>) {
          if (!x.is_string()) throw std::domain_error("");
        }
        v = x.get<T>();
      } catch (const std::exception&) {
        fail(key, std::string("must be ") + type_name<T>() + ", got " + x.dump());
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
      if (!x.is_array()) fail(key, "must be a list of integers, got " + x.dump());
      def.clear();
      for (const json& e : x) {
        if (!e.is_number_integer()) fail(key, "must be a list of integers, got " + x.dump());
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
  AdamConfig adam;
  SgdConfig sgd;
  json filters = json::array();
  TrainConfig train;
  json probes = json::array();
  bool float64 = false;
  std::string task_kind;
  Index p = 0;  // modular tasks
};

Dataset make_task(Section& t, Experiment& e, std::uint64_t seed, bool& has_split) {
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

Activation activation_of(Section& s, const std::string& key, Activation def) {
  const std::vector<std::string> names = {"relu", "gelu", "tanh", "square", "identity", "linear_quadratic"};
  const std::string v = s.choice(key, activation_name(def), names);
  const Activation all[] = {Activation::Relu,   Activation::Gelu,     Activation::Tanh,
                            Activation::Square, Activation::Identity, Activation::LinearQuadratic};
  return all[std::find(names.begin(), names.end(), v) - names.begin()];
}

void make_model(Section& m, Experiment& e, std::uint64_t seed) {
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

// Resolves the whole configuration for one seed (the sweep axes already applied).
Experiment resolve(const json& cfg, std::uint64_t seed) {
  Experiment e;
  Section top(cfg, "");
  top.raw("name");
  top.raw("seeds");
  top.raw("sweep");
  top.raw("out");
  {
    Section t(top.raw("task"), "task");
    bool has_split = false;
    e.data = make_task(t, e, seed, has_split);
    e.resolved["task"] = t.finish();
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
      o.non_negative("weight_decay", e.adam.weight_decay);
    }
    e.resolved["optimizer"] = o.finish();
  }
  {
    const json& fl = top.raw("filters");
    if (!fl.is_null() && !fl.is_array()) top.fail("filters", "must be a list of objects");
    for (std::size_t i = 0; i < (fl.is_array() ? fl.size() : 0); ++i) {
      Section f(fl[i], "filters[" + std::to_string(i) + "]");
      const std::string k = f.choice("kind", "grokfast_ema", {"grokfast_ema", "grokfast_ma"});
      if (k == "grokfast_ema") {
        f.get<double>("alpha", 0.98);
        f.get<double>("lamb", 2.0);
        f.get<bool>("normalize", false);
      } else {
        f.get<Index>("window", 100);
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
    tc.ce_precision = t.choice("ce_precision", "stable", {"stable", "native"}) == "stable"
                          ? CrossEntropyPrecision::Stable
                          : CrossEntropyPrecision::Native;
    tc.seed = seed;
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
      const std::string k =
          p.choice("kind", "weight_norm", {"weight_norm", "weight_spectrum", "stability", "ntk", "fourier", "llc"});
      const Index every = p.get<Index>("every", 100);
      if (every < 1) p.fail("every", "must be >= 1");
      p.get<std::string>("prefix", "");
      if (k == "weight_spectrum") p.get<Index>("heads", e.mlp ? 0 : e.tf_cfg.heads), p.get<Index>("top", 3);
      if (k == "stability" || k == "ntk") p.choice("on", k == "ntk" ? "test" : "train", {"train", "test"});
      if (k == "stability" && e.data.labels.empty()) p.fail("kind", "stability needs class labels");
      if (k == "ntk") p.get<Index>("max_examples", 256);
      if (k == "fourier") {
        if (e.task_kind != "modular" || e.data.size() != e.p * e.p)
          p.fail("kind", "fourier needs a modular task over all p^2 pairs (add, sub, mul, x2_plus_y2, ...)");
        p.get<Index>("n_key", 5);
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
    if (d.has("test_threshold")) o.test_threshold = d.get<double>("test_threshold", 0.0);
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

template <typename S>
TrainResult train(Experiment& e, const std::string& out_dir) {
  std::unique_ptr<Model<S>> net;
  if (e.mlp)
    net = std::make_unique<Mlp<S>>(e.mlp_cfg);
  else
    net = std::make_unique<Transformer<S>>(e.tf_cfg);
  std::unique_ptr<Optimizer<S>> opt;
  if (e.optimizer == "sgd")
    opt = std::make_unique<Sgd<S>>(net->parameters(), e.sgd);
  else
    opt = std::make_unique<Adam<S>>(net->parameters(), e.adam);
  e.train.out_dir = out_dir;
  Trainer<S> tr(*net, e.data, *opt, e.train);
  std::vector<std::unique_ptr<GradientFilter<S>>> filters;
  for (const json& f : e.filters) {
    if (f["kind"] == "grokfast_ema")
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
      tr.add_probe(every, ntk_probe<S>(ModelInput<S>::from_dataset(d, rows), Y), prefix);
    } else if (k == "fourier") {
      IndexList all(static_cast<std::size_t>(d.size()));
      for (Index i = 0; i < d.size(); ++i) all[static_cast<std::size_t>(i)] = i;
      tr.add_probe(
          every, fourier_probe<S>(ModelInput<S>::from_dataset(d, all), d.labels, d.train, {}, p["n_key"].get<Index>()),
          prefix);
    } else if (k == "llc") {
      LlcOptions lo;
      lo.epsilon = p["epsilon"], lo.nbeta = p["nbeta"], lo.gamma = p["gamma"];
      lo.chains = p["chains"], lo.draws = p["draws"];
      lo.batch_size = std::min<Index>(p["batch_size"].get<Index>(), static_cast<Index>(d.train.size()));
      lo.seed = e.train.seed;
      tr.add_probe(every, llc_probe<S>(e.data, d.train, e.train.loss, lo), prefix);
    }
  }
  return tr.run();
}

TrainResult run_one(const json& cfg, std::uint64_t seed, const std::string& out_dir) {
  Experiment e = resolve(cfg, seed);
  return e.float64 ? train<double>(e, out_dir) : train<float>(e, out_dir);
}

// Sets a dotted path ("optimizer.weight_decay", "probes.0.every") in a copy of the config.
json with_axis(json cfg, const std::string& path, const json& value) {
  json* node = &cfg;
  const std::string what = "'" + path + "'";
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = path.find('.', start);
    const std::string key = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (key.empty()) throw ConfigError("config: " + what + " has an empty part");
    const bool last = dot == std::string::npos;
    if (node->is_array()) {
      const bool digits = key.find_first_not_of("0123456789") == std::string::npos;
      if (!digits || std::stoul(key) >= node->size())
        throw ConfigError("config: " + what + ": '" + key + "' is not an index of the list");
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

std::string plotter() {
#if defined(__linux__)
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n > 0) {
    buf[n] = '\0';
    const std::filesystem::path installed = std::filesystem::path(buf).parent_path() / "grokscope-plot";
    if (std::filesystem::exists(installed)) return installed.string();
  }
#endif
  return std::string(GROKSCOPE_SOURCE_DIR) + "/tools/plot_history.py";
}

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

void plot(const std::string& dir) {
  const std::string cmd = "/usr/bin/python3 " + quote(plotter()) + " " + quote(dir) + " > /dev/null 2>&1";
  if (std::system(cmd.c_str()) == 0)
    std::printf("wrote %s/history.png\n", dir.c_str());
  else
    std::printf("no plot: /usr/bin/python3 with matplotlib is needed for grokscope-plot\n");
}

std::string show(const std::optional<double>& v) { return v ? format_number(*v) : "never"; }

int run(int argc, char** argv) {
  CLI::App app{"Run a grokking experiment described as JSON", "grokscope-run"};
  std::string config_path, out;
  bool print_config = false, no_plot = false;
  Index workers = 1;
  std::vector<std::string> sets;
  app.add_option("config", config_path, "the experiment's JSON file (examples/configs/*.json)")->required();
  app.add_option("--out", out, "output folder (default: the config's \"out\", else runs/<file name>)");
  app.add_option("--workers", workers, "sweep points run at once")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--set", sets,
                 "override a value: PATH=JSON, e.g. --set train.steps=500 --set model.preset='\"gromov\"' "
                 "(a bare word is taken as a string: --set optimizer.kind=sgd)");
  app.add_flag("--print-config", print_config, "print the resolved configuration with every default and stop");
  app.add_flag("--no-plot", no_plot, "do not draw history.png");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "grokscope-run: %s\n", e.what());
    return 2;
  }
  bool root = true;
#ifdef GROKSCOPE_WITH_MPI
  std::unique_ptr<MpiSession> mpi;
  if (mpi_launched()) {
    mpi = std::make_unique<MpiSession>(argc, argv);
    root = mpi->root();
  }
#endif
  json cfg;
  {
    std::error_code ec;
    if (std::filesystem::is_directory(config_path, ec)) throw ConfigError(config_path + ": is a directory, not a file");
    std::ifstream in(config_path);
    if (!in) throw ConfigError(config_path + ": cannot open");
    try {
      cfg = json::parse(in);
    } catch (const json::parse_error& e) {
      throw ConfigError(config_path + ": not valid JSON (" + std::string(e.what()) + ")");
    }
  }
  if (!cfg.is_object()) throw ConfigError(config_path + ": the configuration must be a JSON object");
  for (const std::string& kv : sets) {
    const std::size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) throw ConfigError("--set " + kv + ": expected PATH=VALUE");
    const std::string text = kv.substr(eq + 1);
    json v;
    try {
      v = json::parse(text);
    } catch (const json::parse_error&) {
      v = text;  // a bare word
    }
    cfg = with_axis(cfg, kv.substr(0, eq), v);
  }
  // seeds and sweep axes
  std::vector<std::uint64_t> seeds{0};
  if (cfg.contains("seeds")) {
    const json& s = cfg["seeds"];
    seeds.clear();
    if (s.is_number_unsigned())
      for (std::uint64_t i = 0; i < s.get<std::uint64_t>(); ++i) seeds.push_back(i);
    else if (s.is_array())
      for (const json& v : s) {
        if (!v.is_number_unsigned())
          throw ConfigError("config: seeds: must be a count or a list of non-negative integers");
        seeds.push_back(v.get<std::uint64_t>());
      }
    if (seeds.empty())
      throw ConfigError("config: seeds: must be a count >= 1 or a non-empty list of non-negative integers");
  }
  std::vector<std::pair<std::string, std::vector<json>>> axes;
  if (cfg.contains("sweep")) {
    const json& sw = cfg["sweep"];
    if (!sw.is_object() || sw.empty())
      throw ConfigError(
          "config: sweep: must map dotted config paths to lists of values, e.g. "
          "{\"optimizer.weight_decay\": [0, 0.1, 1]}");
    for (auto it = sw.begin(); it != sw.end(); ++it) {
      if (!it.value().is_array() || it.value().empty())
        throw ConfigError("config: sweep." + it.key() + ": must be a non-empty list of values");
      axes.push_back({it.key(), std::vector<json>(it.value().begin(), it.value().end())});
    }
  }
  if (out.empty())
    out = cfg.contains("out") && cfg["out"].is_string() ? cfg["out"].get<std::string>()
                                                        : "runs/" + std::filesystem::path(config_path).stem().string();
  // validate every point before running any
  const auto point_config = [&](const nlohmann::ordered_json& params) {
    json c = cfg;
    for (auto it = params.begin(); it != params.end(); ++it) c = with_axis(c, it.key(), it.value());
    return c;
  };
  {
    std::vector<json> points{json::object()};
    for (const auto& [name, values] : axes) {
      std::vector<json> next;
      for (const json& p : points)
        for (const json& v : values) {
          json q = p;
          q[name] = v;
          next.push_back(q);
        }
      points = next;
    }
    for (const json& p : points) {
      const Experiment e = resolve(point_config(p), seeds.front());
      if (print_config && root) {
        json r = e.resolved;
        r["seeds"] = seeds;
        if (!axes.empty()) r["point"] = p;
        r["out"] = out;
        std::cout << r.dump(2) << "\n";
      }
    }
  }
  if (print_config) return 0;

  if (axes.empty() && seeds.size() == 1) {
    if (!root) return 0;  // one run under mpirun: rank 0 does it
    const TrainResult r = run_one(cfg, seeds[0], out);
    std::printf("status %s after %ld steps in %.1f s: train acc %.3f, test acc %.3f\n", train_status_name(r.status),
                static_cast<long>(r.steps_done), r.seconds, r.history.last("train_acc"), r.history.last("test_acc"));
    if (r.report)
      std::printf("t_mem %s, t_grok %s, verdict %s\n", show(r.report->t_mem).c_str(), show(r.report->t_grok).c_str(),
                  verdict_name(r.report->verdict));
    std::printf("wrote %s/history.csv, history.jsonl, summary.json, train_idx.npy, test_idx.npy\n", out.c_str());
    if (!no_plot) plot(out);
    return r.status == TrainStatus::Diverged ? 1 : 0;
  }
  SweepGrid grid;
  for (const auto& [name, values] : axes) {
    std::vector<double> nums;
    std::vector<std::string> strs;
    for (const json& v : values) {
      if (v.is_number())
        nums.push_back(v.get<double>());
      else if (v.is_string())
        strs.push_back(v.get<std::string>());
      else
        throw ConfigError("config: sweep." + name + ": values must be numbers or strings");
    }
    if (!nums.empty() && !strs.empty()) throw ConfigError("config: sweep." + name + ": mixes numbers and strings");
    nums.empty() ? void(grid.axis(name, strs)) : void(grid.axis(name, nums));
  }
  grid.seeds(seeds);
  SweepOptions so;
  so.out_dir = out;
  so.workers = workers;
  const auto run_point = [&](const SweepPoint& pt) {
    SweepOutcome o;
    o.result = run_one(point_config(pt.params), pt.seed, pt.dir);
    if (!no_plot) plot(pt.dir);
    return o;
  };
#ifdef GROKSCOPE_WITH_MPI
  const SweepSummary s = mpi ? run_sweep_mpi(grid, run_point, so) : run_sweep(grid, run_point, so);
  if (!root) return s.errors == 0 ? 0 : 1;
  if (mpi && mpi->size() > 1) std::printf("(%d MPI ranks)\n", mpi->size());
#else
  const SweepSummary s = run_sweep(grid, run_point, so);
#endif
  std::printf("%zu points: %ld run, %ld resumed, %ld errors; wrote %s/results.csv and results.json\n",
              static_cast<std::size_t>(s.table["rows"].size()), static_cast<long>(s.ran), static_cast<long>(s.skipped),
              static_cast<long>(s.errors), out.c_str());
  return s.errors == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "grokscope-run: %s\n", e.what());
    return 2;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "grokscope-run: out of memory\n");
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "grokscope-run: %s\n", e.what());
    return 2;
  }
}
