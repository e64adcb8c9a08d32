// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Definitions of the non-template functions declared in <grokscope/data/regression.hpp>: included by it in
/// header-only mode, compiled once into grokscope::compiled otherwise (core/config.hpp).

#include <grokscope/core/memory.hpp>
#include <grokscope/core/text.hpp>
#include <grokscope/data/regression.hpp>

#if defined(GROKSCOPE_COMPILED) && !defined(GROKSCOPE_BUILDING_LIBRARY)
#error "grokscope: in compiled mode these definitions are in the library; include the header without -inl"
#endif

namespace grokscope {

GROKSCOPE_DEFERRED_DEF Dataset kumar_polynomial(const KumarOptions& o) {
  require(o.D >= 1 && o.n_train >= 1 && o.n_test >= 1, "kumar_polynomial", "D, n_train and n_test must be >= 1");
  require(std::isfinite(o.epsilon), "kumar_polynomial", "epsilon must be finite");
  detail::require_memory("kumar_polynomial",
                         format_number(static_cast<double>(o.n_train) + o.n_test) +
                             " examples of D = " + std::to_string(o.D) + " features",
                         (static_cast<double>(o.n_train) + static_cast<double>(o.n_test) + 1) *
                             (static_cast<double>(o.D) + 4) * sizeof(double),
                         0, "GROKSCOPE_MAX_MEMORY", "use a smaller D or fewer examples");
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

GROKSCOPE_DEFERRED_DEF Dataset eigenvector_label_task(const Matrix<double>& X, const Matrix<double>& K, Index j) {
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

GROKSCOPE_DEFERRED_DEF Dataset teacher_student(const TeacherStudentOptions& o) {
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
