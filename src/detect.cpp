// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// The compiled library's grokking detectors and curve smoothing.

#include <grokscope/detect/grokking-inl.hpp>
#include <grokscope/detect/smooth-inl.hpp>
