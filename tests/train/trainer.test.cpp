#include <grokscope/data/modular.hpp>
#include <grokscope/data/parity.hpp>
#include <grokscope/data/regression.hpp>
#include <grokscope/nn/mlp.hpp>
#include <grokscope/optim/adam.hpp>
#include <grokscope/optim/grokfast.hpp>
#include <grokscope/optim/sgd.hpp>
#include <grokscope/optim/spectral_entropy.hpp>
#include <grokscope/train/trainer.hpp>

#include "../test_util.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

using namespace grokscope;

namespace {
// Gromov's MLP on (a + b) mod 23, AdamW: the CI-scale grokking setting of REFERENCES §4.1.
struct Setup {
  Dataset ds;
  Mlp<float> model;
  Adam<float> opt;
  explicit Setup(double wd, std::uint64_t seed = 1, double lr = 5e-3)
      : ds(modular_dataset({ModOp::Add, 23, ModEncoding::PairIndices})),
        model(MlpConfig::gromov(23, 200, seed)),
        opt(model.parameters(), [&] {
          AdamConfig c = AdamConfig::grokking(wd);
          c.lr = lr;
          return c;
        }()) {
    Rng r = Rng(seed).fork(1);
    apply_split(ds, split_by_fraction(ds.size(), 0.6, r), "random");
  }
};

}  // namespace

TEST_CASE("Gromov's MLP groks (a + b) mod 23 with weight decay, and the run folder is complete") {
  Setup s(0.1);
  TrainConfig tc;
  tc.steps = 3000;
  tc.eval_every = 100;
  tc.loss = LossKind::Mse;
  tc.out_dir = test::tmp_path("run_grok");
  std::filesystem::remove_all(tc.out_dir);
  Trainer<float> tr(s.model, s.ds, s.opt, tc);
  const TrainResult r = tr.run();
  CHECK(r.status == TrainStatus::Completed);
  REQUIRE(r.report);
  CHECK(r.report->verdict == GrokVerdict::Grokked);
  CHECK(*r.report->t_grok >= 3 * *r.report->t_mem);  // REFERENCES §4.1: test ≥ 3× later than train
  CHECK(r.history.last("test_acc") >= 0.99);
  CHECK(r.history.columns() == std::vector<std::string>{"step", "train_loss", "test_loss", "train_acc", "test_acc",
                                                        "weight_norm", "grad_norm", "update_norm", "lr"});
  for (const char* f : {"history.csv", "history.jsonl", "summary.json", "train_idx.npy", "test_idx.npy"})
    CHECK_MESSAGE(std::filesystem::exists(tc.out_dir + "/" + f), f);
  const nlohmann::json sum = nlohmann::json::parse(test::slurp(tc.out_dir + "/summary.json"));
  CHECK(sum["status"] == "completed");
  CHECK(sum["optimizer"]["optimizer"] == "adamw");
  CHECK(sum["model"]["activation"] == "square");
  CHECK(sum["grokking"]["verdict"] == "grokked");
  CHECK(sum["dataset"]["n_train"] == s.ds.train.size());
}

TEST_CASE("without weight decay the same run does not grok within the budget") {
  Setup s(0.0);
  TrainConfig tc;
  tc.steps = 2500;
  tc.eval_every = 250;
  tc.loss = LossKind::Mse;
  const TrainResult r = Trainer<float>(s.model, s.ds, s.opt, tc).run();
  CHECK(r.history.last("train_acc") == 1.0);
  CHECK(r.history.last("test_acc") < 0.9);  // REFERENCES §4.1: wd = 0 plateaus
}

TEST_CASE("same seed, same thread count: byte-identical history.csv") {
  std::string csv[2];
  for (int k = 0; k < 2; ++k) {
    Setup s(0.1, 4);
    TrainConfig tc;
    tc.steps = 200;
    tc.eval_every = 20;
    tc.batch_size = 64;
    tc.seed = 9;
    tc.loss = LossKind::Mse;
    tc.out_dir = test::tmp_path("run_repro_" + std::to_string(k));
    Trainer<float>(s.model, s.ds, s.opt, tc).run();
    csv[k] = test::slurp(tc.out_dir + "/history.csv");
  }
  CHECK(csv[0].size() > 100);
  CHECK(csv[0] == csv[1]);
}

