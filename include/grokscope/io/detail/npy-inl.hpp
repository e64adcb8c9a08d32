// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Definitions of the non-template functions declared in <grokscope/io/npy.hpp>: included by it in
/// header-only mode, compiled once into grokscope::compiled otherwise (core/config.hpp).

#include <grokscope/core/xtensor.hpp>
#include GROKSCOPE_XTENSOR_NPY_HEADER
#include <grokscope/io/npy.hpp>

#if defined(GROKSCOPE_COMPILED) && !defined(GROKSCOPE_BUILDING_LIBRARY)
#error "grokscope: in compiled mode these definitions are in the library; include the header without -inl"
#endif

namespace grokscope {

GROKSCOPE_DEFERRED_DEF const char* npy_dtype_name(NpyDtype t) {
  switch (t) {
    case NpyDtype::Float32:
      return "float32";
    case NpyDtype::Float64:
      return "float64";
    case NpyDtype::Int64:
      return "int64";
    case NpyDtype::Int32:
      return "int32";
    case NpyDtype::UInt8:
      return "uint8";
    case NpyDtype::Float16:
      return "float16";
  }
  return "?";
}

}  // namespace grokscope

namespace grokscope::detail {

// The header is a Python dict literal with exactly the keys 'descr' (a string), 'fortran_order'
// (True or False) and 'shape' (a tuple of non-negative integers), padded with spaces and ended
// by a newline. It is parsed as such: a key's text inside another value cannot be mistaken
// for the key, and unknown or repeated keys are refused (as numpy.lib.format does).
struct NpyHeaderParser {
  const std::string& text;
  const std::string& path;
  std::size_t i = 0;

  [[noreturn]] void fail(const std::string& what) const {
    npy_fail("load_npy", path, "malformed header " + excerpt(text) + ": " + what);
  }
  void skip_space() {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r')) ++i;
  }
  bool take(char c) {
    skip_space();
    if (i < text.size() && text[i] == c) {
      ++i;
      return true;
    }
    return false;
  }
  std::string string_literal() {
    skip_space();
    if (i >= text.size() || (text[i] != '\'' && text[i] != '"')) fail("expected a quoted string");
    const char q = text[i++];
    const std::size_t e = text.find(q, i);
    if (e == std::string::npos) fail("unterminated string");
    std::string v = text.substr(i, e - i);
    if (v.find('\\') != std::string::npos) fail("escapes in strings are not supported");
    i = e + 1;
    return v;
  }
  bool bool_literal() {
    skip_space();
    if (text.compare(i, 4, "True") == 0) return i += 4, true;
    if (text.compare(i, 5, "False") == 0) return i += 5, false;
    fail("fortran_order must be True or False");
  }
  // Each dimension bounded on its own (at most 2^62), before any product is formed.
  std::vector<std::size_t> shape_tuple() {
    if (!take('(')) fail("shape must be a tuple");
    std::vector<std::size_t> shape;
    for (;;) {
      if (take(')')) break;
      skip_space();
      if (i >= text.size() || !std::isdigit(static_cast<unsigned char>(text[i])))
        fail("shape entries must be integers");
      std::uint64_t v = 0;
      while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
        v = v * 10 + static_cast<std::uint64_t>(text[i++] - '0');
        if (v > (std::uint64_t(1) << 62)) fail("a dimension is larger than 2^62");
      }
      if (i < text.size() && text[i] == 'L') ++i;  // Python 2 long
      shape.push_back(static_cast<std::size_t>(v));
      if (shape.size() > 32) fail("more than 32 dimensions");
      if (take(')')) break;
      if (!take(',')) fail("expected ',' or ')' in shape");
    }
    return shape;
  }
};

