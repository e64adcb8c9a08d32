// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// Helpers shared by the test executables.
#pragma once

#include <cstdlib>
#include <string>

namespace grokscope::test {

/// Scratch directory for files written by tests (set by CTest; falls back to /tmp).
inline std::string tmp_path(const std::string& name) {
  const char* d = std::getenv("GROKSCOPE_TMP");
  return std::string(d ? d : "/tmp") + "/" + name;
}

/// Path of a committed fixture under tests/fixtures.
inline std::string fixture(const std::string& name) { return std::string(GROKSCOPE_TEST_DATA_DIR) + "/" + name; }

}  // namespace grokscope::test
