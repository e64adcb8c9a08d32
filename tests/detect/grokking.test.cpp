#include <grokscope/core/rng.hpp>
#include <grokscope/detect/grokking.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <limits>

using namespace grokscope;

namespace {

struct Log {
  std::vector<double> step, train, test;
};

// The tutorial's worked example: logged every 1 000 steps; train accuracy 1.0 from step 7 000;
// test accuracy ≈ 1 % until step 100 000, 57 % at 101 000, 98 % at 102 000, 100 % after.
Log tutorial_log() {
  Log l;
  for (int s = 0; s <= 150000; s += 1000) {
    l.step.push_back(s);
    l.train.push_back(s >= 7000 ? 1.0 : 0.1 * s / 1000.0);
    double te = 0.01;
    if (s == 101000)
      te = 0.57;
    else if (s == 102000)
      te = 0.98;
    else if (s >= 103000)
      te = 1.0;
    l.test.push_back(te);
  }
  return l;
}

double logistic(double t, double lower, double upper, double k, double t0) {
  return lower + (upper - lower) / (1.0 + std::exp(-k * (t - t0)));
}

}  // namespace

TEST_CASE("the tutorial's worked example: t_mem 7 000, t_grok 102 000, grokked") {
  const Log l = tutorial_log();
  const GrokReport r = detect_grokking(l.step, l.train, l.test);
  CHECK(r.status == DetectStatus::Ok);
  REQUIRE(r.t_mem);
  REQUIRE(r.t_grok);
  CHECK(*r.t_mem == 7000);
  CHECK(*r.t_grok == 102000);  // 57 % at 101 000 is below the 0.9 threshold
  CHECK(*r.gap == 95000);
  CHECK(*r.ratio == doctest::Approx(102000.0 / 7000.0));
  CHECK(r.verdict == GrokVerdict::Grokked);
  // 1 % -> 98 % in about 2 000 steps: the 10–90 % rise is ~1.6 % of t_grok ("very sharp").
  REQUIRE(r.rise_time);
  CHECK(*r.rise_time == doctest::Approx(101807.3 - 100176.8).epsilon(1e-3));
  CHECK(*r.rise_over_t_grok < 0.02);
  REQUIRE(r.sigmoid);
  CHECK(r.sigmoid->converged);
  CHECK(r.sigmoid->t0 > 100000);
  CHECK(r.sigmoid->t0 < 102000);
  CHECK(r.sigmoid->width < 2000);
  REQUIRE(r.max_slope_step);
  CHECK(*r.max_slope_step > 99000);
  CHECK(*r.max_slope_step < 103000);
  CHECK(r.notes.empty());
}

TEST_CASE("a float32 log gives the report of the same values in double, NaN records included") {
  Log l = tutorial_log();
  l.test[5] = std::numeric_limits<double>::quiet_NaN();
  std::vector<float> s, tr, te;
  for (std::size_t i = 0; i < l.step.size(); ++i)
    s.push_back(static_cast<float>(l.step[i])), tr.push_back(static_cast<float>(l.train[i])),
        te.push_back(static_cast<float>(l.test[i]));
  const auto widen = [](const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); };
  const GrokReport f = detect_grokking(s, tr, te);
  const GrokReport d = detect_grokking(widen(s), widen(tr), widen(te));
  REQUIRE(f.t_grok);
  CHECK(f.verdict == GrokVerdict::Grokked);
  CHECK(to_json(f).dump() == to_json(d).dump());
  CHECK(f.notes.size() == 1);                          // the NaN record, named once
  te[5] = static_cast<float>(tutorial_log().test[5]);  // fit_sigmoid takes clean curves
  const auto fit_f = fit_sigmoid(s, te);
  const auto fit_d = fit_sigmoid(widen(s), widen(te));
  REQUIRE(fit_f);
  REQUIRE(fit_d);
  CHECK(fit_f->t0 == fit_d->t0);
  CHECK(fit_f->k == fit_d->k);
}

