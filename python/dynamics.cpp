// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// Python bindings of the training-dynamics tools: LinearizedDynamics (measure/linearized.hpp),
// parameter_spectra (measure/spectra.hpp) and detect_slingshots (detect/slingshot.hpp).

#include "common.hpp"

#include <grokscope/detect/slingshot.hpp>
#include <grokscope/measure/linearized.hpp>
#include <grokscope/measure/spectra.hpp>

#include <string>
#include <vector>

namespace grokscope_python {

void bind_dynamics(py::module_& m) {
  py::class_<LinearizedDynamics>(
      m, "LinearizedDynamics",
      "The linearized model's outputs under full-batch gradient descent on grokscope's MSE\n"
      "(mean((f − y)²), no ½), in closed form at any step from an empirical NTK (neural-tangents'\n"
      "predict.gradient_descent_mse semantics; their loss has a ½, so their time or learning rate is\n"
      "twice ours). K_train: (n, n) or the full (n·k, n·k) kernel (empirical_ntk(..., output='full'));\n"
      "y_train and f0_train: (n, k). time: 'discrete' (exact for t steps of GD) or 'gradient_flow'.")
      .def(py::init([](const py::handle& K, const py::handle& y, const py::handle& f0, double learning_rate,
                       double diag_reg, const std::string& time) {
             LinearizedOptions o;
             o.learning_rate = learning_rate, o.diag_reg = diag_reg;
             o.time = choice_arg<LinearizedTime>(
                 time, "LinearizedDynamics", "time",
                 {{"discrete", LinearizedTime::Discrete}, {"gradient_flow", LinearizedTime::GradientFlow}});
             const Eigen::MatrixXd Kt = matrix_arg(K, "K_train"), yt = matrix_arg(y, "y_train", true),
                                   ft = matrix_arg(f0, "f0_train", true);
             py::gil_scoped_release unlocked;
             return LinearizedDynamics(Kt, yt, ft, o);
           }),
           py::arg("K_train"), py::arg("y_train"), py::arg("f0_train"), py::arg("learning_rate") = 1.0,
           py::arg("diag_reg") = 0.0, py::arg("time") = "discrete")
      .def(
          "train_outputs", [](const LinearizedDynamics& d, double t) { return to_numpy(d.train_outputs(t)); },
          py::arg("t"), "Training outputs (n, k) after t steps.")
      .def(
          "test_outputs",
          [](const LinearizedDynamics& d, double t, const py::handle& K_test_train, const py::handle& f0_test) {
            return to_numpy(
                d.test_outputs(t, matrix_arg(K_test_train, "K_test_train"), matrix_arg(f0_test, "f0_test", true)));
          },
          py::arg("t"), py::arg("K_test_train"), py::arg("f0_test"),
          "Outputs (m, k) on other inputs after t steps, from their cross kernel (m, n) or (m·k, n·k)\n"
          "(empirical_ntk(model, X_test, X_train)) and their initial outputs.")
      .def("train_loss", &LinearizedDynamics::train_loss, py::arg("t"),
           "The linearized model's training loss mean((f_t − y)²) after t steps.")
      .def("max_learning_rate", &LinearizedDynamics::max_learning_rate,
           "N / λ_max: the largest learning rate at which the discrete map is stable.")
      .def_property_readonly(
          "eigenvalues", [](const LinearizedDynamics& d) { return to_numpy(d.eigenvalues()); },
          "The (regularised, clamped) training kernel's eigenvalues, descending.");

  m.def(
      "parameter_spectra",
      [](const PyModel& pm, Index heads, const std::vector<std::string>& names) {
        SpectraOptions o;
        o.heads = heads, o.names = names;
        const std::vector<MatrixSpectrum> spectra = pm.visit([&](auto& mm) {
          const ModelGuard guard(pm.mutex);
          return parameter_spectra(mm.parameters(), o);
        });
        py::list out;
        for (const MatrixSpectrum& s : spectra) {
          py::dict d;
          d["name"] = s.name;
          d["singular_values"] = to_numpy(s.singular_values);
          d["spectral_norm"] = s.spectral_norm;
          d["frobenius_norm"] = s.frobenius_norm;
          d["stable_rank"] = s.stable_rank;
          d["effective_rank"] = s.effective_rank;
          d["participation_ratio"] = s.participation_ratio;
          out.append(d);
        }
        return out;
      },
      py::arg("model"), py::arg("heads") = 0, py::arg("names") = std::vector<std::string>{},
      "The singular values of the model's weight matrices (every parameter with two or more rows and\n"
      "columns, or the named ones), each a dict: name, singular_values (descending), spectral_norm,\n"
      "frobenius_norm, stable_rank, effective_rank, participation_ratio. heads > 1 also splits W_Q, W_K,\n"
      "W_V (rows) and W_O (columns) into that many heads ('<name>.head<h>').");

  m.def(
      "detect_slingshots",
      [](const py::handle& steps, const py::handle& train_loss, const py::handle& last_layer_norm, double spike_factor,
         double fitted_fraction, double growth_factor, Index growth_window) {
        const std::vector<double> s = vector_arg(steps, "steps"), l = vector_arg(train_loss, "train_loss"),
                                  n = vector_arg(last_layer_norm, "last_layer_norm");
        SlingshotOptions o;
        o.spike_factor = spike_factor, o.fitted_fraction = fitted_fraction, o.growth_factor = growth_factor;
        o.growth_window = growth_window;
        SlingshotReport r;
        {
          py::gil_scoped_release unlocked;
          r = detect_slingshots(s, l, n, o);
        }
        return to_python(to_json(r));
      },
      py::arg("steps"), py::arg("train_loss"), py::arg("last_layer_norm"), py::arg("spike_factor") = 10.0,
      py::arg("fitted_fraction") = 0.1, py::arg("growth_factor") = 3.0, py::arg("growth_window") = 5,
      "Thilak et al.'s slingshot cycles in one run's log: training-loss spikes after fitting (a loss above\n"
      "spike_factor × the lowest so far, once that is below fitted_fraction × the first), last-layer\n"
      "norm-growth bursts (growth rate above growth_factor × the median), and the spikes that a burst\n"
      "precedes within growth_window records. Returns the report as a dict.");
}

}  // namespace grokscope_python
