// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#include <grokscope/autodiff/ops.hpp>
#include <grokscope/core/config.hpp>
#include <grokscope/detect/grokking.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

// The mode macros agree with each other: compiled exactly when GROKSCOPE_COMPILED is defined.
#if defined(GROKSCOPE_COMPILED)
static_assert(GROKSCOPE_HEADER_ONLY == 0, "compiled mode must not be header-only");
#else
static_assert(GROKSCOPE_HEADER_ONLY == 1, "header-only mode without GROKSCOPE_COMPILED");
#endif

namespace {
template <typename S>
double grad_of_square_sum() {
  grokscope::Tape<S> tape;
  grokscope::Parameter<S> w("w", grokscope::Matrix<S>::Constant(2, 3, S(1.5)));
  tape.backward(grokscope::sum(grokscope::square(tape.param(w))));
  return static_cast<double>(w.grad.sum());
}
}  // namespace

TEST_CASE("the test suite runs against the compiled library: ops and detectors come from it") {
#if defined(GROKSCOPE_COMPILED)
  CHECK(GROKSCOPE_HEADER_ONLY == 0);
#endif
  // d/dw Σ w² = 2w: six entries of 3.
  CHECK(grad_of_square_sum<float>() == doctest::Approx(18.0));
  CHECK(grad_of_square_sum<double>() == 18.0);
  std::vector<double> steps, train, test;
  for (int s = 0; s <= 100; ++s) {
    steps.push_back(s);
    train.push_back(s >= 10 ? 1.0 : 0.0);
    test.push_back(s >= 70 ? 1.0 : 0.0);
  }
  const grokscope::GrokReport r = grokscope::detect_grokking(steps, train, test);
  CHECK(r.verdict == grokscope::GrokVerdict::Grokked);
  CHECK(std::string(grokscope::verdict_name(r.verdict)) == "grokked");
}
