// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// Linked into every benchmark executable: records in the benchmark's context (its JSON and the
// console header) how many threads grokscope ran on, whether the load-aware count could change
// it, and which SIMD instructions Eigen was compiled for, so that a table row names its build.
#include <grokscope/core/parallel.hpp>

#include <benchmark/benchmark.h>
#include <Eigen/Core>

#include <cstdlib>
#include <cstring>
#include <string>

namespace {

const bool registered = [] {
  const char* adapt = std::getenv("GROKSCOPE_ADAPT_THREADS");
  benchmark::AddCustomContext("grokscope_threads", std::to_string(Eigen::nbThreads()));
  benchmark::AddCustomContext("grokscope_adapt_threads", adapt && std::strcmp(adapt, "0") == 0 ? "off" : "on");
  // Eigen's own string says "AVX SSE, ..." for every AVX build, AVX2 and FMA included.
#if defined(__AVX512F__)
  const char* isa = "AVX-512";
#elif defined(__AVX2__) && defined(__FMA__)
  const char* isa = "AVX2+FMA";
#elif defined(__AVX__)
  const char* isa = "AVX";
#else
  const char* isa = "SSE";
#endif
  benchmark::AddCustomContext("compiled_for", isa);
  benchmark::AddCustomContext("eigen_simd", Eigen::SimdInstructionSetsInUse());
  return true;
}();

}  // namespace
