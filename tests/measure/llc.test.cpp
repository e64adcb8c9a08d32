#include <grokscope/core/rng.hpp>
#include <grokscope/data/modular.hpp>
#include <grokscope/measure/llc.hpp>
#include <grokscope/nn/mlp.hpp>
#include <grokscope/train/probes.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <vector>

using namespace grokscope;

namespace {

// A model that is only its parameters; the losses below use them directly.
class Params : public Model<double> {
 public:
  explicit Params(std::vector<Parameter<double>> ps) : m_ps(std::move(ps)) {}
  Var<double> forward(Tape<double>& t, const ModelInput<double>&) override { return t.param(m_ps[0]); }
  std::vector<Parameter<double>*> parameters() override {
    std::vector<Parameter<double>*> v;
    for (auto& p : m_ps) v.push_back(&p);
    return v;
  }
  nlohmann::ordered_json config() const override { return {{"model", "params"}}; }

 private:
  std::vector<Parameter<double>> m_ps;
};

// λ = nβ E[½ Σ hᵢ wᵢ²] under SGLD's own stationary law for the quadratic: per coordinate a Gaussian
// of variance 1 / (a (1 − εa/4)), a = nβ h + γ (the unadjusted Langevin step's exact bias).
double quadratic_llc(const std::vector<double>& h, double nbeta, double gamma, double eps) {
  double s = 0;
  for (double hi : h) {
    const double a = nbeta * hi + gamma;
    s += 0.5 * nbeta * hi / (a * (1 - eps * a / 4));
  }
  return s;
}

// The tempered-posterior value λ_β of K(w) = w1² w2⁴ by quadrature on 400001 points. A function, not
// a lambda: a lambda is implicitly constexpr, and GCC then tried to evaluate the whole loop at compile
// time for the constant arguments below (14 s of this file's 19 s parse).
double tempered(double nbeta, double gamma) {
  const double lim = 12 / std::sqrt(gamma);
  const int N = 400000;
  double num = 0, den = 0;
  for (int i = 0; i <= N; ++i) {
    const double w = -lim + 2 * lim * i / N, w4 = w * w * w * w;
    const double p = std::exp(-0.5 * gamma * w * w) / std::sqrt(2 * nbeta * w4 + gamma);
    num += p * nbeta * w4 / (2 * nbeta * w4 + gamma);
    den += p;
  }
  return num / den;
}

}  // namespace

