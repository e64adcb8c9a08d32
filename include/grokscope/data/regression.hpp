// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Regression tasks of the lazy-to-rich picture: Kumar et al.'s (2024) quadratic target
/// y = ½(β*·x)² in both of their code's data conventions, their NTK-eigenvector label task, and
/// teacher–student regression with a random tanh teacher MLP (Kumar et al. §1.15, Omnigrok §3).

#include <grokscope/core/check.hpp>
#include <grokscope/core/config.hpp>
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
GROKSCOPE_DEFERRED Dataset kumar_polynomial(const KumarOptions& o);

/// Kumar et al.'s eigenvector-label task (Fig. 5): with a kernel K on 2P points (e.g. the initial
/// NTK), subtract the scalar mean of K, take its j-th eigenvector (j = 1 is the largest
/// eigenvalue) as labels, train on the first P points and test on the last P. Eigenvectors are
/// unit-norm over all 2P points; the sign is fixed so the largest-magnitude entry is positive.
GROKSCOPE_DEFERRED Dataset eigenvector_label_task(const Matrix<double>& X, const Matrix<double>& K, Index j);

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
GROKSCOPE_DEFERRED Dataset teacher_student(const TeacherStudentOptions& o);

}  // namespace grokscope

#if GROKSCOPE_HEADER_ONLY
#include <grokscope/data/detail/regression-inl.hpp>
#endif
