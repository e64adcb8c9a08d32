// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Umbrella header: includes every public grokscope header.

#include <grokscope/core/version.hpp>

#include <grokscope/core/check.hpp>
#include <grokscope/core/file.hpp>
#include <grokscope/core/memory.hpp>
#include <grokscope/core/reference_rng.hpp>
#include <grokscope/core/rng.hpp>
#include <grokscope/core/text.hpp>
#include <grokscope/core/types.hpp>
#include <grokscope/core/xtensor.hpp>

#include <grokscope/io/csv.hpp>
#include <grokscope/io/npy.hpp>

#include <grokscope/autodiff/gradcheck.hpp>
#include <grokscope/autodiff/ops.hpp>
#include <grokscope/autodiff/tape.hpp>

#include <grokscope/detect/grokking.hpp>
#include <grokscope/detect/phase.hpp>
#include <grokscope/detect/slingshot.hpp>
#include <grokscope/detect/smooth.hpp>

#include <grokscope/data/dataset.hpp>
#include <grokscope/data/groups.hpp>
#include <grokscope/data/idx.hpp>
#include <grokscope/data/modular.hpp>
#include <grokscope/data/multitask_parity.hpp>
#include <grokscope/data/parity.hpp>
#include <grokscope/data/regression.hpp>
#include <grokscope/data/subsets.hpp>

#include <grokscope/io/params.hpp>

#include <grokscope/nn/capture.hpp>
#include <grokscope/nn/embedding.hpp>
#include <grokscope/nn/init.hpp>
#include <grokscope/nn/linear.hpp>
#include <grokscope/nn/mlp.hpp>
#include <grokscope/nn/model.hpp>
#include <grokscope/nn/transformer.hpp>

#include <grokscope/optim/adam.hpp>
#include <grokscope/optim/constant_norm.hpp>
#include <grokscope/optim/grokfast.hpp>
#include <grokscope/optim/optimizer.hpp>
#include <grokscope/optim/orthograd.hpp>
#include <grokscope/optim/schedule.hpp>
#include <grokscope/optim/sgd.hpp>
#include <grokscope/optim/spectral_entropy.hpp>

#include <grokscope/train/history.hpp>
#include <grokscope/train/probes.hpp>
#include <grokscope/train/sweep.hpp>
#include <grokscope/train/trainer.hpp>

#include <grokscope/measure/circuit_efficiency.hpp>
#include <grokscope/measure/circuits.hpp>
#include <grokscope/measure/cka.hpp>
#include <grokscope/measure/complexity.hpp>
#include <grokscope/measure/fourier.hpp>
#include <grokscope/measure/heavy_tail.hpp>
#include <grokscope/measure/hessian.hpp>
#include <grokscope/measure/kernel.hpp>
#include <grokscope/measure/kumar.hpp>
#include <grokscope/measure/linearize.hpp>
#include <grokscope/measure/linearized.hpp>
#include <grokscope/measure/llc.hpp>
#include <grokscope/measure/local_complexity.hpp>
#include <grokscope/measure/ntk.hpp>
#include <grokscope/measure/spectra.hpp>
#include <grokscope/measure/weights.hpp>
