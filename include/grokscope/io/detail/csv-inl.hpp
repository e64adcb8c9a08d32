// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Definitions of the non-template functions declared in <grokscope/io/csv.hpp>: included by it in
/// header-only mode, compiled once into grokscope::compiled otherwise (core/config.hpp).

#include <grokscope/io/csv.hpp>

#if defined(GROKSCOPE_COMPILED) && !defined(GROKSCOPE_BUILDING_LIBRARY)
#error "grokscope: in compiled mode these definitions are in the library; include the header without -inl"
#endif

namespace grokscope {

GROKSCOPE_INLINE Index CsvTable::column(const std::string& name) const {
  const Index c = find_column(name);
  if (c < 0) {
    // The header comes from the file: each name is cut and made printable, and the list too.
    std::string have;
    for (std::size_t i = 0; i < header.size() && i < 40; ++i) {
      const std::string& h = header[i];
      const bool plain = h.size() <= 60 && std::all_of(h.begin(), h.end(), [](char ch) {
                           return static_cast<unsigned char>(ch) >= 0x20 && static_cast<unsigned char>(ch) < 0x7f;
                         });
      have += (have.empty() ? "" : ", ") + (plain ? h : detail::excerpt(h));
    }
    if (header.size() > 40) have += ", ... (" + std::to_string(header.size()) + " columns)";
    throw std::runtime_error("grokscope::CsvTable: " + path + ": no column " +
                             (name.size() <= 60 ? "'" + name + "'" : detail::excerpt(name)) + " (columns: " + have +
                             ")");
  }
  return c;
}

GROKSCOPE_INLINE std::vector<double> CsvTable::numeric(const std::string& name, Index* non_numeric) const {
  const Index c = column(name);
  std::vector<double> out;
  out.reserve(rows.size());
  Index bad = 0;
  for (const auto& r : rows) {
    const std::string& f = r[static_cast<std::size_t>(c)];
    double v = std::numeric_limits<double>::quiet_NaN();
    if (!parse_double(f, v) && !f.empty()) ++bad;
    out.push_back(v);
  }
  if (non_numeric) *non_numeric = bad;
  return out;
}

GROKSCOPE_DEFERRED_DEF CsvTable parse_csv(const std::string& text, const std::string& path, char delimiter) {
  CsvTable t;
  t.path = path;
  if (text.find('\0') != std::string::npos) detail::csv_fail(path, "not a CSV file (contains NUL bytes)");
  const std::size_t start = text.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;  // UTF-8 byte-order mark
  std::vector<std::string> record;
  std::string field;
  bool in_quotes = false, field_started = false, any = false;
  std::size_t line = 1, record_line = 1;
  auto end_record = [&]() {
    record.push_back(field);
    field.clear();
    const bool blank = record.size() == 1 && record[0].empty() && !field_started;
    if (!blank) {
      if (t.header.empty()) {
        t.header = record;
        for (auto& h : t.header) {
          std::size_t b = 0, e = h.size();
          while (b < e && h[b] == ' ') ++b;
          while (e > b && h[e - 1] == ' ') --e;
          h = h.substr(b, e - b);
        }
      } else {
        if (record.size() != t.header.size())
          detail::csv_fail(path, "line " + std::to_string(record_line) + " has " + std::to_string(record.size()) +
                                     " fields but the header has " + std::to_string(t.header.size()));
        t.rows.push_back(record);
      }
    }
    record.clear();
    field_started = false;
    record_line = line;
  };
  for (std::size_t i = start; i < text.size(); ++i) {
    const char c = text[i];
    any = true;
    if (in_quotes) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          in_quotes = false;
        }
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    if (c == '"' && field.empty()) {
      in_quotes = true;
      field_started = true;
    } else if (c == delimiter) {
      record.push_back(field);
      field.clear();
      field_started = true;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      ++line;
      end_record();
    } else {
      field += c;
      field_started = true;
    }
  }
  if (in_quotes) detail::csv_fail(path, "unterminated quoted field starting on line " + std::to_string(record_line));
  if (field_started || !field.empty() || !record.empty()) end_record();
  if (!any || t.header.empty()) detail::csv_fail(path, "empty file (no header row)");
  return t;
}

GROKSCOPE_DEFERRED_DEF CsvTable read_csv(const std::string& path, char delimiter, std::size_t max_bytes) {
  std::ifstream in = detail::open_input("read_csv", path, true);
  // In chunks, so that a device or a binary file is refused at its first NUL byte and an endless
  // stream at max_bytes, instead of filling memory.
  std::string text;
  std::vector<char> chunk(std::size_t(1) << 16);
  while (in) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    const auto got = static_cast<std::size_t>(in.gcount());
    if (std::find(chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(got), '\0') !=
        chunk.begin() + static_cast<std::ptrdiff_t>(got))
      detail::csv_fail(path, "not a CSV file (contains NUL bytes near byte " + std::to_string(text.size()) + ")");
    if (text.size() + got > max_bytes)
      detail::csv_fail(path, "larger than the limit of " + std::to_string(max_bytes) + " bytes (read_csv's max_bytes)");
    text.append(chunk.data(), got);
  }
  if (in.bad()) detail::csv_fail(path, "read error");
  return parse_csv(text, path, delimiter);
}

GROKSCOPE_DEFERRED_DEF std::string csv_field(const std::string& s, char delimiter) {
  if (s.find_first_of(std::string(1, delimiter) + "\"\r\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += (c == '"') ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

}  // namespace grokscope
