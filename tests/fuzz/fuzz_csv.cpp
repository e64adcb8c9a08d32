// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// Fuzz harness: the CSV reader and the grokking detector on what it reads (the path of
// grokscope-detect): every column converted, the first three given to detect_grokking.
#include <grokscope/detect/grokking.hpp>
#include <grokscope/io/csv.hpp>

#include "fuzz_util.hpp"

using namespace grokscope;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  for (char delimiter : {',', ';'})
    fuzz::expect_clean([&] {
      const CsvTable t = parse_csv(text, "fuzz.csv", delimiter);
      std::vector<std::vector<double>> cols;
      for (const std::string& h : t.header) cols.push_back(t.numeric(h));
      fuzz::expect_clean([&] { (void)t.column(text.substr(0, 80)); });
      if (cols.size() >= 3) {
        DetectOptions o;
        const GrokReport acc = detect_grokking(cols[0], cols[1], cols[2], o);
        o.metric = GrokMetric::Loss;
        o.log_x = true;
        const GrokReport loss = detect_grokking(cols[0], cols[1], cols[2], o);
        (void)to_json(aggregate_reports({acc, loss})).dump();
      }
    });
  const std::string path = fuzz::scratch("input.csv");
  fuzz::write_file(path, data, size);
  fuzz::expect_clean([&] { (void)read_csv(path); });
  return 0;
}
