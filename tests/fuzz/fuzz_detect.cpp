// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// Fuzz harness: detect_grokking on arbitrary doubles (NaN, Inf, subnormals, ±1e308, unsorted and
// repeated steps). It is documented never to throw on bad data, so here nothing may escape.
#include <grokscope/detect/grokking.hpp>

#include "fuzz_util.hpp"

#include <cstring>

using namespace grokscope;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t mode = data[0];
  std::vector<double> steps, train, test;
  for (std::size_t off = 1; off + 24 <= size; off += 24) {
    double v[3];
    std::memcpy(v, data + off, 24);
    steps.push_back(v[0]);
    train.push_back(v[1]);
    test.push_back(v[2]);
  }
  DetectOptions o;
  o.metric = mode & 1 ? GrokMetric::Loss : GrokMetric::Accuracy;
  o.log_x = mode & 2;
  o.loss_relative = mode & 4;
  o.fit_sigmoid = !(mode & 8);
  if (mode & 16) o.test_threshold = 0.5;
  const GrokReport r = detect_grokking(steps, train, test, o);
  (void)to_json(r).dump();
  (void)to_json(aggregate_reports({r, r})).dump();
  return 0;
}