TEST_CASE("sigmoid fit recovers t0 within 2 % and k within 10 % from noisy, irregular samples") {
  for (std::uint64_t seed : {1, 2, 3, 4, 5}) {
    Rng rng(seed);
    const double t0 = 40000 + 20000 * rng.uniform(), k = 2e-4 * (0.5 + rng.uniform());
    std::vector<double> s, y, train;
    for (int i = 0; i < 400; ++i) s.push_back(100000 * rng.uniform());
    std::sort(s.begin(), s.end());
    for (double t : s) y.push_back(logistic(t, 0.01, 1.0, k, t0) + rng.normal(0.0, 0.02)), train.push_back(1.0);
    const GrokReport r = detect_grokking(s, train, y);
    REQUIRE(r.sigmoid);
    INFO("seed ", seed, " t0 ", t0, " fit ", r.sigmoid->t0, " k ", k, " fit ", r.sigmoid->k);
    CHECK(r.sigmoid->converged);
    CHECK(std::abs(r.sigmoid->t0 - t0) / t0 < 0.02);
    CHECK(std::abs(r.sigmoid->k - k) / k < 0.10);
    CHECK(r.sigmoid->lower == doctest::Approx(0.01).epsilon(0.05).scale(1.0));
    CHECK(r.sigmoid->r2 > 0.95);
    CHECK(r.sigmoid->width == doctest::Approx(2 * std::log(9.0) / r.sigmoid->k));
  }
}

TEST_CASE("sigmoid fit on a log-step axis") {
  Rng rng(7);
  const double t0 = 2e4, k = 4.0;  // per decade
  std::vector<double> s, y, train;
  for (int i = 0; i < 300; ++i) s.push_back(std::pow(10.0, 1.0 + 5.0 * rng.uniform()));
  std::sort(s.begin(), s.end());
  for (double t : s)
    y.push_back(logistic(std::log10(t), 0.0, 1.0, k, std::log10(t0)) + rng.normal(0, 0.01)), train.push_back(1);
  DetectOptions opt;
  opt.log_x = true;
  const GrokReport r = detect_grokking(s, train, y, opt);
  REQUIRE(r.sigmoid);
  CHECK(r.sigmoid->log_x);
  CHECK(r.sigmoid->converged);
  CHECK(std::abs(r.sigmoid->t0 - t0) / t0 < 0.02);
  CHECK(std::abs(r.sigmoid->k - k) / k < 0.10);
}

TEST_CASE("one constructed curve per verdict") {
  std::vector<double> s;
  for (int i = 0; i <= 100; ++i) s.push_back(100.0 * i);
  auto run = [&](auto train_fn, auto test_fn, DetectOptions opt = {}) {
    std::vector<double> tr, te;
    for (double t : s) tr.push_back(train_fn(t)), te.push_back(test_fn(t));
    return detect_grokking(s, tr, te, opt);
  };
  auto fits_at = [](double t_fit) { return [t_fit](double t) { return t >= t_fit ? 1.0 : 0.2; }; };
  // grokked: train at 500, test at 6 000
  CHECK(run(fits_at(500), [](double t) { return t >= 6000 ? 0.99 : 0.02; }).verdict == GrokVerdict::Grokked);
  // no_delay: both at 500-700
  CHECK(run(fits_at(500), [](double t) { return t >= 700 ? 0.95 : 0.02; }).verdict == GrokVerdict::NoDelay);
  // memorized_only: test stays near chance
  CHECK(run(fits_at(500), [](double t) { return 0.02 + 0.05 * t / 10000; }).verdict == GrokVerdict::MemorizedOnly);
  // partial: test climbs to 0.6 and stays below 0.9
  CHECK(run(fits_at(500), [](double t) { return t >= 5000 ? 0.6 : 0.02; }).verdict == GrokVerdict::Partial);
  // ungrokked: test reached 0.95 at 3 000, then collapsed from 7 000 on
  const GrokReport u = run(fits_at(500), [](double t) { return (t >= 3000 && t < 7000) ? 0.95 : 0.05; });
  CHECK(u.verdict == GrokVerdict::Ungrokked);
  CHECK(*u.t_grok == 3000);
  // not_fit: train never reaches 0.9
  CHECK(run([](double) { return 0.5; }, [](double) { return 0.1; }).verdict == GrokVerdict::NotFit);
  // min_delay_steps turns a short delay into no_delay
  DetectOptions strict;
  strict.min_delay_steps = 10000;
  CHECK(run(
            fits_at(500), [](double t) { return t >= 6000 ? 0.99 : 0.02; }, strict)
            .verdict == GrokVerdict::NoDelay);
  // patience: a one-record spike does not count
  DetectOptions patient;
  patient.patience = 3;
  const GrokReport p = run(
      fits_at(500), [](double t) { return (t == 2000 || t >= 8000) ? 0.99 : 0.02; }, patient);
  CHECK(*p.t_grok == 8000);
}

