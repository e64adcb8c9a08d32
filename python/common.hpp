// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// What every binding file of the Python module shares: argument conversion (numpy arrays, torch
// tensors through numpy, integer arrays), the model handle, and results back to numpy.
#pragma once

#include <grokscope/core/types.hpp>
#include <grokscope/data/dataset.hpp>
#include <grokscope/nn/mlp.hpp>
#include <grokscope/nn/model.hpp>
#include <grokscope/nn/transformer.hpp>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace grokscope_python {

namespace py = pybind11;
using namespace grokscope;

/// A torch tensor as the numpy array it shares memory with (detached, on the CPU); any other object
/// unchanged. Every array argument goes through it, so torch tensors are accepted wherever numpy
/// arrays are.
inline py::object tensor_to_numpy(const py::handle& obj) {
  if (!py::isinstance<py::array>(obj) && py::hasattr(obj, "detach") && py::hasattr(obj, "numpy") &&
      py::hasattr(obj, "device")) {
    py::object t = obj.attr("detach")();
    if (std::string(py::str(t.attr("device").attr("type"))) != "cpu") t = t.attr("cpu")();
    return t.attr("numpy")();
  }
  return py::reinterpret_borrow<py::object>(obj);
}

/// True for a numpy array of integers (signed or unsigned): labels, token ids, indices.
inline bool is_integer_array(const py::handle& obj) {
  if (!py::isinstance<py::array>(obj)) return false;
  const char kind = py::reinterpret_borrow<py::array>(obj).dtype().kind();
  return kind == 'i' || kind == 'u';
}

/// Releases the GIL, then takes the model's lock (in that order: a thread waiting for the lock
/// never holds the GIL that the lock's holder may need). Recursive: a Python probe may call its
/// model from inside the run that holds it.
class ModelGuard {
 public:
  explicit ModelGuard(const std::shared_ptr<std::recursive_mutex>& m) : m_lock(*m) {}

 private:
  py::gil_scoped_release m_unlocked;  // released first (members are built in order)
  std::unique_lock<std::recursive_mutex> m_lock;
};

