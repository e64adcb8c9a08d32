#include <grokscope/core/memory.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <string>

using namespace grokscope;

namespace {
struct Env {
  explicit Env(const char* v) { ::setenv("GROKSCOPE_MAX_MEMORY", v, 1); }
  ~Env() { ::unsetenv("GROKSCOPE_MAX_MEMORY"); }
};
}  // namespace

TEST_CASE("default_memory_limit: half the physical memory, or GROKSCOPE_MAX_MEMORY") {
  ::unsetenv("GROKSCOPE_MAX_MEMORY");
  const std::size_t half = default_memory_limit();
  CHECK(half >= (std::size_t(1) << 28));  // any machine that builds grokscope has 512 MiB
  {
    Env e("123456");
    CHECK(default_memory_limit() == 123456);
  }
  {
    Env e("1.5G");
    CHECK(default_memory_limit() == std::size_t(3) << 29);
  }
  {
    Env e("64k");
    CHECK(default_memory_limit() == 65536);
  }
  for (const char* bad : {"lots", "-1G", "0", "1.5X", "G", "nan"}) {
    CAPTURE(bad);
    Env e(bad);
    CHECK_THROWS_WITH_AS(default_memory_limit(), doctest::Contains("is not a size"), std::invalid_argument);
  }
  CHECK(default_memory_limit() == half);
}

TEST_CASE("require_memory refuses above the limit with what was asked and what to change") {
  CHECK_NOTHROW(detail::require_memory("f", "this", 1024, 2048, "knob", "advice"));
  CHECK_THROWS_WITH_AS(detail::require_memory("f", "this", 3.0 * (1 << 30), 1 << 30, "F::max_bytes", "ask for less"),
                       "grokscope::f: this needs about 3.000 GiB, more than the limit of 1.000 GiB (F::max_bytes); "
                       "ask for less",
                       std::runtime_error);
  CHECK_THROWS_AS(detail::require_memory("f", "this", 1e300, 0, "k", "a"), std::runtime_error);
  CHECK_THROWS_AS(detail::require_memory("f", "this", std::nan(""), 0, "k", "a"), std::runtime_error);
}
