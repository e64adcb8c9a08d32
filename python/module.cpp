// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// The Python module `grokscope` over the compiled library (grokscope::compiled): numpy in and
// out, the C++ names at the top level. Arrays: float32 or float64, C- or Fortran-ordered, of the
// documented rank; each is copied once (vectorised) into a double matrix, except that CKA of two
// float32 arrays copies them as float and computes as the C++ API does for float matrices.
// Wrong dtype → TypeError, wrong rank or shape, NaN, empty or impossible settings → ValueError,
// with grokscope's message; unreadable files → RuntimeError. The GIL is released while C++ runs.

#include <grokscope/core/version.hpp>
#include <grokscope/data/groups.hpp>
#include <grokscope/data/idx.hpp>
#include <grokscope/data/modular.hpp>
#include <grokscope/data/parity.hpp>
#include <grokscope/data/regression.hpp>
#include <grokscope/detect/grokking.hpp>
#include <grokscope/io/csv.hpp>
#include <grokscope/measure/circuits.hpp>
#include <grokscope/measure/cka.hpp>
#include <grokscope/measure/fourier.hpp>
#include <grokscope/measure/kernel.hpp>
#include <grokscope/measure/kumar.hpp>
#include <grokscope/measure/ntk.hpp>
#include <grokscope/measure/weights.hpp>
#include <grokscope/nn/mlp.hpp>
#include <grokscope/nn/transformer.hpp>

#include "experiment.hpp"  // tools/experiment.hpp: grokscope-run's configuration format

#include "common.hpp"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace py = pybind11;
using namespace grokscope;
using namespace grokscope_python;

namespace {

// Two representations for CKA: computed in float when both are float32 (as the C++ API does for
// float matrices), in double otherwise.
template <typename Fn>
CkaResult cka_pair(const py::handle& X, const py::handle& Y, Fn&& fn) {
  bool fx = false, fy = false;
  const py::array a = checked_array(X, "X", false, fx), b = checked_array(Y, "Y", false, fy);
  // numpy's C order kept: row-major matrices (a plain copy), as the C++ API's Matrix<T>
  if (fx && fy) {
    const Matrix<float> x = copy_as<float, float, Eigen::RowMajor>(a), y = copy_as<float, float, Eigen::RowMajor>(b);
    py::gil_scoped_release unlocked;
    return fn(x, y);
  }
  const Matrix<double> x =
      fx ? copy_as<double, float, Eigen::RowMajor>(a) : copy_as<double, double, Eigen::RowMajor>(a);
  const Matrix<double> y =
      fy ? copy_as<double, float, Eigen::RowMajor>(b) : copy_as<double, double, Eigen::RowMajor>(b);
  py::gil_scoped_release unlocked;
  return fn(x, y);
}

DetectOptions detect_options(const std::string& metric, std::optional<double> threshold,
                             std::optional<double> test_threshold, bool relative, Index patience,
                             double min_delay_ratio, double min_delay_steps, bool log_x, bool fit_sigmoid) {
  DetectOptions o;
  if (metric != "accuracy" && metric != "loss")
    throw py::value_error("detect_grokking: metric must be 'accuracy' or 'loss', got '" + metric + "'");
  o.metric = metric == "loss" ? GrokMetric::Loss : GrokMetric::Accuracy;
  o.loss_relative = o.metric == GrokMetric::Loss && (relative || !threshold);
  if (o.metric == GrokMetric::Accuracy && relative)
    throw py::value_error("detect_grokking: relative applies to metric 'loss' only");
  o.threshold = threshold.value_or(o.metric == GrokMetric::Loss ? 0.1 : 0.9);
  o.test_threshold = test_threshold;
  o.patience = patience;
  o.min_delay_ratio = min_delay_ratio;
  o.min_delay_steps = min_delay_steps;
  o.log_x = log_x;
  o.fit_sigmoid = fit_sigmoid;
  return o;
}

CkaKind cka_kind(const std::string& k) {
  if (k == "linear") return CkaKind::Linear;
  if (k == "rbf") return CkaKind::Rbf;
  if (k == "debiased") return CkaKind::DebiasedLinear;
  throw py::value_error("cka: kind must be 'linear', 'rbf' or 'debiased', got '" + k + "'");
}

// A Dataset as a dict of numpy arrays: tokens (int64) or features, labels and/or targets, the split.
py::dict dataset_dict(const Dataset& ds) {
  py::dict d;
  if (ds.has_tokens()) {
    py::array_t<std::int64_t> tokens(
        {static_cast<py::ssize_t>(ds.tokens.rows()), static_cast<py::ssize_t>(ds.tokens.cols())});
    auto w = tokens.mutable_unchecked<2>();
    for (Index i = 0; i < ds.tokens.rows(); ++i)
      for (Index j = 0; j < ds.tokens.cols(); ++j) w(i, j) = ds.tokens(i, j);
    d["tokens"] = tokens;
    d["vocab_size"] = ds.vocab_size;
  } else {
    d["features"] = to_numpy(Eigen::MatrixXd(ds.features));
  }
  if (!ds.labels.empty()) d["labels"] = to_numpy(ds.labels), d["num_classes"] = ds.num_classes;
  if (ds.targets.rows() > 0) d["targets"] = to_numpy(Eigen::MatrixXd(ds.targets));
  d["train"] = to_numpy(ds.train);
  d["test"] = to_numpy(ds.test);
  d["name"] = ds.name;
  d["meta"] = to_python(ds.meta);
  py::dict arrays;  // auxiliary arrays: Kumar et al.'s teacher beta, ...
  for (const auto& [k, v] : ds.arrays) arrays[py::str(k)] = to_numpy(Eigen::MatrixXd(v));
  d["arrays"] = arrays;
  return d;
}

// ---- models -------------------------------------------------------------------------------

// Reads a config dict into a struct field by field; unknown keys are refused with the allowed list.
class ConfigReader {
 public:
  ConfigReader(const py::dict& d, const char* where) : m_d(d), m_where(where) {}
  template <typename T>
  void field(const char* key, T& v) {
    m_known.push_back(key);
    if (!m_d.contains(key)) return;
    try {
      v = m_d[key].cast<T>();
    } catch (const py::cast_error&) {
      throw py::type_error(std::string(m_where) + ": config key '" + key + "' has the wrong type (" +
                           std::string(py::str(m_d[key].get_type().attr("__name__"))) + ")");
    }
  }
  template <typename E>
  void choice(const char* key, E& v, const std::vector<std::pair<const char*, E>>& names) {
    m_known.push_back(key);
    if (!m_d.contains(key)) return;
    const std::string s = py::str(m_d[key]);
    std::string all;
    for (const auto& [n, e] : names) {
      if (s == n) {
        v = e;
        return;
      }
      all += std::string(all.empty() ? "" : ", ") + n;
    }
    throw py::value_error(std::string(m_where) + ": config key '" + key + "': '" + s + "' is not one of " + all);
  }
  void finish() const {
    for (const auto& kv : m_d) {
      const std::string k = py::str(kv.first);
      if (std::find(m_known.begin(), m_known.end(), k) == m_known.end()) {
        std::string all;
        for (const std::string& n : m_known) all += (all.empty() ? "" : ", ") + n;
        throw py::value_error(std::string(m_where) + ": unknown config key '" + k + "' (allowed: " + all + ")");
      }
    }
  }

