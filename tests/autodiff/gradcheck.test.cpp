#include <grokscope/autodiff/gradcheck.hpp>
#include <grokscope/autodiff/ops.hpp>

#include <doctest/doctest.h>

using namespace grokscope;
using M = Matrix<double>;

namespace {
// A deliberately wrong op: forward x², backward claims 3x.
Var<double> wrong_square(const Var<double>& x) {
  Node<double>& n = x.tape->make_node(OpKind::Custom, {x.id});
  n.own_value = x.value().array().square().matrix();
  n.backward = [](Tape<double>& tp, Node<double>& nd) {
    const int ix = nd.inputs[0];
    if (tp.needs_grad(ix)) tp.grad_acc(ix).array() += 3.0 * tp.in_value(ix).array() * nd.own_grad.array();
  };
  return x.tape->var(n);
}
}  // namespace

TEST_CASE("gradcheck passes a correct graph and reports how many entries it compared") {
  Parameter<double> a("a", (M(2, 2) << 0.3, -1.2, 2.0, 0.7).finished());
  const GradcheckResult r = gradcheck([&](Tape<double>& t) { return sum(exp(t.param(a))); }, {&a});
  CHECK(r.checked == 4);
  CHECK(r.ok(1e-7));
}

TEST_CASE("gradcheck catches a wrong VJP and names the worst entry") {
  Parameter<double> a("layer.weight", (M(1, 3) << 0.5, -2.0, 1.0).finished());
  const GradcheckResult r = gradcheck([&](Tape<double>& t) { return sum(wrong_square(t.param(a))); }, {&a});
  CHECK_FALSE(r.ok(1e-3));
  CHECK(r.param == "layer.weight");
  CHECK(r.max_error == doctest::Approx(1.0 / 3.0));  // |3x − 2x| / |3x|
  CHECK(r.analytic == doctest::Approx(1.5 * r.numeric));
}

TEST_CASE("gradcheck can subsample large parameters") {
  Parameter<double> a("a", M::Constant(10, 10, 0.5));
  GradcheckOptions opt;
  opt.max_entries_per_param = 7;
  const GradcheckResult r = gradcheck([&](Tape<double>& t) { return sum(square(t.param(a))); }, {&a}, opt);
  CHECK(r.checked == 7);
  CHECK(r.ok(1e-7));
}

TEST_CASE("gradcheck rejects bad arguments") {
  Parameter<double> a("a", M::Ones(1, 1));
  CHECK_THROWS_WITH_AS(gradcheck([&](Tape<double>& t) { return t.param(a); }, {}),
                       "grokscope::gradcheck: no parameters to check", std::invalid_argument);
  CHECK_THROWS_WITH_AS(gradcheck([&](Tape<double>& t) { return scale(t.constant(M::Ones(2, 1)), 1.0); }, {&a}),
                       "grokscope::gradcheck: build must return a 1x1 loss", std::invalid_argument);
}