TEST_CASE("loss metric with absolute and relative thresholds") {
  std::vector<double> s, tr, te;
  for (int i = 0; i <= 200; ++i) {
    const double t = 50.0 * i;
    s.push_back(t);
    tr.push_back(2.0 * std::exp(-t / 300.0));            // train loss falls fast
    te.push_back(logistic(t, 2.5, 0.01, 2e-3, 6000.0));  // test loss falls late
  }
  DetectOptions opt;
  opt.metric = GrokMetric::Loss;
  opt.threshold = 0.1;
  const GrokReport a = detect_grokking(s, tr, te, opt);
  REQUIRE(a.t_mem);
  REQUIRE(a.t_grok);
  CHECK(*a.t_mem == 900);  // 2 e^{−t/300} ≤ 0.1 from t = 300 ln 20 ≈ 898.7
  CHECK(*a.t_grok > 6000);
  CHECK(a.verdict == GrokVerdict::Grokked);
  REQUIRE(a.sigmoid);
  CHECK(a.sigmoid->lower > a.sigmoid->upper);  // a falling curve: early asymptote above
  CHECK(a.sigmoid->t0 == doctest::Approx(6000).epsilon(0.02));
  CHECK(*a.max_slope < 0);
  opt.loss_relative = true;
  opt.threshold = 0.05;  // 5 % of each curve's first loss
  const GrokReport b = detect_grokking(s, tr, te, opt);
  CHECK(b.train_threshold == doctest::Approx(0.1));
  CHECK(b.test_threshold == doctest::Approx(0.05 * te.front()));
  CHECK(b.verdict == GrokVerdict::Grokked);
}

TEST_CASE("a separate test threshold for test curves that top out below the memorisation level") {
  std::vector<double> s, tr, te;
  for (int i = 0; i <= 200; ++i) {
    const double t = 100.0 * i;
    s.push_back(t);
    tr.push_back(std::min(1.0, 0.1 + t / 1000.0));      // 1.0 from step 900
    te.push_back(logistic(t, 0.2, 0.82, 3e-3, 10000));  // images: ends near 0.82
  }
  DetectOptions opt;
  opt.threshold = 0.99;
  const GrokReport one = detect_grokking(s, tr, te, opt);
  CHECK(one.verdict == GrokVerdict::Partial);  // 0.82 never reaches 0.99
  opt.test_threshold = 0.75;
  const GrokReport two = detect_grokking(s, tr, te, opt);
  CHECK(two.train_threshold == 0.99);
  CHECK(two.test_threshold == 0.75);
  REQUIRE(two.t_mem);
  REQUIRE(two.t_grok);
  CHECK(*two.t_mem == 900);
  // 0.2 + 0.62 / (1 + e^{−0.003 (t − 10000)}) ≥ 0.75 from t ≈ 10000 + ln(0.55/0.07)/0.003 ≈ 10687
  CHECK(*two.t_grok == 10700);
  CHECK(two.verdict == GrokVerdict::Grokked);
  opt.test_threshold = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_AS(detect_grokking(s, tr, te, opt), std::invalid_argument);
}

