// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Definitions of the non-template functions declared in <grokscope/data/modular.hpp>: included by it in
/// header-only mode, compiled once into grokscope::compiled otherwise (core/config.hpp).

#include <grokscope/data/modular.hpp>

#if defined(GROKSCOPE_COMPILED) && !defined(GROKSCOPE_BUILDING_LIBRARY)
#error "grokscope: in compiled mode these definitions are in the library; include the header without -inl"
#endif

namespace grokscope {

GROKSCOPE_DEFERRED_DEF const char* mod_op_name(ModOp op) {
  switch (op) {
    case ModOp::Add:
      return "add";
    case ModOp::Sub:
      return "sub";
    case ModOp::Mul:
      return "mul";
    case ModOp::Div:
      return "div";
    case ModOp::SquarePoly:
      return "squarepoly";
    case ModOp::CubePoly:
      return "cubepoly";
    case ModOp::Quad1:
      return "quad1";
    case ModOp::Quad2:
      return "quad2";
    case ModOp::Quad3:
      return "quad3";
    case ModOp::Cube1:
      return "cube1";
    case ModOp::Cube2:
      return "cube2";
    case ModOp::Mix1:
      return "mix1";
    case ModOp::Mix1Paper:
      return "mix1_paper";
    case ModOp::EvenAddOddMul:
      return "even_add_odd_mul";
    case ModOp::EvenAddOddSub:
      return "even_add_odd_sub";
  }
  return "?";
}

GROKSCOPE_DEFERRED_DEF ModOp mod_op_from_name(const std::string& name) {
  for (int i = 0; i <= static_cast<int>(ModOp::EvenAddOddSub); ++i)
    if (name == mod_op_name(static_cast<ModOp>(i))) return static_cast<ModOp>(i);
  std::string all;
  for (int i = 0; i <= static_cast<int>(ModOp::EvenAddOddSub); ++i)
    all += std::string(i ? ", " : "") + mod_op_name(static_cast<ModOp>(i));
  throw_invalid("mod_op_from_name", "unknown operation '" + name + "' (known: " + all + ")");
}

GROKSCOPE_DEFERRED_DEF bool is_prime(Index p) {
  if (p < 2) return false;
  for (Index d = 2; d * d <= p; ++d)
    if (p % d == 0) return false;
  return true;
}

GROKSCOPE_DEFERRED_DEF Index mod_inverse(Index y, Index p) {
  require(is_prime(p), "mod_inverse", "p = " + std::to_string(p) + " is not prime");
  require(y % p != 0, "mod_inverse", "0 has no inverse mod " + std::to_string(p));
  Index result = 1, base = ((y % p) + p) % p, e = p - 2;
  while (e > 0) {
    if (e & 1) result = result * base % p;
    base = base * base % p;
    e >>= 1;
  }
  return result;
}

GROKSCOPE_DEFERRED_DEF Index mod_apply(ModOp op, Index x, Index y, Index p) {
  auto m = [p](Index v) { return ((v % p) + p) % p; };
  switch (op) {
    case ModOp::Add:
      return m(x + y);
    case ModOp::Sub:
      return m(x - y);
    case ModOp::Mul:
      return m(x * y);
    case ModOp::Div:
      return m(x * mod_inverse(y, p));
    case ModOp::SquarePoly:
      return m(x * x + y);
    case ModOp::CubePoly:
      return m(m(x * x) * x + y);
    case ModOp::Quad1:
      return m(x * x + y * y);
    case ModOp::Quad2:
      return m(x * x + x * y + y * y);
    case ModOp::Quad3:
      return m(x * x + x * y + y * y + x);
    case ModOp::Cube1:
      return m(m(x * x) * x + x * y);
    case ModOp::Cube2:
      return m(m(x * x) * x + m(x * y) * y + y);
    case ModOp::Mix1:
      return (y % 2 == 1) ? m(x / y) : m(x - y);
    case ModOp::Mix1Paper:
      return (y % 2 == 1) ? m(x * mod_inverse(y, p)) : m(x - y);
    case ModOp::EvenAddOddMul:
      return (x % 2 == 0) ? m(x + y) : m(x * y);
    case ModOp::EvenAddOddSub:
      return (x % 2 == 0) ? m(x + y) : m(x - y);
  }
  return 0;
}

GROKSCOPE_DEFERRED_DEF std::vector<Equation> modular_equations(ModOp op, Index p) {
  require(p >= 2, "modular_equations", "p must be >= 2, got " + std::to_string(p));
  // The bound is the memory the equations take (estimated in double: p·p may overflow Index).
  const double pp = static_cast<double>(p) * static_cast<double>(p);
  detail::require_memory("modular_equations", "p = " + std::to_string(p) + " (p^2 equations)",
                         pp * static_cast<double>(sizeof(Equation)), 0, "default_memory_limit()",
                         "use a smaller p or raise GROKSCOPE_MAX_MEMORY");
  const bool needs_inverse = op == ModOp::Div || op == ModOp::Mix1Paper;
  require(!needs_inverse || is_prime(p), "modular_equations",
          std::string(mod_op_name(op)) + " needs inverses: p = " + std::to_string(p) + " is not prime");
  std::vector<Equation> eqs;
  eqs.reserve(static_cast<std::size_t>(p * p));
  if (op == ModOp::Div) {
    for (Index c = 0; c < p; ++c)
      for (Index y = 1; y < p; ++y) eqs.push_back({(y * c) % p, y, c});
    return eqs;
  }
  for (Index x = 0; x < p; ++x)
    for (Index y = 0; y < p; ++y) {
      if ((op == ModOp::Mix1 || op == ModOp::Mix1Paper) && y == 0) continue;
      eqs.push_back({x, y, mod_apply(op, x, y, p)});
    }
  return eqs;
}

GROKSCOPE_DEFERRED_DEF Dataset modular_dataset(const ModularOptions& o) {
  require(o.p >= 2, "modular_dataset", "p must be >= 2, got " + std::to_string(o.p));
  {
    // Per equation: the equation, its label, its inputs (tokens, or a dense one-hot row of 2p
    // doubles) and the split's index and shuffle order.
    const double pp = static_cast<double>(o.p) * static_cast<double>(o.p);
    const double inputs = o.encoding == ModEncoding::OneHotFeatures ? 2.0 * static_cast<double>(o.p) * sizeof(double)
                                                                    : 4.0 * sizeof(Index);
    detail::require_memory("modular_dataset",
                           "p = " + std::to_string(o.p) + " (" + format_number(pp) + " equations, " +
                               (o.encoding == ModEncoding::OneHotFeatures ? "one-hot features" : "tokens") + ")",
                           pp * (sizeof(Equation) + 3.0 * sizeof(Index) + inputs), 0, "default_memory_limit()",
                           "use a smaller p or raise GROKSCOPE_MAX_MEMORY");
  }
  const std::vector<Equation> eqs = modular_equations(o.op, o.p);
  const Index n = static_cast<Index>(eqs.size()), p = o.p;
  Dataset ds;
  ds.name = std::string("modular_") + mod_op_name(o.op);
  ds.num_classes = p;
  ds.labels.resize(eqs.size());
  const char* enc = "";
  switch (o.encoding) {
    case ModEncoding::NandaTokens:
      ds.tokens.resize(n, 3), ds.vocab_size = p + 1, enc = "nanda_tokens";
      for (Index i = 0; i < n; ++i)
        ds.tokens.row(i) << eqs[static_cast<std::size_t>(i)].x, eqs[static_cast<std::size_t>(i)].y, p;
      break;
    case ModEncoding::OpTokens:
      ds.tokens.resize(n, 4), ds.vocab_size = p + 2, enc = "op_tokens";
      for (Index i = 0; i < n; ++i)
        ds.tokens.row(i) << eqs[static_cast<std::size_t>(i)].x, p + 1, eqs[static_cast<std::size_t>(i)].y, p;
      break;
    case ModEncoding::PairIndices:
      ds.tokens.resize(n, 2), ds.vocab_size = 2 * p, enc = "pair_indices";
      for (Index i = 0; i < n; ++i)
        ds.tokens.row(i) << eqs[static_cast<std::size_t>(i)].x, p + eqs[static_cast<std::size_t>(i)].y;
      break;
    case ModEncoding::OneHotFeatures:
      ds.features = Matrix<double>::Zero(n, 2 * p), enc = "one_hot_features";
      for (Index i = 0; i < n; ++i) {
        ds.features(i, eqs[static_cast<std::size_t>(i)].x) = 1.0;
        ds.features(i, p + eqs[static_cast<std::size_t>(i)].y) = 1.0;
      }
      break;
  }
  for (std::size_t i = 0; i < eqs.size(); ++i) ds.labels[i] = eqs[i].c;
  ds.meta = {{"task", "modular"}, {"op", mod_op_name(o.op)}, {"p", p}, {"encoding", enc}, {"equations", n}};
  return ds;
}

GROKSCOPE_DEFERRED_DEF Split nanda_split(const Dataset& ds, double fraction, std::uint64_t seed) {
  require(fraction > 0 && fraction < 1, "nanda_split", "fraction must be in (0, 1), got " + std::to_string(fraction));
  const Index n = ds.size();
  const Index p = ds.meta.contains("p") ? ds.meta["p"].get<Index>() : 0;
  require(p > 0 && n == p * p, "nanda_split",
          "needs all p^2 pairs of a modular dataset, got " + std::to_string(n) + " examples");
  IndexList order(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) order[static_cast<std::size_t>(i)] = i;
  PythonRandom(seed).shuffle(order);
  const Index n_train = static_cast<Index>(fraction * static_cast<double>(n));  // int() truncates
  require(n_train > 0 && n_train < n, "nanda_split", "fraction leaves an empty side");
  return Split{IndexList(order.begin(), order.begin() + n_train), IndexList(order.begin() + n_train, order.end())};
}

GROKSCOPE_DEFERRED_DEF Split power_split(const Dataset& ds, double train_percent, std::uint32_t seed) {
  require(train_percent > 0 && train_percent < 100, "power_split",
          "train_percent must be in (0, 100), got " + std::to_string(train_percent));
  const Index n = ds.size();
  IndexList order(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) order[static_cast<std::size_t>(i)] = i;
  NumpyRandomState(seed).shuffle(order);
  const Index n_train = static_cast<Index>(std::nearbyint(static_cast<double>(n) * (train_percent / 100.0)));
  require(n_train > 0 && n_train < n, "power_split", "train_percent leaves an empty side");
  return Split{IndexList(order.begin(), order.begin() + n_train), IndexList(order.begin() + n_train, order.end())};
}

GROKSCOPE_DEFERRED_DEF Dataset& apply_split(Dataset& ds, Split s, const std::string& how) {
  ds.train = std::move(s.train);
  ds.test = std::move(s.test);
  ds.meta["split"] = how;
  ds.meta["n_train"] = ds.train.size();
  ds.meta["n_test"] = ds.test.size();
  ds.validate();
  return ds;
}

}  // namespace grokscope
