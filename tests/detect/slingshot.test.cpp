#include "../test_util.hpp"

#include <grokscope/detect/slingshot.hpp>
#include <grokscope/io/csv.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <limits>

using namespace grokscope;

namespace {
// Loss falls from 1 to 1e-4 by step 1 000; the last-layer norm creeps up by 0.1 % per record.
// At each spike step the loss jumps to 0.05 for 3 records, and (with bursts) the norm grows by
// 20 % per record over the 3 records before it.
struct History {
  std::vector<double> step, loss, norm;
};
History synthetic(const std::vector<int>& spikes, bool bursts) {
  History h;
  double norm = 10;
  for (int s = 0; s <= 10000; s += 100) {
    double l = s < 1000 ? std::exp(-9.21 * s / 1000.0) : 1e-4;
    double grow = 1.001;
    for (int sp : spikes) {
      if (s >= sp && s < sp + 300) l = 0.05;
      if (bursts && s >= sp - 300 && s < sp) grow = 1.2;
    }
    norm *= grow;
    h.step.push_back(s), h.loss.push_back(l), h.norm.push_back(norm);
  }
  return h;
}
}  // namespace

TEST_CASE("three slingshot cycles: norm bursts before each loss spike") {
  const History h = synthetic({3000, 5500, 8000}, true);
  const SlingshotReport r = detect_slingshots(h.step, h.loss, h.norm);
  CHECK(r.spikes == 3);
  CHECK(r.cycles == 3);
  CHECK(r.spike_steps == std::vector<double>{3000, 5500, 8000});
  CHECK(r.cycle_steps == r.spike_steps);
  CHECK(r.peak_losses == std::vector<double>{0.05, 0.05, 0.05});
  CHECK(r.burst_steps.size() == 9);
  CHECK(r.notes.empty());
  const auto j = to_json(r);
  CHECK(j["cycles"] == 3);
}

TEST_CASE("spikes without norm bursts are spikes, not cycles; a smooth run has neither") {
  const History h = synthetic({3000, 8000}, false);
  const SlingshotReport r = detect_slingshots(h.step, h.loss, h.norm);
  CHECK(r.spikes == 2);
  CHECK(r.cycles == 0);
  CHECK(r.burst_steps.empty());
  const History smooth = synthetic({}, false);
  const SlingshotReport q = detect_slingshots(smooth.step, smooth.loss, smooth.norm);
  CHECK(q.spikes == 0);
  CHECK(q.cycles == 0);
  // a spike before the model has fitted is not counted
  History early = synthetic({}, false);
  early.loss[3] = 0.9;
  CHECK(detect_slingshots(early.step, early.loss, early.norm).spikes == 0);
}

TEST_CASE("bad records are skipped and noted; bad options are refused") {
  History h = synthetic({5000}, true);
  h.loss[20] = std::numeric_limits<double>::quiet_NaN();
  h.norm[30] = 0;
  std::swap(h.step[1], h.step[2]), std::swap(h.loss[1], h.loss[2]), std::swap(h.norm[1], h.norm[2]);
  const SlingshotReport r = detect_slingshots(h.step, h.loss, h.norm);
  CHECK(r.cycles == 1);
  CHECK(r.notes.size() == 2);
  CHECK(detect_slingshots({0, 1}, {1, 1}, {1}).notes.at(0) ==
        "steps, train_loss and last_layer_norm have 2, 2 and 1 entries");
  CHECK(detect_slingshots({}, {}, {}).notes.at(0) == "fewer than 3 usable records");
  SlingshotOptions o;
  o.spike_factor = 1;
  CHECK_THROWS_AS(detect_slingshots(h.step, h.loss, h.norm, o), std::invalid_argument);
}

TEST_CASE("real histories: Prieto et al.'s MLP without weight decay, float32 against double cross-entropy") {
  // The seed-0 history.csv of `numerical_stability --steps 3000 --stop-at 0.99` (README), arms
  // ce_float32 and ce_float64, copied here. With PyTorch's float32 gradient the training
  // loss jumps from 4e-8 to 0.02 at step 2 100, after the softmax has collapsed on 60 % of the rows;
  // with the gradient formed in double it falls smoothly to 2e-10.
  const CsvTable f32 = read_csv(test::fixture("logs/prieto_ce_float32.csv"));
  const SlingshotReport a =
      detect_slingshots(f32.numeric("step"), f32.numeric("train_loss"), f32.numeric("last_layer_norm"));
  CHECK(a.spikes == 1);
  CHECK(a.cycles == 1);
  CHECK(a.spike_steps == std::vector<double>{2100});
  CHECK(a.peak_losses[0] > 0.01);
  const CsvTable f64 = read_csv(test::fixture("logs/prieto_ce_float64.csv"));
  const SlingshotReport b =
      detect_slingshots(f64.numeric("step"), f64.numeric("train_loss"), f64.numeric("last_layer_norm"));
  CHECK(b.spikes == 0);
  CHECK(b.cycles == 0);
}
