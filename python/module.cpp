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

namespace grokscope_python {
void bind_measure(py::module_& m);    // measure.cpp
void bind_detect(py::module_& m);     // detect.cpp
void bind_data(py::module_& m);       // data.cpp
void bind_models(py::module_& m);     // models.cpp
void bind_train(py::module_& m);      // train.cpp
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

  // the functions by area (python/<area>.cpp)
  // Model first: the functions that take one are typed with it
  grokscope_python::bind_models(m);
  grokscope_python::bind_measure(m);
  grokscope_python::bind_detect(m);
  grokscope_python::bind_data(m);
  grokscope_python::bind_train(m);
  grokscope_python::bind_curvature(m);
  grokscope_python::bind_dynamics(m);
}