TEST_CASE("robust input: NaN skipped, unsorted sorted, duplicates merged, all noted") {
  Log l = tutorial_log();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  l.test[3] = nan;
  l.train[5] = std::numeric_limits<double>::infinity();
  std::swap(l.step[10], l.step[11]);
  std::swap(l.train[10], l.train[11]);
  std::swap(l.test[10], l.test[11]);
  l.step.push_back(102000);  // a duplicate record of step 102 000
  l.train.push_back(1.0);
  l.test.push_back(0.96);
  const GrokReport r = detect_grokking(l.step, l.train, l.test);
  CHECK(r.status == DetectStatus::Ok);
  CHECK(*r.t_mem == 7000);
  CHECK(*r.t_grok == 102000);  // merged value (0.98 + 0.96) / 2 = 0.97
  CHECK(r.verdict == GrokVerdict::Grokked);
  REQUIRE(r.notes.size() == 6);
  CHECK(r.notes[0] == "1 train record(s) with a NaN or Inf step or value were skipped");
  CHECK(r.notes[1] == "train steps were not in order and were sorted");
  CHECK(r.notes[2] == "1 duplicate train step(s) were merged (values averaged)");
  CHECK(r.notes[3] == "1 test record(s) with a NaN or Inf step or value were skipped");
  CHECK(r.notes[4] == "test steps were not in order and were sorted");
  CHECK(r.notes[5] == "1 duplicate test step(s) were merged (values averaged)");
}

TEST_CASE("degenerate input gives a defined status, never a crash or a NaN") {
  const GrokReport m = detect_grokking({0, 1, 2}, {1, 1}, {0, 0, 0});
  CHECK(m.status == DetectStatus::MismatchedLengths);
  CHECK(m.verdict == GrokVerdict::Undetermined);
  CHECK(m.notes.at(0) == "steps, train and test have 3, 2 and 3 entries");
  const GrokReport f = detect_grokking({0, 1, 2, 3}, {1, 1, 1, 1}, {0, 0, 0, 0});
  CHECK(f.status == DetectStatus::TooFewPoints);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const GrokReport n = detect_grokking({0, 1, 2, 3, 4, 5}, {1, 1, 1, 1, 1, 1}, {nan, nan, nan, 0, 0, 0});
  CHECK(n.status == DetectStatus::TooFewPoints);
  const GrokReport e = detect_grokking({}, {}, {});
  CHECK(e.status == DetectStatus::TooFewPoints);
  const GrokReport c = detect_grokking({0, 1, 2, 3, 4, 5}, {1, 1, 1, 1, 1, 1}, {0.3, 0.3, 0.3, 0.3, 0.3, 0.3});
  CHECK(c.status == DetectStatus::Ok);
  CHECK_FALSE(c.sigmoid);
  CHECK(c.verdict == GrokVerdict::MemorizedOnly);
  CHECK(c.notes.back() == "test curve is constant: no sigmoid fit");
  const std::string dumped = to_json(c).dump();
  CHECK(dumped.find("NaN") == std::string::npos);
  CHECK(dumped.find("nan") == std::string::npos);
  CHECK_THROWS_WITH_AS(detect_grokking({0}, {0}, {0}, DetectOptions{GrokMetric::Accuracy, 0.9, false, 0}),
                       "grokscope::detect_grokking: patience, ungrok_patience must be >= 1 and min_points >= 2",
                       std::invalid_argument);
}

TEST_CASE("JSON report carries every documented key") {
  const Log l = tutorial_log();
  const nlohmann::ordered_json j = to_json(detect_grokking(l.step, l.train, l.test));
  CHECK(j["t_mem"] == 7000);
  CHECK(j["t_grok"] == 102000);
  CHECK(j["gap"] == 95000);
  CHECK(j["ratio"].get<double>() == doctest::Approx(102.0 / 7.0));
  CHECK(j["verdict"] == "grokked");
  for (const char* key : {"t0", "k", "lower", "upper", "width", "r2", "converged"}) CHECK(j["sigmoid"].contains(key));
  CHECK(j["notes"].is_array());
}

