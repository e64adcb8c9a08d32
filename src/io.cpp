// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// The compiled library's CSV and .npy readers and writers.

#include <grokscope/io/detail/csv-inl.hpp>
#include <grokscope/io/detail/npy-inl.hpp>
