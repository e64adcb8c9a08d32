#include <grokscope/core/rng.hpp>
#include <grokscope/optim/adam.hpp>
#include <grokscope/optim/grokfast.hpp>

#include "fixture_util.hpp"

#include <doctest/doctest.h>

#include <cmath>

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

TEST_CASE("Grokfast normalize: the filtered gradient keeps the raw global norm and the filtered direction") {
  Parameter<double> a("a", Matrix<double>::Zero(2, 2)), b("b", Matrix<double>::Zero(1, 3));
  Parameter<double> a2("a", Matrix<double>::Zero(2, 2)), b2("b", Matrix<double>::Zero(1, 3));
  Parameter<double> frozen("frozen", Matrix<double>::Zero(1, 1));
  frozen.requires_grad = false;
  GrokfastEma<double> plain(0.9, 2.0), norm(0.9, 2.0, true);
  GrokfastMa<double> ma_plain(2, 5.0), ma_norm(2, 5.0, true, false, true);
  Rng rng(3);
  for (int k = 0; k < 4; ++k) {
    Matrix<double> ga(2, 2), gb(1, 3);
    for (Index i = 0; i < ga.size(); ++i) ga(i) = rng.normal();
    for (Index i = 0; i < gb.size(); ++i) gb(i) = rng.normal() + (k == 0 ? 5.0 : 0.0);  // uneven steps
    const double raw = std::sqrt(ga.squaredNorm() + gb.squaredNorm());
    for (int which = 0; which < 2; ++which) {
      a.grad = ga, b.grad = gb, a2.grad = ga, b2.grad = gb;
      frozen.grad.setConstant(7.0);
      if (which == 0) {
        plain.apply({&a, &b});
        norm.apply({&a2, &b2, &frozen});
      } else {
        ma_plain.apply({&a, &b});
        ma_norm.apply({&a2, &b2, &frozen});
      }
      const double filtered = std::sqrt(a.grad.squaredNorm() + b.grad.squaredNorm());
      CHECK(std::sqrt(a2.grad.squaredNorm() + b2.grad.squaredNorm()) == doctest::Approx(raw).epsilon(1e-12));
      // same direction as the unnormalised filter: a2 = (raw / filtered) · a
      CHECK((a2.grad - a.grad * (raw / filtered)).norm() < 1e-12 * raw);
      CHECK((b2.grad - b.grad * (raw / filtered)).norm() < 1e-12 * raw);
      CHECK(frozen.grad(0, 0) == 7.0);  // parameters without gradients are left alone
      if (which == 0 && k == 0) CHECK(filtered == doctest::Approx(3.0 * raw));  // (1 + λ) g on the first call
    }
  }
  CHECK(norm.config()["normalize"] == true);
  CHECK(ma_plain.config()["normalize"] == false);
}
