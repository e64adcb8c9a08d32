// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// Python bindings of the models (Mlp, Transformer: configs, state dicts from grokscope, nn.Sequential
// and TransformerLens), the empirical NTK, and the mechanistic analyses on a model's activations.
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

namespace grokscope_python {

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

template PyModel wrap<float>(std::shared_ptr<Model<float>> m);
template PyModel wrap<double>(std::shared_ptr<Model<double>> m);

void bind_models(py::module_& m) {
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
}

}  // namespace grokscope_python
