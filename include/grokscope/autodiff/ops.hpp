// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file The ops of the tape, each a forward and a hand-written vector-Jacobian product.
///
/// Conventions: samples are rows; `dX` is the gradient of the loss with respect to X; every
/// backward term is annotated with the forward line it differentiates and accumulates with +=.
/// Shape errors throw std::invalid_argument naming the op and both shapes. Elementwise work on
/// large matrices runs row-parallel (core/parallel.hpp); a VJP that covers its whole input writes
/// a fresh gradient buffer with = instead of zero-filling it first (Tape::grad_target).

#include <grokscope/autodiff/tape.hpp>
#include <grokscope/core/check.hpp>
#include <grokscope/core/config.hpp>
#include <grokscope/core/gemm.hpp>
#include <grokscope/core/parallel.hpp>
#include <grokscope/core/types.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace grokscope {

/// Tanh approximation or exact erf form of GELU (PyTorch `approximate='tanh'` / `'none'`).
enum class GeluApprox { Tanh, Erf };

namespace detail {

// StableMax's s(x) and s′(x) (Prieto et al. 2025).
inline double stablemax_s(double x) { return x >= 0 ? x + 1.0 : 1.0 / (1.0 - x); }
inline double stablemax_ds(double x) { return x >= 0 ? 1.0 : 1.0 / ((1.0 - x) * (1.0 - x)); }
inline double stablemax_dds(double x) { return x >= 0 ? 0.0 : 2.0 / ((1.0 - x) * (1.0 - x) * (1.0 - x)); }

template <typename S>
Tape<S>& tape_of(const char* where, std::initializer_list<const Var<S>*> vars) {
  Tape<S>* t = nullptr;
  for (const Var<S>* v : vars) {
    require(v->valid(), where, "invalid (default-constructed) variable");
    if (t == nullptr) t = v->tape;
    require(v->tape == t, where, "variables belong to different tapes");
    if (v->id >= t->size()) throw_invalid(where, "variable " + std::to_string(v->id) + " is stale (tape was reset)");
  }
  return *t;
}

// Broadcast modes of binary elementwise ops: b has a's shape, is a row (1 × d), a column (n × 1)
// or a scalar (1 × 1).
enum Broadcast : Index { Same = 0, Row = 1, Col = 2, Scalar = 3 };

template <typename S>
Index broadcast_mode(const char* where, const Matrix<S>& a, const Matrix<S>& b) {
  if (a.rows() == b.rows() && a.cols() == b.cols()) return Same;
  if (b.rows() == 1 && b.cols() == 1) return Scalar;
  if (b.rows() == 1 && b.cols() == a.cols()) return Row;
  if (b.cols() == 1 && b.rows() == a.rows()) return Col;
  throw_invalid(where, "a is " + shape_string(a) + " but b is " + shape_string(b) + " (b must match a, or be 1x" +
                           std::to_string(a.cols()) + ", " + std::to_string(a.rows()) + "x1 or 1x1)");
}

// y = op(a, b expanded to a's shape), row-parallel; op combines two same-shape expressions.
template <typename S, typename Op>
void broadcast_rows(Matrix<S>& y, const Matrix<S>& A, const Matrix<S>& B, Index mode, Op&& op) {
  y.resize(A.rows(), A.cols());
  parallel_rows(A.rows(), A.cols(), [&](Index r0, Index r1) {
    auto out = row_range(y, r0, r1);
    const auto a = row_range(A, r0, r1);
    const Index h = r1 - r0;
    switch (mode) {
      case Same:
        out = op(a, row_range(B, r0, r1));
        break;
      case Row:
        out = op(a, B.row(0).replicate(h, 1));
        break;
      case Col:
        out = op(a, B.col(0).segment(r0, h).replicate(1, A.cols()));
        break;
      default:
        out = op(a, Matrix<S>::Constant(h, A.cols(), B(0, 0)));
        break;
    }
  });
}

// Reduces a full-shape gradient `g` onto b's broadcast shape and adds it to `db`.
template <typename S, typename G>
void accumulate_broadcast(Matrix<S>& db, const G& g, Index mode) {
  switch (mode) {
    case Same:
      db += g;
      break;
    case Row:
      db += g.colwise().sum();
      break;
    case Col:
      db += g.rowwise().sum();
      break;
    default:
      db(0, 0) += g.sum();
      break;
  }
}

// dst = e when dst is a fresh gradient buffer, dst += e otherwise.
template <typename D, typename E>
void put(bool fresh, D&& dst, const E& e) {
  if (fresh)
    dst = e;
  else
    dst += e;
}

// Sets rows [r0, r1) of y to f(rows [r0, r1) of x), row-parallel; y takes x's shape.
// `cost` is the rough number of scalar operations per entry.
template <typename S, typename F>
void map_rows(Matrix<S>& y, const Matrix<S>& x, Index cost, F&& f) {
  y.resize(x.rows(), x.cols());
  parallel_rows(x.rows(), x.cols() * cost, [&](Index r0, Index r1) { f(row_range(y, r0, r1), row_range(x, r0, r1)); });
}

// The VJP of an elementwise op: dx (=|+=) g(dy rows, x rows, y rows) on every row, row-parallel.
template <typename S, typename G>
void elementwise_vjp(Tape<S>& tp, Node<S>& nd, int ix, Index cost, G&& g) {
  if (!tp.needs_grad(ix)) return;
  bool fresh = false;
  Matrix<S>& dx = tp.grad_target(ix, fresh);
  const Matrix<S>& X = tp.in_value(ix);
  const Matrix<S>& Y = nd.own_value;
  const Matrix<S>& dy = tp.dy(nd);
  parallel_rows(dx.rows(), dx.cols() * cost, [&](Index r0, Index r1) {
    put(fresh, row_range(dx, r0, r1).array(),
        g(row_range(dy, r0, r1).array(), row_range(X, r0, r1).array(), row_range(Y, r0, r1).array()));
  });
}

// The tangent rule of an elementwise op: ẏ = f′(x) ∘ ẋ, row-parallel; fp(x rows, y rows) is f′
// as an array expression.
template <typename S, typename F>
void elementwise_jvp(Tape<S>& tp, Node<S>& nd, Index cost, F&& fp) {
  const Matrix<S>& X = tp.in_value(nd.inputs[0]);
  const Matrix<S>& dX = *tp.in_tangent(nd.inputs[0]);
  const Matrix<S>& Y = nd.own_value;
  nd.own_tangent.resize(X.rows(), X.cols());
  parallel_rows(X.rows(), X.cols() * cost, [&](Index r0, Index r1) {
    row_range(nd.own_tangent, r0, r1).array() =
        row_range(dX, r0, r1).array() * fp(row_range(X, r0, r1).array(), row_range(Y, r0, r1).array());
  });
}

// The curvature rule of an elementwise op: R{x̄} += f″(x) ∘ ȳ ∘ ẋ, row-parallel; fpp(x rows, y rows)
// is f″ as an array expression.
template <typename S, typename F>
void elementwise_curvature(Tape<S>& tp, Node<S>& nd, Index cost, F&& fpp) {
  const int ix = nd.inputs[0];
  if (!tp.needs_grad(ix)) return;
  const Matrix<S>& X = tp.in_value(ix);
  const Matrix<S>& dX = *tp.in_tangent(ix);
  const Matrix<S>& Y = nd.own_value;
  const Matrix<S>& g = nd.own_grad;
  Matrix<S>& r = tp.rgrad_acc(ix);
  parallel_rows(X.rows(), X.cols() * cost, [&](Index r0, Index r1) {
    row_range(r, r0, r1).array() += row_range(g, r0, r1).array() * row_range(dX, r0, r1).array() *
                                    fpp(row_range(X, r0, r1).array(), row_range(Y, r0, r1).array());
  });
}

// C (=|+=) op(A) op(B), op transposing when asked (core/gemm.hpp: no allocation per call).
template <typename S>
void gemm(Matrix<S>& C, bool accumulate, const Matrix<S>& A, bool ta, const Matrix<S>& B, bool tb) {
  gemm(C, accumulate, S(1), A, ta, B, tb);
}

// out (=|+=) A ∘ b, b expanded to A's shape by its broadcast mode.
template <typename S>
void mul_broadcast(Matrix<S>& out, bool accumulate, const Matrix<S>& A, const Matrix<S>& B, Index mode) {
  if (!accumulate) out.resize(A.rows(), A.cols());
  switch (mode) {
    case Same:
      put(!accumulate, out, A.cwiseProduct(B));
      break;
    case Row:
      put(!accumulate, out.array(), A.array().rowwise() * B.row(0).array());
      break;
    case Col:
      put(!accumulate, out.array(), A.array().colwise() * B.col(0).array());
      break;
    default:
      put(!accumulate, out, A * B(0, 0));
      break;
  }
}

// The tangent rule of a ± b with broadcasting: ẏ = ȧ ± expand(ḃ).
template <typename S>
void add_tangent(Tape<S>& tp, Node<S>& nd, S sign) {
  const Matrix<S>* da = tp.in_tangent(nd.inputs[0]);
  const Matrix<S>* db = tp.in_tangent(nd.inputs[1]);
  Matrix<S>& y = nd.own_tangent;
  if (da)
    y = *da;
  else
    y.setZero(nd.own_value.rows(), nd.own_value.cols());
  if (!db) return;
  switch (nd.iattr[0]) {
    case Same:
      y += sign * *db;
      break;
    case Row:
      y.rowwise() += sign * db->row(0);
      break;
    case Col:
      y.colwise() += sign * db->col(0);
      break;
    default:
      y.array() += sign * (*db)(0, 0);
      break;
  }
}

// dst.row(ids[i]) += src.row(i / k) for every i (ids may repeat), with results that do not depend
// on the thread count:
// - unique ids (no row of dst is hit twice): threads write dst directly;
// - many ids into a small dst (dst no larger than a quarter of src): src's rows are cut into 4
//   fixed chunks, each scattered into its own block of `scratch` (threads take chunks: the rows
//   they produced in the previous op, still in their cache), and the blocks are added to dst in
//   chunk order;
// - otherwise every entry is summed in the order of i, threads taking disjoint column ranges.
template <typename S>
void scatter_add_rows(Matrix<S>& dst, const Matrix<S>& src, const IndexList& ids, Index k, Matrix<S>& scratch,
                      bool unique = false) {
  const Index rows = static_cast<Index>(ids.size()) / k, V = dst.rows(), C = dst.cols();
  auto scatter = [&](S* out, Index r0, Index r1, Index c0, Index c1) {  // out: V × C, row-major
    for (Index r = r0; r < r1; ++r)
      for (Index j = 0; j < k; ++j) {
        S* d = out + ids[static_cast<std::size_t>(r * k + j)] * C;
        const S* s = src.row(r).data();
        for (Index c = c0; c < c1; ++c) d[c] += s[c];
      }
  };
  constexpr Index chunks = 4;
  if (unique) {
    parallel_rows(rows, k * C, [&](Index r0, Index r1) { scatter(dst.data(), r0, r1, 0, C); });
  } else if (chunks * V <= rows * k && rows * k * C >= chunks * kParallelGrain) {
    scratch.resize(chunks * V, C);
    const int threads = std::min<int>(parallel_threads(rows, k * C), static_cast<int>(chunks));
    parallel_team(threads, [&](Index t, Index nt) {
      const auto [q0, q1] = thread_share(chunks, t, nt);
      for (Index q = q0; q < q1; ++q) {
        auto part = scratch.middleRows(q * V, V);
        part.setZero();
        const auto [r0, r1] = thread_share(rows, q, chunks);
        scatter(part.data(), r0, r1, 0, C);
      }
    });
    parallel_rows(V, chunks * C, [&](Index v0, Index v1) {
      for (Index q = 0; q < chunks; ++q) row_range(dst, v0, v1) += scratch.middleRows(q * V + v0, v1 - v0);
    });
  } else {
    parallel_rows(C, rows * k, [&](Index c0, Index c1) { scatter(dst.data(), 0, rows, c0, c1); });
  }
}

template <typename S>
void check_ids(const char* where, const IndexList& ids, Index bound, const char* what) {
  for (std::size_t i = 0; i < ids.size(); ++i)
    if (ids[i] < 0 || ids[i] >= bound)
      throw_invalid(where, std::string(what) + " " + std::to_string(ids[i]) + " at position " + std::to_string(i) +
                               " is out of range [0, " + std::to_string(bound) + ")");
}

}  // namespace detail

// ----------------------------------------------------------------------------------------------
// Matrix products

