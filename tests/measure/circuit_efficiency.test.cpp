#include <grokscope/core/rng.hpp>
#include <grokscope/measure/circuit_efficiency.hpp>
#include <grokscope/nn/mlp.hpp>

#include <doctest/doctest.h>

#include <cmath>

using namespace grokscope;

TEST_CASE("trig_subspace_share: 1 for C_gen's form, 0 for a lookup table orthogonal to it, the norms add up") {
  const Index p = 11;
  IndexList y;
  for (Index a = 0; a < p; ++a)
    for (Index b = 0; b < p; ++b) y.push_back((a + b) % p);
  const Index n = p * p;
  Eigen::MatrixXd gen(n, p + 1), rnd(n, p);
  Rng rng(2);
  for (Index i = 0; i < n; ++i) {
    for (Index c = 0; c < p; ++c) {
      const double s = static_cast<double>(y[static_cast<std::size_t>(i)] - c);
      gen(i, c) =
          2 * std::cos(2 * M_PI * 3 * s / p) + 0.5 * std::sin(2 * M_PI * 5 * s / p) + 7.0 * i;  // + a row offset
    }
    gen(i, p) = 100;  // an extra class (e.g. "=") is left out
  }
  const TrigShare g = trig_subspace_share(gen, y, p);
  CHECK(g.share == doctest::Approx(1.0).epsilon(1e-12));
  CHECK(g.mem_norm < 1e-9);
  rnd = rng.normal_matrix<double>(n, p);
  const TrigShare r = trig_subspace_share(rnd, y, p);
  CHECK(r.share < 0.2);  // p of the p(p − 1) centred dimensions
  Eigen::MatrixXd centred = rnd;
  centred.colwise() -= centred.rowwise().mean();
  CHECK(r.gen_norm * r.gen_norm + r.mem_norm * r.mem_norm == doctest::Approx(centred.squaredNorm()).epsilon(1e-12));
  // mixing: the share is the generalising part's share of the squared norm when the parts are orthogonal
  Eigen::MatrixXd resid = centred;
  {
    Eigen::VectorXd sum = Eigen::VectorXd::Zero(p), cnt = Eigen::VectorXd::Zero(p);
    for (Index i = 0; i < n; ++i)
      for (Index c = 0; c < p; ++c) sum(((y[i] - c) % p + p) % p) += resid(i, c), cnt(((y[i] - c) % p + p) % p) += 1;
    for (Index i = 0; i < n; ++i)
      for (Index c = 0; c < p; ++c) resid(i, c) -= sum(((y[i] - c) % p + p) % p) / cnt(((y[i] - c) % p + p) % p);
  }
  Eigen::MatrixXd g0 = gen.leftCols(p);
  g0.colwise() -= g0.rowwise().mean();
  const TrigShare mix = trig_subspace_share(g0 + resid, y, p);
  CHECK(mix.share == doctest::Approx(g0.squaredNorm() / (g0.squaredNorm() + resid.squaredNorm())).epsilon(1e-10));
  CHECK_THROWS_AS(trig_subspace_share(gen.topRows(5), y, p), std::invalid_argument);
  IndexList bad = y;
  bad[3] = p;
  CHECK_THROWS_WITH_AS(trig_subspace_share(gen, bad, p),
                       "grokscope::trig_subspace_share: answer 11 at row 3 is outside [0, p)", std::invalid_argument);
}

TEST_CASE("logit_efficiency: logits per norm^L do not change when a bias-free ReLU MLP is scaled") {
  MlpConfig c;
  c.input = 6, c.hidden = {20, 15}, c.output = 4, c.bias = false, c.seed = 3;
  Mlp<double> m(c);
  Rng rng(1);
  ModelInput<double> X;
  X.x = rng.normal_matrix<double>(30, 6);
  const double e = logit_efficiency(m, X, 3.0);
  for (double k : {0.1, 2.0, 7.5}) {
    for (Parameter<double>* p : m.parameters()) p->value *= k;
    CHECK(logit_efficiency(m, X, 3.0) == doctest::Approx(e).epsilon(1e-12));
    for (Parameter<double>* p : m.parameters()) p->value /= k;
  }
  const double e2 = logit_efficiency(m, X, 2.0);
  for (Parameter<double>* p : m.parameters()) p->value *= 2.0;
  CHECK(logit_efficiency(m, X, 2.0) == doctest::Approx(2.0 * e2).epsilon(1e-12));  // the wrong degree is not invariant
  CHECK_THROWS_AS(logit_efficiency(m, X, 0.0), std::invalid_argument);
}

TEST_CASE("converged_at and convergence_stop: the first window of evaluations within the tolerance") {
  const std::vector<double> steps{0, 10, 20, 30, 40, 50, 60};
  const std::vector<double> v{5, 3, 2.0, 1.0, 1.0005, 0.9996, 1.0002};
  ConvergenceRule r;
  r.window = 2, r.rel_tol = 1e-3;
  CHECK(converged_at(steps, v, r) == 50.0);
  r.window = 3;
  CHECK(converged_at(steps, v, r) == 60.0);
  r.window = 4;
  CHECK(!converged_at(steps, v, r));
  History h;
  for (std::size_t i = 0; i < v.size(); ++i) h.add({{"step", steps[i]}, {"weight_norm", v[i]}});
  r.window = 2;
  CHECK(convergence_stop("weight_norm", r)(h));
  CHECK(!convergence_stop("missing", r)(h));
  CHECK_THROWS_AS(converged_at(steps, {1.0}, r), std::invalid_argument);
}

TEST_CASE("crossover_size: N_mem = a sqrt(D) against a constant N_gen gives (N_gen / a)^2 exactly") {
  const double a = 0.8, level = 40;
  std::vector<double> D, mem, gen;
  for (double d = 100; d <= 12800; d *= 2) D.push_back(d), mem.push_back(a * std::sqrt(d)), gen.push_back(level);
  const std::optional<double> dc = crossover_size(D, mem, gen);
  REQUIRE(dc);
  CHECK(*dc == doctest::Approx((level / a) * (level / a)).epsilon(1e-12));
  // no crossing in range
  std::vector<double> low(gen.size(), 1.0);
  CHECK(!crossover_size(D, mem, low));
  CHECK_THROWS_WITH_AS(crossover_size({1.0, 1.0}, {1.0, 2.0}, {1.5, 1.5}),
                       "grokscope::crossover_size: sizes must be positive and ascending", std::invalid_argument);
  CHECK_THROWS_AS(crossover_size(D, mem, {1.0}), std::invalid_argument);
}
