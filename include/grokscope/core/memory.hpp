// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file The memory limit that large allocations are checked against before they are made.
///
/// A kernel matrix, a Gram matrix or a dataset can be asked for with a few bytes of input
/// (n = 30 000, p = 30 000) and would then take tens of gigabytes: std::bad_alloc at best, the
/// out-of-memory killer taking the whole job (and its neighbours) at worst. Every such
/// allocation is estimated first and refused above a limit with a message that says how much was
/// asked for and what to change. The limit is half the physical memory, or the environment
/// variable GROKSCOPE_MAX_MEMORY (bytes, or a number with a K, M, G or T suffix in binary units)
/// for a shared machine or a batch job's allowance; functions that take a `max_bytes` option use it
/// instead when it is not 0.

#include <grokscope/core/text.hpp>

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <stdexcept>
#include <string>

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

namespace grokscope {

/// Half the physical memory, or GROKSCOPE_MAX_MEMORY when set (std::invalid_argument if that
/// variable is not a positive size).
inline std::size_t default_memory_limit() {
  if (const char* env = std::getenv("GROKSCOPE_MAX_MEMORY"); env && *env) {
    std::string text(env);
    double unit = 1;
    const char last = static_cast<char>(std::toupper(static_cast<unsigned char>(text.back())));
    const std::string suffixes = "KMGT";
    if (const auto k = suffixes.find(last); k != std::string::npos) {
      unit = std::pow(1024.0, static_cast<double>(k + 1));
      text.pop_back();
    }
    double v = 0;
    if (!parse_number(text, v) || !(v > 0) || !std::isfinite(v * unit))
      throw std::invalid_argument("grokscope: GROKSCOPE_MAX_MEMORY=" + std::string(env) +
                                  " is not a size (bytes, or a number with K, M, G or T)");
    const double bytes = v * unit;
    return bytes >= 1.8e19 ? static_cast<std::size_t>(-1) : static_cast<std::size_t>(bytes);
  }
#if defined(_SC_PHYS_PAGES) && defined(_SC_PAGE_SIZE)
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  if (pages > 0 && page > 0) return static_cast<std::size_t>(pages) * static_cast<std::size_t>(page) / 2;
#endif
  return std::size_t(8) << 30;
}

/// A refused allocation: the estimate exceeds the memory limit. A std::runtime_error, so handlers
/// of that still catch it; the Python module raises MemoryError for it.
struct MemoryLimitError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

namespace detail {

/// Bytes as "12.500 GiB".
inline std::string gib(double bytes) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, bytes / (1024.0 * 1024.0 * 1024.0), std::chars_format::fixed, 3);
  return (r.ec == std::errc() ? std::string(buf, r.ptr) : std::string("a huge number of")) + " GiB";
}

/// Throws MemoryLimitError("grokscope::<where>: <what> needs about X GiB, more than the limit
/// of Y GiB (<knob>); <advice>") when `bytes` exceeds `limit` (0: default_memory_limit()).
/// `bytes` is a double so that an estimate that overflows size_t is still refused.
inline void require_memory(const std::string& where, const std::string& what, double bytes, std::size_t limit,
                           const std::string& knob, const std::string& advice) {
  const std::size_t cap = limit ? limit : default_memory_limit();
  if (!(bytes <= static_cast<double>(cap)))
    throw MemoryLimitError("grokscope::" + where + ": " + what + " needs about " + gib(bytes) +
                           ", more than the limit of " + gib(static_cast<double>(cap)) + " (" + knob + "); " + advice);
}

}  // namespace detail

}  // namespace grokscope