/// C = op(a) op(b), where op transposes when asked. a: (m,k) b: (k,n) -> C: (m,n).
template <typename S>
Var<S> matmul(const Var<S>& a, const Var<S>& b, bool trans_a = false, bool trans_b = false) {
  Tape<S>& t = detail::tape_of("matmul", {&a, &b});
  const Matrix<S>& A = a.value();
  const Matrix<S>& B = b.value();
  const Index ak = trans_a ? A.rows() : A.cols();
  const Index bk = trans_b ? B.cols() : B.rows();
  if (!(ak == bk))
    throw_invalid("matmul", "inner dimensions differ: op(a) is " + std::to_string(trans_a ? A.cols() : A.rows()) + "x" +
                                std::to_string(ak) + " (a is " + shape_string(A) + ") but op(b) is " +
                                std::to_string(bk) + "x" + std::to_string(trans_b ? B.rows() : B.cols()) + " (b is " +
                                shape_string(B) + ")");
  Node<S>& n = t.make_node(OpKind::MatMul, {a.id, b.id});
  n.iattr[0] = trans_a;
  n.iattr[1] = trans_b;
  detail::gemm(n.own_value, false, A, trans_a, B, trans_b);
  if (trans_a) n.rows_per_example = 0;
  n.backward = [](Tape<S>& tp, Node<S>& nd) {
    const int ia = nd.inputs[0], ib = nd.inputs[1];
    const Matrix<S>& A = tp.in_value(ia);
    const Matrix<S>& B = tp.in_value(ib);
    const Matrix<S>& dC = tp.dy(nd);
    const bool ta = nd.iattr[0] != 0, tb = nd.iattr[1] != 0;
    bool fresh = false;
    if (tp.needs_grad(ia)) {
      Matrix<S>& dA = tp.grad_target(ia, fresh);
      if (!ta)
        detail::gemm(dA, !fresh, dC, false, B, !tb);  // Ā = C̄ op(B)ᵀ
      else
        detail::gemm(dA, !fresh, B, tb, dC, true);  // Ā = op(B) C̄ᵀ
    }
    if (tp.needs_grad(ib)) {
      Matrix<S>& dB = tp.grad_target(ib, fresh);
      if (!tb)
        detail::gemm(dB, !fresh, A, !ta, dC, false);  // B̄ = op(A)ᵀ C̄
      else
        detail::gemm(dB, !fresh, dC, true, A, ta);  // B̄ = C̄ᵀ op(A)
    }
  };
  n.tangent = [](Tape<S>& tp, Node<S>& nd) {  // Ċ = op(Ȧ) op(B) + op(A) op(Ḃ)
    const int ia = nd.inputs[0], ib = nd.inputs[1];
    const bool ta = nd.iattr[0] != 0, tb = nd.iattr[1] != 0;
    const Matrix<S>* dA = tp.in_tangent(ia);
    const Matrix<S>* dB = tp.in_tangent(ib);
    if (dA) detail::gemm(nd.own_tangent, false, *dA, ta, tp.in_value(ib), tb);
    if (dB) detail::gemm(nd.own_tangent, dA != nullptr, tp.in_value(ia), ta, *dB, tb);
  };
  n.curvature = [](Tape<S>& tp, Node<S>& nd) {  // each input's VJP with the other input replaced by its tangent
    const int ia = nd.inputs[0], ib = nd.inputs[1];
    const bool ta = nd.iattr[0] != 0, tb = nd.iattr[1] != 0;
    const Matrix<S>& dC = nd.own_grad;
    const Matrix<S>* dA = tp.in_tangent(ia);
    const Matrix<S>* dB = tp.in_tangent(ib);
    if (dB && tp.needs_grad(ia)) {
      Matrix<S>& r = tp.rgrad_acc(ia);
      if (!ta)
        detail::gemm(r, true, dC, false, *dB, !tb);  // Ā = C̄ op(B)ᵀ
      else
        detail::gemm(r, true, *dB, tb, dC, true);  // Ā = op(B) C̄ᵀ
    }
    if (dA && tp.needs_grad(ib)) {
      Matrix<S>& r = tp.rgrad_acc(ib);
      if (!tb)
        detail::gemm(r, true, *dA, !ta, dC, false);  // B̄ = op(A)ᵀ C̄
      else
        detail::gemm(r, true, dC, true, *dA, ta);  // B̄ = C̄ᵀ op(A)
    }
  };
  return t.var(n);
}

/// Linear layer in PyTorch layout: y = c · x Wᵀ (+ b). x: (n,in) W: (out,in) b: (1,out) -> y: (n,out).
/// Pass a default-constructed Var as `b` for no bias. The multiplier c (the NTK and mean-field
/// parameterisations' 1/√fan_in) rides on the GEMM instead of costing a pass of its own.
template <typename S>
Var<S> linear(const Var<S>& x, const Var<S>& W, const Var<S>& b = Var<S>{}, double c = 1.0) {
  Tape<S>& t = b.valid() ? detail::tape_of("linear", {&x, &W, &b}) : detail::tape_of("linear", {&x, &W});
  const Matrix<S>& X = x.value();
  const Matrix<S>& Wv = W.value();
  if (!(X.cols() == Wv.cols()))
    throw_invalid("linear", "x is " + shape_string(X) + " but weight is " + shape_string(Wv) +
                                " (expected x.cols == weight.cols, weight is out x in)");
  if (b.valid())
    if (!(b.rows() == 1 && b.cols() == Wv.rows()))
      throw_invalid("linear", "bias is " + shape_string(b.value()) + " but weight is " + shape_string(Wv) +
                                  " (expected bias 1x" + std::to_string(Wv.rows()) + ")");
  require(std::isfinite(c), "linear", "the multiplier must be finite");
  Node<S>& n = b.valid() ? t.make_node(OpKind::Linear, {x.id, W.id, b.id}) : t.make_node(OpKind::Linear, {x.id, W.id});
  n.attr[0] = c;
  detail::gemm(n.own_value, false, static_cast<S>(c), X, false, Wv, true);  // c rides on the GEMM's alpha
  if (b.valid()) {
    Matrix<S>& y = n.own_value;
    const auto bias = b.value().row(0);
    detail::parallel_rows(y.rows(), y.cols(),
                          [&](Index r0, Index r1) { detail::row_range(y, r0, r1).rowwise() += bias; });
  }
  n.backward = [](Tape<S>& tp, Node<S>& nd) {
    const int ix = nd.inputs[0], iw = nd.inputs[1];
    const Matrix<S>& dy = tp.dy(nd);  // (n,out)
    const S c = static_cast<S>(nd.attr[0]);
    bool fresh = false;
    if (tp.needs_grad(ix)) {
      Matrix<S>& dx = tp.grad_target(ix, fresh);
      detail::gemm(dx, !fresh, c, dy, false, tp.in_value(iw), false);  // y = c x Wᵀ -> dx = c dy W
    }
    if (tp.needs_grad(iw)) detail::gemm(tp.grad_acc(iw), true, c, dy, true, tp.in_value(ix), false);  // dW = c dyᵀ x
    if (nd.inputs.size() == 3 && tp.needs_grad(nd.inputs[2]))
      tp.grad_acc(nd.inputs[2]) += dy.colwise().sum();  // y += b -> db = Σ_rows dy
  };
  n.tangent = [](Tape<S>& tp, Node<S>& nd) {  // ẏ = c (ẋ Wᵀ + x Ẇᵀ) + ḃ
    const int ix = nd.inputs[0], iw = nd.inputs[1];
    const S c = static_cast<S>(nd.attr[0]);
    const Matrix<S>* dx = tp.in_tangent(ix);
    const Matrix<S>* dW = tp.in_tangent(iw);
    const Matrix<S>* db = nd.inputs.size() == 3 ? tp.in_tangent(nd.inputs[2]) : nullptr;
    Matrix<S>& y = nd.own_tangent;
    if (dx) detail::gemm(y, false, c, *dx, false, tp.in_value(iw), true);
    if (dW) detail::gemm(y, dx != nullptr, c, tp.in_value(ix), false, *dW, true);
    if (!dx && !dW) y.setZero(nd.own_value.rows(), nd.own_value.cols());
    if (db) y.rowwise() += db->row(0);
  };
  n.curvature = [](Tape<S>& tp, Node<S>& nd) {
    const int ix = nd.inputs[0], iw = nd.inputs[1];
    const S c = static_cast<S>(nd.attr[0]);
    const Matrix<S>& dy = nd.own_grad;
    if (const Matrix<S>* dW = tp.in_tangent(iw); dW && tp.needs_grad(ix))
      detail::gemm(tp.rgrad_acc(ix), true, c, dy, false, *dW, false);  // x̄ = c ȳ W
    if (const Matrix<S>* dx = tp.in_tangent(ix); dx && tp.needs_grad(iw))
      detail::gemm(tp.rgrad_acc(iw), true, c, dy, true, *dx, false);  // W̄ = c ȳᵀ x
  };
  return t.var(n);
}

// ----------------------------------------------------------------------------------------------
// Elementwise binary ops with broadcasting of b (same shape, 1×d row, n×1 column or 1×1)

/// a + b (b broadcast over rows, columns or everything).
template <typename S>
Var<S> add(const Var<S>& a, const Var<S>& b) {
  Tape<S>& t = detail::tape_of("add", {&a, &b});
  const Index mode = detail::broadcast_mode("add", a.value(), b.value());
  Node<S>& n = t.make_node(OpKind::Add, {a.id, b.id});
  n.iattr[0] = mode;
  const Matrix<S>& A = a.value();
  const Matrix<S>& B = b.value();
  detail::broadcast_rows(n.own_value, A, B, mode, [](const auto& x, const auto& z) { return x + z; });
  n.backward = [](Tape<S>& tp, Node<S>& nd) {
    const Matrix<S>& dy = tp.dy(nd);
    detail::elementwise_vjp(tp, nd, nd.inputs[0], 1, [](auto g, auto, auto) { return g; });  // da = dy
    if (tp.needs_grad(nd.inputs[1]))
      detail::accumulate_broadcast(tp.grad_acc(nd.inputs[1]), dy, nd.iattr[0]);  // db = reduce(dy)
  };
  n.tangent = [](Tape<S>& tp, Node<S>& nd) { detail::add_tangent(tp, nd, S(1)); };  // ẏ = ȧ + ḃ
  n.curvature = &Tape<S>::no_curvature;
  return t.var(n);
}

/// a − b (b broadcast as in add).
template <typename S>
Var<S> sub(const Var<S>& a, const Var<S>& b) {
  Tape<S>& t = detail::tape_of("sub", {&a, &b});
  const Index mode = detail::broadcast_mode("sub", a.value(), b.value());
  Node<S>& n = t.make_node(OpKind::Sub, {a.id, b.id});
  n.iattr[0] = mode;
  const Matrix<S>& A = a.value();
  const Matrix<S>& B = b.value();
  detail::broadcast_rows(n.own_value, A, B, mode, [](const auto& x, const auto& z) { return x - z; });
  n.backward = [](Tape<S>& tp, Node<S>& nd) {
    const Matrix<S>& dy = tp.dy(nd);
    detail::elementwise_vjp(tp, nd, nd.inputs[0], 1, [](auto g, auto, auto) { return g; });  // da = dy
    if (tp.needs_grad(nd.inputs[1]))
      detail::accumulate_broadcast(tp.grad_acc(nd.inputs[1]), -dy, nd.iattr[0]);  // db = −reduce(dy)
  };
  n.tangent = [](Tape<S>& tp, Node<S>& nd) { detail::add_tangent(tp, nd, S(-1)); };  // ẏ = ȧ − ḃ
  n.curvature = &Tape<S>::no_curvature;
  return t.var(n);
}

/// Elementwise a ∘ b (b broadcast as in add).
template <typename S>
Var<S> mul(const Var<S>& a, const Var<S>& b) {
  Tape<S>& t = detail::tape_of("mul", {&a, &b});
  const Index mode = detail::broadcast_mode("mul", a.value(), b.value());
  Node<S>& n = t.make_node(OpKind::Mul, {a.id, b.id});
  n.iattr[0] = mode;
  const Matrix<S>& A = a.value();
  const Matrix<S>& B = b.value();
  switch (mode) {
    case detail::Same:
      n.own_value = A.cwiseProduct(B);
      break;
    case detail::Row:
      n.own_value = A.array().rowwise() * B.row(0).array();
      break;
    case detail::Col:
      n.own_value = A.array().colwise() * B.col(0).array();
      break;
    default:
      n.own_value = A * B(0, 0);
      break;
  }
  n.backward = [](Tape<S>& tp, Node<S>& nd) {
    const int ia = nd.inputs[0], ib = nd.inputs[1];
    const Matrix<S>& A = tp.in_value(ia);
    const Matrix<S>& B = tp.in_value(ib);
    const Matrix<S>& dy = tp.dy(nd);
    const Index mode = nd.iattr[0];
    if (tp.needs_grad(ia)) {  // da = dy ∘ b
      Matrix<S>& da = tp.grad_acc(ia);
      switch (mode) {
        case detail::Same:
          da += dy.cwiseProduct(B);
          break;
        case detail::Row:
          da.array() += dy.array().rowwise() * B.row(0).array();
          break;
        case detail::Col:
          da.array() += dy.array().colwise() * B.col(0).array();
          break;
        default:
          da += dy * B(0, 0);
          break;
      }
    }
    if (tp.needs_grad(ib))  // db = reduce(dy ∘ a)
      detail::accumulate_broadcast(tp.grad_acc(ib), dy.cwiseProduct(A), mode);
  };
  n.tangent = [](Tape<S>& tp, Node<S>& nd) {  // ẏ = ȧ ∘ b + a ∘ ḃ
    const int ia = nd.inputs[0], ib = nd.inputs[1];
    const Matrix<S>* da = tp.in_tangent(ia);
    const Matrix<S>* db = tp.in_tangent(ib);
    if (da) detail::mul_broadcast(nd.own_tangent, false, *da, tp.in_value(ib), nd.iattr[0]);
    if (db) detail::mul_broadcast(nd.own_tangent, da != nullptr, tp.in_value(ia), *db, nd.iattr[0]);
  };
  n.curvature = [](Tape<S>& tp, Node<S>& nd) {
    const int ia = nd.inputs[0], ib = nd.inputs[1];
    const Matrix<S>& dy = nd.own_grad;
    if (const Matrix<S>* db = tp.in_tangent(ib); db && tp.needs_grad(ia))
      detail::mul_broadcast(tp.rgrad_acc(ia), true, dy, *db, nd.iattr[0]);  // ā = ȳ ∘ b
    if (const Matrix<S>* da = tp.in_tangent(ia); da && tp.needs_grad(ib))
      detail::accumulate_broadcast(tp.rgrad_acc(ib), dy.cwiseProduct(*da), nd.iattr[0]);  // b̄ = reduce(ȳ ∘ a)
  };
  return t.var(n);
}

template <typename S>
Var<S> operator+(const Var<S>& a, const Var<S>& b) {
  return add(a, b);
}
template <typename S>
Var<S> operator-(const Var<S>& a, const Var<S>& b) {
  return sub(a, b);
}

