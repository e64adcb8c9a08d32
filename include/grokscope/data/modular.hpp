// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Binary operations over Z_p (Power et al. 2022) with their reference semantics and
/// equation order, the reference splits (Nanda et al. 2023, Power et al. 2022), and the input
/// encodings used by transformers and MLPs.
///
/// Equation order follows the reference code (openai/grok `_make_binary_operation_data`):
/// pairs (x, y) with x outer and y inner, so example x·p + y holds x ∘ y; division is built
/// as "for c, for y ≠ 0: x = y·c mod p, x / y = c", giving p(p − 1) equations.

#include <grokscope/core/check.hpp>
#include <grokscope/core/config.hpp>
#include <grokscope/core/memory.hpp>
#include <grokscope/core/reference_rng.hpp>
#include <grokscope/core/rng.hpp>
#include <grokscope/data/dataset.hpp>

#include <cmath>
#include <string>
#include <vector>

namespace grokscope {

/// The binary operations of Power et al. (names as in their code's dataset names).
enum class ModOp {
  Add,            ///< x + y
  Sub,            ///< x − y
  Mul,            ///< x · y
  Div,            ///< x / y = x · y⁻¹ (y ≠ 0; p prime)
  SquarePoly,     ///< x² + y
  CubePoly,       ///< x³ + y
  Quad1,          ///< x² + y²
  Quad2,          ///< x² + xy + y²
  Quad3,          ///< x² + xy + y² + x
  Cube1,          ///< x³ + xy
  Cube2,          ///< x³ + xy² + y
  Mix1,           ///< the code's mix1: ⌊x / y⌋ (integer division) if y is odd, else x − y
  Mix1Paper,      ///< the paper's text: x / y (modular) if y is odd, else x − y (p prime)
  EvenAddOddMul,  ///< x + y if x is even, else x · y
  EvenAddOddSub   ///< x + y if x is even, else x − y
};

/// Short name of an operation ("add", "div", "quad2", ...).
GROKSCOPE_DEFERRED const char* mod_op_name(ModOp op);

/// The operation with a given short name; std::invalid_argument listing the names otherwise.
GROKSCOPE_DEFERRED ModOp mod_op_from_name(const std::string& name);

/// True if p is prime (trial division).
GROKSCOPE_DEFERRED bool is_prime(Index p);

/// Multiplicative inverse of y mod p (p prime, y ≠ 0), by Fermat's little theorem.
GROKSCOPE_DEFERRED Index mod_inverse(Index y, Index p);

/// x ∘ y mod p for one operation, evaluated directly (the reference for the tables).
GROKSCOPE_DEFERRED Index mod_apply(ModOp op, Index x, Index y, Index p);

/// One equation x ∘ y = c.
struct Equation {
  Index x, y, c;
};

/// All equations of an operation mod p, in the reference order (see the file comment).
/// Division and mix1 leave out y = 0 (mix1's ⌊x/0⌋ is undefined; the paper's mix1 needs y⁻¹).
GROKSCOPE_DEFERRED std::vector<Equation> modular_equations(ModOp op, Index p);

/// How a modular dataset is presented to a model.
enum class ModEncoding {
  NandaTokens,     ///< [x, y, =] with "=" = p, vocabulary p + 1 (Nanda et al.)
  OpTokens,        ///< [x, op, y, =] with "=" = p, op = p + 1, vocabulary p + 2 (Grokfast's reference code)
  PairIndices,     ///< [x, p + y], vocabulary 2p: the embedding-sum form of a one-hot-pair MLP
  OneHotFeatures,  ///< dense [onehot(x), onehot(y)] of width 2p (Gromov; Kumar et al.)
};

/// Options of modular_dataset.
struct ModularOptions {
  ModOp op = ModOp::Add;
  Index p = 97;
  ModEncoding encoding = ModEncoding::NandaTokens;
};

/// Every equation of the operation as a dataset (labels c in [0, p)); the split is left empty:
/// use split_by_fraction, nanda_split, power_split or fixed_split.
GROKSCOPE_DEFERRED Dataset modular_dataset(const ModularOptions& o);

/// Nanda et al.'s split: pairs (x, y) in row-major order shuffled by Python's
/// `random.seed(seed); random.shuffle(pairs)`, training set = the first int(fraction · p²).
/// Requires a dataset of all p² pairs in the reference order (every operation except div, mix1).
GROKSCOPE_DEFERRED Split nanda_split(const Dataset& ds, double fraction, std::uint64_t seed = 0);

/// Power et al.'s split: equations in the reference order shuffled by NumPy's legacy
/// `RandomState(seed).shuffle`, training set = the first round(n · percent / 100).
GROKSCOPE_DEFERRED Split power_split(const Dataset& ds, double train_percent, std::uint32_t seed = 0);

/// Installs a split on a dataset (checked) and records it in the metadata.
GROKSCOPE_DEFERRED Dataset& apply_split(Dataset& ds, Split s, const std::string& how);

}  // namespace grokscope

#if GROKSCOPE_HEADER_ONLY
#include <grokscope/data/detail/modular-inl.hpp>
#endif
