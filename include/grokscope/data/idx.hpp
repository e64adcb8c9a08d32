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
inline std::size_t idx_type_size(IdxType t) {
  switch (t) {
    case IdxType::UInt8:
    case IdxType::Int8:
      return 1;
    case IdxType::Int16:
      return 2;
    case IdxType::Int32:
    case IdxType::Float32:
      return 4;
    case IdxType::Float64:
      return 8;
  }
  return 0;
}

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
  double value(std::size_t i) const {
    const unsigned char* p = bytes.data() + i * idx_type_size(type);
    auto be = [p](int n) {
      std::uint64_t v = 0;
      for (int k = 0; k < n; ++k) v = (v << 8) | p[k];
      return v;
    };
    switch (type) {
      case IdxType::UInt8:
        return p[0];
      case IdxType::Int8:
        return static_cast<std::int8_t>(p[0]);
      case IdxType::Int16:
        return static_cast<std::int16_t>(static_cast<std::uint16_t>(be(2)));
      case IdxType::Int32:
        return static_cast<std::int32_t>(static_cast<std::uint32_t>(be(4)));
      case IdxType::Float32: {
        const std::uint32_t u = static_cast<std::uint32_t>(be(4));
        float f;
        std::memcpy(&f, &u, 4);
        return f;
      }
      case IdxType::Float64: {
        const std::uint64_t u = be(8);
        double d;
        std::memcpy(&d, &u, 8);
        return d;
      }
    }
    return 0;
  }
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
inline void gz_read_exact(gzFile f, const std::string& path, unsigned char* out, std::size_t n, const char* what) {
  std::size_t got = 0;
  while (got < n) {
    const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(n - got, 1u << 20));
    const int r = gzread(f, out + got, chunk);
    if (r < 0) {
      int err = 0;
      const char* msg = gzerror(f, &err);
      idx_fail(path, std::string("gzip error while reading the ") + what + ": " + (msg ? msg : "unknown"));
    }
    if (r == 0) {
      int err = 0;
      const char* msg = gzerror(f, &err);
      std::string detail = (err != Z_OK && msg && *msg) ? std::string(" (") + msg + ")" : "";
      idx_fail(path, std::string("truncated ") + what + ": expected " + std::to_string(n) + " bytes, got " +
                         std::to_string(got) + detail);
    }
    got += static_cast<std::size_t>(r);
  }
}

}  // namespace detail

/// Reads an IDX file (plain or gzip) completely and validates it.
inline IdxArray read_idx(const std::string& path) {
  {
    std::ifstream probe(path, std::ios::binary);
    if (!probe) detail::idx_fail(path, "cannot open file for reading");
  }
  std::unique_ptr<gzFile_s, detail::GzCloser> f(gzopen(path.c_str(), "rb"));
  if (!f) detail::idx_fail(path, "cannot open file for reading");
  gzbuffer(f.get(), 1 << 17);
  IdxArray a;
  a.path = path;
  unsigned char magic[4];
  detail::gz_read_exact(f.get(), path, magic, 4, "header");
  if (magic[0] != 0 || magic[1] != 0) detail::idx_fail(path, "not an IDX file (bad magic bytes)");
  const std::uint8_t t = magic[2];
  if (t != 0x08 && t != 0x09 && t != 0x0B && t != 0x0C && t != 0x0D && t != 0x0E)
    detail::idx_fail(
        path, "unsupported IDX type code 0x" + [t] {
          const char* hex = "0123456789abcdef";
          return std::string{hex[t >> 4], hex[t & 15]};
        }());
  a.type = static_cast<IdxType>(t);
  const int rank = magic[3];
  if (rank < 1 || rank > 4) detail::idx_fail(path, "unsupported rank " + std::to_string(rank) + " (1 to 4)");
  std::vector<unsigned char> dimbytes(static_cast<std::size_t>(4 * rank));
  detail::gz_read_exact(f.get(), path, dimbytes.data(), dimbytes.size(), "header");
  std::size_t count = 1;
  for (int d = 0; d < rank; ++d) {
    const std::size_t v = (std::size_t(dimbytes[4 * d]) << 24) | (std::size_t(dimbytes[4 * d + 1]) << 16) |
                          (std::size_t(dimbytes[4 * d + 2]) << 8) | std::size_t(dimbytes[4 * d + 3]);
    a.dims.push_back(v);
    if (v != 0 && count > (std::numeric_limits<std::size_t>::max() / 16) / v)
      detail::idx_fail(path, "dimensions overflow");
    count *= v;
  }
  const std::size_t nbytes = count * idx_type_size(a.type);
  // Grow as data arrives, so a corrupt header cannot make us allocate what the file cannot hold.
  constexpr std::size_t chunk = std::size_t(1) << 24;
  a.bytes.reserve(std::min(nbytes, chunk));
  std::size_t done = 0;
  while (done < nbytes) {
    const std::size_t n = std::min(chunk, nbytes - done);
    a.bytes.resize(done + n);
    detail::gz_read_exact(f.get(), path, a.bytes.data() + done, n, "data");
    done += n;
  }
  unsigned char extra;
  const int r = gzread(f.get(), &extra, 1);
  if (r > 0) detail::idx_fail(path, "unexpected bytes after the data");
  int err = Z_OK;
  const char* msg = gzerror(f.get(), &err);
  if (r < 0 || (err != Z_OK && err != Z_STREAM_END))  // e.g. a gzip stream cut before its trailer
    detail::idx_fail(
        path, std::string("gzip stream truncated or corrupt after the data: ") + (msg && *msg ? msg : "unknown error"));
  return a;
}

