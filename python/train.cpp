// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// Python bindings of training: Trainer over grokscope-run's configuration with Python probes,
// run_experiment, and the multi-seed summaries of results.
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

void bind_train(py::module_& m) {
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
}

}  // namespace grokscope_python
