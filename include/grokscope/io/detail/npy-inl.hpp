// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Definitions of the non-template functions declared in <grokscope/io/npy.hpp>: included by it in
/// header-only mode, compiled once into grokscope::compiled otherwise (core/config.hpp).

#include <grokscope/io/npy.hpp>

#if defined(GROKSCOPE_COMPILED) && !defined(GROKSCOPE_BUILDING_LIBRARY)
#error "grokscope: in compiled mode these definitions are in the library; include the header without -inl"
#endif

namespace grokscope {

GROKSCOPE_INLINE const char* npy_dtype_name(NpyDtype t) {
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
  }
  return "?";
}

}  // namespace grokscope

namespace grokscope::detail {

GROKSCOPE_INLINE std::string npy_dict_value(const std::string& header, const std::string& key,
                                            const std::string& path) {
  const std::string quoted = "'" + key + "'";
  const std::size_t k = header.find(quoted);
  if (k == std::string::npos) npy_fail("load_npy", path, "header has no '" + key + "' key");
  std::size_t p = header.find(':', k + quoted.size());
  if (p == std::string::npos) npy_fail("load_npy", path, "malformed header near '" + key + "'");
  ++p;
  while (p < header.size() && header[p] == ' ') ++p;
  std::size_t e = p;
  if (p < header.size() && header[p] == '(') {
    e = header.find(')', p);
    if (e == std::string::npos) npy_fail("load_npy", path, "unterminated shape tuple in header");
    return header.substr(p, e - p + 1);
  }
  if (p < header.size() && header[p] == '\'') {
    e = header.find('\'', p + 1);
    if (e == std::string::npos) npy_fail("load_npy", path, "unterminated string in header");
    return header.substr(p + 1, e - p - 1);
  }
  while (e < header.size() && header[e] != ',' && header[e] != '}') ++e;
  std::string v = header.substr(p, e - p);
  while (!v.empty() && v.back() == ' ') v.pop_back();
  return v;
}

GROKSCOPE_INLINE NpyHeader parse_npy_header(const std::string& path, std::istream& in, std::uint64_t file_size) {
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
  if (header.find('{') == std::string::npos || header.find('}') == std::string::npos)
    npy_fail("load_npy", path, "malformed header (no dictionary)");

  h.descr = npy_dict_value(header, "descr", path);
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
  else
    npy_fail("load_npy", path,
             "unsupported dtype '" + d +
                 "' (supported: <f4 float32, <f8 float64, <i8 int64, "
                 "<i4 int32, |u1 uint8)");

  const std::string fo = npy_dict_value(header, "fortran_order", path);
  if (fo == "True")
    h.fortran_order = true;
  else if (fo == "False")
    h.fortran_order = false;
  else
    npy_fail("load_npy", path, "invalid fortran_order value '" + fo + "'");

  const std::string sh = npy_dict_value(header, "shape", path);
  if (sh.size() < 2 || sh.front() != '(' || sh.back() != ')') npy_fail("load_npy", path, "invalid shape '" + sh + "'");
  std::size_t i = 1;
  h.count = 1;
  bool overflow = false;
  while (i + 1 < sh.size()) {
    while (i + 1 < sh.size() && (sh[i] == ' ' || sh[i] == ',')) ++i;
    if (i + 1 >= sh.size()) break;
    if (!std::isdigit(static_cast<unsigned char>(sh[i]))) npy_fail("load_npy", path, "invalid shape '" + sh + "'");
    std::uint64_t v = 0;
    while (i + 1 < sh.size() && std::isdigit(static_cast<unsigned char>(sh[i]))) {
      if (v > (std::numeric_limits<std::uint64_t>::max() - 9) / 10) overflow = true;
      v = v * 10 + static_cast<std::uint64_t>(sh[i] - '0');
      ++i;
    }
    if (v != 0 && h.count > std::numeric_limits<std::uint64_t>::max() / 16 / v) overflow = true;
    h.count *= static_cast<std::size_t>(v);
    h.shape.push_back(static_cast<std::size_t>(v));
  }
  if (overflow || h.shape.size() > 32) npy_fail("load_npy", path, "shape " + sh + " is too large");
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

GROKSCOPE_INLINE std::uint64_t npy_open(const std::string& where, const std::string& path, std::ifstream& in) {
  in.open(path, std::ios::binary);
  if (!in) npy_fail(where, path, "cannot open file for reading");
  in.seekg(0, std::ios::end);
  const auto end = in.tellg();
  if (end < 0) npy_fail(where, path, "cannot determine file size");
  in.seekg(0, std::ios::beg);
  return static_cast<std::uint64_t>(end);
}

}  // namespace grokscope::detail

namespace grokscope {

GROKSCOPE_INLINE NpyHeader read_npy_header(const std::string& path) {
  std::ifstream in;
  const std::uint64_t size = detail::npy_open("read_npy_header", path, in);
  return detail::parse_npy_header(path, in, size);
}

}  // namespace grokscope

namespace grokscope::detail {

GROKSCOPE_INLINE void npy_write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) npy_fail("save_npy", path, "cannot open file for writing");
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.flush();
  if (!out) npy_fail("save_npy", path, "write failed");
}

}  // namespace grokscope::detail
