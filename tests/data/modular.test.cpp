#include <grokscope/data/modular.hpp>

#include "../test_util.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <set>

using namespace grokscope;

namespace {
nlohmann::json reference() {
  std::ifstream in(test::fixture("reference_rng.json"));
  REQUIRE(in);
  return nlohmann::json::parse(in);
}
long long ipow(long long b, int e) {
  long long r = 1;
  while (e-- > 0) r *= b;
  return r;
}
}  // namespace

TEST_CASE("equation counts of Power et al.") {
  CHECK(modular_equations(ModOp::Add, 97).size() == 9409);
  CHECK(modular_equations(ModOp::Div, 97).size() == 9312);
  CHECK(modular_equations(ModOp::Mix1, 97).size() == 9312);
  CHECK(modular_dataset({ModOp::Sub, 113, ModEncoding::NandaTokens}).size() == 12769);
}

TEST_CASE("every operation's table agrees with a direct evaluation in 64-bit integers") {
  for (Index p : {2, 7, 13, 97}) {
    for (int k = 0; k <= static_cast<int>(ModOp::EvenAddOddSub); ++k) {
      const ModOp op = static_cast<ModOp>(k);
      if (!is_prime(p) && (op == ModOp::Div || op == ModOp::Mix1Paper)) continue;
      INFO("op ", std::string(mod_op_name(op)), " p ", p);
      for (const Equation& e : modular_equations(op, p)) {
        const long long x = e.x, y = e.y;
        long long want = 0;
        bool check_inverse = false;  // x / y: check c · y ≡ x instead
        switch (op) {
          case ModOp::Add:
            want = x + y;
            break;
          case ModOp::Sub:
            want = x - y;
            break;
          case ModOp::Mul:
            want = x * y;
            break;
          case ModOp::Div:
            check_inverse = true;
            break;
          case ModOp::SquarePoly:
            want = ipow(x, 2) + y;
            break;
          case ModOp::CubePoly:
            want = ipow(x, 3) + y;
            break;
          case ModOp::Quad1:
            want = ipow(x, 2) + ipow(y, 2);
            break;
          case ModOp::Quad2:
            want = ipow(x, 2) + x * y + ipow(y, 2);
            break;
          case ModOp::Quad3:
            want = ipow(x, 2) + x * y + ipow(y, 2) + x;
            break;
          case ModOp::Cube1:
            want = ipow(x, 3) + x * y;
            break;
          case ModOp::Cube2:
            want = ipow(x, 3) + x * ipow(y, 2) + y;
            break;
          case ModOp::Mix1:
            want = y % 2 == 1 ? x / y : x - y;
            break;
          case ModOp::Mix1Paper:
            check_inverse = y % 2 == 1;
            want = x - y;
            break;
          case ModOp::EvenAddOddMul:
            want = x % 2 == 0 ? x + y : x * y;
            break;
          case ModOp::EvenAddOddSub:
            want = x % 2 == 0 ? x + y : x - y;
            break;
        }
        if (check_inverse)
          CHECK((e.c * y) % p == x);
        else
          CHECK(e.c == ((want % p) + p) % p);
        CHECK(e.c >= 0);
        CHECK(e.c < p);
      }
    }
  }
}

TEST_CASE("division is built as in the reference: for c, for y != 0, x = y c") {
  const auto eqs = modular_equations(ModOp::Div, 97);
  CHECK(eqs[0].x == 0);
  CHECK(eqs[0].y == 1);
  CHECK(eqs[0].c == 0);
  CHECK(eqs[96].c == 1);  // the second block starts at c = 1
  CHECK(eqs[96].y == 1);
  std::set<std::pair<Index, Index>> pairs;
  for (const auto& e : eqs) pairs.insert({e.x, e.y});
  CHECK(pairs.size() == 9312);  // every (x, y != 0) exactly once
  CHECK(mod_inverse(3, 7) == 5);
}

TEST_CASE("Nanda et al.'s split of p = 113 at 0.3 is Python's, pair for pair") {
  const nlohmann::json ref = reference();
  Dataset ds = modular_dataset({ModOp::Add, 113, ModEncoding::NandaTokens});
  apply_split(ds, nanda_split(ds, 0.3, 0), "nanda");
  CHECK(ds.train.size() == 3830);
  CHECK(ds.test.size() == 8939);
  CHECK(static_cast<Index>(ds.train.size()) == ref["nanda_p113_n_train"].get<Index>());
  const auto head = ref["nanda_p113_train_head"];
  for (std::size_t i = 0; i < head.size(); ++i) {
    CHECK(ds.tokens(ds.train[i], 0) == head[i][0].get<Index>());
    CHECK(ds.tokens(ds.train[i], 1) == head[i][1].get<Index>());
    CHECK(ds.tokens(ds.train[i], 2) == 113);
    CHECK(ds.labels[static_cast<std::size_t>(ds.train[i])] ==
          (head[i][0].get<Index>() + head[i][1].get<Index>()) % 113);
  }
  const auto test_head = ref["nanda_p113_test_head"];
  for (std::size_t i = 0; i < test_head.size(); ++i) CHECK(ds.tokens(ds.test[i], 0) == test_head[i][0].get<Index>());
  CHECK(ds.meta["n_train"] == 3830);
}