/// c · x for a constant c.
template <typename S>
Var<S> scale(const Var<S>& x, double c) {
  Tape<S>& t = detail::tape_of("scale", {&x});
  Node<S>& n = t.make_node(OpKind::Scale, {x.id});
  n.attr[0] = c;
  const S cs = static_cast<S>(c);
  detail::map_rows(n.own_value, x.value(), 1, [cs](auto y, auto xr) { y = xr * cs; });
  n.backward = [](Tape<S>& tp, Node<S>& nd) {
    const S c = static_cast<S>(nd.attr[0]);
    detail::elementwise_vjp(tp, nd, nd.inputs[0], 1, [c](auto g, auto, auto) { return g * c; });  // dx = c dy
  };
  n.tangent = [](Tape<S>& tp, Node<S>& nd) {  // ẏ = c ẋ
    nd.own_tangent = static_cast<S>(nd.attr[0]) * *tp.in_tangent(nd.inputs[0]);
  };
  n.curvature = &Tape<S>::no_curvature;
  return t.var(n);
}

template <typename S>
Var<S> operator-(const Var<S>& x) {
  return scale(x, -1.0);
}

/// x + c for a constant c.
template <typename S>
Var<S> add_scalar(const Var<S>& x, double c) {
  Tape<S>& t = detail::tape_of("add_scalar", {&x});
  Node<S>& n = t.make_node(OpKind::AddScalar, {x.id});
  n.attr[0] = c;
  const S cs = static_cast<S>(c);
  detail::map_rows(n.own_value, x.value(), 1, [cs](auto y, auto xr) { y = xr.array() + cs; });
  n.backward = [](Tape<S>& tp, Node<S>& nd) {
    detail::elementwise_vjp(tp, nd, nd.inputs[0], 1, [](auto g, auto, auto) { return g; });  // dx = dy
  };
  n.tangent = [](Tape<S>& tp, Node<S>& nd) { nd.own_tangent = *tp.in_tangent(nd.inputs[0]); };  // ẏ = ẋ
  n.curvature = &Tape<S>::no_curvature;
  return t.var(n);
}

// ----------------------------------------------------------------------------------------------
// Reductions

namespace detail {
template <typename S>
Var<S> reduce(const char* where, OpKind kind, const Var<S>& x, bool mean) {
  Tape<S>& t = tape_of(where, {&x});
  const Matrix<S>& X = x.value();
  require_nonempty(where, "x", X);
  Node<S>& n = t.make_node(kind, {x.id});
  double count = 1;
  if (kind == OpKind::Sum) {
    count = static_cast<double>(X.size());
    n.own_value.resize(1, 1);
    n.own_value(0, 0) = X.sum();
    n.rows_per_example = 0;
  } else if (kind == OpKind::RowSum) {
    count = static_cast<double>(X.cols());
    n.own_value = X.rowwise().sum();
  } else {
    count = static_cast<double>(X.rows());
    n.own_value = X.colwise().sum();
    n.rows_per_example = 0;
  }
  n.attr[0] = mean ? 1.0 / count : 1.0;
  if (mean) n.own_value *= static_cast<S>(n.attr[0]);
  n.backward = [](Tape<S>& tp, Node<S>& nd) {
    const int ix = nd.inputs[0];
    if (!tp.needs_grad(ix)) return;
    Matrix<S>& dx = tp.grad_acc(ix);
    const S c = static_cast<S>(nd.attr[0]);
    if (nd.kind == OpKind::Sum)
      dx.array() += c * tp.dy(nd)(0, 0);  // y = c Σ x
    else if (nd.kind == OpKind::RowSum)
      dx.colwise() += c * tp.dy(nd).col(0);  // y_i = c Σ_j x_ij
    else
      dx.rowwise() += c * tp.dy(nd).row(0);  // y_j = c Σ_i x_ij
  };
  n.tangent = [](Tape<S>& tp, Node<S>& nd) {  // the same reduction of ẋ
    const Matrix<S>& dx = *tp.in_tangent(nd.inputs[0]);
    const S c = static_cast<S>(nd.attr[0]);
    if (nd.kind == OpKind::Sum) {
      nd.own_tangent.resize(1, 1);
      nd.own_tangent(0, 0) = c * dx.sum();
    } else if (nd.kind == OpKind::RowSum) {
      nd.own_tangent = c * dx.rowwise().sum();
    } else {
      nd.own_tangent = c * dx.colwise().sum();
    }
  };
  n.curvature = &Tape<S>::no_curvature;
  return t.var(n);
}
}  // namespace detail

/// Sum of all entries (1 × 1).
template <typename S>
Var<S> sum(const Var<S>& x) {
  return detail::reduce("sum", OpKind::Sum, x, false);
}
/// Mean of all entries (1 × 1).
template <typename S>
Var<S> mean(const Var<S>& x) {
  return detail::reduce("mean", OpKind::Sum, x, true);
}
/// Sum along each row (n × 1).
template <typename S>
Var<S> row_sum(const Var<S>& x) {
  return detail::reduce("row_sum", OpKind::RowSum, x, false);
}
/// Mean along each row (n × 1).
template <typename S>
Var<S> row_mean(const Var<S>& x) {
  return detail::reduce("row_mean", OpKind::RowSum, x, true);
}
/// Sum down each column (1 × d).
template <typename S>
Var<S> col_sum(const Var<S>& x) {
  return detail::reduce("col_sum", OpKind::ColSum, x, false);
}
/// Mean down each column (1 × d).
template <typename S>
Var<S> col_mean(const Var<S>& x) {
  return detail::reduce("col_mean", OpKind::ColSum, x, true);
}

// ----------------------------------------------------------------------------------------------
// Elementwise nonlinearities

namespace detail {
constexpr double kSqrt2OverPi = 0.79788456080286535588;  // √(2/π)
constexpr double kGeluCubic = 0.044715;
constexpr double kInvSqrt2 = 0.70710678118654752440;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;  // 1/√(2π)

template <typename S>
struct Erf {
  S operator()(S v) const { return std::erf(v); }
};

// GELU's first and second derivatives. Tanh form: y = ½x(1 + tanh u), u = c(x + k x³):
//   y′ = ½(1 + t) + ½x(1 − t²)u′,  y″ = (1 − t²)(u′ + ½x(u″ − 2t u′²)),  t = tanh u, u′ = c(1 + 3k x²),
//   u″ = 6ck x. Erf form: y = x Φ(x): y′ = Φ(x) + x φ(x), y″ = φ(x)(2 − x²).
template <typename S>
struct GeluTanhD1 {
  S operator()(S x) const {
    const S c = S(kSqrt2OverPi), k = S(kGeluCubic);
    const S th = std::tanh(c * (x + k * x * x * x));
    return S(0.5) * (S(1) + th) + S(0.5) * x * (S(1) - th * th) * c * (S(1) + S(3) * k * x * x);
  }
};
template <typename S>
struct GeluTanhD2 {
  S operator()(S x) const {
    const S c = S(kSqrt2OverPi), k = S(kGeluCubic);
    const S th = std::tanh(c * (x + k * x * x * x));
    const S u1 = c * (S(1) + S(3) * k * x * x), u2 = S(6) * c * k * x;
    return (S(1) - th * th) * (u1 + S(0.5) * x * (u2 - S(2) * th * u1 * u1));
  }
};
template <typename S>
struct GeluErfD1 {
  S operator()(S x) const {
    return S(0.5) * (S(1) + std::erf(x * S(kInvSqrt2))) + x * S(kInvSqrt2Pi) * std::exp(S(-0.5) * x * x);
  }
};
template <typename S>
struct GeluErfD2 {
  S operator()(S x) const { return S(kInvSqrt2Pi) * std::exp(S(-0.5) * x * x) * (S(2) - x * x); }
};

template <typename S>
Node<S>& unary(const char* where, OpKind kind, const Var<S>& x) {
  Tape<S>& t = tape_of(where, {&x});
  return t.make_node(kind, {x.id});
}
}  // namespace detail

/// max(x, 0).
template <typename S>
Var<S> relu(const Var<S>& x) {
  Node<S>& n = detail::unary("relu", OpKind::Relu, x);
  detail::map_rows(n.own_value, x.value(), 1, [](auto y, auto xr) { y = xr.cwiseMax(S(0)); });
  n.backward = [](Tape<S>& tp, Node<S>& nd) {  // y = max(x,0) -> dx = dy·[x>0]
    detail::elementwise_vjp(tp, nd, nd.inputs[0], 1, [](auto g, auto xa, auto) { return (xa > S(0)).select(g, S(0)); });
  };
  n.tangent = [](Tape<S>& tp, Node<S>& nd) {  // ẏ = [x>0] ẋ
    detail::elementwise_jvp(tp, nd, 1, [](auto xa, auto) { return (xa > S(0)).template cast<S>(); });
  };
  n.curvature = &Tape<S>::no_curvature;  // y″ = 0 wherever it exists (PyTorch's double backward too)
  return x.tape->var(n);
}

/// GELU, tanh approximation (default, as GPT-2 and Nanda et al.) or exact erf form.
template <typename S>
Var<S> gelu(const Var<S>& x, GeluApprox approx = GeluApprox::Tanh) {
  Node<S>& n = detail::unary("gelu", approx == GeluApprox::Tanh ? OpKind::GeluTanh : OpKind::GeluErf, x);
  if (approx == GeluApprox::Tanh) {
    const S c = S(detail::kSqrt2OverPi), k = S(detail::kGeluCubic);
    detail::map_rows(n.own_value, x.value(), 20, [c, k](auto y, auto xr) {
      const auto X = xr.array();
      y = (S(0.5) * X * (S(1) + (c * (X + k * X.cube())).tanh())).matrix();
    });
  } else {
    detail::map_rows(n.own_value, x.value(), 20, [](auto y, auto xr) {
      const auto X = xr.array();
      y = (S(0.5) * X * (S(1) + (X * S(detail::kInvSqrt2)).unaryExpr(detail::Erf<S>{}))).matrix();
    });
  }
  n.backward = [](Tape<S>& tp, Node<S>& nd) {  // dx = dy·y′(x) (derivatives in detail::Gelu*)
    if (nd.kind == OpKind::GeluTanh)
      detail::elementwise_vjp(tp, nd, nd.inputs[0], 20,
                              [](auto g, auto xa, auto) { return g * xa.unaryExpr(detail::GeluTanhD1<S>{}); });
    else
      detail::elementwise_vjp(tp, nd, nd.inputs[0], 20,
                              [](auto g, auto xa, auto) { return g * xa.unaryExpr(detail::GeluErfD1<S>{}); });
  };
  n.tangent = [](Tape<S>& tp, Node<S>& nd) {  // ẏ = y′(x) ẋ
    if (nd.kind == OpKind::GeluTanh)
      detail::elementwise_jvp(tp, nd, 20, [](auto xa, auto) { return xa.unaryExpr(detail::GeluTanhD1<S>{}); });
    else
      detail::elementwise_jvp(tp, nd, 20, [](auto xa, auto) { return xa.unaryExpr(detail::GeluErfD1<S>{}); });
  };
  n.curvature = [](Tape<S>& tp, Node<S>& nd) {  // R{x̄} += y″(x) ȳ ẋ
    if (nd.kind == OpKind::GeluTanh)
      detail::elementwise_curvature(tp, nd, 20, [](auto xa, auto) { return xa.unaryExpr(detail::GeluTanhD2<S>{}); });
    else
      detail::elementwise_curvature(tp, nd, 20, [](auto xa, auto) { return xa.unaryExpr(detail::GeluErfD2<S>{}); });
  };
  return x.tape->var(n);
}

/// tanh(x).
template <typename S>
Var<S> tanh(const Var<S>& x) {
  Node<S>& n = detail::unary("tanh", OpKind::Tanh, x);
  detail::map_rows(n.own_value, x.value(), 10, [](auto y, auto xr) { y = xr.array().tanh().matrix(); });
  n.backward = [](Tape<S>& tp, Node<S>& nd) {  // dx = dy(1 − y²)
    detail::elementwise_vjp(tp, nd, nd.inputs[0], 1, [](auto g, auto, auto ya) { return g * (S(1) - ya.square()); });
  };
  n.tangent = [](Tape<S>& tp, Node<S>& nd) {  // ẏ = (1 − y²) ẋ
    detail::elementwise_jvp(tp, nd, 1, [](auto, auto ya) { return S(1) - ya.square(); });
  };
  n.curvature = [](Tape<S>& tp, Node<S>& nd) {  // y″ = −2y(1 − y²)
    detail::elementwise_curvature(tp, nd, 2, [](auto, auto ya) { return S(-2) * ya * (S(1) - ya.square()); });
  };
  return x.tape->var(n);
}

/// 1 / (1 + exp(−x)).
template <typename S>
Var<S> sigmoid(const Var<S>& x) {
  Node<S>& n = detail::unary("sigmoid", OpKind::Sigmoid, x);
  detail::map_rows(n.own_value, x.value(), 10,
                   [](auto y, auto xr) { y = (S(1) / (S(1) + (-xr.array()).exp())).matrix(); });
  n.backward = [](Tape<S>& tp, Node<S>& nd) {  // dx = dy·y(1 − y)
    detail::elementwise_vjp(tp, nd, nd.inputs[0], 1, [](auto g, auto, auto ya) { return g * ya * (S(1) - ya); });
  };
  n.tangent = [](Tape<S>& tp, Node<S>& nd) {  // ẏ = y(1 − y) ẋ
    detail::elementwise_jvp(tp, nd, 1, [](auto, auto ya) { return ya * (S(1) - ya); });
  };
  n.curvature = [](Tape<S>& tp, Node<S>& nd) {  // y″ = y(1 − y)(1 − 2y)
    detail::elementwise_curvature(tp, nd, 2, [](auto, auto ya) { return ya * (S(1) - ya) * (S(1) - S(2) * ya); });
  };
  return x.tape->var(n);
}

