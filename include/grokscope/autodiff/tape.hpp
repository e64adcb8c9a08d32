// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Tape: define-by-run reverse-mode autodiff over matrices, with persistent parameters.
///
/// A step records coarse ops (a whole linear layer, a whole attention core, a fused
/// softmax-cross-entropy) as nodes on the tape; `backward` walks them in reverse and calls each
/// node's hand-written vector-Jacobian product. Parameters are leaves that outlive the tape and
/// accumulate their gradient across backward calls until `zero_grad`. `reset()` keeps every
/// node's buffers, so re-recording the same graph each step allocates nothing in steady state.
///
/// Every node also records its per-example row structure (`rows_per_example`: rows
/// [b·T, (b+1)·T) belong to example b), which the empirical NTK uses to avoid materialising
/// per-example gradients.

#include <grokscope/core/check.hpp>
#include <grokscope/core/config.hpp>
#include <grokscope/core/types.hpp>

#include <array>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace grokscope {

template <typename S>
class Tape;

/// A trainable matrix with a PyTorch-style name and a gradient buffer of the same shape.
template <typename S>
struct Parameter {
  static_assert(is_real_scalar_v<S>, "grokscope::Parameter: scalar must be float or double");
  std::string name;
  Matrix<S> value;
  Matrix<S> grad;
  bool requires_grad = true;

  Parameter() = default;
  /// A parameter holding `v`, with a zero gradient.
  Parameter(std::string n, Matrix<S> v) : name(std::move(n)), value(std::move(v)) {
    grad.setZero(value.rows(), value.cols());
  }
  /// Sets the gradient to zero (resizing it to the value's shape if needed).
  void zero_grad() { grad.setZero(value.rows(), value.cols()); }
  Index rows() const { return value.rows(); }
  Index cols() const { return value.cols(); }
  Index size() const { return value.size(); }
};

/// What produced a node; the NTK and other tape walkers dispatch on it.
enum class OpKind {
  Constant,
  Parameter,
  MatMul,
  Linear,
  Add,
  Sub,
  Mul,
  Scale,
  AddScalar,
  Sum,
  RowSum,
  ColSum,
  Relu,
  GeluTanh,
  GeluErf,
  Tanh,
  Sigmoid,
  Square,
  LinearQuadratic,
  Exp,
  Log,
  Softmax,
  LogSoftmax,
  CrossEntropy,
  StableMaxCrossEntropy,
  Mse,
  LayerNorm,
  Embedding,
  OneHotMatmul,
  ConcatCols,
  SliceCols,
  SelectRows,
  Attention,
  Custom
};

/// One recorded op: its value, gradient, inputs, attributes and saved tensors. Buffers persist
/// across `Tape::reset()` and are reused when the same graph is recorded again.
template <typename S>
struct Node {
  using BackwardFn = void (*)(Tape<S>&, Node<S>&);
  OpKind kind = OpKind::Constant;
  std::vector<int> inputs;
  Matrix<S> own_value;
  Matrix<S> own_grad;
  Parameter<S>* param = nullptr;  ///< set for parameter leaves
  bool requires_grad = false;
  bool grad_live = false;      ///< gradient buffer holds this backward pass's values
  Index rows_per_example = 1;  ///< rows [b·T, (b+1)·T) belong to example b; 0 = not per-example
  BackwardFn backward = nullptr;
  std::array<double, 4> attr{};  ///< scalar attributes (scale factors, eps, ...)
  std::array<Index, 4> iattr{};  ///< integer attributes (offsets, T, heads, ...)
  IndexList ids;                 ///< integer data (token ids, targets, selected rows)
  Matrix<S> cache0, cache1;      ///< tensors saved for backward
  Matrix<double> dcache;         ///< double-precision saved tensor (softmax probabilities of the loss)

  int self = -1;  ///< this node's id on its tape

  const Matrix<S>& value() const { return param ? param->value : own_value; }
};

/// Handle to a node of a tape. Cheap to copy; valid until the tape is reset.
template <typename S>
struct Var {
  Tape<S>* tape = nullptr;
  int id = -1;

  bool valid() const { return tape != nullptr && id >= 0; }
  const Matrix<S>& value() const { return tape->value(*this); }
  Index rows() const { return value().rows(); }
  Index cols() const { return value().cols(); }
  /// The scalar value of a 1 × 1 node.
  S item() const;
  /// Gradient of this node after a backward pass (zero if the pass did not reach it).
  const Matrix<S>& grad() const { return tape->grad(*this); }
};

