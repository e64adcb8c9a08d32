// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file The ops of the tape, each a forward and a hand-written vector-Jacobian product.
///
/// Conventions: samples are rows; `dX` is the gradient of the loss with respect to X; every
/// backward term is annotated with the forward line it differentiates and accumulates with +=.
/// Shape errors throw std::invalid_argument naming the op and both shapes.

#include <grokscope/autodiff/tape.hpp>
#include <grokscope/core/check.hpp>
#include <grokscope/core/types.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace grokscope {

/// Tanh approximation or exact erf form of GELU (PyTorch `approximate='tanh'` / `'none'`).
enum class GeluApprox { Tanh, Erf };

namespace detail {

template <typename S>
Tape<S>& tape_of(const char* where, std::initializer_list<const Var<S>*> vars) {
  Tape<S>* t = nullptr;
  for (const Var<S>* v : vars) {
    require(v->valid(), where, "invalid (default-constructed) variable");
    if (t == nullptr) t = v->tape;
    require(v->tape == t, where, "variables belong to different tapes");
    require(v->id < t->size(), where, "variable " + std::to_string(v->id) + " is stale (tape was reset)");
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
  require(ak == bk, "matmul",
          "inner dimensions differ: op(a) is " + std::to_string(trans_a ? A.cols() : A.rows()) + "x" +
              std::to_string(ak) + " (a is " + shape_string(A) + ") but op(b) is " + std::to_string(bk) + "x" +
              std::to_string(trans_b ? B.rows() : B.cols()) + " (b is " + shape_string(B) + ")");
  Node<S>& n = t.make_node(OpKind::MatMul, {a.id, b.id});
  n.iattr[0] = trans_a;
  n.iattr[1] = trans_b;
  if (!trans_a && !trans_b)
    n.own_value.noalias() = A * B;
  else if (trans_a && !trans_b)
    n.own_value.noalias() = A.transpose() * B;
  else if (!trans_a && trans_b)
    n.own_value.noalias() = A * B.transpose();
  else
    n.own_value.noalias() = A.transpose() * B.transpose();
  if (trans_a) n.rows_per_example = 0;
  n.backward = [](Tape<S>& tp, Node<S>& nd) {
    const int ia = nd.inputs[0], ib = nd.inputs[1];
    const Matrix<S>& A = tp.in_value(ia);
    const Matrix<S>& B = tp.in_value(ib);
    const Matrix<S>& dC = nd.own_grad;
    const bool ta = nd.iattr[0] != 0, tb = nd.iattr[1] != 0;
    if (tp.needs_grad(ia)) {
      Matrix<S>& dA = tp.grad_acc(ia);
      if (!ta && !tb)
        dA.noalias() += dC * B.transpose();  // C = A B
      else if (ta && !tb)
        dA.noalias() += B * dC.transpose();  // C = Aᵀ B
      else if (!ta && tb)
        dA.noalias() += dC * B;  // C = A Bᵀ
      else
        dA.noalias() += B.transpose() * dC.transpose();  // C = Aᵀ Bᵀ
    }
    if (tp.needs_grad(ib)) {
      Matrix<S>& dB = tp.grad_acc(ib);
      if (!ta && !tb)
        dB.noalias() += A.transpose() * dC;  // C = A B
      else if (ta && !tb)
        dB.noalias() += A * dC;  // C = Aᵀ B
      else if (!ta && tb)
        dB.noalias() += dC.transpose() * A;  // C = A Bᵀ
      else
        dB.noalias() += dC.transpose() * A.transpose();  // C = Aᵀ Bᵀ
    }
  };
  return t.var(n);
}

/// Linear layer in PyTorch layout: y = x Wᵀ (+ b). x: (n,in) W: (out,in) b: (1,out) -> y: (n,out).
/// Pass a default-constructed Var as `b` for no bias.
template <typename S>
Var<S> linear(const Var<S>& x, const Var<S>& W, const Var<S>& b = Var<S>{}) {
  Tape<S>& t = b.valid() ? detail::tape_of("linear", {&x, &W, &b}) : detail::tape_of("linear", {&x, &W});
  const Matrix<S>& X = x.value();
  const Matrix<S>& Wv = W.value();
  require(X.cols() == Wv.cols(), "linear",
          "x is " + shape_string(X) + " but weight is " + shape_string(Wv) +
              " (expected x.cols == weight.cols, weight is out x in)");
  if (b.valid())
    require(b.rows() == 1 && b.cols() == Wv.rows(), "linear",
            "bias is " + shape_string(b.value()) + " but weight is " + shape_string(Wv) + " (expected bias 1x" +
                std::to_string(Wv.rows()) + ")");
  Node<S>& n = b.valid() ? t.make_node(OpKind::Linear, {x.id, W.id, b.id}) : t.make_node(OpKind::Linear, {x.id, W.id});
  n.own_value.noalias() = X * Wv.transpose();
  if (b.valid()) n.own_value.rowwise() += b.value().row(0);
  n.backward = [](Tape<S>& tp, Node<S>& nd) {
    const int ix = nd.inputs[0], iw = nd.inputs[1];
    const Matrix<S>& dy = nd.own_grad;                                                     // (n,out)
    if (tp.needs_grad(ix)) tp.grad_acc(ix).noalias() += dy * tp.in_value(iw);              // y = x Wᵀ -> dx = dy W
    if (tp.needs_grad(iw)) tp.grad_acc(iw).noalias() += dy.transpose() * tp.in_value(ix);  // dW = dyᵀ x
    if (nd.inputs.size() == 3 && tp.needs_grad(nd.inputs[2]))
      tp.grad_acc(nd.inputs[2]) += dy.colwise().sum();  // y += b -> db = Σ_rows dy
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
  switch (mode) {
    case detail::Same:
      n.own_value = A + B;
      break;
    case detail::Row:
      n.own_value = A.rowwise() + B.row(0);
      break;
    case detail::Col:
      n.own_value = A.colwise() + B.col(0);
      break;
    default:
      n.own_value = A.array() + B(0, 0);
      break;
  }
  n.backward = [](Tape<S>& tp, Node<S>& nd) {
    const Matrix<S>& dy = nd.own_grad;
    if (tp.needs_grad(nd.inputs[0])) tp.grad_acc(nd.inputs[0]) += dy;  // da = dy
    if (tp.needs_grad(nd.inputs[1]))
      detail::accumulate_broadcast(tp.grad_acc(nd.inputs[1]), dy, nd.iattr[0]);  // db = reduce(dy)
  };
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
  switch (mode) {
    case detail::Same:
      n.own_value = A - B;
      break;
    case detail::Row:
      n.own_value = A.rowwise() - B.row(0);
      break;
    case detail::Col:
      n.own_value = A.colwise() - B.col(0);
      break;
    default:
      n.own_value = A.array() - B(0, 0);
      break;
  }
  n.backward = [](Tape<S>& tp, Node<S>& nd) {
    const Matrix<S>& dy = nd.own_grad;
    if (tp.needs_grad(nd.inputs[0])) tp.grad_acc(nd.inputs[0]) += dy;  // da = dy
    if (tp.needs_grad(nd.inputs[1]))
      detail::accumulate_broadcast(tp.grad_acc(nd.inputs[1]), -dy, nd.iattr[0]);  // db = −reduce(dy)
  };
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
    const Matrix<S>& dy = nd.own_grad;
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
  n.own_value = x.value() * static_cast<S>(c);
  n.backward = [](Tape<S>& tp, Node<S>& nd) {
    if (tp.needs_grad(nd.inputs[0]))
      tp.grad_acc(nd.inputs[0]) += nd.own_grad * static_cast<S>(nd.attr[0]);  // dx = c dy
  };
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
  n.own_value = x.value().array() + static_cast<S>(c);
  n.backward = [](Tape<S>& tp, Node<S>& nd) {
    if (tp.needs_grad(nd.inputs[0])) tp.grad_acc(nd.inputs[0]) += nd.own_grad;  // dx = dy
  };
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
      dx.array() += c * nd.own_grad(0, 0);  // y = c Σ x
    else if (nd.kind == OpKind::RowSum)
      dx.colwise() += c * nd.own_grad.col(0);  // y_i = c Σ_j x_ij
    else
      dx.rowwise() += c * nd.own_grad.row(0);  // y_j = c Σ_i x_ij
  };
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
  n.own_value = x.value().cwiseMax(S(0));
  n.backward = [](Tape<S>& tp, Node<S>& nd) {
    const int ix = nd.inputs[0];
    if (tp.needs_grad(ix))  // y = max(x,0) -> dx = dy·[x>0]
      tp.grad_acc(ix).array() += (tp.in_value(ix).array() > S(0)).select(nd.own_grad.array(), S(0));
  };
  return x.tape->var(n);
}

/// GELU, tanh approximation (default, as GPT-2 and Nanda et al.) or exact erf form.
template <typename S>
Var<S> gelu(const Var<S>& x, GeluApprox approx = GeluApprox::Tanh) {
  Node<S>& n = detail::unary("gelu", approx == GeluApprox::Tanh ? OpKind::GeluTanh : OpKind::GeluErf, x);
  const auto X = x.value().array();
  if (approx == GeluApprox::Tanh) {
    const S c = S(detail::kSqrt2OverPi), k = S(detail::kGeluCubic);
    n.own_value = (S(0.5) * X * (S(1) + (c * (X + k * X.cube())).tanh())).matrix();
  } else {
    n.own_value = (S(0.5) * X * (S(1) + (X * S(detail::kInvSqrt2)).unaryExpr(detail::Erf<S>{}))).matrix();
  }
  n.backward = [](Tape<S>& tp, Node<S>& nd) {
    const int ix = nd.inputs[0];
    if (!tp.needs_grad(ix)) return;
    const auto X = tp.in_value(ix).array();
    const auto dy = nd.own_grad.array();
    if (nd.kind == OpKind::GeluTanh) {
      // y = ½x(1 + tanh u), u = c(x + k x³) -> dy/dx = ½(1 + tanh u) + ½x(1 − tanh² u)·c(1 + 3k x²)
      const S c = S(detail::kSqrt2OverPi), k = S(detail::kGeluCubic);
      const auto th = (c * (X + k * X.cube())).tanh().eval();
      tp.grad_acc(ix).array() +=
          dy * (S(0.5) * (S(1) + th) + S(0.5) * X * (S(1) - th.square()) * c * (S(1) + S(3) * k * X.square()));
    } else {
      // y = x Φ(x) -> dy/dx = Φ(x) + x φ(x)
      tp.grad_acc(ix).array() += dy * (S(0.5) * (S(1) + (X * S(detail::kInvSqrt2)).unaryExpr(detail::Erf<S>{})) +
                                       X * S(detail::kInvSqrt2Pi) * (S(-0.5) * X.square()).exp());
    }
  };
  return x.tape->var(n);
}

/// tanh(x).
template <typename S>
Var<S> tanh(const Var<S>& x) {
  Node<S>& n = detail::unary("tanh", OpKind::Tanh, x);
  n.own_value = x.value().array().tanh().matrix();
  n.backward = [](Tape<S>& tp, Node<S>& nd) {
    const int ix = nd.inputs[0];
    if (tp.needs_grad(ix))
      tp.grad_acc(ix).array() += nd.own_grad.array() * (S(1) - nd.own_value.array().square());  // dx = dy(1 − y²)
  };
  return x.tape->var(n);
}

/// 1 / (1 + exp(−x)).
template <typename S>
Var<S> sigmoid(const Var<S>& x) {
  Node<S>& n = detail::unary("sigmoid", OpKind::Sigmoid, x);
  n.own_value = (S(1) / (S(1) + (-x.value().array()).exp())).matrix();
  n.backward = [](Tape<S>& tp, Node<S>& nd) {
    const int ix = nd.inputs[0];
    const auto y = nd.own_value.array();
    if (tp.needs_grad(ix)) tp.grad_acc(ix).array() += nd.own_grad.array() * y * (S(1) - y);  // dx = dy·y(1 − y)
  };
  return x.tape->var(n);
}

/// x² (Gromov's quadratic activation).
template <typename S>
Var<S> square(const Var<S>& x) {
  Node<S>& n = detail::unary("square", OpKind::Square, x);
  n.own_value = x.value().array().square().matrix();
  n.backward = [](Tape<S>& tp, Node<S>& nd) {
    const int ix = nd.inputs[0];
    if (tp.needs_grad(ix))
      tp.grad_acc(ix).array() += S(2) * tp.in_value(ix).array() * nd.own_grad.array();  // dx = 2x dy
  };
  return x.tape->var(n);
}

/// exp(x).
template <typename S>
Var<S> exp(const Var<S>& x) {
  Node<S>& n = detail::unary("exp", OpKind::Exp, x);
  n.own_value = x.value().array().exp().matrix();
  n.backward = [](Tape<S>& tp, Node<S>& nd) {
    const int ix = nd.inputs[0];
    if (tp.needs_grad(ix)) tp.grad_acc(ix).array() += nd.own_grad.array() * nd.own_value.array();  // dx = dy·y
  };
  return x.tape->var(n);
}

/// Natural log (non-positive entries give −inf or NaN, as in every framework).
template <typename S>
Var<S> log(const Var<S>& x) {
  Node<S>& n = detail::unary("log", OpKind::Log, x);
  n.own_value = x.value().array().log().matrix();
  n.backward = [](Tape<S>& tp, Node<S>& nd) {
    const int ix = nd.inputs[0];
    if (tp.needs_grad(ix)) tp.grad_acc(ix).array() += nd.own_grad.array() / tp.in_value(ix).array();  // dx = dy / x
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
    const Matrix<S>& dy = nd.own_grad;
    const Vector<S> dot = dy.cwiseProduct(y).rowwise().sum();             // Σ_j dy_ij y_ij
    tp.grad_acc(ix).array() += y.array() * (dy.colwise() - dot).array();  // dx = y ∘ (dy − dot)
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
    const Matrix<S>& dy = nd.own_grad;
    const Vector<S> tot = dy.rowwise().sum();
    tp.grad_acc(ix).noalias() +=
        dy - (nd.own_value.array().exp().colwise() * tot.array()).matrix();  // dx = dy − softmax·Σdy
  };
  return x.tape->var(n);
}

/// Mean cross-entropy of row-wise softmax(logits) against integer targets, accumulated in double
/// whatever S is (float32 log-softmax underflow causes spurious loss spikes). logits: (n,V) -> (1,1).
template <typename S>
Var<S> cross_entropy(const Var<S>& logits, const IndexList& targets) {
  Tape<S>& t = detail::tape_of("cross_entropy", {&logits});
  const Matrix<S>& Z = logits.value();
  require(static_cast<Index>(targets.size()) == Z.rows(), "cross_entropy",
          "logits are " + shape_string(Z) + " but there are " + std::to_string(targets.size()) + " targets");
  require(Z.rows() > 0 && Z.cols() > 0, "cross_entropy", "logits are empty (" + shape_string(Z) + ")");
  detail::check_ids<S>("cross_entropy", targets, Z.cols(), "target");
  Node<S>& n = t.make_node(OpKind::CrossEntropy, {logits.id});
  n.ids = targets;
  n.rows_per_example = 0;
  // probabilities in double: p = softmax(z), loss = mean(lse(z) − z_t)
  n.dcache = Z.template cast<double>();
  double total = 0;
  for (Index i = 0; i < Z.rows(); ++i) {
    auto row = n.dcache.row(i);
    const double mx = row.maxCoeff();
    row.array() -= mx;
    const double lse = std::log(row.array().exp().sum());
    total += lse - row(targets[static_cast<std::size_t>(i)]);
    row.array() = (row.array() - lse).exp();
  }
  n.own_value.resize(1, 1);
  n.own_value(0, 0) = static_cast<S>(total / static_cast<double>(Z.rows()));
  n.attr[0] = total / static_cast<double>(Z.rows());  // the loss in double
  n.backward = [](Tape<S>& tp, Node<S>& nd) {
    const int iz = nd.inputs[0];
    if (!tp.needs_grad(iz)) return;
    const double g = static_cast<double>(nd.own_grad(0, 0)) / static_cast<double>(nd.dcache.rows());
    Matrix<S>& dz = tp.grad_acc(iz);
    for (Index i = 0; i < dz.rows(); ++i) {  // dz = g/n (p − onehot(t))
      dz.row(i) += (g * nd.dcache.row(i)).template cast<S>();
      dz(i, nd.ids[static_cast<std::size_t>(i)]) -= static_cast<S>(g);
    }
  };
  return t.var(n);
}

/// The cross-entropy loss of a node made by cross_entropy, in double precision.
template <typename S>
double loss_in_double(const Var<S>& ce) {
  const Node<S>& n = ce.tape->node(ce.id);
  require(n.kind == OpKind::CrossEntropy, "loss_in_double", "node is not a cross_entropy");
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
  n.cache0 = pred.value() - target.value();
  n.own_value.resize(1, 1);
  n.own_value(0, 0) =
      static_cast<S>(n.cache0.template cast<double>().squaredNorm() / static_cast<double>(n.cache0.size()));
  n.backward = [](Tape<S>& tp, Node<S>& nd) {
    const S g = S(2) * nd.own_grad(0, 0) / static_cast<S>(nd.cache0.size());
    if (tp.needs_grad(nd.inputs[0])) tp.grad_acc(nd.inputs[0]) += g * nd.cache0;  // dpred = 2(p − t)/N
    if (tp.needs_grad(nd.inputs[1])) tp.grad_acc(nd.inputs[1]) -= g * nd.cache0;  // dtarget = −2(p − t)/N
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
  require_nonempty("layer_norm", "x", X);
  require(eps >= 0, "layer_norm", "eps must be >= 0");
  std::vector<int> ins{x.id};
  for (const Var<S>* p : {&gamma, &beta}) {
    if (!p->valid()) continue;
    require(p->tape == &t, "layer_norm", "gamma/beta belong to another tape");
    require(p->rows() == 1 && p->cols() == X.cols(), "layer_norm",
            "x is " + shape_string(X) + " but gamma/beta is " + shape_string(p->value()) + " (expected 1x" +
                std::to_string(X.cols()) + ")");
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
    const Matrix<S>& dy = nd.own_grad;
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
  require(
      rows_per_example >= 1 && static_cast<Index>(ids.size()) % rows_per_example == 0, "embedding",
      std::to_string(ids.size()) + " ids do not split into examples of " + std::to_string(rows_per_example) + " rows");
  Node<S>& n = t.make_node(OpKind::Embedding, {W.id});
  n.ids = ids;
  n.rows_per_example = rows_per_example;
  n.own_value.resize(static_cast<Index>(ids.size()), Wv.cols());
  for (std::size_t i = 0; i < ids.size(); ++i) n.own_value.row(static_cast<Index>(i)) = Wv.row(ids[i]);
  n.backward = [](Tape<S>& tp, Node<S>& nd) {
    const int iw = nd.inputs[0];
    if (!tp.needs_grad(iw)) return;
    Matrix<S>& dW = tp.grad_acc(iw);
    for (std::size_t i = 0; i < nd.ids.size(); ++i)
      dW.row(nd.ids[i]) += nd.own_grad.row(static_cast<Index>(i));  // scatter-add
  };
  return t.var(n);
}

/// A linear map applied to one-hot inputs without forming them: output row r is
/// Σ_{t<k} W[:, ids[r·k + t]]ᵀ, i.e. concat(onehot(ids of row r)) multiplied by Wᵀ when the k
/// blocks share the columns of W. W: (out, V) in PyTorch layout -> (len(ids)/k, out).
/// k = 1 gathers embedding columns (Nanda et al.'s W_E is d_model × vocab); k = 2 with ids
/// (x, p + y) is a Linear(2p, N) layer on [onehot(x), onehot(y)]. `rows_per_example` as usual.
template <typename S>
Var<S> onehot_matmul(const Var<S>& W, const IndexList& ids, Index k = 1, Index rows_per_example = 1) {
  Tape<S>& t = detail::tape_of("onehot_matmul", {&W});
  const Matrix<S>& Wv = W.value();
  require(k >= 1 && static_cast<Index>(ids.size()) % k == 0, "onehot_matmul",
          std::to_string(ids.size()) + " ids do not split into rows of k = " + std::to_string(k));
  detail::check_ids<S>("onehot_matmul", ids, Wv.cols(), "id");
  require(rows_per_example >= 1, "onehot_matmul", "rows_per_example must be >= 1");
  Node<S>& n = t.make_node(OpKind::OneHotMatmul, {W.id});
  n.ids = ids;
  n.iattr[0] = k;
  n.rows_per_example = rows_per_example;
  const Index rows = static_cast<Index>(ids.size()) / k;
  // Gather from Wᵀ (V, out) so that every read is a contiguous row.
  n.cache0 = Wv.transpose();
  n.own_value.resize(rows, Wv.rows());
  for (Index r = 0; r < rows; ++r) {
    n.own_value.row(r) = n.cache0.row(ids[static_cast<std::size_t>(r * k)]);
    for (Index j = 1; j < k; ++j) n.own_value.row(r) += n.cache0.row(ids[static_cast<std::size_t>(r * k + j)]);
  }
  n.backward = [](Tape<S>& tp, Node<S>& nd) {
    const int iw = nd.inputs[0];
    if (!tp.needs_grad(iw)) return;
    const Index kk = nd.iattr[0];
    Matrix<S>& dWt = nd.cache0;  // reuse as the (V, out) scatter buffer
    dWt.setZero();
    for (Index r = 0; r < nd.own_grad.rows(); ++r)
      for (Index j = 0; j < kk; ++j) dWt.row(nd.ids[static_cast<std::size_t>(r * kk + j)]) += nd.own_grad.row(r);
    tp.grad_acc(iw) += dWt.transpose();  // dW[:, id] += dy_rᵀ for every id of row r
  };
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
  n.own_value.resize(static_cast<Index>(ids.size()), X.cols());
  for (std::size_t i = 0; i < ids.size(); ++i) n.own_value.row(static_cast<Index>(i)) = X.row(ids[i]);
  n.backward = [](Tape<S>& tp, Node<S>& nd) {
    const int ix = nd.inputs[0];
    if (!tp.needs_grad(ix)) return;
    Matrix<S>& dx = tp.grad_acc(ix);
    for (std::size_t i = 0; i < nd.ids.size(); ++i) dx.row(nd.ids[i]) += nd.own_grad.row(static_cast<Index>(i));
  };
  return t.var(n);
}

/// The last row of each example of T rows: x (n·T, d) -> (n, d).
template <typename S>
Var<S> last_position(const Var<S>& x, Index T) {
  require(T >= 1 && x.valid() && x.rows() % T == 0, "last_position",
          "x is " + (x.valid() ? shape_string(x.value()) : std::string("invalid")) +
              ", not a multiple of T = " + std::to_string(T) + " rows");
  IndexList ids(static_cast<std::size_t>(x.rows() / T));
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
    require(v.rows() == xs[0].rows(), "concat_cols",
            "first input is " + shape_string(xs[0].value()) + " but another is " + shape_string(v.value()) +
                " (row counts differ)");
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
      if (tp.needs_grad(in)) tp.grad_acc(in) += nd.own_grad.middleCols(c0, w);  // dx_k = dy[:, block k]
      c0 += w;
    }
  };
  return t.var(n);
}

/// Columns [start, start + count) of x.
template <typename S>
Var<S> slice_cols(const Var<S>& x, Index start, Index count) {
  Tape<S>& t = detail::tape_of("slice_cols", {&x});
  require(start >= 0 && count >= 0 && start + count <= x.cols(), "slice_cols",
          "columns [" + std::to_string(start) + ", " + std::to_string(start + count) + ") are out of range for x " +
              shape_string(x.value()));
  Node<S>& n = t.make_node(OpKind::SliceCols, {x.id});
  n.iattr[0] = start;
  n.iattr[1] = count;
  n.own_value = x.value().middleCols(start, count);
  n.backward = [](Tape<S>& tp, Node<S>& nd) {
    const int ix = nd.inputs[0];
    if (tp.needs_grad(ix)) tp.grad_acc(ix).middleCols(nd.iattr[0], nd.iattr[1]) += nd.own_grad;
  };
  return t.var(n);
}

// ----------------------------------------------------------------------------------------------
// Fused multi-head self-attention core

/// softmax(Q Kᵀ/√d_h + causal mask) V for every example and head, in one op.
/// k, v: (n·T, H·d_h), head h in columns [h·d_h, (h+1)·d_h). q is either (n·T, H·d_h), one query
/// per position, or (n, H·d_h), the query of the last position only (which sees every key): the
/// output has q's shape. Saves the attention probabilities (n·H·Tq, T) for backward.
template <typename S>
Var<S> attention(const Var<S>& q, const Var<S>& k, const Var<S>& v, Index T, Index heads, bool causal = true) {
  Tape<S>& t = detail::tape_of("attention", {&q, &k, &v});
  const Matrix<S>& Q = q.value();
  require_same_shape("attention", "k", k.value(), "v", v.value());
  require(Q.cols() == k.cols(), "attention",
          "q is " + shape_string(Q) + " but k is " + shape_string(k.value()) + " (expected equal column counts)");
  require(T >= 1 && k.rows() % T == 0, "attention",
          "k has " + std::to_string(k.rows()) + " rows, not a multiple of T = " + std::to_string(T));
  const Index nb = k.rows() / T;
  require(Q.rows() == nb * T || Q.rows() == nb, "attention",
          "q has " + std::to_string(Q.rows()) + " rows; expected " + std::to_string(nb * T) + " (every position) or " +
              std::to_string(nb) + " (last position) for " + std::to_string(nb) +
              " examples of T = " + std::to_string(T));
  require(heads >= 1 && Q.cols() % heads == 0, "attention",
          "q has " + std::to_string(Q.cols()) + " columns, not a multiple of heads = " + std::to_string(heads));
  Node<S>& n = t.make_node(OpKind::Attention, {q.id, k.id, v.id});
  const Index dh = Q.cols() / heads, Tq = Q.rows() / nb;
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
  for (Index b = 0; b < nb; ++b)
    for (Index h = 0; h < heads; ++h) {
      auto P = n.cache0.middleRows((b * heads + h) * Tq, Tq);
      P.noalias() = sc * Q.block(b * Tq, h * dh, Tq, dh) * K.block(b * T, h * dh, T, dh).transpose();  // S = QKᵀ/√d
      for (Index i = 0; i < Tq; ++i) {
        const Index last = causal ? i + (T - Tq) : T - 1;  // query i sits at position i + T − Tq: mask later keys
        auto row = P.row(i);
        const S mx = row.head(last + 1).maxCoeff();
        row.head(last + 1) = (row.head(last + 1).array() - mx).exp().matrix();
        row.head(last + 1) /= row.head(last + 1).sum();
        if (last + 1 < T) row.tail(T - last - 1).setZero();
      }
      n.own_value.block(b * Tq, h * dh, Tq, dh).noalias() = P * V.block(b * T, h * dh, T, dh);  // O = P V
    }
  n.backward = [](Tape<S>& tp, Node<S>& nd) {
    const int iq = nd.inputs[0], ik = nd.inputs[1], iv = nd.inputs[2];
    const Index T = nd.iattr[0], H = nd.iattr[1], Tq = nd.iattr[3];
    const Matrix<S>& Q = tp.in_value(iq);
    const Matrix<S>& K = tp.in_value(ik);
    const Matrix<S>& V = tp.in_value(iv);
    const Index nb = K.rows() / T, dh = Q.cols() / H;
    const S sc = static_cast<S>(nd.attr[0]);
    const bool gq = tp.needs_grad(iq), gk = tp.needs_grad(ik), gv = tp.needs_grad(iv);
    Matrix<S>* dQ = gq ? &tp.grad_acc(iq) : nullptr;
    Matrix<S>* dK = gk ? &tp.grad_acc(ik) : nullptr;
    Matrix<S>* dV = gv ? &tp.grad_acc(iv) : nullptr;
    Matrix<S> dP(Tq, T);
    for (Index b = 0; b < nb; ++b)
      for (Index h = 0; h < H; ++h) {
        const auto P = nd.cache0.middleRows((b * H + h) * Tq, Tq);
        const auto dO = nd.own_grad.block(b * Tq, h * dh, Tq, dh);
        if (gv) dV->block(b * T, h * dh, T, dh).noalias() += P.transpose() * dO;  // O = P V -> dV = Pᵀ dO
        if (!gq && !gk) continue;
        dP.noalias() = dO * V.block(b * T, h * dh, T, dh).transpose();  // dP = dO Vᵀ
        const Vector<S> dot = dP.cwiseProduct(P).rowwise().sum();
        dP = P.cwiseProduct(dP.colwise() - dot);  // P = softmax(S) -> dS = P ∘ (dP − Σ dP∘P)
        if (gq) dQ->block(b * Tq, h * dh, Tq, dh).noalias() += sc * dP * K.block(b * T, h * dh, T, dh);  // dQ = dS K/√d
        if (gk)
          dK->block(b * T, h * dh, T, dh).noalias() +=
              sc * dP.transpose() * Q.block(b * Tq, h * dh, Tq, dh);  // dK = dSᵀ Q/√d
      }
  };
  return t.var(n);
}

}  // namespace grokscope
