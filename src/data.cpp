// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// The compiled library's datasets and splits.

#include <grokscope/data/detail/dataset-inl.hpp>
#include <grokscope/data/detail/groups-inl.hpp>
#include <grokscope/data/detail/idx-inl.hpp>
#include <grokscope/data/detail/modular-inl.hpp>
#include <grokscope/data/detail/parity-inl.hpp>
#include <grokscope/data/detail/regression-inl.hpp>
