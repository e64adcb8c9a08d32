// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// Fuzz harness: the IDX reader, plain and gzip. An odd first byte sends the rest of the input
// through gzip first, so that the IDX structure is fuzzed behind the decompressor too; an even
// one writes it as it is (which also fuzzes the gzip framing of inputs that start with its magic).
#include <grokscope/data/idx.hpp>

#include "fuzz_util.hpp"

#include <zlib.h>

using namespace grokscope;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string path = fuzz::scratch("input.idx");
  if (data[0] & 1) {
    gzFile f = gzopen(path.c_str(), "wb");
    if (!f) return 0;
    if (size > 1) gzwrite(f, data + 1, static_cast<unsigned>(size - 1));
    gzclose(f);
  } else {
    fuzz::write_file(path, data + 1, size - 1);
  }
  fuzz::expect_clean([&] {
    const IdxArray a = read_idx(path);
    fuzz::expect_clean([&] {
      const IndexList labels = idx_labels(a);
      Rng rng(0);
      fuzz::expect_clean([&] { (void)class_balanced_indices(labels, 1, rng); });
    });
    if (!a.dims.empty() && a.dims[0] > 0) {
      const IndexList rows{0, static_cast<Index>(a.dims[0] - 1)};
      fuzz::expect_clean([&] { (void)idx_matrix(a, rows, a.type == IdxType::UInt8); });
    }
  });
  return 0;
}
