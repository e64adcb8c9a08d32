// A consumer of the installed package: fits y = 3x with one parameter on the tape.
#include <grokscope/grokscope.hpp>

#include <cmath>
#include <cstdio>

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
  std::printf("grokscope %s: w = %.6f\n", version, w.value(0, 0));
  return std::abs(w.value(0, 0) - 3.0) < 1e-6 ? 0 : 1;
}
