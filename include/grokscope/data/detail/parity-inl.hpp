// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Definitions of the non-template functions declared in <grokscope/data/parity.hpp>: included by it in
/// header-only mode, compiled once into grokscope::compiled otherwise (core/config.hpp).

#include <grokscope/core/memory.hpp>
#include <grokscope/core/text.hpp>
#include <grokscope/data/parity.hpp>

#if defined(GROKSCOPE_COMPILED) && !defined(GROKSCOPE_BUILDING_LIBRARY)
#error "grokscope: in compiled mode these definitions are in the library; include the header without -inl"
#endif

namespace grokscope {

GROKSCOPE_DEFERRED_DEF Dataset sparse_parity(const ParityOptions& o) {
  require(o.n >= 1, "sparse_parity", "n must be >= 1, got " + std::to_string(o.n));
  require(o.k >= 1 && o.k <= o.n, "sparse_parity",
          "k must be in [1, n = " + std::to_string(o.n) + "], got k = " + std::to_string(o.k));
  require(o.n_train >= 1 && o.n_test >= 1, "sparse_parity", "n_train and n_test must be >= 1");
  detail::require_memory("sparse_parity",
                         "n_train + n_test = " + format_number(static_cast<double>(o.n_train) + o.n_test) +
                             " examples of n = " + std::to_string(o.n) + " bits",
                         (static_cast<double>(o.n_train) + static_cast<double>(o.n_test)) *
                             (static_cast<double>(o.n) + 4) * sizeof(double),
                         0, "GROKSCOPE_MAX_MEMORY", "use fewer examples");
  IndexList S = o.support;
  if (S.empty())
    for (Index i = 0; i < o.k; ++i) S.push_back(i);
  require(static_cast<Index>(S.size()) == o.k, "sparse_parity",
          "support has " + std::to_string(S.size()) + " bits but k = " + std::to_string(o.k));
  std::vector<char> used(static_cast<std::size_t>(o.n), 0);
  for (Index s : S) {
    if (!(s >= 0 && s < o.n)) throw_invalid("sparse_parity", "support bit " + std::to_string(s) + " outside [0, n)");
    if (used[static_cast<std::size_t>(s)])
      throw_invalid("sparse_parity", "support bit " + std::to_string(s) + " repeated");
    used[static_cast<std::size_t>(s)] = 1;
  }
  const Index total = o.n_train + o.n_test;
  Dataset ds;
  ds.name = "sparse_parity";
  ds.features.resize(total, o.n);
  ds.targets.resize(total, 1);
  ds.labels.resize(static_cast<std::size_t>(total));
  ds.num_classes = 2;
  Rng train_rng(o.train_seed), test_rng(o.test_seed);
  for (Index i = 0; i < total; ++i) {
    Rng& r = i < o.n_train ? train_rng : test_rng;
    double y = 1;
    for (Index j = 0; j < o.n; ++j) ds.features(i, j) = (r.next_u64() >> 63) ? 1.0 : -1.0;
    for (Index s : S) y *= ds.features(i, s);
    ds.targets(i, 0) = y;
    ds.labels[static_cast<std::size_t>(i)] = y > 0 ? 1 : 0;
    (i < o.n_train ? ds.train : ds.test).push_back(i);
  }
  ds.meta = {{"task", "sparse_parity"},
             {"n", o.n},
             {"k", o.k},
             {"support", S},
             {"n_train", o.n_train},
             {"n_test", o.n_test},
             {"train_seed", o.train_seed},
             {"test_seed", o.test_seed}};
  return ds;
}

}  // namespace grokscope
