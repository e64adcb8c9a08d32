// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Read and write CSV tables with a header row (training logs from any framework).
///
/// xtensor's CSV reader parses every field as one numeric type and has no header support, while
/// training logs mix named numeric columns with text (status, split, run name) and empty cells.
/// This reader keeps fields as text (RFC 4180 quoting, CRLF or LF line ends) and converts the
/// columns asked for; every problem is a std::runtime_error naming the file and the line.
/// Numbers are read and written with '.' as the decimal point whatever the process locale
/// (core/text.hpp); a UTF-8 byte-order mark before the header is dropped.

#include <grokscope/core/check.hpp>
#include <grokscope/core/config.hpp>
#include <grokscope/core/file.hpp>
#include <grokscope/core/text.hpp>
#include <grokscope/core/types.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace grokscope {

/// A CSV file as text: the header and one vector of fields per data row.
struct CsvTable {
  std::string path;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;

  /// Index of a column by name, or -1.
  Index find_column(const std::string& name) const {
    for (std::size_t i = 0; i < header.size(); ++i)
      if (header[i] == name) return static_cast<Index>(i);
    return -1;
  }

  /// Index of a column by name; std::runtime_error listing the columns if it is absent.
  Index column(const std::string& name) const;

  /// A column converted to double: empty cells, "nan", "inf" and text become NaN / ±Inf as written
  /// (text that is not a number becomes NaN and is counted in `non_numeric`).
  std::vector<double> numeric(const std::string& name, Index* non_numeric = nullptr) const;

  /// Parses a whole field as a double (surrounding spaces allowed, '.' as the decimal point in any
  /// locale); false if it is not a number. Same as parse_number (core/text.hpp).
  static bool parse_double(const std::string& field, double& out) { return parse_number(field, out); }
};

namespace detail {
[[noreturn]] inline void csv_fail(const std::string& path, const std::string& what) {
  throw std::runtime_error("grokscope::read_csv: " + path + ": " + what);
}
}  // namespace detail

/// Parses CSV text (the first record is the header). `path` is used in error messages.
GROKSCOPE_DEFERRED CsvTable parse_csv(const std::string& text, const std::string& path, char delimiter = ',');

/// Reads a CSV file with a header row. A pipe or device (/dev/stdin, `<(cmd)`) is read too; a
/// directory, binary data (a NUL byte) or more than `max_bytes` is an error naming the path.
GROKSCOPE_DEFERRED CsvTable read_csv(const std::string& path, char delimiter = ',',
                                     std::size_t max_bytes = std::size_t(1) << 30);

/// Quotes a field if it holds the delimiter, a quote or a line break.
GROKSCOPE_DEFERRED std::string csv_field(const std::string& s, char delimiter = ',');

}  // namespace grokscope

#if GROKSCOPE_HEADER_ONLY
#include <grokscope/io/detail/csv-inl.hpp>
#endif
