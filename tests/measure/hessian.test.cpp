#include "../test_util.hpp"

#include <grokscope/core/rng.hpp>
#include <grokscope/io/npy.hpp>
#include <grokscope/measure/hessian.hpp>
#include <grokscope/measure/ntk.hpp>
#include <grokscope/nn/mlp.hpp>
#include <grokscope/optim/sgd.hpp>
#include <grokscope/train/probes.hpp>
#include <grokscope/train/trainer.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <limits>

using namespace grokscope;

namespace {

Eigen::MatrixXd random_symmetric(const Eigen::VectorXd& eigenvalues, std::uint64_t seed) {
  Rng rng(seed);
  const Index n = eigenvalues.size();
  Eigen::MatrixXd G(n, n);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < n; ++j) G(i, j) = rng.normal();
  const Eigen::MatrixXd Q = test::householder_q(G);
  return Q * eigenvalues.asDiagonal() * Q.transpose();
}

Eigen::MatrixXd fixture(const std::string& name) {
  return load_npy<double>(test::fixture("torch/hessian_tanh_ce/" + name + ".npy"));
}

// a 1-D fixture (stored as one row or one column) as a vector
Eigen::VectorXd vec(const std::string& name) {
  const Matrix<double> m = load_npy<double>(test::fixture("torch/hessian_tanh_ce/" + name + ".npy"));
  return Eigen::Map<const Eigen::VectorXd>(m.data(), m.size());
}

}  // namespace

TEST_CASE("Lanczos, power iteration, Hutchinson and SLQ on matrices with known spectra") {
  Eigen::VectorXd ev(30);
  for (Index i = 0; i < 30; ++i) ev(i) = 0.1 * static_cast<double>(i) - 1.0;  // -1 .. 1.9
  ev(0) = -5;                                                                 // largest |λ| is negative
  ev(29) = 4;
  const Eigen::MatrixXd A = random_symmetric(ev, 1);
  const SymmetricOperator op = matrix_operator(A);
  LanczosOptions lo;
  lo.k = 3;
  const EigenEstimate top = lanczos_eigenvalues(op, lo);
  CHECK(top.eigenvalues(0) == doctest::Approx(4).epsilon(1e-10));
  CHECK(top.eigenvalues(1) == doctest::Approx(1.8).epsilon(1e-10));
  CHECK(top.eigenvalues(2) == doctest::Approx(1.7).epsilon(1e-10));
  CHECK(top.residuals.maxCoeff() < 1e-8);
  CHECK((A * top.eigenvectors.col(0) - 4 * top.eigenvectors.col(0)).norm() < 1e-8);
  lo.largest = false;
  lo.k = 2;
  const EigenEstimate low = lanczos_eigenvalues(op, lo);
  CHECK(low.eigenvalues(0) == doctest::Approx(-5).epsilon(1e-10));
  CHECK(low.eigenvalues(1) == doctest::Approx(-0.9).epsilon(1e-10));
  // PyHessian's power iteration converges to the largest |λ|: here −5, then 4 after deflation
  PowerIterationOptions po;
  po.top_n = 2;
  po.max_iter = 2000;
  po.tol = 1e-12;
  const EigenEstimate pw = power_iteration(op, po);
  CHECK(pw.eigenvalues(0) == doctest::Approx(-5).epsilon(1e-6));
  CHECK(pw.eigenvalues(1) == doctest::Approx(4).epsilon(1e-6));
  // at PyHessian's default tol (1e-3) the estimate is looser: within a few per cent
  const EigenEstimate pw_default = power_iteration(op);
  CHECK(std::abs(pw_default.eigenvalues(0) + 5) < 0.25);

  // Hutchinson: exact for a diagonal matrix (vᵀDv = tr D for every ±1 vector) and unbiased otherwise
  const Eigen::MatrixXd D = ev.asDiagonal();
  const TraceEstimate td = hutchinson_trace(matrix_operator(D));
  CHECK(td.trace == doctest::Approx(D.trace()));
  TraceOptions to;
  to.max_iter = 4000;
  to.tol = 0;
  const TraceEstimate ta = hutchinson_trace(op, to);
  CHECK(ta.samples.size() == 4000);
  CHECK(std::abs(ta.trace - A.trace()) < 4 * ta.standard_error);
  CHECK(ta.standard_error > 0);

  // SLQ: weights sum to 1; with as many steps as the dimension the nodes are the eigenvalues;
  // the mean of Σ w θ over runs estimates tr A / n
  DensityOptions dopt;
  dopt.iterations = 30;
  dopt.runs = 200;
  const SpectralDensity d = slq_density(op, dopt);
  REQUIRE(d.nodes.size() == 200);
  double mean = 0;
  for (std::size_t r = 0; r < d.nodes.size(); ++r) {
    CHECK(d.weights[r].sum() == doctest::Approx(1).epsilon(1e-12));
    mean += d.weights[r].dot(d.nodes[r]);
  }
  CHECK((d.nodes[0] - ev).cwiseAbs().maxCoeff() < 1e-8);  // ev is ascending, as the nodes
  CHECK(mean / 200 == doctest::Approx(A.trace() / 30).epsilon(0.05));
  const Eigen::VectorXd grid = Eigen::VectorXd::LinSpaced(2001, -7, 6);
  const Eigen::VectorXd rho = d.smoothed(grid, 0.05);
  CHECK(rho.sum() * (13.0 / 2000) == doctest::Approx(1).epsilon(1e-3));  // a density

  // bad input
  CHECK_THROWS_WITH_AS(matrix_operator(Eigen::MatrixXd(2, 3)), doctest::Contains("not a non-empty square"),
                       std::invalid_argument);
  lo.k = 31;
  CHECK_THROWS_WITH_AS(lanczos_eigenvalues(op, lo), doctest::Contains("k must be in [1, 30]"), std::invalid_argument);
  SymmetricOperator wrong{3, [](const Eigen::VectorXd&) { return Eigen::VectorXd(Eigen::VectorXd::Zero(2)); }};
  CHECK_THROWS_WITH_AS(lanczos_eigenvalues(wrong), doctest::Contains("returned 2 entries"), std::invalid_argument);
  SymmetricOperator nan_op{
      2, [](const Eigen::VectorXd& v) { return Eigen::VectorXd(v * std::numeric_limits<double>::quiet_NaN()); }};
  CHECK_THROWS_WITH_AS(hutchinson_trace(nan_op), doctest::Contains("non-finite"), std::invalid_argument);
}

