// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// Fuzz harness: collect_sweep over a sweep folder where one point's result.json is the input and
// the other's is a valid record. Nothing may escape: a damaged record is reported, not thrown.
#include <grokscope/train/sweep.hpp>

#include "fuzz_util.hpp"

using namespace grokscope;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string dir = fuzz::scratch("sweep");
  SweepGrid grid;
  grid.axis("wd", std::vector<double>{0.1, 1.0});
  const std::vector<SweepPoint> pts = grid.points();
  std::filesystem::create_directories(dir + "/points/" + pts[0].id);
  std::filesystem::create_directories(dir + "/points/" + pts[1].id);
  fuzz::write_file(dir + "/points/" + pts[0].id + "/result.json", data, size);
  std::ofstream(dir + "/points/" + pts[1].id + "/result.json", std::ios::trunc)
      << R"({"complete": true, "id": ")" << pts[1].id
      << R"(", "index": 1, "params": {"wd": 1.0}, "seed": 0, "status": "ok", "verdict": "grokked",)"
      << R"( "t_mem": 10, "t_grok": 100, "gap": 90, "final": {"test_acc": 1.0}, "steps_done": 200})";
  const nlohmann::ordered_json table = collect_sweep(grid, dir);
  if (table["finished"].get<std::size_t>() + table["missing"].size() + table["damaged"].size() != 2)
    throw std::logic_error("collect_sweep lost a point");
  (void)detail::finished(dir + "/points/" + pts[0].id, pts[0]);
  return 0;
}