/// Rows [0, n) of an IDX array of rank >= 1 as an n × (product of the other dims) matrix, each
/// example flattened in C order; uint8 data divided by 255 when `scale01` (any other type with
/// scale01 is an error: its range is not known).
inline Matrix<double> idx_matrix(const IdxArray& a, const IndexList& rows, bool scale01) {
  require(!a.dims.empty(), "idx_matrix", "array has no dimensions");
  require(!scale01 || a.type == IdxType::UInt8, "idx_matrix", a.path + ": scaling to [0, 1] needs uint8 data");
  std::size_t per = 1;
  for (std::size_t d = 1; d < a.dims.size(); ++d) per *= a.dims[d];
  Matrix<double> m(static_cast<Index>(rows.size()), static_cast<Index>(per));
  for (std::size_t i = 0; i < rows.size(); ++i) {
    require(rows[i] >= 0 && static_cast<std::size_t>(rows[i]) < a.dims[0], "idx_matrix",
            "row " + std::to_string(rows[i]) + " outside [0, " + std::to_string(a.dims[0]) + ")");
    for (std::size_t j = 0; j < per; ++j) {
      const double v = a.value(static_cast<std::size_t>(rows[i]) * per + j);
      m(static_cast<Index>(i), static_cast<Index>(j)) = scale01 ? v / 255.0 : v;
    }
  }
  return m;
}

/// Labels of a rank-1 integer IDX array, checked non-negative.
inline IndexList idx_labels(const IdxArray& a) {
  if (a.dims.size() != 1)
    detail::idx_fail(a.path, "labels must be a rank-1 array, got rank " + std::to_string(a.dims.size()));
  if (a.type == IdxType::Float32 || a.type == IdxType::Float64) detail::idx_fail(a.path, "labels must be integers");
  IndexList l(a.dims[0]);
  for (std::size_t i = 0; i < l.size(); ++i) {
    const double v = a.value(i);
    if (v < 0) detail::idx_fail(a.path, "negative label at position " + std::to_string(i));
    l[i] = static_cast<Index>(v);
  }
  return l;
}

