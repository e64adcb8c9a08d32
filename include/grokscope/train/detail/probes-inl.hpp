// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Definitions of the non-template functions declared in <grokscope/train/probes.hpp>: included by it in
/// header-only mode, compiled once into grokscope::compiled otherwise (core/config.hpp).

#include <grokscope/train/probes.hpp>

#if defined(GROKSCOPE_COMPILED) && !defined(GROKSCOPE_BUILDING_LIBRARY)
#error "grokscope: in compiled mode these definitions are in the library; include the header without -inl"
#endif

namespace grokscope {

GROKSCOPE_DEFERRED_DEF ProbeFn<double> sharpness_probe(LossFn<double> loss, Index iterations, Index trace_samples,
                                                       std::uint64_t seed) {
  require(iterations >= 1, "sharpness_probe", "iterations must be >= 1");
  require(trace_samples >= 0, "sharpness_probe", "trace_samples must be >= 0");
  return [loss = std::move(loss), iterations, trace_samples, seed](Model<double>& m, Index) {
    HessianOperator H(m, loss);
    LanczosOptions lo;
    lo.iterations = iterations;
    lo.seed = seed;
    const EigenEstimate e = lanczos_eigenvalues(H.as_operator(), lo);
    Record r{{"hessian_top", e.eigenvalues(0)}, {"hessian_top_residual", e.residuals(0)}};
    if (trace_samples > 0) {
      TraceOptions to;
      to.max_iter = trace_samples;
      to.tol = 0;
      to.seed = seed + 1;
      r.emplace_back("hessian_trace", hutchinson_trace(H.as_operator(), to).trace);
    }
    return r;
  };
}

}  // namespace grokscope
