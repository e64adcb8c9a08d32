// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// Fuzz harness: a parameter folder whose weight and bias files are the input.
#include <grokscope/io/params.hpp>

#include "fuzz_util.hpp"

using namespace grokscope;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string dir = fuzz::scratch("params");
  std::filesystem::create_directories(dir);
  fuzz::write_file(dir + "/w.npy", data, size);
  fuzz::write_file(dir + "/b.npy", data, size);
  Parameter<float> w("w", Matrix<float>::Zero(2, 3)), b("b", Matrix<float>::Zero(1, 3));
  fuzz::expect_clean([&] { load_parameters(dir, std::vector<Parameter<float>*>{&w, &b}); });
  if (w.value.rows() != 2 || w.value.cols() != 3 || b.value.rows() != 1 || b.value.cols() != 3)
    throw std::logic_error("load_parameters changed a shape");
  return 0;
}