/// Indices of `per_class` examples of every class (classes in increasing order), drawn without
/// replacement with `rng`; std::invalid_argument if a class has fewer.
inline IndexList class_balanced_indices(const IndexList& labels, Index per_class, Rng& rng) {
  require(per_class >= 1, "class_balanced_indices", "per_class must be >= 1");
  Index classes = 0;
  for (Index l : labels) classes = std::max(classes, l + 1);
  std::vector<IndexList> by(static_cast<std::size_t>(classes));
  for (std::size_t i = 0; i < labels.size(); ++i)
    by[static_cast<std::size_t>(labels[i])].push_back(static_cast<Index>(i));
  IndexList out;
  for (Index c = 0; c < classes; ++c) {
    const IndexList& pool = by[static_cast<std::size_t>(c)];
    require(static_cast<Index>(pool.size()) >= per_class, "class_balanced_indices",
            "class " + std::to_string(c) + " has " + std::to_string(pool.size()) + " examples, fewer than " +
                std::to_string(per_class));
    for (Index k : rng.choice(static_cast<Index>(pool.size()), per_class))
      out.push_back(pool[static_cast<std::size_t>(k)]);
  }
  return out;
}

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
inline Dataset idx_classification(const std::string& train_images, const std::string& train_labels,
                                  const std::string& test_images, const std::string& test_labels,
                                  const IdxOptions& o = {}) {
  const IdxArray tri = read_idx(train_images), trl = read_idx(train_labels);
  const IdxArray tei = read_idx(test_images), tel = read_idx(test_labels);
  const IndexList ltr = idx_labels(trl), lte = idx_labels(tel);
  if (tri.dims[0] != ltr.size())
    throw std::runtime_error("grokscope::idx_classification: " + train_images + " has " + std::to_string(tri.dims[0]) +
                             " images but " + train_labels + " has " + std::to_string(ltr.size()) + " labels");
  if (tei.dims[0] != lte.size())
    throw std::runtime_error("grokscope::idx_classification: " + test_images + " has " + std::to_string(tei.dims[0]) +
                             " images but " + test_labels + " has " + std::to_string(lte.size()) + " labels");
  auto first = [](Index n, std::size_t have, const char* what) {
    const Index k = n < 0 ? static_cast<Index>(have) : n;
    require(k >= 1 && k <= static_cast<Index>(have), "idx_classification",
            std::string(what) + " = " + std::to_string(n) + " but the file has " + std::to_string(have) + " examples");
    IndexList r(static_cast<std::size_t>(k));
    for (Index i = 0; i < k; ++i) r[static_cast<std::size_t>(i)] = i;
    return r;
  };
  IndexList rtr;
  if (o.train_per_class > 0) {
    Rng rng(o.seed);
    rtr = class_balanced_indices(ltr, o.train_per_class, rng);
  } else {
    rtr = first(o.n_train, ltr.size(), "n_train");
  }
  const IndexList rte = first(o.n_test, lte.size(), "n_test");
  const Matrix<double> xtr = idx_matrix(tri, rtr, o.scale01), xte = idx_matrix(tei, rte, o.scale01);
  require(xtr.cols() == xte.cols(), "idx_classification", "train and test images have different sizes");
  Dataset ds;
  ds.name = "idx_classification";
  ds.features.resize(xtr.rows() + xte.rows(), xtr.cols());
  ds.features << xtr, xte;
  for (Index r : rtr) ds.labels.push_back(ltr[static_cast<std::size_t>(r)]);
  for (Index r : rte) ds.labels.push_back(lte[static_cast<std::size_t>(r)]);
  for (Index l : ds.labels) ds.num_classes = std::max(ds.num_classes, l + 1);
  for (Index i = 0; i < ds.features.rows(); ++i) (i < xtr.rows() ? ds.train : ds.test).push_back(i);
  ds.meta = {{"task", "idx_classification"}, {"train_images", train_images},
             {"test_images", test_images},   {"n_train", ds.train.size()},
             {"n_test", ds.test.size()},     {"train_per_class", o.train_per_class},
             {"scale01", o.scale01},         {"seed", o.seed}};
  ds.validate();
  return ds;
}

/// Where Debian's dataset-fashion-mnist package puts the files.
inline const char* fashion_mnist_dir() { return "/usr/share/datasets/fashion-mnist"; }

/// Fashion-MNIST from a directory holding the four standard .gz files.
inline Dataset fashion_mnist(const IdxOptions& o = {}, const std::string& dir = fashion_mnist_dir()) {
  Dataset ds = idx_classification(dir + "/train-images-idx3-ubyte.gz", dir + "/train-labels-idx1-ubyte.gz",
                                  dir + "/t10k-images-idx3-ubyte.gz", dir + "/t10k-labels-idx1-ubyte.gz", o);
  ds.name = "fashion_mnist";
  return ds;
}

}  // namespace grokscope
