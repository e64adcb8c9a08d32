#include <grokscope/core/rng.hpp>
#include <grokscope/data/regression.hpp>
#include <grokscope/measure/linearized.hpp>
#include <grokscope/measure/ntk.hpp>
#include <grokscope/nn/mlp.hpp>
#include <grokscope/optim/sgd.hpp>
#include <grokscope/train/probes.hpp>
#include <grokscope/train/trainer.hpp>

#include "../test_util.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>

using namespace grokscope;

namespace {

// A positive semi-definite kernel of rank `rank` on n points plus its cross-kernel to m points,
// from random features.
struct Kernels {
  Eigen::MatrixXd K, K_xt;
};
Kernels random_kernels(Index n, Index m, Index rank, std::uint64_t seed) {
  Rng rng(seed);
  const Eigen::MatrixXd F = rng.normal_matrix(n, rank), G = rng.normal_matrix(m, rank);
  return {F * F.transpose(), G * F.transpose()};
}

// t steps of f ← f − (2η/N) K (f − y) on the training outputs and the same update of the test
// outputs through K_xt (kernel acting on every output column).
void recursion(const Eigen::MatrixXd& K, const Eigen::MatrixXd& K_xt, const Eigen::MatrixXd& y, double eta, Index t,
               Eigen::MatrixXd& f, Eigen::MatrixXd& f_test) {
  const double c = 2 * eta / static_cast<double>(y.size());
  for (Index s = 0; s < t; ++s) {
    const Eigen::MatrixXd r = f - y;
    f -= c * K * r;
    f_test -= c * K_xt * r;
  }
}

}  // namespace

TEST_CASE("LinearizedDynamics: the closed form equals the GD recursion on the linear model") {
  const Index n = 12, m = 7, k = 3;
  const Kernels ks = random_kernels(n, m, 8, 1);  // rank 8 < n: zero eigenvalues included
  Rng rng(2);
  const Eigen::MatrixXd y = rng.normal_matrix(n, k), f0 = 0.1 * rng.normal_matrix(n, k),
                        f0_test = 0.1 * rng.normal_matrix(m, k);
  LinearizedOptions o;
  o.learning_rate =
      0.8 * LinearizedDynamics(ks.K, y, f0).max_learning_rate();  // stable, with oscillating modes (cλ > 1)
  const LinearizedDynamics lin(ks.K, y, f0, o);
  for (Index t : {0, 1, 5, 40, 300}) {
    Eigen::MatrixXd f = f0, ft = f0_test;
    recursion(ks.K, ks.K_xt, y, o.learning_rate, t, f, ft);
    const double d = static_cast<double>(t);
    CHECK((lin.train_outputs(d) - f).norm() <= 1e-9 * (1 + f.norm()));
    CHECK((lin.test_outputs(d, ks.K_xt, f0_test) - ft).norm() <= 1e-9 * (1 + ft.norm()));
    CHECK(lin.train_loss(d) == doctest::Approx((f - y).squaredNorm() / static_cast<double>(y.size())));
  }
  // the training residual in the kernel's null space never moves
  CHECK(lin.train_loss(1e6) > 0);

  // the full (n·k) × (n·k) kernel K ⊗ I (row i·k + a) gives the same predictions
  Eigen::MatrixXd Kf = Eigen::MatrixXd::Zero(n * k, n * k), Kxf = Eigen::MatrixXd::Zero(m * k, n * k);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < n; ++j)
      for (Index a = 0; a < k; ++a) Kf(i * k + a, j * k + a) = ks.K(i, j);
  for (Index i = 0; i < m; ++i)
    for (Index j = 0; j < n; ++j)
      for (Index a = 0; a < k; ++a) Kxf(i * k + a, j * k + a) = ks.K_xt(i, j);
  const LinearizedDynamics full(Kf, y, f0, o);
  CHECK(full.max_learning_rate() == doctest::Approx(lin.max_learning_rate()));  // same eigenvalues, same N = n·k
  for (double t : {0.0, 3.0, 50.0}) {
    CHECK((full.train_outputs(t) - lin.train_outputs(t)).norm() <= 1e-10 * (1 + lin.train_outputs(t).norm()));
    CHECK((full.test_outputs(t, Kxf, f0_test) - lin.test_outputs(t, ks.K_xt, f0_test)).norm() <=
          1e-10 * (1 + f0_test.norm()));
  }
}