/// Define-by-run reverse-mode tape over matrices of scalar S.
template <typename S = double>
class Tape {
 public:
  static_assert(is_real_scalar_v<S>, "grokscope::Tape: scalar must be float or double");
  using Scalar = S;
  using MatrixType = Matrix<S>;

  Tape() = default;
  Tape(const Tape&) = delete;
  Tape& operator=(const Tape&) = delete;

  /// Forgets the recorded graph but keeps every node's buffers for reuse.
  void reset() { m_size = 0; }

  /// Number of nodes recorded since the last reset.
  int size() const { return m_size; }

  /// A constant leaf (no gradient) holding a copy of `x`; `rows_per_example` as for every node.
  template <typename Derived>
  Var<S> constant(const Eigen::MatrixBase<Derived>& x, Index rows_per_example = 1) {
    require(rows_per_example >= 0, "Tape::constant", "rows_per_example must be >= 0");
    Node<S>& n = make_node(OpKind::Constant, {});
    n.own_value = x.template cast<S>();
    n.rows_per_example = rows_per_example;
    return var(n);
  }

  /// A leaf that reads and accumulates into a persistent parameter (no copy).
  Var<S> param(Parameter<S>& p) {
    require(p.grad.rows() == p.value.rows() && p.grad.cols() == p.value.cols(), "Tape::param",
            "parameter '" + p.name + "' has value " + shape_string(p.value) + " but grad " + shape_string(p.grad) +
                " (call zero_grad() after resizing)");
    Node<S>& n = make_node(OpKind::Parameter, {});
    n.param = &p;
    n.requires_grad = p.requires_grad;
    n.rows_per_example = 0;
    return var(n);
  }

  /// Extension point for new ops: a fresh node of `kind` with the given inputs. The node's
  /// `requires_grad` is set from its inputs and `rows_per_example` from the first input; the
  /// caller fills `own_value`, attributes, caches and the `backward` function.
  Node<S>& make_node(OpKind kind, std::initializer_list<int> inputs) {
    return make_node(kind, std::vector<int>(inputs));
  }

  /// As above, with the inputs in a vector (ops with a variable number of inputs).
  Node<S>& make_node(OpKind kind, const std::vector<int>& inputs) {
    if (m_size == static_cast<int>(m_nodes.size())) m_nodes.push_back(std::make_unique<Node<S>>());
    Node<S>& n = *m_nodes[static_cast<std::size_t>(m_size)];
    n.kind = kind;
    n.inputs.assign(inputs.begin(), inputs.end());
    n.param = nullptr;
    n.requires_grad = false;
    n.grad_live = false;
    n.backward = nullptr;
    n.rows_per_example = 1;
    n.ids.clear();
    for (int in : n.inputs) {
      GROKSCOPE_ASSERT(in >= 0 && in < m_size);
      n.requires_grad = n.requires_grad || m_nodes[static_cast<std::size_t>(in)]->requires_grad;
    }
    if (!n.inputs.empty()) n.rows_per_example = m_nodes[static_cast<std::size_t>(n.inputs[0])]->rows_per_example;
    n.self = m_size;
    ++m_size;
    return n;
  }

  /// Node behind a handle (checked).
  Node<S>& node(int id) {
    require(id >= 0 && id < m_size, "Tape::node",
            "id " + std::to_string(id) + " is not on the tape (size " + std::to_string(m_size) + ")");
    return *m_nodes[static_cast<std::size_t>(id)];
  }
  const Node<S>& node(int id) const {
    require(id >= 0 && id < m_size, "Tape::node",
            "id " + std::to_string(id) + " is not on the tape (size " + std::to_string(m_size) + ")");
    return *m_nodes[static_cast<std::size_t>(id)];
  }
  Node<S>& node(const Var<S>& v) { return node(checked(v, "Tape::node")); }

  /// Handle for a node of this tape.
  Var<S> var(const Node<S>& n) { return Var<S>{this, n.self}; }

  const Matrix<S>& value(const Var<S>& v) const { return node(checked(v, "Var::value")).value(); }

  /// Gradient of a node from the last backward pass; zeros of the right shape if it was not reached.
  const Matrix<S>& grad(const Var<S>& v) {
    Node<S>& n = node(checked(v, "Var::grad"));
    if (n.param) return n.param->grad;
    if (!n.grad_live) n.own_grad.setZero(n.own_value.rows(), n.own_value.cols());
    return n.own_grad;
  }

