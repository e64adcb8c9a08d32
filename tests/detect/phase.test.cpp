#include <grokscope/detect/phase.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <vector>

using namespace grokscope;

namespace {

// A run evaluated every 100 steps to 20 000 whose accuracies jump from 0 to 1 at the given steps
// (negative: never).
LiuPhaseResult run(double t_train, double t_test) {
  std::vector<double> steps, tr, te;
  for (double s = 0; s <= 20000; s += 100) {
    steps.push_back(s);
    tr.push_back(t_train >= 0 && s >= t_train ? 1.0 : 0.1);
    te.push_back(t_test >= 0 && s >= t_test ? 0.95 : 0.05);
  }
  return classify_liu_phase(steps, tr, te);
}

}  // namespace

TEST_CASE("classify_liu_phase: the four phases of synthetic curves") {
  const LiuPhaseResult c = run(100, 900), g = run(100, 1200), m = run(100, -1), x = run(-1, -1);
  CHECK(c.phase == LiuPhase::Comprehension);
  CHECK(g.phase == LiuPhase::Grokking);
  CHECK(m.phase == LiuPhase::Memorization);
  CHECK(x.phase == LiuPhase::Confusion);
  CHECK(*c.t_train == 100);
  CHECK(*g.t_test == 1200);
  CHECK(!m.t_test);
  CHECK(!x.t_train);
  CHECK(std::string(liu_phase_name(g.phase)) == "grokking");
  // the gap boundary: exactly max_gap is grokking
  CHECK(run(100, 1100).phase == LiuPhase::Grokking);
  // a budget cuts a late generalisation
  LiuPhaseOptions o;
  o.budget = 1000;
  const std::vector<double> s{0, 500, 1000, 1500}, tr{0, 1, 1, 1}, te{0, 0, 0, 1};
  CHECK(classify_liu_phase(s, tr, te, o).phase == LiuPhase::Memorization);
  o.budget = 2000;
  CHECK(classify_liu_phase(s, tr, te, o).phase == LiuPhase::Grokking);
  // NaN evaluations are skipped
  CHECK(classify_liu_phase({0, 100}, {std::nan(""), 1.0}, {std::nan(""), 1.0}).phase == LiuPhase::Comprehension);
}

TEST_CASE("classify_liu_phase: bad input is named") {
  CHECK_THROWS_WITH_AS(classify_liu_phase({0, 1}, {0}, {0, 1}),
                       "grokscope::classify_liu_phase: steps, train_acc and test_acc differ in length",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(classify_liu_phase({1, 0}, {0, 0}, {0, 0}),
                       "grokscope::classify_liu_phase: steps must be strictly ascending", std::invalid_argument);
  LiuPhaseOptions o;
  o.threshold = 0;
  CHECK_THROWS_AS(classify_liu_phase({0}, {0}, {0}, o), std::invalid_argument);
}
