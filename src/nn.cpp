// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// The compiled library's models: Model, Linear, Embedding, Mlp and Transformer, for float and double.

#include <grokscope/nn/embedding.hpp>
#include <grokscope/nn/linear.hpp>
#include <grokscope/nn/mlp.hpp>
#include <grokscope/nn/model.hpp>
#include <grokscope/nn/transformer.hpp>

namespace grokscope {
GROKSCOPE_INSTANTIATE_STRUCT(ModelInput)
GROKSCOPE_INSTANTIATE_CLASS(Model)
GROKSCOPE_INSTANTIATE_CLASS(OutputTransform)
GROKSCOPE_INSTANTIATE_STRUCT(Linear)
GROKSCOPE_INSTANTIATE_STRUCT(Embedding)
GROKSCOPE_INSTANTIATE_CLASS(Mlp)
GROKSCOPE_INSTANTIATE_CLASS(Transformer)
}  // namespace grokscope