GROKSCOPE_DEFERRED_DEF NpyHeader parse_npy_header(const std::string& path, std::istream& in, std::uint64_t file_size) {
  NpyHeader h;
  unsigned char pre[8];
  if (file_size < 10 || !in.read(reinterpret_cast<char*>(pre), 8))
    npy_fail("load_npy", path, "file too short to be .npy (" + std::to_string(file_size) + " bytes)");
  if (std::memcmp(pre, "\x93NUMPY", 6) != 0) npy_fail("load_npy", path, "not a .npy file (bad magic string)");
  const int major = pre[6];
  std::uint64_t header_len = 0;
  std::size_t len_bytes = 0;
  if (major == 1) {
    len_bytes = 2;
  } else if (major == 2 || major == 3) {
    len_bytes = 4;
  } else {
    npy_fail("load_npy", path,
             "unsupported .npy format version " + std::to_string(major) + "." + std::to_string(pre[7]));
  }
  unsigned char lb[4] = {0, 0, 0, 0};
  if (!in.read(reinterpret_cast<char*>(lb), static_cast<std::streamsize>(len_bytes)))
    npy_fail("load_npy", path, "truncated header length");
  for (std::size_t i = 0; i < len_bytes; ++i) header_len |= static_cast<std::uint64_t>(lb[i]) << (8 * i);
  h.data_offset = 8 + len_bytes + static_cast<std::size_t>(header_len);
  if (h.data_offset > file_size)
    npy_fail("load_npy", path,
             "truncated header (header says " + std::to_string(header_len) + " bytes, file has " +
                 std::to_string(file_size) + ")");
  std::string header(static_cast<std::size_t>(header_len), '\0');
  if (!in.read(header.data(), static_cast<std::streamsize>(header_len))) npy_fail("load_npy", path, "truncated header");
  NpyHeaderParser P{header, path};
  bool have_descr = false, have_order = false, have_shape = false;
  if (!P.take('{')) P.fail("no dictionary");
  for (;;) {
    if (P.take('}')) break;
    const std::string key = P.string_literal();
    if (!P.take(':')) P.fail("expected ':' after " + excerpt(key));
    bool* seen = key == "descr"           ? &have_descr
                 : key == "fortran_order" ? &have_order
                 : key == "shape"         ? &have_shape
                                          : nullptr;
    if (!seen) P.fail("unknown key " + excerpt(key) + " (a .npy header has descr, fortran_order and shape)");
    if (*seen) P.fail("key " + excerpt(key) + " appears twice");
    *seen = true;
    if (key == "descr")
      h.descr = P.string_literal();
    else if (key == "fortran_order")
      h.fortran_order = P.bool_literal();
    else
      h.shape = P.shape_tuple();
    if (P.take('}')) break;
    if (!P.take(',')) P.fail("expected ',' or '}'");
  }
  P.skip_space();
  if (P.i != header.size()) P.fail("text after the dictionary");
  if (!have_descr || !have_order || !have_shape)
    P.fail(std::string("missing key '") + (!have_descr ? "descr" : !have_order ? "fortran_order" : "shape") + "'");

  const std::string& d = h.descr;
  if (d == "<f4")
    h.dtype = NpyDtype::Float32, h.item_size = 4;
  else if (d == "<f8")
    h.dtype = NpyDtype::Float64, h.item_size = 8;
  else if (d == "<i8")
    h.dtype = NpyDtype::Int64, h.item_size = 8;
  else if (d == "<i4")
    h.dtype = NpyDtype::Int32, h.item_size = 4;
  else if (d == "|u1" || d == "<u1")
    h.dtype = NpyDtype::UInt8, h.item_size = 1;
  else if (d == "<f2")
    h.dtype = NpyDtype::Float16, h.item_size = 2;
  else
    npy_fail("load_npy", path,
             "unsupported dtype " + excerpt(d) +
                 " (supported: <f4 float32, <f8 float64, <f2 float16 (read only), <i8 int64, <i4 int32, |u1 uint8)");

  // The product of the non-zero dimensions bounds every partial product (rows × cols of a
  // matrix view, the payload of a non-empty array), so it is the one that must fit.
  std::string sh = "(";
  std::uint64_t nonzero = 1;
  h.count = 1;
  for (std::size_t k = 0; k < h.shape.size(); ++k) {
    const std::uint64_t v = h.shape[k];
    sh += std::to_string(v) + (h.shape.size() == 1 ? ",)" : k + 1 < h.shape.size() ? ", " : ")");
    if (v != 0) {
      if (nonzero > (std::uint64_t(1) << 62) / 16 / v) npy_fail("load_npy", path, "shape is too large");
      nonzero *= v;
    }
    h.count *= static_cast<std::size_t>(v);
  }
  if (h.shape.empty()) sh += ")";
  const std::uint64_t payload = static_cast<std::uint64_t>(h.count) * h.item_size;
  const std::uint64_t have = file_size - h.data_offset;
  if (have < payload)
    npy_fail("load_npy", path,
             "truncated data: shape " + sh + " of " + npy_dtype_name(h.dtype) + " needs " + std::to_string(payload) +
                 " bytes, file has " + std::to_string(have));
  if (have > payload)
    npy_fail("load_npy", path, std::to_string(have - payload) + " unexpected bytes after the data of shape " + sh);
  return h;
}

GROKSCOPE_DEFERRED_DEF std::uint64_t npy_open(const std::string& where, const std::string& path, std::ifstream& in) {
  in = open_input(where, path);
  in.seekg(0, std::ios::end);
  const auto end = in.tellg();
  if (end < 0) npy_fail(where, path, "cannot determine file size");
  in.seekg(0, std::ios::beg);
  return static_cast<std::uint64_t>(end);
}

}  // namespace grokscope::detail

namespace grokscope {

GROKSCOPE_DEFERRED_DEF NpyHeader read_npy_header(const std::string& path) {
  std::ifstream in;
  const std::uint64_t size = detail::npy_open("read_npy_header", path, in);
  return detail::parse_npy_header(path, in, size);
}

}  // namespace grokscope

namespace grokscope::detail {

template <typename T>
void npy_save(const std::string& path, const T* data, const std::vector<std::size_t>& shape) {
  std::size_t count = 1;
  for (std::size_t d : shape) count *= d;
  // xtensor's encoder over a zero-copy view of the typed data
  npy_write_bytes(path, xt::dump_npy(xt::adapt(data, count, xt::no_ownership(), shape)));
}

GROKSCOPE_DEFERRED_DEF void npy_write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) npy_fail("save_npy", path, "cannot open file for writing");
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.flush();
  if (!out) npy_fail("save_npy", path, "write failed");
}

}  // namespace grokscope::detail
