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
///
/// Second order (Pearlmutter 1994, the R-operator). Each op also owns two more rules beside its
/// VJP: `tangent`, the Jacobian–vector product ẏ = Σ_k ∂y/∂x_k · ẋ_k (forward mode), and
/// `curvature`, the change of its VJP when its inputs move along their tangents with the
/// incoming gradient ȳ held fixed, (∂(Jᵀȳ)/∂x)·ẋ. With directions set on parameters
/// (`tangent_of`), `forward_tangents` carries ẏ through the recorded graph, `backward` gives ȳ,
/// and `backward_tangents` carries R{ȳ} back: an op's R{x̄} is its own VJP applied to R{ȳ} plus
/// its curvature term, so a parameter's `second_grad` is the exact Hessian–vector product
/// H·v. Ops linear in their inputs (add, sums, slices, gathers, embeddings) have no curvature
/// term. ReLU's second derivative is zero wherever it exists, as in PyTorch's double backward.

#include <grokscope/core/check.hpp>
#include <grokscope/core/config.hpp>
#include <grokscope/core/types.hpp>

#include <array>
#include <deque>
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
  using TangentFn = void (*)(Tape<S>&, Node<S>&);
  OpKind kind = OpKind::Constant;
  std::vector<int> inputs;
  Matrix<S> own_value;
  Matrix<S> own_grad;
  Parameter<S>* param = nullptr;  ///< set for parameter leaves
  bool requires_grad = false;
  bool grad_live = false;      ///< gradient buffer holds this backward pass's values
  Index rows_per_example = 1;  ///< rows [b·T, (b+1)·T) belong to example b; 0 = not per-example
  BackwardFn backward = nullptr;
  /// Forward mode: sets own_tangent from the inputs' tangents (Tape::in_tangent; null = zero).
  TangentFn tangent = nullptr;
  /// Second order: adds (∂(Jᵀȳ)/∂x)·ẋ to the inputs' R-gradients (Tape::rgrad_acc), ȳ = own_grad;
  /// Tape::no_curvature for an op whose VJP does not depend on its inputs' values.
  BackwardFn curvature = nullptr;
  std::array<double, 4> attr{};  ///< scalar attributes (scale factors, eps, ...)
  std::array<Index, 4> iattr{};  ///< integer attributes (offsets, T, heads, ...)
  IndexList ids;                 ///< integer data (token ids, targets, selected rows)
  Matrix<S> cache0, cache1;      ///< tensors saved for backward
  Matrix<double> dcache;         ///< double-precision saved tensor (softmax probabilities of the loss)
  Matrix<S> own_tangent;         ///< ẏ after forward_tangents (when tangent_live)
  Matrix<S> own_rgrad;           ///< R{ȳ} during backward_tangents (when rgrad_live)
  Matrix<S> tcache;              ///< tensor saved by the tangent rule for the curvature rule
  bool tangent_live = false;     ///< own_tangent holds this forward_tangents pass's values
  bool rgrad_live = false;       ///< own_rgrad holds this backward_tangents pass's values
  int slot = -1;                 ///< parameter leaves: the tape's direction slot of the parameter

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
    if (p.grad.rows() != p.value.rows() || p.grad.cols() != p.value.cols())
      throw_invalid("Tape::param", "parameter '" + p.name + "' has value " + shape_string(p.value) + " but grad " +
                                       shape_string(p.grad) + " (call zero_grad() after resizing)");
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
    return make_node_from(kind, inputs.begin(), inputs.end());
  }

  /// As above, with the inputs in a vector (ops with a variable number of inputs).
  Node<S>& make_node(OpKind kind, const std::vector<int>& inputs) {
    return make_node_from(kind, inputs.data(), inputs.data() + inputs.size());
  }

 private:
  // The next node, reusing the buffers (and input list) of the node that held its place before.
  Node<S>& make_node_from(OpKind kind, const int* first, const int* last) {
    if (m_size == static_cast<int>(m_nodes.size())) m_nodes.push_back(std::make_unique<Node<S>>());
    Node<S>& n = *m_nodes[static_cast<std::size_t>(m_size)];
    n.kind = kind;
    n.inputs.assign(first, last);
    n.param = nullptr;
    n.requires_grad = false;
    n.grad_live = false;
    n.backward = nullptr;
    n.tangent = nullptr;
    n.curvature = nullptr;
    n.tangent_live = false;
    n.rgrad_live = false;
    n.slot = -1;
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

 public:
  /// Node behind a handle (checked).
  Node<S>& node(int id) {
    if (id < 0 || id >= m_size)
      throw_invalid("Tape::node",
                    "id " + std::to_string(id) + " is not on the tape (size " + std::to_string(m_size) + ")");
    return *m_nodes[static_cast<std::size_t>(id)];
  }
  const Node<S>& node(int id) const {
    if (id < 0 || id >= m_size)
      throw_invalid("Tape::node",
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

  /// The gradient a VJP reads: ȳ in backward, R{ȳ} while backward_tangents runs the VJPs again.
  const Matrix<S>& dy(const Node<S>& n) const { return m_second ? n.own_rgrad : n.own_grad; }

  /// Gradient accumulator of input `id` for the current backward pass (zeroed on first use).
  /// Parameter leaves accumulate straight into the parameter's gradient. While
  /// backward_tangents runs, this is the R-gradient accumulator (rgrad_acc).
  Matrix<S>& grad_acc(int id) {
    if (m_second) return rgrad_acc(id);
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
    fresh = false;
    if (m_second) return rgrad_acc(id);
    Node<S>& n = *m_nodes[static_cast<std::size_t>(id)];
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

  // ---- forward mode and second order -------------------------------------------------------

  /// The direction of parameter `p` for forward_tangents, shaped as p (zeros when first asked
  /// for). Directions outlive reset() until clear_tangents(); a parameter never given one has
  /// tangent zero.
  Matrix<S>& tangent_of(Parameter<S>& p) {
    Slot& s = slot_for(p);
    if (!s.has_direction) s.direction.setZero(p.rows(), p.cols());
    s.has_direction = true;
    return s.direction;
  }

  /// Forgets every direction (their buffers are kept for reuse).
  void clear_tangents() {
    for (Slot& s : m_slots) s.has_direction = false;
  }

  /// Tangent of input `id` for a tangent or curvature rule; nullptr when it is zero (the node
  /// does not depend on any direction).
  const Matrix<S>* in_tangent(int id) const {
    const Node<S>& n = *m_nodes[static_cast<std::size_t>(id)];
    if (!n.tangent_live) return nullptr;
    if (n.param) return &m_slots[static_cast<std::size_t>(n.slot)].direction;
    return &n.own_tangent;
  }

  /// Forward mode over the recorded graph: every node's tangent ẏ = J·(directions), node after
  /// node. A direction must have its parameter's shape; an op with no tangent rule (a Custom op
  /// that did not set one) on a path from a direction is refused, naming the node.
  void forward_tangents() {
    for (int i = 0; i < m_size; ++i) {
      Node<S>& n = *m_nodes[static_cast<std::size_t>(i)];
      n.tangent_live = false;
      if (n.param) {
        n.slot = slot_index(*n.param);
        const Slot& s = m_slots[static_cast<std::size_t>(n.slot)];
        if (s.has_direction)
          if (!(s.direction.rows() == n.param->rows() && s.direction.cols() == n.param->cols()))
            throw_invalid("Tape::forward_tangents", "the direction of '" + n.param->name + "' is " +
                                                        shape_string(s.direction) + " but the parameter is " +
                                                        shape_string(n.param->value));
        n.tangent_live = s.has_direction;
        continue;
      }
      bool any = false;
      for (int in : n.inputs) any = any || m_nodes[static_cast<std::size_t>(in)]->tangent_live;
      if (!any) continue;
      if (!(n.tangent != nullptr))
        throw_invalid("Tape::forward_tangents", "node " + std::to_string(i) + " (op " +
                                                    std::to_string(static_cast<int>(n.kind)) +
                                                    ") has no tangent rule, and a direction reaches it");
      n.tangent(*this, n);
      n.tangent_live = true;
    }
  }

  /// Tangent of a node after forward_tangents (zeros of the value's shape if no direction
  /// reaches it).
  const Matrix<S>& tangent(const Var<S>& v) {
    Node<S>& n = node(checked(v, "Tape::tangent"));
    if (const Matrix<S>* t = in_tangent(n.self)) return *t;
    n.own_tangent.setZero(n.value().rows(), n.value().cols());
    return n.own_tangent;
  }

  /// R-gradient accumulator of input `id` for a curvature rule (zeroed on first use); for a
  /// parameter leaf, the parameter's second_grad.
  Matrix<S>& rgrad_acc(int id) {
    Node<S>& n = *m_nodes[static_cast<std::size_t>(id)];
    if (n.param) {
      Slot& s = m_slots[static_cast<std::size_t>(n.slot)];
      if (!s.rgrad_live) s.rgrad.setZero(n.param->rows(), n.param->cols());
      s.rgrad_live = true;
      return s.rgrad;
    }
    if (!n.rgrad_live) {
      n.own_rgrad.setZero(n.own_value.rows(), n.own_value.cols());
      n.rgrad_live = true;
    }
    return n.own_rgrad;
  }

  /// The second-order reverse pass (Pearlmutter's R-operator), after forward_tangents and
  /// backward(out, seed) on the same recording, the seed held constant. Every node reached
  /// gets R{ȳ}, the directional derivative of its gradient along the directions, and every
  /// parameter its second_grad: H·v for a scalar loss. Curvature terms are taken from the
  /// nodes numbered `curvature_from` or later only: 0 gives the Hessian; the loss's first node
  /// (the model's output id + 1) gives the generalized Gauss–Newton product JᵀH_ℓJ·v.
  void backward_tangents(const Var<S>& out, int curvature_from = 0) {
    const int root = checked(out, "Tape::backward_tangents");
    require(
        m_nodes[static_cast<std::size_t>(root)]->grad_live || !m_nodes[static_cast<std::size_t>(root)]->requires_grad,
        "Tape::backward_tangents", "run backward(out) on this recording first");
    for (int i = 0; i < m_size; ++i) {
      Node<S>& n = *m_nodes[static_cast<std::size_t>(i)];
      n.rgrad_live = false;
      if (n.param && n.slot < 0) n.slot = slot_index(*n.param);
    }
    for (Slot& s : m_slots) s.rgrad_live = false;
    struct Second {  // VJPs read R{ȳ} and write R-gradients until the pass ends, however it ends
      bool& flag;
      ~Second() { flag = false; }
    } second{m_second};
    for (int i = root; i >= 0; --i) {
      Node<S>& n = *m_nodes[static_cast<std::size_t>(i)];
      if (!n.requires_grad || n.param || n.backward == nullptr || !n.grad_live) continue;
      if (n.rgrad_live) {  // Jᵀ R{ȳ}: the op's own VJP on the R-gradient
        m_second = true;
        n.backward(*this, n);
        m_second = false;
      }
      if (i < curvature_from) continue;
      bool moved = false;
      for (int in : n.inputs) moved = moved || m_nodes[static_cast<std::size_t>(in)]->tangent_live;
      if (!moved) continue;
      if (n.curvature == nullptr)
        throw_invalid("Tape::backward_tangents", "node " + std::to_string(i) + " (op " +
                                                     std::to_string(static_cast<int>(n.kind)) +
                                                     ") has no curvature rule (Tape::no_curvature for a linear op)");
      n.curvature(*this, n);
    }
  }

  /// R{p̄} of a parameter after backward_tangents: H·v for a scalar loss (zeros of p's shape if
  /// the pass did not reach it).
  const Matrix<S>& second_grad(Parameter<S>& p) {
    Slot& s = slot_for(p);
    if (!s.rgrad_live) s.rgrad.setZero(p.rows(), p.cols());
    return s.rgrad;
  }

  /// The curvature rule of an op whose VJP does not change when its inputs move (an op
  /// linear in its inputs, or ReLU, whose second derivative is zero wherever it exists).
  static void no_curvature(Tape<S>&, Node<S>&) {}

  /// Reverse pass from a scalar (1 × 1) node with seed 1.
  void backward(const Var<S>& loss) {
    const Node<S>& n = node(checked(loss, "Tape::backward"));
    if (!(n.value().rows() == 1 && n.value().cols() == 1))
      throw_invalid("Tape::backward",
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
    if (!(seed.rows() == r.value().rows() && seed.cols() == r.value().cols()))
      throw_invalid("Tape::backward",
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
    if (v.id < 0 || v.id >= m_size)
      throw_invalid(where, "variable " + std::to_string(v.id) + " is stale (the tape holds " + std::to_string(m_size) +
                               " nodes; was it reset?)");
    return v.id;
  }

  // A parameter's direction and second-order gradient, kept across reset() for reuse.
  struct Slot {
    Parameter<S>* p = nullptr;
    Matrix<S> direction, rgrad;
    bool has_direction = false, rgrad_live = false;
  };

  int slot_index(Parameter<S>& p) {
    for (std::size_t i = 0; i < m_slots.size(); ++i)
      if (m_slots[i].p == &p) return static_cast<int>(i);
    m_slots.emplace_back();
    m_slots.back().p = &p;
    return static_cast<int>(m_slots.size() - 1);
  }
  Slot& slot_for(Parameter<S>& p) { return m_slots[static_cast<std::size_t>(slot_index(p))]; }

  std::vector<std::unique_ptr<Node<S>>> m_nodes;
  std::deque<Slot> m_slots;  ///< a deque: references handed out by tangent_of stay valid
  int m_size = 0;
  bool m_second = false;  ///< backward_tangents is running the VJPs on R-gradients
};

template <typename S>
S Var<S>::item() const {
  const Matrix<S>& v = value();
  if (!(v.rows() == 1 && v.cols() == 1)) throw_invalid("Var::item", "value is " + shape_string(v) + ", not 1x1");
  return v(0, 0);
}

// Provided by the compiled library in compiled mode (core/config.hpp).
GROKSCOPE_EXTERN_STRUCT(Parameter)
GROKSCOPE_EXTERN_STRUCT(Node)
GROKSCOPE_EXTERN_STRUCT(Var)
GROKSCOPE_EXTERN_CLASS(Tape)

}  // namespace grokscope