TEST_CASE("divergence ends the run with its status and step, keeping the history") {
  Setup s(0.0, 1, 1e6);  // absurd learning rate
  s.model.parameters()[0]->value *= 1e18f;
  TrainConfig tc;
  tc.steps = 50;
  tc.eval_every = 5;
  tc.loss = LossKind::Mse;
  tc.out_dir = test::tmp_path("run_diverge");
  const TrainResult r = Trainer<float>(s.model, s.ds, s.opt, tc).run();
  CHECK(r.status == TrainStatus::Diverged);
  REQUIRE(r.diverged_at);
  CHECK(*r.diverged_at < 50);
  CHECK(r.history.size() >= 1);
  CHECK(r.summary["status"] == "diverged");
  CHECK(std::filesystem::exists(tc.out_dir + "/history.csv"));
}

TEST_CASE("the interrupt hook ends a run between steps with its history written and detected") {
  Setup s(0.1);
  TrainConfig tc;
  tc.steps = 1000;
  tc.eval_every = 10;
  tc.loss = LossKind::Mse;
  tc.out_dir = test::tmp_path("run_interrupt");
  std::filesystem::remove_all(tc.out_dir);
  Index asked = 0;
  tc.interrupt = [&] { return ++asked > 37; };  // asked once before each step: stops before step 37
  Trainer<float> tr(s.model, s.ds, s.opt, tc);
  const TrainResult r = tr.run();
  CHECK(r.status == TrainStatus::Interrupted);
  CHECK(r.steps_done == 37);
  CHECK(asked == 38);
  CHECK(r.history.column("step").back() == 30);  // the last evaluation before the interrupt
  CHECK(r.summary["status"] == "interrupted");
  CHECK(r.report.has_value());
  CHECK(std::filesystem::exists(tc.out_dir + "/history.csv"));
  CHECK(std::string(train_status_name(TrainStatus::Interrupted)) == "interrupted");
}

TEST_CASE("probes add columns; checkpoints; log-spaced evaluation; stop rule; schedule lr") {
  Setup s(0.1);
  TrainConfig tc;
  tc.steps = 3000;
  tc.eval_every = 0;
  tc.log_points = 12;
  tc.loss = LossKind::Mse;
  tc.stop_test_acc = 0.95;
  tc.stop_patience = 1;
  tc.schedule = Schedule::linear_warmup(10);
  tc.checkpoint_steps = {0, 100};
  tc.out_dir = test::tmp_path("run_probe");
  std::filesystem::remove_all(tc.out_dir);
  Trainer<float> tr(s.model, s.ds, s.opt, tc);
  int calls = 0;
  tr.add_probe(2, [&](Model<float>& m, Index step) {
    ++calls;
    return Record{{"first_weight", static_cast<double>(m.parameters()[0]->value(0, 0))}, {"probe_step", double(step)}};
  });
  const TrainResult r = tr.run();
  CHECK(r.status == TrainStatus::Stopped);
  CHECK(r.history.last("test_acc") >= 0.95);
  CHECK(r.history.columns().back() == "probe_step");
  const auto steps = r.history.column("step");
  CHECK(steps[0] == 0);
  CHECK(steps[1] == 1);
  CHECK(steps.size() < 13);
  const auto ps = r.history.column("probe_step");
  for (std::size_t i = 0; i < steps.size(); ++i) {
    if (static_cast<Index>(steps[i]) % 2 == 0)
      CHECK(ps[i] == steps[i]);
    else
      CHECK(std::isnan(ps[i]));
  }
  CHECK(calls >= 1);
  CHECK(r.history.column("lr")[1] == 0.0);  // step 0 of the warm-up has lr 0
  CHECK(std::filesystem::exists(tc.out_dir + "/checkpoints/step_100/layers.0.weight.npy"));
  Mlp<float> back(MlpConfig::gromov(23, 200, 99));
  load_parameters(tc.out_dir + "/checkpoints/step_0", back.parameters());
  Setup fresh(0.1);
  CHECK(back.parameters()[0]->value == fresh.model.parameters()[0]->value);
}