TEST_CASE("HessianOperator: a quadratic loss has H = (2/N) I ⊗ XᵀX; Gauss–Newton from the NTK agrees") {
  const Index n = 20, d = 6, k = 3;
  Rng rng(3);
  Dataset ds;
  ds.features = rng.normal_matrix<double>(n, d);
  ds.targets = rng.normal_matrix<double>(n, k);
  for (Index i = 0; i < n; ++i) ds.train.push_back(i);
  MlpConfig c;
  c.input = d, c.output = k, c.activation = Activation::Identity, c.bias = false, c.seed = 4;
  Mlp<double> net(c);  // f = X Wᵀ, W (k, d)
  IndexList rows = ds.train;
  HessianOperator H(net, dataset_loss<double>(ds, rows, LossKind::Mse));
  REQUIRE(H.dim() == k * d);
  const Eigen::MatrixXd X = ds.features;
  const Eigen::MatrixXd G = 2.0 / static_cast<double>(n * k) * (X.transpose() * X);
  Eigen::MatrixXd Hx = Eigen::MatrixXd::Zero(k * d, k * d);  // W flattened row-major: index a·d + j
  for (Index a = 0; a < k; ++a) Hx.block(a * d, a * d, d, d) = G;
  const Parameter<double>& W = net.parameter("layers.0.weight");
  const Matrix<double> W_before = W.value, g_before = W.grad;
  double worst = 0;
  for (int trial = 0; trial < 5; ++trial) {
    Eigen::VectorXd v(k * d);
    for (Index i = 0; i < v.size(); ++i) v(i) = rng.normal();
    const Eigen::VectorXd hv = H.apply(v), ref = Hx * v;
    worst = std::max(worst, (hv - ref).norm() / ref.norm());
  }
  MESSAGE("quadratic loss: worst relative error of the finite-difference Hv " << worst);
  CHECK(worst < 1e-9);
  CHECK(W.value == W_before);  // restored exactly
  CHECK(W.grad == g_before);
  CHECK(H.gradients() == 10);  // two per product
  const test::SymEigen es = test::sym_eigen(G);
  LanczosOptions lo;
  lo.k = 2;
  const EigenEstimate e = lanczos_eigenvalues(H.as_operator(), lo);
  CHECK(e.eigenvalues(0) == doctest::Approx(es.values(d - 1)).epsilon(1e-8));
  CHECK(e.eigenvalues(1) == doctest::Approx(es.values(d - 1)).epsilon(1e-8));  // each output repeats G
  // the Gauss–Newton matrix of a linear model is its Hessian: 2 λ_max(K_full) / N
  NtkOptions full;
  full.output = NtkOutput::Full;
  const ModelInput<double> in = ModelInput<double>::from_dataset(ds, rows);
  const Eigen::MatrixXd K = empirical_ntk(net, in, full);
  CHECK(gauss_newton_sharpness(K, n * k) == doctest::Approx(es.values(d - 1)).epsilon(1e-10));
  CHECK_THROWS_WITH_AS(gauss_newton_sharpness(K, n), doctest::Contains("one row per target entry"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(H.apply(Eigen::VectorXd::Zero(3)), doctest::Contains("v has 3 entries for 18 parameters"),
                       std::invalid_argument);
  // a second layer outside the selection keeps its gradient through products
  MlpConfig c2 = c;
  c2.hidden = {4};
  Mlp<double> two(c2);
  for (Parameter<double>* p : two.parameters()) p->grad.setConstant(3.0);
  HessianOperator H1(two, dataset_loss<double>(ds, rows, LossKind::Mse), {"layers.0.weight"});
  H1.apply(Eigen::VectorXd::Ones(H1.dim()));
  for (const Parameter<double>* p : two.parameters())
    CHECK(p->grad == Matrix<double>::Constant(p->rows(), p->cols(), 3.0));
  CHECK_THROWS_WITH_AS(HessianOperator(net, dataset_loss<double>(ds, rows, LossKind::Mse), {"nope"}),
                       doctest::Contains("no parameter 'nope'"), std::invalid_argument);
}

TEST_CASE("HessianOperator matches PyTorch's double backward on a tanh MLP with cross-entropy") {
  MlpConfig c;
  c.input = 5, c.hidden = {8}, c.output = 3, c.activation = Activation::Tanh, c.bias = true;
  Mlp<double> net(c);
  for (Parameter<double>* p : net.parameters()) {
    const Eigen::MatrixXd v = fixture(p->name);
    REQUIRE(v.rows() == p->rows());
    REQUIRE(v.cols() == p->cols());
    p->value = v;
  }
  Dataset ds;
  ds.features = fixture("X");
  const Eigen::VectorXd y = vec("y");
  ds.num_classes = 3;
  for (Index i = 0; i < y.size(); ++i) {
    ds.labels.push_back(static_cast<Index>(y(i)));
    ds.train.push_back(i);
  }
  HessianOperator H(net, dataset_loss<double>(ds, ds.train, LossKind::CrossEntropy));
  Eigen::VectorXd g;
  CHECK(H.loss_and_gradient(g) == doctest::Approx(vec("loss")(0)).epsilon(1e-13));
  const Eigen::VectorXd v = vec("v"), ref = vec("Hv");
  REQUIRE(v.size() == H.dim());
  const double err = (H.apply(v) - ref).norm() / ref.norm();
  MESSAGE("tanh MLP: relative error of the finite-difference Hv against double backward " << err);
  CHECK(err < 1e-7);
  const Eigen::VectorXd ev = vec("eigenvalues");  // ascending
  LanczosOptions lo;
  lo.k = 3;
  lo.iterations = H.dim();
  const EigenEstimate e = lanczos_eigenvalues(H.as_operator(), lo);
  for (Index i = 0; i < 3; ++i) CHECK(e.eigenvalues(i) == doctest::Approx(ev(ev.size() - 1 - i)).epsilon(1e-6));
  lo.largest = false;
  lo.k = 1;
  CHECK(lanczos_eigenvalues(H.as_operator(), lo).eigenvalues(0) == doctest::Approx(ev(0)).epsilon(1e-5));
  // the exact trace from unit vectors, and Hutchinson within its error
  double tr = 0;
  for (Index i = 0; i < H.dim(); ++i) tr += H.apply(Eigen::VectorXd::Unit(H.dim(), i))(i);
  CHECK(tr == doctest::Approx(vec("trace")(0)).epsilon(1e-7));
  TraceOptions to;
  to.max_iter = 400;
  to.tol = 0;
  const TraceEstimate te = hutchinson_trace(H.as_operator(), to);
  CHECK(std::abs(te.trace - tr) < 4 * te.standard_error);
}

TEST_CASE("sharpness_probe: Lanczos top eigenvalue and Hutchinson trace during training") {
  MlpConfig c;
  c.input = 5, c.hidden = {8}, c.output = 3, c.activation = Activation::Tanh, c.seed = 2;
  Mlp<double> net(c);
  Rng rng(5);
  Dataset ds;
  ds.features = rng.normal_matrix<double>(30, 5);
  ds.num_classes = 3;
  for (Index i = 0; i < 30; ++i) {
    ds.labels.push_back(i % 3);
    (i < 20 ? ds.train : ds.test).push_back(i);
  }
  SgdConfig sc;
  sc.lr = 0.1;
  Sgd<double> opt(net.parameters(), sc);
  TrainConfig tc;
  tc.steps = 20, tc.eval_every = 10, tc.progress = false, tc.detect = false;
  Trainer<double> tr(net, ds, opt, tc);
  tr.add_probe(10, sharpness_probe(dataset_loss<double>(ds, ds.train, LossKind::CrossEntropy), 40, 50));
  const TrainResult res = tr.run();
  const std::vector<double> top = res.history.column("hessian_top"), trace = res.history.column("hessian_trace");
  REQUIRE(top.size() == 3);
  // the last record against a fresh Lanczos run on the final model
  HessianOperator H(net, dataset_loss<double>(ds, ds.train, LossKind::CrossEntropy));
  LanczosOptions lo;
  lo.iterations = H.dim();
  CHECK(top.back() == doctest::Approx(lanczos_eigenvalues(H.as_operator(), lo).eigenvalues(0)).epsilon(1e-6));
  CHECK(std::isfinite(trace.back()));
  CHECK_THROWS_AS(sharpness_probe(dataset_loss<double>(ds, ds.train, LossKind::CrossEntropy), 0),
                  std::invalid_argument);
  CHECK_THROWS_WITH_AS(dataset_loss<double>(ds, {99}, LossKind::Mse), doctest::Contains("row 99"),
                       std::invalid_argument);
}
