// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Save and load matrices as NumPy `.npy` files (float32, float64, int64, int32, uint8).
///
/// Writing goes through xtensor's npy encoder over a zero-copy view of the data (in the -inl
/// file: this header does not include xtensor, `core/xtensor.hpp` gives the adaptors). Reading
/// validates the whole file before touching the payload (magic, version, header length, dtype,
/// shape, exact payload size), because xtensor 0.24's reader neither detects truncated data nor
/// reads header lengths above 127 bytes correctly. The header dictionary is parsed as the Python
/// literal it is (unknown or repeated keys are refused, as NumPy does), every dimension is bounded
/// on its own, and load_npy_as converts only values the requested type holds exactly in range
/// (no float-to-integer cast of NaN, Inf, 2.5 or 1e30, no silent int64 → uint8 narrowing, no
/// finite float64 that overflows float32). Every problem is a std::runtime_error that names the
/// path and what is wrong.

#include <grokscope/core/check.hpp>
#include <grokscope/core/config.hpp>
#include <grokscope/core/file.hpp>
#include <grokscope/core/text.hpp>
#include <grokscope/core/types.hpp>

#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace grokscope {

/// Element types grokscope reads and writes in `.npy` files (little-endian).
/// Stored element types; Float16 is read only (converted on load, never written).
enum class NpyDtype { Float32, Float64, Int64, Int32, UInt8, Float16 };

/// NumPy's name of a dtype ("float32", ...).
GROKSCOPE_DEFERRED const char* npy_dtype_name(NpyDtype t);

/// What the header of a `.npy` file says.
struct NpyHeader {
  NpyDtype dtype = NpyDtype::Float64;
  std::string descr;               ///< the raw dtype string, e.g. "<f8"
  bool fortran_order = false;      ///< column-major payload
  std::vector<std::size_t> shape;  ///< empty for a 0-d array
  std::size_t data_offset = 0;     ///< bytes before the payload
  std::size_t count = 1;           ///< number of elements
  std::size_t item_size = 8;       ///< bytes per element
};

/// An array of any rank read from a `.npy` file, converted to T, in C (row-major) order.
template <typename T>
struct NpyArray {
  std::vector<std::size_t> shape;
  std::vector<T> data;
};

namespace detail {

// The element types grokscope writes (and reads into).
template <typename T>
inline constexpr bool npy_element_v =
    std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, std::int64_t> ||
    std::is_same_v<T, std::int32_t> || std::is_same_v<T, std::uint8_t>;

template <typename T>
constexpr NpyDtype npy_dtype_of() {
  static_assert(npy_element_v<T>, "npy: supported element types are float, double, int64_t, int32_t and uint8_t");
  if constexpr (std::is_same_v<T, float>)
    return NpyDtype::Float32;
  else if constexpr (std::is_same_v<T, double>)
    return NpyDtype::Float64;
  else if constexpr (std::is_same_v<T, std::int64_t>)
    return NpyDtype::Int64;
  else if constexpr (std::is_same_v<T, std::int32_t>)
    return NpyDtype::Int32;
  else
    return NpyDtype::UInt8;
}

[[noreturn]] inline void npy_fail(const std::string& where, const std::string& path, const std::string& what) {
  throw std::runtime_error("grokscope::" + where + ": " + path + ": " + what);
}

GROKSCOPE_DEFERRED NpyHeader parse_npy_header(const std::string& path, std::istream& in, std::uint64_t file_size);

GROKSCOPE_DEFERRED std::uint64_t npy_open(const std::string& where, const std::string& path, std::ifstream& in);

// Whether the stored value v converts to T without undefined behaviour or a silent change of
// value: integers must be whole and in T's range, a finite value must stay finite.
template <typename T, typename From>
bool npy_representable(From v) {
  if constexpr (std::is_same_v<T, From>) {
    return true;
  } else if constexpr (std::is_integral_v<T>) {
    if constexpr (std::is_floating_point_v<From>)
      if (!std::isfinite(v) || v != std::trunc(v)) return false;
    const auto x = static_cast<long double>(v);  // exact for every stored integer and float
    return x >= static_cast<long double>(std::numeric_limits<T>::lowest()) &&
           x <= static_cast<long double>(std::numeric_limits<T>::max());
  } else if constexpr (std::is_floating_point_v<From> && sizeof(T) >= sizeof(From)) {
    return true;  // float to double: exact
  } else if constexpr (std::is_floating_point_v<From>) {
    return !std::isfinite(v) || std::abs(static_cast<long double>(v)) <= std::numeric_limits<T>::max();
  } else {
    return true;  // integers to float or double: rounded to nearest, never out of range
  }
}

template <typename From, typename T>
void npy_convert(const char* bytes, std::size_t count, T* out, const std::string& path) {
  for (std::size_t i = 0; i < count; ++i) {
    From v;
    std::memcpy(&v, bytes + i * sizeof(From), sizeof(From));
    if (!npy_representable<T>(v))
      npy_fail("load_npy_as", path,
               "element " + std::to_string(i) + " (" + format_number(static_cast<double>(v)) + ") of the " +
                   npy_dtype_name(npy_dtype_of<From>()) + " data is not representable as " +
                   npy_dtype_name(npy_dtype_of<T>()) +
                   (std::is_integral_v<T> ? " (integers must be whole numbers in range)" : " (out of range)"));
    out[i] = static_cast<T>(v);
  }
}

}  // namespace detail

