// The umbrella header (twice, as every header of the suite) in a C++20 translation unit, linked
// with the C++17 ones.
#include <grokscope/grokscope.hpp>

int grokscope_cxx20_tu() {
  grokscope::Tape<double> tape;
  grokscope::Parameter<double> w("w", grokscope::Matrix<double>::Ones(2, 2));
  const auto loss = grokscope::sum(grokscope::square(tape.param(w)));
  tape.backward(loss);
  return w.grad(0, 0) == 2.0 ? 0 : 1;
}
