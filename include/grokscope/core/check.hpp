// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Argument checks that throw std::invalid_argument naming the function and the shapes,
/// and GROKSCOPE_ASSERT for internal invariants.

#include <grokscope/core/text.hpp>

#include <Eigen/Core>

#include <cmath>
#include <stdexcept>
#include <string>

/// Internal invariant: a failure is a bug in grokscope, reported as std::logic_error (never abort,
/// so a test or a long sweep can catch it).
#define GROKSCOPE_ASSERT(cond)                                                                           \
  do {                                                                                                   \
    if (!(cond))                                                                                         \
      throw std::logic_error(std::string("grokscope internal error: ") + #cond + " (" + __FILE__ + ":" + \
                             std::to_string(__LINE__) + ")");                                            \
  } while (0)

namespace grokscope {

/// "rows x cols" of any Eigen object, for error messages.
template <typename Derived>
std::string shape_string(const Eigen::EigenBase<Derived>& m) {
  return std::to_string(m.rows()) + "x" + std::to_string(m.cols());
}

/// Throws std::invalid_argument("grokscope::<where>: <what>").
[[noreturn]] inline void throw_invalid(const std::string& where, const std::string& what) {
  throw std::invalid_argument("grokscope::" + where + ": " + what);
}

/// Throws std::invalid_argument("grokscope::<where>: <what>") unless `ok`.
inline void require(bool ok, const std::string& where, const std::string& what) {
  if (!ok) throw_invalid(where, what);
}

/// The same for a literal message: nothing is built unless it throws (hot paths check on every
/// op; a message composed with `+` is built before the call, so those sites test first).
inline void require(bool ok, const char* where, const char* what) {
  if (!ok) throw_invalid(where, what);
}

/// Requires two operands of the same shape; the message names both and their shapes.
template <typename A, typename B>
void require_same_shape(const std::string& where, const char* name_a, const Eigen::EigenBase<A>& a, const char* name_b,
                        const Eigen::EigenBase<B>& b) {
  if (a.rows() != b.rows() || a.cols() != b.cols())
    throw_invalid(where, std::string(name_a) + " is " + shape_string(a) + " but " + name_b + " is " + shape_string(b) +
                             " (expected equal shapes)");
}

/// Requires a non-empty operand.
template <typename A>
void require_nonempty(const std::string& where, const char* name, const Eigen::EigenBase<A>& a) {
  if (a.rows() == 0 || a.cols() == 0) throw_invalid(where, std::string(name) + " is empty (" + shape_string(a) + ")");
}

/// Requires every entry to be finite; names the first offending entry.
template <typename Derived>
void require_finite(const std::string& where, const char* name, const Eigen::DenseBase<Derived>& a) {
  for (Eigen::Index i = 0; i < a.rows(); ++i)
    for (Eigen::Index j = 0; j < a.cols(); ++j)
      if (!std::isfinite(static_cast<double>(a(i, j))))
        throw_invalid(where, std::string(name) + " has a non-finite value " +
                                 format_number(static_cast<double>(a(i, j))) + " at (" + std::to_string(i) + ", " +
                                 std::to_string(j) + ")");
}

}  // namespace grokscope