/// x² (Gromov's quadratic activation).
template <typename S>
Var<S> square(const Var<S>& x) {
  Node<S>& n = detail::unary("square", OpKind::Square, x);
  detail::map_rows(n.own_value, x.value(), 1, [](auto y, auto xr) { y = xr.array().square().matrix(); });
  n.backward = [](Tape<S>& tp, Node<S>& nd) {  // dx = 2x dy
    detail::elementwise_vjp(tp, nd, nd.inputs[0], 1, [](auto g, auto xa, auto) { return S(2) * xa * g; });
  };
  n.tangent = [](Tape<S>& tp, Node<S>& nd) {  // ẏ = 2x ẋ
    detail::elementwise_jvp(tp, nd, 1, [](auto xa, auto) { return S(2) * xa; });
  };
  n.curvature = [](Tape<S>& tp, Node<S>& nd) {  // y″ = 2
    detail::elementwise_curvature(tp, nd, 1, [](auto xa, auto) { return xa * S(0) + S(2); });
  };
  return x.tape->var(n);
}

/// x + c·x², in one pass (Kumar et al.'s φ(h) = h + (ε/2)h² with c = ε/2).
template <typename S>
Var<S> linear_quadratic(const Var<S>& x, double c) {
  Node<S>& n = detail::unary("linear_quadratic", OpKind::LinearQuadratic, x);
  require(std::isfinite(c), "linear_quadratic", "the coefficient must be finite");
  n.attr[0] = c;
  const S cs = static_cast<S>(c);
  detail::map_rows(n.own_value, x.value(), 2,
                   [cs](auto y, auto xr) { y = (xr.array() + cs * xr.array().square()).matrix(); });
  n.backward = [](Tape<S>& tp, Node<S>& nd) {  // dx = dy (1 + 2c x)
    const S c2 = static_cast<S>(2 * nd.attr[0]);
    detail::elementwise_vjp(tp, nd, nd.inputs[0], 2, [c2](auto g, auto xa, auto) { return g * (S(1) + c2 * xa); });
  };
  n.tangent = [](Tape<S>& tp, Node<S>& nd) {  // ẏ = (1 + 2c x) ẋ
    const S c2 = static_cast<S>(2 * nd.attr[0]);
    detail::elementwise_jvp(tp, nd, 2, [c2](auto xa, auto) { return S(1) + c2 * xa; });
  };
  n.curvature = [](Tape<S>& tp, Node<S>& nd) {  // y″ = 2c
    const S c2 = static_cast<S>(2 * nd.attr[0]);
    detail::elementwise_curvature(tp, nd, 1, [c2](auto xa, auto) { return xa * S(0) + c2; });
  };
  return x.tape->var(n);
}

/// exp(x).
template <typename S>
Var<S> exp(const Var<S>& x) {
  Node<S>& n = detail::unary("exp", OpKind::Exp, x);
  detail::map_rows(n.own_value, x.value(), 10, [](auto y, auto xr) { y = xr.array().exp().matrix(); });
  n.backward = [](Tape<S>& tp, Node<S>& nd) {  // dx = dy·y
    detail::elementwise_vjp(tp, nd, nd.inputs[0], 1, [](auto g, auto, auto ya) { return g * ya; });
  };
  n.tangent = [](Tape<S>& tp, Node<S>& nd) {  // ẏ = y ẋ
    detail::elementwise_jvp(tp, nd, 1, [](auto, auto ya) { return ya; });
  };
  n.curvature = [](Tape<S>& tp, Node<S>& nd) {  // y″ = y
    detail::elementwise_curvature(tp, nd, 1, [](auto, auto ya) { return ya; });
  };
  return x.tape->var(n);
}

/// Natural log (non-positive entries give −inf or NaN, as in every framework).
template <typename S>
Var<S> log(const Var<S>& x) {
  Node<S>& n = detail::unary("log", OpKind::Log, x);
  detail::map_rows(n.own_value, x.value(), 10, [](auto y, auto xr) { y = xr.array().log().matrix(); });
  n.backward = [](Tape<S>& tp, Node<S>& nd) {  // dx = dy / x
    detail::elementwise_vjp(tp, nd, nd.inputs[0], 1, [](auto g, auto xa, auto) { return g / xa; });
  };
  n.tangent = [](Tape<S>& tp, Node<S>& nd) {  // ẏ = ẋ / x
    detail::elementwise_jvp(tp, nd, 1, [](auto xa, auto) { return xa.inverse(); });
  };
  n.curvature = [](Tape<S>& tp, Node<S>& nd) {  // y″ = −1/x²
    detail::elementwise_curvature(tp, nd, 2, [](auto xa, auto) { return -xa.square().inverse(); });
  };
  return x.tape->var(n);
}

// ----------------------------------------------------------------------------------------------
// Softmax family (over each row)

/// Row-wise softmax.
template <typename S>
Var<S> softmax(const Var<S>& x) {
  Node<S>& n = detail::unary("softmax", OpKind::Softmax, x);
  const Matrix<S>& X = x.value();
  n.own_value = (X.colwise() - X.rowwise().maxCoeff()).array().exp().matrix();
  n.own_value.array().colwise() /= n.own_value.rowwise().sum().array();
  n.backward = [](Tape<S>& tp, Node<S>& nd) {
    const int ix = nd.inputs[0];
    if (!tp.needs_grad(ix)) return;
    const Matrix<S>& y = nd.own_value;
    const Matrix<S>& dy = tp.dy(nd);
    const Vector<S> dot = dy.cwiseProduct(y).rowwise().sum();             // Σ_j dy_ij y_ij
    tp.grad_acc(ix).array() += y.array() * (dy.colwise() - dot).array();  // dx = y ∘ (dy − dot)
  };
  n.tangent = [](Tape<S>& tp, Node<S>& nd) {  // ẏ = y ∘ (ẋ − Σ_j y_j ẋ_j)
    const Matrix<S>& y = nd.own_value;
    const Matrix<S>& dx = *tp.in_tangent(nd.inputs[0]);
    const Vector<S> dot = dx.cwiseProduct(y).rowwise().sum();
    nd.own_tangent = (y.array() * (dx.colwise() - dot).array()).matrix();
  };
  n.curvature = [](Tape<S>& tp, Node<S>& nd) {  // x̄ = y ∘ (ȳ − ⟨ȳ, y⟩) moved along ẏ
    const int ix = nd.inputs[0];
    if (!tp.needs_grad(ix)) return;
    const Matrix<S>& y = nd.own_value;
    const Matrix<S>& dyt = nd.own_tangent;
    const Matrix<S>& g = nd.own_grad;
    const Vector<S> gy = g.cwiseProduct(y).rowwise().sum(), gyt = g.cwiseProduct(dyt).rowwise().sum();
    tp.rgrad_acc(ix).array() +=
        dyt.array() * (g.colwise() - gy).array() - y.array().colwise() * gyt.array();  // ẏ∘(ȳ − ⟨ȳ,y⟩) − y⟨ȳ,ẏ⟩
  };
  return x.tape->var(n);
}

/// Row-wise log-softmax (computed with the max subtracted).
template <typename S>
Var<S> log_softmax(const Var<S>& x) {
  Node<S>& n = detail::unary("log_softmax", OpKind::LogSoftmax, x);
  const Matrix<S>& X = x.value();
  n.own_value = X.colwise() - X.rowwise().maxCoeff();
  const Vector<S> lse = n.own_value.array().exp().rowwise().sum().log();
  n.own_value.colwise() -= lse;
  n.backward = [](Tape<S>& tp, Node<S>& nd) {
    const int ix = nd.inputs[0];
    if (!tp.needs_grad(ix)) return;
    const Matrix<S>& dy = tp.dy(nd);
    const Vector<S> tot = dy.rowwise().sum();
    tp.grad_acc(ix).noalias() +=
        dy - (nd.own_value.array().exp().colwise() * tot.array()).matrix();  // dx = dy − softmax·Σdy
  };
  n.tangent = [](Tape<S>& tp, Node<S>& nd) {  // ẏ = ẋ − Σ_j p_j ẋ_j, p = exp(y)
    const Matrix<S>& dx = *tp.in_tangent(nd.inputs[0]);
    const Vector<S> m = (nd.own_value.array().exp() * dx.array()).rowwise().sum();
    nd.own_tangent = dx.colwise() - m;
  };
  n.curvature = [](Tape<S>& tp, Node<S>& nd) {  // x̄ = ȳ − p Σȳ moved: −ṗ Σȳ, ṗ = p ∘ ẏ
    const int ix = nd.inputs[0];
    if (!tp.needs_grad(ix)) return;
    const Vector<S> tot = nd.own_grad.rowwise().sum();
    tp.rgrad_acc(ix).array() -= (nd.own_value.array().exp() * nd.own_tangent.array()).colwise() * tot.array();
  };
  return x.tape->var(n);
}

/// How cross_entropy forms its gradient. In float64 both agree to rounding; in float32 they
/// differ once the softmax saturates, which is where grokking without weight decay lives.
enum class CrossEntropyPrecision {
  /// Default. Log-sum-exp and probabilities in double; the target's entry of dZ is formed in
  /// double as −(g/n)·Σ_{j≠t} p_j and rounded once, so every row of dZ sums to zero (to
  /// rounding) in any training precision, however large the margin.
  Stable,
  /// As PyTorch's cross-entropy (log_softmax, then nll) in the training precision S: log-
  /// probabilities, probabilities and dz_t = −g/n + (g/n)·p_t all in S. In float32, once
  /// 1 − p_t is below half an ulp of 1 (about 6e-8: a margin near 16.6 + ln(V − 1)) dz_t is
  /// exactly 0 while the other entries are not, so the row no longer sums to zero and every
  /// logit is pushed up (Prieto et al. 2025's softmax collapse; the float mechanism proposed
  /// for Thilak et al.'s slingshots). For studying that effect; it matches torch float32.
  Native,
};

/// Name of a precision ("stable", "native").
inline const char* cross_entropy_precision_name(CrossEntropyPrecision p) {
  return p == CrossEntropyPrecision::Native ? "native" : "stable";
}

