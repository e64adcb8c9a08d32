// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Numbers as text, independent of the locale, and safe excerpts of untrusted text.
///
/// printf, strtod and iostreams follow the process locale: a host program (a GUI, a Python
/// extension) that sets a comma-decimal locale would make "0.5" unreadable and write "0,5" into
/// a CSV log. Everything grokscope reads or writes as numbers goes through these functions,
/// which use std::from_chars / std::to_chars and so always mean the '.' decimal point.

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>

namespace grokscope {

/// The shortest decimal text that reads back as exactly `v`: whole numbers below 1e15 without a
/// decimal point or exponent, others in printf's %g form with 6 to 17 significant digits;
/// "nan", "inf", "-inf" for non-finite values.
inline std::string format_number(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[40];
  if (v == std::floor(v) && std::abs(v) < 1e15) {
    const auto r = std::to_chars(buf, buf + sizeof buf, static_cast<long long>(v));
    return std::string(buf, r.ptr);
  }
  for (int prec = 6;; ++prec) {
    const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general, prec);
    double back = 0;
    std::from_chars(buf, r.ptr, back);
    if (back == v || prec == 17) return std::string(buf, r.ptr);
  }
}

/// The integer as decimal text (no digit grouping, whatever the locale).
inline std::string format_integer(long long v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

/// Parses the whole of `text` as a decimal number: optional surrounding spaces or tabs, an
/// optional sign, digits with '.' as the decimal point and an optional exponent, or "nan",
/// "inf", "infinity" in any case. A magnitude beyond double's range reads as ±inf, one below
/// its smallest subnormal as ±0 (as strtod does). False, leaving `out` alone, for anything else.
inline bool parse_number(std::string_view text, double& out) {
  std::size_t b = 0, e = text.size();
  while (b < e && (text[b] == ' ' || text[b] == '\t')) ++b;
  while (e > b && (text[e - 1] == ' ' || text[e - 1] == '\t')) --e;
  if (b < e && text[b] == '+') {
    ++b;
    if (b < e && (text[b] == '-' || text[b] == '+')) return false;
  }
  if (b == e) return false;
  const char* first = text.data() + b;
  const char* last = text.data() + e;
  double v = 0;
  const auto r = std::from_chars(first, last, v);
  if (r.ptr != last) return false;
  if (r.ec == std::errc()) {
    out = v;
    return true;
  }
  if (r.ec != std::errc::result_out_of_range) return false;
  // Out of range: the decimal order of magnitude (digits before the point of the first
  // significant digit, plus the exponent) says whether it overflowed or underflowed.
  const char* p = first;
  const bool negative = *p == '-';
  if (negative) ++p;
  long long order = 0;
  bool seen_point = false, seen_digit = false;
  for (; p != last && *p != 'e' && *p != 'E'; ++p) {
    if (*p == '.') {
      seen_point = true;
    } else if (*p != '0' || seen_digit) {
      if (!seen_digit) seen_digit = true;
      if (!seen_point) ++order;
    } else if (seen_point) {
      --order;  // a zero after the point, before the first significant digit
    }
  }
  long long exponent = 0;
  if (p != last) {
    ++p;
    const bool eneg = p != last && *p == '-';
    if (p != last && (*p == '-' || *p == '+')) ++p;
    for (; p != last; ++p) exponent = std::min<long long>(exponent * 10 + (*p - '0'), 1000000);
    if (eneg) exponent = -exponent;
  }
  const double mag = order + exponent > 0 ? std::numeric_limits<double>::infinity() : 0.0;
  out = negative ? -mag : mag;
  return true;
}

namespace detail {

/// Untrusted text for an error message: at most `max` bytes, quoted, with control and non-ASCII
/// bytes written as \xNN, and the full length noted when it was cut.
inline std::string excerpt(std::string_view s, std::size_t max = 60) {
  static const char* hex = "0123456789abcdef";
  std::string out = "\"";
  const std::size_t n = std::min(s.size(), max);
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  out += '"';
  if (n < s.size()) out += "... (" + std::to_string(s.size()) + " bytes)";
  return out;
}

}  // namespace detail

}  // namespace grokscope