TEST_CASE("probe prefixes keep two probes of one kind apart; a clash names the column") {
  const auto norm_probe = [](Model<float>& m, Index) {
    return Record{{"norm", static_cast<double>(m.parameters()[0]->value.norm())}, {"steps_seen", 1.0}};
  };
  TrainConfig tc;
  tc.steps = 20;
  tc.eval_every = 10;
  tc.loss = LossKind::Mse;
  {
    Setup s(0.1);
    Trainer<float> tr(s.model, s.ds, s.opt, tc);
    tr.add_probe(10, norm_probe, "a_");
    tr.add_probe(20, norm_probe, "b_");
    const TrainResult r = tr.run();
    const std::vector<std::string>& c = r.history.columns();
    CHECK(std::find(c.begin(), c.end(), "a_norm") != c.end());
    CHECK(std::find(c.begin(), c.end(), "b_steps_seen") != c.end());
    CHECK(std::find(c.begin(), c.end(), "norm") == c.end());
    CHECK(r.history.column("a_norm")[1] > 0);          // step 10: the first probe ran
    CHECK(std::isnan(r.history.column("b_norm")[1]));  // the second runs every 20 only
    CHECK(r.history.column("b_norm")[2] == r.history.column("a_norm")[2]);
  }
  for (const char* clash : {"", "train_"}) {  // twice the same names, or a prefix that hits a built-in
    Setup s(0.1);
    Trainer<float> tr(s.model, s.ds, s.opt, tc);
    tr.add_probe(10, norm_probe);
    if (*clash)
      tr.add_probe(
          10,
          [](Model<float>&, Index) {
            return Record{{"loss", 1.0}};
          },
          clash);
    else
      tr.add_probe(10, norm_probe);
    CHECK_THROWS_WITH_AS(tr.run(), doctest::Contains(*clash ? "'train_loss'" : "'norm'"), std::invalid_argument);
  }
  {
    Setup s(0.1);
    Trainer<float> tr(s.model, s.ds, s.opt, tc);
    CHECK_THROWS_WITH_AS(tr.add_probe(10, ProbeFn<float>{}), doctest::Contains("the probe is empty"),
                         std::invalid_argument);
  }
}

TEST_CASE("TrainConfig::detect_options reach the built-in detector") {
  TrainConfig tc;
  tc.steps = 300;
  tc.eval_every = 50;
  tc.loss = LossKind::Mse;
  Setup a(0.1), b(0.1);
  const TrainResult ra = Trainer<float>(a.model, a.ds, a.opt, tc).run();
  tc.detect_options.threshold = 0.05;  // reached within the first records
  const TrainResult rb = Trainer<float>(b.model, b.ds, b.opt, tc).run();
  REQUIRE(ra.report);
  REQUIRE(rb.report);
  REQUIRE(rb.report->t_mem);
  const std::vector<double> st = rb.history.column("step"), acc = rb.history.column("train_acc");
  std::size_t first = 0;
  while (first < acc.size() && acc[first] < 0.05) ++first;
  REQUIRE(first < acc.size());
  CHECK(*rb.report->t_mem == st[first]);  // the first record at the lowered threshold
  CHECK(ra.report->t_mem != rb.report->t_mem);
  CHECK(rb.summary["detect"]["threshold"] == 0.05);
  // metric Loss reads the loss columns: t_mem is the first record with train_loss ≤ 0.98 × its first value
  tc.detect_options = DetectOptions{};
  tc.detect_options.metric = GrokMetric::Loss;
  tc.detect_options.loss_relative = true;
  tc.detect_options.threshold = 0.98;
  Setup c(0.1);
  const TrainResult rc = Trainer<float>(c.model, c.ds, c.opt, tc).run();
  const std::vector<double> loss = rc.history.column("train_loss"), lst = rc.history.column("step");
  std::size_t below = 0;
  while (below < loss.size() && loss[below] > 0.98 * loss[0]) ++below;
  REQUIRE(below < loss.size());
  REQUIRE(rc.report->t_mem);
  CHECK(*rc.report->t_mem == lst[below]);
  CHECK(rc.summary["detect"]["metric"] == "loss");
  CHECK(ra.summary["detect"]["threshold"] == 0.9);
}

TEST_CASE("the stop rule can require train accuracy as well, held for several evaluations") {
  Setup s(0.1);
  TrainConfig tc;
  tc.steps = 3000;
  tc.eval_every = 10;
  tc.loss = LossKind::Mse;
  tc.stop_test_acc = 0.02;  // reached at step 0 (chance is 1/23): the train condition decides
  tc.stop_train_acc = 0.99;
  tc.stop_patience = 3;
  Trainer<float> tr(s.model, s.ds, s.opt, tc);
  const TrainResult r = tr.run();
  REQUIRE(r.status == TrainStatus::Stopped);
  const auto train = r.history.column("train_acc"), test = r.history.column("test_acc");
  const std::size_t n = train.size();
  REQUIRE(n >= 4);
  for (std::size_t i = n - 3; i < n; ++i) {
    CHECK(train[i] >= 0.99);
    CHECK(test[i] >= 0.02);
  }
  CHECK_FALSE((train[n - 4] >= 0.99 && test[n - 4] >= 0.02));  // it stopped at the first chance
  CHECK(r.steps_done == static_cast<Index>(r.history.last("step")));
}