 private:
  const py::dict& m_d;
  const char* m_where;
  std::vector<std::string> m_known;
};

const std::vector<std::pair<const char*, Activation>> kActivations = {
    {"relu", Activation::Relu},         {"gelu", Activation::Gelu},
    {"tanh", Activation::Tanh},         {"square", Activation::Square},
    {"identity", Activation::Identity}, {"linear_quadratic", Activation::LinearQuadratic}};

MlpConfig mlp_config(const py::dict& d) {
  MlpConfig c;
  ConfigReader r(d, "Mlp");
  std::string kind = "mlp";
  r.field("model", kind);  // Model.config round-trips
  if (kind != "mlp") throw py::value_error("Mlp: config key 'model' is '" + kind + "', not 'mlp'");
  r.field("input", c.input);
  r.field("hidden", c.hidden);
  r.field("output", c.output);
  r.choice("activation", c.activation, kActivations);
  r.field("bias", c.bias);
  r.field("readout_bias", c.readout_bias);
  r.choice<Parameterization>("parameterization", c.parameterization,
                             {{"standard", Parameterization::Standard},
                              {"ntk", Parameterization::Ntk},
                              {"mean_field", Parameterization::MeanField}});
  r.field("init_std", c.init_std);
  r.field("init_scale", c.init_scale);
  r.field("output_scale", c.output_scale);
  r.field("centered", c.centered);
  r.field("epsilon", c.epsilon);
  r.field("fixed_readout", c.fixed_readout);
  r.field("seed", c.seed);
  r.finish();
  return c;
}

TransformerConfig transformer_config(const py::dict& d) {
  TransformerConfig c;
  ConfigReader r(d, "Transformer");
  std::string kind = "transformer";
  r.field("model", kind);  // Model.config round-trips
  if (kind != "transformer")
    throw py::value_error("Transformer: config key 'model' is '" + kind + "', not 'transformer'");
  Index nanda_p = 0;
  r.field("nanda2023", nanda_p);  // a preset first: {"nanda2023": 113, "output": 113}
  if (nanda_p > 0) c = TransformerConfig::nanda2023(nanda_p);
  r.field("vocab", c.vocab);
  r.field("context", c.context);
  r.field("output", c.output);
  r.field("d_model", c.d_model);
  r.field("heads", c.heads);
  r.field("d_mlp", c.d_mlp);
  r.field("layers", c.layers);
  r.choice("activation", c.activation, kActivations);
  r.choice<LayerNormPlacement>(
      "layer_norm", c.layer_norm,
      {{"none", LayerNormPlacement::None}, {"pre", LayerNormPlacement::Pre}, {"post", LayerNormPlacement::Post}});
  r.choice<PositionEncoding>("positions", c.positions,
                             {{"learned", PositionEncoding::Learned}, {"sinusoidal", PositionEncoding::Sinusoidal}});
  r.field("attn_bias", c.attn_bias);
  r.field("mlp_bias", c.mlp_bias);
  r.field("unembed_bias", c.unembed_bias);
  r.choice<TransformerInit>("init", c.init, {{"nanda", TransformerInit::Nanda}, {"pytorch", TransformerInit::PyTorch}});
  r.field("init_scale", c.init_scale);
  r.field("output_scale", c.output_scale);
  r.field("centered", c.centered);
  r.field("seed", c.seed);
  r.finish();
  return c;
}

template <typename S>
PyModel wrap(std::shared_ptr<Model<S>> m) {
  PyModel pm;
  pm.tokens = dynamic_cast<Transformer<S>*>(m.get()) != nullptr;
  if constexpr (std::is_same_v<S, double>)
    pm.d = std::move(m);
  else
    pm.f = std::move(m);
  return pm;
}

// A model of kind M from its config in the dtype the constructor was given ('float64' or 'float32').
template <template <typename> class M, typename Config>
PyModel make_model(const Config& c, const std::string& dtype, const char* where) {
  if (dtype == "float32") return wrap<float>(std::make_shared<M<float>>(c));
  if (dtype == "float64") return wrap<double>(std::make_shared<M<double>>(c));
  throw py::value_error(std::string(where) + ": dtype must be 'float64' or 'float32', got '" + dtype + "'");
}

// fn(transformer, cache) on the cache of one pass over `inputs` (a Transformer only), without the GIL.
template <typename Fn>
auto with_transformer_cache(const PyModel& pm, const py::handle& inputs, const char* where, Fn&& fn) {
  if (!pm.tokens) throw py::type_error(std::string(where) + ": the model is not a Transformer");
  return pm.visit([&](auto& mm) {
    using S = typename std::decay_t<decltype(mm)>::Scalar;
    auto& t = dynamic_cast<Transformer<S>&>(mm);
    const ModelInput<S> in = model_input<S>(pm, inputs, "inputs");
    const ModelGuard guard(pm.mutex);
    return fn(t, t.run_with_cache(in));
  });
}

py::dict state_dict(const PyModel& m) {
  py::dict d;
  m.visit([&](auto& model) {
    using S = typename std::decay_t<decltype(model)>::Scalar;
    std::vector<std::pair<std::string, Matrix<S>>> copies;  // copied under the model's lock, converted after
    {
      const ModelGuard guard(m.mutex);
      for (const auto* p : model.parameters()) copies.emplace_back(p->name, p->value);
    }
    for (const auto& [name, v] : copies) d[py::str(name)] = to_numpy_of(v);
    return 0;
  });
  return d;
}

// Loads named arrays (numpy, or anything with .detach().cpu().numpy() such as torch tensors) into
// the parameters; every mismatch is collected and reported at once, and nothing changes then.
template <typename S>
void load_state_dict_as(Model<S>& model, const py::dict& sd, bool strict,
                        const std::shared_ptr<std::recursive_mutex>& lock) {
  std::vector<std::string> problems;
  std::vector<std::pair<Parameter<S>*, Eigen::MatrixXd>> values;
  const py::module_ np = py::module_::import("numpy");
  std::vector<std::string> names;
  for (Parameter<S>* p : model.parameters()) {
    names.push_back(p->name);
    if (!sd.contains(p->name)) {
      if (strict)
        problems.push_back("missing '" + p->name + "' (" + std::to_string(p->rows()) + ", " +
                           std::to_string(p->cols()) + ")");
      continue;
    }
    py::object v = sd[py::str(p->name)];
    if (py::hasattr(v, "detach")) v = v.attr("detach")().attr("cpu")().attr("numpy")();
    py::array a = np.attr("asarray")(v);
    const std::string want = "(" + std::to_string(p->rows()) + ", " + std::to_string(p->cols()) + ")";
    std::string have = "(";
    for (py::ssize_t k = 0; k < a.ndim(); ++k) have += (k ? ", " : "") + std::to_string(a.shape(k));
    have += a.ndim() == 1 ? ",)" : ")";
    if (a.ndim() == 1 && p->rows() == 1 && a.shape(0) == p->cols()) a = a.attr("reshape")(1, p->cols());
    if (a.ndim() == 1 && p->cols() == 1 && a.shape(0) == p->rows()) a = a.attr("reshape")(p->rows(), 1);
    if (a.ndim() != 2 || a.shape(0) != p->rows() || a.shape(1) != p->cols()) {
      const bool transposed = a.ndim() == 2 && a.shape(0) == p->cols() && a.shape(1) == p->rows();
      problems.push_back("'" + p->name + "' is " + have + ", expected " + want +
                         (transposed ? " (transpose it: see the README's layout table)" : ""));
      continue;
    }
    const char kind = a.dtype().kind();
    if (kind != 'f' && kind != 'i' && kind != 'u' && kind != 'b') {  // complex would lose its imaginary part
      problems.push_back("'" + p->name + "' holds " + std::string(py::str(a.dtype().attr("name"))) +
                         ", not real numbers");
      continue;
    }
    try {
      values.emplace_back(p, matrix_arg(np.attr("asarray")(a, "float64"), p->name.c_str()));
    } catch (const std::exception& e) {
      problems.push_back(e.what());
    }
  }
  for (const auto& kv : sd) {
    const std::string k = py::str(kv.first);
    if (strict && std::find(names.begin(), names.end(), k) == names.end())
      problems.push_back("unexpected '" + k + "' (the model has no such parameter)");
  }
  for (auto& [p, v] : values)
    if (!v.allFinite()) problems.push_back("'" + p->name + "' is not finite");
  if (!problems.empty()) {
    std::string msg = "load_state_dict: " + std::to_string(problems.size()) + " mismatch" +
                      (problems.size() > 1 ? "es" : "") + "; nothing was loaded:";
    for (const std::string& pr : problems) msg += "\n  " + pr;
    throw py::value_error(msg);
  }
  std::vector<std::pair<Parameter<S>*, Matrix<S>>> cast;
  for (auto& [p, v] : values) cast.emplace_back(p, v.template cast<S>());
  const ModelGuard guard(lock);  // not while another thread's call uses the model
  for (auto& [p, v] : cast) p->value = std::move(v);
}

// A state dict in another library's names and layouts, as grokscope's: "sequential" (PyTorch's
// nn.Sequential of Linear layers: "<i>.weight", "<i>.bias", the Linear layers in index order being
// layers.0, layers.1, ...) or "transformer_lens" (HookedTransformer's W_E (V, d), W_Q (H, d, d_head),
// W_O (H, d_head, d), W_in (d, d_mlp), W_out (d_mlp, d), W_U (d, V); attention masks and IGNORE
// buffers skipped; a bias the grokscope model does not have is dropped when it is zero). Every name
// it cannot place is listed in one ValueError.
py::dict convert_state_dict(const PyModel& m, const py::dict& sd, const std::string& convention) {
  if (convention == "grokscope") return sd;
  const py::module_ np = py::module_::import("numpy");
  std::vector<std::string> have;
  m.visit([&](auto& mm) {
    for (const auto* p : mm.parameters()) have.push_back(p->name);
    return 0;
  });
  const auto has = [&](const std::string& n) { return std::find(have.begin(), have.end(), n) != have.end(); };
  py::dict out;
  std::vector<std::string> problems;
  if (convention == "sequential") {
    std::vector<std::pair<long, std::string>> keys;
    for (const auto& kv : sd) {
      const std::string k = py::str(kv.first);
      const std::size_t dot = k.find('.');
      const std::string head = k.substr(0, dot), tail = dot == std::string::npos ? "" : k.substr(dot + 1);
      if (head.empty() || head.size() > 6 || head.find_first_not_of("0123456789") != std::string::npos ||
          (tail != "weight" && tail != "bias")) {
        problems.push_back("'" + k + "' is not '<index>.weight' or '<index>.bias' of an nn.Sequential");
        continue;
      }
      keys.emplace_back(std::stol(head), k);
    }
    std::vector<long> layers;
    for (const auto& [i, k] : keys)
      if (std::find(layers.begin(), layers.end(), i) == layers.end()) layers.push_back(i);
    std::sort(layers.begin(), layers.end());
    for (const auto& [i, k] : keys) {
      const long l = std::find(layers.begin(), layers.end(), i) - layers.begin();
      out[py::str("layers." + std::to_string(l) + k.substr(k.find('.')))] = sd[py::str(k)];
    }
  } else if (convention == "transformer_lens") {
    for (const auto& kv : sd) {
      const std::string k = py::str(kv.first);
      const auto ends = [&](const std::string& t) {
        return k.size() >= t.size() && k.compare(k.size() - t.size(), t.size(), t) == 0;
      };
      if (ends(".mask") || ends(".IGNORE")) continue;  // buffers, not parameters
      const py::object a = np.attr("asarray")(tensor_to_numpy(kv.second));
      const std::size_t nd = a.attr("ndim").cast<std::size_t>();
      const auto shape = [&](std::size_t i) { return a.attr("shape").cast<py::tuple>()[i].cast<long>(); };
      py::object v;
      if (k == "embed.W_E" && nd == 2) {
        v = a.attr("T");
      } else if ((ends(".attn.W_Q") || ends(".attn.W_K") || ends(".attn.W_V")) && nd == 3) {
        v = a.attr("transpose")(0, 2, 1).attr("reshape")(shape(0) * shape(2), shape(1));
      } else if (ends(".attn.W_O") && nd == 3) {
        v = a.attr("reshape")(shape(0) * shape(1), shape(2)).attr("T");
      } else if ((ends(".attn.b_Q") || ends(".attn.b_K") || ends(".attn.b_V")) && nd == 2) {
        v = a.attr("reshape")(1, shape(0) * shape(1));
      } else if ((ends(".mlp.W_in") || ends(".mlp.W_out")) && nd == 2) {
        v = a.attr("T");
      } else {
        v = a;
      }
      if (!has(k)) {
        const bool bias = ends(".b_Q") || ends(".b_K") || ends(".b_V") || ends(".b_O") || ends(".b_U") ||
                          ends(".b_in") || ends(".b_out");
        if (bias && !np.attr("any")(a).cast<bool>()) continue;  // a zero bias the model does not have
        problems.push_back("'" + k + "' has no grokscope parameter" +
                           (bias ? " (a non-zero bias: make the model with the matching *_bias option)" : ""));
        continue;
      }
      out[py::str(k)] = v;
    }
  } else {
    throw py::value_error("load_state_dict: convention must be 'grokscope', 'sequential' or 'transformer_lens', got '" +
                          convention + "'");
  }
  if (!problems.empty()) {
    std::string msg = "load_state_dict: " + std::to_string(problems.size()) + " name" +
                      (problems.size() > 1 ? "s" : "") + " of the " + convention +
                      " state dict could not be placed; nothing was loaded:";
    for (const std::string& pr : problems) msg += "\n  " + pr;
    throw py::value_error(msg);
  }
  return out;
}

void load_state_dict(PyModel& m, const py::dict& given, bool strict, const std::string& convention) {
  const py::dict sd = convert_state_dict(m, given, convention);
  m.visit([&](auto& model) {
    load_state_dict_as(model, sd, strict, m.mutex);
    return 0;
  });
}

// A run's result as Python objects: the history as one numpy array per column.
py::dict result_dict(const TrainResult& r) {
  py::dict history;
  for (const std::string& c : r.history.columns()) {
    const std::vector<double> v = r.history.column(c);
    history[py::str(c)] =
        to_numpy(Eigen::VectorXd(Eigen::Map<const Eigen::VectorXd>(v.data(), static_cast<Index>(v.size()))));
  }
  py::dict d;
  d["status"] = train_status_name(r.status);
  d["steps_done"] = r.steps_done;
  d["seconds"] = r.seconds;
  d["history"] = history;
  d["report"] = r.report ? to_python(to_json(*r.report)) : py::none();
  d["summary"] = to_python(r.summary);
  return d;
}

nlohmann::ordered_json json_arg(const py::handle& obj, const char* name) {
  if (!py::isinstance<py::dict>(obj)) throw py::type_error(std::string(name) + ": expected a dict");
  std::string text;
  try {
    text = py::str(py::module_::import("json").attr("dumps")(obj, py::arg("allow_nan") = false));
  } catch (const py::error_already_set& e) {
    throw py::value_error(std::string(name) + ": not representable as JSON: " + e.what());
  }
  return nlohmann::ordered_json::parse(text);
}

// The Python Trainer: an experiment configuration (grokscope-run's format) for one seed, an
// optional model it trains in place (else one made from the configuration), Python probes.
// Data a user brings, as a dict of arrays (the form dataset_dict returns): validated as a Dataset.
Dataset dataset_arg(const py::object& obj) {
  if (!py::isinstance<py::dict>(obj))
    throw py::type_error("Trainer: data must be a dict of arrays (tokens or features, labels or targets, train, test)");
  const py::dict d = obj.cast<py::dict>();
  for (const auto& kv : d) {
    const std::string k = py::str(kv.first);
    static const char* known[] = {"tokens",     "features",    "labels", "targets", "train", "test",
                                  "vocab_size", "num_classes", "name",   "meta",    "arrays"};
    if (std::find_if(std::begin(known), std::end(known), [&](const char* x) { return k == x; }) == std::end(known))
      throw py::value_error("Trainer: data has an unknown key '" + k +
                            "' (allowed: tokens, features, labels, targets, train, test, vocab_size, num_classes)");
  }
  Dataset ds;
  ds.name = d.contains("name") ? std::string(py::str(d["name"])) : "given";
  if (d.contains("tokens") == d.contains("features"))
    throw py::value_error("Trainer: data needs exactly one of 'tokens' (int (n, T)) and 'features' ((n, d))");
  if (d.contains("tokens")) {
    const py::object t = tensor_to_numpy(d["tokens"]);
    if (!is_integer_array(t)) throw py::type_error("data['tokens']: expected an integer array (n, T)");
    const auto a = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>::ensure(t);
    if (a.ndim() != 2) throw py::value_error("data['tokens']: expected (n, T), got " + std::to_string(a.ndim()) + "-d");
    ds.tokens.resize(a.shape(0), a.shape(1));
    Index mx = -1;
    for (py::ssize_t i = 0; i < a.shape(0); ++i)
      for (py::ssize_t j = 0; j < a.shape(1); ++j) mx = std::max<Index>(mx, ds.tokens(i, j) = a.at(i, j));
    ds.vocab_size = d.contains("vocab_size") ? d["vocab_size"].cast<Index>() : mx + 1;
  } else {
    ds.features = matrix_arg(d["features"], "data['features']");
  }
  if (d.contains("labels")) {
    ds.labels = index_arg(d["labels"], "data['labels']");
    Index mx = -1;
    for (const Index l : ds.labels) mx = std::max(mx, l);
    ds.num_classes = d.contains("num_classes") ? d["num_classes"].cast<Index>() : mx + 1;
  }
  if (d.contains("targets")) ds.targets = matrix_arg(d["targets"], "data['targets']", true);
  if (d.contains("train") != d.contains("test"))
    throw py::value_error("Trainer: data's split needs both 'train' and 'test' (or neither)");
  if (d.contains("train")) {
    ds.train = index_arg(d["train"], "data['train']");
    ds.test = index_arg(d["test"], "data['test']");
  }
  try {
    ds.validate();
  } catch (const std::exception& e) {
    throw py::value_error(std::string("Trainer: data: ") + e.what());
  }
  return ds;
}

class PyTrainer {
 public:
  PyTrainer(const py::dict& config, std::uint64_t seed, const py::object& model, const py::object& data) {
    m_config = json_arg(config, "Trainer: config");
    for (const char* key : {"seeds", "sweep"})
      if (m_config.contains(key))
        throw py::value_error(std::string("Trainer: '") + key +
                              "' is grokscope-run's; a Trainer runs one seed (the seed argument): loop in Python, "
                              "or run the config with grokscope-run");
    if (!model.is_none()) {
      if (!py::isinstance<PyModel>(model))
        throw py::type_error(
            "Trainer: model must be a grokscope Model (grokscope.Mlp, grokscope.Transformer or a "
            "trainer's .model), got " +
            std::string(py::str(py::type::of(model).attr("__name__"))));
      m_model = model.cast<PyModel>();
      if (m_config.contains("model"))
        throw py::value_error("Trainer: a model was given, so the config must not have a 'model' section");
      const std::string scalar = m_model.float32() ? "float32" : "float64";
      if (m_config.contains("scalar") && m_config["scalar"] != scalar)
        throw py::value_error("Trainer: config 'scalar' is " + m_config["scalar"].dump() + " but the model is " +
                              scalar);
      m_config["scalar"] = scalar;
      // the model section's defaults (loss, probes' heads) follow the model's kind
      m_config["model"] = {{"kind", m_model.tokens ? "transformer" : "mlp"}};
    }
    if (!data.is_none()) {
      const Dataset given = dataset_arg(data);
      m_experiment = experiment::resolve(m_config, seed, &given);
    } else {
      m_experiment = experiment::resolve(m_config, seed);
    }
    if (!model.is_none()) {
      m_experiment.resolved["model"] = m_model.visit([](auto& mm) { return mm.config(); });
      m_model.visit([&](auto& mm) {
        using S = typename std::decay_t<decltype(mm)>::Scalar;
        if (auto* t = dynamic_cast<Transformer<S>*>(&mm)) m_experiment.tf_cfg = t->transformer_config();
        if (auto* p = dynamic_cast<Mlp<S>*>(&mm)) m_experiment.mlp_cfg = p->mlp_config();
        return 0;
      });
    } else {
      m_model = m_experiment.float64 ? wrap(experiment::build_model<double>(m_experiment))
                                     : wrap(experiment::build_model<float>(m_experiment));
    }
  }

