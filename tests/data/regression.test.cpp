#include <grokscope/data/regression.hpp>

#include <doctest/doctest.h>

#include <cmath>

using namespace grokscope;

TEST_CASE("Kumar et al.'s two conventions differ by exactly a factor 2 in the target") {
  KumarOptions a;
  a.D = 40;
  a.n_train = 120;
  a.n_test = 200;
  a.seed = 3;
  KumarOptions b = a;
  b.convention = KumarConvention::B;
  const Dataset da = kumar_polynomial(a), db = kumar_polynomial(b);
  CHECK(da.arrays.at("beta") == db.arrays.at("beta"));
  CHECK((db.features - std::sqrt(40.0) * da.features).cwiseAbs().maxCoeff() < 1e-12);
  CHECK((db.targets - 2.0 * da.targets).cwiseAbs().maxCoeff() < 1e-12);
  const Matrix<double>& beta = da.arrays.at("beta");
  CHECK(da.targets(7, 0) == doctest::Approx(0.5 * std::pow(da.features.row(7).dot(beta.col(0)), 2)));
  CHECK(da.train.size() == 120);
  CHECK(da.test.size() == 200);
  CHECK(da.meta["epsilon"] == 0.02);
  CHECK(da.meta["convention"] == "A");
  CHECK(db.meta["preactivation_scale"].get<double>() == doctest::Approx(1.0 / std::sqrt(40.0)));
}

TEST_CASE("Kumar data: E[y] = |β|²/(2D) under convention A") {
  KumarOptions o;
  o.D = 50;
  o.n_train = 20000;
  o.n_test = 1;
  const Dataset ds = kumar_polynomial(o);
  const double expect = ds.arrays.at("beta").squaredNorm() / (2.0 * 50);
  const double mean = ds.targets.topRows(20000).mean();
  CHECK(std::abs(mean - expect) / expect < 0.05);  // y ~ ½ σ² χ²₁: relative sd ≈ √2/√20000 = 1 %
}

TEST_CASE("eigenvector labels: unit eigenvector j of the mean-subtracted kernel, first/last P split") {
  Rng rng(1);
  const Matrix<double> X = rng.normal_matrix(20, 6);
  const Matrix<double> K = (X * X.transpose()).array().square().matrix() + X * X.transpose();
  for (Index j : {1, 7, 20}) {
    const Dataset ds = eigenvector_label_task(X, K, j);
    const Vector<double> y = ds.targets.col(0);
    CHECK(y.norm() == doctest::Approx(1.0));
    const Eigen::MatrixXd Kc = (K.array() - K.mean()).matrix();
    const double lambda = ds.meta["eigenvalue"].get<double>();
    CHECK((Kc * y - lambda * y).norm() < 1e-8 * std::max(1.0, std::abs(lambda)));
    Index arg = 0;
    y.cwiseAbs().maxCoeff(&arg);
    CHECK(y(arg) > 0);
    CHECK(ds.train == IndexList{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
    CHECK(ds.test.front() == 10);
  }
  const double l1 = eigenvector_label_task(X, K, 1).meta["eigenvalue"].get<double>();
  const double l2 = eigenvector_label_task(X, K, 2).meta["eigenvalue"].get<double>();
  CHECK(l1 >= l2);
  CHECK_THROWS_WITH_AS(eigenvector_label_task(X, K, 21),
                       "grokscope::eigenvector_label_task: j must be in [1, 20], got 21", std::invalid_argument);
  Matrix<double> asym = K;
  asym(0, 1) += 1.0;
  CHECK_THROWS_WITH_AS(eigenvector_label_task(X, asym, 1), "grokscope::eigenvector_label_task: K is not symmetric",
                       std::invalid_argument);
  CHECK_THROWS_AS(eigenvector_label_task(X.topRows(19), K, 1), std::invalid_argument);
}

TEST_CASE("teacher–student: labels are the teacher's outputs, PyTorch-style init ranges") {
  TeacherStudentOptions o;
  o.init_scale = 2.0;
  const Dataset ds = teacher_student(o);
  CHECK(ds.features.rows() == 200);
  CHECK(ds.targets.cols() == 5);
  const Matrix<double>& W0 = ds.arrays.at("teacher.0.weight");
  CHECK(W0.rows() == 100);
  CHECK(W0.cols() == 5);
  CHECK(W0.cwiseAbs().maxCoeff() <= 2.0 / std::sqrt(5.0));
  CHECK(ds.arrays.at("teacher.1.weight").cwiseAbs().maxCoeff() <= 2.0 / 10.0);
  Matrix<double> h = ds.features.topRows(3);
  for (int l = 0; l < 3; ++l) {
    Matrix<double> z = h * ds.arrays.at("teacher." + std::to_string(l) + ".weight").transpose();
    z.rowwise() += ds.arrays.at("teacher." + std::to_string(l) + ".bias").row(0);
    h = l < 2 ? Matrix<double>(z.array().tanh()) : z;
  }
  CHECK((h - ds.targets.topRows(3)).cwiseAbs().maxCoeff() < 1e-12);
  o.widths = {5};
  CHECK_THROWS_WITH_AS(teacher_student(o),
                       "grokscope::teacher_student: widths needs at least an input and an output width",
                       std::invalid_argument);
}
