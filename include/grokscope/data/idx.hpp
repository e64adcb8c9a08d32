// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file IDX files (the MNIST / Fashion-MNIST format): every element type, rank 1–4, big-endian
/// header, plain or gzip-compressed (zlib reads both), into classification datasets with
/// scaling to [0, 1], flattening, and first-N or class-balanced subsets.
///
/// The whole file is validated: magic bytes, type code, rank, dimensions (overflow-checked),
/// payload size (a short file or one with trailing bytes is an error), gzip integrity. Every
/// problem is a std::runtime_error naming the file and the problem; nothing is read past what
/// was checked.

#include <grokscope/core/check.hpp>
#include <grokscope/core/config.hpp>
#include <grokscope/core/file.hpp>
#include <grokscope/core/rng.hpp>
#include <grokscope/data/dataset.hpp>

#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace grokscope {

/// IDX element types (the third magic byte).
enum class IdxType : std::uint8_t {
  UInt8 = 0x08,
  Int8 = 0x09,
  Int16 = 0x0B,
  Int32 = 0x0C,
  Float32 = 0x0D,
  Float64 = 0x0E
};

/// Bytes per element of an IDX type.
GROKSCOPE_DEFERRED std::size_t idx_type_size(IdxType t);

/// An IDX array as stored: its type, dimensions and the big-endian payload bytes.
struct IdxArray {
  std::string path;
  IdxType type = IdxType::UInt8;
  std::vector<std::size_t> dims;
  std::vector<unsigned char> bytes;

  /// Number of elements.
  std::size_t count() const {
    std::size_t c = 1;
    for (std::size_t d : dims) c *= d;
    return c;
  }

  /// Element i converted to double.
  double value(std::size_t i) const;
};

namespace detail {

[[noreturn]] inline void idx_fail(const std::string& path, const std::string& what) {
  throw std::runtime_error("grokscope::read_idx: " + path + ": " + what);
}

struct GzCloser {
  void operator()(gzFile_s* f) const {
    if (f) gzclose(f);
  }
};

// Reads exactly n bytes or fails with a message naming what was being read.
GROKSCOPE_DEFERRED void gz_read_exact(gzFile f, const std::string& path, unsigned char* out, std::size_t n,
                                      const char* what);

}  // namespace detail

/// Reads an IDX file (plain or gzip) completely and validates it.
GROKSCOPE_DEFERRED IdxArray read_idx(const std::string& path);

/// Rows [0, n) of an IDX array of rank >= 1 as an n × (product of the other dims) matrix, each
/// example flattened in C order; uint8 data divided by 255 when `scale01` (any other type with
/// scale01 is an error: its range is not known).
GROKSCOPE_DEFERRED Matrix<double> idx_matrix(const IdxArray& a, const IndexList& rows, bool scale01);

/// Labels of a rank-1 integer IDX array, checked non-negative.
GROKSCOPE_DEFERRED IndexList idx_labels(const IdxArray& a);

/// Indices of `per_class` examples of every class (classes in increasing order), drawn without
/// replacement with `rng`; std::invalid_argument if a class has fewer.
GROKSCOPE_DEFERRED IndexList class_balanced_indices(const IndexList& labels, Index per_class, Rng& rng);

/// Options of idx_classification.
struct IdxOptions {
  Index n_train = -1;          ///< first n_train training images (-1: all)
  Index n_test = -1;           ///< first n_test test images (-1: all)
  Index train_per_class = -1;  ///< instead of the first n_train: this many per class, drawn with `seed`
  bool scale01 = true;         ///< uint8 pixels divided by 255
  std::uint64_t seed = 0;
};

/// A classification dataset from IDX image and label files (train and test), images flattened.
/// The split is the files' own: train rows first, then test rows.
GROKSCOPE_DEFERRED Dataset idx_classification(const std::string& train_images, const std::string& train_labels,
                                              const std::string& test_images, const std::string& test_labels,
                                              const IdxOptions& o = {});

/// Where Debian's dataset-fashion-mnist package puts the files.
inline const char* fashion_mnist_dir() { return "/usr/share/datasets/fashion-mnist"; }

/// Fashion-MNIST from a directory holding the four standard .gz files.
GROKSCOPE_DEFERRED Dataset fashion_mnist(const IdxOptions& o = {}, const std::string& dir = fashion_mnist_dir());

}  // namespace grokscope

#if GROKSCOPE_HEADER_ONLY
#include <grokscope/data/detail/idx-inl.hpp>
#endif