/// Mean cross-entropy of row-wise softmax(logits) against integer targets (n,V) -> (1,1); the loss
/// is accumulated in double whatever S is. `precision` chooses how the gradient is formed (see
/// CrossEntropyPrecision): the default keeps each row of dZ summing to zero in float32.
template <typename S>
Var<S> cross_entropy(const Var<S>& logits, const IndexList& targets,
                     CrossEntropyPrecision precision = CrossEntropyPrecision::Stable) {
  Tape<S>& t = detail::tape_of("cross_entropy", {&logits});
  const Matrix<S>& Z = logits.value();
  if (!(static_cast<Index>(targets.size()) == Z.rows()))
    throw_invalid("cross_entropy",
                  "logits are " + shape_string(Z) + " but there are " + std::to_string(targets.size()) + " targets");
  if (!(Z.rows() > 0 && Z.cols() > 0)) throw_invalid("cross_entropy", "logits are empty (" + shape_string(Z) + ")");
  detail::check_ids<S>("cross_entropy", targets, Z.cols(), "target");
  Node<S>& n = t.make_node(OpKind::CrossEntropy, {logits.id});
  n.ids = targets;
  n.rows_per_example = 0;
  const bool native = precision == CrossEntropyPrecision::Native;
  n.iattr[0] = native;
  // per-row losses, summed in row order below; the buffer is the calling thread's, kept across
  // steps (a reference, so that the parallel loop's threads write to this one)
  static thread_local std::vector<double> kept_row_loss;
  std::vector<double>& row_loss = kept_row_loss;
  row_loss.assign(static_cast<std::size_t>(Z.rows()), 0.0);
  if (native) {
    // log_softmax in S, as PyTorch: ls = (z − max) − log Σ exp(z − max); cached for backward
    n.cache0.resize(Z.rows(), Z.cols());
    detail::parallel_rows(Z.rows(), Z.cols() * 20, [&](Index r0, Index r1) {
      for (Index i = r0; i < r1; ++i) {
        auto row = n.cache0.row(i);
        row = Z.row(i).array() - Z.row(i).maxCoeff();
        const S lse = std::log(row.array().exp().sum());
        row.array() -= lse;
        row_loss[static_cast<std::size_t>(i)] = -static_cast<double>(row(targets[static_cast<std::size_t>(i)]));
      }
    });
  } else {
    // probabilities in double: p = softmax(z), loss = mean(lse(z) − z_t)
    n.dcache.resize(Z.rows(), Z.cols());
    detail::parallel_rows(Z.rows(), Z.cols() * 20, [&](Index r0, Index r1) {
      for (Index i = r0; i < r1; ++i) {
        auto row = n.dcache.row(i);
        row = Z.row(i).template cast<double>();
        const double mx = row.maxCoeff();
        row.array() -= mx;
        const double lse = std::log(row.array().exp().sum());
        row_loss[static_cast<std::size_t>(i)] = lse - row(targets[static_cast<std::size_t>(i)]);
        row.array() = (row.array() - lse).exp();
      }
    });
  }
  double total = 0;
  for (const double l : row_loss) total += l;
  n.own_value.resize(1, 1);
  n.own_value(0, 0) = static_cast<S>(total / static_cast<double>(Z.rows()));
  n.attr[0] = total / static_cast<double>(Z.rows());  // the loss in double
  n.backward = [](Tape<S>& tp, Node<S>& nd) {
    const int iz = nd.inputs[0];
    if (!tp.needs_grad(iz)) return;
    const bool nat = nd.iattr[0] != 0;
    const Index rows = nat ? nd.cache0.rows() : nd.dcache.rows();
    const double g = static_cast<double>(tp.dy(nd)(0, 0)) / static_cast<double>(rows);
    bool fresh = false;
    Matrix<S>& dz = tp.grad_target(iz, fresh);
    detail::parallel_rows(dz.rows(), dz.cols() * 2, [&](Index r0, Index r1) {
      for (Index i = r0; i < r1; ++i) {
        const Index ti = nd.ids[static_cast<std::size_t>(i)];
        if (nat) {  // PyTorch's log_softmax backward in S: dz = dy − exp(ls)·Σdy, dy = −g/n at t
          const S gs = static_cast<S>(g);
          detail::put(fresh, dz.row(i), (nd.cache0.row(i).array().exp() * gs).matrix());
          dz(i, ti) += -gs;  // -g + g·p_t, both rounded in S (0 once p_t rounds to 1)
          continue;
        }
        // dz = g/n (p − onehot(t)); the target entry from the other entries, in double
        auto p = nd.dcache.row(i);
        const double others = p.head(ti).sum() + p.tail(p.size() - ti - 1).sum();  // Σ_{j≠t} p_j, not 1 − p_t
        const S before = fresh ? S(0) : dz(i, ti);  // (adding g·p_t and taking it back would cancel in S)
        detail::put(fresh, dz.row(i), (g * p).template cast<S>());
        dz(i, ti) = before + static_cast<S>(-g * others);
      }
    });
  };
  // Forward mode and curvature with p = softmax(z) in double (exp of the saved log-probabilities
  // in native mode): L̇ = (1/n) Σ_i (⟨p_i, ż_i⟩ − ż_{i,t}); z̄ = (g/n)(p − e_t) moves by (g/n) ṗ,
  // ṗ = p ∘ (ż − ⟨p, ż⟩).
  n.tangent = [](Tape<S>& tp, Node<S>& nd) {
    const Matrix<S>& dZ = *tp.in_tangent(nd.inputs[0]);
    const bool nat = nd.iattr[0] != 0;
    double total = 0;
    for (Index i = 0; i < dZ.rows(); ++i) {
      const Index ti = nd.ids[static_cast<std::size_t>(i)];
      const double pz =
          nat ? (nd.cache0.row(i).array().exp().template cast<double>() * dZ.row(i).array().template cast<double>())
                    .sum()
              : (nd.dcache.row(i).array() * dZ.row(i).array().template cast<double>()).sum();
      total += pz - static_cast<double>(dZ(i, ti));
    }
    nd.own_tangent.resize(1, 1);
    nd.own_tangent(0, 0) = static_cast<S>(total / static_cast<double>(dZ.rows()));
  };
  n.curvature = [](Tape<S>& tp, Node<S>& nd) {
    const int iz = nd.inputs[0];
    if (!tp.needs_grad(iz)) return;
    const Matrix<S>& dZ = *tp.in_tangent(iz);
    const bool nat = nd.iattr[0] != 0;
    const double g = static_cast<double>(nd.own_grad(0, 0)) / static_cast<double>(dZ.rows());
    Matrix<S>& r = tp.rgrad_acc(iz);
    detail::parallel_rows(dZ.rows(), dZ.cols() * 4, [&](Index r0, Index r1) {
      Eigen::Array<double, 1, Eigen::Dynamic> p, dz;
      for (Index i = r0; i < r1; ++i) {
        p = nat ? Eigen::Array<double, 1, Eigen::Dynamic>(nd.cache0.row(i).array().exp().template cast<double>())
                : Eigen::Array<double, 1, Eigen::Dynamic>(nd.dcache.row(i).array());
        dz = dZ.row(i).array().template cast<double>();
        r.row(i).array() += (g * p * (dz - (p * dz).sum())).template cast<S>();
      }
    });
  };
  return t.var(n);
}

/// StableMax cross-entropy (Prieto et al. 2025): s(x) = x + 1 for x ≥ 0, 1/(1 − x) for x < 0,
/// p_i = s(z_i)/Σ_j s(z_j), loss = mean(−log p_t), computed in double whatever S is. s grows
/// linearly instead of exponentially, so the probabilities saturate only at margins far beyond
/// float's range. VJP: ∂L/∂z_i = (s′(z_i)/Σ_j s(z_j) − [i = t]·s′(z_t)/s(z_t))/n, with s′ = 1
/// for x ≥ 0 and 1/(1 − x)² for x < 0.
template <typename S>
Var<S> stablemax_cross_entropy(const Var<S>& logits, const IndexList& targets) {
  Tape<S>& t = detail::tape_of("stablemax_cross_entropy", {&logits});
  const Matrix<S>& Z = logits.value();
  if (!(static_cast<Index>(targets.size()) == Z.rows()))
    throw_invalid("stablemax_cross_entropy",
                  "logits are " + shape_string(Z) + " but there are " + std::to_string(targets.size()) + " targets");
  if (!(Z.rows() > 0 && Z.cols() > 0))
    throw_invalid("stablemax_cross_entropy", "logits are empty (" + shape_string(Z) + ")");
  detail::check_ids<S>("stablemax_cross_entropy", targets, Z.cols(), "target");
  Node<S>& n = t.make_node(OpKind::StableMaxCrossEntropy, {logits.id});
  n.ids = targets;
  n.rows_per_example = 0;
  // dcache: s′(z_i)/Σ s − [i = t] s′(z_t)/s(z_t), the per-row gradient before the 1/n factor
  n.dcache.resize(Z.rows(), Z.cols());
  static thread_local std::vector<double> kept_row_loss;  // the calling thread's, kept across steps
  std::vector<double>& row_loss = kept_row_loss;          // (the parallel loop writes to this one)
  row_loss.assign(static_cast<std::size_t>(Z.rows()), 0.0);
  detail::parallel_rows(Z.rows(), Z.cols() * 8, [&](Index r0, Index r1) {
    for (Index i = r0; i < r1; ++i) {
      auto row = n.dcache.row(i);
      double total = 0;
      for (Index j = 0; j < Z.cols(); ++j) total += detail::stablemax_s(static_cast<double>(Z(i, j)));
      const Index ti = targets[static_cast<std::size_t>(i)];
      const double zt = static_cast<double>(Z(i, ti)), st = detail::stablemax_s(zt);
      row_loss[static_cast<std::size_t>(i)] = std::log(total) - std::log(st);
      for (Index j = 0; j < Z.cols(); ++j) row(j) = detail::stablemax_ds(static_cast<double>(Z(i, j))) / total;
      row(ti) -= detail::stablemax_ds(zt) / st;
    }
  });
  double total = 0;
  for (const double l : row_loss) total += l;
  n.own_value.resize(1, 1);
  n.own_value(0, 0) = static_cast<S>(total / static_cast<double>(Z.rows()));
  n.attr[0] = total / static_cast<double>(Z.rows());
  n.backward = [](Tape<S>& tp, Node<S>& nd) {
    const int iz = nd.inputs[0];
    if (!tp.needs_grad(iz)) return;
    const double g = static_cast<double>(tp.dy(nd)(0, 0)) / static_cast<double>(nd.dcache.rows());
    bool fresh = false;
    Matrix<S>& dz = tp.grad_target(iz, fresh);
    detail::parallel_rows(dz.rows(), dz.cols() * 2, [&](Index r0, Index r1) {
      for (Index i = r0; i < r1; ++i) detail::put(fresh, dz.row(i), (g * nd.dcache.row(i)).template cast<S>());
    });
  };
  // L̇ = (1/n) Σ_i ⟨dcache_i, ż_i⟩. The curvature is (g/n) H_i ż_i with H_i the Hessian of
  // log Σ_j s(z_j) − log s(z_t): s″∘ż/Σ − s′⟨s′, ż⟩/Σ² − e_t (s″_t/s_t − s′_t²/s_t²) ż_t.
  n.tangent = [](Tape<S>& tp, Node<S>& nd) {
    const Matrix<S>& dZ = *tp.in_tangent(nd.inputs[0]);
    double total = 0;
    for (Index i = 0; i < dZ.rows(); ++i)
      total += (nd.dcache.row(i).array() * dZ.row(i).array().template cast<double>()).sum();
    nd.own_tangent.resize(1, 1);
    nd.own_tangent(0, 0) = static_cast<S>(total / static_cast<double>(dZ.rows()));
  };
  n.curvature = [](Tape<S>& tp, Node<S>& nd) {
    const int iz = nd.inputs[0];
    if (!tp.needs_grad(iz)) return;
    const Matrix<S>& Z = tp.in_value(iz);
    const Matrix<S>& dZ = *tp.in_tangent(iz);
    const double g = static_cast<double>(nd.own_grad(0, 0)) / static_cast<double>(Z.rows());
    Matrix<S>& r = tp.rgrad_acc(iz);
    detail::parallel_rows(Z.rows(), Z.cols() * 8, [&](Index r0, Index r1) {
      for (Index i = r0; i < r1; ++i) {
        double total = 0, sdz = 0;
        for (Index j = 0; j < Z.cols(); ++j) {
          const double z = static_cast<double>(Z(i, j));
          total += detail::stablemax_s(z);
          sdz += detail::stablemax_ds(z) * static_cast<double>(dZ(i, j));
        }
        for (Index j = 0; j < Z.cols(); ++j) {
          const double z = static_cast<double>(Z(i, j)), dz = static_cast<double>(dZ(i, j));
          const double hz = detail::stablemax_dds(z) * dz / total - detail::stablemax_ds(z) * sdz / (total * total);
          r(i, j) += static_cast<S>(g * hz);
        }
        const Index ti = nd.ids[static_cast<std::size_t>(i)];
        const double zt = static_cast<double>(Z(i, ti)), st = detail::stablemax_s(zt), ds = detail::stablemax_ds(zt);
        r(i, ti) -=
            static_cast<S>(g * (detail::stablemax_dds(zt) / st - ds * ds / (st * st)) * static_cast<double>(dZ(i, ti)));
      }
    });
  };
  return t.var(n);
}

/// The cross-entropy loss of a node made by cross_entropy, in double precision.
template <typename S>
double loss_in_double(const Var<S>& ce) {
  const Node<S>& n = ce.tape->node(ce.id);
  require(n.kind == OpKind::CrossEntropy || n.kind == OpKind::StableMaxCrossEntropy, "loss_in_double",
          "node is not a cross_entropy or stablemax_cross_entropy");
  return n.attr[0];
}

/// Mean squared error over all entries: mean((pred − target)²) -> (1,1) (PyTorch MSELoss default).
template <typename S>
Var<S> mse(const Var<S>& pred, const Var<S>& target) {
  Tape<S>& t = detail::tape_of("mse", {&pred, &target});
  require_same_shape("mse", "pred", pred.value(), "target", target.value());
  require_nonempty("mse", "pred", pred.value());
  Node<S>& n = t.make_node(OpKind::Mse, {pred.id, target.id});
  n.rows_per_example = 0;
  const Matrix<S>& P = pred.value();
  const Matrix<S>& Tg = target.value();
  n.cache0.resize(P.rows(), P.cols());
  static thread_local std::vector<double> kept_row_sq;  // the calling thread's, kept across steps
  std::vector<double>& row_sq = kept_row_sq;            // (summed in row order below)
  row_sq.assign(static_cast<std::size_t>(P.rows()), 0.0);
  detail::parallel_rows(P.rows(), P.cols() * 2, [&](Index r0, Index r1) {
    for (Index i = r0; i < r1; ++i) {
      n.cache0.row(i) = P.row(i) - Tg.row(i);
      row_sq[static_cast<std::size_t>(i)] = n.cache0.row(i).template cast<double>().squaredNorm();
    }
  });
  double total = 0;
  for (const double v : row_sq) total += v;
  n.own_value.resize(1, 1);
  n.own_value(0, 0) = static_cast<S>(total / static_cast<double>(n.cache0.size()));
  n.backward = [](Tape<S>& tp, Node<S>& nd) {
    const S g = S(2) * tp.dy(nd)(0, 0) / static_cast<S>(nd.cache0.size());
    const Matrix<S>& d = nd.cache0;
    for (int k = 0; k < 2; ++k) {  // dpred = 2(p − t)/N, dtarget = −2(p − t)/N
      const int in = nd.inputs[static_cast<std::size_t>(k)];
      if (!tp.needs_grad(in)) continue;
      const S gk = k == 0 ? g : -g;
      bool fresh = false;
      Matrix<S>& dx = tp.grad_target(in, fresh);
      detail::parallel_rows(d.rows(), d.cols(), [&](Index r0, Index r1) {
        detail::put(fresh, detail::row_range(dx, r0, r1), gk * detail::row_range(d, r0, r1));
      });
    }
  };
  n.tangent = [](Tape<S>& tp, Node<S>& nd) {  // L̇ = (2/N) Σ (p − t)(ṗ − ṫ), in double
    const Matrix<S>* dp = tp.in_tangent(nd.inputs[0]);
    const Matrix<S>* dt = tp.in_tangent(nd.inputs[1]);
    const Matrix<S>& d = nd.cache0;
    double total = 0;
    for (Index i = 0; i < d.rows(); ++i) {
      if (dp) total += (d.row(i).template cast<double>().array() * dp->row(i).template cast<double>().array()).sum();
      if (dt) total -= (d.row(i).template cast<double>().array() * dt->row(i).template cast<double>().array()).sum();
    }
    nd.own_tangent.resize(1, 1);
    nd.own_tangent(0, 0) = static_cast<S>(2 * total / static_cast<double>(d.size()));
  };
  n.curvature = [](Tape<S>& tp, Node<S>& nd) {  // p̄ = 2g(p − t)/N moves by 2g(ṗ − ṫ)/N; t̄ = −p̄
    const S g = S(2) * nd.own_grad(0, 0) / static_cast<S>(nd.cache0.size());
    const Matrix<S>* dp = tp.in_tangent(nd.inputs[0]);
    const Matrix<S>* dt = tp.in_tangent(nd.inputs[1]);
    for (int k = 0; k < 2; ++k) {
      const int in = nd.inputs[static_cast<std::size_t>(k)];
      if (!tp.needs_grad(in)) continue;
      const S gk = k == 0 ? g : -g;
      Matrix<S>& r = tp.rgrad_acc(in);
      if (dp) r += gk * *dp;
      if (dt) r -= gk * *dt;
    }
  };
  return t.var(n);
}

