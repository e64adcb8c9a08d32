// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// Helpers shared by the test executables.
#pragma once

#include <doctest/doctest.h>
#include <Eigen/Core>

#include <clocale>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <locale>
#include <string>

namespace grokscope::test {

// Eigen's decompositions cost a test translation unit 1-3 s each to instantiate: the ones the tests
// use as references are compiled once, in test_util.cpp.

/// Q of A's Householder QR (rows × rows); for a Gaussian A, a random orthogonal matrix.
Eigen::MatrixXd householder_q(const Eigen::MatrixXd& A);

/// Eigenvalues (ascending) and eigenvectors of a symmetric matrix.
struct SymEigen {
  Eigen::VectorXd values;
  Eigen::MatrixXd vectors;
};
SymEigen sym_eigen(const Eigen::MatrixXd& A);

/// Scratch directory for files written by tests (the build folder's tests/tmp).
inline std::string tmp_path(const std::string& name) { return std::string(GROKSCOPE_TEST_TMP_DIR) + "/" + name; }

/// The whole content of a file ("" when it cannot be read).
inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

/// Path of a committed fixture under tests/fixtures.
inline std::string fixture(const std::string& name) { return std::string(GROKSCOPE_TEST_DATA_DIR) + "/" + name; }

// A C++ locale whose numbers use ',' as the decimal point and '.' to group thousands.
struct CommaDecimal : std::numpunct<char> {
  char do_decimal_point() const override { return ','; }
  char do_thousands_sep() const override { return '.'; }
  std::string do_grouping() const override { return "\3"; }
};

// Switches the process to a comma-decimal locale, C and C++, for one scope.
struct CommaLocale {
  std::locale saved_cpp;
  std::string saved_c;
  bool c_level = false;
  CommaLocale() : saved_cpp(std::locale()), saved_c(std::setlocale(LC_ALL, nullptr)) {
    // doctest formats values through one stream it makes on first use: make it now, in "C".
    (void)doctest::toString(0.5);
    std::locale::global(std::locale(std::locale::classic(), new CommaDecimal));
    // The C library's locale (strtod, printf) needs a real one: CMake generates de_DE.UTF-8 into
    // the build folder when localedef and Debian's locale sources are there (glibc reads LOCPATH
    // at every setlocale).
#ifdef GROKSCOPE_TEST_LOCALE_DIR
    ::setenv("LOCPATH", GROKSCOPE_TEST_LOCALE_DIR, 1);
    c_level = std::setlocale(LC_ALL, "de_DE.UTF-8") != nullptr;
    REQUIRE_MESSAGE(c_level, "the test locale de_DE.UTF-8 in " GROKSCOPE_TEST_LOCALE_DIR " could not be set");
    REQUIRE(std::localeconv()->decimal_point == std::string(","));
#else
    WARN_MESSAGE(false, "no de_DE.UTF-8 test locale was generated: only the C++ locale is switched");
#endif
  }
  ~CommaLocale() {
    std::setlocale(LC_ALL, saved_c.c_str());
    std::locale::global(saved_cpp);
  }
};

}  // namespace grokscope::test
