#include <grokscope/data/modular.hpp>
#include <grokscope/data/parity.hpp>
#include <grokscope/data/regression.hpp>
#include <grokscope/nn/mlp.hpp>
#include <grokscope/optim/sgd.hpp>
#include <grokscope/train/probes.hpp>
#include <grokscope/train/trainer.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

using namespace grokscope;

namespace {
// A "model" whose logits are a fixed matrix: the progress measures of known logits.
class FixedLogits : public Model<double> {
 public:
  Parameter<double> unused{"unused", Matrix<double>::Zero(1, 1)};
  Matrix<double> L;
  Var<double> forward(Tape<double>& t, const ModelInput<double>& in) override {
    REQUIRE(in.examples() == L.rows());
    return t.constant(L);
  }
  std::vector<Parameter<double>*> parameters() override { return {&unused}; }
  nlohmann::ordered_json config() const override { return {{"model", "fixed"}}; }
};
}  // namespace

TEST_CASE("NTK, CKA and weight probes add their columns to a training run of Kumar's model") {
  KumarOptions ko;
  ko.D = 12, ko.n_train = 40, ko.n_test = 30, ko.epsilon = 0.3, ko.convention = KumarConvention::B;
  const Dataset ds = kumar_polynomial(ko);
  Mlp<double> m(MlpConfig::kumar(12, 50, 0.3, 1.0, true, 1));
  Sgd<double> opt(m.parameters(), SgdConfig{25.0});
  TrainConfig tc;
  tc.steps = 200;
  tc.eval_every = 50;
  tc.loss = LossKind::Mse;
  tc.progress = false;
  tc.detect = false;
  Trainer<double> tr(m, ds, opt, tc);
  const ModelInput<double> Xte = ModelInput<double>::from_dataset(ds, ds.test);
  tr.add_probe(50, ntk_probe<double>(Xte, ds.targets_of(ds.test)));
  tr.add_probe(50, cka_to_init_probe<double>(readout_input<double>(Xte, "layers.1.weight")));
  tr.add_probe(50, weight_norm_probe<double>());
  const TrainResult r = tr.run();
  const History& h = r.history;
  for (const char* c : {"ntk_alignment", "ntk_kumar_alignment", "kernel_distance", "kernel_velocity", "ntk_trace",
                        "cka_to_init", "weight_norm_layers.0.weight", "relative_movement"})
    CHECK_MESSAGE(std::find(h.columns().begin(), h.columns().end(), c) != h.columns().end(), c);
  CHECK(std::abs(h.column("kernel_distance").front()) < 1e-12);
  CHECK(h.column("kernel_distance").back() > 0.0);
  CHECK(h.column("kernel_velocity").back() > 0.0);
  CHECK(h.column("cka_to_init").front() == doctest::Approx(1.0));
  CHECK(h.column("relative_movement").front() == 0.0);
  CHECK(h.column("relative_movement").back() > 0.0);
  CHECK(h.column("weight_norm_layers.0.weight").back() ==
        doctest::Approx(m.parameter("layers.0.weight").value.norm()).epsilon(1e-12));
  const auto al = h.column("ntk_alignment");
  for (double a : al) CHECK((a >= -1.0 && a <= 1.0));
}

TEST_CASE("fourier_probe: logits built from one frequency have restricted loss = the loss and a high excluded loss") {
  const Index p = 11, k = 3;
  FixedLogits m;
  m.L.resize(p * p, p);
  IndexList labels;
  for (Index a = 0; a < p; ++a)
    for (Index b = 0; b < p; ++b) {
      labels.push_back((a + b) % p);
      for (Index c = 0; c < p; ++c) m.L(a * p + b, c) = 8.0 * std::cos(2 * M_PI * k * (a + b - c) / double(p));
    }
  ModelInput<double> grid;
  grid.x = Matrix<double>::Zero(p * p, 1);
  IndexList train;
  for (Index i = 0; i < p * p; i += 3) train.push_back(i);
  const Record r = fourier_probe<double>(grid, labels, train, {}, 1)(m, 0);
  REQUIRE(r.size() == 4);
  double ce = 0;  // the full loss of the logits
  for (Index i = 0; i < p * p; ++i) {
    const double mx = m.L.row(i).maxCoeff();
    ce += std::log((m.L.row(i).array() - mx).exp().sum()) + mx - m.L(i, labels[static_cast<std::size_t>(i)]);
  }
  ce /= double(p * p);
  CHECK(r[0].first == "restricted_loss");
  CHECK(r[0].second == doctest::Approx(ce).epsilon(1e-9));
  CHECK(r[1].second == doctest::Approx(std::log(double(p))).epsilon(1e-9));        // nothing left: uniform
  CHECK(r[2].second == doctest::Approx(1.0 - 1.0 / ((p - 1) / 2)).epsilon(1e-9));  // one frequency of (p−1)/2
  // the restricted loss on the pairs outside `train`: the full loss of those rows
  double ce_test = 0;
  Index n_test = 0;
  for (Index i = 0; i < p * p; ++i) {
    if (i % 3 == 0) continue;
    const double mx = m.L.row(i).maxCoeff();
    ce_test += std::log((m.L.row(i).array() - mx).exp().sum()) + mx - m.L(i, labels[static_cast<std::size_t>(i)]);
    ++n_test;
  }
  CHECK(r[3].first == "restricted_test_loss");
  CHECK(r[3].second == doctest::Approx(ce_test / double(n_test)).epsilon(1e-9));
  // fixed keys: the same frequency given explicitly; a key off the range or twice is refused by name
  CHECK(fourier_probe<double>(grid, labels, train, {k})(m, 0)[0].second == doctest::Approx(ce).epsilon(1e-9));
  CHECK_THROWS_WITH(fourier_probe<double>(grid, labels, train, {6}),
                    doctest::Contains("key frequency 6 is outside [1, 5] for p = 11"));
  CHECK_THROWS_WITH(fourier_probe<double>(grid, labels, train, {2, 2}),
                    doctest::Contains("key frequency 2 is given twice"));
  CHECK_THROWS_AS(fourier_probe<double>(grid, IndexList(3, 0), train), std::invalid_argument);
  ModelInput<double> bad;
  bad.x = Matrix<double>::Zero(10, 1);
  CHECK_THROWS_AS(fourier_probe<double>(bad, IndexList(10, 0), train), std::invalid_argument);
}

