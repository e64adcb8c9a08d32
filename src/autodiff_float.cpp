// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// The compiled library's autodiff: Tape and the ops, for float.

#include <grokscope/autodiff/ops.hpp>
#include <grokscope/autodiff/tape.hpp>

namespace grokscope {
template struct Parameter<float>;
template struct Node<float>;
template struct Var<float>;
template class Tape<float>;
GROKSCOPE_OPS_INSTANTIATIONS(template, float)
}  // namespace grokscope