/// Reads and validates the header of a `.npy` file (also checks that the payload size matches).
GROKSCOPE_DEFERRED NpyHeader read_npy_header(const std::string& path);

/// Loads an array of any rank, converting the stored dtype to T; returned in C order.
/// With `require_exact_dtype`, a file whose dtype is not T is an error.
template <typename T>
NpyArray<T> load_npy_array(const std::string& path, bool require_exact_dtype = false) {
  std::ifstream in;
  const std::uint64_t size = detail::npy_open("load_npy", path, in);
  const NpyHeader h = detail::parse_npy_header(path, in, size);
  if (require_exact_dtype && h.dtype != detail::npy_dtype_of<T>())
    detail::npy_fail("load_npy", path,
                     std::string("holds ") + npy_dtype_name(h.dtype) + " but " +
                         npy_dtype_name(detail::npy_dtype_of<T>()) + " was requested (load_npy_as<T> converts)");
  std::vector<char> bytes(h.count * h.item_size);
  in.seekg(static_cast<std::streamoff>(h.data_offset));
  if (!bytes.empty() && !in.read(bytes.data(), static_cast<std::streamsize>(bytes.size())))
    detail::npy_fail("load_npy", path, "read error in the data");
  NpyArray<T> out;
  out.shape = h.shape;
  out.data.resize(h.count);
  switch (h.dtype) {
    case NpyDtype::Float32:
      detail::npy_convert<float>(bytes.data(), h.count, out.data.data(), path);
      break;
    case NpyDtype::Float64:
      detail::npy_convert<double>(bytes.data(), h.count, out.data.data(), path);
      break;
    case NpyDtype::Int64:
      detail::npy_convert<std::int64_t>(bytes.data(), h.count, out.data.data(), path);
      break;
    case NpyDtype::Int32:
      detail::npy_convert<std::int32_t>(bytes.data(), h.count, out.data.data(), path);
      break;
    case NpyDtype::UInt8:
      detail::npy_convert<std::uint8_t>(bytes.data(), h.count, out.data.data(), path);
      break;
    case NpyDtype::Float16: {  // IEEE binary16 → float (exact, Eigen::half), then as float32
      if constexpr (std::is_integral_v<T>)
        detail::npy_fail("load_npy_as", path, "holds float16; load it as float or double");
      std::vector<float> wide(h.count);
      for (std::size_t i = 0; i < h.count; ++i) {
        std::uint16_t b;
        std::memcpy(&b, bytes.data() + 2 * i, 2);
        wide[i] = static_cast<float>(Eigen::half(Eigen::half_impl::raw_uint16_to_half(b)));
      }
      detail::npy_convert<float>(reinterpret_cast<const char*>(wide.data()), h.count, out.data.data(), path);
      break;
    }
  }
  if (h.fortran_order && h.shape.size() > 1) {
    // Reverse-order strides: permute into C order.
    const std::size_t rank = h.shape.size();
    std::vector<T> c(out.data.size());
    std::vector<std::size_t> idx(rank, 0);
    for (std::size_t lin = 0; lin < h.count; ++lin) {
      std::size_t f = 0, stride = 1;
      for (std::size_t a = 0; a < rank; ++a) {
        f += idx[a] * stride;
        stride *= h.shape[a];
      }
      c[lin] = out.data[f];
      for (std::size_t a = rank; a-- > 0;) {
        if (++idx[a] < h.shape[a]) break;
        idx[a] = 0;
      }
    }
    out.data.swap(c);
  }
  return out;
}