TEST_CASE("regression accuracy uses the per-example MSE threshold; cross-entropy needs labels") {
  KumarOptions ko;
  ko.D = 5, ko.n_train = 40, ko.n_test = 40;
  const Dataset ds = kumar_polynomial(ko);
  MlpConfig c;
  c.input = 5, c.hidden = {16}, c.output = 1;
  Mlp<double> m(c);
  Sgd<double> opt(m.parameters(), SgdConfig{});
  TrainConfig tc;
  tc.steps = 10;
  tc.eval_every = 5;
  tc.loss = LossKind::Mse;
  tc.regression_threshold = 1e9;  // every example counts as correct
  const TrainResult r = Trainer<double>(m, ds, opt, tc).run();
  CHECK(r.history.last("train_acc") == 1.0);
  tc.loss = LossKind::CrossEntropy;
  CHECK_THROWS_WITH_AS(Trainer<double>(m, ds, opt, tc),
                       "grokscope::Trainer: cross-entropy needs class labels; dataset 'kumar_polynomial' has none",
                       std::invalid_argument);
  TrainConfig bad;
  bad.checkpoint_steps = {5};
  CHECK_THROWS_AS(Trainer<double>(m, ds, opt, bad), std::invalid_argument);
  // A schedule of 10^9 evaluations is refused at once (it used to loop before the first step).
  TrainConfig many;
  many.steps = 1000;
  many.log_points = 1000000000;
  CHECK_THROWS_WITH_AS(Trainer<double>(m, ds, opt, many), doctest::Contains("more than 10^7 evaluations"),
                       std::invalid_argument);
  many.log_points = 0;
  many.steps = 1000000000000LL;
  many.eval_every = 1;
  CHECK_THROWS_AS(Trainer<double>(m, ds, opt, many), std::invalid_argument);
}

TEST_CASE("gradient filters run between backward and the step") {
  Setup s(0.1);
  GrokfastEma<float> f(0.98, 2.0);
  TrainConfig tc;
  tc.steps = 20;
  tc.eval_every = 10;
  tc.loss = LossKind::Mse;
  Trainer<float> tr(s.model, s.ds, s.opt, tc);
  tr.add_filter(f);
  const TrainResult r = tr.run();
  CHECK(r.summary["filters"][0]["filter"] == "grokfast_ema");
  CHECK(std::isfinite(r.history.last("update_norm")));
}

TEST_CASE("weight noise: the gradient is taken at theta + delta xi and the step moves theta itself") {
  // one full-batch SGD step in double, checked against the same step done by hand
  Dataset ds = modular_dataset({ModOp::Add, 11, ModEncoding::PairIndices});
  Rng split_rng(2);
  apply_split(ds, split_by_fraction(ds.size(), 0.5, split_rng), "random");
  MlpConfig mc = MlpConfig::gromov(11, 16, 5);
  Mlp<double> model(mc), twin(mc);
  SgdConfig sc;
  sc.lr = 0.5;
  Sgd<double> opt(model.parameters(), sc);
  TrainConfig tc;
  tc.steps = 1, tc.eval_every = 0, tc.loss = LossKind::Mse, tc.detect = false, tc.progress = false;
  tc.weight_noise = 1e-2, tc.weight_noise_seed = 77;
  SpectralEntropyPenalty<double> pen(0.3);
  Trainer<double> tr(model, ds, opt, tc);
  tr.add_filter(pen);
  const TrainResult r = tr.run();
  CHECK(r.status == TrainStatus::Completed);
  CHECK(r.summary["train"]["weight_noise"] == 1e-2);
  CHECK(r.summary["filters"][0]["filter"] == "spectral_entropy");

  // by hand: θ + δξ (ξ from the noise's own stream, parameter after parameter), the loss gradient
  // and the regulariser's there, then θ ← θ − lr g
  const std::vector<Parameter<double>*> ps = twin.parameters();
  std::vector<Matrix<double>> theta;
  Rng noise(77);
  for (Parameter<double>* p : ps) {
    theta.push_back(p->value);
    std::vector<double> xi(static_cast<std::size_t>(p->size()));
    noise.fill_normal(xi.data(), p->size());
    for (Index e = 0; e < p->size(); ++e) p->value.data()[e] += 1e-2 * xi[static_cast<std::size_t>(e)];
  }
  Tape<double> t;
  const ModelInput<double> in = ModelInput<double>::from_dataset(ds, ds.train);
  twin.zero_grad();
  t.backward(mse(twin.forward(t, in), t.constant(ds.one_hot_of(ds.train).cast<double>())));
  SpectralEntropyPenalty<double>(0.3).apply(ps);
  double worst = 0;
  for (std::size_t i = 0; i < ps.size(); ++i) {
    const Matrix<double> expect = theta[i] - 0.5 * ps[i]->grad;
    worst = std::max(worst, (model.parameters()[i]->value - expect).cwiseAbs().maxCoeff());
  }
  CHECK(worst < 1e-14);
  // the step taken without the noise is a different one
  for (std::size_t i = 0; i < ps.size(); ++i) ps[i]->value = theta[i];
  twin.zero_grad();
  t.reset();
  t.backward(mse(twin.forward(t, in), t.constant(ds.one_hot_of(ds.train).cast<double>())));
  SpectralEntropyPenalty<double>(0.3).apply(ps);
  double apart = 0;
  for (std::size_t i = 0; i < ps.size(); ++i)
    apart = std::max(apart, (model.parameters()[i]->value - (theta[i] - 0.5 * ps[i]->grad)).cwiseAbs().maxCoeff());
  CHECK(apart > 1e-6);

  tc.weight_noise = -1;
  CHECK_THROWS_WITH_AS(Trainer<double>(model, ds, opt, tc),
                       "grokscope::Trainer: weight_noise must be finite and >= 0, got -1", std::invalid_argument);
}

