// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Group-operation datasets: composition in the symmetric group S_n (n ≤ 6) with Power
/// et al.'s three tasks (x·y, x·y·x⁻¹, x·y·x), and composition in the dihedral group D_n.
///
/// Permutations are numbered in lexicographic order of their one-line form (the order of
/// Python's itertools.permutations). A permutation a maps i to a[i]. Products follow the
/// reference code: "s5" is c = b[a] (c[i] = b[a[i]]: apply a, then b), which is sympy's a*b;
/// "s5conj" is sympy's a*b*a⁻¹ and "s5aba" is a*b*a, with the same left-to-right convention.

#include <grokscope/core/check.hpp>
#include <grokscope/data/dataset.hpp>

#include <algorithm>
#include <map>
#include <numeric>
#include <string>
#include <vector>

namespace grokscope {

/// All permutations of 0..n−1 in lexicographic order (n ≤ 8).
inline std::vector<IndexList> permutations(Index n) {
  require(n >= 1 && n <= 8, "permutations", "n must be in [1, 8], got " + std::to_string(n));
  std::vector<IndexList> out;
  IndexList a(static_cast<std::size_t>(n));
  std::iota(a.begin(), a.end(), 0);
  do out.push_back(a);
  while (std::next_permutation(a.begin(), a.end()));
  return out;
}

/// a then b: (a*b)[i] = b[a[i]] (the reference code's "s5": c = b[a]).
inline IndexList perm_then(const IndexList& a, const IndexList& b) {
  IndexList c(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) c[i] = b[static_cast<std::size_t>(a[i])];
  return c;
}

/// Inverse permutation.
inline IndexList perm_inverse(const IndexList& a) {
  IndexList inv(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) inv[static_cast<std::size_t>(a[i])] = static_cast<Index>(i);
  return inv;
}

/// The three S_n tasks of Power et al.
enum class PermOp {
  Compose,    ///< x·y   ("s5")
  Conjugate,  ///< x·y·x⁻¹ ("s5conj")
  XYX         ///< x·y·x ("s5aba")
};

/// Every pair (x, y) of S_n (x outer, y inner) with label x ∘ y; tokens [x, y, =], "=" = n!,
/// vocabulary n! + 1, classes n!. n ≤ 6 (S_6 has 720² = 518 400 pairs).
inline Dataset permutation_dataset(Index n, PermOp op = PermOp::Compose) {
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

/// Composition in the dihedral group D_n of order 2n. Element e = f·n + k stands for r^k s^f
/// (k rotations, f ∈ {0, 1} reflections); (r^k1 s^f1)(r^k2 s^f2) = r^(k1 + (−1)^f1 k2) s^(f1 ⊕ f2).
inline Index dihedral_compose(Index a, Index b, Index n) {
  const Index k1 = a % n, f1 = a / n, k2 = b % n, f2 = b / n;
  const Index k = (((f1 ? k1 - k2 : k1 + k2) % n) + n) % n;
  return (f1 ^ f2) * n + k;
}

/// Every pair of D_n (n ≥ 3) with label x·y; tokens [x, y, =], "=" = 2n, vocabulary 2n + 1.
inline Dataset dihedral_dataset(Index n) {
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
