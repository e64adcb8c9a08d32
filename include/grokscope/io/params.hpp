// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Save and load a model's parameters as a folder of `.npy` files (one per parameter,
/// named after it, e.g. `blocks.0.attn.W_Q.npy`) plus `manifest.json` listing names, shapes and
/// dtype. A PyTorch state_dict exported the same way loads directly when names and shapes match.

#include <grokscope/autodiff/tape.hpp>
#include <grokscope/io/npy.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

namespace grokscope {

/// Writes every parameter to `dir` (created if needed) as `<name>.npy`, and `manifest.json`.
template <typename S>
void save_parameters(const std::string& dir, const std::vector<Parameter<S>*>& params) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw std::runtime_error("grokscope::save_parameters: " + dir + ": cannot create directory: " + ec.message());
  nlohmann::ordered_json manifest = {
      {"format", "grokscope-parameters"}, {"version", 1}, {"dtype", std::is_same_v<S, float> ? "float32" : "float64"}};
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const Parameter<S>* p : params) {
    save_npy(dir + "/" + p->name + ".npy", p->value);
    list.push_back({{"name", p->name}, {"shape", {p->rows(), p->cols()}}});
  }
  manifest["parameters"] = list;
  std::ofstream out(dir + "/manifest.json");
  out << manifest.dump(1) << "\n";
  if (!out) throw std::runtime_error("grokscope::save_parameters: " + dir + "/manifest.json: write failed");
}

/// Loads `<name>.npy` from `dir` into every parameter (float32 or float64 files, converted).
/// If any file is missing or has the wrong shape, nothing is changed and the error lists every
/// mismatch; files in `dir` that match no parameter are listed too.
template <typename S>
void load_parameters(const std::string& dir, const std::vector<Parameter<S>*>& params) {
  if (!std::filesystem::is_directory(dir))
    throw std::runtime_error("grokscope::load_parameters: " + dir + ": not a directory");
  std::vector<Matrix<S>> values;
  std::vector<std::string> problems;
  std::set<std::string> expected;
  for (const Parameter<S>* p : params) {
    expected.insert(p->name + ".npy");
    const std::string path = dir + "/" + p->name + ".npy";
    if (!std::filesystem::exists(path)) {
      problems.push_back("missing " + p->name + " (" + shape_string(p->value) + ")");
      values.emplace_back();
      continue;
    }
    // The header first: a file of the wrong shape is reported without reading (or allocating) its data.
    const NpyHeader h = read_npy_header(path);
    const std::vector<std::size_t> want{static_cast<std::size_t>(p->rows()), static_cast<std::size_t>(p->cols())};
    const bool vector_ok = h.shape.size() == 1 && h.shape[0] == want[0] * want[1] && (want[0] == 1 || want[1] == 1);
    if (h.shape != want && !vector_ok) {
      std::string have = "(";
      for (std::size_t k = 0; k < h.shape.size(); ++k) have += (k ? ", " : "") + std::to_string(h.shape[k]);
      problems.push_back(p->name + " is " + have + (h.shape.size() == 1 ? ",)" : ")") + " in the file but " +
                         shape_string(p->value) + " in the model");
      values.emplace_back();
      continue;
    }
    Matrix<S> v = load_npy_as<S>(path);
    if (v.rows() != p->rows()) v = Matrix<S>(v.transpose());  // a 1-D bias (1, n) stored as (n,)
    values.push_back(std::move(v));
  }
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string f = entry.path().filename().string();
    if (f.size() > 4 && f.substr(f.size() - 4) == ".npy" && !expected.count(f))
      problems.push_back("unexpected " + f.substr(0, f.size() - 4));
  }
  if (!problems.empty()) {
    std::string msg;
    for (const auto& s : problems) msg += (msg.empty() ? "" : "; ") + s;
    throw std::runtime_error("grokscope::load_parameters: " + dir + ": " + msg);
  }
  for (std::size_t i = 0; i < params.size(); ++i) {
    params[i]->value = std::move(values[i]);
    params[i]->zero_grad();
  }
}

}  // namespace grokscope