TEST_CASE("estimate_llc: a regular quadratic gives the exact tempered value, near d/2") {
  const std::vector<double> h{1, 2, 4, 8};
  Params model({Parameter<double>("w", Matrix<double>::Zero(1, 4))});
  Matrix<double> half(1, 4);
  for (Index i = 0; i < 4; ++i) half(0, i) = 0.5 * h[static_cast<std::size_t>(i)];
  const BatchLossFn<double> loss = [&](Tape<double>& t, Model<double>& m, const IndexList&) {
    return sum(mul(square(t.param(*m.parameters()[0])), t.constant(half)));
  };
  LlcOptions o;
  o.epsilon = 1e-4, o.nbeta = 100, o.gamma = 10, o.chains = 8, o.draws = 4000, o.burnin = 1000;
  o.batch_size = 0, o.init_loss_batches = 0;
  const LlcResult r = estimate_llc<double>(model, loss, 1, o);
  const double expected = quadratic_llc(h, o.nbeta, o.gamma, o.epsilon);
  MESSAGE("quadratic: LLC " << r.llc_mean << " ± " << r.llc_std << " over 8 chains, exact " << expected);
  CHECK(r.init_loss == 0.0);
  CHECK(r.llc_per_chain.size() == 8);
  CHECK(std::abs(r.llc_mean - expected) < 4 * r.llc_std / std::sqrt(8.0));
  CHECK(std::abs(r.llc_mean - 2.0) < 0.25);  // d/2 as γ/(nβ h) → 0
  CHECK(r.fraction_below_init == 0.0);       // L ≥ 0 = L₀ everywhere
  CHECK(r.mala_acceptance > 0.9);
  CHECK(r.warnings.empty());
  CHECK(model.parameters()[0]->value == Matrix<double>::Zero(1, 4));  // w* restored
  // as nβ grows at fixed γ the exact value tends to d/2
  CHECK(quadratic_llc(h, 1e6, 10, 0) == doctest::Approx(2.0).epsilon(1e-4));

  // the same seed gives the same chains; another seed other chains
  LlcOptions small = o;
  small.chains = 2, small.draws = 50, small.burnin = 0;
  const LlcResult a = estimate_llc<double>(model, loss, 1, small), b = estimate_llc<double>(model, loss, 1, small);
  CHECK(a.loss_trace == b.loss_trace);
  small.seed = 1;
  CHECK(estimate_llc<double>(model, loss, 1, small).loss_trace != a.loss_trace);
  // a step far beyond the stable one diverges, with the chain named
  small.epsilon = 10.0;
  CHECK_THROWS_WITH_AS(estimate_llc<double>(model, loss, 1, small), doctest::Contains("chain 0"), std::runtime_error);
  // MALA acceptance falls as ε grows (0.02 is stable, 0.9 of the stability limit 4/a for a = 810)
  small.epsilon = 0.0044;
  small.draws = 400;
  const LlcResult big = estimate_llc<double>(model, loss, 1, small);
  CHECK(big.mala_acceptance < a.mala_acceptance);
  // w* away from the minimum: the chains fall below L₀, and the diagnostics say so
  model.parameters()[0]->value.setConstant(1.0);
  small.epsilon = 1e-4;
  const LlcResult off = estimate_llc<double>(model, loss, 1, small);
  CHECK(off.llc_mean < 0);
  CHECK(off.fraction_below_init > 0.9);
  REQUIRE(off.warnings.size() >= 2);
  CHECK(off.warnings[0].find("negative LLC") != std::string::npos);
  CHECK(off.warnings[1].find("below L0") != std::string::npos);
  CHECK(model.parameters()[0]->value == Matrix<double>::Constant(1, 4, 1.0));
}

TEST_CASE("estimate_llc: the weight-restricted LLC samples only the named parameters") {
  Params model(
      {Parameter<double>("a", Matrix<double>::Zero(1, 2)), Parameter<double>("b", Matrix<double>::Zero(1, 2))});
  const BatchLossFn<double> loss = [](Tape<double>& t, Model<double>& m, const IndexList&) {
    const std::vector<Parameter<double>*> ps = m.parameters();
    return add(sum(square(t.param(*ps[0]))), scale(sum(square(t.param(*ps[1]))), 4.0));
  };
  LlcOptions o;
  o.epsilon = 1e-4, o.nbeta = 200, o.gamma = 1, o.chains = 6, o.draws = 3000, o.burnin = 500;
  o.batch_size = 0, o.init_loss_batches = 0;
  o.parameters = {"a"};
  const LlcResult r = estimate_llc<double>(model, loss, 1, o);
  // only a's two coordinates (h = 2): λ = 2 · ½ · nβh/(a(1 − εa/4))
  CHECK(std::abs(r.llc_mean - quadratic_llc({2, 2}, 200, 1, 1e-4)) < 4 * r.llc_std / std::sqrt(6.0) + 1e-3);
  CHECK(model.parameters()[1]->value == Matrix<double>::Zero(1, 2));
  o.parameters = {"nope"};
  CHECK_THROWS_WITH_AS(estimate_llc<double>(model, loss, 1, o), doctest::Contains("no parameter 'nope'"),
                       std::invalid_argument);
}

