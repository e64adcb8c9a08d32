// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// Python bindings of the grokking detectors (arrays and CSV logs).
#include <grokscope/core/version.hpp>
#include <grokscope/data/groups.hpp>
#include <grokscope/data/idx.hpp>
#include <grokscope/data/modular.hpp>
#include <grokscope/data/parity.hpp>
#include <grokscope/data/regression.hpp>
#include <grokscope/detect/grokking.hpp>
#include <grokscope/detect/phase.hpp>
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

}  // namespace

namespace grokscope_python {

void bind_detect(py::module_& m) {
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
  m.def(
      "classify_liu_phase",
      [](const py::handle& steps, const py::handle& train_acc, const py::handle& test_acc, double threshold,
         double budget, double max_gap) {
        LiuPhaseOptions o;
        o.threshold = threshold, o.budget = budget, o.max_gap = max_gap;
        const LiuPhaseResult r = classify_liu_phase(vector_arg(steps, "steps"), vector_arg(train_acc, "train_acc"),
                                                    vector_arg(test_acc, "test_acc"), o);
        py::dict d;
        d["phase"] = liu_phase_name(r.phase);
        d["t_train"] = r.t_train ? py::object(py::float_(*r.t_train)) : py::object(py::none());
        d["t_test"] = r.t_test ? py::object(py::float_(*r.t_test)) : py::object(py::none());
        return d;
      },
      py::arg("steps"), py::arg("train_acc"), py::arg("test_acc"), py::arg("threshold") = 0.9, py::arg("budget") = 1e5,
      py::arg("max_gap") = 1e3,
      "Liu et al.'s (2022) phase of a run: 'comprehension' (train and test reach threshold within budget\n"
      "steps, test less than max_gap steps later), 'grokking' (max_gap or more later), 'memorization' (only\n"
      "train reaches it) or 'confusion' (train does not); with the steps t_train and t_test.");
}

}  // namespace grokscope_python
