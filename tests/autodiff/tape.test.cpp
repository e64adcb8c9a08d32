#include <grokscope/autodiff/ops.hpp>
#include <grokscope/autodiff/tape.hpp>
#include <grokscope/core/rng.hpp>

#include <doctest/doctest.h>

using namespace grokscope;
using M = Matrix<double>;
using V = Var<double>;

TEST_CASE("parameters accumulate gradients across backward passes until zero_grad") {
  Tape<double> t;
  Parameter<double> w("w", (M(1, 2) << 1.0, -2.0).finished());
  for (int pass = 1; pass <= 3; ++pass) {
    t.reset();
    t.backward(sum(square(t.param(w))));  // d/dw Σ w² = 2w
    CHECK(w.grad(0, 0) == doctest::Approx(2.0 * pass));
    CHECK(w.grad(0, 1) == doctest::Approx(-4.0 * pass));
  }
  w.zero_grad();
  CHECK(w.grad.isZero());
}

TEST_CASE("backward with a cotangent seed gives vector-Jacobian products") {
  Tape<double> t;
  Parameter<double> W("W", (M(2, 3) << 1, 2, 3, 4, 5, 6).finished());
  const M x = (M(1, 3) << 1, -1, 2).finished();
  const V y = linear(t.constant(x), t.param(W));  // y = x Wᵀ: (1,2)
  const M seed = (M(1, 2) << 0.0, 1.0).finished();
  t.backward(y, seed);  // gradient of y_1 only: row 1 of dW is x
  CHECK(W.grad.row(0).isZero());
  CHECK(W.grad.row(1) == x.row(0));
  CHECK_THROWS_WITH_AS(t.backward(y, M::Ones(2, 2)), "grokscope::Tape::backward: seed is 2x2 but the output is 1x2",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(t.backward(y),
                       "grokscope::Tape::backward: loss must be 1x1, got 1x2 (pass a seed for non-scalar outputs)",
                       std::invalid_argument);
}

TEST_CASE("intermediate gradients are readable and unreached nodes read as zero") {
  Tape<double> t;
  Parameter<double> a("a", M::Constant(2, 2, 3.0));
  const V x = t.param(a);
  const V h = scale(x, 2.0);
  const V unused = exp(x);
  t.backward(sum(h));
  CHECK(h.grad() == M::Ones(2, 2));
  CHECK(unused.grad().isZero());
  CHECK(a.grad == M::Constant(2, 2, 2.0));
}

TEST_CASE("constants and frozen parameters get no gradient") {
  Tape<double> t;
  Parameter<double> a("a", M::Ones(2, 2)), frozen("frozen", M::Ones(2, 2));
  frozen.requires_grad = false;
  const V c = t.constant(M::Ones(2, 2));
  const V loss = sum(mul(mul(t.param(a), c), t.param(frozen)));
  CHECK_FALSE(t.needs_grad(c.id));
  t.backward(loss);
  CHECK(a.grad == M::Ones(2, 2));
  CHECK(frozen.grad.isZero());
  // a graph of constants only: backward is a no-op
  Tape<double> t2;
  t2.backward(sum(t2.constant(M::Ones(2, 2))));
}

TEST_CASE("re-recording the same graph reuses every buffer") {
  Rng rng(1);
  Parameter<double> W("W", rng.normal_matrix(16, 8)), b("b", rng.normal_matrix(1, 16));
  const M x = rng.normal_matrix(32, 8);
  Tape<double> t;
  std::vector<const double*> first;
  for (int step = 0; step < 3; ++step) {
    t.reset();
    const V h = relu(linear(t.constant(x), t.param(W), t.param(b)));
    const V loss = mean(square(h));
    t.backward(loss);
    std::vector<const double*> ptrs;
    for (int i = 0; i < t.size(); ++i) {
      ptrs.push_back(t.node(i).own_value.data());
      ptrs.push_back(t.node(i).own_grad.data());
    }
    if (step == 0)
      first = ptrs;
    else
      CHECK(ptrs == first);
  }
  CHECK(t.size() == 7);
}

TEST_CASE("rows_per_example propagates through per-row ops and ends at aggregates") {
  Tape<double> t;
  Parameter<double> E("E", M::Ones(5, 4)), W("W", M::Ones(4, 4));
  const V e = embedding(t.param(E), IndexList{0, 1, 2, 3, 4, 0}, 3);
  const V h = relu(linear(e, t.param(W)));
  const V last = last_position(h, 3);
  CHECK(t.node(e.id).rows_per_example == 3);
  CHECK(t.node(h.id).rows_per_example == 3);
  CHECK(t.node(last.id).rows_per_example == 1);
  CHECK(t.node(t.param(W).id).rows_per_example == 0);
  CHECK(t.node(sum(h).id).rows_per_example == 0);
  CHECK(t.node(h.id).kind == OpKind::Relu);
  CHECK(t.constant(M::Ones(6, 1), 3).tape == &t);
}

TEST_CASE("stale and foreign variables are rejected with a message") {
  Tape<double> t, other;
  const V x = t.constant(M::Ones(1, 1));
  t.reset();
  CHECK_THROWS_WITH_AS(x.value(), "grokscope::Var::value: variable 0 is stale (the tape holds 0 nodes; was it reset?)",
                       std::invalid_argument);
  const V y = other.constant(M::Ones(1, 1));
  CHECK_THROWS_WITH_AS(t.backward(y), "grokscope::Tape::backward: variable belongs to another tape",
                       std::invalid_argument);
  CHECK_THROWS_AS(scale(V{}, 2.0), std::invalid_argument);
  CHECK_THROWS_WITH_AS(t.constant(M::Ones(2, 2)).item(), "grokscope::Var::item: value is 2x2, not 1x1",
                       std::invalid_argument);
  Parameter<double> p("p", M::Ones(2, 2));
  p.value.resize(3, 3);
  CHECK_THROWS_WITH_AS(
      t.param(p), "grokscope::Tape::param: parameter 'p' has value 3x3 but grad 2x2 (call zero_grad() after resizing)",
      std::invalid_argument);
}

TEST_CASE("float tapes work and agree with double to float precision") {
  Rng rng(2);
  const M Wd = rng.normal_matrix(4, 3), xd = rng.normal_matrix(5, 3);
  Parameter<float> Wf("W", Wd.cast<float>());
  Parameter<double> Wdd("W", Wd);
  Tape<float> tf;
  Tape<double> td;
  tf.backward(mean(tanh(linear(tf.constant(xd.cast<float>()), tf.param(Wf)))));
  td.backward(mean(tanh(linear(td.constant(xd), td.param(Wdd)))));
  CHECK((Wf.grad.cast<double>() - Wdd.grad).cwiseAbs().maxCoeff() < 1e-6);
}
