// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Regression tasks of the lazy-to-rich picture: Kumar et al.'s (2024) quadratic target
/// y = ½(β*·x)² in both of their code's data conventions, their NTK-eigenvector label task, and
/// teacher–student regression with a random tanh teacher MLP (Kumar et al. §1.15, Omnigrok §3).

#include <grokscope/core/check.hpp>
#include <grokscope/core/rng.hpp>
#include <grokscope/data/dataset.hpp>

#include <Eigen/Eigenvalues>

#include <cmath>
#include <string>
#include <vector>

namespace grokscope {

/// Kumar et al.'s two data conventions (they differ by a factor 2 in the target).
enum class KumarConvention {
  A,  ///< x ~ N(0, I/D), y = ½ (β·x)²: paper eq. 3; the model uses h = W x
  B   ///< x ~ N(0, I), y = (β·x / √D)²: the code of Figs 3a, 5, 7; the model uses h = W x / √D
};

/// Options of kumar_polynomial. Defaults: Fig. 1 (D = 100, P = 550, 1 000 test points, ε = 0.02).
struct KumarOptions {
  Index D = 100;
  Index n_train = 550;
  Index n_test = 1000;
  double epsilon = 0.02;  ///< the model's alignment knob φ(h) = h + (ε/2) h², carried in the metadata
  KumarConvention convention = KumarConvention::A;
  std::uint64_t seed = 0;
};

/// Inputs and targets of the quadratic task; β* ~ N(0, I_D) is kept in arrays["beta"] (D × 1).
/// Draw order from one Rng: β, then the training inputs, then the test inputs (row by row).
inline Dataset kumar_polynomial(const KumarOptions& o) {
  require(o.D >= 1 && o.n_train >= 1 && o.n_test >= 1, "kumar_polynomial", "D, n_train and n_test must be >= 1");
  require(std::isfinite(o.epsilon), "kumar_polynomial", "epsilon must be finite");
  Rng rng(o.seed);
  const Matrix<double> beta = rng.normal_matrix(o.D, 1);
  const double sd = o.convention == KumarConvention::A ? 1.0 / std::sqrt(static_cast<double>(o.D)) : 1.0;
  Dataset ds;
  ds.name = "kumar_polynomial";
  ds.features = rng.normal_matrix(o.n_train + o.n_test, o.D, 0.0, sd);
  const Vector<double> proj = ds.features * beta.col(0);
  ds.targets.resize(ds.features.rows(), 1);
  if (o.convention == KumarConvention::A)
    ds.targets.col(0) = 0.5 * proj.array().square();
  else
    ds.targets.col(0) = (proj.array() / std::sqrt(static_cast<double>(o.D))).square();
  for (Index i = 0; i < ds.features.rows(); ++i) (i < o.n_train ? ds.train : ds.test).push_back(i);
  ds.arrays["beta"] = beta;
  ds.meta = {{"task", "kumar_polynomial"},
             {"D", o.D},
             {"n_train", o.n_train},
             {"n_test", o.n_test},
             {"epsilon", o.epsilon},
             {"convention", o.convention == KumarConvention::A ? "A" : "B"},
             {"preactivation_scale", o.convention == KumarConvention::A ? 1.0 : 1.0 / std::sqrt(double(o.D))},
             {"seed", o.seed}};
  return ds;
}

/// Kumar et al.'s eigenvector-label task (Fig. 5): with a kernel K on 2P points (e.g. the initial
/// NTK), subtract the scalar mean of K, take its j-th eigenvector (j = 1 is the largest
/// eigenvalue) as labels, train on the first P points and test on the last P. Eigenvectors are
/// unit-norm over all 2P points; the sign is fixed so the largest-magnitude entry is positive.
inline Dataset eigenvector_label_task(const Matrix<double>& X, const Matrix<double>& K, Index j) {
  require(X.rows() >= 2 && X.rows() % 2 == 0, "eigenvector_label_task",
          "X must have 2P rows (P >= 1), got " + std::to_string(X.rows()));
  require(K.rows() == X.rows() && K.cols() == X.rows(), "eigenvector_label_task",
          "K is " + shape_string(K) + " but X has " + std::to_string(X.rows()) +
              " rows (expected a square kernel on them)");
  require(j >= 1 && j <= K.rows(), "eigenvector_label_task",
          "j must be in [1, " + std::to_string(K.rows()) + "], got " + std::to_string(j));
  require_finite("eigenvector_label_task", "K", K);
  require((K - K.transpose()).cwiseAbs().maxCoeff() <= 1e-8 * std::max(1.0, K.cwiseAbs().maxCoeff()),
          "eigenvector_label_task", "K is not symmetric");
  const Eigen::MatrixXd Kc = (K.array() - K.mean()).matrix();
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(Kc);
  require(es.info() == Eigen::Success, "eigenvector_label_task", "eigen-decomposition failed");
  const Index n = K.rows();
  Vector<double> y = es.eigenvectors().col(n - j);  // ascending order: the j-th largest
  Index arg = 0;
  y.cwiseAbs().maxCoeff(&arg);
  if (y(arg) < 0) y = -y;
  Dataset ds;
  ds.name = "eigenvector_labels";
  ds.features = X;
  ds.targets = y;
  const Index P = n / 2;
  for (Index i = 0; i < n; ++i) (i < P ? ds.train : ds.test).push_back(i);
  ds.meta = {{"task", "eigenvector_labels"}, {"j", j}, {"P", P}, {"eigenvalue", es.eigenvalues()(n - j)}};
  return ds;
}

/// Options of teacher_student. Defaults: the 5-100-100-5 tanh teacher of Omnigrok / Kumar et al.
struct TeacherStudentOptions {
  std::vector<Index> widths{5, 100, 100, 5};  ///< input, hidden..., output
  double init_scale = 1.0;                    ///< every teacher parameter multiplied by this
  Index n_train = 100;
  Index n_test = 100;
  std::uint64_t seed = 0;
};

/// Inputs x ~ N(0, I) and labels from a random teacher MLP Linear–tanh–…–Linear with biases,
/// initialised as PyTorch's nn.Linear (weight and bias ~ U(−1/√fan_in, 1/√fan_in)) and scaled
/// by init_scale. Teacher parameters are kept in arrays["teacher.<l>.weight" / ".bias"].
inline Dataset teacher_student(const TeacherStudentOptions& o) {
  require(o.widths.size() >= 2, "teacher_student", "widths needs at least an input and an output width");
  for (Index w : o.widths) require(w >= 1, "teacher_student", "widths must be >= 1");
  require(o.n_train >= 1 && o.n_test >= 1, "teacher_student", "n_train and n_test must be >= 1");
  require(std::isfinite(o.init_scale), "teacher_student", "init_scale must be finite");
  Rng rng(o.seed);
  Dataset ds;
  ds.name = "teacher_student";
  std::vector<Matrix<double>> Ws, bs;
  for (std::size_t l = 0; l + 1 < o.widths.size(); ++l) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(o.widths[l]));
    Ws.push_back(o.init_scale * rng.uniform_matrix(o.widths[l + 1], o.widths[l], -bound, bound));
    bs.push_back(o.init_scale * rng.uniform_matrix(1, o.widths[l + 1], -bound, bound));
    ds.arrays["teacher." + std::to_string(l) + ".weight"] = Ws.back();
    ds.arrays["teacher." + std::to_string(l) + ".bias"] = bs.back();
  }
  ds.features = rng.normal_matrix(o.n_train + o.n_test, o.widths.front());
  Matrix<double> h = ds.features;
  for (std::size_t l = 0; l < Ws.size(); ++l) {
    Matrix<double> z = h * Ws[l].transpose();
    z.rowwise() += bs[l].row(0);
    h = l + 1 < Ws.size() ? Matrix<double>(z.array().tanh()) : z;
  }
  ds.targets = h;
  for (Index i = 0; i < ds.features.rows(); ++i) (i < o.n_train ? ds.train : ds.test).push_back(i);
  ds.meta = {{"task", "teacher_student"}, {"widths", o.widths}, {"init_scale", o.init_scale},
             {"n_train", o.n_train},      {"n_test", o.n_test}, {"seed", o.seed}};
  return ds;
}

}  // namespace grokscope
