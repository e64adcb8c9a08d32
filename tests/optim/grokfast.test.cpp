#include <grokscope/optim/adam.hpp>
#include <grokscope/optim/grokfast.hpp>

#include "fixture_util.hpp"

#include <doctest/doctest.h>

using namespace grokscope;
using test::load_fixture;
using test::rel_diff;

TEST_CASE("Grokfast-EMA before AdamW matches the reference code over two steps") {
  Parameter<double> w("w", load_fixture("optim_grokfast_ema_adamw", "w0"));
  AdamConfig c = AdamConfig::grokking(0.5);
  c.lr = 1e-2;
  Adam<double> opt({&w}, c);
  GrokfastEma<double> f(0.98, 2.0);
  for (int k = 1; k <= 2; ++k) {
    w.grad = load_fixture("optim_grokfast_ema_adamw", "grad" + std::to_string(k));
    f.apply({&w});
    opt.step(1e-2);
    CHECK(rel_diff(w.value, load_fixture("optim_grokfast_ema_adamw", "w" + std::to_string(k))) < 1e-13);
  }
}

TEST_CASE("Grokfast-EMA: the first step gives (1 + λ) g; the second uses μ = α g1 + (1 − α) g2") {
  Parameter<double> w("w", Matrix<double>::Zero(1, 2));
  GrokfastEma<double> f(0.9, 3.0);
  w.grad << 1.0, -2.0;
  f.apply({&w});
  CHECK(w.grad(0, 0) == doctest::Approx(4.0));
  CHECK(w.grad(0, 1) == doctest::Approx(-8.0));
  w.grad << 10.0, 0.0;
  f.apply({&w});
  CHECK(w.grad(0, 0) == doctest::Approx(10.0 + 3.0 * (0.9 * 1.0 + 0.1 * 10.0)));
  CHECK_THROWS_AS(GrokfastEma<double>(1.0, 2.0), std::invalid_argument);
}

TEST_CASE("Grokfast-MA: unfiltered during warm-up, then the window includes the current gradient") {
  Parameter<double> w("w", Matrix<double>::Zero(1, 1));
  GrokfastMa<double> f(3, 2.0);
  const double g[] = {1.0, 2.0, 3.0, 4.0};
  const double want[] = {1.0, 2.0, 3.0 + 2.0 * 2.0, 4.0 + 2.0 * 3.0};  // mean(1,2,3) = 2, mean(2,3,4) = 3
  for (int k = 0; k < 4; ++k) {
    w.grad(0, 0) = g[k];
    f.apply({&w});
    CHECK(w.grad(0, 0) == doctest::Approx(want[k]));
  }
  GrokfastMa<double> nowarm(3, 1.0, false, true);  // sum, filtered from the first step
  w.grad(0, 0) = 5.0;
  nowarm.apply({&w});
  CHECK(w.grad(0, 0) == doctest::Approx(10.0));
  CHECK_THROWS_AS(GrokfastMa<double>(0), std::invalid_argument);
  CHECK(nowarm.config()["type"] == "sum");
}
