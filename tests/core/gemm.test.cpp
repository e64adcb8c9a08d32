// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// core/gemm.hpp: the library's matrix product against a double reference in every transpose form,
// into a matrix or a block of rows (accumulating with α, the rows around untouched), the same bits
// whatever the thread count asked for, and shape errors named. (tests/core/parallel.test.cpp
// checks the bit identity on 2 real threads through linear and matmul; tests/alloc that it
// allocates nothing once warm.)
#include <grokscope/core/gemm.hpp>

#include <grokscope/core/rng.hpp>

#include <doctest/doctest.h>

#include <array>

using namespace grokscope;

TEST_CASE("gemm: every transpose form, into a matrix or a block of rows, against a double reference") {
  Rng rng(5);
  for (const bool ta : {false, true})
    for (const bool tb : {false, true})
      for (const auto [m, n, k] : {std::array<Index, 3>{517, 129, 300}, {3, 4, 5}, {1, 300, 200}, {300, 1, 200}}) {
        INFO("m ", m, " n ", n, " k ", k, " ta ", ta, " tb ", tb);
        const Matrix<float> A = rng.normal_matrix(ta ? k : m, ta ? m : k).cast<float>();
        const Matrix<float> B = rng.normal_matrix(tb ? n : k, tb ? k : n).cast<float>();
        const Matrix<double> Ad = ta ? Matrix<double>(A.cast<double>().transpose()) : Matrix<double>(A.cast<double>());
        const Matrix<double> Bd = tb ? Matrix<double>(B.cast<double>().transpose()) : Matrix<double>(B.cast<double>());
        const Matrix<double> ref = Ad * Bd;
        const double scale = ref.cwiseAbs().maxCoeff() + 1;
        Matrix<float> C1, C2;
        Eigen::setNbThreads(1);
        detail::gemm(C1, false, 1.0f, A, ta, B, tb);
        Eigen::setNbThreads(2);
        detail::gemm(C2, false, 1.0f, A, ta, B, tb);
        CHECK((C1.cast<double>() - ref).cwiseAbs().maxCoeff() < 1e-4 * scale);
        CHECK(C1 == C2);  // bit for bit on 1 and 2 threads
        // accumulate with α into rows [2, 2 + m) of a taller matrix: the rows around are untouched
        Matrix<float> big = Matrix<float>::Constant(m + 4, n, 1.0f);
        detail::gemm(big.middleRows(2, m), true, 0.5f, A, ta, B, tb);
        CHECK((big.middleRows(2, m).cast<double>().array() - 1 - 0.5 * ref.array()).abs().maxCoeff() < 1e-4 * scale);
        CHECK((big.topRows(2).array() == 1.0f).all());
        CHECK((big.bottomRows(2).array() == 1.0f).all());
        Eigen::setNbThreads(0);
      }
  Matrix<double> C;
  const Matrix<double> A = Matrix<double>::Ones(3, 4), B = Matrix<double>::Ones(5, 2);
  CHECK_THROWS_WITH(detail::gemm(C, false, 1.0, A, false, B, false),
                    doctest::Contains("op(A) is 3x4 but op(B) is 5x2"));
  Matrix<double> wrong(2, 2);
  CHECK_THROWS_WITH(detail::gemm(wrong.middleRows(0, 1), false, 1.0, A, false, Matrix<double>(B.topRows(4)), false),
                    doctest::Contains("C is 1x2 but op(A) op(B) is 3x2"));
}
