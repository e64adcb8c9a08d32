// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// The compiled library's grokking detectors and curve smoothing.

#include <grokscope/detect/detail/grokking-inl.hpp>
#include <grokscope/detect/detail/slingshot-inl.hpp>
#include <grokscope/detect/detail/smooth-inl.hpp>
