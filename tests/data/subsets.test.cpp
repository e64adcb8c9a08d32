#include <grokscope/data/modular.hpp>
#include <grokscope/data/subsets.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <set>

using namespace grokscope;

TEST_CASE("random_labels: a seeded permutation of the labels, the inputs untouched") {
  const Dataset ds = modular_dataset({ModOp::Add, 13, ModEncoding::NandaTokens});
  const Dataset r = random_labels(ds, 4);
  CHECK(r.tokens == ds.tokens);
  IndexList a = ds.labels, b = r.labels;
  std::sort(a.begin(), a.end()), std::sort(b.begin(), b.end());
  CHECK(a == b);  // the same label distribution
  Index same = 0;
  for (std::size_t i = 0; i < ds.labels.size(); ++i) same += ds.labels[i] == r.labels[i] ? 1 : 0;
  CHECK(same < 40);  // about 1 in 13 of 169 by chance
  CHECK(random_labels(ds, 4).labels == r.labels);
  CHECK(random_labels(ds, 5).labels != r.labels);
  CHECK(r.meta["random_labels_seed"] == 4);
  Dataset dense;
  dense.name = "dense";
  dense.features = Matrix<double>::Identity(4, 4);
  dense.targets = (Matrix<double>(4, 1) << 1, 2, 3, 4).finished();
  const Dataset rd = random_labels(dense, 1);
  std::vector<double> t(rd.targets.data(), rd.targets.data() + 4);
  std::sort(t.begin(), t.end());
  CHECK(t == std::vector<double>{1, 2, 3, 4});
  dense.targets.resize(0, 0);
  CHECK_THROWS_WITH_AS(random_labels(dense, 1),
                       "grokscope::random_labels: dataset 'dense' has neither labels nor targets",
                       std::invalid_argument);
}

TEST_CASE("nested_subsets: every subset of size s is inside the one of size s' > s") {
  IndexList rows;
  for (Index i = 0; i < 100; ++i) rows.push_back(3 * i + 1);
  const std::vector<Index> sizes = geometric_sizes(10, 90, 7);
  REQUIRE(sizes.size() == 7);
  CHECK(sizes.front() == 10);
  CHECK(sizes.back() == 90);
  const std::vector<IndexList> sub = nested_subsets(rows, sizes, 3);
  for (std::size_t k = 0; k < sub.size(); ++k) {
    CHECK(static_cast<Index>(sub[k].size()) == sizes[k]);
    const std::set<Index> big(sub[k].begin(), sub[k].end());
    CHECK(big.size() == sub[k].size());  // no repeats
    for (Index r : sub[k]) CHECK(std::find(rows.begin(), rows.end(), r) != rows.end());
    if (k > 0)
      for (Index r : sub[k - 1]) CHECK(big.count(r) == 1);
  }
  CHECK(nested_subsets(rows, sizes, 3) == sub);
  CHECK(nested_subsets(rows, sizes, 4)[0] != sub[0]);
  // Varma et al.'s 7 sizes in [390, 1494]
  const std::vector<Index> varma = geometric_sizes(390, 1494, 7);
  CHECK(varma == std::vector<Index>{390, 488, 610, 763, 955, 1194, 1494});
  CHECK_THROWS_AS(nested_subsets(rows, {5, 5}, 0), std::invalid_argument);
  CHECK_THROWS_WITH_AS(nested_subsets(rows, {0}, 0), "grokscope::nested_subsets: size 0 is outside [1, 100]",
                       std::invalid_argument);
  CHECK_THROWS_AS(geometric_sizes(5, 7, 4), std::invalid_argument);
  CHECK(geometric_sizes(5, 8, 4) == std::vector<Index>{5, 6, 7, 8});
}

TEST_CASE("with_train_subset: the warm start's dataset keeps the test split") {
  Dataset ds = modular_dataset({ModOp::Add, 11, ModEncoding::NandaTokens});
  Rng rng(1);
  apply_split(ds, split_by_fraction(ds.size(), 0.5, rng), "random");
  const IndexList sub(ds.train.begin(), ds.train.begin() + 20);
  const Dataset w = with_train_subset(ds, sub);
  CHECK(w.train == sub);
  CHECK(w.test == ds.test);
  const std::string not_train =
      "grokscope::with_train_subset: row " + std::to_string(ds.test[0]) + " is not a training example";
  CHECK_THROWS_WITH_AS(with_train_subset(ds, {ds.test[0]}), not_train.c_str(), std::invalid_argument);
  CHECK_THROWS_AS(with_train_subset(ds, {ds.train[0], ds.train[0]}), std::invalid_argument);
  CHECK_THROWS_AS(with_train_subset(ds, {}), std::invalid_argument);
  CHECK_THROWS_AS(with_train_subset(ds, {-1}), std::invalid_argument);
}
