#include <grokscope/optim/adam.hpp>
#include <grokscope/optim/orthograd.hpp>

#include "fixture_util.hpp"

#include <doctest/doctest.h>

using namespace grokscope;

namespace {
Matrix<double> fx(const std::string& name) {
  return load_npy<double>(test::fixture("torch/orthograd/" + name + ".npy"));
}
}  // namespace

TEST_CASE("OrthoGrad matches Prieto et al.'s orthograd.py, and composes with AdamW") {
  Parameter<double> w("w", fx("w0")), b("b", fx("b0"));
  w.grad = fx("grad.w");
  b.grad = fx("grad.b");
  const Matrix<double> gw = w.grad;
  OrthoGrad<double> f;
  f.apply({&w, &b});
  CHECK((w.grad - fx("filtered.w")).cwiseAbs().maxCoeff() < 1e-14);
  CHECK((b.grad - fx("filtered.b")).cwiseAbs().maxCoeff() < 1e-14);
  // invariants: orthogonal to the weights, the gradient's norm kept
  CHECK(std::abs(w.grad.cwiseProduct(w.value).sum()) < 1e-12);
  CHECK(w.grad.norm() == doctest::Approx(gw.norm()).epsilon(1e-14));
  AdamConfig c;
  c.lr = 1e-2, c.beta1 = 0.9, c.beta2 = 0.98, c.eps = 1e-8, c.weight_decay = 0.0;
  Adam<double> opt({&w, &b}, c);
  opt.step(c.lr);
  CHECK((w.value - fx("w1")).cwiseAbs().maxCoeff() < 1e-14);
  CHECK((b.value - fx("b1")).cwiseAbs().maxCoeff() < 1e-14);
  CHECK(f.config()["filter"] == "orthograd");
}

TEST_CASE("OrthoGrad: zero weights and gradients pass through, frozen parameters are untouched, float") {
  Parameter<float> z("z", Matrix<float>::Zero(2, 2)), frozen("f", Matrix<float>::Ones(2, 2));
  z.grad = Matrix<float>::Constant(2, 2, 0.5f);
  frozen.requires_grad = false;
  frozen.grad = Matrix<float>::Constant(2, 2, 3.0f);
  OrthoGrad<float> f;
  f.apply({&z, &frozen});
  CHECK(z.grad == Matrix<float>::Constant(2, 2, 0.5f));  // w = 0: nothing to remove
  CHECK(frozen.grad == Matrix<float>::Constant(2, 2, 3.0f));
  Parameter<float> w("w", Matrix<float>::Ones(1, 3));
  w.grad = Matrix<float>::Constant(1, 3, 2.0f);  // entirely along w: nothing is left to rescale
  f.apply({&w});
  CHECK(w.grad.cwiseAbs().maxCoeff() < 1e-6f);
  CHECK_THROWS_AS(OrthoGrad<double>(-1.0), std::invalid_argument);
}

TEST_CASE("OrthoGrad with eps = 0: a zero tensor and a gradient along w give no NaN") {
  OrthoGrad<double> f(0.0);
  Parameter<double> z("z", Matrix<double>::Zero(2, 2)), w("w", Matrix<double>::Ones(1, 3));
  z.grad = Matrix<double>::Constant(2, 2, 0.5);
  w.grad = Matrix<double>::Constant(1, 3, 2.0);
  f.apply({&z, &w});
  CHECK(z.grad == Matrix<double>::Constant(2, 2, 0.5));
  CHECK(w.grad.allFinite());
  CHECK(w.grad.cwiseAbs().maxCoeff() == 0.0);
}
