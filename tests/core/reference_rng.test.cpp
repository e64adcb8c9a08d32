// Python's random and NumPy's legacy RandomState, checked against values the real libraries
// produced (tests/fixtures/make_split_fixtures.py).
#include <grokscope/core/reference_rng.hpp>

#include "../test_util.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <fstream>

using namespace grokscope;

namespace {
nlohmann::json fixture_json() {
  std::ifstream in(test::fixture("reference_rng.json"));
  REQUIRE(in);
  return nlohmann::json::parse(in);
}
}  // namespace

TEST_CASE("PythonRandom reproduces CPython's random module") {
  const nlohmann::json f = fixture_json();
  PythonRandom r0(0);
  for (double v : f["python_seed0_random"].get<std::vector<double>>()) CHECK(r0.random() == v);
  PythonRandom r42(42);
  for (int v : f["python_seed42_getrandbits7"].get<std::vector<int>>())
    CHECK(r42.getrandbits(7) == static_cast<std::uint32_t>(v));
  PythonRandom big((1ULL << 40) + 5);
  for (double v : f["python_bigseed_random"].get<std::vector<double>>()) CHECK(big.random() == v);
  std::vector<Index> x(20);
  for (Index i = 0; i < 20; ++i) x[static_cast<std::size_t>(i)] = i;
  PythonRandom(0).shuffle(x);
  CHECK(x == f["python_seed0_shuffle20"].get<std::vector<Index>>());
}

TEST_CASE("NumpyRandomState reproduces NumPy's legacy RandomState") {
  const nlohmann::json f = fixture_json();
  NumpyRandomState rs(0);
  for (double v : f["numpy_seed0_random_sample"].get<std::vector<double>>()) CHECK(rs.random_sample() == v);
  std::vector<Index> x(20);
  for (Index i = 0; i < 20; ++i) x[static_cast<std::size_t>(i)] = i;
  NumpyRandomState(0).shuffle(x);
  CHECK(x == f["numpy_seed0_shuffle20"].get<std::vector<Index>>());
  CHECK(NumpyRandomState(7).permutation(10) == f["numpy_seed7_permutation10"].get<std::vector<Index>>());
  CHECK(NumpyRandomState(3).interval(0) == 0);
}

TEST_CASE("reference generators reject out-of-range arguments") {
  PythonRandom r(1);
  CHECK_THROWS_WITH_AS(r.getrandbits(33), "grokscope::PythonRandom::getrandbits: k must be in [1, 32]",
                       std::invalid_argument);
  CHECK_THROWS_AS(r.randbelow(0), std::invalid_argument);
  NumpyRandomState n(1);
  CHECK_THROWS_AS(n.interval(-1), std::invalid_argument);
  CHECK_THROWS_AS(n.permutation(-2), std::invalid_argument);
}