// ----------------------------------------------------------------------------------------------
// Normalisation

/// LayerNorm over each row: (x − μ)/√(σ² + eps) ∘ gamma + beta, with biased variance as PyTorch.
/// gamma, beta: (1,d); pass default-constructed Vars for no affine transform.
template <typename S>
Var<S> layer_norm(const Var<S>& x, const Var<S>& gamma = Var<S>{}, const Var<S>& beta = Var<S>{}, double eps = 1e-5) {
  Tape<S>& t = detail::tape_of("layer_norm", {&x});
  const Matrix<S>& X = x.value();
  // Zero rows (zero examples) is an empty result; zero columns has no mean to subtract.
  if (!(X.cols() > 0)) throw_invalid("layer_norm", "x has no columns (" + shape_string(X) + ")");
  require(eps >= 0, "layer_norm", "eps must be >= 0");
  std::vector<int> ins{x.id};
  for (const Var<S>* p : {&gamma, &beta}) {
    if (!p->valid()) continue;
    require(p->tape == &t, "layer_norm", "gamma/beta belong to another tape");
    if (!(p->rows() == 1 && p->cols() == X.cols()))
      throw_invalid("layer_norm", "x is " + shape_string(X) + " but gamma/beta is " + shape_string(p->value()) +
                                      " (expected 1x" + std::to_string(X.cols()) + ")");
  }
  require(gamma.valid() == beta.valid(), "layer_norm", "pass both gamma and beta, or neither");
  if (gamma.valid()) {
    ins.push_back(gamma.id);
    ins.push_back(beta.id);
  }
  Node<S>& n = t.make_node(OpKind::LayerNorm, ins);
  n.attr[0] = eps;
  const Index d = X.cols();
  const Vector<S> mu = X.rowwise().mean();
  n.cache0 = X.colwise() - mu;                                                                // x − μ
  n.cache1 = ((n.cache0.array().square().rowwise().sum() / S(d)) + S(eps)).rsqrt().matrix();  // rstd (n,1)
  n.cache0.array().colwise() *= n.cache1.col(0).array();                                      // x̂
  if (gamma.valid())
    n.own_value = (n.cache0.array().rowwise() * gamma.value().row(0).array()).rowwise() + beta.value().row(0).array();
  else
    n.own_value = n.cache0;
  n.backward = [](Tape<S>& tp, Node<S>& nd) {
    const Matrix<S>& xhat = nd.cache0;
    const Matrix<S>& dy = tp.dy(nd);
    const bool affine = nd.inputs.size() == 3;
    if (affine && tp.needs_grad(nd.inputs[1]))
      tp.grad_acc(nd.inputs[1]) += dy.cwiseProduct(xhat).colwise().sum();                        // dgamma = Σ dy∘x̂
    if (affine && tp.needs_grad(nd.inputs[2])) tp.grad_acc(nd.inputs[2]) += dy.colwise().sum();  // dbeta = Σ dy
    const int ix = nd.inputs[0];
    if (!tp.needs_grad(ix)) return;
    Matrix<S> dxhat =
        affine ? Matrix<S>(dy.array().rowwise() * tp.in_value(nd.inputs[1]).row(0).array()) : dy;  // dx̂ = dy∘gamma
    const Vector<S> m1 = dxhat.rowwise().mean();
    const Vector<S> m2 = dxhat.cwiseProduct(xhat).rowwise().mean();
    // dx = rstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂∘x̂))
    dxhat.colwise() -= m1;
    dxhat.array() -= xhat.array().colwise() * m2.array();
    tp.grad_acc(ix).array() += dxhat.array().colwise() * nd.cache1.col(0).array();
  };
  // Forward mode: x̂ moves by ẋ̂ = rstd·(ẋ − mean ẋ − x̂ mean(ẋ∘x̂)) (kept in tcache), and
  // ẏ = ẋ̂∘γ + x̂∘γ̇ + β̇.
  n.tangent = [](Tape<S>& tp, Node<S>& nd) {
    const Matrix<S>& xhat = nd.cache0;
    const bool affine = nd.inputs.size() == 3;
    Matrix<S>& xt = nd.tcache;
    if (const Matrix<S>* dx = tp.in_tangent(nd.inputs[0])) {
      const Vector<S> m1 = dx->rowwise().mean();
      const Vector<S> m2 = dx->cwiseProduct(xhat).rowwise().mean();
      xt = dx->colwise() - m1;
      xt.array() -= xhat.array().colwise() * m2.array();
      xt.array().colwise() *= nd.cache1.col(0).array();
    } else {
      xt.setZero(xhat.rows(), xhat.cols());
    }
    if (!affine) {
      nd.own_tangent = xt;
      return;
    }
    nd.own_tangent = xt.array().rowwise() * tp.in_value(nd.inputs[1]).row(0).array();
    if (const Matrix<S>* dgamma = tp.in_tangent(nd.inputs[1]))
      nd.own_tangent.array() += xhat.array().rowwise() * dgamma->row(0).array();
    if (const Matrix<S>* dbeta = tp.in_tangent(nd.inputs[2])) nd.own_tangent.rowwise() += dbeta->row(0);
  };
  // Curvature: with P(w) = w − mean w − x̂ mean(w∘x̂) and u = ȳ∘γ, x̄ = rstd·P(u) and γ̄ = Σ ȳ∘x̂.
  // Moving γ adds rstd·P(ȳ∘γ̇) to x̄; moving x adds Σ ȳ∘ẋ̂ to γ̄ and to x̄
  // ṙstd·P(u) − rstd·(ẋ̂ mean(u∘x̂) + x̂ mean(u∘ẋ̂)), with ṙstd = −rstd² mean(x̂∘ẋ).
  n.curvature = [](Tape<S>& tp, Node<S>& nd) {
    const Matrix<S>& xhat = nd.cache0;
    const Matrix<S>& xt = nd.tcache;
    const Matrix<S>& g = nd.own_grad;
    const auto rstd = nd.cache1.col(0).array();
    const bool affine = nd.inputs.size() == 3;
    const int ix = nd.inputs[0];
    const Matrix<S>* dx = tp.in_tangent(ix);
    if (affine && dx && tp.needs_grad(nd.inputs[1])) tp.rgrad_acc(nd.inputs[1]) += g.cwiseProduct(xt).colwise().sum();
    if (!tp.needs_grad(ix)) return;
    const auto project = [&xhat](Matrix<S> w) {  // P(w)
      const Vector<S> m1 = w.rowwise().mean();
      const Vector<S> m2 = w.cwiseProduct(xhat).rowwise().mean();
      w.colwise() -= m1;
      w.array() -= xhat.array().colwise() * m2.array();
      return w;
    };
    Matrix<S>& r = tp.rgrad_acc(ix);
    const Matrix<S> u = affine ? Matrix<S>(g.array().rowwise() * tp.in_value(nd.inputs[1]).row(0).array()) : g;
    if (const Matrix<S>* dgamma = affine ? tp.in_tangent(nd.inputs[1]) : nullptr)
      r.array() += project(g.array().rowwise() * dgamma->row(0).array()).array().colwise() * rstd;
    if (dx) {
      const Vector<S> rdot = -(rstd.square() * xhat.cwiseProduct(*dx).rowwise().mean().array()).matrix();
      const Vector<S> ux = u.cwiseProduct(xhat).rowwise().mean(), uxt = u.cwiseProduct(xt).rowwise().mean();
      r.array() += project(u).array().colwise() * rdot.array();
      r.array() -= (xt.array().colwise() * ux.array() + xhat.array().colwise() * uxt.array()).colwise() * rstd;
    }
  };
  return t.var(n);
}

// ----------------------------------------------------------------------------------------------
// Indexing

/// Embedding lookup: row i of the output is row ids[i] of W. W: (V,d) -> (len(ids), d).
/// `rows_per_example` = T when the ids are sequences of T tokens.
template <typename S>
Var<S> embedding(const Var<S>& W, const IndexList& ids, Index rows_per_example = 1) {
  Tape<S>& t = detail::tape_of("embedding", {&W});
  const Matrix<S>& Wv = W.value();
  detail::check_ids<S>("embedding", ids, Wv.rows(), "token id");
  if (!(rows_per_example >= 1 && static_cast<Index>(ids.size()) % rows_per_example == 0))
    throw_invalid("embedding", std::to_string(ids.size()) + " ids do not split into examples of " +
                                   std::to_string(rows_per_example) + " rows");
  Node<S>& n = t.make_node(OpKind::Embedding, {W.id});
  n.ids = ids;
  n.rows_per_example = rows_per_example;
  n.own_value.resize(static_cast<Index>(ids.size()), Wv.cols());
  detail::parallel_rows(n.own_value.rows(), Wv.cols(), [&](Index r0, Index r1) {
    for (Index i = r0; i < r1; ++i) n.own_value.row(i) = Wv.row(ids[static_cast<std::size_t>(i)]);
  });
  n.backward = [](Tape<S>& tp, Node<S>& nd) {
    const int iw = nd.inputs[0];
    if (!tp.needs_grad(iw)) return;
    detail::scatter_add_rows(tp.grad_acc(iw), tp.dy(nd), nd.ids, 1, nd.cache1);  // dW[ids[i]] += dy_i
  };
  n.tangent = [](Tape<S>& tp, Node<S>& nd) {  // ẏ_i = Ẇ[ids[i]]
    const Matrix<S>& dW = *tp.in_tangent(nd.inputs[0]);
    nd.own_tangent.resize(static_cast<Index>(nd.ids.size()), dW.cols());
    for (std::size_t i = 0; i < nd.ids.size(); ++i) nd.own_tangent.row(static_cast<Index>(i)) = dW.row(nd.ids[i]);
  };
  n.curvature = &Tape<S>::no_curvature;
  return t.var(n);
}

/// A linear map applied to one-hot inputs without forming them: output row r is
/// Σ_{t<k} W[:, ids[r·k + t]]ᵀ, i.e. concat(onehot(ids of row r)) multiplied by Wᵀ when the k
/// blocks share the columns of W. W: (out, V) in PyTorch layout -> (len(ids)/k, out).
/// k = 1 gathers embedding columns (Nanda et al.'s W_E is d_model × vocab); k = 2 with ids
/// (x, p + y) is a Linear(2p, N) layer on [onehot(x), onehot(y)]. `rows_per_example` as usual;
/// the output is multiplied by c (a layer's forward multiplier) in the same pass.
template <typename S>
Var<S> onehot_matmul(const Var<S>& W, const IndexList& ids, Index k = 1, Index rows_per_example = 1, double c = 1.0) {
  Tape<S>& t = detail::tape_of("onehot_matmul", {&W});
  const Matrix<S>& Wv = W.value();
  if (!(k >= 1 && static_cast<Index>(ids.size()) % k == 0))
    throw_invalid("onehot_matmul",
                  std::to_string(ids.size()) + " ids do not split into rows of k = " + std::to_string(k));
  detail::check_ids<S>("onehot_matmul", ids, Wv.cols(), "id");
  require(rows_per_example >= 1, "onehot_matmul", "rows_per_example must be >= 1");
  require(std::isfinite(c), "onehot_matmul", "the multiplier must be finite");
  Node<S>& n = t.make_node(OpKind::OneHotMatmul, {W.id});
  n.ids = ids;
  n.iattr[0] = k;
  n.attr[0] = c;
  const S cs = static_cast<S>(c);
  n.rows_per_example = rows_per_example;
  const Index rows = static_cast<Index>(ids.size()) / k;
  // Gather from Wᵀ (V, out) so that every read is a contiguous row.
  n.cache0 = Wv.transpose();
  n.own_value.resize(rows, Wv.rows());
  detail::parallel_rows(rows, k * Wv.rows(), [&](Index r0, Index r1) {
    for (Index r = r0; r < r1; ++r) {
      auto y = n.own_value.row(r);
      y = n.cache0.row(ids[static_cast<std::size_t>(r * k)]);
      for (Index j = 1; j < k; ++j) y += n.cache0.row(ids[static_cast<std::size_t>(r * k + j)]);
      if (c != 1.0) y *= cs;
    }
  });
  n.backward = [](Tape<S>& tp, Node<S>& nd) {
    const int iw = nd.inputs[0];
    if (!tp.needs_grad(iw)) return;
    Matrix<S>& dWt = nd.cache0;  // reuse as the (V, out) scatter buffer
    dWt.setZero();
    detail::scatter_add_rows(dWt, tp.dy(nd), nd.ids, nd.iattr[0], nd.cache1);
    tp.grad_acc(iw) += static_cast<S>(nd.attr[0]) * dWt.transpose();  // dW[:, id] += c dy_rᵀ for every id of row r
  };
  n.tangent = [](Tape<S>& tp, Node<S>& nd) {  // ẏ_r = c Σ_j Ẇ[:, ids[r·k + j]]ᵀ
    const Index k = nd.iattr[0];
    const S c = static_cast<S>(nd.attr[0]);
    nd.tcache = tp.in_tangent(nd.inputs[0])->transpose();
    const Index rows = static_cast<Index>(nd.ids.size()) / k;
    nd.own_tangent.resize(rows, nd.tcache.cols());
    for (Index r = 0; r < rows; ++r) {
      auto y = nd.own_tangent.row(r);
      y = nd.tcache.row(nd.ids[static_cast<std::size_t>(r * k)]);
      for (Index j = 1; j < k; ++j) y += nd.tcache.row(nd.ids[static_cast<std::size_t>(r * k + j)]);
      y *= c;
    }
  };
  n.curvature = &Tape<S>::no_curvature;
  return t.var(n);
}

