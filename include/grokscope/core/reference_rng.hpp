// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Bit-exact re-creations of the two random streams that published grokking splits were
/// drawn with: Python's `random` module (Nanda et al.: `random.seed(0); random.shuffle(pairs)`)
/// and NumPy's legacy `RandomState` (Power et al.: `np.random.RandomState(0).shuffle(data)`).
///
/// Both are MT19937. They differ in seeding and in how they draw bounded
/// integers; both rules are reproduced here so the reference train/test splits come out exactly.

#include <grokscope/core/check.hpp>
#include <grokscope/core/types.hpp>

#include <cstdint>
#include <random>
#include <vector>

namespace grokscope {

/// Python's `random.Random(seed)` for non-negative integer seeds: seeding by init_by_array,
/// `random()`, `getrandbits(k)` (k <= 32), `randbelow(n)` and `shuffle`, as CPython 3.
class PythonRandom {
 public:
  explicit PythonRandom(std::uint64_t seed = 0) {
    std::vector<std::uint32_t> key;
    for (std::uint64_t s = seed; s > 0; s >>= 32) key.push_back(static_cast<std::uint32_t>(s & 0xffffffffu));
    if (key.empty()) key.push_back(0);
    init_by_array(key);
  }

  /// Next 32-bit output (MT19937 genrand_int32).
  std::uint32_t next_u32() {
    constexpr int N = 624, M = 397;
    if (m_index >= N) {
      for (int k = 0; k < N; ++k) {
        const std::uint32_t y = (m_state[k] & 0x80000000u) | (m_state[(k + 1) % N] & 0x7fffffffu);
        m_state[k] = m_state[(k + M) % N] ^ (y >> 1) ^ ((y & 1u) ? 0x9908b0dfu : 0u);
      }
      m_index = 0;
    }
    std::uint32_t y = m_state[m_index++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    return y ^ (y >> 18);
  }

  /// `random.random()`: a 53-bit double in [0, 1).
  double random() {
    const std::uint32_t a = next_u32() >> 5, b = next_u32() >> 6;
    return (a * 67108864.0 + b) * (1.0 / 9007199254740992.0);
  }

  /// `random.getrandbits(k)` for 1 <= k <= 32.
  std::uint32_t getrandbits(int k) {
    require(k >= 1 && k <= 32, "PythonRandom::getrandbits", "k must be in [1, 32]");
    return next_u32() >> (32 - k);
  }

  /// `random._randbelow(n)`: uniform in [0, n) by rejection on n.bit_length() bits (n < 2^32).
  Index randbelow(Index n) {
    require(n > 0 && n <= 0xffffffffLL, "PythonRandom::randbelow", "n must be in [1, 2^32)");
    int k = 0;
    for (std::uint64_t v = static_cast<std::uint64_t>(n); v > 0; v >>= 1) ++k;
    std::uint32_t r = getrandbits(k);
    while (r >= static_cast<std::uint64_t>(n)) r = getrandbits(k);
    return static_cast<Index>(r);
  }

  /// `random.shuffle(x)`.
  template <typename T>
  void shuffle(std::vector<T>& x) {
    for (std::size_t i = x.size(); i-- > 1;)
      std::swap(x[i], x[static_cast<std::size_t>(randbelow(static_cast<Index>(i) + 1))]);
  }

 private:
  // MT19937 init_by_array (Matsumoto & Nishimura, 2002). std::mt19937 cannot be given an
  // arbitrary state portably (libstdc++ adds its position to the textual state), so the
  // generator itself is written out here; its output is checked against CPython's.
  void init_by_array(const std::vector<std::uint32_t>& key) {
    constexpr int N = 624;
    std::vector<std::uint32_t>& mt = m_state;
    mt.assign(N, 0);
    mt[0] = 19650218u;
    for (int i = 1; i < N; ++i) mt[i] = 1812433253u * (mt[i - 1] ^ (mt[i - 1] >> 30)) + static_cast<std::uint32_t>(i);
    int i = 1, j = 0;
    const int len = static_cast<int>(key.size());
    for (int k = N > len ? N : len; k > 0; --k) {
      mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1664525u)) + key[static_cast<std::size_t>(j)] +
              static_cast<std::uint32_t>(j);
      ++i, ++j;
      if (i >= N) mt[0] = mt[N - 1], i = 1;
      if (j >= len) j = 0;
    }
    for (int k = N - 1; k > 0; --k) {
      mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1566083941u)) - static_cast<std::uint32_t>(i);
      ++i;
      if (i >= N) mt[0] = mt[N - 1], i = 1;
    }
    mt[0] = 0x80000000u;
    m_index = N;
  }

  std::vector<std::uint32_t> m_state;
  int m_index = 624;
};

/// NumPy's legacy `np.random.RandomState(seed)` for 32-bit integer seeds: `random_sample()`,
/// the bounded integer rule of `shuffle`/`permutation` (masked rejection), `shuffle`, `permutation`.
class NumpyRandomState {
 public:
  explicit NumpyRandomState(std::uint32_t seed = 0) : m_mt(seed) {}

  std::uint32_t next_u32() { return static_cast<std::uint32_t>(m_mt()); }

  /// `random_sample()`: 53-bit double in [0, 1).
  double random_sample() {
    const std::uint32_t a = next_u32() >> 5, b = next_u32() >> 6;
    return (a * 67108864.0 + b) / 9007199254740992.0;
  }

  /// Uniform integer in [0, max] by masked rejection (legacy `rk_interval`, max < 2^32).
  Index interval(Index max) {
    require(max >= 0 && max <= 0xffffffffLL, "NumpyRandomState::interval", "max must be in [0, 2^32)");
    if (max == 0) return 0;
    std::uint32_t mask = static_cast<std::uint32_t>(max);
    mask |= mask >> 1, mask |= mask >> 2, mask |= mask >> 4, mask |= mask >> 8, mask |= mask >> 16;
    std::uint32_t v;
    while ((v = next_u32() & mask) > static_cast<std::uint32_t>(max)) {
    }
    return static_cast<Index>(v);
  }

  /// `shuffle(x)` of a 1-D sequence.
  template <typename T>
  void shuffle(std::vector<T>& x) {
    for (std::size_t i = x.size(); i-- > 1;)
      std::swap(x[i], x[static_cast<std::size_t>(interval(static_cast<Index>(i)))]);
  }

  /// `permutation(n)`.
  IndexList permutation(Index n) {
    require(n >= 0, "NumpyRandomState::permutation", "n must be >= 0");
    IndexList p(static_cast<std::size_t>(n));
    for (Index i = 0; i < n; ++i) p[static_cast<std::size_t>(i)] = i;
    shuffle(p);
    return p;
  }

 private:
  std::mt19937 m_mt;
};

}  // namespace grokscope
