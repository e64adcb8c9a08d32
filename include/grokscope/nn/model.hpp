// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Model: the interface every grokscope network implements (forward on a tape, named
/// parameters), the model input (token ids or dense rows), and the shared output transform of
/// the lazy/rich controls: f̃ = α (f − f₀) with α the output scale and f₀ the frozen initial
/// function when `centered` (Kumar et al. 2024, App. 8.1; Chizat & Bach 2019).

#include <grokscope/autodiff/ops.hpp>
#include <grokscope/autodiff/tape.hpp>
#include <grokscope/core/check.hpp>
#include <grokscope/core/config.hpp>
#include <grokscope/data/dataset.hpp>
#include <grokscope/nn/capture.hpp>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace grokscope {

/// A batch of model inputs: token ids (T per example, flattened) or dense rows.
template <typename S>
struct ModelInput {
  IndexList tokens;  ///< n·T token ids, example after example
  Index T = 0;       ///< tokens per example (0 for dense inputs)
  Matrix<S> x;       ///< (n, d) dense inputs when T == 0

  Index examples() const { return T > 0 ? static_cast<Index>(tokens.size()) / T : x.rows(); }
  bool is_tokens() const { return T > 0; }

  /// The inputs of `rows` of a dataset.
  static ModelInput from_dataset(const Dataset& ds, const IndexList& rows) {
    ModelInput in;
    if (ds.has_tokens()) {
      in.tokens = ds.token_ids(rows);
      in.T = ds.context();
    } else {
      in.x = ds.features_of(rows).template cast<S>();
    }
    return in;
  }

  /// The same, written into this input's own buffers: once they are large enough (after the
  /// first batch of a size), gathering another batch allocates nothing.
  void assign_from(const Dataset& ds, const IndexList& rows) {
    detail::check_rows_in(ds, rows, "ModelInput::assign_from");
    const Index n = static_cast<Index>(rows.size());
    if (ds.has_tokens()) {
      T = ds.context();
      tokens.resize(static_cast<std::size_t>(n * T));
      for (Index i = 0; i < n; ++i)
        for (Index t = 0; t < T; ++t)
          tokens[static_cast<std::size_t>(i * T + t)] = ds.tokens(rows[static_cast<std::size_t>(i)], t);
    } else {
      require(ds.features.rows() > 0, "ModelInput::assign_from", "the dataset has neither tokens nor features");
      T = 0;
      tokens.clear();
      x.resize(n, ds.features.cols());
      for (Index i = 0; i < n; ++i) x.row(i) = ds.features.row(rows[static_cast<std::size_t>(i)]).template cast<S>();
    }
  }

  /// A 64-bit fingerprint of the contents, used to cache f₀ per input. It runs on every forward
  /// pass of a centered model, so it reads 8-byte words on four independent multiply-xor lanes
  /// (about 8 bytes per cycle) instead of a byte-serial hash.
  std::uint64_t fingerprint() const {
    std::uint64_t lane[4] = {0x9e3779b97f4a7c15ULL, 0xbf58476d1ce4e5b9ULL, 0x94d049bb133111ebULL,
                             0x2545f4914f6cdd1dULL};
    constexpr std::uint64_t K = 0xff51afd7ed558ccdULL;
    auto mix = [&lane](const void* p, std::size_t n) {
      const unsigned char* b = static_cast<const unsigned char*>(p);
      std::size_t i = 0;
      for (; i + 32 <= n; i += 32)
        for (int l = 0; l < 4; ++l) {
          std::uint64_t w;
          std::memcpy(&w, b + i + 8 * l, 8);
          lane[l] = (lane[l] ^ w) * K;
        }
      for (; i < n; ++i) lane[0] = (lane[0] ^ b[i]) * K;
      lane[1] = (lane[1] ^ n) * K;  // the length, so that a trailing zero word still counts
    };
    mix(&T, sizeof T);
    if (T > 0)
      mix(tokens.data(), tokens.size() * sizeof(Index));
    else {
      const Index r = x.rows(), c = x.cols();
      mix(&r, sizeof r);
      mix(&c, sizeof c);
      mix(x.data(), static_cast<std::size_t>(x.size()) * sizeof(S));
    }
    std::uint64_t h = lane[0];
    for (int l = 1; l < 4; ++l) h = (h ^ (lane[l] >> 31) ^ lane[l]) * K;
    h ^= h >> 33;  // final avalanche (MurmurHash3's fmix64)
    h *= 0xc4ceb9fe1a85ec53ULL;
    return h ^ (h >> 33);
  }
};

/// Every network: records its forward pass on a tape and exposes its parameters by name.
template <typename S>
class Model {
 public:
  using Scalar = S;  ///< float or double
  virtual ~Model() = default;
  /// Outputs (n, k) for a batch: logits for classification, predictions for regression.
  /// Includes the output scale and centering.
  virtual Var<S> forward(Tape<S>& tape, const ModelInput<S>& in) = 0;
  /// Parameters in a stable order with PyTorch-style dotted names.
  virtual std::vector<Parameter<S>*> parameters() = 0;
  /// The configuration as JSON (written to summary.json).
  virtual nlohmann::ordered_json config() const = 0;