/// Rows `ids` of x, in that order. The result has `rows_per_example` rows per example
/// (1 when one row per sequence is selected).
template <typename S>
Var<S> select_rows(const Var<S>& x, const IndexList& ids, Index rows_per_example = 1) {
  Tape<S>& t = detail::tape_of("select_rows", {&x});
  detail::check_ids<S>("select_rows", ids, x.rows(), "row");
  require(rows_per_example >= 0, "select_rows", "rows_per_example must be >= 0");
  Node<S>& n = t.make_node(OpKind::SelectRows, {x.id});
  n.ids = ids;
  n.rows_per_example = rows_per_example;
  const Matrix<S>& X = x.value();
  static thread_local std::vector<bool> seen;  // kept by the thread: no allocation per step
  seen.assign(static_cast<std::size_t>(X.rows()), false);
  n.iattr[0] = 1;  // every id distinct: the backward scatter has no conflicts
  for (const Index i : ids) {
    if (seen[static_cast<std::size_t>(i)]) n.iattr[0] = 0;
    seen[static_cast<std::size_t>(i)] = true;
  }
  n.own_value.resize(static_cast<Index>(ids.size()), X.cols());
  detail::parallel_rows(n.own_value.rows(), X.cols(), [&](Index r0, Index r1) {
    for (Index i = r0; i < r1; ++i) n.own_value.row(i) = X.row(ids[static_cast<std::size_t>(i)]);
  });
  n.backward = [](Tape<S>& tp, Node<S>& nd) {
    const int ix = nd.inputs[0];
    if (!tp.needs_grad(ix)) return;
    detail::scatter_add_rows(tp.grad_acc(ix), tp.dy(nd), nd.ids, 1, nd.cache1,
                             nd.iattr[0] != 0);  // dx[ids[i]] += dy_i
  };
  n.tangent = [](Tape<S>& tp, Node<S>& nd) {  // ẏ_i = ẋ[ids[i]]
    const Matrix<S>& dx = *tp.in_tangent(nd.inputs[0]);
    nd.own_tangent.resize(static_cast<Index>(nd.ids.size()), dx.cols());
    for (std::size_t i = 0; i < nd.ids.size(); ++i) nd.own_tangent.row(static_cast<Index>(i)) = dx.row(nd.ids[i]);
  };
  n.curvature = &Tape<S>::no_curvature;
  return t.var(n);
}

/// The last row of each example of T rows: x (n·T, d) -> (n, d).
template <typename S>
Var<S> last_position(const Var<S>& x, Index T) {
  if (!(T >= 1 && x.valid() && x.rows() % T == 0))
    throw_invalid("last_position", "x is " + (x.valid() ? shape_string(x.value()) : std::string("invalid")) +
                                       ", not a multiple of T = " + std::to_string(T) + " rows");
  static thread_local IndexList ids;  // kept by the thread: no allocation per step
  ids.resize(static_cast<std::size_t>(x.rows() / T));
  for (std::size_t b = 0; b < ids.size(); ++b) ids[b] = static_cast<Index>(b + 1) * T - 1;
  return select_rows(x, ids, 1);
}

/// Columns side by side: (n,d1), (n,d2), ... -> (n, d1+d2+...).
template <typename S>
Var<S> concat_cols(const std::vector<Var<S>>& xs) {
  require(!xs.empty(), "concat_cols", "no inputs");
  Tape<S>& t = detail::tape_of("concat_cols", {&xs[0]});
  std::vector<int> ins;
  Index cols = 0;
  for (const Var<S>& v : xs) {
    detail::tape_of("concat_cols", {&xs[0], &v});
    if (!(v.rows() == xs[0].rows()))
      throw_invalid("concat_cols", "first input is " + shape_string(xs[0].value()) + " but another is " +
                                       shape_string(v.value()) + " (row counts differ)");
    ins.push_back(v.id);
    cols += v.cols();
  }
  Node<S>& n = t.make_node(OpKind::ConcatCols, ins);
  n.own_value.resize(xs[0].rows(), cols);
  Index c = 0;
  for (const Var<S>& v : xs) {
    n.own_value.middleCols(c, v.cols()) = v.value();
    c += v.cols();
  }
  n.backward = [](Tape<S>& tp, Node<S>& nd) {
    Index c0 = 0;
    for (int in : nd.inputs) {
      const Index w = tp.in_value(in).cols();
      if (tp.needs_grad(in)) tp.grad_acc(in) += tp.dy(nd).middleCols(c0, w);  // dx_k = dy[:, block k]
      c0 += w;
    }
  };
  n.tangent = [](Tape<S>& tp, Node<S>& nd) {  // ẏ = [ẋ_1, ẋ_2, ...], zeros where an input does not move
    nd.own_tangent.resize(nd.own_value.rows(), nd.own_value.cols());
    Index c0 = 0;
    for (int in : nd.inputs) {
      const Index w = tp.in_value(in).cols();
      if (const Matrix<S>* dx = tp.in_tangent(in))
        nd.own_tangent.middleCols(c0, w) = *dx;
      else
        nd.own_tangent.middleCols(c0, w).setZero();
      c0 += w;
    }
  };
  n.curvature = &Tape<S>::no_curvature;
  return t.var(n);
}

/// Columns [start, start + count) of x.
template <typename S>
Var<S> slice_cols(const Var<S>& x, Index start, Index count) {
  Tape<S>& t = detail::tape_of("slice_cols", {&x});
  // Compared without forming start + count, which can overflow.
  if (!(start >= 0 && count >= 0 && start <= x.cols() && count <= x.cols() - start))
    throw_invalid("slice_cols", "columns [" + std::to_string(start) + ", +" + std::to_string(count) +
                                    ") are out of range for x " + shape_string(x.value()));
  Node<S>& n = t.make_node(OpKind::SliceCols, {x.id});
  n.iattr[0] = start;
  n.iattr[1] = count;
  n.own_value = x.value().middleCols(start, count);
  n.backward = [](Tape<S>& tp, Node<S>& nd) {
    const int ix = nd.inputs[0];
    if (tp.needs_grad(ix)) tp.grad_acc(ix).middleCols(nd.iattr[0], nd.iattr[1]) += tp.dy(nd);
  };
  n.tangent = [](Tape<S>& tp, Node<S>& nd) {  // ẏ = ẋ[:, start : start + count]
    nd.own_tangent = tp.in_tangent(nd.inputs[0])->middleCols(nd.iattr[0], nd.iattr[1]);
  };
  n.curvature = &Tape<S>::no_curvature;
  return t.var(n);
}

// ----------------------------------------------------------------------------------------------
// Fused multi-head self-attention core

namespace detail {

template <typename S>
S dot(const S* a, const S* b, Index n) {
  S acc = S(0);
  for (Index i = 0; i < n; ++i) acc += a[i] * b[i];
  return acc;
}

// Example b, head h: P = softmax(Q Kᵀ·sc + mask) (Tq × T) and O = P V.
template <typename S>
void attention_forward(const Matrix<S>& Q, const Matrix<S>& K, const Matrix<S>& V, Matrix<S>& O, Matrix<S>& P, Index b,
                       Index h, Index T, Index Tq, Index dh, Index heads, bool causal, S sc) {
  for (Index i = 0; i < Tq; ++i) {
    const Index last = causal ? i + (T - Tq) : T - 1;  // query i sits at position i + T − Tq: mask later keys
    const S* q = Q.row(b * Tq + i).data() + h * dh;
    S* p = P.row((b * heads + h) * Tq + i).data();
    S mx = -std::numeric_limits<S>::infinity();
    for (Index j = 0; j <= last; ++j) {
      p[j] = sc * dot(q, K.row(b * T + j).data() + h * dh, dh);  // S = QKᵀ/√d
      mx = std::max(mx, p[j]);
    }
    S total = S(0);
    for (Index j = 0; j <= last; ++j) total += (p[j] = std::exp(p[j] - mx));
    for (Index j = 0; j <= last; ++j) p[j] /= total;
    for (Index j = last + 1; j < T; ++j) p[j] = S(0);
    S* o = O.row(b * Tq + i).data() + h * dh;
    for (Index c = 0; c < dh; ++c) o[c] = S(0);
    for (Index j = 0; j <= last; ++j) {  // O = P V
      const S* vj = V.row(b * T + j).data() + h * dh;
      for (Index c = 0; c < dh; ++c) o[c] += p[j] * vj[c];
    }
  }
}

// Example b, head h of the VJP: dV += Pᵀ dO, dS = P ∘ (dP − rowsum(dP ∘ P)) with dP = dO Vᵀ,
// dQ += dS K·sc, dK += dSᵀ Q·sc. `dP` is scratch of T entries.
template <typename S>
void attention_backward(const Matrix<S>& Q, const Matrix<S>& K, const Matrix<S>& V, const Matrix<S>& dO,
                        const Matrix<S>& P, Matrix<S>* dQ, Matrix<S>* dK, Matrix<S>* dV, S* dP, Index b, Index h,
                        Index T, Index Tq, Index dh, Index heads, S sc) {
  for (Index i = 0; i < Tq; ++i) {
    const S* p = P.row((b * heads + h) * Tq + i).data();
    const S* g = dO.row(b * Tq + i).data() + h * dh;
    if (dV)
      for (Index j = 0; j < T; ++j) {  // O = P V -> dV = Pᵀ dO
        S* dvj = dV->row(b * T + j).data() + h * dh;
        for (Index c = 0; c < dh; ++c) dvj[c] += p[j] * g[c];
      }
    if (!dQ && !dK) continue;
    S dot_pp = S(0);
    for (Index j = 0; j < T; ++j) {
      dP[j] = dot(g, V.row(b * T + j).data() + h * dh, dh);  // dP = dO Vᵀ
      dot_pp += dP[j] * p[j];
    }
    for (Index j = 0; j < T; ++j) dP[j] = p[j] * (dP[j] - dot_pp) * sc;  // dS/√d, dS = P ∘ (dP − Σ dP∘P)
    const S* q = Q.row(b * Tq + i).data() + h * dh;
    S* dq = dQ ? dQ->row(b * Tq + i).data() + h * dh : nullptr;
    for (Index j = 0; j < T; ++j) {
      const S* kj = K.row(b * T + j).data() + h * dh;
      if (dq)
        for (Index c = 0; c < dh; ++c) dq[c] += dP[j] * kj[c];  // dQ = dS K/√d
      if (dK) {
        S* dkj = dK->row(b * T + j).data() + h * dh;
        for (Index c = 0; c < dh; ++c) dkj[c] += dP[j] * q[c];  // dK = dSᵀ Q/√d
      }
    }
  }
}

// Forward mode, example b, head h: Ṡ = sc(Q̇ Kᵀ + Q K̇ᵀ), Ṗ = P ∘ (Ṡ − rowsum(P ∘ Ṡ)) (written to
// Pt, zero at masked keys), Ȯ = Ṗ V + P V̇. Null tangents are zero.
template <typename S>
void attention_tangent(const Matrix<S>& Q, const Matrix<S>& K, const Matrix<S>& V, const Matrix<S>* dQ,
                       const Matrix<S>* dK, const Matrix<S>* dV, const Matrix<S>& P, Matrix<S>& Pt, Matrix<S>& dO,
                       Index b, Index h, Index T, Index Tq, Index dh, Index heads, bool causal, S sc) {
  for (Index i = 0; i < Tq; ++i) {
    const Index last = causal ? i + (T - Tq) : T - 1;
    const S* q = Q.row(b * Tq + i).data() + h * dh;
    const S* qt = dQ ? dQ->row(b * Tq + i).data() + h * dh : nullptr;
    const S* p = P.row((b * heads + h) * Tq + i).data();
    S* pt = Pt.row((b * heads + h) * Tq + i).data();
    S mean = S(0);
    for (Index j = 0; j <= last; ++j) {
      S st = S(0);
      if (qt) st += dot(qt, K.row(b * T + j).data() + h * dh, dh);
      if (dK) st += dot(q, dK->row(b * T + j).data() + h * dh, dh);
      pt[j] = sc * st;  // Ṡ
      mean += p[j] * pt[j];
    }
    for (Index j = 0; j <= last; ++j) pt[j] = p[j] * (pt[j] - mean);
    for (Index j = last + 1; j < T; ++j) pt[j] = S(0);
    S* o = dO.row(b * Tq + i).data() + h * dh;
    for (Index c = 0; c < dh; ++c) o[c] = S(0);
    for (Index j = 0; j <= last; ++j) {
      const S* vj = V.row(b * T + j).data() + h * dh;
      for (Index c = 0; c < dh; ++c) o[c] += pt[j] * vj[c];
      if (dV) {
        const S* vtj = dV->row(b * T + j).data() + h * dh;
        for (Index c = 0; c < dh; ++c) o[c] += p[j] * vtj[c];
      }
    }
  }
}

// Curvature, example b, head h: the VJP of attention_backward moved along (Q̇, K̇, V̇) with dO held:
// dP = dO Vᵀ moves by dṖ = dO V̇ᵀ; dS = P ∘ (dP − r), r = rowsum(dP ∘ P), moves by
// dṠ = Ṗ ∘ (dP − r) + P ∘ (dṖ − ṙ), ṙ = rowsum(Ṗ ∘ dP + P ∘ dṖ); then V̄ gets Ṗᵀ dO, Q̄ gets
// sc(dṠ K + dS K̇) and K̄ gets sc(dṠᵀ Q + dSᵀ Q̇). `work` is scratch of 4T entries.
template <typename S>
void attention_curvature(const Matrix<S>& Q, const Matrix<S>& K, const Matrix<S>& V, const Matrix<S>* dQ,
                         const Matrix<S>* dK, const Matrix<S>* dV, const Matrix<S>& dO, const Matrix<S>& P,
                         const Matrix<S>& Pt, Matrix<S>* rQ, Matrix<S>* rK, Matrix<S>* rV, S* work, Index b, Index h,
                         Index T, Index Tq, Index dh, Index heads, S sc) {
  S *dP = work, *dPt = work + T, *dS = work + 2 * T, *dSt = work + 3 * T;
  for (Index i = 0; i < Tq; ++i) {
    const S* p = P.row((b * heads + h) * Tq + i).data();
    const S* pt = Pt.row((b * heads + h) * Tq + i).data();
    const S* g = dO.row(b * Tq + i).data() + h * dh;
    if (rV)
      for (Index j = 0; j < T; ++j) {  // V̄ = Pᵀ dO moved: Ṗᵀ dO
        S* r = rV->row(b * T + j).data() + h * dh;
        for (Index c = 0; c < dh; ++c) r[c] += pt[j] * g[c];
      }
    if (!rQ && !rK) continue;
    S rs = S(0), rst = S(0);
    for (Index j = 0; j < T; ++j) {
      dP[j] = dot(g, V.row(b * T + j).data() + h * dh, dh);
      dPt[j] = dV ? dot(g, dV->row(b * T + j).data() + h * dh, dh) : S(0);
      rs += dP[j] * p[j];
      rst += pt[j] * dP[j] + p[j] * dPt[j];
    }
    for (Index j = 0; j < T; ++j) {
      dS[j] = sc * p[j] * (dP[j] - rs);
      dSt[j] = sc * (pt[j] * (dP[j] - rs) + p[j] * (dPt[j] - rst));
    }
    const S* q = Q.row(b * Tq + i).data() + h * dh;
    const S* qt = dQ ? dQ->row(b * Tq + i).data() + h * dh : nullptr;
    S* rq = rQ ? rQ->row(b * Tq + i).data() + h * dh : nullptr;
    for (Index j = 0; j < T; ++j) {
      const S* kj = K.row(b * T + j).data() + h * dh;
      const S* ktj = dK ? dK->row(b * T + j).data() + h * dh : nullptr;
      if (rq) {
        for (Index c = 0; c < dh; ++c) rq[c] += dSt[j] * kj[c];
        if (ktj)
          for (Index c = 0; c < dh; ++c) rq[c] += dS[j] * ktj[c];
      }
      if (rK) {
        S* rk = rK->row(b * T + j).data() + h * dh;
        for (Index c = 0; c < dh; ++c) rk[c] += dSt[j] * q[c];
        if (qt)
          for (Index c = 0; c < dh; ++c) rk[c] += dS[j] * qt[c];
      }
    }
  }
}

}  // namespace detail

