#include <grokscope/data/multitask_parity.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <set>

using namespace grokscope;

TEST_CASE("multitask sparse parity: Zipf task frequencies, control bits, and an oracle with no error") {
  MultitaskParityOptions o;
  o.n_tasks = 20, o.n = 30, o.k = 3, o.exponent = 1.4, o.n_train = 40000, o.n_test = 2000, o.seed = 3;
  const Dataset ds = multitask_sparse_parity(o);
  CHECK(ds.size() == 42000);
  CHECK(ds.features.cols() == 50);
  CHECK(ds.train.size() == 40000);
  CHECK(ds.num_classes == 2);
  const Matrix<double>& task = ds.arrays.at("task");
  const Matrix<double>& sub = ds.arrays.at("subsets");
  const std::vector<double> p = zipf_frequencies(20, 1.4);
  CHECK(p[0] / p[1] == doctest::Approx(std::pow(2.0, 1.4)).epsilon(1e-12));
  std::vector<double> count(20, 0.0);
  for (Index i : ds.train) count[static_cast<std::size_t>(task(i, 0))] += 1;
  for (std::size_t t = 0; t < 20; ++t) {  // within 4.5 binomial standard deviations
    const double e = 40000 * p[t], sd = std::sqrt(40000 * p[t] * (1 - p[t]));
    CHECK_MESSAGE(std::abs(count[t] - e) < 4.5 * sd, "task ", t, ": ", count[t], " vs ", e);
  }
  Index wrong = 0;
  IndexList pred, tasks;
  for (Index i = 0; i < ds.size(); ++i) {
    const Index t = static_cast<Index>(task(i, 0));
    CHECK(ds.features.row(i).head(20).sum() == 1.0);  // one control bit
    CHECK(ds.features(i, t) == 1.0);
    Index parity = 0;
    for (Index j = 0; j < 3; ++j) parity += static_cast<Index>(ds.features(i, 20 + static_cast<Index>(sub(t, j))));
    wrong += parity % 2 != ds.labels[static_cast<std::size_t>(i)] ? 1 : 0;
    pred.push_back(parity % 2), tasks.push_back(t);
  }
  CHECK(wrong == 0);
  const std::vector<double> acc = subtask_accuracy(pred, ds.labels, tasks, 21);
  for (std::size_t t = 0; t < 20; ++t) CHECK(acc[t] == 1.0);
  CHECK(std::isnan(acc[20]));  // a task without rows
  for (Index t = 0; t < 20; ++t) {
    const std::set<double> bits{sub(t, 0), sub(t, 1), sub(t, 2)};
    CHECK(bits.size() == 3);
  }
  CHECK(multitask_sparse_parity(o).labels == ds.labels);  // seeded
}

TEST_CASE("multitask sparse parity: bad settings are named, memory is refused before it is taken") {
  MultitaskParityOptions o;
  o.k = 200;
  CHECK_THROWS_WITH_AS(multitask_sparse_parity(o),
                       "grokscope::multitask_sparse_parity: need n_tasks >= 1 and 1 <= k <= n", std::invalid_argument);
  o = {};
  o.n_train = 100000000;
  CHECK_THROWS_AS(multitask_sparse_parity(o), std::invalid_argument);
  CHECK_THROWS_AS(zipf_frequencies(0, 1.0), std::invalid_argument);
  CHECK_THROWS_AS(subtask_accuracy({0}, {0, 1}, {0}, 2), std::invalid_argument);
  CHECK_THROWS_WITH_AS(subtask_accuracy({0}, {0}, {5}, 2),
                       "grokscope::subtask_accuracy: task 5 at row 0 is outside [0, n_tasks)", std::invalid_argument);
}