TEST_CASE("aggregation over seeds: quartiles as NumPy and every verdict counted") {
  CHECK(quantile({1, 2, 3, 4}, 0.25) == doctest::Approx(1.75));  // numpy.quantile([1,2,3,4], .25)
  CHECK(quantile({4, 1, 3, 2}, 0.5) == doctest::Approx(2.5));
  CHECK(quantile({5}, 0.75) == 5);
  std::vector<GrokReport> rs(4);
  rs[0].t_mem = 100, rs[0].t_grok = 1000, rs[0].gap = 900, rs[0].verdict = GrokVerdict::Grokked;
  rs[1].t_mem = 200, rs[1].t_grok = 3000, rs[1].gap = 2800, rs[1].verdict = GrokVerdict::Grokked;
  rs[2].t_mem = 150, rs[2].verdict = GrokVerdict::MemorizedOnly;
  rs[3].verdict = GrokVerdict::NotFit;
  const GrokAggregate a = aggregate_reports(rs);
  CHECK(a.runs == 4);
  CHECK(a.verdicts.at("grokked") == 2);
  CHECK(a.verdicts.at("memorized_only") == 1);
  CHECK(a.verdicts.at("not_fit") == 1);
  CHECK(a.verdicts.at("partial") == 0);
  REQUIRE(a.t_mem);
  CHECK(a.t_mem->count == 3);
  CHECK(a.t_mem->median == 150);
  REQUIRE(a.t_grok);
  CHECK(a.t_grok->median == 2000);
  CHECK(a.t_grok->q1 == 1500);
  const nlohmann::ordered_json j = to_json(a);
  CHECK(j["t_grok"]["iqr"] == 1000.0);
  CHECK_FALSE(aggregate_reports({}).t_mem);
  CHECK_THROWS_AS(quantile({}, 0.5), std::invalid_argument);
}

TEST_CASE("extreme steps and values never throw: spans near ±1e308, subnormals, infinities") {
  const double big = 1e308, tiny = 4.9e-324, inf = std::numeric_limits<double>::infinity();
  // The span 2e308 overflows: the smoothing window becomes every record instead of an error.
  const GrokReport r =
      detect_grokking({-big, -big / 2, 0, big / 4, big / 2, big}, {0, 1, 1, 1, 1, 1}, {0, 0, 0, 1, 1, 1});
  CHECK(r.status == DetectStatus::Ok);
  CHECK(r.t_mem);
  CHECK(moving_average({-big, big}, {0, 1}, inf) == std::vector<double>{0.5, 0.5});
  CHECK_THROWS_AS(moving_average({0, 1}, {0, 1}, std::nan("")), std::invalid_argument);
  // Random curves drawn from a palette of hostile values, with and without log steps and fits.
  const std::vector<double> palette{0,   1,    -1,           0.5,    big,   -big, tiny, -tiny,
                                    inf, -inf, std::nan(""), 1e-300, 1e300, 7,    1000, 0.9};
  Rng rng(11);
  for (int trial = 0; trial < 400; ++trial) {
    const Index n = rng.integer(40);
    std::vector<double> s, tr, te;
    for (Index i = 0; i < n; ++i) {
      const bool sorted = trial % 2 == 0;
      s.push_back(sorted ? static_cast<double>(i) * palette[static_cast<std::size_t>(rng.integer(16))]
                         : palette[static_cast<std::size_t>(rng.integer(16))]);
      tr.push_back(palette[static_cast<std::size_t>(rng.integer(16))]);
      te.push_back(palette[static_cast<std::size_t>(rng.integer(16))]);
    }
    DetectOptions o;
    o.log_x = trial % 3 == 0;
    o.metric = trial % 5 == 0 ? GrokMetric::Loss : GrokMetric::Accuracy;
    o.loss_relative = trial % 7 == 0;
    GrokReport rep;
    REQUIRE_NOTHROW(rep = detect_grokking(s, tr, te, o));
    CHECK_NOTHROW(to_json(rep).dump());
  }
}

TEST_CASE("a negative t_mem (steps counted from before 0) gets its own note, not 't_mem is 0'") {
  std::vector<double> steps, tr, te;
  for (int i = -10; i <= 30; ++i) {
    steps.push_back(10.0 * i);
    tr.push_back(i >= -5 ? 1.0 : 0.1);
    te.push_back(i >= 20 ? 1.0 : 0.1);
  }
  DetectOptions o;
  o.fit_sigmoid = false;
  const GrokReport r = detect_grokking(steps, tr, te, o);
  REQUIRE(r.t_mem);
  CHECK(*r.t_mem == -50);
  CHECK_FALSE(r.ratio);
  bool found = false;
  for (const std::string& n : r.notes) found = found || n.find("t_mem is negative") != std::string::npos;
  CHECK(found);
}
