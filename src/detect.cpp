// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// The compiled library's grokking detectors and curve smoothing.

#include <grokscope/detect/detail/grokking-inl.hpp>
#include <grokscope/detect/detail/slingshot-inl.hpp>
#include <grokscope/detect/detail/smooth-inl.hpp>

namespace grokscope {
template std::optional<SigmoidFit> fit_sigmoid<double>(const std::vector<double>&, const std::vector<double>&, double);
template std::optional<SigmoidFit> fit_sigmoid<float>(const std::vector<float>&, const std::vector<float>&, double);
template GrokReport detect_grokking<double>(const std::vector<double>&, const std::vector<double>&,
                                            const std::vector<double>&, const DetectOptions&);
template GrokReport detect_grokking<float>(const std::vector<float>&, const std::vector<float>&,
                                           const std::vector<float>&, const DetectOptions&);
}  // namespace grokscope