TEST_CASE("hinge loss: Merrill et al.'s parity network, loss mean(max(0, 1 − f·y)) and sign accuracy") {
  ParityOptions po;
  po.n = 12, po.k = 3, po.n_train = 64, po.n_test = 32;
  const Dataset ds = sparse_parity(po);
  Mlp<double> net(MlpConfig::merrill(12, 16, 5));
  std::vector<std::string> names;
  for (auto* p : net.parameters()) names.push_back(p->name);
  CHECK(names == std::vector<std::string>{"layers.0.weight", "layers.0.bias", "layers.1.weight"});
  Sgd<double> opt(net.parameters(), SgdConfig{0.1});
  TrainConfig tc;
  tc.steps = 0;
  tc.loss = LossKind::Hinge;
  tc.progress = false;
  Trainer<double> tr(net, ds, opt, tc);
  const TrainResult r = tr.run();
  // by hand on the test split
  Tape<double> t;
  const Var<double> f = net.forward(t, ModelInput<double>::from_dataset(ds, ds.test));
  double loss = 0, hits = 0;
  for (std::size_t i = 0; i < ds.test.size(); ++i) {
    const double y = ds.targets(ds.test[i], 0), fi = f.value()(static_cast<Index>(i), 0);
    loss += std::max(0.0, 1.0 - fi * y);
    hits += fi * y > 0;
  }
  CHECK(r.history.last("test_loss") == doctest::Approx(loss / ds.test.size()).epsilon(1e-12));
  CHECK(r.history.last("test_acc") == doctest::Approx(hits / ds.test.size()).epsilon(1e-12));
  // one full-batch SGD step of the Trainer moves the readout by −lr · (finite-difference gradient)
  const IndexList rows = ds.train;
  auto loss_at = [&]() {
    Tape<double> tt;
    const Var<double> o = net.forward(tt, ModelInput<double>::from_dataset(ds, rows));
    double s = 0;
    for (std::size_t i = 0; i < rows.size(); ++i)
      s += std::max(0.0, 1.0 - o.value()(static_cast<Index>(i), 0) * ds.targets(rows[i], 0));
    return s / static_cast<double>(rows.size());
  };
  Parameter<double>& w = net.parameter("layers.1.weight");
  const Matrix<double> w0 = w.value;
  std::vector<double> fd;
  for (Index j : {0, 3, 7}) {
    const double h = 1e-6, v = w.value(0, j);
    w.value(0, j) = v + h;
    const double up = loss_at();
    w.value(0, j) = v - h;
    const double down = loss_at();
    w.value(0, j) = v;
    fd.push_back((up - down) / (2 * h));
  }
  TrainConfig one = tc;
  one.steps = 1;
  Trainer<double> tr1(net, ds, opt, one);
  tr1.run();
  int c = 0;
  for (Index j : {0, 3, 7}) CHECK((w.value(0, j) - w0(0, j)) / -0.1 == doctest::Approx(fd[c++]).epsilon(1e-6));
  // bad settings are named
  Dataset multi = modular_dataset({ModOp::Add, 5, ModEncoding::OneHotFeatures});
  multi.train = {0, 1, 2}, multi.test = {3, 4};
  Mlp<double> m2(MlpConfig::merrill(10, 4, 0));
  CHECK_THROWS_WITH_AS(Trainer<double>(m2, multi, opt, tc), doctest::Contains("hinge"), std::invalid_argument);
  Dataset bad = ds;
  bad.targets(0, 0) = 0.5;
  CHECK_THROWS_WITH_AS(Trainer<double>(net, bad, opt, tc), doctest::Contains("±1"), std::invalid_argument);
}
