#include <grokscope/core/version.hpp>

#include <doctest/doctest.h>

#include <string>

TEST_CASE("the version string agrees with the version macros") {
  const std::string v = std::to_string(GROKSCOPE_VERSION_MAJOR) + "." + std::to_string(GROKSCOPE_VERSION_MINOR) + "." +
                        std::to_string(GROKSCOPE_VERSION_PATCH);
  CHECK(v == grokscope::version);
}