namespace detail {
template <typename T>
Matrix<T> npy_to_matrix(const std::string& path, NpyArray<T>&& a, bool flatten) {
  const std::size_t rank = a.shape.size();
  Index rows = 1, cols = 1;
  if (rank == 1) {
    rows = static_cast<Index>(a.shape[0]);
  } else if (rank == 2 || (flatten && rank > 2)) {
    rows = static_cast<Index>(a.shape[0]);
    cols = rows == 0 ? 0 : static_cast<Index>(a.data.size() / a.shape[0]);
    if (rows == 0) {
      cols = 1;
      for (std::size_t i = 1; i < rank; ++i) cols *= static_cast<Index>(a.shape[i]);
    }
  } else if (rank > 2) {
    npy_fail("load_npy", path,
             "rank " + std::to_string(rank) +
                 " array cannot be loaded as a matrix "
                 "(use load_npy_flat to flatten each example)");
  }
  Matrix<T> m(rows, cols);
  if (m.size() > 0) std::memcpy(m.data(), a.data.data(), sizeof(T) * a.data.size());
  return m;
}
}  // namespace detail

/// Loads a rank-0, 1 or 2 array as a matrix (rank 1 becomes n × 1: one value per example).
/// The file's dtype must be T exactly.
template <typename T>
Matrix<T> load_npy(const std::string& path) {
  return detail::npy_to_matrix(path, load_npy_array<T>(path, true), false);
}

/// Like load_npy, converting any supported stored dtype to T.
template <typename T>
Matrix<T> load_npy_as(const std::string& path) {
  return detail::npy_to_matrix(path, load_npy_array<T>(path, false), false);
}

/// Loads an array of rank >= 1 as n × (product of the other dimensions): one row per example.
template <typename T>
Matrix<T> load_npy_flat(const std::string& path) {
  NpyArray<T> a = load_npy_array<T>(path, false);
  if (a.shape.empty()) detail::npy_fail("load_npy_flat", path, "0-d array has no example axis");
  return detail::npy_to_matrix(path, std::move(a), true);
}

namespace detail {
// Writes the elements of T at `data` (C order, as many as the shape holds) with the given shape
// (rank 1 or 2). A template so that header-only code instantiates xtensor's encoder only for the
// element types it saves; compiled mode has the five instances in the library.
template <typename T>
void npy_save(const std::string& path, const T* data, const std::vector<std::size_t>& shape);
// Writes the encoded bytes of a `.npy` file.
GROKSCOPE_DEFERRED void npy_write_bytes(const std::string& path, const std::string& bytes);
}  // namespace detail

#if defined(GROKSCOPE_COMPILED)
extern template void detail::npy_save<float>(const std::string&, const float*, const std::vector<std::size_t>&);
extern template void detail::npy_save<double>(const std::string&, const double*, const std::vector<std::size_t>&);
extern template void detail::npy_save<std::int64_t>(const std::string&, const std::int64_t*,
                                                    const std::vector<std::size_t>&);
extern template void detail::npy_save<std::int32_t>(const std::string&, const std::int32_t*,
                                                    const std::vector<std::size_t>&);
extern template void detail::npy_save<std::uint8_t>(const std::string&, const std::uint8_t*,
                                                    const std::vector<std::size_t>&);
#endif

/// Saves a matrix as a rank-2 C-order `.npy` (float, double, int64_t, int32_t or uint8_t).
template <typename Derived>
void save_npy(const std::string& path, const Eigen::DenseBase<Derived>& m) {
  using T = typename Derived::Scalar;
  static_assert(detail::npy_element_v<T>,
                "save_npy: supported element types are float, double, int64_t, int32_t and uint8_t");
  const Matrix<T> rm = m;  // row-major, evaluated
  detail::npy_save<T>(path, rm.data(), {static_cast<std::size_t>(rm.rows()), static_cast<std::size_t>(rm.cols())});
}

/// Saves a list of values as a rank-1 `.npy`.
template <typename T>
void save_npy(const std::string& path, const std::vector<T>& v) {
  static_assert(detail::npy_element_v<T>,
                "save_npy: supported element types are float, double, int64_t, int32_t and uint8_t");
  detail::npy_save<T>(path, v.data(), {v.size()});
}

}  // namespace grokscope

#if GROKSCOPE_HEADER_ONLY
#include <grokscope/io/detail/npy-inl.hpp>
#endif
