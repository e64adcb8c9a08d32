// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// The compiled library's optimisers and gradient filters, for float and double.

#include <grokscope/optim/adam.hpp>
#include <grokscope/optim/constant_norm.hpp>
#include <grokscope/optim/grokfast.hpp>
#include <grokscope/optim/optimizer.hpp>
#include <grokscope/optim/orthograd.hpp>
#include <grokscope/optim/sgd.hpp>
#include <grokscope/optim/spectral_entropy.hpp>

namespace grokscope {
GROKSCOPE_INSTANTIATE_CLASS(Optimizer)
GROKSCOPE_INSTANTIATE_CLASS(GradientFilter)
GROKSCOPE_INSTANTIATE_CLASS(Adam)
GROKSCOPE_INSTANTIATE_CLASS(Sgd)
GROKSCOPE_INSTANTIATE_CLASS(GrokfastEma)
GROKSCOPE_INSTANTIATE_CLASS(GrokfastMa)
GROKSCOPE_INSTANTIATE_CLASS(OrthoGrad)
GROKSCOPE_INSTANTIATE_CLASS(ConstantNorm)
GROKSCOPE_INSTANTIATE_CLASS(SpectralEntropyPenalty)
}  // namespace grokscope
