// Every op: a finite-difference check of its VJP (random shapes, several seeds), a forward value
// check against a direct computation, and its shape errors.
#include <grokscope/autodiff/gradcheck.hpp>
#include <grokscope/autodiff/ops.hpp>
#include <grokscope/core/rng.hpp>
#include <grokscope/io/npy.hpp>

#include "../test_util.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>

using namespace grokscope;
using P = Parameter<double>;
using M = Matrix<double>;
using V = Var<double>;
using T = Tape<double>;

namespace {

constexpr double kTol = 1e-6;

// Loss = Σ out ∘ R for a fixed random R, so every output entry gets a distinct cotangent.
V project(T& t, const V& out, std::uint64_t seed = 99) {
  Rng r(seed);
  return sum(mul(out, t.constant(r.normal_matrix(out.rows(), out.cols()))));
}

template <typename F>
void expect_grad(F&& f, const std::vector<P*>& ps, double tol = kTol) {
  const GradcheckResult r = gradcheck(f, ps);
  INFO("worst entry: ", r.param, "(", r.row, ",", r.col, ") analytic ", r.analytic, " numeric ", r.numeric);
  CHECK(r.checked > 0);
  CHECK(r.max_error < tol);
}

P rand_param(Rng& rng, const char* name, Index r, Index c, double scale = 1.0) {
  return P(name, rng.normal_matrix(r, c, 0.0, scale));
}

}  // namespace

TEST_CASE("matmul: all four transpose combinations") {
  for (std::uint64_t seed : {1, 2, 3}) {
    Rng rng(seed);
    const Index m = 2 + rng.integer(4), k = 1 + rng.integer(5), n = 1 + rng.integer(4);
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb) {
        P a = rand_param(rng, "a", ta ? k : m, ta ? m : k);
        P b = rand_param(rng, "b", tb ? n : k, tb ? k : n);
        expect_grad([&](T& t) { return project(t, matmul(t.param(a), t.param(b), ta != 0, tb != 0)); }, {&a, &b});
        T t;
        const M ea = ta ? M(a.value.transpose()) : a.value;
        const M eb = tb ? M(b.value.transpose()) : b.value;
        CHECK((matmul(t.param(a), t.param(b), ta != 0, tb != 0).value() - ea * eb).norm() < 1e-12);
      }
  }
  T t;
  P a("a", M::Ones(2, 3)), b("b", M::Ones(2, 3));
  CHECK_THROWS_WITH_AS(
      matmul(t.param(a), t.param(b)),
      "grokscope::matmul: inner dimensions differ: op(a) is 2x3 (a is 2x3) but op(b) is 2x3 (b is 2x3)",
      std::invalid_argument);
}

TEST_CASE("linear: PyTorch layout, with and without bias") {
  for (std::uint64_t seed : {4, 5, 6}) {
    Rng rng(seed);
    const Index n = 1 + rng.integer(5), in = 1 + rng.integer(6), out = 1 + rng.integer(4);
    P x = rand_param(rng, "x", n, in), W = rand_param(rng, "weight", out, in), b = rand_param(rng, "bias", 1, out);
    expect_grad([&](T& t) { return project(t, linear(t.param(x), t.param(W), t.param(b))); }, {&x, &W, &b});
    expect_grad([&](T& t) { return project(t, linear(t.param(x), t.param(W))); }, {&x, &W});
    T t;
    const M y = linear(t.param(x), t.param(W), t.param(b)).value();
    CHECK((y - ((x.value * W.value.transpose()).rowwise() + b.value.row(0))).norm() < 1e-12);
  }
  T t;
  P x("x", M::Ones(4, 3)), W("weight", M::Ones(5, 2)), b("bias", M::Ones(1, 4));
  CHECK_THROWS_WITH_AS(
      linear(t.param(x), t.param(W)),
      "grokscope::linear: x is 4x3 but weight is 5x2 (expected x.cols == weight.cols, weight is out x in)",
      std::invalid_argument);
  P W2("weight", M::Ones(5, 3));
  CHECK_THROWS_WITH_AS(linear(t.param(x), t.param(W2), t.param(b)),
                       "grokscope::linear: bias is 1x4 but weight is 5x3 (expected bias 1x5)", std::invalid_argument);
}

