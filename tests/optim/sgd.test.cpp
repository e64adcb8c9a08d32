#include <grokscope/optim/sgd.hpp>

#include "fixture_util.hpp"

#include <doctest/doctest.h>

#include <limits>

using namespace grokscope;
using test::load_fixture;
using test::rel_diff;

TEST_CASE("SGD with momentum and weight decay matches torch.optim.SGD over two steps") {
  Parameter<double> w("w", load_fixture("optim_sgd_momentum", "w0"));
  SgdConfig c;
  c.lr = 0.1, c.momentum = 0.9, c.weight_decay = 0.01;
  Sgd<double> opt({&w}, c);
  for (int k = 1; k <= 2; ++k) {
    w.grad = load_fixture("optim_sgd_momentum", "grad" + std::to_string(k));
    opt.step(0.1);
    CHECK(rel_diff(w.value, load_fixture("optim_sgd_momentum", "w" + std::to_string(k))) < 1e-14);
  }
}

TEST_CASE("plain gradient descent and Nesterov") {
  Parameter<double> w("w", Matrix<double>::Constant(1, 1, 2.0));
  Sgd<double> gd({&w}, SgdConfig{});
  w.grad.setConstant(3.0);
  gd.step(0.5);
  CHECK(w.value(0, 0) == doctest::Approx(0.5));
  Parameter<double> v("v", Matrix<double>::Zero(1, 1));
  SgdConfig n;
  n.momentum = 0.5, n.nesterov = true;
  Sgd<double> nes({&v}, n);
  v.grad.setConstant(1.0);
  nes.step(1.0);  // buf = 1, g = 1 + 0.5·1
  CHECK(v.value(0, 0) == doctest::Approx(-1.5));
  SgdConfig bad;
  bad.nesterov = true;
  CHECK_THROWS_WITH_AS(Sgd<double>({&v}, bad), "grokscope::Sgd: Nesterov needs momentum > 0 and dampening 0",
                       std::invalid_argument);
  for (double b : {std::numeric_limits<double>::infinity(), std::numeric_limits<double>::quiet_NaN(), -0.5}) {
    CAPTURE(b);
    for (int field = 0; field < 3; ++field) {
      SgdConfig c;
      (field == 0 ? c.lr : field == 1 ? c.momentum : c.weight_decay) = b;
      CHECK_THROWS_WITH_AS(Sgd<double>({&v}, c), doctest::Contains("must be finite and >= 0"), std::invalid_argument);
    }
  }
}
