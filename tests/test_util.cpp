// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// The reference decompositions of test_util.hpp, compiled once for every test executable.
#include "test_util.hpp"

#include <Eigen/Eigenvalues>
#include <Eigen/QR>

namespace grokscope::test {

Eigen::MatrixXd householder_q(const Eigen::MatrixXd& A) {
  return Eigen::HouseholderQR<Eigen::MatrixXd>(A).householderQ();
}

SymEigen sym_eigen(const Eigen::MatrixXd& A) {
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(A);
  REQUIRE_MESSAGE(es.info() == Eigen::Success, "sym_eigen: the eigensolver did not converge");
  return {es.eigenvalues(), es.eigenvectors()};
}

}  // namespace grokscope::test
