#include <grokscope/optim/optimizer.hpp>
#include <grokscope/optim/sgd.hpp>

#include <doctest/doctest.h>

using namespace grokscope;

TEST_CASE("the Optimizer interface holds its parameters and rejects null ones") {
  Parameter<float> a("a", Matrix<float>::Ones(1, 2));
  Sgd<float> s({&a}, SgdConfig{});
  CHECK(s.params().size() == 1);
  CHECK(s.lr() == doctest::Approx(1e-2));
  CHECK_THROWS_WITH_AS(Sgd<float>({nullptr}, SgdConfig{}), "grokscope::Optimizer: null parameter",
                       std::invalid_argument);
}
