// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Definitions of the non-template functions declared in <grokscope/data/idx.hpp>: included by it in
/// header-only mode, compiled once into grokscope::compiled otherwise (core/config.hpp).

#include <grokscope/data/idx.hpp>

#if defined(GROKSCOPE_COMPILED) && !defined(GROKSCOPE_BUILDING_LIBRARY)
#error "grokscope: in compiled mode these definitions are in the library; include the header without -inl"
#endif

namespace grokscope {

GROKSCOPE_DEFERRED_DEF std::size_t idx_type_size(IdxType t) {
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

GROKSCOPE_INLINE double IdxArray::value(std::size_t i) const {
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

}  // namespace grokscope

namespace grokscope::detail {

GROKSCOPE_DEFERRED_DEF void gz_read_exact(gzFile f, const std::string& path, unsigned char* out, std::size_t n,
                                          const char* what) {
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

}  // namespace grokscope::detail

namespace grokscope {

GROKSCOPE_DEFERRED_DEF IdxArray read_idx(const std::string& path) {
  detail::open_input("read_idx", path);  // a clear message for a missing file, a directory or a device
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
  // Every dimension is below 2^32; the product of the non-zero ones bounds every partial product
  // (the size of one example, the payload), so it is the one that must fit, zeros or not.
  std::size_t count = 1, nonzero = 1;
  for (int d = 0; d < rank; ++d) {
    const std::size_t v = (std::size_t(dimbytes[4 * d]) << 24) | (std::size_t(dimbytes[4 * d + 1]) << 16) |
                          (std::size_t(dimbytes[4 * d + 2]) << 8) | std::size_t(dimbytes[4 * d + 3]);
    a.dims.push_back(v);
    if (v != 0) {
      if (nonzero > (std::size_t(1) << 58) / v)
        detail::idx_fail(path, "dimensions too large (their product overflows)");
      nonzero *= v;
    }
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

GROKSCOPE_DEFERRED_DEF Matrix<double> idx_matrix(const IdxArray& a, const IndexList& rows, bool scale01) {
  require(!a.dims.empty(), "idx_matrix", "array has no dimensions");
  require(!scale01 || a.type == IdxType::UInt8, "idx_matrix", a.path + ": scaling to [0, 1] needs uint8 data");
  std::size_t per = 1;
  for (std::size_t d = 1; d < a.dims.size(); ++d) per *= a.dims[d];
  Matrix<double> m(static_cast<Index>(rows.size()), static_cast<Index>(per));
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (!(rows[i] >= 0 && static_cast<std::size_t>(rows[i]) < a.dims[0]))
      throw_invalid("idx_matrix", "row " + std::to_string(rows[i]) + " outside [0, " + std::to_string(a.dims[0]) + ")");
    for (std::size_t j = 0; j < per; ++j) {
      const double v = a.value(static_cast<std::size_t>(rows[i]) * per + j);
      m(static_cast<Index>(i), static_cast<Index>(j)) = scale01 ? v / 255.0 : v;
    }
  }
  return m;
}

GROKSCOPE_DEFERRED_DEF IndexList idx_labels(const IdxArray& a) {
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

GROKSCOPE_DEFERRED_DEF IndexList class_balanced_indices(const IndexList& labels, Index per_class, Rng& rng) {
  require(per_class >= 1, "class_balanced_indices", "per_class must be >= 1");
  Index classes = 0;
  for (Index l : labels) {
    if (!(l >= 0)) throw_invalid("class_balanced_indices", "negative label " + std::to_string(l));
    classes = std::max(classes, l + 1);
  }
  // Classes are 0 .. max label; more classes than labels means some class has no example, and
  // one list per class must not be allocated for a corrupt label of 5·10^8.
  require(classes <= static_cast<Index>(labels.size()), "class_balanced_indices",
          "labels run up to " + std::to_string(classes - 1) + " but there are only " + std::to_string(labels.size()) +
              " labels, so some classes have no examples");
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

GROKSCOPE_DEFERRED_DEF Dataset idx_classification(const std::string& train_images, const std::string& train_labels,
                                                  const std::string& test_images, const std::string& test_labels,
                                                  const IdxOptions& o) {
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
  require(!rtr.empty(), "idx_classification",
          train_labels + " gives no training examples (" + std::to_string(ltr.size()) + " labels)");
  const IndexList rte = first(o.n_test, lte.size(), "n_test");
  const Matrix<double> xtr = idx_matrix(tri, rtr, o.scale01), xte = idx_matrix(tei, rte, o.scale01);
  require(xtr.cols() == xte.cols(), "idx_classification", "train and test images have different sizes");
  Dataset ds;
  ds.name = "idx_classification";
  ds.features.resize(xtr.rows() + xte.rows(), xtr.cols());
  ds.features << xtr, xte;
  for (Index r : rtr) ds.labels.push_back(ltr[static_cast<std::size_t>(r)]);
  for (Index r : rte) ds.labels.push_back(lte[static_cast<std::size_t>(r)]);
  // A corrupt label far beyond the number of labels would make a model with that many outputs.
  Index max_label = -1;
  for (const IndexList* ls : {&ltr, &lte})
    for (Index l : *ls) max_label = std::max(max_label, l);
  const std::size_t total = ltr.size() + lte.size();
  if (max_label >= static_cast<Index>(total))
    throw std::runtime_error("grokscope::idx_classification: label " + std::to_string(max_label) + " in " +
                             train_labels + " / " + test_labels + " is not below the number of labels (" +
                             std::to_string(total) + "): classes must be 0 .. K-1");
  for (Index l : ds.labels) ds.num_classes = std::max(ds.num_classes, l + 1);
  for (Index i = 0; i < ds.features.rows(); ++i) (i < xtr.rows() ? ds.train : ds.test).push_back(i);
  ds.meta = {{"task", "idx_classification"}, {"train_images", train_images},
             {"test_images", test_images},   {"n_train", ds.train.size()},
             {"n_test", ds.test.size()},     {"train_per_class", o.train_per_class},
             {"scale01", o.scale01},         {"seed", o.seed}};
  ds.validate();
  return ds;
}

GROKSCOPE_DEFERRED_DEF Dataset fashion_mnist(const IdxOptions& o, const std::string& dir) {
  Dataset ds = idx_classification(dir + "/train-images-idx3-ubyte.gz", dir + "/train-labels-idx1-ubyte.gz",
                                  dir + "/t10k-images-idx3-ubyte.gz", dir + "/t10k-labels-idx1-ubyte.gz", o);
  ds.name = "fashion_mnist";
  return ds;
}

}  // namespace grokscope