  void add_probe(const py::function& fn, Index every, const std::string& prefix) {
    if (every < 1) throw py::value_error("Trainer.add_probe: every must be >= 1, got " + std::to_string(every));
    m_probes.push_back({fn, every, prefix});
  }

  py::dict run(const std::string& out, bool progress) {
    if (m_ran)
      throw py::value_error(
          "Trainer.run: this trainer has run; make a new Trainer (pass model=trainer.model to "
          "continue training the same weights)");
    m_ran = true;
    std::optional<py::error_already_set> pending;  // a KeyboardInterrupt (or other signal error) caught between steps
    std::optional<TrainResult> res;
    // progress: a tqdm bar when tqdm is installed (tqdm.auto: a widget in a notebook), else a plain
    // line on stderr at most every 2 s
    py::object bar = py::none();
    const Index total = m_experiment.train.steps;
    if (progress) try {
        bar = py::module_::import("tqdm.auto")
                  .attr("tqdm")(py::arg("total") = total, py::arg("unit") = "step", py::arg("desc") = "grokscope");
      } catch (py::error_already_set&) {
        bar = py::none();
      }
    Index shown = 0;
    auto last_line = std::chrono::steady_clock::now() - std::chrono::seconds(10);
    const auto on_record = [&](Index step, const Record& r) {
      if (!progress) return;
      py::gil_scoped_acquire gil;
      try {
        py::dict post;
        std::string line;
        for (const auto& [k, v] : r)
          if (k == "train_acc" || k == "test_acc" || k == "train_loss" || k == "test_loss") {
            post[py::str(k)] = py::float_(v);
            line += "  " + k + " " + format_number(std::round(v * 1e4) / 1e4);
          }
        if (!bar.is_none()) {
          bar.attr("update")(step - shown);
          bar.attr("set_postfix")(post);
        } else if (std::chrono::steady_clock::now() - last_line > std::chrono::seconds(2) || step == total) {
          last_line = std::chrono::steady_clock::now();
          py::module_::import("sys").attr("stderr").attr("write")("grokscope: step " + std::to_string(step) + "/" +
                                                                  std::to_string(total) + line + "\n");
        }
        shown = step;
      } catch (py::error_already_set& e) {
        // Ctrl-C while the display ran: the signal was taken here, so the run stops at the next
        // step as from the interrupt hook; any other failure of the display does not stop the run
        if (e.matches(PyExc_KeyboardInterrupt) && !pending) pending.emplace(std::move(e));
      }
    };
    auto go = [&](auto& hooks) {
      hooks.on_record = on_record;
      using S = typename std::decay_t<decltype(*hooks.model)>::Scalar;
      for (const Probe& pr : m_probes) {
        const PyModel view = m_model;
        // The C++ side copies and destroys probes with the GIL released: they hold the callable
        // through a shared_ptr whose deleter takes the GIL, so no Python reference count changes
        // without it.
        const std::shared_ptr<py::function> fn(new py::function(pr.fn), [](py::function* f) {
          py::gil_scoped_acquire gil;
          delete f;
        });
        const std::string name =
            py::hasattr(pr.fn, "__name__") ? std::string(py::str(pr.fn.attr("__name__"))) : "probe";
        // a probe that returns one number names its column by the prefix, or else by its own name
        const std::string single = pr.prefix.empty() ? name : "";
        hooks.probes.emplace_back(
            pr.every,
            [fn, view, name, single, &pending, columns = Record{}](Model<S>&, Index step) mutable {
              py::gil_scoped_acquire gil;
              try {
                columns = probe_record((*fn)(step, view), name, single);
              } catch (py::error_already_set& e) {
                if (!e.matches(PyExc_KeyboardInterrupt)) throw;
                pending.emplace(std::move(e));  // Ctrl-C inside the probe: the run stops before the next step
                for (auto& c : columns) c.second = std::nan("");  // this evaluation has no value
              }
              return columns;
            },
            pr.prefix);
      }
      auto last = std::chrono::steady_clock::now();
      hooks.interrupt = [&pending, last]() mutable {
        if (pending) return true;
        // Python's signal handlers run only when the interpreter is asked: every 50 ms at most
        const auto now = std::chrono::steady_clock::now();
        if (now - last < std::chrono::milliseconds(50)) return false;
        last = now;
        py::gil_scoped_acquire gil;
        if (PyErr_CheckSignals() == 0) return false;
        pending.emplace();  // takes the error (KeyboardInterrupt) out of the interpreter
        return true;
      };
      const ModelGuard guard(m_model.mutex);
      res = experiment::train(m_experiment, out, &hooks);
    };
    if (m_model.float32()) {
      experiment::Hooks<float> h;
      h.model = m_model.f;
      go(h);
    } else {
      experiment::Hooks<double> h;
      h.model = m_model.d;
      go(h);
    }
    if (!bar.is_none()) bar.attr("close")();
    m_result = result_dict(*res);
    if (pending) throw *pending;  // Ctrl-C: re-raised here, the partial run is in trainer.result
    return m_result.cast<py::dict>();
  }

