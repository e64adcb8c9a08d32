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
#include <grokscope/core/config.hpp>
#include <grokscope/data/dataset.hpp>

#include <algorithm>
#include <map>
#include <numeric>
#include <string>
#include <vector>

namespace grokscope {

/// All permutations of 0..n−1 in lexicographic order (n ≤ 8).
GROKSCOPE_DEFERRED std::vector<IndexList> permutations(Index n);

/// a then b: (a*b)[i] = b[a[i]] (the reference code's "s5": c = b[a]).
GROKSCOPE_DEFERRED IndexList perm_then(const IndexList& a, const IndexList& b);

/// Inverse permutation.
GROKSCOPE_DEFERRED IndexList perm_inverse(const IndexList& a);

/// The three S_n tasks of Power et al.
enum class PermOp {
  Compose,    ///< x·y   ("s5")
  Conjugate,  ///< x·y·x⁻¹ ("s5conj")
  XYX         ///< x·y·x ("s5aba")
};

/// Every pair (x, y) of S_n (x outer, y inner) with label x ∘ y; tokens [x, y, =], "=" = n!,
/// vocabulary n! + 1, classes n!. n ≤ 6 (S_6 has 720² = 518 400 pairs).
GROKSCOPE_DEFERRED Dataset permutation_dataset(Index n, PermOp op = PermOp::Compose);

/// Composition in the dihedral group D_n of order 2n. Element e = f·n + k stands for r^k s^f
/// (k rotations, f ∈ {0, 1} reflections); (r^k1 s^f1)(r^k2 s^f2) = r^(k1 + (−1)^f1 k2) s^(f1 ⊕ f2).
GROKSCOPE_DEFERRED Index dihedral_compose(Index a, Index b, Index n);

/// Every pair of D_n (n ≥ 3) with label x·y; tokens [x, y, =], "=" = 2n, vocabulary 2n + 1.
GROKSCOPE_DEFERRED Dataset dihedral_dataset(Index n);

}  // namespace grokscope

#if GROKSCOPE_HEADER_ONLY
#include <grokscope/data/detail/groups-inl.hpp>
#endif