TEST_CASE("sparsity_probe: effective sparsity and the mean norms inside and outside the active subnetwork") {
  ParityOptions po;
  po.n = 10, po.k = 2, po.n_train = 48, po.n_test = 8;
  const Dataset ds = sparse_parity(po);
  Mlp<double> net(MlpConfig::merrill(10, 24, 2));
  IndexList pm;
  for (Index i : ds.train) pm.push_back(ds.targets(i, 0) > 0 ? 1 : -1);
  const ModelInput<double> X = ModelInput<double>::from_dataset(ds, ds.train);
  ProbeFn<double> probe = sparsity_probe<double>(X, pm);
  const Record r = probe(net, 0);
  REQUIRE(r.size() == 3);
  const EffectiveSparsity e = effective_sparsity(net, X, pm);
  CHECK(r[0].first == "effective_sparsity");
  CHECK(r[0].second == static_cast<double>(e.k));
  std::vector<double> norms;
  const Matrix<double>& W = net.parameter("layers.0.weight").value;
  for (Index i = 0; i < W.rows(); ++i) norms.push_back(W.row(i).norm());
  std::sort(norms.rbegin(), norms.rend());
  double in = 0, out = 0;
  for (Index i = 0; i < 24; ++i) (i < e.k ? in : out) += norms[static_cast<std::size_t>(i)];
  if (e.k > 0) CHECK(r[1].second == doctest::Approx(in / static_cast<double>(e.k)).epsilon(1e-12));
  if (e.k < 24) CHECK(r[2].second == doctest::Approx(out / static_cast<double>(24 - e.k)).epsilon(1e-12));
  CHECK(r[1].first == "active_neuron_norm");
  CHECK(r[2].first == "other_neuron_norm");
  // labels that are not ±1 for a one-output network are refused by name
  IndexList bad = pm;
  bad[0] = 0;
  CHECK_THROWS_AS(sparsity_probe<double>(X, bad)(net, 0), std::invalid_argument);
}

TEST_CASE("stability_probe: softmax collapse, zero losses, NLM cosine, logit and last-layer norms") {
  Dataset ds = modular_dataset({ModOp::Add, 7, ModEncoding::PairIndices});
  Mlp<float> m(MlpConfig::gromov(7, 16));
  IndexList all(static_cast<std::size_t>(ds.size()));
  for (Index i = 0; i < ds.size(); ++i) all[static_cast<std::size_t>(i)] = i;
  const ModelInput<float> X = ModelInput<float>::from_dataset(ds, all);
  const IndexList y = ds.labels_of(all);
  ProbeFn<float> probe = stability_probe<float>(X, y);
  std::vector<Parameter<float>*> ps = m.parameters();
  for (Parameter<float>* p : ps) p->grad.setConstant(7.0f);  // the probe must leave these alone
  Record r = probe(m, 0);
  auto col = [&](const Record& rec, const std::string& name) {
    for (const auto& kv : rec)
      if (kv.first == name) return kv.second;
    FAIL("no column " << name);
    return 0.0;
  };
  CHECK(col(r, "softmax_collapse") == 0.0);
  CHECK(col(r, "zero_loss_fraction") == 0.0);
  CHECK(std::abs(col(r, "nlm_cosine")) <= 1.0);
  CHECK(col(r, "logit_norm") > 0);
  const Parameter<float>* last = ps.back()->rows() > 1 && ps.back()->cols() > 1 ? ps.back() : ps[ps.size() - 2];
  CHECK(col(r, "last_layer_norm") == doctest::Approx(last->value.cast<double>().norm()));
  for (const Parameter<float>* p : ps) CHECK(p->grad == Matrix<float>::Constant(p->rows(), p->cols(), 7.0f));
  // Scaled-up output weights: the float softmax collapses on (nearly) every row; a collapsed row
  // whose target is the argmax has a loss of exactly 0 in float.
  for (Parameter<float>* p : ps)
    if (p == last) p->value *= 1e6f;
  r = probe(m, 1);
  Tape<float> t;
  const Matrix<float> Z = m.forward(t, X).value();
  double collapsed = 0, zero = 0;
  for (Index i = 0; i < Z.rows(); ++i) {
    Index a = 0;
    const float mx = Z.row(i).maxCoeff(&a);
    float others = 0;
    for (Index j = 0; j < Z.cols(); ++j)
      if (j != a) others += std::exp(Z(i, j) - mx);
    const bool c = 1.0f + others == 1.0f;  // every other class is below half an ulp of the max's 1
    collapsed += c;
    zero += c && a == y[static_cast<std::size_t>(i)];
  }
  const double rows = static_cast<double>(Z.rows());
  CHECK(col(r, "softmax_collapse") > 0.9);
  CHECK(col(r, "softmax_collapse") == doctest::Approx(collapsed / rows));
  CHECK(col(r, "zero_loss_fraction") == doctest::Approx(zero / rows));
  CHECK(col(r, "zero_loss_fraction") > 0);
  CHECK_THROWS_AS(stability_probe<float>(X, IndexList{1, 2}), std::invalid_argument);
  CHECK_THROWS_WITH_AS(stability_probe<float>(X, y, "nope")(m, 2), doctest::Contains("no parameter 'nope'"),
                       std::invalid_argument);
}

