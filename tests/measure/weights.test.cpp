#include <grokscope/core/rng.hpp>
#include <grokscope/measure/weights.hpp>

#include <doctest/doctest.h>

#include <cmath>

using namespace grokscope;

TEST_CASE("norms, relative movement and neuron norms") {
  Parameter<float> a("a", (Matrix<float>(2, 2) << 3, 4, 0, 0).finished()), b("b", Matrix<float>::Constant(1, 1, 12.0f));
  const ParameterNorms n = parameter_norms<float>({&a, &b});
  CHECK(n.total == doctest::Approx(13.0));
  CHECK(n.per_parameter[0].first == "a");
  CHECK(n.per_parameter[0].second == doctest::Approx(5.0));
  const std::vector<Matrix<float>> init{a.value, b.value};
  CHECK(relative_movement<float>({&a, &b}, init) == 0.0);
  b.value(0, 0) = 0;
  CHECK(relative_movement<float>({&a, &b}, init) == doctest::Approx(12.0 / 13.0));
  const Eigen::VectorXd nn = neuron_norms(a.value);
  CHECK(nn(0) == doctest::Approx(5.0));
  CHECK(nn(1) == 0.0);
  CHECK_THROWS_AS(relative_movement<float>({&a}, init), std::invalid_argument);
}

TEST_CASE("compressed size: structured weights compress, random weights do not") {
  Rng rng(1);
  Parameter<double> noise("w", rng.normal_matrix(64, 64)), zeros("w", Matrix<double>::Zero(64, 64));
  Parameter<double> periodic("w", Matrix<double>(64, 64));
  for (Index i = 0; i < 64; ++i)
    for (Index j = 0; j < 64; ++j) periodic.value(i, j) = std::cos(2 * M_PI * 5 * j / 64.0);
  const std::size_t cn = compressed_size<double>({&noise}), cz = compressed_size<double>({&zeros}),
                    cp = compressed_size<double>({&periodic});
  CHECK(cz < 100);
  CHECK(cp < cn / 4);
  CHECK(cn > 64 * 64 / 2);
  CHECK(compressed_size<double>({&noise}, 4) < cn);
  CHECK_THROWS_AS(compressed_size<double>({&noise}, 1), std::invalid_argument);
}
