#include <grokscope/optim/schedule.hpp>

#include <doctest/doctest.h>

using namespace grokscope;

TEST_CASE("linear warm-up as the references: factor min(k/10, 1), the first step has lr 0") {
  const Schedule s = Schedule::linear_warmup(10);
  CHECK(s.factor(0) == 0.0);
  CHECK(s.factor(1) == doctest::Approx(0.1));
  CHECK(s.factor(9) == doctest::Approx(0.9));
  CHECK(s.factor(10) == 1.0);
  CHECK(s.factor(100000) == 1.0);
  CHECK(Schedule::constant().factor(0) == 1.0);
}

TEST_CASE("cosine after warm-up reaches min_factor at total") {
  const Schedule s = Schedule::cosine(110, 10, 0.1);
  CHECK(s.factor(5) == doctest::Approx(0.5));
  CHECK(s.factor(10) == doctest::Approx(1.0));
  CHECK(s.factor(60) == doctest::Approx(0.55));
  CHECK(s.factor(110) == doctest::Approx(0.1));
  CHECK(s.factor(500) == doctest::Approx(0.1));
  CHECK_THROWS_AS(Schedule::cosine(10, 10), std::invalid_argument);
  CHECK_THROWS_AS(Schedule::linear_warmup(0), std::invalid_argument);
  CHECK(s.to_json()["schedule"] == "cosine");
}