TEST_CASE("stability_probe with StableMax: its own collapse measure and gradient") {
  Dataset ds = modular_dataset({ModOp::Add, 7, ModEncoding::PairIndices});
  Mlp<float> m(MlpConfig::gromov(7, 16, 3));
  IndexList all(static_cast<std::size_t>(ds.size()));
  for (Index i = 0; i < ds.size(); ++i) all[static_cast<std::size_t>(i)] = i;
  const ModelInput<float> X = ModelInput<float>::from_dataset(ds, all);
  const IndexList y = ds.labels_of(all);
  ProbeFn<float> sm = stability_probe<float>(X, y, "", LossKind::StableMax);
  ProbeFn<float> ce = stability_probe<float>(X, y);
  auto col = [&](const Record& rec, const std::string& name) {
    for (const auto& kv : rec)
      if (kv.first == name) return kv.second;
    FAIL("no column " << name);
    return 0.0;
  };
  std::vector<Parameter<float>*> ps = m.parameters();
  // The NLM cosine follows the StableMax gradient: recompute it by hand.
  const auto nlm_of = [&](bool stable) {
    for (Parameter<float>* p : ps) p->zero_grad();
    Tape<float> t;
    const Var<float> z = m.forward(t, X);
    t.backward(stable ? stablemax_cross_entropy(z, y) : cross_entropy(z, y));
    double gt = 0, gg = 0, tt = 0;
    for (Parameter<float>* p : ps) {
      const auto g = p->grad.cast<double>().array(), th = p->value.cast<double>().array();
      gt += (g * th).sum(), gg += g.square().sum(), tt += th.square().sum();
    }
    return -gt / std::sqrt(gg * tt);
  };
  Record r = sm(m, 0);
  CHECK(col(r, "nlm_cosine") == doctest::Approx(nlm_of(true)).epsilon(1e-6));
  CHECK(col(ce(m, 0), "nlm_cosine") == doctest::Approx(nlm_of(false)).epsilon(1e-6));
  // At output scale 1e6 the softmax collapses on nearly every row; StableMax's s(z) = z + 1 or
  // 1/(1 − z) does not (its rivals keep a share ~ 1/|z|), so its collapse share is far lower.
  for (Parameter<float>* p : ps)
    if (p == ps.back()) p->value *= 1e6f;
  const double sc_soft = col(ce(m, 1), "softmax_collapse"), sc_stable = col(sm(m, 1), "softmax_collapse");
  CHECK(sc_soft > 0.9);
  CHECK(sc_stable < sc_soft);
  // ... and it is exactly the rows where Σ_j s(z_j) == s(max z) in float
  Tape<float> t;
  const Matrix<float> Z = m.forward(t, X).value();
  double collapsed = 0;
  for (Index i = 0; i < Z.rows(); ++i) {
    const auto s = [](float x) { return x >= 0 ? x + 1.0f : 1.0f / (1.0f - x); };
    float sum = 0;
    for (Index j = 0; j < Z.cols(); ++j) sum += s(Z(i, j));
    collapsed += sum == s(Z.row(i).maxCoeff());
  }
  CHECK(sc_stable == doctest::Approx(collapsed / static_cast<double>(Z.rows())));
  CHECK_THROWS_WITH_AS(stability_probe<float>(X, y, "", LossKind::Mse), doctest::Contains("not mse"),
                       std::invalid_argument);
}
