// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Named activations of a forward pass (Model::run_with_cache), in the style of
/// TransformerLens's `run_with_cache` / `ActivationCache`: a filter choosing the sites to keep and
/// the cache they are kept in, exported as a folder of `.npy` files.
///
/// Capture costs nothing when it is off: a model tests one pointer per site, and builds a site's
/// name only when a cache is attached (the training step never attaches one).

#include <grokscope/core/check.hpp>
#include <grokscope/core/types.hpp>
#include <grokscope/io/npy.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace grokscope {

/// Which capture sites to keep: exact names, or prefixes ending in '*' ("blocks.0.*",
/// "blocks.*.mlp.hook_post" is not a pattern: only a trailing '*'); empty keeps every site.
struct CaptureFilter {
  std::vector<std::string> names;

  bool keeps(const std::string& site) const {
    if (names.empty()) return true;
    for (const std::string& n : names) {
      if (!n.empty() && n.back() == '*') {
        if (site.compare(0, n.size() - 1, n, 0, n.size() - 1) == 0) return true;
      } else if (n == site) {
        return true;
      }
    }
    return false;
  }
};

/// The activations of one forward pass by site name, in the order the pass produced them. Rows
/// follow the model's layout (a transformer's (example, position) rows; see Transformer's sites).
template <typename S>
class ActivationCache {
 public:
  CaptureFilter filter;
  Index examples = 0;  ///< n, the examples of the pass
  Index context = 0;   ///< T for token inputs, 0 for dense ones

  /// Keeps `value` under `site` if the filter wants it and the site is not yet filled (the first
  /// write wins: a centered model's pass at θ₀ does not overwrite the pass at θ).
  void put(const std::string& site, const Matrix<S>& value) {
    if (filter.keeps(site) && !has(site)) m_entries.emplace_back(site, value);
  }
  bool has(const std::string& site) const {
    for (const auto& e : m_entries)
      if (e.first == site) return true;
    return false;
  }
  /// The activation of a site; std::invalid_argument listing the kept sites if absent.
  const Matrix<S>& at(const std::string& site) const {
    for (const auto& e : m_entries)
      if (e.first == site) return e.second;
    std::string all;
    for (const auto& e : m_entries) all += (all.empty() ? "" : ", ") + e.first;
    throw_invalid("ActivationCache::at", "no activation '" + site + "' in this cache (kept: " + all + ")");
  }
  const Matrix<S>& operator[](const std::string& site) const { return at(site); }
  std::vector<std::string> names() const {
    std::vector<std::string> v;
    for (const auto& e : m_entries) v.push_back(e.first);
    return v;
  }
  const std::vector<std::pair<std::string, Matrix<S>>>& entries() const { return m_entries; }
  std::size_t size() const { return m_entries.size(); }

 private:
  std::vector<std::pair<std::string, Matrix<S>>> m_entries;
};

/// Refuses a filter entry that selects none of `sites` (a misspelt name would otherwise give an
/// empty cache), naming the sites there are.
inline void check_capture_filter(const CaptureFilter& f, const std::vector<std::string>& sites, const char* where) {
  for (const std::string& n : f.names) {
    CaptureFilter one{{n}};
    bool any = false;
    for (const std::string& s : sites) any = any || one.keeps(s);
    if (!any) {
      std::string all;
      for (const std::string& s : sites) all += (all.empty() ? "" : ", ") + s;
      throw_invalid(where, "'" + n + "' selects no capture site (sites: " + all + ")");
    }
  }
}

/// Writes every activation as `<dir>/<site>.npy` and `manifest.json` (site, shape, examples,
/// context); the directory is created if needed.
template <typename S>
void save_activations(const std::string& dir, const ActivationCache<S>& cache) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    throw std::runtime_error("grokscope::save_activations: " + dir + ": cannot create directory: " + ec.message());
  nlohmann::ordered_json m;
  m["examples"] = cache.examples;
  m["context"] = cache.context;
  m["activations"] = nlohmann::ordered_json::array();
  for (const auto& [site, v] : cache.entries()) {
    save_npy(dir + "/" + site + ".npy", v);
    m["activations"].push_back({{"site", site}, {"shape", {v.rows(), v.cols()}}});
  }
  std::ofstream out(dir + "/manifest.json");
  out << m.dump(2) << "\n";
  if (!out) throw std::runtime_error("grokscope::save_activations: " + dir + "/manifest.json: write failed");
}

}  // namespace grokscope
