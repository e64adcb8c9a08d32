#include "../nn/fixture_util.hpp"
#include "../test_util.hpp"

#include <grokscope/core/rng.hpp>
#include <grokscope/io/npy.hpp>
#include <grokscope/measure/hessian.hpp>
#include <grokscope/measure/ntk.hpp>
#include <grokscope/nn/mlp.hpp>
#include <grokscope/nn/transformer.hpp>
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
  MESSAGE("quadratic loss: worst relative error of the exact Hv " << worst);
  CHECK(worst < 1e-12);
  CHECK(W.value == W_before);  // restored exactly
  CHECK(W.grad == g_before);
  CHECK(H.gradients() == 1);  // the exact method records the forward pass and gradient once
  CHECK(H.products() == 5);
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
  MESSAGE("tanh MLP: relative error of the exact Hv against double backward " << err);
  CHECK(err < 1e-12);
  CurvatureOptions fd;
  fd.method = HvpMethod::FiniteDifference;
  HessianOperator Hfd(net, dataset_loss<double>(ds, ds.train, LossKind::CrossEntropy), fd);
  CHECK((Hfd.apply(v) - ref).norm() / ref.norm() < 1e-7);  // smooth: the differences agree to ~1e-10
  CHECK(Hfd.gradients() == 2);
  CHECK(Hfd.kinks_crossed() == 0);
  CHECK(Hfd.warnings().empty());
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

namespace {

// A model's parameters as one flat vector from per-parameter fixture files `<prefix><name>.npy`.
Eigen::VectorXd flat_fixture(Model<double>& m, const std::string& c, const std::string& prefix) {
  std::vector<double> out;
  for (Parameter<double>* p : m.parameters()) {
    const Matrix<double> v = test::load_fixture(c, prefix + p->name);
    REQUIRE(v.size() == p->size());
    out.insert(out.end(), v.data(), v.data() + v.size());
  }
  return Eigen::Map<Eigen::VectorXd>(out.data(), static_cast<Index>(out.size()));
}

TransformerConfig fixture_transformer(Index p, Index d, Index H, Index d_mlp, Index layers) {
  TransformerConfig c = TransformerConfig::nanda2023(p);
  c.d_model = d, c.heads = H, c.d_mlp = d_mlp, c.layers = layers;
  return c;
}

// The cross-entropy of a fixture's transformer on its tokens and labels, split at the logits.
struct TokenTask {
  ModelInput<double> in;
  IndexList labels;
  explicit TokenTask(const std::string& c) {
    const Matrix<double> tok = test::load_fixture(c, "tokens"), lab = test::load_fixture(c, "labels");
    in.T = 3;
    for (Index i = 0; i < tok.size(); ++i) in.tokens.push_back(static_cast<Index>(tok.data()[i]));
    for (Index i = 0; i < lab.size(); ++i) labels.push_back(static_cast<Index>(lab.data()[i]));
  }
  OutputLossFn<double> loss() const {
    return [y = labels](Tape<double>& t, const Var<double>& z) { return cross_entropy(z, y); };
  }
};

// Exact Hv against the fixture's double-backward products along its two directions.
double worst_against_torch(Model<double>& m, CurvatureOperator& H, const std::string& c) {
  double worst = 0;
  for (const char* s : {"0.", "1."}) {
    const Eigen::VectorXd v = flat_fixture(m, c, std::string("v") + s), ref = flat_fixture(m, c, std::string("Hv") + s);
    worst = std::max(worst, (H.apply(v) - ref).norm() / ref.norm());
  }
  return worst;
}

// The dense matrix of an operator, column by column.
Eigen::MatrixXd dense(CurvatureOperator& H) {
  Eigen::MatrixXd M(H.dim(), H.dim());
  for (Index i = 0; i < H.dim(); ++i) M.col(i) = H.apply(Eigen::VectorXd::Unit(H.dim(), i));
  return M;
}

}  // namespace

