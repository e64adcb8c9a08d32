// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Definitions of the non-template functions declared in <grokscope/data/groups.hpp>: included by it in
/// header-only mode, compiled once into grokscope::compiled otherwise (core/config.hpp).

#include <grokscope/data/groups.hpp>

#if defined(GROKSCOPE_COMPILED) && !defined(GROKSCOPE_BUILDING_LIBRARY)
#error "grokscope: in compiled mode these definitions are in the library; include the header without -inl"
#endif

namespace grokscope {

GROKSCOPE_DEFERRED_DEF std::vector<IndexList> permutations(Index n) {
  require(n >= 1 && n <= 8, "permutations", "n must be in [1, 8], got " + std::to_string(n));
  std::vector<IndexList> out;
  IndexList a(static_cast<std::size_t>(n));
  std::iota(a.begin(), a.end(), 0);
  do out.push_back(a);
  while (std::next_permutation(a.begin(), a.end()));
  return out;
}

GROKSCOPE_DEFERRED_DEF IndexList perm_then(const IndexList& a, const IndexList& b) {
  IndexList c(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) c[i] = b[static_cast<std::size_t>(a[i])];
  return c;
}

GROKSCOPE_DEFERRED_DEF IndexList perm_inverse(const IndexList& a) {
  IndexList inv(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) inv[static_cast<std::size_t>(a[i])] = static_cast<Index>(i);
  return inv;
}

GROKSCOPE_DEFERRED_DEF Dataset permutation_dataset(Index n, PermOp op) {
  require(n >= 2 && n <= 6, "permutation_dataset", "n must be in [2, 6], got " + std::to_string(n));
  const std::vector<IndexList> perms = permutations(n);
  std::map<IndexList, Index> index;
  for (std::size_t i = 0; i < perms.size(); ++i) index[perms[i]] = static_cast<Index>(i);
  const Index m = static_cast<Index>(perms.size());
  Dataset ds;
  const char* names[] = {"s_n_compose", "s_n_conjugate", "s_n_xyx"};
  ds.name = names[static_cast<int>(op)];
  ds.tokens.resize(m * m, 3);
  ds.labels.resize(static_cast<std::size_t>(m * m));
  ds.vocab_size = m + 1;
  ds.num_classes = m;
  for (Index x = 0; x < m; ++x)
    for (Index y = 0; y < m; ++y) {
      const IndexList& a = perms[static_cast<std::size_t>(x)];
      const IndexList& b = perms[static_cast<std::size_t>(y)];
      IndexList c;
      switch (op) {
        case PermOp::Compose:
          c = perm_then(a, b);
          break;
        case PermOp::Conjugate:
          c = perm_then(perm_then(a, b), perm_inverse(a));
          break;
        case PermOp::XYX:
          c = perm_then(perm_then(a, b), a);
          break;
      }
      const Index r = x * m + y;
      ds.tokens.row(r) << x, y, m;
      ds.labels[static_cast<std::size_t>(r)] = index.at(c);
    }
  ds.meta = {{"task", "permutation"}, {"n", n}, {"op", ds.name}, {"group_order", m}, {"equations", m * m}};
  return ds;
}

GROKSCOPE_DEFERRED_DEF Index dihedral_compose(Index a, Index b, Index n) {
  const Index k1 = a % n, f1 = a / n, k2 = b % n, f2 = b / n;
  const Index k = (((f1 ? k1 - k2 : k1 + k2) % n) + n) % n;
  return (f1 ^ f2) * n + k;
}

GROKSCOPE_DEFERRED_DEF Dataset dihedral_dataset(Index n) {
  require(n >= 3 && n <= 1000, "dihedral_dataset", "n must be in [3, 1000], got " + std::to_string(n));
  const Index m = 2 * n;
  Dataset ds;
  ds.name = "dihedral";
  ds.tokens.resize(m * m, 3);
  ds.labels.resize(static_cast<std::size_t>(m * m));
  ds.vocab_size = m + 1;
  ds.num_classes = m;
  for (Index x = 0; x < m; ++x)
    for (Index y = 0; y < m; ++y) {
      ds.tokens.row(x * m + y) << x, y, m;
      ds.labels[static_cast<std::size_t>(x * m + y)] = dihedral_compose(x, y, n);
    }
  ds.meta = {{"task", "dihedral"}, {"n", n}, {"group_order", m}, {"equations", m * m}};
  return ds;
}

}  // namespace grokscope
