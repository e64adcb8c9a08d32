// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Umbrella header: includes every public grokscope header.

#include <grokscope/version.hpp>

#include <grokscope/core/check.hpp>
#include <grokscope/core/reference_rng.hpp>
#include <grokscope/core/rng.hpp>
#include <grokscope/core/types.hpp>
#include <grokscope/core/xtensor.hpp>

#include <grokscope/io/csv.hpp>
#include <grokscope/io/npy.hpp>

#include <grokscope/autodiff/gradcheck.hpp>
#include <grokscope/autodiff/ops.hpp>
#include <grokscope/autodiff/tape.hpp>

#include <grokscope/detect/grokking.hpp>
#include <grokscope/detect/smooth.hpp>

#include <grokscope/data/dataset.hpp>
#include <grokscope/data/groups.hpp>
#include <grokscope/data/idx.hpp>
#include <grokscope/data/modular.hpp>
#include <grokscope/data/parity.hpp>
#include <grokscope/data/regression.hpp>