TEST_CASE("exact Hv matches PyTorch's double backward on ReLU and GELU transformers and Gromov's MLP") {
  SUBCASE("Nanda et al.'s transformer (ReLU MLP, no layer norm)") {
    const std::string c = "hvp_transformer_nanda";
    Transformer<double> m(fixture_transformer(13, 32, 4, 64, 1));
    test::load_model(m, "transformer_nanda");
    const TokenTask task("transformer_nanda");
    CurvatureOperator H(m, task.in, task.loss());
    const double err = worst_against_torch(m, H, c);
    MESSAGE("Nanda ReLU transformer: exact Hv against double backward " << err);
    CHECK(err < 1e-10);
    // the same through a plain loss function (no split)
    HessianOperator H2(
        m, [&](Tape<double>& t, Model<double>& mm) { return cross_entropy(mm.forward(t, task.in), task.labels); });
    CHECK(worst_against_torch(m, H2, c) < 1e-10);
    // the finite-difference product crosses kinks here, and says so
    CurvatureOptions fd;
    fd.method = HvpMethod::FiniteDifference;
    CurvatureOperator Hfd(m, task.in, task.loss(), fd);
    const double fd_err = worst_against_torch(m, Hfd, c);
    MESSAGE("Nanda ReLU transformer: finite-difference Hv " << fd_err << ", kinks crossed " << Hfd.kinks_crossed());
    if (Hfd.kinks_crossed() > 0) {
      REQUIRE(Hfd.warnings().size() == 1);
      CHECK(Hfd.warnings()[0].find("ReLU kinks") != std::string::npos);
    } else {
      CHECK(fd_err < 1e-6);
    }
  }
  SUBCASE("two-layer pre-LN transformer with GELU, biases and layer norms") {
    TransformerConfig cfg = fixture_transformer(13, 16, 2, 32, 2);
    cfg.layer_norm = LayerNormPlacement::Pre;
    cfg.activation = Activation::Gelu;
    cfg.attn_bias = cfg.mlp_bias = cfg.unembed_bias = true;
    Transformer<double> m(cfg);
    test::load_model(m, "transformer_preln");
    const TokenTask task("transformer_preln");
    CurvatureOperator H(m, task.in, task.loss());
    const double err = worst_against_torch(m, H, "hvp_transformer_preln");
    MESSAGE("pre-LN GELU transformer: exact Hv against double backward " << err);
    CHECK(err < 1e-10);
  }
  SUBCASE("Gromov's quadratic MLP with MSE") {
    MlpConfig cfg = MlpConfig::gromov(7, 10);
    Mlp<double> m(cfg);
    test::load_model(m, "mlp_gromov_mse");
    const Matrix<double> ids = test::load_fixture("mlp_gromov_mse", "ids");
    ModelInput<double> in;  // one-hot pairs as token ids (the model's onehot_matmul)
    in.T = 2;
    for (Index i = 0; i < ids.size(); ++i) in.tokens.push_back(static_cast<Index>(ids.data()[i]));
    const Matrix<double> target = test::load_fixture("mlp_gromov_mse", "targets");
    CurvatureOperator H(m, in, [&](Tape<double>& t, const Var<double>& z) { return mse(z, t.constant(target)); });
    const double err = worst_against_torch(m, H, "hvp_mlp_gromov_mse");
    MESSAGE("Gromov MLP: exact Hv against double backward " << err);
    CHECK(err < 1e-10);
  }
}

