#include <grokscope/nn/linear.hpp>

#include <doctest/doctest.h>

using namespace grokscope;

TEST_CASE("Linear: PyTorch layout, NTK multiplier, one-hot form") {
  Rng rng(1);
  Linear<double> std_layer("fc", 4, 3, true, rng);
  CHECK(std_layer.weight.name == "fc.weight");
  CHECK(std_layer.weight.rows() == 3);
  CHECK(std_layer.bias.cols() == 3);
  CHECK(std_layer.weight.value.cwiseAbs().maxCoeff() <= 0.5);
  Linear<double> ntk("fc", 4, 3, true, rng, Parameterization::Ntk);
  CHECK(ntk.multiplier == doctest::Approx(0.5));
  CHECK(ntk.bias.value.isZero());
  Linear<double> mf("out", 16, 2, false, rng, Parameterization::MeanField, true);
  CHECK(mf.multiplier == doctest::Approx(1.0 / 16));
  std::vector<Parameter<double>*> ps;
  mf.append_parameters(ps);
  CHECK(ps.size() == 1);
  Tape<double> t;
  const Matrix<double> x = rng.normal_matrix(2, 4);
  const Matrix<double> y = ntk.forward(t, t.constant(x)).value();
  Matrix<double> want = 0.5 * x * ntk.weight.value.transpose();
  want.rowwise() += ntk.bias.value.row(0);
  CHECK((y - want).cwiseAbs().maxCoeff() < 1e-14);
  const Matrix<double> oh = ntk.forward_onehot(t, IndexList{0, 3}, 2).value();
  CHECK((oh.row(0).transpose() -
         (0.5 * (ntk.weight.value.col(0) + ntk.weight.value.col(3)) + ntk.bias.value.row(0).transpose()))
            .norm() < 1e-14);
  CHECK_THROWS_WITH_AS(Linear<double>("fc", 0, 3, true, rng), "grokscope::Linear: in and out must be >= 1, got 0 and 3",
                       std::invalid_argument);
}
