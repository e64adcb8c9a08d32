// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Opening input files with errors that name the path and say what is wrong with it.

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <system_error>

namespace grokscope::detail {

[[noreturn]] inline void input_fail(const std::string& where, const std::string& path, const std::string& what) {
  throw std::runtime_error("grokscope::" + where + ": " + path + ": " + what);
}

/// What kind of input `path` is. Regular files are always accepted; pipes and character
/// devices (a FIFO, /dev/stdin, process substitution) only when `allow_streams`, for readers
/// that bound how much they read. Throws std::runtime_error("grokscope::<where>: <path>: ...")
/// for a missing path, a directory or anything else.
inline void check_input_path(const std::string& where, const std::string& path, bool allow_streams = false) {
  auto fail = [&](const std::string& what) { input_fail(where, path, what); };
  if (path.empty()) throw std::runtime_error("grokscope::" + where + ": empty file name");
  std::error_code ec;
  const std::filesystem::file_status st = std::filesystem::status(path, ec);
  if (st.type() == std::filesystem::file_type::not_found) fail("no such file");
  if (ec) fail("cannot inspect (" + ec.message() + ")");
  const auto type = st.type();
  if (type == std::filesystem::file_type::regular) return;
  if (type == std::filesystem::file_type::directory) fail("is a directory, not a file");
  if (type == std::filesystem::file_type::fifo || type == std::filesystem::file_type::character) {
    if (allow_streams) return;
    fail("is a pipe or device, not a regular file (this reader needs the file's size)");
  }
  fail("is not a regular file");
}

/// Opens `path` for binary reading after check_input_path.
inline std::ifstream open_input(const std::string& where, const std::string& path, bool allow_streams = false) {
  check_input_path(where, path, allow_streams);
  std::ifstream in(path, std::ios::binary);
  if (!in) input_fail(where, path, "cannot open file for reading");
  return in;
}

}  // namespace grokscope::detail