TEST_CASE("exact Hessian of a small ReLU transformer: dense spectrum, symmetry, Lanczos both ends, traces") {
  const std::string c = "hessian_relu_transformer";
  Transformer<double> m(fixture_transformer(7, 8, 2, 16, 1));
  test::load_model(m, c);
  const TokenTask task(c);
  CurvatureOperator H(m, task.in, task.loss());
  const Eigen::MatrixXd M = dense(H);
  const double scale = M.cwiseAbs().maxCoeff();
  const double asym = (M - M.transpose()).cwiseAbs().maxCoeff() / scale;
  MESSAGE("ReLU transformer, " << H.dim() << " parameters: asymmetry of the exact Hessian " << asym);
  CHECK(asym < 1e-12);
  const Matrix<double> ev_t = test::load_fixture(c, "eigenvalues");  // ascending
  const Eigen::VectorXd ev = Eigen::Map<const Eigen::VectorXd>(ev_t.data(), ev_t.size());
  const test::SymEigen es = test::sym_eigen(0.5 * (M + M.transpose()));
  REQUIRE(es.values.size() == ev.size());
  CHECK((es.values - ev).cwiseAbs().maxCoeff() / ev.cwiseAbs().maxCoeff() < 1e-10);
  CHECK(M.trace() == doctest::Approx(test::load_fixture(c, "trace")(0, 0)).epsilon(1e-10));
  LanczosOptions lo;
  lo.k = 3;
  lo.iterations = std::min<Index>(H.dim(), 300);
  const EigenEstimate top = lanczos_eigenvalues(H.as_operator(), lo);
  lo.largest = false;
  const EigenEstimate bottom = lanczos_eigenvalues(H.as_operator(), lo);
  const Index n = ev.size();
  for (Index i = 0; i < 3; ++i) {
    CHECK(top.eigenvalues(i) == doctest::Approx(ev(n - 1 - i)).epsilon(1e-8));
    CHECK(bottom.eigenvalues(i) == doctest::Approx(ev(i)).epsilon(1e-8));
  }
  CHECK(top.symmetry_error >= 0);
  CHECK(top.symmetry_error < 1e-12);
  CHECK(top.warnings.empty());
  CHECK(top.residuals.maxCoeff() < 1e-6 * std::abs(ev(n - 1)));
  // power iteration (PyHessian's) finds the largest |λ|
  const EigenEstimate pw = power_iteration(H.as_operator());
  const double largest_abs = std::max(std::abs(ev(0)), std::abs(ev(n - 1)));
  CHECK(std::abs(pw.eigenvalues(0)) == doctest::Approx(largest_abs).epsilon(1e-2));
  CHECK(pw.symmetry_error < 1e-12);
}

TEST_CASE("residual and symmetry checks catch an operator that is not a symmetric linear map") {
  const Index n = 30;
  const Eigen::MatrixXd A = random_symmetric(Eigen::VectorXd::LinSpaced(n, 1.0, 10.0), 5);
  // a product that is wrong in a way a kinked finite difference is: a nonlinear term
  SymmetricOperator bad{n, [A](const Eigen::VectorXd& v) {
                          Eigen::VectorXd w = A * v;
                          w(0) += 3.0 * v.norm();
                          return w;
                        }};
  const EigenEstimate e = lanczos_eigenvalues(bad);
  CHECK(e.symmetry_error > 1e-3);
  REQUIRE_FALSE(e.warnings.empty());
  bool named = false;
  for (const std::string& w : e.warnings) named = named || w.find("not symmetric") != std::string::npos;
  CHECK(named);
  const EigenEstimate good = lanczos_eigenvalues(matrix_operator(A));
  CHECK(good.warnings.empty());
  CHECK(good.eigenvalues(0) == doctest::Approx(10.0).epsilon(1e-10));
  LanczosOptions quiet;
  quiet.verify = false;
  const EigenEstimate q = lanczos_eigenvalues(matrix_operator(A), quiet);
  CHECK(q.symmetry_error == -1);
  CHECK(q.matvecs == good.matvecs - 3);
}

