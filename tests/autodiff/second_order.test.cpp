// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// The R-operator of every op: forward-mode tangents and exact Hessian–vector products against
// central differences (hvpcheck), ReLU's zero curvature, and the tape's second-order errors.

#include <grokscope/autodiff/gradcheck.hpp>
#include <grokscope/autodiff/ops.hpp>
#include <grokscope/core/rng.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace grokscope;

namespace {

struct Params {
  Rng rng{3};
  Parameter<double> A{"A", rng.normal_matrix<double>(4, 5)}, B{"B", rng.normal_matrix<double>(5, 3)},
      b{"b", rng.normal_matrix<double>(1, 3)}, g{"g", rng.normal_matrix<double>(1, 3)},
      W{"W", rng.normal_matrix<double>(3, 5)}, c{"c", rng.normal_matrix<double>(4, 1)};
  std::vector<Parameter<double>*> all() { return {&A, &B, &b, &g, &W, &c}; }
};

template <typename F>
void check_op(const char* name, Params& P, F&& f, double tol = 1e-6) {
  const HvpcheckResult r = hvpcheck([&](Tape<double>& t) { return f(t); }, P.all(), 1, 1e-4);
  INFO(name << ": Hv error " << r.hvp_error << ", JVP error " << r.jvp_error << ", |Hv| " << r.hvp_norm);
  CHECK(r.ok(tol));
  CHECK(r.hvp_norm > 0);
}

}  // namespace

TEST_CASE("R-operator: every op's tangent and curvature rules against central differences") {
  Params P;
  using T = Tape<double>;
  const IndexList y{0, 2, 1, 1};
  const Matrix<double> X = P.rng.normal_matrix<double>(4, 5);
  auto AB = [&](T& t) { return matmul(t.param(P.A), t.param(P.B)); };
  check_op("matmul + cross_entropy", P, [&](T& t) { return cross_entropy(AB(t), y); });
  check_op("matmul Aᵀ Bᵀ", P, [&](T& t) { return sum(square(matmul(t.param(P.B), t.param(P.A), true, true))); });
  check_op("matmul A Bᵀ", P, [&](T& t) { return sum(tanh(matmul(t.param(P.A), t.param(P.W), false, true))); });
  check_op("matmul Aᵀ B", P, [&](T& t) { return sum(sigmoid(matmul(t.param(P.A), t.param(P.A), true, false))); });
  check_op("linear", P,
           [&](T& t) { return cross_entropy(linear(tanh(t.param(P.A)), t.param(P.W), t.param(P.b), 0.7), y); });
  check_op("mul (row)", P, [&](T& t) { return mean(square(mul(AB(t), t.param(P.g)))); });
  check_op("mul (column)", P, [&](T& t) { return mean(square(mul(AB(t), t.param(P.c)))); });
  check_op("mul (same), scale, exp", P, [&](T& t) {
    const Var<double> z = AB(t);
    return sum(exp(scale(mul(z, tanh(z)), 0.3)));
  });
  check_op("add, sub (broadcast)", P, [&](T& t) {
    const Var<double> z = AB(t);
    return sum(square(sub(add(add(z, t.param(P.b)), t.param(P.c)), t.param(P.g))));
  });
  check_op("gelu (tanh)", P, [&](T& t) { return sum(mul(gelu(AB(t)), t.param(P.g))); });
  check_op("gelu (erf)", P, [&](T& t) { return sum(mul(gelu(AB(t), GeluApprox::Erf), t.param(P.g))); });
  check_op("linear_quadratic", P, [&](T& t) { return sum(mul(linear_quadratic(AB(t), 0.3), t.param(P.g))); });
  check_op("log, add_scalar", P, [&](T& t) { return sum(log(add_scalar(square(AB(t)), 1.0))); });
  check_op("softmax", P, [&](T& t) { return sum(mul(softmax(AB(t)), t.param(P.g))); });
  check_op("log_softmax", P, [&](T& t) { return sum(mul(log_softmax(AB(t)), t.param(P.g))); });
  check_op("cross_entropy (native)", P, [&](T& t) { return cross_entropy(AB(t), y, CrossEntropyPrecision::Native); });
  check_op("stablemax_cross_entropy", P, [&](T& t) { return stablemax_cross_entropy(AB(t), y); });
  check_op("mse", P, [&](T& t) { return mse(AB(t), t.constant(Matrix<double>::Ones(4, 3))); });
  check_op("mse, both sides moving", P, [&](T& t) { return mse(AB(t), tanh(linear(t.param(P.A), t.param(P.W)))); });
  check_op("layer_norm (affine)", P,
           [&](T& t) { return cross_entropy(layer_norm(AB(t), t.param(P.g), t.param(P.b)), y); });
  check_op("layer_norm (plain)", P, [&](T& t) { return sum(mul(layer_norm(AB(t)), tanh(AB(t)))); });
  check_op("row_sum", P, [&](T& t) { return sum(square(add_scalar(row_sum(tanh(AB(t))), 1.0))); });
  check_op("col_mean, row_mean", P,
           [&](T& t) { return add(sum(square(col_mean(tanh(AB(t))))), sum(square(row_mean(tanh(AB(t)))))); });
  check_op("concat_cols, slice_cols", P, [&](T& t) {
    const Var<double> z = tanh(AB(t));
    return sum(square(slice_cols(concat_cols<double>({z, t.constant(X), z}), 2, 5)));
  });
  check_op("select_rows, last_position", P, [&](T& t) {
    return sum(square(select_rows(last_position(tanh(AB(t)), 2), {1, 0, 1})));
  });
  check_op("embedding", P, [&](T& t) { return sum(square(tanh(embedding(t.param(P.A), {3, 0, 3, 1})))); });
  check_op("onehot_matmul", P, [&](T& t) {
    return sum(square(tanh(onehot_matmul(t.param(P.A), {3, 0, 3, 1}, 2, 1, 0.5))));
  });
  check_op("attention (causal, one head)", P, [&](T& t) {
    const Var<double> x = tanh(t.param(P.A));
    const Var<double> q = linear(x, t.param(P.W));
    return sum(square(attention(q, tanh(q), square(linear(x, t.param(P.W))), 2, 1, true)));
  });
  check_op("attention (last position, two heads)", P, [&](T& t) {
    const Var<double> x = tanh(t.param(P.A));
    const Var<double> k = linear(x, t.param(P.A), Var<double>{}, 0.5);
    return cross_entropy(attention(last_position(linear(x, t.param(P.A)), 2), k, linear(x, t.param(P.A)), 2, 2),
                         {1, 3});
  });
  check_op("attention (non-causal)", P, [&](T& t) {
    const Var<double> x = tanh(t.param(P.A));
    const Var<double> k = linear(x, t.param(P.A), Var<double>{}, 0.5);
    return cross_entropy(attention(k, k, linear(x, t.param(P.A)), 4, 2, false), {1, 3, 0, 2});
  });
}

