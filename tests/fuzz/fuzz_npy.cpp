// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// Fuzz harness: the .npy reader (header dictionary, shape bounds, dtype conversions, Fortran order).
#include <grokscope/io/npy.hpp>

#include "fuzz_util.hpp"

using namespace grokscope;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = fuzz::scratch("input.npy");
  fuzz::write_file(path, data, size);
  fuzz::expect_clean([&] { (void)read_npy_header(path); });
  fuzz::expect_clean([&] { (void)load_npy_array<double>(path); });
  fuzz::expect_clean([&] { (void)load_npy<double>(path); });
  fuzz::expect_clean([&] { (void)load_npy_as<float>(path); });
  fuzz::expect_clean([&] { (void)load_npy_as<std::int64_t>(path); });
  fuzz::expect_clean([&] { (void)load_npy_as<std::uint8_t>(path); });
  fuzz::expect_clean([&] {
    const Matrix<float> m = load_npy_flat<float>(path);
    if (m.rows() < 0 || m.cols() < 0) throw std::logic_error("negative shape");
  });
  return 0;
}