TEST_CASE("Gauss–Newton, empirical Fisher and the L2 shift") {
  Rng rng(6);
  const Index n = 12, d = 4, k = 3;
  MlpConfig c;
  c.input = d, c.hidden = {5}, c.output = k, c.activation = Activation::Tanh, c.seed = 9;
  Mlp<double> net(c);
  ModelInput<double> in;
  in.x = rng.normal_matrix<double>(n, d);
  const Matrix<double> Y = rng.normal_matrix<double>(n, k);
  const OutputLossFn<double> mse_loss = [&](Tape<double>& t, const Var<double>& z) { return mse(z, t.constant(Y)); };
  SUBCASE("Gauss–Newton of the MSE: its top eigenvalue is gauss_newton_sharpness, and it is PSD") {
    CurvatureOptions o;
    o.kind = Curvature::GaussNewton;
    CurvatureOperator G(net, in, mse_loss, o);
    const Eigen::MatrixXd M = dense(G);
    const test::SymEigen es = test::sym_eigen(0.5 * (M + M.transpose()));
    NtkOptions full;
    full.output = NtkOutput::Full;
    const double gn = gauss_newton_sharpness(empirical_ntk(net, in, full), n * k);
    CHECK(es.values(es.values.size() - 1) == doctest::Approx(gn).epsilon(1e-10));
    CHECK(es.values(0) > -1e-12 * gn);
    // (2/N) JᵀJ from explicit Jacobians
    Eigen::MatrixXd J(n * k, G.dim());
    for (Index i = 0; i < n * k; ++i) {
      Tape<double> t;
      const Var<double> z = net.forward(t, in);
      Matrix<double> seed = Matrix<double>::Zero(n, k);
      seed(i / k, i % k) = 1;
      net.zero_grad();
      t.backward(z, seed);
      Index o2 = 0;
      for (Parameter<double>* p : net.parameters())
        for (Index e = 0; e < p->size(); ++e) J(i, o2++) = p->grad.data()[e];
    }
    const Eigen::MatrixXd ref = 2.0 / static_cast<double>(n * k) * J.transpose() * J;
    CHECK((M - ref).cwiseAbs().maxCoeff() < 1e-12 * ref.cwiseAbs().maxCoeff());
    CHECK_THROWS_WITH_AS(
        CurvatureOperator(
            net, [&](Tape<double>& t, Model<double>& mm) { return mse_loss(t, mm.forward(t, in)); }, o),
        doctest::Contains("needs the model's outputs"), std::invalid_argument);
  }
  SUBCASE("empirical Fisher of the cross-entropy: (1/n) Σ ∇ℓ_i ∇ℓ_iᵀ from per-example gradients") {
    IndexList y;
    for (Index i = 0; i < n; ++i) y.push_back(i % k);
    CurvatureOptions o;
    o.kind = Curvature::EmpiricalFisher;
    CurvatureOperator F(
        net, in, [&](Tape<double>& t, const Var<double>& z) { return cross_entropy(z, y); }, o);
    const Eigen::MatrixXd M = dense(F);
    Eigen::MatrixXd ref = Eigen::MatrixXd::Zero(F.dim(), F.dim());
    for (Index i = 0; i < n; ++i) {
      ModelInput<double> one;
      one.x = in.x.row(i);
      Tape<double> t;
      net.zero_grad();
      t.backward(cross_entropy(net.forward(t, one), {y[static_cast<std::size_t>(i)]}));
      Eigen::VectorXd g(F.dim());
      Index o2 = 0;
      for (Parameter<double>* p : net.parameters())
        for (Index e = 0; e < p->size(); ++e) g(o2++) = p->grad.data()[e];
      ref += g * g.transpose() / static_cast<double>(n);
    }
    CHECK((M - ref).cwiseAbs().maxCoeff() < 1e-12 * ref.cwiseAbs().maxCoeff());
  }
  SUBCASE("coupled L2: every eigenvalue shifts by exactly λ") {
    CurvatureOperator H(net, in, mse_loss);
    CurvatureOptions o;
    o.l2 = 0.37;
    CurvatureOperator Hl(net, in, mse_loss, o);
    const test::SymEigen a = test::sym_eigen(dense(H)), b = test::sym_eigen(dense(Hl));
    CHECK((b.values - a.values - Eigen::VectorXd::Constant(a.values.size(), 0.37)).cwiseAbs().maxCoeff() < 1e-13);
  }
}

TEST_CASE("Hutch++ is exact on a PSD operator of rank below the sketch, and unbiased otherwise") {
  const Index n = 60, r = 7;
  Rng rng(2);
  const Eigen::MatrixXd B = rng.normal_matrix<double>(n, r);
  const Eigen::MatrixXd A = B * B.transpose();
  HutchppOptions o;
  o.matvecs = 30;  // sketch of 10 columns > rank 7
  const TraceEstimate t = hutchpp_trace(matrix_operator(A), o);
  CHECK(t.trace == doctest::Approx(A.trace()).epsilon(1e-12));
  const Eigen::MatrixXd full = random_symmetric(Eigen::VectorXd::LinSpaced(n, 0.5, 4.0), 3);
  o.matvecs = 60;
  const TraceEstimate u = hutchpp_trace(matrix_operator(full), o);
  CHECK(std::abs(u.trace - full.trace()) < 5 * u.standard_error + 1e-9);
  CHECK_THROWS_WITH_AS(hutchpp_trace(matrix_operator(A), HutchppOptions{10}), doctest::Contains("multiple of 3"),
                       std::invalid_argument);
}

