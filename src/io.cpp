// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// The compiled library's CSV and .npy readers and writers.

#include <grokscope/io/detail/csv-inl.hpp>
#include <grokscope/io/detail/npy-inl.hpp>

namespace grokscope::detail {
template void npy_save<float>(const std::string&, const float*, const std::vector<std::size_t>&);
template void npy_save<double>(const std::string&, const double*, const std::vector<std::size_t>&);
template void npy_save<std::int64_t>(const std::string&, const std::int64_t*, const std::vector<std::size_t>&);
template void npy_save<std::int32_t>(const std::string&, const std::int32_t*, const std::vector<std::size_t>&);
template void npy_save<std::uint8_t>(const std::string&, const std::uint8_t*, const std::vector<std::size_t>&);
}  // namespace grokscope::detail