TEST_CASE("LinearizedDynamics: full kernel with output coupling against its recursion") {
  const Index n = 6, m = 4, k = 2;
  const Kernels ks = random_kernels(n * k, m * k, 9, 3);  // a full kernel with cross-output terms
  Rng rng(4);
  const Eigen::MatrixXd y = rng.normal_matrix(n, k), f0 = rng.normal_matrix(n, k), f0_test = rng.normal_matrix(m, k);
  LinearizedOptions o;
  o.learning_rate = 0.5 * LinearizedDynamics(ks.K, y, f0).max_learning_rate();
  const LinearizedDynamics lin(ks.K, y, f0, o);
  const auto vec = [](const Eigen::MatrixXd& f) {
    Eigen::VectorXd v(f.size());
    for (Index i = 0; i < f.rows(); ++i)
      for (Index a = 0; a < f.cols(); ++a) v(i * f.cols() + a) = f(i, a);
    return v;
  };
  Eigen::VectorXd f = vec(f0), ft = vec(f0_test);
  const Eigen::VectorXd yv = vec(y);
  const double c = 2 * o.learning_rate / static_cast<double>(y.size());
  for (Index s = 0; s < 25; ++s) {
    const Eigen::VectorXd r = f - yv;
    f -= c * ks.K * r;
    ft -= c * ks.K_xt * r;
  }
  CHECK((vec(lin.train_outputs(25)) - f).norm() <= 1e-10 * (1 + f.norm()));
  CHECK((vec(lin.test_outputs(25, ks.K_xt, f0_test)) - ft).norm() <= 1e-10 * (1 + ft.norm()));
}

TEST_CASE("LinearizedDynamics: gradient flow is the small-step limit; neural-tangents' time convention") {
  const Index n = 10, m = 5;
  const Kernels ks = random_kernels(n, m, 10, 5);
  Rng rng(6);
  const Eigen::MatrixXd y = rng.normal_matrix(n, 1), f0 = rng.normal_matrix(n, 1), f0_test = rng.normal_matrix(m, 1);
  LinearizedOptions flow;
  flow.time = LinearizedTime::GradientFlow;
  flow.learning_rate = 0.3;
  const LinearizedDynamics g(ks.K, y, f0, flow);
  // discrete GD with η/M for M·t steps converges to the flow at (η, t), with error O(1/M)
  LinearizedOptions disc;
  double prev = HUGE_VAL;
  for (Index M : {10, 100, 1000}) {
    disc.learning_rate = flow.learning_rate / static_cast<double>(M);
    const LinearizedDynamics d(ks.K, y, f0, disc);
    const double err =
        (d.test_outputs(static_cast<double>(7 * M), ks.K_xt, f0_test) - g.test_outputs(7, ks.K_xt, f0_test)).norm();
    CHECK(err < prev / 5);
    prev = err;
  }
  CHECK(prev < 1e-2 * g.test_outputs(7, ks.K_xt, f0_test).norm());
  CHECK(g.test_outputs(2.5, ks.K_xt, f0_test).allFinite());  // any t in continuous time
  // neural-tangents' predict_fn(t) at learning rate η: f₀ + V (e^{−ηtΛ/N} − 1) Vᵀ (f₀ − y) on the
  // training set, for its loss ‖f − y‖²/(2N); grokscope's flow at η/2 is the same curve.
  const double eta_nt = 0.6, t = 3;
  const test::SymEigen es = test::sym_eigen(ks.K);
  const Eigen::ArrayXd e = (-eta_nt * t * es.values.array().max(0.0) / static_cast<double>(n)).exp() - 1;
  const Eigen::MatrixXd nt = f0 + es.vectors * (e.matrix().asDiagonal() * (es.vectors.transpose() * (f0 - y)));
  CHECK((g.train_outputs(t) - nt).norm() <= 1e-10 * nt.norm());
}

