#include <grokscope/data/parity.hpp>
#include <grokscope/data/regression.hpp>

#include <doctest/doctest.h>

using namespace grokscope;

TEST_CASE("sparse parity: ±1 inputs, label = product of the support bits") {
  ParityOptions o;
  const Dataset ds = sparse_parity(o);
  CHECK(ds.size() == 1100);
  CHECK(ds.train.size() == 1000);
  CHECK(ds.test.size() == 100);
  CHECK(ds.features.cols() == 40);
  CHECK((ds.features.array().abs() == 1.0).all());
  Index positive = 0;
  for (Index i = 0; i < ds.size(); ++i) {
    const double y = ds.features(i, 0) * ds.features(i, 1) * ds.features(i, 2);
    CHECK(ds.targets(i, 0) == y);
    CHECK(ds.labels[static_cast<std::size_t>(i)] == (y > 0 ? 1 : 0));
    positive += y > 0;
  }
  CHECK(std::abs(positive - 550) < 80);  // balanced within ~5 sd
  ds.validate();
}

TEST_CASE("the test set is fixed by its own seed, independent of the training seed") {
  ParityOptions a, b;
  b.train_seed = 99;
  const Dataset da = sparse_parity(a), db = sparse_parity(b);
  CHECK(da.features.bottomRows(100) == db.features.bottomRows(100));
  CHECK(da.features.topRows(1000) != db.features.topRows(1000));
  ParityOptions c;
  c.support = {5, 39, 17};
  const Dataset dc = sparse_parity(c);
  for (Index i = 0; i < 20; ++i) CHECK(dc.targets(i, 0) == dc.features(i, 5) * dc.features(i, 39) * dc.features(i, 17));
}

TEST_CASE("impossible settings are rejected") {
  ParityOptions o;
  o.k = 41;
  CHECK_THROWS_WITH_AS(sparse_parity(o), "grokscope::sparse_parity: k must be in [1, n = 40], got k = 41",
                       std::invalid_argument);
  o = {};
  o.support = {1, 1, 2};
  CHECK_THROWS_WITH_AS(sparse_parity(o), "grokscope::sparse_parity: support bit 1 repeated", std::invalid_argument);
  o = {};
  o.support = {0, 1};
  CHECK_THROWS_AS(sparse_parity(o), std::invalid_argument);
  o = {};
  o.n_train = 0;
  CHECK_THROWS_AS(sparse_parity(o), std::invalid_argument);
}

TEST_CASE("sparse_parity and kumar_polynomial estimate their memory before allocating") {
  ParityOptions o;
  o.n_train = 1000000000000;
  CHECK_THROWS_WITH_AS(sparse_parity(o), doctest::Contains("grokscope::sparse_parity: n_train + n_test ="),
                       std::runtime_error);
  KumarOptions k;
  k.D = 1000000000;
  CHECK_THROWS_WITH_AS(kumar_polynomial(k), doctest::Contains("grokscope::kumar_polynomial: "), std::runtime_error);
}
