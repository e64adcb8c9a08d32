// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// The compiled library's empirical NTK: the structured and Jacobian-contraction methods for float
// and double models, and their helpers.

#include <grokscope/measure/detail/ntk-inl.hpp>
#include <grokscope/measure/ntk.hpp>

namespace grokscope {
GROKSCOPE_NTK_INSTANTIATIONS(template, float)
GROKSCOPE_NTK_INSTANTIATIONS(template, double)
}  // namespace grokscope