TEST_CASE("Power et al.'s division split is NumPy's RandomState(0) shuffle") {
  const nlohmann::json ref = reference();
  Dataset ds = modular_dataset({ModOp::Div, 97, ModEncoding::OpTokens});
  const Split s = power_split(ds, 50.0, 0);
  CHECK(static_cast<Index>(s.train.size()) == ref["power_div97_train_rows_50pct"].get<Index>());
  const auto head = ref["power_div97_head"];
  for (std::size_t i = 0; i < head.size(); ++i) {
    const Index r = s.train[i];
    CHECK(ds.tokens(r, 0) == head[i][0].get<Index>());
    CHECK(ds.tokens(r, 2) == head[i][1].get<Index>());
    CHECK(ds.labels[static_cast<std::size_t>(r)] == head[i][2].get<Index>());
  }
}

TEST_CASE("encodings: tokens, op tokens, pair indices, one-hot features") {
  const Dataset a = modular_dataset({ModOp::Add, 5, ModEncoding::NandaTokens});
  CHECK(a.vocab_size == 6);
  CHECK(a.context() == 3);
  CHECK(a.tokens(7, 0) == 1);  // example x·p + y = 7: x = 1, y = 2
  CHECK(a.tokens(7, 1) == 2);
  CHECK(a.labels[7] == 3);
  const Dataset b = modular_dataset({ModOp::Add, 5, ModEncoding::OpTokens});
  CHECK(b.vocab_size == 7);
  CHECK(b.tokens.row(7) == (TokenMatrix(1, 4) << 1, 6, 2, 5).finished());
  const Dataset c = modular_dataset({ModOp::Add, 5, ModEncoding::PairIndices});
  CHECK(c.vocab_size == 10);
  CHECK(c.tokens.row(7) == (TokenMatrix(1, 2) << 1, 7).finished());
  const Dataset d = modular_dataset({ModOp::Add, 5, ModEncoding::OneHotFeatures});
  CHECK(d.features.cols() == 10);
  CHECK(d.features(7, 1) == 1.0);
  CHECK(d.features(7, 7) == 1.0);
  CHECK(d.features.row(7).sum() == 2.0);
  // pair indices pick exactly the one-hot features' non-zero columns
  for (Index i = 0; i < 25; ++i)
    for (Index t = 0; t < 2; ++t) CHECK(d.features(i, c.tokens(i, t)) == 1.0);
}

TEST_CASE("bad parameters name the parameter and value") {
  CHECK_THROWS_WITH_AS(modular_equations(ModOp::Add, 1), "grokscope::modular_equations: p must be >= 2, got 1",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(modular_equations(ModOp::Div, 12),
                       "grokscope::modular_equations: div needs inverses: p = 12 is not prime", std::invalid_argument);
  CHECK_THROWS_WITH_AS(mod_op_from_name("pow"), doctest::Contains("unknown operation 'pow' (known: add, sub"),
                       std::invalid_argument);
  CHECK(mod_op_from_name("quad2") == ModOp::Quad2);
  const Dataset ds = modular_dataset({ModOp::Div, 7, ModEncoding::NandaTokens});
  CHECK_THROWS_WITH_AS(nanda_split(ds, 0.3),
                       "grokscope::nanda_split: needs all p^2 pairs of a modular dataset, got 42 examples",
                       std::invalid_argument);
  CHECK_THROWS_AS(nanda_split(modular_dataset({}), 1.5), std::invalid_argument);
  CHECK_THROWS_WITH_AS(power_split(ds, 100.0),
                       "grokscope::power_split: train_percent must be in (0, 100), got 100.000000",
                       std::invalid_argument);
}

TEST_CASE("the size guard is a memory bound with a message, checked before anything is allocated") {
  // p = 30 000 asks for 9·10^8 equations: tens of GB, refused at once on any machine of today.
  CHECK_THROWS_WITH_AS(modular_dataset({ModOp::Add, 30000}), doctest::Contains("GiB, more than the limit of"),
                       std::runtime_error);
  CHECK_THROWS_AS(modular_equations(ModOp::Add, 3000000000000LL), std::runtime_error);  // p·p overflows Index
  ::setenv("GROKSCOPE_MAX_MEMORY", "1M", 1);
  CHECK_THROWS_WITH_AS(
      modular_dataset({ModOp::Add, 1000}),
      doctest::Contains("grokscope::modular_dataset: p = 1000 (1000000 equations, tokens) needs about"),
      std::runtime_error);
  CHECK(modular_dataset({ModOp::Add, 23}).size() == 529);
  // one-hot rows of 2p doubles are counted: p = 97 fits 1 MiB as tokens, not as one-hot features
  CHECK(modular_dataset({ModOp::Add, 97}).size() == 9409);
  CHECK_THROWS_WITH_AS(modular_dataset({ModOp::Add, 97, ModEncoding::OneHotFeatures}),
                       doctest::Contains("one-hot features"), std::runtime_error);
  ::unsetenv("GROKSCOPE_MAX_MEMORY");
}