TEST_CASE("LinearizedDynamics: the largest stable learning rate and bad input") {
  const Kernels ks = random_kernels(8, 3, 8, 7);
  Rng rng(8);
  const Eigen::MatrixXd y = rng.normal_matrix(8, 2), f0 = Eigen::MatrixXd::Zero(8, 2);
  const double eta_max = LinearizedDynamics(ks.K, y, f0).max_learning_rate();
  const test::SymEigen es = test::sym_eigen(ks.K);
  CHECK(eta_max == doctest::Approx(16 / es.values.maxCoeff()));
  LinearizedOptions o;
  o.learning_rate = 0.99 * eta_max;
  CHECK(LinearizedDynamics(ks.K, y, f0, o).train_loss(2000) < LinearizedDynamics(ks.K, y, f0, o).train_loss(0));
  o.learning_rate = 1.01 * eta_max;
  CHECK(LinearizedDynamics(ks.K, y, f0, o).train_loss(2000) > 1e3 * LinearizedDynamics(ks.K, y, f0, o).train_loss(0));
  // diag_reg: K + r·(tr K/n)·I shifts every eigenvalue by the same amount
  o.learning_rate = 1;
  o.diag_reg = 0.5;
  const LinearizedDynamics reg(ks.K, y, f0, o);
  CHECK(reg.eigenvalues()(7) == doctest::Approx(es.values(0) + 0.5 * ks.K.trace() / 8));
  CHECK(LinearizedDynamics(Eigen::MatrixXd::Zero(8, 8), y, f0).max_learning_rate() ==
        std::numeric_limits<double>::infinity());

  const LinearizedDynamics lin(ks.K, y, f0);
  CHECK_THROWS_WITH_AS(LinearizedDynamics(ks.K.topRows(7), y, f0), doctest::Contains("not square"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(LinearizedDynamics(Eigen::MatrixXd::Identity(9, 9), y, f0), doctest::Contains("16x16 (full)"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(LinearizedDynamics(ks.K, y, f0.topRows(7)), doctest::Contains("f0_train is 7x2"),
                       std::invalid_argument);
  Eigen::MatrixXd bad = ks.K;
  bad(1, 2) = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH_AS(LinearizedDynamics(bad, y, f0), doctest::Contains("K_train entry (1, 2)"),
                       std::invalid_argument);
  o.learning_rate = -1;
  CHECK_THROWS_WITH_AS(LinearizedDynamics(ks.K, y, f0, o), doctest::Contains("learning rate"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(lin.train_outputs(1.5), doctest::Contains("whole number of steps"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(lin.train_outputs(-1), doctest::Contains(">= 0"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(lin.test_outputs(1, ks.K_xt.leftCols(7), Eigen::MatrixXd::Zero(3, 2)),
                       doctest::Contains("K_test_train is 3x7"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(lin.test_outputs(1, ks.K_xt, Eigen::MatrixXd::Zero(3, 1)), doctest::Contains("1 outputs"),
                       std::invalid_argument);
}

TEST_CASE("linearization_exit: the first step above the threshold after being below it") {
  const std::vector<double> s{0, 10, 20, 30, 40}, nan_first{std::nan(""), 0.01, 0.05, 0.2, 0.5};
  CHECK(linearization_exit(s, nan_first, 0.1) == 30.0);
  CHECK_FALSE(linearization_exit(s, {0.0, 0.01, 0.02, 0.03, 0.04}, 0.1).has_value());
  CHECK_FALSE(linearization_exit(s, {0.5, 0.6, 0.7, 0.8, 0.9}, 0.1).has_value());  // never linear
  CHECK_THROWS_AS(linearization_exit(s, {0.1}, 0.1), std::invalid_argument);
  CHECK_THROWS_AS(linearization_exit(s, nan_first, 0.0), std::invalid_argument);
}

TEST_CASE("linearization_probe: Kumar's network follows its linearization ever closer as α grows") {
  KumarOptions ko;
  ko.D = 10, ko.n_train = 40, ko.n_test = 60, ko.epsilon = 0.25, ko.convention = KumarConvention::B, ko.seed = 3;
  Dataset ds = kumar_polynomial(ko);
  const ModelInput<double> Xtr = ModelInput<double>::from_dataset(ds, ds.train);
  const ModelInput<double> Xte = ModelInput<double>::from_dataset(ds, ds.test);
  const Matrix<double> ytr = ds.targets_of(ds.train), yte = ds.targets_of(ds.test);
  std::vector<double> gaps, lin_gap;
  for (double alpha : {64.0, 512.0, 4096.0}) {
    Mlp<double> net(MlpConfig::kumar(ko.D, 50, ko.epsilon, alpha, true, 1));
    SgdConfig sc;
    sc.lr = 20 / (alpha * alpha);
    Sgd<double> opt(net.parameters(), sc);
    TrainConfig tc;
    tc.steps = 400;
    tc.eval_every = 100;
    tc.loss = LossKind::Mse;
    tc.progress = false;
    tc.detect = false;
    Trainer<double> tr(net, ds, opt, tc);
    tr.add_probe(100, linearization_probe<double>(Xtr, ytr, Xte, yte, sc.lr));
    const TrainResult res = tr.run();
    const std::vector<double> g = res.history.column("linearization_gap"), lt = res.history.column("lin_train_loss"),
                              rt = res.history.column("train_loss");
    CHECK(g.front() == 0.0);
    CHECK(lt.front() == doctest::Approx(rt.front()));  // the same model at t₀
    gaps.push_back(g.back());
    lin_gap.push_back(std::abs(lt.back() - rt.back()) / rt.back());
    CHECK(lt.back() < lt.front());  // the linear model learns too
  }
  // the gap shrinks as 1/α (the second-order terms of the centered network, at the same function-
  // space rate η₀/α²): ×8 in α, at least ×4 in gap. (At α ≤ 8 the network has left its
  // linearization within these 400 steps: the gap is O(1).)
  CHECK(gaps[1] < gaps[0] / 4);
  CHECK(gaps[2] < gaps[1] / 4);
  CHECK(gaps[2] < 0.01);
  CHECK(lin_gap[2] < 0.01);
}
