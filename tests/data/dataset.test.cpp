#include <grokscope/data/dataset.hpp>

#include "../test_util.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <set>

using namespace grokscope;

namespace {
Dataset toy(Index n) {
  Dataset ds;
  ds.name = "toy";
  ds.tokens.resize(n, 2);
  for (Index i = 0; i < n; ++i) ds.tokens.row(i) << i % 5, (i + 1) % 5, ds.labels.push_back(i % 3);
  ds.vocab_size = 5;
  ds.num_classes = 3;
  return ds;
}
}  // namespace

TEST_CASE("split_by_fraction: sizes, disjointness, determinism, pinned first indices") {
  Rng rng(0);
  const Split s = split_by_fraction(100, 0.3, rng);
  CHECK(s.train.size() == 30);
  CHECK(s.test.size() == 70);
  std::set<Index> all(s.train.begin(), s.train.end());
  all.insert(s.test.begin(), s.test.end());
  CHECK(all.size() == 100);
  Rng again(0);
  CHECK(split_by_fraction(100, 0.3, again).train == s.train);
  // pinned: identical on every platform (mt19937_64 and the library's own shuffle)
  CHECK(IndexList(s.train.begin(), s.train.begin() + 5) == IndexList{46, 61, 44, 89, 78});
  CHECK_THROWS_WITH_AS(split_by_fraction(10, 1.0, rng),
                       "grokscope::split_by_fraction: fraction must be in (0, 1), got 1.000000", std::invalid_argument);
  CHECK_THROWS_AS(split_by_fraction(10, 0.0, rng), std::invalid_argument);
  CHECK_THROWS_AS(split_by_fraction(0, 0.5, rng), std::invalid_argument);
  CHECK_THROWS_WITH_AS(split_by_fraction(3, 0.1, rng),
                       "grokscope::split_by_fraction: fraction 0.100000 of 3 examples leaves an empty side",
                       std::invalid_argument);
}

TEST_CASE("fixed_split checks its indices") {
  const Split s = fixed_split(5, {0, 3});
  CHECK(s.test == IndexList{1, 2, 4});
  CHECK(fixed_split(5, {1}, {2, 3}).test == IndexList{2, 3});
  CHECK_THROWS_WITH_AS(fixed_split(5, {0, 5}), "grokscope::fixed_split: train index 5 outside [0, 5)",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(fixed_split(5, {0, 0}), "grokscope::fixed_split: train index 0 appears twice",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(fixed_split(5, {0, 1}, {1}),
                       "grokscope::fixed_split: index 1 is in both the train and the test set", std::invalid_argument);
  CHECK_THROWS_WITH_AS(fixed_split(2, {0, 1}), "grokscope::fixed_split: empty test set", std::invalid_argument);
}

TEST_CASE("Dataset accessors, validation, subsets and saved splits") {
  Dataset ds = toy(10);
  ds.train = {0, 1, 2};
  ds.test = {3, 4};
  ds.validate();
  CHECK(ds.size() == 10);
  CHECK(ds.token_ids({1, 2}) == IndexList{1, 2, 2, 3});
  CHECK(ds.labels_of({4, 5}) == IndexList{1, 2});
  const Matrix<double> oh = ds.one_hot_of({5});
  CHECK(oh(0, 2) == 1.0);
  CHECK(oh.sum() == 1.0);
  CHECK_THROWS_WITH_AS(ds.labels_of({10}), "grokscope::Dataset::labels_of: example 10 outside [0, 10) of 'toy'",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(ds.features_of({0}), "grokscope::Dataset::features_of: dataset 'toy' has no dense features",
                       std::invalid_argument);
  const Dataset sub = subset(ds, {9, 0});
  CHECK(sub.size() == 2);
  CHECK(sub.labels == IndexList{0, 0});
  CHECK(sub.tokens(0, 0) == 4);
  ds.save_split(test::tmp_path(""));
  Dataset other = toy(10);
  other.load_split(test::tmp_path(""));
  CHECK(other.train == ds.train);
  CHECK(other.test == ds.test);
  Dataset bad = toy(10);
  bad.train = {0, 0};
  CHECK_THROWS_WITH_AS(bad.validate(), "grokscope::Dataset::validate: 'toy' split index 0 appears twice",
                       std::invalid_argument);
  bad = toy(10);
  bad.tokens(3, 1) = 7;
  CHECK_THROWS_WITH_AS(bad.validate(), "grokscope::Dataset::validate: 'toy' has token 7 outside [0, 5)",
                       std::invalid_argument);
  Dataset small = toy(3);
  CHECK_THROWS_AS(small.load_split(test::tmp_path("")), std::invalid_argument);  // indices beyond 3 examples
}

TEST_CASE("MiniBatcher: seeded epochs, every index once per epoch, remainders") {
  IndexList idx(10);
  for (Index i = 0; i < 10; ++i) idx[static_cast<std::size_t>(i)] = 100 + i;
  MiniBatcher mb(idx, 4, Rng(3));
  CHECK(mb.batches_per_epoch() == 3);
  IndexList epoch;
  for (int b = 0; b < 3; ++b) {
    const IndexList batch = mb.next();
    CHECK(batch.size() == (b < 2 ? 4u : 2u));
    epoch.insert(epoch.end(), batch.begin(), batch.end());
  }
  std::sort(epoch.begin(), epoch.end());
  CHECK(epoch == idx);
  CHECK(mb.epoch() == 1);
  mb.next();
  CHECK(mb.epoch() == 2);
  MiniBatcher a(idx, 3, Rng(5)), b(idx, 3, Rng(5));
  for (int i = 0; i < 7; ++i) CHECK(a.next() == b.next());
  MiniBatcher d(idx, 4, Rng(1), true, true);
  CHECK(d.batches_per_epoch() == 2);
  for (int i = 0; i < 5; ++i) CHECK(d.next().size() == 4);
  MiniBatcher plain(idx, 10, Rng(1), false);
  CHECK(plain.next() == idx);
  CHECK_THROWS_WITH_AS(MiniBatcher({}, 2, Rng(0)), "grokscope::MiniBatcher: no indices to batch",
                       std::invalid_argument);
  CHECK_THROWS_AS(MiniBatcher(idx, 0, Rng(0)), std::invalid_argument);
  CHECK_THROWS_AS(MiniBatcher(idx, 11, Rng(0), true, true), std::invalid_argument);
}
