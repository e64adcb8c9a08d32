#include <grokscope/data/modular.hpp>
#include <grokscope/nn/mlp.hpp>
#include <grokscope/nn/model.hpp>

#include <doctest/doctest.h>

#include <cstring>

using namespace grokscope;

TEST_CASE("ModelInput from a dataset: tokens or dense rows; fingerprints tell inputs apart") {
  const Dataset tok = modular_dataset({ModOp::Add, 5, ModEncoding::NandaTokens});
  const ModelInput<float> a = ModelInput<float>::from_dataset(tok, {0, 7});
  CHECK(a.T == 3);
  CHECK(a.examples() == 2);
  CHECK(a.tokens == IndexList{0, 0, 5, 1, 2, 5});
  const Dataset dense = modular_dataset({ModOp::Add, 5, ModEncoding::OneHotFeatures});
  const ModelInput<float> b = ModelInput<float>::from_dataset(dense, {7});
  CHECK_FALSE(b.is_tokens());
  CHECK(b.x.cols() == 10);
  CHECK(a.fingerprint() == ModelInput<float>::from_dataset(tok, {0, 7}).fingerprint());
  CHECK(a.fingerprint() != ModelInput<float>::from_dataset(tok, {7, 0}).fingerprint());
  // dense inputs: one flipped bit anywhere (word lanes and the byte tail), or the same entries in
  // another shape, give another fingerprint
  Rng rng(3);
  ModelInput<float> d;
  d.x = rng.normal_matrix<float>(37, 11);  // 1 628 bytes: 50 words of 32 bytes and a 28-byte tail
  const std::uint64_t h = d.fingerprint();
  for (Index i : {Index(0), Index(9), Index(200), d.x.size() - 1}) {
    ModelInput<float> e = d;
    std::uint32_t bits;
    std::memcpy(&bits, e.x.data() + i, 4);
    bits ^= 1u;
    std::memcpy(e.x.data() + i, &bits, 4);
    CHECK(e.fingerprint() != h);
  }
  ModelInput<float> reshaped = d;
  reshaped.x.resize(11, 37);
  std::memcpy(reshaped.x.data(), d.x.data(), sizeof(float) * 407);
  CHECK(reshaped.fingerprint() != h);
  ModelInput<float> empty;
  empty.x.resize(0, 3);
  CHECK(empty.fingerprint() != ModelInput<float>().fingerprint());
}

TEST_CASE("centering caches f0 per input and recomputes it for new inputs") {
  MlpConfig c;
  c.input = 3, c.hidden = {4}, c.output = 2, c.centered = true;
  Mlp<double> m(c);
  Rng rng(1);
  ModelInput<double> x1, x2;
  x1.x = rng.normal_matrix(2, 3);
  x2.x = rng.normal_matrix(3, 3);
  m.parameters()[0]->value.array() += 0.5;  // move away from θ₀
  Tape<double> t;
  const Matrix<double> y1 = m.forward(t, x1).value();
  const Matrix<double> y2 = m.forward(t, x2).value();
  CHECK(y1.rows() == 2);
  CHECK(y2.rows() == 3);
  CHECK(y1.cwiseAbs().maxCoeff() > 0);
  Tape<double> t2;
  CHECK((m.forward(t2, x1).value() - y1).norm() == 0.0);
  m.zero_grad();
  CHECK(m.parameters()[0]->grad.isZero());
}