  /// True if the backward pass must produce a gradient for input `id`.
  bool needs_grad(int id) const { return m_nodes[static_cast<std::size_t>(id)]->requires_grad; }

  /// Gradient accumulator of input `id` for the current backward pass (zeroed on first use).
  /// Parameter leaves accumulate straight into the parameter's gradient.
  Matrix<S>& grad_acc(int id) {
    Node<S>& n = *m_nodes[static_cast<std::size_t>(id)];
    if (n.param) return n.param->grad;
    if (!n.grad_live) {
      n.own_grad.setZero(n.own_value.rows(), n.own_value.cols());
      n.grad_live = true;
    }
    return n.own_grad;
  }

  /// Gradient buffer of input `id` for a VJP that covers every entry: `fresh` tells whether the
  /// buffer holds nothing of this pass yet, in which case it has the right shape but unspecified
  /// contents and the caller must assign (=) every entry instead of accumulating (+=). This
  /// saves the zero-fill of grad_acc. Parameter gradients are never fresh (they accumulate).
  Matrix<S>& grad_target(int id, bool& fresh) {
    Node<S>& n = *m_nodes[static_cast<std::size_t>(id)];
    fresh = false;
    if (n.param) return n.param->grad;
    if (!n.grad_live) {
      n.own_grad.resize(n.own_value.rows(), n.own_value.cols());
      n.grad_live = true;
      fresh = true;
    }
    return n.own_grad;
  }

  /// Value of input `id` (for VJPs).
  const Matrix<S>& in_value(int id) const { return m_nodes[static_cast<std::size_t>(id)]->value(); }

  /// Reverse pass from a scalar (1 × 1) node with seed 1.
  void backward(const Var<S>& loss) {
    const Node<S>& n = node(checked(loss, "Tape::backward"));
    require(n.value().rows() == 1 && n.value().cols() == 1, "Tape::backward",
            "loss must be 1x1, got " + shape_string(n.value()) + " (pass a seed for non-scalar outputs)");
    Matrix<S> seed(1, 1);
    seed(0, 0) = S(1);
    backward(loss, seed);
  }

  /// Reverse pass from any node with cotangent `seed` (same shape as the node's value).
  /// Parameter gradients accumulate (+=) until the parameters' zero_grad().
  template <typename Derived>
  void backward(const Var<S>& out, const Eigen::MatrixBase<Derived>& seed) {
    const int root = checked(out, "Tape::backward");
    Node<S>& r = *m_nodes[static_cast<std::size_t>(root)];
    require(seed.rows() == r.value().rows() && seed.cols() == r.value().cols(), "Tape::backward",
            "seed is " + shape_string(seed) + " but the output is " + shape_string(r.value()));
    for (int i = 0; i < m_size; ++i) m_nodes[static_cast<std::size_t>(i)]->grad_live = false;
    if (!r.requires_grad) return;
    grad_acc(root) += seed.template cast<S>();
    for (int i = root; i >= 0; --i) {
      Node<S>& n = *m_nodes[static_cast<std::size_t>(i)];
      if (!n.requires_grad || n.param || n.backward == nullptr) continue;
      if (!n.grad_live) continue;  // not reached by this pass
      n.backward(*this, n);
    }
  }

 private:
  int checked(const Var<S>& v, const char* where) const {
    require(v.tape == this, where, "variable belongs to another tape");
    require(v.id >= 0 && v.id < m_size, where,
            "variable " + std::to_string(v.id) + " is stale (the tape holds " + std::to_string(m_size) +
                " nodes; was it reset?)");
    return v.id;
  }

  std::vector<std::unique_ptr<Node<S>>> m_nodes;
  int m_size = 0;
};

template <typename S>
S Var<S>::item() const {
  const Matrix<S>& v = value();
  require(v.rows() == 1 && v.cols() == 1, "Var::item", "value is " + shape_string(v) + ", not 1x1");
  return v(0, 0);
}

// Provided by the compiled library in compiled mode (core/config.hpp).
GROKSCOPE_EXTERN_STRUCT(Parameter)
GROKSCOPE_EXTERN_STRUCT(Node)
GROKSCOPE_EXTERN_STRUCT(Var)
GROKSCOPE_EXTERN_CLASS(Tape)

}  // namespace grokscope