/// softmax(Q Kᵀ/√d_h + causal mask) V for every example and head, in one op.
/// k, v: (n·T, H·d_h), head h in columns [h·d_h, (h+1)·d_h). q is either (n·T, H·d_h), one query
/// per position, or (n, H·d_h), the query of the last position only (which sees every key): the
/// output has q's shape. Saves the attention probabilities (n·H·Tq, T) for backward.
template <typename S>
Var<S> attention(const Var<S>& q, const Var<S>& k, const Var<S>& v, Index T, Index heads, bool causal = true) {
  Tape<S>& t = detail::tape_of("attention", {&q, &k, &v});
  const Matrix<S>& Q = q.value();
  require_same_shape("attention", "k", k.value(), "v", v.value());
  if (!(Q.cols() == k.cols()))
    throw_invalid("attention", "q is " + shape_string(Q) + " but k is " + shape_string(k.value()) +
                                   " (expected equal column counts)");
  if (!(T >= 1 && k.rows() % T == 0))
    throw_invalid("attention",
                  "k has " + std::to_string(k.rows()) + " rows, not a multiple of T = " + std::to_string(T));
  const Index nb = k.rows() / T;
  if (!(Q.rows() == nb * T || Q.rows() == nb))
    throw_invalid("attention", "q has " + std::to_string(Q.rows()) + " rows; expected " + std::to_string(nb * T) +
                                   " (every position) or " + std::to_string(nb) + " (last position) for " +
                                   std::to_string(nb) + " examples of T = " + std::to_string(T));
  if (!(heads >= 1 && Q.cols() % heads == 0))
    throw_invalid("attention",
                  "q has " + std::to_string(Q.cols()) + " columns, not a multiple of heads = " + std::to_string(heads));
  Node<S>& n = t.make_node(OpKind::Attention, {q.id, k.id, v.id});
  // No examples: an empty output of q's shape (there are no positions to attend over).
  const Index dh = Q.cols() / heads, Tq = nb == 0 ? T : Q.rows() / nb;
  n.iattr[0] = T;
  n.iattr[1] = heads;
  n.iattr[2] = causal;
  n.iattr[3] = Tq;
  n.rows_per_example = Tq;
  n.attr[0] = 1.0 / std::sqrt(static_cast<double>(dh));
  const S sc = static_cast<S>(n.attr[0]);
  const Matrix<S>& K = k.value();
  const Matrix<S>& V = v.value();
  n.cache0.resize(nb * heads * Tq, T);  // P (n·H·Tq, T)
  n.own_value.resize(Q.rows(), Q.cols());
  // Examples are independent: threads take disjoint ranges of them. The per-head products are
  // a few dozen multiply-adds each, so they are plain loops rather than (dynamic-size) GEMMs.
  detail::parallel_rows(nb, heads * Tq * T * dh * 4, [&](Index b0, Index b1) {
    for (Index b = b0; b < b1; ++b)
      for (Index h = 0; h < heads; ++h)
        detail::attention_forward(Q, K, V, n.own_value, n.cache0, b, h, T, Tq, dh, heads, causal, sc);
  });
  n.backward = [](Tape<S>& tp, Node<S>& nd) {
    const int iq = nd.inputs[0], ik = nd.inputs[1], iv = nd.inputs[2];
    const Index T = nd.iattr[0], H = nd.iattr[1], Tq = nd.iattr[3];
    const Matrix<S>& Q = tp.in_value(iq);
    const Matrix<S>& K = tp.in_value(ik);
    const Matrix<S>& V = tp.in_value(iv);
    const Index nb = K.rows() / T, dh = Q.cols() / H;
    const S sc = static_cast<S>(nd.attr[0]);
    bool fq = false, fk = false, fv = false;  // fresh buffers are zeroed per example, inside the loop
    Matrix<S>* dQ = tp.needs_grad(iq) ? &tp.grad_target(iq, fq) : nullptr;
    Matrix<S>* dK = tp.needs_grad(ik) ? &tp.grad_target(ik, fk) : nullptr;
    Matrix<S>* dV = tp.needs_grad(iv) ? &tp.grad_target(iv, fv) : nullptr;
    detail::parallel_rows(nb, H * Tq * T * dh * 8, [&](Index b0, Index b1) {
      if (dQ && fq) dQ->middleRows(b0 * Tq, (b1 - b0) * Tq).setZero();
      if (dK && fk) dK->middleRows(b0 * T, (b1 - b0) * T).setZero();
      if (dV && fv) dV->middleRows(b0 * T, (b1 - b0) * T).setZero();
      std::vector<S> dP(static_cast<std::size_t>(T));
      for (Index b = b0; b < b1; ++b)
        for (Index h = 0; h < H; ++h)
          detail::attention_backward(Q, K, V, tp.dy(nd), nd.cache0, dQ, dK, dV, dP.data(), b, h, T, Tq, dh, H, sc);
    });
  };
  n.tangent = [](Tape<S>& tp, Node<S>& nd) {  // Ṗ kept in tcache for the curvature rule
    const int iq = nd.inputs[0], ik = nd.inputs[1], iv = nd.inputs[2];
    const Index T = nd.iattr[0], H = nd.iattr[1], Tq = nd.iattr[3];
    const bool causal = nd.iattr[2] != 0;
    const Matrix<S>& Q = tp.in_value(iq);
    const Matrix<S>& K = tp.in_value(ik);
    const Index nb = K.rows() / T, dh = Q.cols() / H;
    const S sc = static_cast<S>(nd.attr[0]);
    const Matrix<S>*dQ = tp.in_tangent(iq), *dK = tp.in_tangent(ik), *dV = tp.in_tangent(iv);
    nd.tcache.resize(nd.cache0.rows(), nd.cache0.cols());
    nd.own_tangent.resize(Q.rows(), Q.cols());
    detail::parallel_rows(nb, H * Tq * T * dh * 6, [&](Index b0, Index b1) {
      for (Index b = b0; b < b1; ++b)
        for (Index h = 0; h < H; ++h)
          detail::attention_tangent(Q, K, tp.in_value(iv), dQ, dK, dV, nd.cache0, nd.tcache, nd.own_tangent, b, h, T,
                                    Tq, dh, H, causal, sc);
    });
  };
  n.curvature = [](Tape<S>& tp, Node<S>& nd) {
    const int iq = nd.inputs[0], ik = nd.inputs[1], iv = nd.inputs[2];
    const Index T = nd.iattr[0], H = nd.iattr[1], Tq = nd.iattr[3];
    const Matrix<S>& Q = tp.in_value(iq);
    const Matrix<S>& K = tp.in_value(ik);
    const Index nb = K.rows() / T, dh = Q.cols() / H;
    const S sc = static_cast<S>(nd.attr[0]);
    const Matrix<S>*dQ = tp.in_tangent(iq), *dK = tp.in_tangent(ik), *dV = tp.in_tangent(iv);
    Matrix<S>* rQ = tp.needs_grad(iq) ? &tp.rgrad_acc(iq) : nullptr;
    Matrix<S>* rK = tp.needs_grad(ik) ? &tp.rgrad_acc(ik) : nullptr;
    Matrix<S>* rV = tp.needs_grad(iv) ? &tp.rgrad_acc(iv) : nullptr;
    detail::parallel_rows(nb, H * Tq * T * dh * 10, [&](Index b0, Index b1) {
      std::vector<S> work(static_cast<std::size_t>(4 * T));
      for (Index b = b0; b < b1; ++b)
        for (Index h = 0; h < H; ++h)
          detail::attention_curvature(Q, K, tp.in_value(iv), dQ, dK, dV, nd.own_grad, nd.cache0, nd.tcache, rQ, rK, rV,
                                      work.data(), b, h, T, Tq, dh, H, sc);
    });
  };
  return t.var(n);
}

/// The public ops' float and double instantiations, listed once: `X` is `extern template` in
/// the headers (compiled mode) and `template` in the compiled library.
#define GROKSCOPE_OPS_INSTANTIATIONS(X, S)                                           \
  X Var<S> matmul<S>(const Var<S>&, const Var<S>&, bool, bool);                      \
  X Var<S> linear<S>(const Var<S>&, const Var<S>&, const Var<S>&, double);           \
  X Var<S> add<S>(const Var<S>&, const Var<S>&);                                     \
  X Var<S> sub<S>(const Var<S>&, const Var<S>&);                                     \
  X Var<S> mul<S>(const Var<S>&, const Var<S>&);                                     \
  X Var<S> scale<S>(const Var<S>&, double);                                          \
  X Var<S> add_scalar<S>(const Var<S>&, double);                                     \
  X Var<S> sum<S>(const Var<S>&);                                                    \
  X Var<S> mean<S>(const Var<S>&);                                                   \
  X Var<S> row_sum<S>(const Var<S>&);                                                \
  X Var<S> row_mean<S>(const Var<S>&);                                               \
  X Var<S> col_sum<S>(const Var<S>&);                                                \
  X Var<S> col_mean<S>(const Var<S>&);                                               \
  X Var<S> relu<S>(const Var<S>&);                                                   \
  X Var<S> gelu<S>(const Var<S>&, GeluApprox);                                       \
  X Var<S> tanh<S>(const Var<S>&);                                                   \
  X Var<S> sigmoid<S>(const Var<S>&);                                                \
  X Var<S> square<S>(const Var<S>&);                                                 \
  X Var<S> linear_quadratic<S>(const Var<S>&, double);                               \
  X Var<S> exp<S>(const Var<S>&);                                                    \
  X Var<S> log<S>(const Var<S>&);                                                    \
  X Var<S> softmax<S>(const Var<S>&);                                                \
  X Var<S> log_softmax<S>(const Var<S>&);                                            \
  X Var<S> cross_entropy<S>(const Var<S>&, const IndexList&, CrossEntropyPrecision); \
  X Var<S> stablemax_cross_entropy<S>(const Var<S>&, const IndexList&);              \
  X double loss_in_double<S>(const Var<S>&);                                         \
  X Var<S> mse<S>(const Var<S>&, const Var<S>&);                                     \
  X Var<S> layer_norm<S>(const Var<S>&, const Var<S>&, const Var<S>&, double);       \
  X Var<S> embedding<S>(const Var<S>&, const IndexList&, Index);                     \
  X Var<S> onehot_matmul<S>(const Var<S>&, const IndexList&, Index, Index, double);  \
  X Var<S> select_rows<S>(const Var<S>&, const IndexList&, Index);                   \
  X Var<S> last_position<S>(const Var<S>&, Index);                                   \
  X Var<S> concat_cols<S>(const std::vector<Var<S>>&);                               \
  X Var<S> slice_cols<S>(const Var<S>&, Index, Index);                               \
  X Var<S> attention<S>(const Var<S>&, const Var<S>&, const Var<S>&, Index, Index, bool);

#if defined(GROKSCOPE_COMPILED)
GROKSCOPE_OPS_INSTANTIATIONS(extern template, float)
GROKSCOPE_OPS_INSTANTIATIONS(extern template, double)
#endif

}  // namespace grokscope