TEST_CASE("add, sub, mul with every broadcast mode") {
  for (std::uint64_t seed : {7, 8}) {
    Rng rng(seed);
    const Index n = 2 + rng.integer(4), d = 2 + rng.integer(4);
    P a = rand_param(rng, "a", n, d);
    for (auto shape : {std::pair<Index, Index>{n, d}, {1, d}, {n, 1}, {1, 1}}) {
      P b = rand_param(rng, "b", shape.first, shape.second);
      expect_grad([&](T& t) { return project(t, add(t.param(a), t.param(b))); }, {&a, &b});
      expect_grad([&](T& t) { return project(t, sub(t.param(a), t.param(b))); }, {&a, &b});
      expect_grad([&](T& t) { return project(t, mul(t.param(a), t.param(b))); }, {&a, &b});
      T t;
      const M bb = b.value.replicate(n / shape.first, d / shape.second);
      CHECK((add(t.param(a), t.param(b)).value() - (a.value + bb)).norm() < 1e-12);
      CHECK((sub(t.param(a), t.param(b)).value() - (a.value - bb)).norm() < 1e-12);
      CHECK((mul(t.param(a), t.param(b)).value() - a.value.cwiseProduct(bb)).norm() < 1e-12);
    }
  }
  T t;
  P a("a", M::Ones(3, 4)), b("b", M::Ones(2, 4));
  CHECK_THROWS_WITH_AS(add(t.param(a), t.param(b)),
                       "grokscope::add: a is 3x4 but b is 2x4 (b must match a, or be 1x4, 3x1 or 1x1)",
                       std::invalid_argument);
  CHECK_THROWS_AS(mul(t.param(a), t.param(b)), std::invalid_argument);
  T other;
  CHECK_THROWS_WITH_AS(add(t.param(a), other.param(a)), "grokscope::add: variables belong to different tapes",
                       std::invalid_argument);
}

TEST_CASE("scale, add_scalar, negation and operators") {
  Rng rng(10);
  P a = rand_param(rng, "a", 3, 4), b = rand_param(rng, "b", 3, 4);
  expect_grad([&](T& t) { return project(t, scale(t.param(a), -2.5)); }, {&a});
  expect_grad([&](T& t) { return project(t, add_scalar(t.param(a), 0.7)); }, {&a});
  expect_grad([&](T& t) { return project(t, -(t.param(a) + t.param(b)) - t.param(b)); }, {&a, &b});
  T t;
  CHECK((scale(t.param(a), 3.0).value() - 3.0 * a.value).norm() < 1e-12);
  CHECK((add_scalar(t.param(a), 1.0).value().array() - a.value.array() - 1.0).matrix().norm() < 1e-12);
}

TEST_CASE("reductions: sum, mean, row_sum, row_mean, col_sum, col_mean") {
  Rng rng(11);
  P a = rand_param(rng, "a", 4, 3);
  expect_grad([&](T& t) { return scale(sum(t.param(a)), 1.3); }, {&a});
  expect_grad([&](T& t) { return scale(mean(t.param(a)), 1.3); }, {&a});
  expect_grad([&](T& t) { return project(t, row_sum(t.param(a))); }, {&a});
  expect_grad([&](T& t) { return project(t, row_mean(t.param(a))); }, {&a});
  expect_grad([&](T& t) { return project(t, col_sum(t.param(a))); }, {&a});
  expect_grad([&](T& t) { return project(t, col_mean(t.param(a))); }, {&a});
  T t;
  const V x = t.param(a);
  CHECK(sum(x).item() == doctest::Approx(a.value.sum()));
  CHECK(mean(x).item() == doctest::Approx(a.value.mean()));
  CHECK((row_sum(x).value() - a.value.rowwise().sum()).norm() < 1e-12);
  CHECK((row_mean(x).value() - a.value.rowwise().mean()).norm() < 1e-12);
  CHECK((col_sum(x).value() - a.value.colwise().sum()).norm() < 1e-12);
  CHECK((col_mean(x).value() - a.value.colwise().mean()).norm() < 1e-12);
  P e("e", M(0, 3));
  CHECK_THROWS_WITH_AS(mean(t.param(e)), "grokscope::mean: x is empty (0x3)", std::invalid_argument);
}

TEST_CASE("elementwise nonlinearities") {
  for (std::uint64_t seed : {12, 13, 14}) {
    Rng rng(seed);
    P a = rand_param(rng, "a", 3 + rng.integer(3), 2 + rng.integer(3), 1.5);
    expect_grad([&](T& t) { return project(t, relu(t.param(a))); }, {&a});
    expect_grad([&](T& t) { return project(t, gelu(t.param(a), GeluApprox::Tanh)); }, {&a});
    expect_grad([&](T& t) { return project(t, gelu(t.param(a), GeluApprox::Erf)); }, {&a});
    expect_grad([&](T& t) { return project(t, tanh(t.param(a))); }, {&a});
    expect_grad([&](T& t) { return project(t, sigmoid(t.param(a))); }, {&a});
    expect_grad([&](T& t) { return project(t, square(t.param(a))); }, {&a});
    expect_grad([&](T& t) { return project(t, exp(t.param(a))); }, {&a});
    P pos("pos", (a.value.array().abs() + 0.5).matrix());
    expect_grad([&](T& t) { return project(t, log(t.param(pos))); }, {&pos});
  }
  T t;
  P x("x", (M(1, 4) << -1.0, 0.0, 1.0, 2.0).finished());
  const V v = t.param(x);
  // Reference values: PyTorch gelu(approximate='tanh') and gelu() at x = 1 and 2.
  CHECK(gelu(v, GeluApprox::Tanh).value()(0, 2) == doctest::Approx(0.8411919906082768).epsilon(1e-14));
  CHECK(gelu(v, GeluApprox::Erf).value()(0, 2) == doctest::Approx(0.8413447460685429).epsilon(1e-14));
  CHECK(gelu(v, GeluApprox::Erf).value()(0, 3) == doctest::Approx(1.9544997361036416).epsilon(1e-14));
  CHECK(relu(v).value() == (M(1, 4) << 0, 0, 1, 2).finished());
  CHECK(sigmoid(v).value()(0, 1) == 0.5);
  CHECK(square(v).value()(0, 0) == 1.0);
  CHECK(tanh(v).value()(0, 2) == doctest::Approx(std::tanh(1.0)));
  CHECK(std::isinf(log(v).value()(0, 1)));
}

