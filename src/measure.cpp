// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// The compiled library's measurements: CKA, Fourier progress measures, kernel tools, NTK helpers.

#include <grokscope/measure/cka-inl.hpp>
#include <grokscope/measure/fourier-inl.hpp>
#include <grokscope/measure/kernel-inl.hpp>
#include <grokscope/measure/ntk-inl.hpp>
