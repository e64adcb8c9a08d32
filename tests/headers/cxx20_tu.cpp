// The umbrella header (twice, as every header of the suite) in a C++20 translation unit, linked
// with the C++17 ones.
//
// It also calls a function of each family that header-only mode defers (GROKSCOPE_DEFERRED in
// core/config.hpp: a template with one defaulted parameter there, an ordinary function of the
// library in compiled mode), with arguments that need a conversion (Eigen expressions, braced
// lists, string literals), so both modes check that such calls resolve as they did when the
// functions were plain inline functions, and header-only mode instantiates their bodies.
#include <grokscope/grokscope.hpp>

#include <cmath>
#include <cstdio>
#include <source_location>

namespace {

int failures = 0;

void expect(bool ok, std::source_location where = std::source_location::current()) {
  if (ok) return;
  ++failures;
  std::fprintf(stderr, "%s:%u: check failed\n", where.file_name(), static_cast<unsigned>(where.line()));
}

bool near(double a, double b, double tol = 1e-9) { return std::abs(a - b) <= tol; }

}  // namespace

int grokscope_cxx20_tu() {
  using namespace grokscope;
  Tape<double> tape;
  Parameter<double> w("w", Matrix<double>::Ones(2, 2));
  const auto loss = sum(square(tape.param(w)));
  tape.backward(loss);
  expect(w.grad(0, 0) == 2.0);

  // Kernel tools, on expressions that convert to Eigen::MatrixXd.
  const Eigen::MatrixXd K = Eigen::MatrixXd::Identity(4, 4) + Eigen::MatrixXd::Constant(4, 4, 0.5);
  expect(near(kernel_distance(K, K.transpose()), 0.0));
  const KernelSpectrum s = kernel_spectrum(2.0 * Eigen::MatrixXd::Identity(3, 3));
  expect(s.eigenvalues.size() == 3 && near(s.eigenvalues(0), 2.0) && near(s.eigenvalues(2), 2.0));
  const Eigen::MatrixXd y = Eigen::VectorXd::LinSpaced(4, -1.0, 1.0);
  const KernelRegressionResult r = kernel_regression(K, y, K, 0.0, y);
  expect(near(r.test_mse, 0.0, 1e-18));
  expect(near(centered_alignment(y * y.transpose(), y), 1.0));

  // CKA of a representation with itself.
  const Eigen::MatrixXd X = Eigen::MatrixXd::Random(6, 3);
  expect(near(cka_from_grams(X * X.transpose(), X * X.transpose()).value, 1.0));

  // Lanczos on an explicit matrix, and the linearized dynamics at t = 0.
  const EigenEstimate e = lanczos_eigenvalues(matrix_operator(Eigen::VectorXd::LinSpaced(5, 1.0, 5.0).asDiagonal()));
  expect(e.eigenvalues.size() == 1 && near(e.eigenvalues(0), 5.0, 1e-8));
  const LinearizedDynamics lin(K, y, Eigen::MatrixXd::Zero(4, 1));
  expect(lin.train_outputs(0).norm() < 1e-12 && lin.max_learning_rate() > 0);  // f_0 = f0_train = 0

  // Fourier measures, datasets, detectors and readers.
  const Eigen::MatrixXd F = fourier_basis(5);
  expect((F * F.transpose() - Eigen::MatrixXd::Identity(F.rows(), F.rows())).norm() < 1e-9);
  expect(near(gini(Eigen::VectorXd::Ones(4)), 0.0));
  ModularOptions mo;
  mo.p = 7;
  expect(modular_dataset(mo).size() == 49);
  expect(is_prime(97) && !is_prime(91));
  expect(std::string(verdict_name(GrokVerdict::Grokked)) == "grokked");
  const CsvTable t = parse_csv("step,loss\n0,1.5\n", "inline.csv");
  expect(t.header.size() == 2 && t.rows.size() == 1 && t.find_column("loss") == 1);
  return failures;
}