TEST_CASE("R-operator: ReLU has zero curvature, and its tangent masks like its gradient") {
  Parameter<double> W("W", Matrix<double>(1, 3));
  W.value << -1.0, 0.5, 2.0;
  Tape<double> t;
  t.tangent_of(W) = Matrix<double>::Ones(1, 3);
  // L = Σ relu(w)·w: H = diag(2·[w > 0]); the relu's own second derivative contributes nothing
  const Var<double> w = t.param(W);
  const Var<double> L = sum(mul(relu(w), w));
  t.forward_tangents();
  CHECK(t.tangent(L)(0, 0) == doctest::Approx(2 * 0.5 + 2 * 2.0));
  W.zero_grad();
  t.backward(L);
  t.backward_tangents(L);
  const Matrix<double>& hv = t.second_grad(W);
  CHECK(hv(0, 0) == 0.0);
  CHECK(hv(0, 1) == 2.0);
  CHECK(hv(0, 2) == 2.0);
}

TEST_CASE("R-operator: float tape, second_grad of an unreached parameter, and refusals") {
  Rng rng(8);
  Parameter<float> A("A", rng.normal_matrix<float>(3, 4)), B("B", rng.normal_matrix<float>(4, 2)),
      unused("unused", rng.normal_matrix<float>(2, 2));
  Tape<float> t;
  t.tangent_of(A) = Matrix<float>::Ones(3, 4);
  const Var<float> L = sum(square(matmul(t.param(A), t.param(B))));
  t.forward_tangents();
  t.backward(L);
  t.backward_tangents(L);
  // L = ‖AB‖², direction E on A: Hv_A = 2 E B Bᵀ, Hv_B = 2 (Eᵀ A + Aᵀ E) B
  const Matrix<float> E = Matrix<float>::Ones(3, 4);
  CHECK((t.second_grad(A) - 2 * E * B.value * B.value.transpose()).norm() < 1e-4f);
  CHECK((t.second_grad(B) - 2 * (E.transpose() * A.value + A.value.transpose() * E) * B.value).norm() < 1e-4f);
  CHECK(t.second_grad(unused).norm() == 0.0f);
  // a direction of the wrong shape
  Tape<double> td;
  Parameter<double> P("P", Matrix<double>::Ones(2, 2));
  td.tangent_of(P).resize(3, 1);
  const Var<double> l = sum(square(td.param(P)));
  CHECK_THROWS_WITH_AS(td.forward_tangents(), doctest::Contains("direction of 'P' is 3x1"), std::invalid_argument);
  // a custom op without rules on a path from a direction
  td.tangent_of(P).setOnes(2, 2);
  td.reset();
  const Var<double> x = td.param(P);
  Node<double>& n = td.make_node(OpKind::Custom, {x.id});
  n.own_value = x.value();
  CHECK_THROWS_WITH_AS(td.forward_tangents(), doctest::Contains("has no tangent rule"), std::invalid_argument);
  // backward_tangents before backward
  td.reset();
  const Var<double> l2 = sum(square(td.param(P)));
  td.forward_tangents();
  CHECK_THROWS_WITH_AS(td.backward_tangents(l2), doctest::Contains("run backward(out)"), std::invalid_argument);
  (void)l;
}