TEST_CASE("softmax and log_softmax over rows") {
  for (std::uint64_t seed : {15, 16}) {
    Rng rng(seed);
    P a = rand_param(rng, "a", 3, 5, 2.0);
    expect_grad([&](T& t) { return project(t, softmax(t.param(a))); }, {&a});
    expect_grad([&](T& t) { return project(t, log_softmax(t.param(a))); }, {&a});
    T t;
    const M s = softmax(t.param(a)).value();
    CHECK((s.rowwise().sum().array() - 1.0).abs().maxCoeff() < 1e-14);
    CHECK((log_softmax(t.param(a)).value() - M(s.array().log())).norm() < 1e-12);
  }
  T t;  // large logits stay finite
  P big("big", (M(1, 3) << 1000.0, 0.0, -1000.0).finished());
  CHECK(log_softmax(t.param(big)).value().allFinite());
  CHECK(softmax(t.param(big)).value()(0, 0) == 1.0);
}

TEST_CASE("cross_entropy with integer targets, in double") {
  for (std::uint64_t seed : {17, 18, 19}) {
    Rng rng(seed);
    const Index n = 2 + rng.integer(5), V_ = 2 + rng.integer(6);
    P z = rand_param(rng, "logits", n, V_, 2.0);
    IndexList y(static_cast<std::size_t>(n));
    for (auto& v : y) v = rng.integer(V_);
    expect_grad([&](T& t) { return cross_entropy(t.param(z), y); }, {&z});
    T t;
    double ref = 0;
    for (Index i = 0; i < n; ++i)
      ref += std::log(z.value.row(i).array().exp().sum()) - z.value(i, y[static_cast<std::size_t>(i)]);
    const V loss = cross_entropy(t.param(z), y);
    CHECK(loss.item() == doctest::Approx(ref / static_cast<double>(n)).epsilon(1e-13));
    CHECK(loss_in_double(loss) == doctest::Approx(ref / static_cast<double>(n)).epsilon(1e-13));
  }
  // float logits: the loss is accumulated in double, so a confident correct prediction
  // does not round to exactly zero loss.
  Tape<float> tf;
  Parameter<float> zf("z", (Matrix<float>(1, 2) << 20.0f, 0.0f).finished());
  const Var<float> lf = cross_entropy(tf.param(zf), IndexList{0});
  CHECK(loss_in_double(lf) == doctest::Approx(std::log1p(std::exp(-20.0))).epsilon(1e-6));
  CHECK(loss_in_double(lf) > 0);
  T t;
  P z("z", M::Zero(3, 4));
  CHECK_THROWS_WITH_AS(cross_entropy(t.param(z), IndexList{0, 1}),
                       "grokscope::cross_entropy: logits are 3x4 but there are 2 targets", std::invalid_argument);
  CHECK_THROWS_WITH_AS(cross_entropy(t.param(z), IndexList{0, 4, 1}),
                       "grokscope::cross_entropy: target 4 at position 1 is out of range [0, 4)",
                       std::invalid_argument);
}

TEST_CASE("mse against a target") {
  Rng rng(20);
  P p = rand_param(rng, "pred", 4, 2), y = rand_param(rng, "target", 4, 2);
  expect_grad([&](T& t) { return mse(t.param(p), t.param(y)); }, {&p, &y});
  T t;
  CHECK(mse(t.param(p), t.param(y)).item() == doctest::Approx((p.value - y.value).squaredNorm() / 8));
  P bad("bad", M::Zero(4, 3));
  CHECK_THROWS_WITH_AS(mse(t.param(p), t.param(bad)),
                       "grokscope::mse: pred is 4x2 but target is 4x3 (expected equal shapes)", std::invalid_argument);
}