TEST_CASE("estimate_llc: the singular K(w) = w1² w2⁴ matches the tempered posterior, and tends to 1/4") {
  // λ_β = nβ E[w1² w2⁴] under exp(−nβ w1² w2⁴ − γ/2 ‖w‖²): w1 given w2 is Gaussian with precision
  // 2nβ w2⁴ + γ, so λ_β = nβ ∫ w2⁴ / (2nβ w2⁴ + γ) p(w2) dw2 with p(w2) ∝ e^{−γ w2²/2} (2nβ w2⁴ + γ)^{−1/2}.
  // the learning coefficient of w1² w2⁴ is min(1/2, 1/4) = 1/4 (Watanabe): the tempered value
  // approaches it as nβ grows (0.112 at nβ = 1e4, γ = 25; 0.236 at 1e4, γ = 1; 0.2499 at 1e12)
  CHECK(tempered(1e12, 1) == doctest::Approx(0.25).epsilon(0.01));
  CHECK(tempered(1e4, 25) < tempered(1e6, 25));
  Params model(
      {Parameter<double>("w1", Matrix<double>::Zero(1, 1)), Parameter<double>("w2", Matrix<double>::Zero(1, 1))});
  const BatchLossFn<double> loss = [](Tape<double>& t, Model<double>& m, const IndexList&) {
    const std::vector<Parameter<double>*> ps = m.parameters();
    return sum(mul(square(t.param(*ps[0])), square(square(t.param(*ps[1])))));
  };
  LlcOptions o;
  o.epsilon = 5e-5, o.nbeta = 1e4, o.gamma = 25, o.chains = 8, o.draws = 16000, o.burnin = 4000;
  o.batch_size = 0, o.init_loss_batches = 0;
  const LlcResult r = estimate_llc<double>(model, loss, 1, o);
  const double expected = tempered(o.nbeta, o.gamma);
  MESSAGE("w1² w2⁴: LLC " << r.llc_mean << " ± " << r.llc_std << " over 8 chains, tempered posterior " << expected);
  CHECK(std::abs(r.llc_mean - expected) < 4 * r.llc_std / std::sqrt(8.0) + 0.03 * expected);
  CHECK(r.llc_mean < 0.3);  // far below the regular model's d/2 = 1
}

TEST_CASE("llc_probe on an MLP with mini-batches: defaults, diagnostics, bad input") {
  Dataset ds = modular_dataset({ModOp::Add, 7, ModEncoding::OneHotFeatures});
  for (Index i = 0; i < ds.size(); ++i) (i % 3 ? ds.train : ds.test).push_back(i);
  MlpConfig c;
  c.input = 14, c.hidden = {16}, c.output = 7, c.seed = 1;
  Mlp<float> net(c);
  LlcOptions o;
  o.chains = 2, o.draws = 40, o.batch_size = 8, o.init_loss_batches = 4, o.epsilon = 1e-4;
  const ProbeFn<float> probe = llc_probe<float>(ds, ds.train, LossKind::CrossEntropy, o);
  const Matrix<float> w0 = net.parameters()[0]->value;
  const Record r = probe(net, 0);
  CHECK(net.parameters()[0]->value == w0);
  REQUIRE(r.size() == 7);
  CHECK(r[6].first == "llc_warnings");
  CHECK(r[6].second >= 0);
  CHECK(r[0].first == "llc_mean");
  CHECK(std::isfinite(r[0].second));
  CHECK(r[2].first == "llc_nbeta");
  CHECK(r[2].second == doctest::Approx(8 / std::log(8.0)));  // devinterp's m / ln m
  o.batch_size = 1000;
  CHECK_THROWS_WITH_AS(llc_probe<float>(ds, ds.train, LossKind::CrossEntropy, o)(net, 0),
                       doctest::Contains("batch_size must be in [0, 32]"), std::invalid_argument);
  o.batch_size = 8, o.chains = 1000000, o.draws = 1000000000;  // 8e15 bytes of loss trace, refused before drawing
  CHECK_THROWS_WITH_AS(llc_probe<float>(ds, ds.train, LossKind::CrossEntropy, o)(net, 0),
                       doctest::Contains("the loss trace of 1000000 chains × 1000000000 draws needs about"),
                       MemoryLimitError);
  o.chains = 2, o.draws = 40;
  o.batch_size = 8;
  o.epsilon = -1;
  CHECK_THROWS_AS(llc_probe<float>(ds, ds.train, LossKind::CrossEntropy, o)(net, 0), std::invalid_argument);
}