// A float32/float64 numpy array of rank 2 (or 1 when `allow_vector`, read as a column) as a
// double matrix.
// The array behind `obj` after the checks every argument gets: a numpy array, float32 or float64,
// rank 2 (or 1 when `allow_vector`). Sets `f32` to whether it holds float32.
inline py::array checked_array(const py::handle& given, const char* name, bool allow_vector, bool& f32) {
  const py::object obj = tensor_to_numpy(given);
  if (!py::isinstance<py::array>(obj))
    throw py::type_error(std::string(name) + ": expected a numpy array, got " +
                         std::string(py::str(py::type::of(obj).attr("__name__"))));
  py::array a = py::reinterpret_borrow<py::array>(obj);
  const py::dtype dt = a.dtype();
  f32 = dt.is(py::dtype::of<float>());
  // integers and booleans (labels, masks, int64 step counters) are converted to float64 once
  // (exact below 2^53); complex, object and string arrays are refused
  const char kind = dt.kind();
  if (kind == 'i' || kind == 'u' || kind == 'b' || (kind == 'f' && dt.itemsize() == 2))
    a = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(a);
  else if (!f32 && !dt.is(py::dtype::of<double>()))
    throw py::type_error(std::string(name) + ": expected a real array (float, integer or bool), got " +
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
inline Eigen::MatrixXd matrix_arg(const py::handle& obj, const char* name, bool allow_vector = false) {
  bool f32 = false;
  const py::array a = checked_array(obj, name, allow_vector, f32);
  return f32 ? copy_as<double, float>(a) : copy_as<double, double>(a);
}

inline py::array_t<double> to_numpy(const Eigen::MatrixXd& m) {
  py::array_t<double> out({static_cast<py::ssize_t>(m.rows()), static_cast<py::ssize_t>(m.cols())});
  Eigen::Map<Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(out.mutable_data(), m.rows(),
                                                                                     m.cols()) = m;
  return out;
}

inline py::array_t<double> to_numpy(const Eigen::VectorXd& v) {
  py::array_t<double> out(static_cast<py::ssize_t>(v.size()));
  auto w = out.mutable_unchecked<1>();
  for (Index i = 0; i < v.size(); ++i) w(i) = v(i);
  return out;
}

inline py::array_t<std::int64_t> to_numpy(const IndexList& v) {
  py::array_t<std::int64_t> out(static_cast<py::ssize_t>(v.size()));
  auto w = out.mutable_unchecked<1>();
  for (std::size_t i = 0; i < v.size(); ++i) w(static_cast<py::ssize_t>(i)) = v[i];
  return out;
}

inline std::vector<double> vector_arg(const py::handle& obj, const char* name) {
  const Eigen::MatrixXd m = matrix_arg(obj, name, true);
  if (m.cols() != 1) throw py::value_error(std::string(name) + ": expected a 1-d array");
  return std::vector<double>(m.data(), m.data() + m.rows());
}

// nlohmann JSON → Python objects (through the json module: exact for every value it holds).
inline py::object to_python(const nlohmann::ordered_json& j) {
  return py::module_::import("json").attr("loads")(j.dump());
}

inline IndexList index_arg(const py::handle& given, const char* name) {
  const py::object obj = tensor_to_numpy(given);
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

// A model held for Python: float64 when made from Python, float32 or float64 when a Trainer made
// it from a configuration. Shared, so that a model handed to a probe or kept after a run stays valid.
struct PyModel {
  std::shared_ptr<Model<double>> d;
  std::shared_ptr<Model<float>> f;
  bool tokens = false;  // a Transformer reads token ids
  /// Held while C++ uses the model with the GIL released (Model::run_with_cache publishes its
  /// cache through the model, measurements move parameters and gradients): calls on one model
  /// from several Python threads run one after the other, calls on different models in parallel.
  std::shared_ptr<std::recursive_mutex> mutex = std::make_shared<std::recursive_mutex>();

  Model<double>* as(double*) const { return d.get(); }
  Model<float>* as(float*) const { return f.get(); }
  // Calls fn(model) with the model in its own scalar type; fn returns the same type for both.
  template <typename Fn>
  auto visit(Fn&& fn) const {
    return d ? fn(*d) : fn(*f);
  }
  bool float32() const { return !d; }
};

// A string argument that names one of a few settings: its value, or ValueError listing the names
// ("where: what must be 'a', 'b' or 'c', got 'x'").
template <typename E>
E choice_arg(const std::string& value, const char* where, const char* what,
             std::initializer_list<std::pair<const char*, E>> names) {
  std::string list;
  std::size_t i = 0;
  for (const auto& [name, e] : names) {
    if (value == name) return e;
    list += std::string(i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + "'" + name + "'";
    ++i;
  }
  throw py::value_error(std::string(where) + ": " + what + " must be " + list + ", got '" + value + "'");
}

// A matrix of T as a numpy array of T (one copy).
template <typename Derived>
py::array to_numpy_of(const Eigen::MatrixBase<Derived>& m) {
  using T = typename Derived::Scalar;
  py::array_t<T> out({static_cast<py::ssize_t>(m.rows()), static_cast<py::ssize_t>(m.cols())});
  Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(out.mutable_data(), m.rows(),
                                                                                m.cols()) = m;
  return out;
}

// The inputs of a model: dense rows (n, d) for an MLP, or int token ids (n, T) for a transformer.
template <typename S>
ModelInput<S> model_input(const PyModel& m, const py::handle& given, const char* name) {
  const py::object obj = tensor_to_numpy(given);
  ModelInput<S> in;
  // An Mlp reads float (and bool) rows as features and integer arrays as token ids, one-hot
  // blocks as the Trainer feeds a token dataset (Gromov's [a, p + b]); a Transformer reads token ids.
  const bool integer_ids = is_integer_array(obj);
  if (!m.tokens && !integer_ids) {
    in.x = matrix_arg(obj, name).cast<S>();
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

// Shared between the binding files (defined in the file named).
py::dict dataset_dict(const Dataset& ds);                 // data.cpp: a Dataset as a dict of numpy arrays
MlpConfig mlp_config(const py::dict& d);                  // models.cpp: a config dict read field by field
TransformerConfig transformer_config(const py::dict& d);  // models.cpp
template <typename S>
PyModel wrap(std::shared_ptr<Model<S>> m);  // models.cpp (float and double)

}  // namespace grokscope_python
