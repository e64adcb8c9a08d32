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
#include <grokscope/measure/cka.hpp>
#include <grokscope/measure/fourier.hpp>
#include <grokscope/measure/kernel.hpp>
#include <grokscope/measure/ntk.hpp>
#include <grokscope/nn/mlp.hpp>
#include <grokscope/nn/transformer.hpp>

#include "experiment.hpp"  // tools/experiment.hpp: grokscope-run's configuration format

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace py = pybind11;
using namespace grokscope;

namespace {

// A float32/float64 numpy array of rank 2 (or 1 when `allow_vector`, read as a column) as a
// double matrix.
// The array behind `obj` after the checks every argument gets: a numpy array, float32 or float64,
// rank 2 (or 1 when `allow_vector`). Sets `f32` to whether it holds float32.
py::array checked_array(const py::handle& obj, const char* name, bool allow_vector, bool& f32) {
  if (!py::isinstance<py::array>(obj))
    throw py::type_error(std::string(name) + ": expected a numpy array, got " +
                         std::string(py::str(py::type::of(obj).attr("__name__"))));
  const py::array a = py::reinterpret_borrow<py::array>(obj);
  const py::dtype dt = a.dtype();
  f32 = dt.is(py::dtype::of<float>());
  if (!f32 && !dt.is(py::dtype::of<double>()))
    throw py::type_error(std::string(name) + ": expected float32 or float64, got " +
                         std::string(py::str(dt.attr("name"))));
  if (a.ndim() != 2 && !(allow_vector && a.ndim() == 1))
    throw py::value_error(std::string(name) + ": expected a " + (allow_vector ? "1-d or 2-d" : "2-d") + " array, got " +
                          std::to_string(a.ndim()) + "-d");
  return a;
}

// The array as a matrix of T (one vectorised copy; a non-C-contiguous array is first made
// contiguous by numpy, a second copy).
template <typename T, typename From, int Order = Eigen::ColMajor>
Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Order> copy_as(const py::array& a) {
  const auto c = py::array_t<From, py::array::c_style | py::array::forcecast>::ensure(a);
  const Index rows = static_cast<Index>(a.shape(0)), cols = a.ndim() == 2 ? static_cast<Index>(a.shape(1)) : 1;
  const Eigen::Map<const Eigen::Matrix<From, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> m(c.data(), rows, cols);
  return m.template cast<T>();
}

// A float32/float64 numpy array of rank 2 (or 1 when `allow_vector`, read as a column) as a
// double matrix.
Eigen::MatrixXd matrix_arg(const py::handle& obj, const char* name, bool allow_vector = false) {
  bool f32 = false;
  const py::array a = checked_array(obj, name, allow_vector, f32);
  return f32 ? copy_as<double, float>(a) : copy_as<double, double>(a);
}

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

py::array_t<double> to_numpy(const Eigen::MatrixXd& m) {
  py::array_t<double> out({static_cast<py::ssize_t>(m.rows()), static_cast<py::ssize_t>(m.cols())});
  Eigen::Map<Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(out.mutable_data(), m.rows(),
                                                                                     m.cols()) = m;
  return out;
}

py::array_t<double> to_numpy(const Eigen::VectorXd& v) {
  py::array_t<double> out(static_cast<py::ssize_t>(v.size()));
  auto w = out.mutable_unchecked<1>();
  for (Index i = 0; i < v.size(); ++i) w(i) = v(i);
  return out;
}

py::array_t<std::int64_t> to_numpy(const IndexList& v) {
  py::array_t<std::int64_t> out(static_cast<py::ssize_t>(v.size()));
  auto w = out.mutable_unchecked<1>();
  for (std::size_t i = 0; i < v.size(); ++i) w(static_cast<py::ssize_t>(i)) = v[i];
  return out;
}

std::vector<double> vector_arg(const py::handle& obj, const char* name) {
  const Eigen::MatrixXd m = matrix_arg(obj, name, true);
  if (m.cols() != 1) throw py::value_error(std::string(name) + ": expected a 1-d array");
  return std::vector<double>(m.data(), m.data() + m.rows());
}

// nlohmann JSON → Python objects (through the json module: exact for every value it holds).
py::object to_python(const nlohmann::ordered_json& j) { return py::module_::import("json").attr("loads")(j.dump()); }

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
  return d;
}

