#include <grokscope/train/history.hpp>

#include "../test_util.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <iterator>

using namespace grokscope;

TEST_CASE("History: fixed columns, CSV with round-trip numbers, JSON Lines with nulls") {
  History h;
  h.add({{"step", 0}, {"loss", 0.1}, {"probe", std::nan("")}});
  h.add({{"step", 10}, {"loss", 1.0 / 3.0}, {"probe", 2.5}});
  CHECK(h.size() == 2);
  CHECK(h.column("loss")[1] == 1.0 / 3.0);
  CHECK(h.last("probe") == 2.5);
  CHECK(h.to_csv() == "step,loss,probe\n0,0.1,nan\n10,0.3333333333333333,2.5\n");
  CHECK(h.to_jsonl() ==
        "{\"step\":0,\"loss\":0.1,\"probe\":null}\n{\"step\":10,\"loss\":0.3333333333333333,\"probe\":2.5}\n");
  const std::string p = test::tmp_path("h.csv");
  h.write_csv(p);
  CHECK(test::slurp(p) == h.to_csv());
  CHECK_THROWS_WITH_AS(h.add({{"step", 1}}), "grokscope::History::add: record has 1 columns, history has 3",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(h.add({{"step", 1}, {"lost", 1}, {"probe", 1}}),
                       "grokscope::History::add: column 1 is 'lost', expected 'loss'", std::invalid_argument);
  CHECK_THROWS_AS(h.column("nope"), std::invalid_argument);
  CHECK_THROWS_AS(h.write_csv(test::tmp_path("no/such/dir.csv")), std::runtime_error);
}

TEST_CASE("a record with a repeated column name is rejected") {
  History h;
  CHECK_THROWS_WITH_AS(h.add(Record{{"step", 0.0}, {"weight_norm", 1.0}, {"weight_norm", 2.0}}),
                       doctest::Contains("'weight_norm' appears twice"), std::invalid_argument);
}

TEST_CASE("History writes '.' decimals in a comma-decimal locale") {
  History h;
  h.add({{"step", 1000}, {"loss", 0.5}});
  test::CommaLocale comma;
  CHECK(h.to_csv() == "step,loss\n1000,0.5\n");
  CHECK(h.to_jsonl() == "{\"step\":1000,\"loss\":0.5}\n");
}