TEST_CASE("layer_norm with and without affine parameters") {
  for (std::uint64_t seed : {21, 22}) {
    Rng rng(seed);
    P x = rand_param(rng, "x", 4, 5, 2.0), g = rand_param(rng, "weight", 1, 5), b = rand_param(rng, "bias", 1, 5);
    expect_grad([&](T& t) { return project(t, layer_norm(t.param(x), t.param(g), t.param(b))); }, {&x, &g, &b});
    expect_grad([&](T& t) { return project(t, layer_norm(t.param(x))); }, {&x});
    T t;
    const M y = layer_norm(t.param(x), V{}, V{}, 0.0).value();
    CHECK(y.rowwise().mean().cwiseAbs().maxCoeff() < 1e-12);
    CHECK(((y.rowwise().squaredNorm() / 5.0).array() - 1.0).abs().maxCoeff() < 1e-12);
  }
  T t;
  P x("x", M::Ones(2, 3)), g("weight", M::Ones(1, 4)), b("bias", M::Ones(1, 4));
  CHECK_THROWS_WITH_AS(layer_norm(t.param(x), t.param(g), t.param(b)),
                       "grokscope::layer_norm: x is 2x3 but gamma/beta is 1x4 (expected 1x3)", std::invalid_argument);
}

TEST_CASE("embedding gathers rows and scatter-adds gradients (repeated ids)") {
  Rng rng(23);
  P W = rand_param(rng, "embed.W_E", 6, 3);
  const IndexList ids{0, 5, 2, 5, 5, 1};
  expect_grad([&](T& t) { return project(t, embedding(t.param(W), ids, 3)); }, {&W});
  T t;
  const V e = embedding(t.param(W), ids, 3);
  CHECK(e.value().row(1) == W.value.row(5));
  CHECK(t.node(e.id).rows_per_example == 3);
  CHECK_THROWS_WITH_AS(embedding(t.param(W), IndexList{0, 6}),
                       "grokscope::embedding: token id 6 at position 1 is out of range [0, 6)", std::invalid_argument);
  CHECK_THROWS_WITH_AS(embedding(t.param(W), IndexList{0, 1, 2}, 2),
                       "grokscope::embedding: 3 ids do not split into examples of 2 rows", std::invalid_argument);
}

