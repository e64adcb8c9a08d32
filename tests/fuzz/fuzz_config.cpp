// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// Fuzz harness: a grokscope-run configuration (tools/experiment.hpp) as the input: parsed with its
// depth and duplicate-key limits, then resolved (every key type-checked, the task, split and model
// built) under a small memory limit.
#include "experiment.hpp"

#include "fuzz_util.hpp"

#include <cstdlib>

using namespace grokscope;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const int limit = setenv("GROKSCOPE_MAX_MEMORY", "256M", 1);  // what resolve may build
  (void)limit;
  const std::string text(reinterpret_cast<const char*>(data), size);
  fuzz::expect_clean([&] {
    const experiment::json cfg = experiment::parse_config(text, "fuzz.json");
    if (cfg.is_object()) experiment::resolve(cfg, 0);
  });
  return 0;
}
