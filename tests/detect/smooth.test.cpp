#include <grokscope/core/rng.hpp>
#include <grokscope/detect/smooth.hpp>

#include <doctest/doctest.h>

#include <cmath>

using namespace grokscope;

TEST_CASE("moving averages: in steps and in records agree on a regular grid") {
  std::vector<double> s, v;
  for (int i = 0; i < 20; ++i) s.push_back(10.0 * i), v.push_back(i % 3 == 0 ? 1.0 : 0.0);
  const auto a = moving_average(s, v, 20.0);  // ±10 steps: 3 records
  const auto b = moving_average_records(v, 3);
  for (std::size_t i = 0; i < v.size(); ++i) CHECK(a[i] == doctest::Approx(b[i]));
  CHECK(a[0] == doctest::Approx(0.5));  // ends shrink
  CHECK(moving_average_records(v, 1) == v);
  const auto c = moving_average(s, v, 0.0);
  CHECK(c == v);
}

TEST_CASE("moving average over irregular steps uses the step window, not the record count") {
  const std::vector<double> s{0, 1, 2, 100, 200}, v{0, 0, 3, 9, 0};
  const auto a = moving_average(s, v, 4.0);
  CHECK(a[0] == doctest::Approx(1.0));  // steps 0, 1, 2 lie within ±2 of step 0
  CHECK(a[3] == doctest::Approx(9.0));  // alone in its window
  CHECK(a[1] == doctest::Approx(1.0));
}

TEST_CASE("EMA in step units matches the per-record EMA on a regular grid and handles gaps") {
  Rng rng(1);
  std::vector<double> s, v;
  for (int i = 0; i < 50; ++i) s.push_back(2.0 * i), v.push_back(rng.normal());
  const double h = 6.0;  // half-life 6 steps = 3 records
  const auto a = ema(s, v, h);
  const auto b = ema_records(v, std::exp2(-2.0 / h));
  for (std::size_t i = 0; i < v.size(); ++i) CHECK(a[i] == doctest::Approx(b[i]).epsilon(1e-12));
  // a long gap forgets the past: after 100 half-lives the EMA is the new value
  const auto g = ema({0, 1, 601}, {5, 5, -1}, 6.0);
  CHECK(g[2] == doctest::Approx(-1.0).epsilon(1e-12));
}

TEST_CASE("smoothing rejects bad input") {
  CHECK_THROWS_WITH_AS(moving_average({0, 1}, {1}, 1.0),
                       "grokscope::moving_average: steps has 2 entries but values has 1", std::invalid_argument);
  CHECK_THROWS_WITH_AS(moving_average({1, 0}, {1, 1}, 1.0),
                       "grokscope::moving_average: steps must be sorted ascending (step[1] < step[0])",
                       std::invalid_argument);
  CHECK_THROWS_AS(moving_average({0, 1}, {1, 1}, -1.0), std::invalid_argument);
  CHECK_THROWS_AS(ema({0, 1}, {1, 1}, 0.0), std::invalid_argument);
  CHECK_THROWS_AS(ema_records({1.0}, 1.0), std::invalid_argument);
  CHECK_THROWS_AS(moving_average_records({1.0}, 0), std::invalid_argument);
}
