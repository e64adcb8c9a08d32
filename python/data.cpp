// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// Python bindings of the datasets: each a dict of numpy arrays (dataset_dict).
#include <grokscope/core/version.hpp>
#include <grokscope/data/groups.hpp>
#include <grokscope/data/idx.hpp>
#include <grokscope/data/modular.hpp>
#include <grokscope/data/multitask_parity.hpp>
#include <grokscope/data/parity.hpp>
#include <grokscope/data/regression.hpp>
#include <grokscope/data/subsets.hpp>
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

void bind_data(py::module_& m) {
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

  m.def(
      "random_labels",
      [](const py::handle& labels, std::uint64_t seed) {
        Dataset ds;
        ds.name = "labels";
        ds.labels = index_arg(labels, "labels");
        ds.features = Matrix<double>::Zero(static_cast<Index>(ds.labels.size()), 1);
        if (ds.labels.empty()) throw py::value_error("random_labels: no labels");
        return to_numpy(random_labels(std::move(ds), seed).labels);
      },
      py::arg("labels"), py::arg("seed") = 0,
      "The labels permuted over all examples by a seeded permutation (Varma et al.'s random labels: the\n"
      "same label distribution, no rule to learn, so only memorisation fits).");
  m.def(
      "nested_subsets",
      [](const py::handle& rows, const std::vector<Index>& sizes, std::uint64_t seed) {
        py::list out;
        for (const IndexList& s : nested_subsets(index_arg(rows, "rows"), sizes, seed)) out.append(to_numpy(s));
        return out;
      },
      py::arg("rows"), py::arg("sizes"), py::arg("seed") = 0,
      "Subsets of `rows` of the given ascending sizes, each inside every larger one (prefixes of one\n"
      "seeded permutation): the D' of Varma et al.'s ungrokking sweep.");
  m.def("geometric_sizes", &geometric_sizes, py::arg("lo"), py::arg("hi"), py::arg("count"),
        "`count` strictly ascending integers from lo to hi, geometrically spaced (e.g. 7 sizes in [390, 1494]).");
  m.def(
      "multitask_sparse_parity",
      [](Index n_tasks, Index n, Index k, double exponent, Index n_train, Index n_test, std::uint64_t seed,
         std::uint64_t test_seed) {
        MultitaskParityOptions o;
        o.n_tasks = n_tasks, o.n = n, o.k = k, o.exponent = exponent, o.n_train = n_train, o.n_test = n_test;
        o.seed = seed, o.test_seed = test_seed;
        return dataset_dict(multitask_sparse_parity(o));
      },
      py::arg("n_tasks") = 500, py::arg("n") = 100, py::arg("k") = 3, py::arg("exponent") = 1.4,
      py::arg("n_train") = 100000, py::arg("n_test") = 10000, py::arg("seed") = 0, py::arg("test_seed") = 1,
      "Michaud et al.'s multitask sparse parity: features [one-hot task | n bits], labels the parity of the\n"
      "task's k bits, tasks drawn with frequencies t^-exponent; arrays['task'] per row, arrays['subsets'] per\n"
      "task; train = the first n_train rows.");
  m.def(
      "subtask_accuracy",
      [](const py::handle& predictions, const py::handle& labels, const py::handle& tasks, Index n_tasks) {
        return subtask_accuracy(index_arg(predictions, "predictions"), index_arg(labels, "labels"),
                                index_arg(tasks, "tasks"), n_tasks);
      },
      py::arg("predictions"), py::arg("labels"), py::arg("tasks"), py::arg("n_tasks"),
      "Accuracy per task (NaN for a task without rows): one curve per subtask for detect_grokking.");
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
}

}  // namespace grokscope_python
