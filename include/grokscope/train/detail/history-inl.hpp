// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Definitions of the non-template functions declared in <grokscope/train/history.hpp>: included by it in
/// header-only mode, compiled once into grokscope::compiled otherwise (core/config.hpp).

#include <grokscope/train/history.hpp>

#if defined(GROKSCOPE_COMPILED) && !defined(GROKSCOPE_BUILDING_LIBRARY)
#error "grokscope: in compiled mode these definitions are in the library; include the header without -inl"
#endif

namespace grokscope {

GROKSCOPE_INLINE void History::add(const Record& r) {
  if (m_columns.empty())
    for (const auto& kv : r) {
      if (!(std::find(m_columns.begin(), m_columns.end(), kv.first) == m_columns.end()))
        throw_invalid("History::add",
                      "column '" + kv.first + "' appears twice in the record (two probes write the same name?)");
      m_columns.push_back(kv.first);
    }
  require(r.size() == m_columns.size(), "History::add",
          "record has " + std::to_string(r.size()) + " columns, history has " + std::to_string(m_columns.size()));
  std::vector<double> row;
  for (std::size_t i = 0; i < r.size(); ++i) {
    if (!(r[i].first == m_columns[i]))
      throw_invalid("History::add",
                    "column " + std::to_string(i) + " is '" + r[i].first + "', expected '" + m_columns[i] + "'");
    row.push_back(r[i].second);
  }
  m_rows.push_back(std::move(row));
}

GROKSCOPE_INLINE std::vector<double> History::column(const std::string& name) const {
  for (std::size_t c = 0; c < m_columns.size(); ++c)
    if (m_columns[c] == name) {
      std::vector<double> v;
      for (const auto& r : m_rows) v.push_back(r[c]);
      return v;
    }
  throw_invalid("History::column", "no column '" + name + "'");
}

GROKSCOPE_INLINE std::string History::to_csv() const {
  std::string s;
  for (std::size_t c = 0; c < m_columns.size(); ++c) s += (c ? "," : "") + csv_field(m_columns[c]);
  s += "\n";
  for (const auto& r : m_rows) {
    for (std::size_t c = 0; c < r.size(); ++c) s += (c ? "," : "") + format_number(r[c]);
    s += "\n";
  }
  return s;
}

GROKSCOPE_INLINE std::string History::to_jsonl() const {
  std::string s;
  for (const auto& r : m_rows) {
    s += "{";
    for (std::size_t c = 0; c < r.size(); ++c) {
      s += (c ? ",\"" : "\"") + m_columns[c] + "\":";
      s += std::isfinite(r[c]) ? format_number(r[c]) : "null";
    }
    s += "}\n";
  }
  return s;
}

GROKSCOPE_INLINE void History::write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error("grokscope::History: " + path + ": cannot open file for writing");
  out << text;
  out.flush();
  if (!out) throw std::runtime_error("grokscope::History: " + path + ": write failed");
}

}  // namespace grokscope
