// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// The compiled library's training loop (float and double), history, sweeps and the probes' non-template functions.

#include <grokscope/train/detail/history-inl.hpp>
#include <grokscope/train/detail/probes-inl.hpp>
#include <grokscope/train/detail/sweep-inl.hpp>
#include <grokscope/train/probes.hpp>
#include <grokscope/train/trainer.hpp>

namespace grokscope {
GROKSCOPE_INSTANTIATE_CLASS(Trainer)
GROKSCOPE_PROBES_INSTANTIATIONS(template, float)
GROKSCOPE_PROBES_INSTANTIATIONS(template, double)
}  // namespace grokscope
