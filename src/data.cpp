// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// The compiled library's datasets and splits.

#include <grokscope/data/dataset-inl.hpp>
#include <grokscope/data/groups-inl.hpp>
#include <grokscope/data/idx-inl.hpp>
#include <grokscope/data/modular-inl.hpp>
#include <grokscope/data/parity-inl.hpp>
#include <grokscope/data/regression-inl.hpp>
