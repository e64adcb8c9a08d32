// A consumer of the installed package: fits y = 3x with one parameter on the tape, and runs the
// grokking detector on a step curve (a non-template function: header-only, or from the library).
// It includes what it uses, not the umbrella header: the test suite compiles that one already
// (tests/headers), and header-only at -O3 it would make this test the slowest of the suite.
#include <grokscope/autodiff/ops.hpp>
#include <grokscope/core/rng.hpp>
#include <grokscope/core/version.hpp>
#include <grokscope/detect/grokking.hpp>

#include <cmath>
#include <cstdio>
#include <vector>

int main() {
  using namespace grokscope;
  Rng rng(1);
  const Matrix<double> x = rng.normal_matrix(32, 1);
  const Matrix<double> y = 3.0 * x;
  Parameter<double> w("w", Matrix<double>::Zero(1, 1));
  Tape<double> tape;
  for (int step = 0; step < 200; ++step) {
    tape.reset();
    w.zero_grad();
    tape.backward(mse(linear(tape.constant(x), tape.param(w)), tape.constant(y)));
    w.value -= 0.1 * w.grad;
  }
  std::vector<double> steps, train, test;
  for (int s = 0; s <= 100; ++s) {
    steps.push_back(s);
    train.push_back(s >= 10 ? 1.0 : 0.1);
    test.push_back(s >= 60 ? 1.0 : 0.1);
  }
  const GrokReport r = detect_grokking(steps, train, test);
  std::printf("grokscope %s (%s): w = %.6f, verdict %s\n", version, GROKSCOPE_HEADER_ONLY ? "header-only" : "compiled",
              w.value(0, 0), verdict_name(r.verdict));
  return std::abs(w.value(0, 0) - 3.0) < 1e-6 && r.verdict == GrokVerdict::Grokked ? 0 : 1;
}