IndexList index_arg(const py::handle& obj, const char* name) {
  if (!py::isinstance<py::array>(obj)) throw py::type_error(std::string(name) + ": expected a numpy array of integers");
  const py::array a = py::reinterpret_borrow<py::array>(obj);
  if (a.dtype().kind() != 'i' && a.dtype().kind() != 'u')
    throw py::type_error(std::string(name) + ": expected integers, got " +
                         std::string(py::str(a.dtype().attr("name"))));
  if (a.ndim() != 1) throw py::value_error(std::string(name) + ": expected a 1-d array");
  const auto v = py::array_t<std::int64_t, py::array::forcecast>::ensure(a);
  IndexList out(static_cast<std::size_t>(a.shape(0)));
  for (py::ssize_t i = 0; i < a.shape(0); ++i) out[static_cast<std::size_t>(i)] = v.at(i);
  return out;
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

// A float64 model held for Python.
struct PyModel {
  std::unique_ptr<Model<double>> model;
  bool tokens = false;  // a Transformer reads token ids
};

// The inputs of a model: dense rows (n, d) for an MLP, or int token ids (n, T) for a transformer.
ModelInput<double> model_input(const PyModel& m, const py::handle& obj, const char* name) {
  ModelInput<double> in;
  if (!m.tokens) {
    in.x = matrix_arg(obj, name);
    return in;
  }
  if (!py::isinstance<py::array>(obj))
    throw py::type_error(std::string(name) + ": expected a numpy array of token ids");
  const py::array a = py::reinterpret_borrow<py::array>(obj);
  if (a.dtype().kind() != 'i' && a.dtype().kind() != 'u')
    throw py::type_error(std::string(name) + ": token ids must be integers, got " +
                         std::string(py::str(a.dtype().attr("name"))));
  if (a.ndim() != 2)
    throw py::value_error(std::string(name) + ": expected (n, T) token ids, got " + std::to_string(a.ndim()) + "-d");
  const auto t = py::array_t<std::int64_t, py::array::forcecast>::ensure(a);
  in.T = static_cast<Index>(a.shape(1));
  for (py::ssize_t i = 0; i < a.shape(0); ++i)
    for (py::ssize_t j = 0; j < a.shape(1); ++j) in.tokens.push_back(t.at(i, j));
  return in;
}

py::dict state_dict(const PyModel& m) {
  py::dict d;
  for (const Parameter<double>* p : m.model->parameters()) d[py::str(p->name)] = to_numpy(Eigen::MatrixXd(p->value));
  return d;
}

// Loads named arrays (numpy, or anything with .detach().cpu().numpy() such as torch tensors) into
// the parameters; every mismatch is collected and reported at once, and nothing changes then.
void load_state_dict(PyModel& m, const py::dict& sd, bool strict) {
  std::vector<std::string> problems;
  std::vector<std::pair<Parameter<double>*, Eigen::MatrixXd>> values;
  const py::module_ np = py::module_::import("numpy");
  std::vector<std::string> names;
  for (Parameter<double>* p : m.model->parameters()) {
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
  if (!problems.empty()) {
    std::string msg = "load_state_dict: " + std::to_string(problems.size()) + " mismatch" +
                      (problems.size() > 1 ? "es" : "") + "; nothing was loaded:";
    for (const std::string& pr : problems) msg += "\n  " + pr;
    throw py::value_error(msg);
  }
  for (auto& [p, v] : values) {
    if (!v.allFinite()) throw py::value_error("load_state_dict: '" + p->name + "' is not finite");
  }
  for (auto& [p, v] : values) p->value = v;
}

}  // namespace

PYBIND11_MODULE(grokscope, m) {
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
        } else if (split != "none")
          throw py::value_error("modular_dataset: split must be 'nanda', 'random' or 'none', got '" + split + "'");
        return dataset_dict(ds);
      },
      py::arg("op") = "add", py::arg("p") = 97, py::arg("encoding") = "nanda_tokens", py::arg("split") = "none",
      py::arg("fraction") = 0.3, py::arg("seed") = 0,
      "Every equation a ∘ b = c (mod p) of one of Power et al.'s operations ('add', 'sub', 'mul',\n"
      "'div', 'squarepoly', ...) as int64 arrays: tokens (n, T) — [a, b, =] for 'nanda_tokens',\n"
      "[a, p + b] for 'pair_indices', [a, op, b, =] for 'op_tokens' — labels (n,), and with split\n"
      "'nanda' (Nanda et al.'s exact split of `fraction`) or 'random' the train / test row indices.");

  // ---- models and the NTK ------------------------------------------------------------------
  py::class_<PyModel>(m, "Model", "A grokscope model in float64 (Mlp or Transformer).")
      .def_property_readonly("config", [](const PyModel& pm) { return to_python(pm.model->config()); })
      .def_property_readonly("num_parameters", [](const PyModel& pm) { return pm.model->num_parameters(); })
      .def("state_dict", &state_dict, "Every parameter by grokscope's name, as float64 arrays (copies).")
      .def("load_state_dict", &load_state_dict, py::arg("state_dict"), py::arg("strict") = true,
           "Loads arrays (numpy, or torch tensors) by grokscope's names and shapes (a 1-d array fills a\n"
           "(1, n) bias). Every missing, unexpected or mis-shaped entry is listed in one ValueError and\n"
           "nothing is loaded; a transposed layout is named as such (the README's layout table).")
      .def(
          "__call__",
          [](PyModel& pm, const py::handle& inputs) {
            const ModelInput<double> in = model_input(pm, inputs, "inputs");
            Eigen::MatrixXd out;
            {
              py::gil_scoped_release unlocked;
              Tape<double> t;
              out = pm.model->forward(t, in).value();
            }
            return to_numpy(out);
          },
          py::arg("inputs"),
          "The outputs (n, k): inputs are rows (n, d) for an Mlp, int token ids (n, T) for a Transformer.");
  m.def(
      "Mlp",
      [](const py::dict& config) {
        PyModel pm;
        pm.model = std::make_unique<Mlp<double>>(mlp_config(config));
        return pm;
      },
      py::arg("config"),
      "An MLP from a dict of MlpConfig's fields (input, hidden, output, activation, bias, readout_bias,\n"
      "parameterization, init_std, init_scale, output_scale, centered, epsilon, fixed_readout, seed).\n"
      "Layers are layers.<i>.weight (out, in) and layers.<i>.bias (1, out), PyTorch's nn.Linear layout.");
  m.def(
      "Transformer",
      [](const py::dict& config) {
        PyModel pm;
        pm.model = std::make_unique<Transformer<double>>(transformer_config(config));
        pm.tokens = true;
        return pm;
      },
      py::arg("config"),
      "A decoder-only transformer from a dict of TransformerConfig's fields; {'nanda2023': p} starts from\n"
      "Nanda et al.'s preset (p + 1 logits; add 'output': p for TransformerLens's d_vocab_out).");
  m.def(
      "empirical_ntk",
      [](PyModel& pm, const py::handle& X, const py::object& X2, const std::string& output, Index output_index,
         const std::vector<std::string>& parameters, const std::string& method) {
        NtkOptions o;
        if (output == "trace")
          o.output = NtkOutput::Trace;
        else if (output == "full")
          o.output = NtkOutput::Full;
        else if (output == "single")
          o.output = NtkOutput::Single, o.output_index = output_index;
        else
          throw py::value_error("empirical_ntk: output must be 'trace', 'full' or 'single', got '" + output + "'");
        if (method == "structured")
          o.method = NtkMethod::Structured;
        else if (method == "jacobian")
          o.method = NtkMethod::JacobianContraction;
        else
          throw py::value_error("empirical_ntk: method must be 'structured' or 'jacobian', got '" + method + "'");
        o.parameters = parameters;
        const ModelInput<double> a = model_input(pm, X, "X");
        Eigen::MatrixXd K;
        if (X2.is_none()) {
          py::gil_scoped_release unlocked;
          K = empirical_ntk(*pm.model, a, o);
        } else {
          const ModelInput<double> b = model_input(pm, X2, "X2");
          py::gil_scoped_release unlocked;
          K = empirical_ntk(*pm.model, a, b, o);
        }
        return to_numpy(K);
      },
      py::arg("model"), py::arg("X"), py::arg("X2") = py::none(), py::arg("output") = "trace",
      py::arg("output_index") = 0, py::arg("parameters") = std::vector<std::string>{}, py::arg("method") = "structured",
      "Empirical NTK K(x, x') = Σ_θ ∂f(x)/∂θ · ∂f(x')/∂θ of a grokscope model (float64):\n"
      "output 'trace' (n, n) sums over outputs, 'full' (n·k, n·k) with row i·k + a for input i, output a,\n"
      "'single' the kernel of one output. X2 gives the cross kernel (n, m). parameters: names (default\n"
      "every trainable one). The structured method never forms per-example gradients.");

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

  // ---- experiments -----------------------------------------------------------------------------
  m.def(
      "run_experiment",
      [](const py::dict& config, const std::string& out, std::uint64_t seed) {
        const std::string text = py::str(py::module_::import("json").attr("dumps")(config));
        const nlohmann::ordered_json cfg = nlohmann::ordered_json::parse(text);
        for (const char* key : {"seeds", "sweep"})
          if (cfg.contains(key))
            throw py::value_error(std::string("run_experiment: '") + key +
                                  "' is grokscope-run's; this runs one seed (the seed argument): loop in Python, "
                                  "or run the config with grokscope-run");
        TrainResult r;
        {
          py::gil_scoped_release unlocked;
          r = experiment::run_one(cfg, seed, out);
        }
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
      },
      py::arg("config"), py::arg("out") = "", py::arg("seed") = 0,
      "Runs one seed of an experiment described as grokscope-run describes it (a dict: task, split,\n"
      "model, loss, scalar, optimizer, filters, schedule, train, probes, detect; README 'Experiments\n"
      "as JSON'), every key validated (ValueError naming the key and the allowed values). The training\n"
      "runs in C++ with the GIL released. Returns status, steps_done, seconds, history (a dict of numpy\n"
      "arrays, one per column: step, losses, accuracies, norms, every probe column), report (the\n"
      "detector's, as detect_grokking) and summary; with `out`, the run folder is written as well.");
}