  const PyModel& model() const { return m_model; }
  py::object result() const { return m_result; }
  py::object resolved() const { return to_python(m_experiment.resolved); }
  py::dict dataset() const { return dataset_dict(m_experiment.data); }

 private:
  struct Probe {
    py::function fn;
    Index every;
    std::string prefix;
  };
  // A probe's return value as history columns: a dict of numbers, or one number (column `name`).
  static Record probe_record(const py::object& v, const std::string& name, const std::string& single) {
    Record r;
    auto number = [&](const py::handle& x, const std::string& col) {
      try {
        r.emplace_back(col, x.cast<double>());
      } catch (const py::cast_error&) {
        throw py::type_error("Trainer probe '" + name + "': column '" + col + "' is " +
                             std::string(py::str(py::type::of(x).attr("__name__"))) + ", not a number");
      }
    };
    if (py::isinstance<py::dict>(v)) {
      for (const auto& kv : v.cast<py::dict>()) number(kv.second, py::str(kv.first));
    } else if (v.is_none()) {
      throw py::type_error("Trainer probe '" + name + "' returned None; return a dict {column: number} or a number");
    } else {
      number(v, single);
    }
    return r;
  }

  nlohmann::ordered_json m_config;
  experiment::Experiment m_experiment;
  PyModel m_model;
  bool m_ran = false;
  std::vector<Probe> m_probes;
  py::object m_result = py::none();
};

}  // namespace

namespace grokscope_python {
void bind_curvature(py::module_& m);  // curvature.cpp
void bind_dynamics(py::module_& m);   // dynamics.cpp
}  // namespace grokscope_python