  /// Parameter by name; std::invalid_argument listing the names if absent.
  Parameter<S>& parameter(const std::string& name) {
    std::string all;
    for (Parameter<S>* p : parameters()) {
      if (p->name == name) return *p;
      all += (all.empty() ? "" : ", ") + p->name;
    }
    throw_invalid("Model::parameter", "no parameter '" + name + "' (have: " + all + ")");
  }

  /// Total number of scalars in the parameters.
  Index num_parameters() {
    Index n = 0;
    for (Parameter<S>* p : parameters()) n += p->size();
    return n;
  }

  /// Sets every parameter's gradient to zero.
  void zero_grad() {
    for (Parameter<S>* p : parameters()) p->zero_grad();
  }

  /// The names run_with_cache can keep, in forward order (each model documents its own).
  virtual std::vector<std::string> capture_sites() const { return {"hook_logits"}; }

  /// One forward pass on a private tape keeping the activations that `keep` selects (every site
  /// by default). "hook_logits" is the model's output, after output scale and centering. A filter
  /// entry that selects no site is refused with the list of sites.
  ActivationCache<S> run_with_cache(const ModelInput<S>& in, const CaptureFilter& keep = {}) {
    check_capture_filter(keep, capture_sites(), "Model::run_with_cache");
    ActivationCache<S> cache;
    cache.filter = keep;
    cache.examples = in.examples();
    cache.context = in.T;
    struct Detach {
      ActivationCache<S>*& p;
      ~Detach() { p = nullptr; }
    } detach{m_capture};
    m_capture = &cache;
    Tape<S> t;
    const Var<S> out = forward(t, in);
    cache.put("hook_logits", out.value());
    return cache;
  }

 protected:
  /// The cache of run_with_cache during its pass, nullptr otherwise: a forward pass tests it
  /// before it names a site, so capture costs one branch per site when it is off.
  ActivationCache<S>* m_capture = nullptr;
};

/// Output scale and centering (f̃ = α (f − f₀)), shared by the models. `snapshot()` freezes the
/// current parameters as θ₀; f₀ is then computed on a private tape and cached per input.
template <typename S>
class OutputTransform {
 public:
  double output_scale = 1.0;
  bool centered = false;

  /// Records θ₀ (a copy of the parameters' values) for centering.
  void snapshot(const std::vector<Parameter<S>*>& params) {
    m_initial.clear();
    for (const Parameter<S>* p : params) m_initial.push_back(p->value);
    m_cache.clear();
  }

  /// Applies the transform to the raw output `f` of `model` on input `in`.
  template <typename RawForward>
  Var<S> apply(Tape<S>& tape, const Var<S>& f, const ModelInput<S>& in, const std::vector<Parameter<S>*>& params,
               RawForward&& raw) {
    Var<S> out = f;
    if (centered) {
      require(m_initial.size() == params.size(), "OutputTransform::apply",
              "centered model has no snapshot of its initial parameters");
      out = sub(out, tape.constant(initial_output(in, params, raw)));
    }
    if (output_scale != 1.0) out = scale(out, output_scale);
    return out;
  }

 private:
  // f₀(in): the raw forward with the parameters temporarily set to θ₀ (no gradient recorded).
  template <typename RawForward>
  const Matrix<S>& initial_output(const ModelInput<S>& in, const std::vector<Parameter<S>*>& params, RawForward& raw) {
    const std::uint64_t key = in.fingerprint();
    for (auto& e : m_cache)
      if (e.first == key) return e.second;
    std::vector<Matrix<S>> current;
    std::vector<bool> req;
    for (std::size_t i = 0; i < params.size(); ++i) {
      current.push_back(params[i]->value);
      req.push_back(params[i]->requires_grad);
      params[i]->value = m_initial[i];
      params[i]->requires_grad = false;
    }
    Matrix<S> f0;
    try {
      Tape<S> t;
      f0 = raw(t, in).value();
    } catch (...) {
      for (std::size_t i = 0; i < params.size(); ++i) params[i]->value = current[i], params[i]->requires_grad = req[i];
      throw;
    }
    for (std::size_t i = 0; i < params.size(); ++i) params[i]->value = current[i], params[i]->requires_grad = req[i];
    if (m_cache.size() >= 4) m_cache.erase(m_cache.begin());
    m_cache.emplace_back(key, std::move(f0));
    return m_cache.back().second;
  }

  std::vector<Matrix<S>> m_initial;
  std::vector<std::pair<std::uint64_t, Matrix<S>>> m_cache;
};

// Provided by the compiled library in compiled mode (core/config.hpp).
GROKSCOPE_EXTERN_STRUCT(ModelInput)
GROKSCOPE_EXTERN_CLASS(Model)
GROKSCOPE_EXTERN_CLASS(OutputTransform)

}  // namespace grokscope