TEST_CASE("curvature operators refuse bad input and restore the model when the loss throws") {
  MlpConfig c;
  c.input = 3, c.hidden = {4}, c.output = 2, c.activation = Activation::Relu, c.seed = 1;
  Mlp<double> net(c);
  ModelInput<double> in;
  in.x = Matrix<double>::Ones(5, 3);
  const OutputLossFn<double> loss = [](Tape<double>& t, const Var<double>& z) { return mean(square(z)); };
  CurvatureOperator H(net, in, loss);
  CHECK_THROWS_WITH_AS(H.apply(Eigen::VectorXd::Zero(3)), doctest::Contains("v has 3 entries for"),
                       std::invalid_argument);
  Eigen::VectorXd v = Eigen::VectorXd::Ones(H.dim());
  v(2) = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH_AS(H.apply(v), doctest::Contains("v is not finite"), std::invalid_argument);
  CHECK(H.apply(Eigen::VectorXd::Zero(H.dim())).norm() == 0);  // H·0 = 0: a linear operator
  LanczosOptions lo;
  lo.k = H.dim() + 1;
  CHECK_THROWS_WITH_AS(lanczos_eigenvalues(H.as_operator(), lo), doctest::Contains("k must be in [1, "),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(CurvatureOperator(net, ModelInput<double>{}, loss), doctest::Contains("no examples"),
                       std::invalid_argument);
  CurvatureOptions fd;
  fd.method = HvpMethod::FiniteDifference;
  fd.kind = Curvature::GaussNewton;
  CHECK_THROWS_WITH_AS(CurvatureOperator(net, in, loss, fd), doctest::Contains("no finite-difference form"),
                       std::invalid_argument);
  // the Krylov basis is estimated before it is allocated
  SymmetricOperator huge{Index(1) << 40, [](const Eigen::VectorXd& v) { return v; }};
  CHECK_THROWS_WITH_AS(lanczos_eigenvalues(huge), doctest::Contains("vectors of dimension 1099511627776 needs about"),
                       std::runtime_error);
  CHECK_THROWS_WITH_AS(hutchinson_trace(huge), doctest::Contains("needs about"), std::runtime_error);
  SymmetricOperator big{Index(1) << 22, [](const Eigen::VectorXd& v) { return v; }};
  LanczosOptions krylov;
  krylov.iterations = 100;
  krylov.max_bytes = std::size_t(1) << 30;
  CHECK_THROWS_WITH_AS(lanczos_eigenvalues(big, krylov), doctest::Contains("the Krylov basis (4194304 × 100 doubles)"),
                       std::runtime_error);
  DensityOptions dens;
  dens.max_bytes = std::size_t(1) << 30;
  CHECK_THROWS_WITH_AS(slq_density(big, dens), doctest::Contains("Krylov basis"), std::runtime_error);
  // a loss that throws, or turns NaN, leaves values and gradients as they were (both methods)
  for (const HvpMethod method : {HvpMethod::Exact, HvpMethod::FiniteDifference}) {
    CurvatureOptions o;
    o.method = method;
    int calls = 0;
    const OutputLossFn<double> flaky = [&calls](Tape<double>& t, const Var<double>& z) {
      if (++calls == 2) throw std::runtime_error("loss failed");
      return calls == 3 ? scale(mean(square(z)), std::numeric_limits<double>::quiet_NaN()) : mean(square(z));
    };
    for (Parameter<double>* p : net.parameters()) p->grad.setConstant(2.0);
    std::vector<Matrix<double>> before;
    for (Parameter<double>* p : net.parameters()) before.push_back(p->value);
    CurvatureOperator F(net, in, flaky, o);
    const Eigen::VectorXd w = Eigen::VectorXd::Ones(F.dim());
    for (int attempt = 0; attempt < 3; ++attempt) {
      try {
        F.apply(w);
      } catch (const std::exception&) {
      }
    }
    std::size_t k = 0;
    for (Parameter<double>* p : net.parameters()) {
      CHECK(p->value == before[k++]);
      CHECK(p->grad == Matrix<double>::Constant(p->rows(), p->cols(), 2.0));
    }
  }
}

TEST_CASE("the finite-difference product counts the ReLU kinks it crosses; the exact one is the Hessian") {
  // one hidden ReLU unit whose pre-activation sits 1e-9 from its kink
  MlpConfig c;
  c.input = 2, c.hidden = {3}, c.output = 2, c.activation = Activation::Relu, c.seed = 4;
  Mlp<double> net(c);
  ModelInput<double> in;
  in.x = Matrix<double>(2, 2);
  in.x << 1.0, 0.5, -0.3, 0.8;
  Parameter<double>& b0 = net.parameter("layers.0.bias");
  const Matrix<double>& W0 = net.parameter("layers.0.weight").value;
  b0.value(0, 0) = -(W0.row(0).dot(in.x.row(0))) + 1e-9;
  const IndexList y{0, 1};
  const OutputLossFn<double> ce = [&](Tape<double>& t, const Var<double>& z) { return cross_entropy(z, y); };
  CurvatureOperator exact(net, in, ce);
  CurvatureOptions fd;
  fd.method = HvpMethod::FiniteDifference;
  CurvatureOperator diff(net, in, ce, fd);
  Rng rng(1);
  Eigen::VectorXd v(exact.dim());
  for (Index i = 0; i < v.size(); ++i) v(i) = rng.normal();
  const Eigen::VectorXd he = exact.apply(v), hd = diff.apply(v);
  MESSAGE("one unit 1e-9 from its kink: finite differences off by " << (hd - he).norm() / he.norm() << ", "
                                                                    << diff.kinks_crossed() << " kink(s) crossed");
  CHECK(diff.kinks_crossed() >= 1);
  REQUIRE(diff.warnings().size() == 1);
  CHECK(diff.warnings()[0].find("crossed") != std::string::npos);
  CHECK((hd - he).norm() > 1e-3 * he.norm());
  CHECK(exact.kinks_crossed() == 0);
}

TEST_CASE("the exact operator keeps its recording while the parameters stay, and remakes it when they move") {
  Rng rng(12);
  MlpConfig c;
  c.input = 3, c.hidden = {6}, c.output = 3, c.activation = Activation::Gelu, c.seed = 5;
  Mlp<double> net(c);
  ModelInput<double> in;
  in.x = rng.normal_matrix<double>(8, 3);
  const IndexList y{0, 1, 2, 0, 1, 2, 0, 1};
  const OutputLossFn<double> ce = [&](Tape<double>& t, const Var<double>& z) { return cross_entropy(z, y); };
  for (const Curvature kind : {Curvature::Hessian, Curvature::GaussNewton, Curvature::EmpiricalFisher}) {
    CurvatureOptions o;
    o.kind = kind;
    CurvatureOperator H(net, in, ce, o);
    Eigen::VectorXd v(H.dim());
    for (Index i = 0; i < v.size(); ++i) v(i) = rng.normal();
    const Eigen::VectorXd a = H.apply(v);
    CHECK((H.apply(v) - a).norm() == 0);  // the same recording gives the same product
    CHECK(H.gradients() == 1);
    net.parameter("layers.0.weight").value(0, 0) += 0.25;
    const Eigen::VectorXd b = H.apply(v);
    CHECK(H.gradients() == 2);
    CurvatureOperator fresh(net, in, ce, o);
    CHECK((b - fresh.apply(v)).norm() <= 1e-14 * b.norm());
    CHECK((b - a).norm() > 1e-6 * a.norm());
    net.parameter("layers.0.weight").value(0, 0) -= 0.25;
  }
}