PYBIND11_MODULE(grokscope, m) {
  // an allocation refused by its estimate is a MemoryError (a std::runtime_error in C++)
  py::register_exception<MemoryLimitError>(m, "MemoryLimitError", PyExc_MemoryError).attr("__doc__") =
      "An allocation refused before it was made: its estimate exceeds the memory limit (half the physical\n"
      "memory, or GROKSCOPE_MAX_MEMORY). A MemoryError.";
  m.doc() =
      "grokscope: measurement primitives for grokking research (CKA, kernels, detectors, datasets), "
      "the C++ library's compiled engine from Python.";
  m.attr("__version__") = grokscope::version;

  // ---- CKA ----------------------------------------------------------------------------------
  py::class_<CkaResult>(m, "CkaResult", "A CKA value and how it was computed.")
      .def_readonly("value", &CkaResult::value)
      .def_property_readonly("kind", [](const CkaResult& r) { return std::string(cka_kind_name(r.kind)); })
      .def_property_readonly("method",
                             [](const CkaResult& r) { return r.method == CkaMethod::Feature ? "feature" : "gram"; })
      .def_readonly("n", &CkaResult::n)
      .def_readonly("defined", &CkaResult::defined, "False when a representation is constant (value 0)")
      .def_readonly("note", &CkaResult::note)
      .def("__float__", [](const CkaResult& r) { return r.value; })
      .def("__repr__", [](const CkaResult& r) {
        return "CkaResult(value=" + format_number(r.value) + ", kind='" + cka_kind_name(r.kind) +
               "', n=" + std::to_string(r.n) + ", defined=" + (r.defined ? "True" : "False") + ")";
      });
  m.def(
      "linear_cka",
      [](const py::handle& X, const py::handle& Y) {
        return cka_pair(X, Y, [](const auto& x, const auto& y) { return linear_cka(x, y); });
      },
      py::arg("X"), py::arg("Y"),
      "Linear CKA (Kornblith et al. 2019) between X (n, d1) and Y (n, d2), rows = examples:\n"
      "‖Ycᵀ Xc‖²_F / (‖Xcᵀ Xc‖_F ‖Ycᵀ Yc‖_F) with column-centred Xc, Yc; feature form when d < n,\n"
      "Gram form otherwise. Returns a CkaResult (float(r) is the value).");
  m.def(
      "debiased_linear_cka",
      [](const py::handle& X, const py::handle& Y) {
        return cka_pair(X, Y, [](const auto& x, const auto& y) { return debiased_linear_cka(x, y); });
      },
      py::arg("X"), py::arg("Y"),
      "Debiased linear CKA (the unbiased HSIC estimator of Song et al. 2012), X (n, d1), Y (n, d2), n >= 4.");
  m.def(
      "rbf_cka",
      [](const py::handle& X, const py::handle& Y, double threshold, bool debiased) {
        return cka_pair(X, Y, [&](const auto& x, const auto& y) { return rbf_cka(x, y, threshold, debiased); });
      },
      py::arg("X"), py::arg("Y"), py::arg("threshold") = 0.5, py::arg("debiased") = false,
      "RBF CKA with bandwidth threshold × √(median squared distance) (Kornblith et al. use 0.5).");
  m.def(
      "cka",
      [](const py::handle& X, const py::handle& Y, const std::string& kind, double threshold) {
        const CkaKind k = cka_kind(kind);
        return cka_pair(X, Y, [&](const auto& x, const auto& y) { return cka(x, y, k, threshold); });
      },
      py::arg("X"), py::arg("Y"), py::arg("kind") = "linear", py::arg("threshold") = 0.5,
      "CKA of a kind: 'linear', 'rbf' (threshold used) or 'debiased'.");

  // ---- kernels -------------------------------------------------------------------------------
  m.def(
      "centered_alignment",
      [](const py::handle& K, const py::handle& Y) {
        const Eigen::MatrixXd k = matrix_arg(K, "K"), y = matrix_arg(Y, "Y", true);
        py::gil_scoped_release unlocked;
        return centered_alignment(k, y);
      },
      py::arg("K"), py::arg("Y"),
      "Centered kernel–target alignment tr(Ycᵀ K Yc) / (‖HKH‖_F ‖Yc Ycᵀ‖_F); K (n, n), Y (n, k) or (n,).");
  m.def(
      "kumar_alignment",
      [](const py::handle& K, const py::handle& Y) {
        const Eigen::MatrixXd k = matrix_arg(K, "K"), y = matrix_arg(Y, "Y", true);
        py::gil_scoped_release unlocked;
        return kumar_alignment(k, y);
      },
      py::arg("K"), py::arg("Y"), "Kumar et al.'s NTK alignment tr(ycᵀ Kc yc) / (‖Kc‖_F ‖yc‖²), Kc column-centred.");
  m.def(
      "kernel_distance",
      [](const py::handle& K0, const py::handle& Kt) {
        const Eigen::MatrixXd a = matrix_arg(K0, "K0"), b = matrix_arg(Kt, "Kt");
        py::gil_scoped_release unlocked;
        return kernel_distance(a, b);
      },
      py::arg("K0"), py::arg("Kt"), "Kernel distance 1 − ⟨K0, Kt⟩_F / (‖K0‖_F ‖Kt‖_F) (Fort et al. 2020).");
  m.def(
      "kernel_regression",
      [](const py::handle& K_train, const py::handle& y_train, const py::handle& K_test, double ridge,
         const py::object& y_test) {
        const Eigen::MatrixXd kt = matrix_arg(K_train, "K_train"), yt = matrix_arg(y_train, "y_train", true),
                              ks = matrix_arg(K_test, "K_test");
        const Eigen::MatrixXd ys = y_test.is_none() ? Eigen::MatrixXd() : matrix_arg(y_test, "y_test", true);
        KernelRegressionResult r;
        {
          py::gil_scoped_release unlocked;
          r = kernel_regression(kt, yt, ks, ridge, ys);
        }
        py::dict d;
        d["coefficients"] = to_numpy(r.coefficients);
        d["predictions"] = to_numpy(r.predictions);
        d["solver"] = r.solver == KernelSolve::Cholesky ? "cholesky" : "pseudo_inverse";
        d["rank"] = r.rank;
        d["test_mse"] = r.test_mse;
        return d;
      },
      py::arg("K_train"), py::arg("y_train"), py::arg("K_test"), py::arg("ridge") = 0.0, py::arg("y_test") = py::none(),
      "Kernel regression a = (K_train + ridge·I)⁻¹ y_train, predictions K_test · a; K_train (n, n),\n"
      "y_train (n, k), K_test (m, n), y_test (m, k) or None. Returns a dict: coefficients, predictions,\n"
      "solver ('cholesky' or 'pseudo_inverse' when K is not positive definite), rank, test_mse.");
  m.def(
      "kernel_spectrum",
      [](const py::handle& K) {
        const Eigen::MatrixXd k = matrix_arg(K, "K");
        KernelSpectrum s;
        {
          py::gil_scoped_release unlocked;
          s = kernel_spectrum(k);
        }
        py::dict d;
        d["eigenvalues"] = to_numpy(s.eigenvalues);
        d["eigenvectors"] = to_numpy(s.eigenvectors);
        d["effective_rank"] = s.effective_rank();
        d["participation_ratio"] = s.participation_ratio();
        return d;
      },
      py::arg("K"),
      "Eigen-decomposition of a symmetric kernel (eigenvalues descending) with its effective rank\n"
      "(exp of the spectral entropy) and participation ratio (Σλ)²/Σλ².");

  // ---- detectors -----------------------------------------------------------------------------
  m.def(
      "detect_grokking",
      [](const py::handle& steps, const py::handle& train, const py::handle& test, const std::string& metric,
         std::optional<double> threshold, std::optional<double> test_threshold, bool relative, Index patience,
         double min_delay_ratio, double min_delay_steps, bool log_x, bool fit_sigmoid) {
        const std::vector<double> s = vector_arg(steps, "steps"), tr = vector_arg(train, "train"),
                                  te = vector_arg(test, "test");
        if (s.size() != tr.size() || s.size() != te.size())  // C++ reports a status; Python raises
          throw py::value_error("detect_grokking: steps, train and test have " + std::to_string(s.size()) + ", " +
                                std::to_string(tr.size()) + " and " + std::to_string(te.size()) + " entries");
        const DetectOptions o = detect_options(metric, threshold, test_threshold, relative, patience, min_delay_ratio,
                                               min_delay_steps, log_x, fit_sigmoid);
        GrokReport r;
        {
          py::gil_scoped_release unlocked;
          r = detect_grokking(s, tr, te, o);
        }
        return to_python(to_json(r));
      },
      py::arg("steps"), py::arg("train"), py::arg("test"), py::arg("metric") = "accuracy",
      py::arg("threshold") = py::none(), py::arg("test_threshold") = py::none(), py::arg("relative") = false,
      py::arg("patience") = 1, py::arg("min_delay_ratio") = 2.0, py::arg("min_delay_steps") = 0.0,
      py::arg("log_x") = false, py::arg("fit_sigmoid") = true,
      "t_mem, t_grok, the gap, the sigmoid fit of the test curve and a verdict from three 1-d arrays\n"
      "(float32/float64; NaN marks a missing record). metric 'accuracy' (reached when >= threshold,\n"
      "default 0.9) or 'loss' (<= threshold; default 0.1 of each curve's first value). Returns the\n"
      "report as a dict, with None where a quantity is undefined (e.g. t_grok of a run that never\n"
      "generalised).");
  m.def(
      "detect_grokking_csv",
      [](const std::string& path, const std::string& step, std::optional<std::string> train,
         std::optional<std::string> test, const std::string& metric, std::optional<double> threshold,
         std::optional<double> test_threshold) {
        const DetectOptions o = detect_options(metric, threshold, test_threshold, false, 1, 2.0, 0.0, false, true);
        const bool loss = o.metric == GrokMetric::Loss;
        const std::string trc = train.value_or(loss ? "train_loss" : "train_acc"),
                          tec = test.value_or(loss ? "test_loss" : "test_acc");
        GrokReport r;
        {
          py::gil_scoped_release unlocked;
          const CsvTable t = read_csv(path);
          r = detect_grokking(t.numeric(step), t.numeric(trc), t.numeric(tec), o);
        }
        return to_python(to_json(r));
      },
      py::arg("path"), py::arg("step") = "step", py::arg("train") = py::none(), py::arg("test") = py::none(),
      py::arg("metric") = "accuracy", py::arg("threshold") = py::none(), py::arg("test_threshold") = py::none(),
      "detect_grokking on the columns of a CSV log (a header row; any framework's), by name.");

  // ---- datasets ------------------------------------------------------------------------------
  m.def(
      "modular_dataset",
      [](const std::string& op, Index p, const std::string& encoding, const std::string& split, double fraction,
         std::uint64_t seed) {
        ModularOptions o;
        o.op = mod_op_from_name(op);
        o.p = p;
        if (encoding == "nanda_tokens")
          o.encoding = ModEncoding::NandaTokens;
        else if (encoding == "pair_indices")
          o.encoding = ModEncoding::PairIndices;
        else if (encoding == "op_tokens")
          o.encoding = ModEncoding::OpTokens;
        else
          throw py::value_error(
              "modular_dataset: encoding must be 'nanda_tokens', 'pair_indices' or 'op_tokens', got '" + encoding +
              "'");
        Dataset ds = modular_dataset(o);
        if (split == "nanda")
          apply_split(ds, nanda_split(ds, fraction, seed), "nanda");
        else if (split == "random") {
          Rng r = Rng(seed).fork(1);  // as the flagship: the split of seed s
          apply_split(ds, split_by_fraction(ds.size(), fraction, r), "random");
        } else if (split == "power") {
          if (!(fraction > 0 && fraction < 1))
            throw py::value_error("modular_dataset: fraction must be in (0, 1), got " + format_number(fraction));
          apply_split(ds, power_split(ds, 100.0 * fraction, static_cast<std::uint32_t>(seed)), "power");
        } else if (split != "none")
          throw py::value_error("modular_dataset: split must be 'nanda', 'power', 'random' or 'none', got '" + split +
                                "'");
        return dataset_dict(ds);
      },
      py::arg("op") = "add", py::arg("p") = 97, py::arg("encoding") = "nanda_tokens", py::arg("split") = "none",
      py::arg("fraction") = 0.3, py::arg("seed") = 0,
      "Every equation a ∘ b = c (mod p) of one of Power et al.'s operations ('add', 'sub', 'mul',\n"
      "'div', 'squarepoly', ...) as int64 arrays: tokens (n, T) — [a, b, =] for 'nanda_tokens',\n"
      "[a, p + b] for 'pair_indices', [a, op, b, =] for 'op_tokens' — labels (n,), and with split\n"
      "'nanda' (Nanda et al.'s exact split of `fraction`), 'power' (Power et al.'s exact split of\n"
      "100·fraction percent, seed as their --random_seed) or 'random' the train / test row indices.");

  // ---- models and the NTK ------------------------------------------------------------------
  py::class_<PyModel>(m, "Model",
                      "A grokscope model (Mlp or Transformer): float64 when made from Python unless dtype='float32'\n"
                      "is given, the configured scalar (float32 by default) when a Trainer made it.")
      .def_property_readonly(
          "config", [](const PyModel& pm) { return to_python(pm.visit([](auto& mm) { return mm.config(); })); })
      .def_property_readonly("num_parameters",
                             [](const PyModel& pm) { return pm.visit([](auto& mm) { return mm.num_parameters(); }); })
      .def_property_readonly("dtype", [](const PyModel& pm) { return pm.float32() ? "float32" : "float64"; })
      .def("state_dict", &state_dict, "Every parameter by grokscope's name, as arrays of the model's dtype (copies).")
      .def("load_state_dict", &load_state_dict, py::arg("state_dict"), py::arg("strict") = true,
           py::arg("convention") = "grokscope",
           "Loads arrays (numpy, or torch tensors) by grokscope's names and shapes (a 1-d array fills a\n"
           "(1, n) bias), or with convention='sequential' (an nn.Sequential MLP's '<i>.weight', '<i>.bias')\n"
           "or 'transformer_lens' (a HookedTransformer's names and layouts, transposed and reshaped as\n"
           "docs/python.md's table says). Every missing, unexpected, mis-shaped or non-finite entry is\n"
           "listed in one ValueError and nothing is loaded; a transposed layout is named as such. A centered\n"
           "model keeps its θ₀ (see recenter).")
      .def(
          "recenter",
          [](PyModel& pm) {
            pm.visit([](auto& mm) {
              using S = typename std::decay_t<decltype(mm)>::Scalar;
              if (auto* p = dynamic_cast<Mlp<S>*>(&mm)) p->recenter();
              if (auto* t = dynamic_cast<Transformer<S>*>(&mm)) t->recenter();
              return 0;
            });
          },
          "A centered model outputs f(θ) − f(θ₀) with θ₀ its weights at construction; recenter() re-takes θ₀\n"
          "from the current weights. To measure a centered model trained elsewhere: load its initial\n"
          "weights, recenter(), then load the trained ones.")
      .def_property_readonly("capture_sites",
                             [](const PyModel& pm) { return pm.visit([](auto& mm) { return mm.capture_sites(); }); })
      .def(
          "run_with_cache",
          [](PyModel& pm, const py::handle& inputs, const std::vector<std::string>& names) {
            return pm.visit([&](auto& mm) {
              using S = typename std::decay_t<decltype(mm)>::Scalar;
              const ModelInput<S> in = model_input<S>(pm, inputs, "inputs");
              ActivationCache<S> cache;
              {
                const ModelGuard guard(pm.mutex);
                cache = mm.run_with_cache(in, CaptureFilter{names});
              }
              py::dict d;
              for (const auto& [site, v] : cache.entries()) d[py::str(site)] = to_numpy_of(v);
              return d;
            });
          },
          py::arg("inputs"), py::arg("names") = std::vector<std::string>{},
          "One forward pass keeping the named activations (TransformerLens's run_with_cache): a dict\n"
          "{site: array} in forward order. names: exact sites or prefixes ending in '*' ('blocks.0.*');\n"
          "empty keeps every site (capture_sites lists them; the README gives their shapes).")
      .def(
          "__call__",
          [](PyModel& pm, const py::handle& inputs) {
            return pm.visit([&](auto& mm) {
              using S = typename std::decay_t<decltype(mm)>::Scalar;
              const ModelInput<S> in = model_input<S>(pm, inputs, "inputs");
              Matrix<S> out;
              {
                const ModelGuard guard(pm.mutex);
                Tape<S> t;
                out = mm.forward(t, in).value();
              }
              return to_numpy_of(out);
            });
          },
          py::arg("inputs"),
          "The outputs (n, k) in the model's dtype: inputs are rows (n, d) for an Mlp, int token ids (n, T)\n"
          "for a Transformer.");
  m.def(
      "Mlp",
      [](const py::dict& config, const std::string& dtype) {
        return make_model<Mlp>(mlp_config(config), dtype, "Mlp");
      },
      py::arg("config"), py::arg("dtype") = "float64",
      "An MLP from a dict of MlpConfig's fields (input, hidden, output, activation, bias, readout_bias,\n"
      "parameterization, init_std, init_scale, output_scale, centered, epsilon, fixed_readout, seed),\n"
      "in dtype 'float64' (default) or 'float32' (what a Trainer trains by default).\n"
      "Layers are layers.<i>.weight (out, in) and layers.<i>.bias (1, out), PyTorch's nn.Linear layout.");
  m.def(
      "Transformer",
      [](const py::dict& config, const std::string& dtype) {
        return make_model<Transformer>(transformer_config(config), dtype, "Transformer");
      },
      py::arg("config"), py::arg("dtype") = "float64",
      "A decoder-only transformer from a dict of TransformerConfig's fields, in dtype 'float64' (default)\n"
      "or 'float32'; {'nanda2023': p} starts from\n"
      "Nanda et al.'s preset (p + 1 logits; add 'output': p for TransformerLens's d_vocab_out).");
  m.def(
      "mlp_preset",
      [](const std::string& name, Index p, Index width, Index n, Index D, double epsilon, double alpha, bool centered,
         std::uint64_t seed) {
        MlpConfig c;
        if (name == "gromov")
          c = MlpConfig::gromov(p, width, seed);
        else if (name == "merrill")
          c = MlpConfig::merrill(n, width, seed);
        else if (name == "kumar")
          c = MlpConfig::kumar(D, width, epsilon, alpha, centered, seed);
        else
          throw py::value_error("mlp_preset: name must be 'gromov', 'merrill' or 'kumar', got '" + name + "'");
        return to_python(Mlp<double>(c).config());
      },
      py::arg("name"), py::arg("p") = 59, py::arg("width") = 512, py::arg("n") = 40, py::arg("D") = 100,
      py::arg("epsilon") = 0.02, py::arg("alpha") = 1.0, py::arg("centered") = true, py::arg("seed") = 0,
      "The config dict of a published MLP, for grokscope.Mlp: 'gromov' (p, width: the flagship's\n"
      "quadratic MLP on one-hot pairs), 'merrill' (n, width: sparse parity), 'kumar' (D, width = N,\n"
      "epsilon, alpha, centered: the committee machine, readout fixed to ones).");
  m.def(
      "transformer_preset",
      [](const std::string& name, Index p, std::uint64_t seed) {
        if (name != "nanda2023" && name != "power2022")
          throw py::value_error("transformer_preset: name must be 'nanda2023' or 'power2022', got '" + name + "'");
        const TransformerConfig c =
            name == "nanda2023" ? TransformerConfig::nanda2023(p, seed) : TransformerConfig::power2022(p, seed);
        return to_python(Transformer<double>(c).config());
      },
      py::arg("name"), py::arg("p") = 113, py::arg("seed") = 0,
      "The config dict of a published transformer for modular arithmetic mod p, for\n"
      "grokscope.Transformer: 'nanda2023' (one layer, d_model 128, 4 heads, ReLU MLP 512, no layer\n"
      "norm) or 'power2022' (two layers, d_model 128, 4 heads, layer norm).");
  m.def(
      "empirical_ntk",
      [](PyModel& pm, const py::handle& X, const py::object& X2, const std::string& output, Index output_index,
         const std::vector<std::string>& parameters, const std::string& method, bool diagonal, Index block_examples,
         std::size_t max_bytes, const std::string& precision) {
        NtkOptions o;
        o.precision =
            choice_arg<NtkPrecision>(precision, "empirical_ntk", "precision",
                                     {{"double", NtkPrecision::Double}, {"model", NtkPrecision::ModelScalar}});
        o.output = choice_arg<NtkOutput>(
            output, "empirical_ntk", "output",
            {{"trace", NtkOutput::Trace}, {"full", NtkOutput::Full}, {"single", NtkOutput::Single}});
        o.method = choice_arg<NtkMethod>(
            method, "empirical_ntk", "method",
            {{"structured", NtkMethod::Structured}, {"jacobian", NtkMethod::JacobianContraction}});
        o.output_index = output_index;
        o.diagonal = diagonal, o.block_examples = block_examples, o.max_bytes = max_bytes;
        o.parameters = parameters;
        const Eigen::MatrixXd K = pm.visit([&](auto& mm) {
          using S = typename std::decay_t<decltype(mm)>::Scalar;
          const ModelInput<S> a = model_input<S>(pm, X, "X");
          if (X2.is_none()) {
            const ModelGuard guard(pm.mutex);
            return Eigen::MatrixXd(empirical_ntk(mm, a, o));
          }
          const ModelInput<S> b = model_input<S>(pm, X2, "X2");
          const ModelGuard guard(pm.mutex);
          return Eigen::MatrixXd(empirical_ntk(mm, a, b, o));
        });
        return to_numpy(K);
      },
      py::arg("model"), py::arg("X"), py::arg("X2") = py::none(), py::arg("output") = "trace",
      py::arg("output_index") = 0, py::arg("parameters") = std::vector<std::string>{}, py::arg("method") = "structured",
      py::arg("diagonal") = false, py::arg("block_examples") = 1024, py::arg("max_bytes") = 0,
      py::arg("precision") = "double",
      "Empirical NTK K(x, x') = Σ_θ ∂f(x)/∂θ · ∂f(x')/∂θ of a grokscope model (Grams in double, or with\n"
      "precision='model' in a float32 model's float32, combined in double: about 1e-7 relative error):\n"
      "output 'trace' (n, n) sums over outputs, 'full' (n·k, n·k) with row i·k + a for input i, output a,\n"
      "'single' the kernel of one output. X2 gives the cross kernel (n, m). parameters: names (default\n"
      "every trainable one). diagonal: only K(i, i), (n, 1) (or (n·k, 1) for 'full'). The structured\n"
      "method never forms per-example gradients; 'jacobian' contracts per-example Jacobians (the\n"
      "reference). block_examples: rows per Gram block; max_bytes: refuse above this estimated peak\n"
      "(0: half the physical memory or GROKSCOPE_MAX_MEMORY).");

  m.def(
      "permutation_dataset",
      [](Index n, const std::string& op) {
        if (op != "compose" && op != "conjugate" && op != "xyx")
          throw py::value_error("permutation_dataset: op must be 'compose', 'conjugate' or 'xyx', got '" + op + "'");
        const PermOp o = op == "compose" ? PermOp::Compose : op == "conjugate" ? PermOp::Conjugate : PermOp::XYX;
        return dataset_dict(permutation_dataset(n, o));
      },
      py::arg("n") = 5, py::arg("op") = "compose",
      "Every product x·y (or x·y·x⁻¹, x·y·x) of S_n (n <= 6) as tokens [x, y] and labels; no split.");
  m.def(
      "dihedral_dataset", [](Index n) { return dataset_dict(dihedral_dataset(n)); }, py::arg("n") = 12,
      "Every composition in the dihedral group D_n as tokens [x, y] and labels; no split.");
  m.def(
      "sparse_parity",
      [](Index n, Index k, Index n_train, Index n_test, std::uint64_t train_seed, std::uint64_t test_seed) {
        ParityOptions o;
        o.n = n, o.k = k, o.n_train = n_train, o.n_test = n_test, o.train_seed = train_seed, o.test_seed = test_seed;
        return dataset_dict(sparse_parity(o));
      },
      py::arg("n") = 40, py::arg("k") = 3, py::arg("n_train") = 1000, py::arg("n_test") = 100,
      py::arg("train_seed") = 0, py::arg("test_seed") = 2001,
      "Sparse (n, k)-parity: features in {-1, +1}, targets ±1 (the product of the first k bits), with\n"
      "its train and test rows.");
  m.def(
      "kumar_polynomial",
      [](Index D, Index n_train, Index n_test, double epsilon, const std::string& convention, std::uint64_t seed) {
        KumarOptions o;
        o.D = D, o.n_train = n_train, o.n_test = n_test, o.epsilon = epsilon, o.seed = seed;
        if (convention != "A" && convention != "B")
          throw py::value_error("kumar_polynomial: convention must be 'A' or 'B', got '" + convention + "'");
        o.convention = convention == "A" ? KumarConvention::A : KumarConvention::B;
        return dataset_dict(kumar_polynomial(o));
      },
      py::arg("D") = 100, py::arg("n_train") = 550, py::arg("n_test") = 1000, py::arg("epsilon") = 0.02,
      py::arg("convention") = "A", py::arg("seed") = 0,
      "Kumar et al.'s quadratic regression task (both conventions) with its train and test rows.");
  m.def(
      "fashion_mnist",
      [](Index n_train, Index n_test, Index train_per_class, std::uint64_t seed, const std::string& dir) {
        IdxOptions o;
        o.n_train = n_train, o.n_test = n_test, o.train_per_class = train_per_class, o.seed = seed;
        return dataset_dict(fashion_mnist(o, dir.empty() ? fashion_mnist_dir() : dir));
      },
      py::arg("n_train") = -1, py::arg("n_test") = -1, py::arg("train_per_class") = -1, py::arg("seed") = 0,
      py::arg("dir") = "",
      "Fashion-MNIST from Debian's dataset-fashion-mnist package (or IDX files in `dir`): features\n"
      "(n, 784) in [0, 1], labels, train rows first.");

  m.def(
      "idx_classification",
      [](const std::string& train_images, const std::string& train_labels, const std::string& test_images,
         const std::string& test_labels, Index n_train, Index n_test, Index train_per_class, bool scale01,
         std::uint64_t seed) {
        IdxOptions o;
        o.n_train = n_train, o.n_test = n_test, o.train_per_class = train_per_class, o.scale01 = scale01, o.seed = seed;
        Dataset ds;
        {
          py::gil_scoped_release unlocked;
          ds = idx_classification(train_images, train_labels, test_images, test_labels, o);
        }
        return dataset_dict(ds);
      },
      py::arg("train_images"), py::arg("train_labels"), py::arg("test_images"), py::arg("test_labels"),
      py::arg("n_train") = -1, py::arg("n_test") = -1, py::arg("train_per_class") = -1, py::arg("scale01") = true,
      py::arg("seed") = 0,
      "A classification dataset from any IDX image and label files (MNIST's format; gzip not\n"
      "accepted): features (n, pixels) flattened, in [0, 1] with scale01, labels, the files' own split\n"
      "(train rows first). Corrupt or truncated files raise with the file and the problem named.");

  // ---- Fourier measures (Nanda et al.) and weight statistics ---------------------------------
  m.def(
      "fourier_basis", [](Index p) { return to_numpy(fourier_basis(p)); }, py::arg("p"),
      "Nanda et al.'s Fourier basis over Z_p (p odd >= 3): p x p, orthonormal rows const, cos_1, sin_1, ...");
  m.def(
      "restricted_loss",
      [](const py::handle& L, const py::handle& labels, const std::vector<Index>& key_freqs, const py::handle& rows) {
        const Eigen::MatrixXd l = matrix_arg(L, "L");
        const IndexList y = index_arg(labels, "labels"), r = index_arg(rows, "rows");
        py::gil_scoped_release unlocked;
        return restricted_loss(l, y, key_freqs, r);
      },
      py::arg("L"), py::arg("labels"), py::arg("key_freqs"), py::arg("rows"),
      "Restricted loss (Nanda et al. §5.1): cross-entropy on `rows` of the grid logits L (p², k; row\n"
      "a·p + b) projected on the key frequencies' cos/sin(w_k(a + b)) directions, plus the grid mean.");
  m.def(
      "excluded_loss",
      [](const py::handle& L, const py::handle& labels, const std::vector<Index>& freqs, const py::handle& rows) {
        const Eigen::MatrixXd l = matrix_arg(L, "L");
        const IndexList y = index_arg(labels, "labels"), r = index_arg(rows, "rows");
        py::gil_scoped_release unlocked;
        return excluded_loss(l, y, freqs, r);
      },
      py::arg("L"), py::arg("labels"), py::arg("freqs"), py::arg("rows"),
      "Excluded loss (Nanda et al. §5.1): cross-entropy on `rows` with those frequencies removed.");
  m.def(
      "key_frequencies",
      [](const py::handle& acts) {
        const Eigen::MatrixXd a = matrix_arg(acts, "activations");
        KeyFrequencies k;
        {
          py::gil_scoped_release unlocked;
          k = key_frequencies(a);
        }
        py::dict d;
        d["frequencies"] = k.frequencies;
        d["neuron_frequency"] = to_numpy(k.neuron_frequency);
        d["explained"] = to_numpy(k.explained);
        return d;
      },
      py::arg("activations"),
      "Each neuron's key frequency from its activations over the p² grid (p², neurons), as Nanda et\n"
      "al.'s code assigns it, with the share of the neuron's squared mass it explains.");
  m.def(
      "fourier_component_norms",
      [](const py::handle& M, bool per_frequency) {
        return to_numpy(fourier_component_norms(matrix_arg(M, "M"), per_frequency));
      },
      py::arg("M"), py::arg("per_frequency") = false,
      "Norms of the Fourier components of M (p, m) along its rows; their squares sum to ‖M‖²_F.");
  m.def(
      "gini", [](const py::handle& c) { return gini(Eigen::VectorXd(matrix_arg(c, "c", true).col(0))); }, py::arg("c"),
      "Gini coefficient of non-negative values (0 when equal, towards 1 when concentrated).");
  m.def(
      "inverse_participation_ratio",
      [](const py::handle& w, int r) {
        return inverse_participation_ratio(Eigen::VectorXd(matrix_arg(w, "w", true).col(0)), r);
      },
      py::arg("w"), py::arg("r") = 2, "Gromov's inverse participation ratio of a weight vector's rFFT magnitudes.");
  m.def(
      "representation_quality_index",
      [](const py::handle& E, double threshold) { return representation_quality_index(matrix_arg(E, "E"), threshold); },
      py::arg("E"), py::arg("threshold") = 0.01, "Liu et al.'s RQI of embeddings E (values, dims) for addition.");

  // ---- weight statistics, Kumar et al.'s decomposition, effective sparsity ----------------------
  m.def(
      "parameter_norms",
      [](const PyModel& pm) {
        const ParameterNorms n = pm.visit([](auto& mm) { return parameter_norms(mm.parameters()); });
        py::dict per;
        for (const auto& [name, v] : n.per_parameter) per[py::str(name)] = v;
        py::dict d;
        d["total"] = n.total;
        d["per_parameter"] = per;
        return d;
      },
      py::arg("model"), "‖θ‖₂ over every parameter ('total') and per parameter, accumulated in double.");
  m.def(
      "relative_movement",
      [](const PyModel& pm, const py::dict& initial) {
        return pm.visit([&](auto& mm) {
          using S = typename std::decay_t<decltype(mm)>::Scalar;
          std::vector<Matrix<S>> init;
          for (const auto* p : mm.parameters()) {
            if (!initial.contains(p->name))
              throw py::value_error("relative_movement: the initial state has no '" + p->name + "'");
            init.push_back(matrix_arg(initial[py::str(p->name)], p->name.c_str(), true).template cast<S>());
            if (init.back().rows() != p->rows() && init.back().cols() == 1 && init.back().rows() == p->cols())
              init.back() = init.back().transpose().eval();  // a 1-d bias
          }
          return relative_movement(mm.parameters(), init);
        });
      },
      py::arg("model"), py::arg("initial"),
      "‖θ − θ₀‖ / ‖θ₀‖ over every parameter (Kumar et al. App. 8.2); initial: a state_dict taken earlier.");
  m.def(
      "neuron_norms", [](const py::handle& W) { return to_numpy(neuron_norms<double>(matrix_arg(W, "W"))); },
      py::arg("W"), "Norm of every row of a weight (out, in): each neuron's incoming weights.");
  m.def(
      "compressed_size",
      [](const PyModel& pm, int levels) {
        return pm.visit([&](auto& mm) { return compressed_size(mm.parameters(), levels); });
      },
      py::arg("model"), py::arg("levels") = 256,
      "Bytes of the weights quantised to `levels` levels per parameter and zlib-compressed (level 9):\n"
      "a description-length proxy, comparable across checkpoints of one model.");
  m.def(
      "kumar_decomposition",
      [](const py::handle& W_or_model, const py::handle& beta, std::optional<double> alpha,
         std::optional<double> epsilon, double c, const py::object& W0) {
        Eigen::MatrixXd W;
        if (py::isinstance<PyModel>(W_or_model)) {
          const PyModel& pm = W_or_model.cast<const PyModel&>();
          const nlohmann::ordered_json cfg = pm.visit([](auto& mm) { return mm.config(); });
          W = pm.visit(
              [](auto& mm) { return Eigen::MatrixXd(mm.parameter("layers.0.weight").value.template cast<double>()); });
          if (!alpha) alpha = cfg.value("output_scale", 1.0);
          if (!epsilon) epsilon = cfg.value("epsilon", 0.0);
          if (cfg.value("centered", false) && W0.is_none())
            throw py::value_error(
                "kumar_decomposition: the model is centered (f(θ) − f(θ₀)): pass W0, its initial layers.0.weight");
        } else {
          W = matrix_arg(W_or_model, "W");
          if (!alpha || !epsilon) throw py::value_error("kumar_decomposition: with an array W, give alpha and epsilon");
        }
        const Eigen::MatrixXd b = matrix_arg(beta, "beta", true);
        const Eigen::MatrixXd w0 = W0.is_none() ? Eigen::MatrixXd() : matrix_arg(W0, "W0");
        const KumarDecomposition k = kumar_decomposition(W, b, *alpha, *epsilon, c, w0);
        py::dict d;
        d["variance"] = k.variance, d["misalignment"] = k.misalignment, d["linear_power"] = k.linear_power;
        d["total"] = k.total, d["trace_M"] = k.trace_M, d["mean_norm"] = k.mean_norm;
        return d;
      },
      py::arg("W"), py::arg("beta"), py::arg("alpha") = py::none(), py::arg("epsilon") = py::none(), py::arg("c") = 0.5,
      py::arg("W0") = py::none(),
      "Kumar et al.'s (2024, eq. 6) exact population test loss of f(x) = (α/N) Σ φ(wᵢ·x), φ(h) = h + (ε/2)h²,\n"
      "on the target c(β·x)², as variance + misalignment + linear_power (and the total). W: hidden weights\n"
      "(N, D) or a Kumar Mlp (its layers.0.weight, output_scale and epsilon); W0: initial weights for a\n"
      "centered predictor. beta: the dataset's arrays['beta'].");
  m.def(
      "effective_sparsity",
      [](const PyModel& pm, const py::handle& X, const py::handle& labels, const std::string& hidden,
         const std::string& readout) {
        const IndexList y = index_arg(labels, "labels");
        const EffectiveSparsity e = pm.visit([&](auto& mm) {
          using S = typename std::decay_t<decltype(mm)>::Scalar;
          const ModelInput<S> in = model_input<S>(pm, X, "X");
          const ModelGuard guard(pm.mutex);
          return effective_sparsity(mm, in, y, hidden, readout);
        });
        py::dict d;
        d["k"] = e.k, d["width"] = e.width, d["accuracy"] = e.accuracy;
        d["accuracy_at"] = to_numpy(Eigen::VectorXd(
            Eigen::Map<const Eigen::VectorXd>(e.accuracy_at.data(), static_cast<Index>(e.accuracy_at.size()))));
        return d;
      },
      py::arg("model"), py::arg("X"), py::arg("labels"), py::arg("hidden") = "layers.0.weight",
      py::arg("readout") = "layers.1.weight",
      "Merrill et al.'s (2023) effective sparsity: neurons ranked by incoming-weight norm, k the smallest\n"
      "top-k subnetwork with the full network's accuracy on X (labels: class ids, or ±1 for one output);\n"
      "accuracy_at[k] for k = 0 .. width.");

  // ---- mechanistic analyses (Nanda et al.; TransformerLens) ----------------------------------
  m.def(
      "logit_lens",
      [](const PyModel& pm, const py::handle& inputs, const std::string& site) {
        return to_numpy(with_transformer_cache(pm, inputs, "logit_lens", [&](auto& t, const auto& cache) {
          return Eigen::MatrixXd(logit_lens(t, cache, site));
        }));
      },
      py::arg("model"), py::arg("inputs"), py::arg("site"),
      "A residual-stream site (hook_embed, blocks.<l>.hook_resid_pre / mid / post) at the final position\n"
      "read out through the final layer norm (pre-LN), W_U, b_U and the output scale: (n, outputs).");
  m.def(
      "direct_logit_attribution",
      [](const PyModel& pm, const py::handle& inputs, const py::handle& labels) {
        const IndexList y = index_arg(labels, "labels");
        const LogitAttribution a =
            with_transformer_cache(pm, inputs, "direct_logit_attribution",
                                   [&](auto& t, const auto& cache) { return direct_logit_attribution(t, cache, y); });
        py::dict d;
        d["components"] = a.components;
        d["contributions"] = to_numpy(a.contributions);
        d["logit"] = to_numpy(a.logit);
        return d;
      },
      py::arg("model"), py::arg("inputs"), py::arg("labels"),
      "Each component's contribution (embed, pos_embed, every block's attn and mlp, bias) to the logit of\n"
      "each example's label at the final position; the columns sum to the logit exactly (the final\n"
      "layer norm's scale frozen for pre-LN models; post-LN and centered models are refused).");
  m.def(
      "grid_spectrum",
      [](const py::handle& values) {
        const GridSpectrum g = grid_spectrum(matrix_arg(values, "values", true));
        py::dict d;
        d["share"] = to_numpy(g.share);
        d["dominant"] = py::make_tuple(g.dominant_a, g.dominant_b);
        d["dominant_share"] = g.dominant_share;
        d["per_frequency"] = to_numpy(g.per_frequency);
        return d;
      },
      py::arg("values"),
      "2-D Fourier spectrum of values over the (a, b) grid ((p²,) or (p², m), row a·p + b), centred and\n"
      "summed over columns: share[k_a, k_b] of the squared mass (0 = constant), the dominant pair, and\n"
      "per_frequency[k], the share of terms involving frequency k.");
  m.def(
      "neuron_clusters",
      [](const py::handle& activations) {
        const NeuronClusters c = neuron_clusters(matrix_arg(activations, "activations"));
        py::list clusters;
        for (std::size_t i = 0; i < c.frequencies.size(); ++i) {
          py::dict k;
          k["frequency"] = c.frequencies[i];
          k["neurons"] = to_numpy(c.neurons[i]);
          k["explained"] = c.explained[i];
          clusters.append(k);
        }
        py::dict d;
        d["clusters"] = clusters;
        d["fraction_explained"] = c.fraction_explained;
        return d;
      },
      py::arg("activations"),
      "MLP neurons (activations (p², neurons) over the grid) grouped by key frequency, largest group\n"
      "first, with the share of the layer's centred variance each neuron's own frequency explains.");

  // ---- multi-seed summaries and tables ---------------------------------------------------------
  m.def(
      "aggregate_reports",
      [](const py::list& reports) {
        std::vector<GrokReport> rs;
        const auto opt = [](const py::dict& d, const char* k) -> std::optional<double> {
          if (!d.contains(k) || d[k].is_none()) return std::nullopt;
          return d[k].cast<double>();
        };
        for (std::size_t i = 0; i < reports.size(); ++i) {
          if (!py::isinstance<py::dict>(reports[i]))
            throw py::type_error("aggregate_reports: entry " + std::to_string(i) +
                                 " is not a report dict (detect_grokking's, or a run's 'report')");
          const py::dict d = reports[i].cast<py::dict>();
          if (!d.contains("verdict"))
            throw py::value_error("aggregate_reports: entry " + std::to_string(i) + " has no 'verdict'");
          GrokReport r;
          const std::string v = py::str(d["verdict"]);
          bool known = false;
          for (GrokVerdict g :
               {GrokVerdict::Grokked, GrokVerdict::NoDelay, GrokVerdict::MemorizedOnly, GrokVerdict::Partial,
                GrokVerdict::Ungrokked, GrokVerdict::NotFit, GrokVerdict::Undetermined})
            if (v == verdict_name(g)) r.verdict = g, known = true;
          if (!known)
            throw py::value_error("aggregate_reports: entry " + std::to_string(i) + ": unknown verdict '" + v + "'");
          r.t_mem = opt(d, "t_mem"), r.t_grok = opt(d, "t_grok"), r.gap = opt(d, "gap");
          rs.push_back(r);
        }
        return to_python(to_json(aggregate_reports(rs)));
      },
      py::arg("reports"),
      "Median and quartiles (NumPy's linear method) of t_mem, t_grok and the gap over the runs where\n"
      "each is defined, and the count of every verdict (runs that never grokked are counted, not dropped).");
  m.def(
      "history_frame",
      [](const py::object& history) {
        py::object h = history;
        if (py::isinstance<py::dict>(h) && h.cast<py::dict>().contains("history")) h = h["history"];
        py::module_ pd;
        try {
          pd = py::module_::import("pandas");
        } catch (const py::error_already_set&) {
          throw py::import_error(
              "history_frame needs pandas (Debian: python3-pandas); the history is a dict of numpy arrays without it");
        }
        return pd.attr("DataFrame")(h);
      },
      py::arg("history"), "A run's history (or its result dict) as a pandas DataFrame; pandas is imported only here.");

  // ---- training -------------------------------------------------------------------------------
  py::class_<PyTrainer>(
      m, "Trainer",
      "One seed of an experiment described as grokscope-run describes it (a dict: task, split, model,\n"
      "loss, scalar, optimizer, filters, schedule, train, probes, detect; README 'Experiments as JSON'),\n"
      "every key validated (ValueError naming the key and the allowed values). model: a grokscope Model\n"
      "to train in place (e.g. one loaded from a PyTorch state dict; the config then has no 'model'\n"
      "section), else one is made from the config. data: your own data instead of the config's task, a\n"
      "dict with 'tokens' (int (n, T), and 'vocab_size') or 'features' (n, d), 'labels' (int (n,), and\n"
      "'num_classes') and/or 'targets' (n, k), and optionally the split 'train' and 'test' (index arrays;\n"
      "without them the config's split makes one); modular_dataset's dicts have this form. The run is C++\n"
      "with the GIL released; Python probes\n"
      "(add_probe) take the GIL only while they run; Ctrl-C stops the run between steps.")
      .def(py::init<const py::dict&, std::uint64_t, const py::object&, const py::object&>(), py::arg("config"),
           py::arg("seed") = 0, py::arg("model") = py::none(), py::arg("data") = py::none())
      .def("add_probe", &PyTrainer::add_probe, py::arg("fn"), py::arg("every") = 100, py::arg("prefix") = "",
           "Calls fn(step, model) at the evaluation steps that are multiples of `every`; it returns a dict\n"
           "{column: number} or one number (the column is `prefix`, else fn.__name__). `prefix` goes before\n"
           "each column name. Columns are NaN at evaluations where the probe did not run.")
      .def("run", &PyTrainer::run, py::arg("out") = "", py::arg("progress") = true,
           "Trains and returns a dict: status ('completed', 'stopped', 'diverged', 'interrupted'),\n"
           "steps_done, seconds, history (one numpy array per column), report (the detector's) and summary;\n"
           "with `out` the run folder (history.csv, summary.json, split) is written as well. Ctrl-C ends the\n"
           "run between steps and raises KeyboardInterrupt; the partial run is then in trainer.result.\n"
           "progress: a tqdm bar (a widget in a notebook) when tqdm is installed, else a line on stderr every\n"
           "2 s; progress=False is silent.")
      .def_property_readonly("model", &PyTrainer::model, "The model being trained (shared, not a copy).")
      .def_property_readonly("result", &PyTrainer::result, "The last run's dict (None before run).")
      .def_property_readonly("resolved", &PyTrainer::resolved,
                             "The configuration with every default filled in (as grokscope-run --print-config).")
      .def_property_readonly("dataset", &PyTrainer::dataset,
                             "The task's data and split, as modular_dataset returns it.");
  m.def(
      "run_experiment",
      [](const py::dict& config, const std::string& out, std::uint64_t seed, bool progress) {
        PyTrainer t(config, seed, py::none(), py::none());
        return t.run(out, progress);
      },
      py::arg("config"), py::arg("out") = "", py::arg("seed") = 0, py::arg("progress") = true,
      "Trainer(config, seed).run(out, progress): one seed of a grokscope-run configuration, its result dict.");

  grokscope_python::bind_curvature(m);
  grokscope_python::bind_dynamics(m);
}
