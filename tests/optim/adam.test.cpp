#include <grokscope/optim/adam.hpp>

#include "fixture_util.hpp"

#include <doctest/doctest.h>

#include <limits>

using namespace grokscope;
using test::load_fixture;
using test::rel_diff;

namespace {
void two_steps(Optimizer<double>& opt, Parameter<double>& w, const std::string& c, double lr) {
  for (int k = 1; k <= 2; ++k) {
    w.grad = load_fixture(c, "grad" + std::to_string(k));
    opt.step(lr);
    CHECK(rel_diff(w.value, load_fixture(c, "w" + std::to_string(k))) < 1e-13);
  }
}
}  // namespace

TEST_CASE("AdamW (decoupled decay) matches torch.optim.AdamW over two steps") {
  Parameter<double> w("w", load_fixture("optim_adamw", "w0"));
  AdamConfig c = AdamConfig::grokking(0.5);
  c.lr = 1e-2;
  Adam<double> opt({&w}, c);
  two_steps(opt, w, "optim_adamw", 1e-2);
  CHECK(opt.config()["optimizer"] == "adamw");
  CHECK(opt.steps() == 2);
}

TEST_CASE("Adam+L2 (coupled decay) matches torch.optim.Adam(weight_decay) and differs from AdamW") {
  Parameter<double> w("w", load_fixture("optim_adam_l2", "w0"));
  AdamConfig c = AdamConfig::grokking(0.5);
  c.lr = 1e-2;
  c.decay = WeightDecayMode::CoupledL2;
  Adam<double> opt({&w}, c);
  two_steps(opt, w, "optim_adam_l2", 1e-2);
  CHECK(opt.config()["optimizer"] == "adam_l2");
  CHECK(rel_diff(load_fixture("optim_adam_l2", "w2"), load_fixture("optim_adamw", "w2")) > 1e-4);
}

TEST_CASE("Adam rejects bad hyperparameters and skips frozen parameters") {
  Parameter<double> w("w", Matrix<double>::Ones(2, 2));
  AdamConfig c;
  c.beta2 = 1.0;
  CHECK_THROWS_WITH_AS(Adam<double>({&w}, c), "grokscope::Adam: betas must be in [0, 1), got (0.900000, 1.000000)",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(Adam<double>({}, AdamConfig{}), "grokscope::Optimizer: no parameters to optimise",
                       std::invalid_argument);
  const double inf = std::numeric_limits<double>::infinity(), nan = std::numeric_limits<double>::quiet_NaN();
  for (double bad : {inf, -1.0, nan}) {
    CAPTURE(bad);
    for (int field = 0; field < 3; ++field) {
      AdamConfig b;
      (field == 0 ? b.lr : field == 1 ? b.eps : b.weight_decay) = bad;
      CHECK_THROWS_WITH_AS(Adam<double>({&w}, b), "grokscope::Adam: lr, eps and weight_decay must be finite and >= 0",
                           std::invalid_argument);
    }
    AdamConfig b;
    b.beta1 = bad;
    CHECK_THROWS_AS(Adam<double>({&w}, b), std::invalid_argument);
  }
  w.requires_grad = false;
  w.grad.setOnes();
  Adam<double> opt({&w}, AdamConfig{});
  opt.step(0.1);
  CHECK(w.value == Matrix<double>::Ones(2, 2));
}
