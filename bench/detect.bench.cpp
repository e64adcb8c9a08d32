// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// Detector speed: the sigmoid fit and the whole report on long, noisy, irregularly sampled logs.
#include <grokscope/core/rng.hpp>
#include <grokscope/detect/grokking.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>

namespace {

struct Curve {
  std::vector<double> step, train, test;
};

Curve make_curve(std::size_t n) {
  grokscope::Rng rng(1);
  Curve c;
  for (std::size_t i = 0; i < n; ++i) c.step.push_back(1e6 * rng.uniform());
  std::sort(c.step.begin(), c.step.end());
  for (double t : c.step) {
    c.train.push_back(t > 2e4 ? 1.0 : t / 2e4);
    c.test.push_back(0.01 + 0.99 / (1 + std::exp(-2e-5 * (t - 5e5))) + rng.normal(0, 0.02));
  }
  return c;
}

void BM_SigmoidFit(benchmark::State& state) {
  const Curve c = make_curve(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    auto fit = grokscope::fit_sigmoid(c.step, c.test);
    benchmark::DoNotOptimize(fit);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_SigmoidFit)->Arg(1000)->Arg(100000)->Unit(benchmark::kMillisecond);

void BM_DetectGrokking(benchmark::State& state) {
  const Curve c = make_curve(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    auto rep = grokscope::detect_grokking(c.step, c.train, c.test);
    benchmark::DoNotOptimize(rep);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_DetectGrokking)->Arg(1000)->Arg(100000)->Unit(benchmark::kMillisecond);

}  // namespace