TEST_CASE("select_rows, last_position, concat_cols, slice_cols") {
  Rng rng(24);
  P x = rand_param(rng, "x", 6, 4), y = rand_param(rng, "y", 6, 2);
  expect_grad([&](T& t) { return project(t, select_rows(t.param(x), IndexList{5, 0, 5})); }, {&x});
  expect_grad([&](T& t) { return project(t, last_position(t.param(x), 3)); }, {&x});
  expect_grad(
      [&](T& t) {
        return project(t, concat_cols(std::vector<V>{t.param(x), t.param(y), t.param(x)}));
      },
      {&x, &y});
  expect_grad([&](T& t) { return project(t, slice_cols(t.param(x), 1, 2)); }, {&x});
  T t;
  const V lp = last_position(t.param(x), 3);
  CHECK(lp.rows() == 2);
  CHECK(lp.value().row(1) == x.value.row(5));
  const V c = concat_cols(std::vector<V>{t.param(x), t.param(y)});
  CHECK(c.cols() == 6);
  CHECK(c.value().rightCols(2) == y.value);
  CHECK(slice_cols(t.param(x), 1, 2).value() == x.value.middleCols(1, 2));
  P z("z", M::Ones(5, 2));
  CHECK_THROWS_WITH_AS(concat_cols(std::vector<V>{t.param(x), t.param(z)}),
                       "grokscope::concat_cols: first input is 6x4 but another is 5x2 (row counts differ)",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(slice_cols(t.param(x), 3, 2),
                       "grokscope::slice_cols: columns [3, +2) are out of range for x 6x4", std::invalid_argument);
  // start + count would overflow: the check must not form it
  CHECK_THROWS_AS(slice_cols(t.param(x), 1, std::numeric_limits<Index>::max()), std::invalid_argument);
  CHECK_THROWS_AS(slice_cols(t.param(x), std::numeric_limits<Index>::max(), 2), std::invalid_argument);
  CHECK(slice_cols(t.param(x), 4, 0).value().cols() == 0);
  CHECK_THROWS_WITH_AS(select_rows(t.param(x), IndexList{6}),
                       "grokscope::select_rows: row 6 at position 0 is out of range [0, 6)", std::invalid_argument);
  CHECK_THROWS_WITH_AS(last_position(t.param(x), 4), "grokscope::last_position: x is 6x4, not a multiple of T = 4 rows",
                       std::invalid_argument);
}

TEST_CASE("attention on zero examples is an empty result, not a division by zero") {
  T t;
  P q("q", M(0, 6)), k("k", M(0, 6)), v("v", M(0, 6));
  const V o = attention(t.param(q), t.param(k), t.param(v), 3, 2, true);
  CHECK(o.rows() == 0);
  CHECK(o.cols() == 6);
  CHECK(layer_norm(o).rows() == 0);
  P w("w", M(3, 0));
  CHECK_THROWS_WITH_AS(layer_norm(t.param(w)), "grokscope::layer_norm: x has no columns (3x0)", std::invalid_argument);
}

TEST_CASE("attention: fused multi-head causal core") {
  for (std::uint64_t seed : {25, 26, 27}) {
    Rng rng(seed);
    const Index nb = 1 + rng.integer(3), Tn = 1 + rng.integer(4), H = 1 + rng.integer(3), dh = 1 + rng.integer(3);
    P q = rand_param(rng, "q", nb * Tn, H * dh), k = rand_param(rng, "k", nb * Tn, H * dh),
      v = rand_param(rng, "v", nb * Tn, H * dh);
    for (bool causal : {true, false})
      expect_grad([&](T& t) { return project(t, attention(t.param(q), t.param(k), t.param(v), Tn, H, causal)); },
                  {&q, &k, &v});
    // forward against a direct per-(example, head, query) computation
    T t;
    const M o = attention(t.param(q), t.param(k), t.param(v), Tn, H, true).value();
    double worst = 0;
    for (Index b = 0; b < nb; ++b)
      for (Index h = 0; h < H; ++h)
        for (Index i = 0; i < Tn; ++i) {
          Vector<double> w(i + 1);
          for (Index j = 0; j <= i; ++j)
            w(j) = q.value.row(b * Tn + i).segment(h * dh, dh).dot(k.value.row(b * Tn + j).segment(h * dh, dh)) /
                   std::sqrt(static_cast<double>(dh));
          w = (w.array() - w.maxCoeff()).exp();
          w /= w.sum();
          RowVector<double> ref = RowVector<double>::Zero(dh);
          for (Index j = 0; j <= i; ++j) ref += w(j) * v.value.row(b * Tn + j).segment(h * dh, dh);
          worst = std::max(worst, (o.row(b * Tn + i).segment(h * dh, dh) - ref).norm());
        }
    CHECK(worst < 1e-12);
  }
  // the same projection used for q, k and v (shared input) accumulates all three gradients
  Rng rng(28);
  P x = rand_param(rng, "x", 6, 4);
  expect_grad(
      [&](T& t) {
        const V a = t.param(x);
        return project(t, attention(a, a, a, 3, 2));
      },
      {&x});
  T t;
  P q("q", M::Ones(6, 4)), k("k", M::Ones(6, 4)), k2("k", M::Ones(6, 3));
  CHECK_THROWS_WITH_AS(attention(t.param(q), t.param(k2), t.param(q), 3, 2),
                       "grokscope::attention: k is 6x3 but v is 6x4 (expected equal shapes)", std::invalid_argument);
  CHECK_THROWS_WITH_AS(attention(t.param(q), t.param(k), t.param(q), 4, 2),
                       "grokscope::attention: k has 6 rows, not a multiple of T = 4", std::invalid_argument);
  P q5("q", M::Ones(5, 4));
  CHECK_THROWS_WITH_AS(attention(t.param(q5), t.param(k), t.param(k), 3, 2),
                       "grokscope::attention: q has 5 rows; expected 6 (every position) or 2 (last position) for 2 "
                       "examples of T = 3",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(attention(t.param(q), t.param(k), t.param(q), 3, 3),
                       "grokscope::attention: q has 4 columns, not a multiple of heads = 3", std::invalid_argument);
}

TEST_CASE("attention with last-position queries equals the last rows of full attention") {
  for (std::uint64_t seed : {31, 32}) {
    Rng rng(seed);
    const Index nb = 3, Tn = 4, H = 2, dh = 3;
    P q = rand_param(rng, "q", nb * Tn, H * dh), k = rand_param(rng, "k", nb * Tn, H * dh),
      v = rand_param(rng, "v", nb * Tn, H * dh);
    T t;
    const M full = attention(t.param(q), t.param(k), t.param(v), Tn, H).value();
    const V qlast = last_position(t.param(q), Tn);
    const M last = attention(qlast, t.param(k), t.param(v), Tn, H).value();
    for (Index b = 0; b < nb; ++b) CHECK((last.row(b) - full.row(b * Tn + Tn - 1)).norm() < 1e-12);
    // Tolerance 1e-5: entries of k's gradient are as small as 4e-5, below gradcheck's floor of
    // 1e-4, where the central difference's own rounding, about ε·|loss|/h = 2.2e-16·O(1)/1e-6, is
    // already ~1e-6 of the floor (this case measured 1.4e-6 on one host and below 1e-6 on others).
    expect_grad(
        [&](T& tp) { return project(tp, attention(last_position(tp.param(q), Tn), tp.param(k), tp.param(v), Tn, H)); },
        {&q, &k, &v}, 1e-5);
  }
}

TEST_CASE("onehot_matmul is a linear layer on concatenated one-hots") {
  Rng rng(33);
  const Index p = 5, N = 4;
  P W = rand_param(rng, "layers.0.weight", N, 2 * p);
  const IndexList ids{1, p + 3, 4, p + 0, 1, p + 1};  // three examples (x, p + y)
  expect_grad([&](T& t) { return project(t, onehot_matmul(t.param(W), ids, 2)); }, {&W});
  M X = M::Zero(3, 2 * p);
  for (Index r = 0; r < 3; ++r)
    X(r, ids[static_cast<std::size_t>(2 * r)]) = X(r, ids[static_cast<std::size_t>(2 * r + 1)]) = 1.0;
  T t;
  const V a = onehot_matmul(t.param(W), ids, 2);
  const V b = linear(t.constant(X), t.param(W));
  CHECK((a.value() - b.value()).norm() < 1e-12);
  // gradients agree too
  P W2("w", W.value);
  T t1, t2;
  const M seed = rng.normal_matrix(3, N);
  W.zero_grad();
  W2.zero_grad();
  t1.backward(onehot_matmul(t1.param(W), ids, 2), seed);
  t2.backward(linear(t2.constant(X), t2.param(W2)), seed);
  CHECK((W.grad - W2.grad).norm() < 1e-12);
  // k = 1 gathers columns: an embedding stored as (d_model, vocab)
  CHECK(onehot_matmul(t.param(W), IndexList{7}).value().row(0) == W.value.col(7).transpose());
  CHECK_THROWS_WITH_AS(onehot_matmul(t.param(W), IndexList{1, 2, 3}, 2),
                       "grokscope::onehot_matmul: 3 ids do not split into rows of k = 2", std::invalid_argument);
  CHECK_THROWS_WITH_AS(onehot_matmul(t.param(W), IndexList{10}),
                       "grokscope::onehot_matmul: id 10 at position 0 is out of range [0, 10)", std::invalid_argument);
}

TEST_CASE("composite: two-layer MLP with cross-entropy") {
  Rng rng(29);
  const Index n = 8, d = 5, h = 7, k = 4;
  const M X = rng.normal_matrix(n, d);
  IndexList y(static_cast<std::size_t>(n));
  for (auto& v : y) v = rng.integer(k);
  P W1 = rand_param(rng, "layers.0.weight", h, d, 0.5), b1 = rand_param(rng, "layers.0.bias", 1, h, 0.1);
  P W2 = rand_param(rng, "layers.1.weight", k, h, 0.5), b2 = rand_param(rng, "layers.1.bias", 1, k, 0.1);
  expect_grad(
      [&](T& t) {
        const V hdn = gelu(linear(t.constant(X), t.param(W1), t.param(b1)));
        return cross_entropy(linear(hdn, t.param(W2), t.param(b2)), y);
      },
      {&W1, &b1, &W2, &b2});
}

TEST_CASE("composite: one attention block on token sequences") {
  Rng rng(30);
  const Index vocab = 7, Tn = 3, dm = 8, H = 2, nb = 4;
  IndexList tokens(static_cast<std::size_t>(nb * Tn));
  for (auto& v : tokens) v = rng.integer(vocab);
  IndexList y(static_cast<std::size_t>(nb));
  for (auto& v : y) v = rng.integer(vocab);
  P WE = rand_param(rng, "embed.W_E", vocab, dm, 0.5), pos = rand_param(rng, "pos_embed.W_pos", Tn, dm, 0.5);
  P Wqkv = rand_param(rng, "attn.W_qkv", 3 * dm, dm, 0.4), WO = rand_param(rng, "attn.W_O", dm, dm, 0.4);
  P g = rand_param(rng, "ln.weight", 1, dm), be = rand_param(rng, "ln.bias", 1, dm, 0.1);
  P WU = rand_param(rng, "unembed.W_U", vocab, dm, 0.4);
  IndexList pos_ids(static_cast<std::size_t>(nb * Tn));
  for (std::size_t i = 0; i < pos_ids.size(); ++i) pos_ids[i] = static_cast<Index>(i) % Tn;
  expect_grad(
      [&](T& t) {
        const V x = add(embedding(t.param(WE), tokens, Tn), embedding(t.param(pos), pos_ids, Tn));
        const V xn = layer_norm(x, t.param(g), t.param(be));
        const V qkv = linear(xn, t.param(Wqkv));
        const V a = attention(slice_cols(qkv, 0, dm), slice_cols(qkv, dm, dm), slice_cols(qkv, 2 * dm, dm), Tn, H);
        const V r = add(x, linear(a, t.param(WO)));
        return cross_entropy(linear(last_position(r, Tn), t.param(WU)), y);
      },
      {&WE, &pos, &Wqkv, &WO, &g, &be, &WU});
}

TEST_CASE("linear and onehot_matmul carry a forward multiplier c") {
  for (std::uint64_t seed : {41, 42}) {
    Rng rng(seed);
    const Index n = 2 + rng.integer(4), in = 2 + rng.integer(5), out = 1 + rng.integer(4);
    const double c = 0.3 + rng.uniform();
    P x = rand_param(rng, "x", n, in), W = rand_param(rng, "weight", out, in), b = rand_param(rng, "bias", 1, out);
    expect_grad([&](T& t) { return project(t, linear(t.param(x), t.param(W), t.param(b), c)); }, {&x, &W, &b});
    expect_grad([&](T& t) { return project(t, linear(t.param(x), t.param(W), V{}, c)); }, {&x, &W});
    T t;
    const M y = linear(t.param(x), t.param(W), t.param(b), c).value();
    CHECK((y - ((c * x.value * W.value.transpose()).rowwise() + b.value.row(0))).norm() < 1e-12);  // bias unscaled
    const IndexList ids{0, in - 1, 1, 0};
    expect_grad([&](T& tt) { return project(tt, onehot_matmul(tt.param(W), ids, 2, 1, c)); }, {&W});
    const M g = onehot_matmul(t.param(W), ids, 2, 1, c).value();
    CHECK((g.row(0) - c * (W.value.col(0) + W.value.col(in - 1)).transpose()).norm() < 1e-12);
  }
  T t;
  P x("x", M::Ones(2, 3)), W("weight", M::Ones(4, 3));
  CHECK_THROWS_WITH_AS(linear(t.param(x), t.param(W), V{}, std::nan("")),
                       "grokscope::linear: the multiplier must be finite", std::invalid_argument);
  CHECK_THROWS_WITH_AS(onehot_matmul(t.param(W), IndexList{0}, 1, 1, INFINITY),
                       "grokscope::onehot_matmul: the multiplier must be finite", std::invalid_argument);
}

TEST_CASE("linear_quadratic is x + c x² in one op") {
  for (std::uint64_t seed : {43, 44}) {
    Rng rng(seed);
    P a = rand_param(rng, "a", 3 + rng.integer(3), 2 + rng.integer(3), 1.5);
    const double c = rng.normal();
    expect_grad([&](T& t) { return project(t, linear_quadratic(t.param(a), c)); }, {&a});
    T t;
    const V v = t.param(a);
    CHECK((linear_quadratic(v, c).value() - add(v, scale(square(v), c)).value()).norm() < 1e-12);
  }
  T t;
  P a("a", M::Ones(1, 1));
  CHECK_THROWS_WITH_AS(linear_quadratic(t.param(a), std::nan("")),
                       "grokscope::linear_quadratic: the coefficient must be finite", std::invalid_argument);
}

TEST_CASE("a fresh gradient buffer is assigned, an accumulating one is added to") {
  // x feeds two ops: the first VJP to arrive assigns into x's (uninitialised) buffer, the
  // second accumulates; the sum must be exact whichever order the ops run in.
  Rng rng(45);
  P w = rand_param(rng, "w", 4, 3);
  T t;
  const V x = scale(t.param(w), 1.0);
  const V y = add(relu(x), square(x));
  t.backward(sum(y));
  const M expect = (w.value.array() > 0).cast<double>().matrix() + 2 * w.value;
  CHECK((x.grad() - expect).norm() < 1e-12);
  CHECK((w.grad - expect).norm() < 1e-12);
}

namespace {
Matrix<double> torch_fixture(const std::string& c, const std::string& name) {
  return load_npy<double>(test::fixture("torch/" + c + "/" + name + ".npy"));
}
IndexList as_ids(const Matrix<double>& m) {
  IndexList ids;
  for (Index i = 0; i < m.size(); ++i) ids.push_back(static_cast<Index>(m.data()[i]));
  return ids;
}
// Logits with the target `margin` above the largest other logit (V = 7, float32).
Matrix<float> margin_logits(const std::vector<double>& margins, IndexList& targets) {
  Rng rng(21);
  Matrix<float> z = rng.normal_matrix(static_cast<Index>(margins.size()), 7).cast<float>();
  targets.clear();
  for (std::size_t i = 0; i < margins.size(); ++i) {
    const Index t = static_cast<Index>(i * 3 % 7), r = static_cast<Index>(i);
    z(r, t) = z.row(r).maxCoeff() + static_cast<float>(margins[i]);
    targets.push_back(t);
  }
  return z;
}
}  // namespace

TEST_CASE("stable cross-entropy: in float32 every row of dZ sums to zero, at margins 20, 25 and 40") {
  IndexList y;
  const Matrix<float> z0 = margin_logits({3, 20, 25, 40}, y);
  for (CrossEntropyPrecision prec : {CrossEntropyPrecision::Stable, CrossEntropyPrecision::Native}) {
    Tape<float> t;
    Parameter<float> z("z", z0);
    t.backward(cross_entropy(t.param(z), y, prec));
    for (Index i = 0; i < z0.rows(); ++i) {
      CAPTURE(i);
      const double row_sum = z.grad.row(i).cast<double>().sum();
      const double scale = z.grad.row(i).cast<double>().cwiseAbs().maxCoeff();
      const double target = z.grad(i, y[static_cast<std::size_t>(i)]);
      if (prec == CrossEntropyPrecision::Stable) {
        CHECK(target < 0);                         // the target's logit is still pulled up...
        CHECK(std::abs(row_sum) <= 1e-6 * scale);  // ...exactly as much as the others are pushed down
      } else if (i > 0) {
        CHECK(target == 0.0f);  // PyTorch's float32 behaviour: the target entry rounds away
        CHECK(row_sum > 0.5 * scale);
      }
    }
  }
}

TEST_CASE("native cross-entropy matches torch float32 (F.cross_entropy), zero target gradients included") {
  const Matrix<double> zd = torch_fixture("ce_float32", "logits"), ref = torch_fixture("ce_float32", "grad.logits");
  const IndexList y = as_ids(torch_fixture("ce_float32", "targets"));
  Tape<float> t;
  Parameter<float> z("z", zd.cast<float>());
  const Var<float> loss = cross_entropy(t.param(z), y, CrossEntropyPrecision::Native);
  CHECK(loss.item() == doctest::Approx(torch_fixture("ce_float32", "loss")(0, 0)).epsilon(1e-6));
  t.backward(loss);
  for (Index i = 0; i < ref.rows(); ++i)
    for (Index j = 0; j < ref.cols(); ++j) {
      CAPTURE(i);
      CAPTURE(j);
      if (ref(i, j) == 0)
        CHECK(z.grad(i, j) == 0.0f);
      else
        CHECK(static_cast<double>(z.grad(i, j)) == doctest::Approx(ref(i, j)).epsilon(2e-6));
    }
  // In double both precisions agree and pass the finite-difference check.
  Rng rng(4);
  P zz = rand_param(rng, "z", 5, 6, 3.0);
  const IndexList yy{0, 5, 2, 2, 1};
  // (losses of a few units: central differences carry about 1e-10 of rounding, 1e-5 of the 1e-4 floor)
  expect_grad([&](T& tt) { return cross_entropy(tt.param(zz), yy, CrossEntropyPrecision::Native); }, {&zz}, 2e-5);
  T a, b;
  P z1("z", zz.value), z2("z", zz.value);
  a.backward(cross_entropy(a.param(z1), yy, CrossEntropyPrecision::Native));
  b.backward(cross_entropy(b.param(z2), yy));
  CHECK((z1.grad - z2.grad).cwiseAbs().maxCoeff() < 1e-15);
}

TEST_CASE("StableMax cross-entropy: finite differences, Prieto et al.'s formula in torch, saturation") {
  for (std::uint64_t seed : {31, 32, 33}) {
    Rng rng(seed);
    const Index n = 1 + rng.integer(4), k = 2 + rng.integer(5);
    P z = rand_param(rng, "z", n, k, 3.0);
    IndexList y;
    for (Index i = 0; i < n; ++i) y.push_back(rng.integer(k));
    // losses of a few units and s only once differentiable at 0: central differences are good to
    // about 1e-5 of the 1e-4 floor here (the torch fixture below checks to 1e-14)
    expect_grad([&](T& t) { return stablemax_cross_entropy(t.param(z), y); }, {&z}, 2e-5);
  }
  const Matrix<double> zd = torch_fixture("stablemax", "logits");
  const IndexList y = as_ids(torch_fixture("stablemax", "targets"));
  T t;
  P z("z", zd);
  const V loss = stablemax_cross_entropy(t.param(z), y);
  CHECK(loss.item() == doctest::Approx(torch_fixture("stablemax", "loss")(0, 0)).epsilon(1e-13));
  CHECK(loss_in_double(loss) == loss.item());
  t.backward(loss);
  CHECK((z.grad - torch_fixture("stablemax", "grad.logits")).cwiseAbs().maxCoeff() < 1e-14);
  // A margin of 40 in float32: softmax's target gradient is 0, StableMax's is not (p_t = 41/45).
  Tape<float> tf;
  Parameter<float> zf("z", Matrix<float>::Zero(1, 5));
  zf.value(0, 2) = 40;
  tf.backward(stablemax_cross_entropy(tf.param(zf), IndexList{2}));
  CHECK(zf.grad(0, 2) == doctest::Approx(1.0 / 45 - 1.0 / 41).epsilon(1e-6));
  CHECK(zf.grad(0, 0) == doctest::Approx(1.0 / 45).epsilon(1e-6));
  CHECK_THROWS_WITH_AS(stablemax_cross_entropy(t.param(z), IndexList{0}),
                       "grokscope::stablemax_cross_entropy: logits are 5x6 but there are 1 targets",
                       std::invalid_argument);
}
