#include <grokscope/nn/embedding.hpp>

#include <doctest/doctest.h>

using namespace grokscope;

TEST_CASE("Embedding gathers rows of a (vocab, d) table") {
  Rng rng(2);
  Embedding<double> e("tok", 10, 4, rng, 0.5);
  CHECK(e.weight.name == "tok.weight");
  Tape<double> t;
  const Var<double> y = e.forward(t, IndexList{3, 3, 9}, 3);
  CHECK(y.value().row(2) == e.weight.value.row(9));
  CHECK(t.node(y.id).rows_per_example == 3);
  t.backward(sum(y));
  CHECK(e.weight.grad.row(3).sum() == doctest::Approx(8.0));  // two lookups of 4 ones
  CHECK_THROWS_AS(Embedding<double>("x", 0, 4, rng), std::invalid_argument);
}
