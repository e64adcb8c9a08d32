// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// The compiled library's autodiff: Tape and the ops, for double.

#include <grokscope/autodiff/ops.hpp>
#include <grokscope/autodiff/tape.hpp>

namespace grokscope {
template struct Parameter<double>;
template struct Node<double>;
template struct Var<double>;
template class Tape<double>;
GROKSCOPE_OPS_INSTANTIATIONS(template, double)
}  // namespace grokscope
