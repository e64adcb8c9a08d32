// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Empirical neural tangent kernel of any model built on the tape:
/// K[(i,a),(j,b)] = ⟨∂f_a(x_i)/∂θ, ∂f_b(x'_j)/∂θ⟩ over the chosen parameters θ.
///
/// Two methods compute it:
/// - `Structured` (default) never forms a per-example gradient. Every use of a parameter in the
///   recorded graph gives the per-example gradient the form G(i) = Σ_{t ∈ rows of i} L_t R_tᵀ
///   (a linear layer y = x Wᵀ has L = δ, the cotangent of its output, and R = x; an embedding has
///   L = onehot(id), R = δ; a bias has L = 1, R = δ; LayerNorm's gain has R = x̂ ∘ δ). Then
///   ⟨G_u(i), G_v(j)⟩ = Σ_{t,s} (L_u,t·L_v,s)(R_u,t·R_v,s): a Hadamard product of two Gram
///   matrices, block-summed over the positions of a sequence. One backward pass per output gives
///   every δ for all examples at once, because the models keep examples independent. Memory is
///   O(n² + P + n·width); the symmetric case (one input set) computes only half of the blocks.
/// - `JacobianContraction` is the reference: explicit per-example gradients (one backward pass
///   per example and output) contracted as J Jᵀ by a symmetric rank update.
/// Both accumulate in double and agree to 1e-10 relative in double (tests/measure/ntk.test.cpp),
/// and both agree with functorch's Jacobian contraction on committed fixtures.
///
/// Precision. By default the structured method forms every Gram block in double from the
/// factors (exact products of a float32 model's values). `NtkPrecision::ModelScalar` forms the
/// dense Gram blocks of a float32 model in float32 (float GEMMs, about twice the rate; the factors
/// kept between backward passes take half the memory, the peak of one pass does not drop) and
/// converts each block to double before it is combined and accumulated, so the error is that of
/// one float32 dot product per entry, not of a float32 sum over parameters and blocks. Measured on
/// Kumar et al.'s task (tests/measure/ntk.test.cpp, bench/ntk_precision.py, the README): relative
/// Frobenius error 6e-8 to 3e-7. A double model is unaffected.
///
/// Output modes: the trace over outputs (n1 × n2, Σ_a K[(i,a),(j,a)]), one output (n1 × n2), the
/// full kernel ((n1·k) × (n2·k), index i·k + a, i.e. functorch's (n1, k, n2, k) reshaped), or
/// only the diagonal of any of them (n × 1 or n·k × 1). The default parameter set is every
/// parameter with requires_grad (Kumar et al.'s committee machine then uses only the hidden
/// weights); `parameters` names a subset.

#include <grokscope/autodiff/tape.hpp>
#include <grokscope/core/check.hpp>
#include <grokscope/core/config.hpp>
#include <grokscope/core/memory.hpp>
#include <grokscope/core/parallel.hpp>
#include <grokscope/core/types.hpp>
#include <grokscope/nn/model.hpp>

#include <algorithm>
#include <cstddef>
#include <map>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

namespace grokscope {

/// How empirical_ntk computes the kernel.
enum class NtkMethod { Structured, JacobianContraction };

/// The precision of the structured method's Gram blocks (see the file comment).
enum class NtkPrecision {
  Double,      ///< every Gram block in double (default; what measurements should use)
  ModelScalar  ///< dense Gram blocks in the model's scalar type, combined and accumulated in double
};

/// Which kernel over the k outputs.
enum class NtkOutput {
  Trace,   ///< Σ_a K[(i,a),(j,a)] (n1 × n2)
  Single,  ///< K[(i,a),(j,a)] for a = NtkOptions::output_index (n1 × n2)
  Full     ///< every output pair ((n1·k) × (n2·k), row i·k + a)
};

/// Options of empirical_ntk.
struct NtkOptions {
  NtkMethod method = NtkMethod::Structured;
  NtkOutput output = NtkOutput::Trace;
  Index output_index = 0;               ///< the output of NtkOutput::Single
  bool diagonal = false;                ///< only K(i,i) (one input set only): n × 1, or n·k × 1 for Full
  std::vector<std::string> parameters;  ///< names of the parameters θ; empty = all with requires_grad
  Index block_examples = 1024;          ///< examples per row block of the Gram products
  std::size_t max_bytes = 0;            ///< refuse above this estimated peak; 0 = default_memory_limit()
  std::size_t gram_cache_bytes = std::size_t(1) << 30;  ///< cache of output-independent Gram blocks
  NtkPrecision precision = NtkPrecision::Double;        ///< of the Gram blocks (Structured only)
};

/// Estimated peak memory of one empirical_ntk call, in bytes.
struct NtkMemoryEstimate {
  std::size_t kernel = 0;     ///< the result
  std::size_t gradients = 0;  ///< factors (Structured) or per-example Jacobian rows (JacobianContraction)
  std::size_t workspace = 0;  ///< Gram blocks and the recorded forward passes
  std::size_t total() const { return kernel + gradients + workspace; }
};

namespace detail {

GROKSCOPE_DEFERRED std::size_t ntk_default_max_bytes();

// Factor buffers kept between calls (in the per-thread workspace): a buffer no factor holds any
// more is reused, so the factors of repeated calls are not faulted in afresh each time.
struct NtkFactorPool {
  std::vector<std::shared_ptr<Eigen::MatrixXd>> dense;
  std::vector<std::shared_ptr<Eigen::MatrixXf>> single;
};

// A rows × cols buffer of `pool` that nothing else holds (the one of that size if there is one),
// or a new one; the pool keeps a reference. Without a pool, a new buffer.
template <typename M>
std::shared_ptr<M> ntk_pooled(std::vector<std::shared_ptr<M>>* pool, Index rows, Index cols) {
  if (!pool) return std::make_shared<M>(rows, cols);
  std::shared_ptr<M>* free_one = nullptr;
  for (auto& b : *pool)
    if (b.use_count() == 1) {
      if (b->rows() == rows && b->cols() == cols) return b;
      if (!free_one) free_one = &b;
    }
  if (free_one) {
    (*free_one)->resize(rows, cols);
    return *free_one;
  }
  pool->push_back(std::make_shared<M>(rows, cols));
  return pool->back();
}

// One factor of a parameter use, rows = examples·T: dense rows, or sums of k one-hot vectors of
// dimension `dim` (ids k per row). A bias's L = 1 is the one-hot case with dim 1. The data are
// shared between copies, so keeping every output's factors stores the shared ones once.
struct NtkFactor {
  std::shared_ptr<const Eigen::MatrixXd> dense;
  std::shared_ptr<const Eigen::MatrixXf>
      single;  // the dense rows in float (NtkPrecision::ModelScalar); dense is then empty
  std::shared_ptr<const IndexList> ids;
  Index k = 0;
  Index dim = 0;
  bool sparse() const { return k > 0; }
  bool ones() const { return k == 1 && dim == 1; }
  const Eigen::MatrixXd& D() const { return *dense; }
  Index id(Index row, Index x) const { return (*ids)[static_cast<std::size_t>(row * k + x)]; }
  Index cols() const { return single ? single->cols() : dense->cols(); }
  void set(Eigen::MatrixXd m) { set(std::make_shared<const Eigen::MatrixXd>(std::move(m))); }
  void set(std::shared_ptr<const Eigen::MatrixXd> m) {
    dense = std::move(m);
    single.reset();
  }
  // The rows of m, in float when `in_single` (NtkPrecision::ModelScalar), else in double, in a
  // buffer of `pool` (may be null).
  template <typename Derived>
  void assign(const Eigen::MatrixBase<Derived>& m, bool in_single, NtkFactorPool* pool) {
    if (in_single) {
      auto b = ntk_pooled(pool ? &pool->single : nullptr, m.rows(), m.cols());
      *b = m.template cast<float>();
      dense.reset();
      single = std::move(b);
    } else {
      auto b = ntk_pooled(pool ? &pool->dense : nullptr, m.rows(), m.cols());
      *b = m.template cast<double>();
      single.reset();
      dense = std::move(b);
    }
  }
  static NtkFactor make_ones(Index rows) {
    NtkFactor f;
    f.ids = std::make_shared<const IndexList>(static_cast<std::size_t>(rows), Index(0));
    f.k = 1;
    f.dim = 1;
    return f;
  }
  static NtkFactor make_onehot(const IndexList& ids, Index k, Index dim) {
    NtkFactor f;
    f.ids = std::make_shared<const IndexList>(ids);
    f.k = k;
    f.dim = dim;
    return f;
  }
};

// K = its lower triangle mirrored (no aliasing through Eigen expressions).
// Tiled, so that the transposed reads stay in cache.
GROKSCOPE_DEFERRED void mirror_lower(Eigen::Ref<Eigen::MatrixXd> K);

// Lower triangle of A Aᵀ (and the diagonal tiles whole) as tiles of 128 rows, each one GEMM on
// one of the threads: a little over half the flops of A Aᵀ at GEMM speed (Eigen's rank-k update
// runs on one thread), and the same result for any thread count.
GROKSCOPE_DEFERRED void ntk_sym_gram(const Eigen::Ref<const Eigen::MatrixXd>& A, Eigen::Ref<Eigen::MatrixXd> G);
// The same in float (NtkPrecision::ModelScalar).
GROKSCOPE_DEFERRED void ntk_sym_gram_single(const Eigen::Ref<const Eigen::MatrixXf>& A, Eigen::Ref<Eigen::MatrixXf> G);

// Gram block F_a[rows a0 .. a0+na) · F_b[rows b0 .. b0+nb)ᵀ.
GROKSCOPE_DEFERRED void ntk_gram(const NtkFactor& A, Index a0, Index na, const NtkFactor& B, Index b0, Index nb,
                                 Eigen::MatrixXd& G);
// The same in float, for two dense float factors (NtkPrecision::ModelScalar).
GROKSCOPE_DEFERRED void ntk_gram_single(const NtkFactor& A, Index a0, Index na, const NtkFactor& B, Index b0, Index nb,
                                        Eigen::MatrixXf& G);

// One use of a parameter in the recorded graph.
struct NtkUse {
  int node = -1;                            // the consuming node
  int slot = 0;                             // which input of it is the parameter
  int param = -1;                           // index into the selected parameters
  double weight = 1;                        // product of scale factors between the parameter and its use
  Index T = 1;                              // factor rows per example
  bool L_shared = false, R_shared = false;  // output-independent factors
  NtkFactor L, R;
};

template <typename S>
struct NtkParamRef {
  const Parameter<S>* p = nullptr;
  double weight = 1;
};

// The parameter behind node `id` (through chains of scale()), or null.
template <typename S>
NtkParamRef<S> ntk_resolve(const Tape<S>& t, int id) {
  NtkParamRef<S> r;
  while (true) {
    const Node<S>& n = t.node(id);
    if (n.kind == OpKind::Parameter) {
      r.p = n.param;
      return r;
    }
    if (n.kind == OpKind::Scale && n.rows_per_example == 0 && n.inputs.size() == 1) {
      r.weight *= n.attr[0];
      id = n.inputs[0];
      continue;
    }
    r.p = nullptr;
    return r;
  }
}

GROKSCOPE_DEFERRED const char* op_name(OpKind k);

template <typename S>
Eigen::MatrixXd ntk_delta(const Node<S>& n) {
  if (!n.grad_live) return Eigen::MatrixXd::Zero(n.own_value.rows(), n.own_value.cols());
  return n.own_grad.template cast<double>();
}

// Finds every use of a selected parameter on the tape and fills the output-independent factors.
// A use the structured method has no formula for is an error naming the op and the parameter.
// The dense factors are float when `single`, in buffers of `pool` when one is given.
template <typename S>
std::vector<NtkUse> ntk_uses(const Tape<S>& t, const std::vector<const Parameter<S>*>& sel, Index n_examples,
                             bool single = false, NtkFactorPool* pool = nullptr) {
  std::vector<NtkUse> uses;
  auto index_of = [&](const Parameter<S>* p) {
    for (std::size_t i = 0; i < sel.size(); ++i)
      if (sel[i] == p) return static_cast<int>(i);
    return -1;
  };
  for (int id = 0; id < t.size(); ++id) {
    const Node<S>& n = t.node(id);
    if (n.kind == OpKind::Parameter) continue;
    if (n.kind == OpKind::Scale && n.rows_per_example == 0) continue;  // a link of a parameter chain
    for (std::size_t slot = 0; slot < n.inputs.size(); ++slot) {
      const NtkParamRef<S> ref = ntk_resolve(t, n.inputs[slot]);
      if (ref.p == nullptr) continue;
      const int pi = index_of(ref.p);
      if (pi < 0) continue;
      const std::string who = "parameter '" + ref.p->name + "' is used by " + op_name(n.kind);
      auto unsupported = [&](const std::string& why) {
        throw std::invalid_argument("empirical_ntk: " + who + " " + why +
                                    "; the Structured method has no per-example formula for it (use "
                                    "NtkMethod::JacobianContraction)");
      };
      NtkUse u;
      u.node = id;
      u.slot = static_cast<int>(slot);
      u.param = pi;
      u.weight = ref.weight;
      u.T = n.rows_per_example;
      if (u.T < 1 || n.own_value.rows() != n_examples * u.T)
        unsupported("on a value of " + std::to_string(n.own_value.rows()) + " rows that are not " +
                    std::to_string(n_examples) + " examples");
      auto per_example = [&](int in) {
        const Node<S>& x = t.node(in);
        return x.rows_per_example == n.rows_per_example && x.value().rows() == n.own_value.rows();
      };
      switch (n.kind) {
        case OpKind::Linear:
          if (slot == 1 && per_example(n.inputs[0])) {  // y = c x Wᵀ: G = c Σ δ xᵀ
            u.R.assign(t.node(n.inputs[0]).value(), single, pool);
            u.R_shared = true;
            u.weight *= n.attr[0];
          } else if (slot == 2) {  // y += b: G = Σ 1·δᵀ
            u.L = NtkFactor::make_ones(n.own_value.rows());
            u.L_shared = true;
          } else {
            unsupported("as its input");
          }
          break;
        case OpKind::MatMul:
          if (slot == 1 && n.iattr[0] == 0 && per_example(n.inputs[0])) {
            // C = A B: G = Σ a δᵀ;  C = A Bᵀ: G = Σ δ aᵀ
            NtkFactor& f = n.iattr[1] == 0 ? u.L : u.R;
            f.assign(t.node(n.inputs[0]).value(), single, pool);
            (n.iattr[1] == 0 ? u.L_shared : u.R_shared) = true;
          } else {
            unsupported("as its left operand or with a transposed left operand");
          }
          break;
        case OpKind::Add:
        case OpKind::Sub:
        case OpKind::Mul: {
          const Matrix<S>& b = t.node(n.inputs[1]).value();
          const bool row = b.rows() == 1 && b.cols() == n.own_value.cols();
          const bool scalar = b.rows() == 1 && b.cols() == 1;
          if (slot != 1 || !(row || scalar) || !per_example(n.inputs[0]))
            unsupported("other than as a row (bias-like) or scalar second operand");
          u.L = NtkFactor::make_ones(n.own_value.rows());
          u.L_shared = true;
          if (n.kind == OpKind::Sub) u.weight = -u.weight;
          break;
        }
        case OpKind::LayerNorm:
          if (slot == 0) unsupported("as its input");
          u.L = NtkFactor::make_ones(n.own_value.rows());
          u.L_shared = true;
          break;
        case OpKind::Embedding:  // G = Σ onehot(id) δᵀ
          u.L = NtkFactor::make_onehot(n.ids, 1, t.node(n.inputs[0]).value().rows());
          u.L_shared = true;
          break;
        case OpKind::OneHotMatmul:  // G = c Σ δ (Σ_x onehot(id_x))ᵀ
          u.R = NtkFactor::make_onehot(n.ids, n.iattr[0], t.node(n.inputs[0]).value().cols());
          u.R_shared = true;
          u.weight *= n.attr[0];
          break;
        default:
          unsupported("");
      }
      uses.push_back(std::move(u));
    }
  }
  return uses;
}

// Fills the cotangent-dependent factors of every use after a backward pass.
// The cotangent factors that are the node's cotangent itself (linear layers, matrix products,
// embeddings) are float when `single`, in buffers of `pool` when one is given; the others are
// double (ntk_to_single converts them).
template <typename S>
void ntk_fill(const Tape<S>& t, std::vector<NtkUse>& uses, bool single = false, NtkFactorPool* pool = nullptr) {
  auto cotangent = [&](const Node<S>& n, NtkFactor& f) {
    if (n.grad_live)
      f.assign(n.own_grad, single, pool);
    else
      f.assign(Matrix<S>::Zero(n.own_value.rows(), n.own_value.cols()), single, pool);
  };
  // the previous pass's cotangent factors first, so that their buffers are free for this one
  for (NtkUse& u : uses) {
    if (!u.L_shared) u.L = NtkFactor();
    if (!u.R_shared) u.R = NtkFactor();
  }
  // A linear layer's weight and bias share one cotangent buffer, so their Gram is computed once.
  std::map<int, NtkFactor> raw;
  for (NtkUse& u : uses) {
    const Node<S>& n = t.node(u.node);
    if (n.kind == OpKind::Linear) {
      auto [it, fresh] = raw.try_emplace(u.node);
      if (fresh) cotangent(n, it->second);
      (u.slot == 1 ? u.L : u.R) = it->second;
      continue;
    }
    if (n.kind == OpKind::MatMul || n.kind == OpKind::Embedding || n.kind == OpKind::OneHotMatmul) {
      NtkFactor& f = n.kind == OpKind::MatMul ? (n.iattr[1] == 0 ? u.R : u.L) : n.kind == OpKind::Embedding ? u.R : u.L;
      cotangent(n, f);
      continue;
    }
    Eigen::MatrixXd d = ntk_delta(n);
    switch (n.kind) {
      case OpKind::MatMul:
        (n.iattr[1] == 0 ? u.R : u.L).set(std::move(d));
        break;
      case OpKind::Add:
      case OpKind::Sub:
      case OpKind::Mul: {
        if (n.kind == OpKind::Mul) d.array() *= t.node(n.inputs[0]).value().template cast<double>().array();
        const Matrix<S>& b = t.node(n.inputs[1]).value();
        if (b.cols() == 1 && n.own_value.cols() != 1)
          u.R.set(d.rowwise().sum());
        else
          u.R.set(std::move(d));
        break;
      }
      case OpKind::LayerNorm:
        if (u.slot == 1) d.array() *= n.cache0.template cast<double>().array();  // x̂ ∘ δ
        u.R.set(std::move(d));
        break;
      case OpKind::Embedding:
        u.R.set(std::move(d));
        break;
      case OpKind::OneHotMatmul:
        u.L.set(std::move(d));
        break;
      default:
        GROKSCOPE_ASSERT(false);
    }
  }
}

// Replaces every dense factor of the uses by its float copy (NtkPrecision::ModelScalar); factors
// that shared data share the copy.
GROKSCOPE_DEFERRED void ntk_to_single(std::vector<NtkUse>& uses);

// The float Gram block of the single-precision path, kept per thread between calls.
GROKSCOPE_DEFERRED Eigen::MatrixXf& ntk_single_scratch();

// K(i,j) += Σ_{t,s} H(i·Ta + t, j·Tb + s) over a block.
GROKSCOPE_DEFERRED void ntk_block_sum(const Eigen::MatrixXd& H, Index Ta, Index Tb, double w,
                                      Eigen::Ref<Eigen::MatrixXd> K);

// Selected parameters (requires_grad ones, or the named ones) with their flags to restore.
template <typename S>
struct NtkSelection {
  std::vector<Parameter<S>*> all;
  std::vector<const Parameter<S>*> sel;
  std::vector<Matrix<S>> saved_grads;
  std::vector<bool> saved_req;

  NtkSelection(Model<S>& model, const std::vector<std::string>& names) : all(model.parameters()) {
    for (Parameter<S>* p : all) {
      saved_grads.push_back(p->grad);
      saved_req.push_back(p->requires_grad);
    }
    if (names.empty()) {
      for (Parameter<S>* p : all)
        if (p->requires_grad) sel.push_back(p);
    } else {
      for (const std::string& nm : names) {
        Parameter<S>& p = model.parameter(nm);  // throws listing the names
        if (std::find(sel.begin(), sel.end(), &p) != sel.end())
          throw_invalid("empirical_ntk", "parameter '" + nm + "' is named twice");
        p.requires_grad = true;
        sel.push_back(&p);
      }
    }
    require(!sel.empty(), "empirical_ntk", "no parameter to differentiate (none requires grad)");
  }
  ~NtkSelection() {
    for (std::size_t i = 0; i < all.size(); ++i) {
      all[i]->grad = std::move(saved_grads[i]);
      all[i]->requires_grad = saved_req[i];
    }
  }
  NtkSelection(const NtkSelection&) = delete;
  NtkSelection& operator=(const NtkSelection&) = delete;

  Index size() const {
    Index s = 0;
    for (const Parameter<S>* p : sel) s += p->size();
    return s;
  }
};

template <typename S>
void ntk_check_input(const char* where, const ModelInput<S>& in, const char* name) {
  require(in.examples() > 0, where, std::string(name) + " has no examples");
  if (!in.is_tokens()) require_finite(where, name, in.x);
}

template <typename S>
Var<S> ntk_forward(Model<S>& model, Tape<S>& tape, const ModelInput<S>& in, const char* name) {
  const Var<S> out = model.forward(tape, in);
  require(out.rows() == in.examples(), "empirical_ntk",
          std::string("the model's output on ") + name + " has " + std::to_string(out.rows()) + " rows for " +
              std::to_string(in.examples()) + " examples (one row per example is needed)");
  require(out.cols() >= 1, "empirical_ntk", "the model has no outputs");
  return out;
}

struct NtkPlan {
  Index n1 = 0, n2 = 0, k = 0;
  bool symmetric = true;
  std::vector<Index> outputs;  // outputs to differentiate
  Index rows() const { return n1; }
};

GROKSCOPE_DEFERRED NtkPlan ntk_plan(const NtkOptions& o, Index n1, Index n2, bool symmetric, Index k);

GROKSCOPE_DEFERRED std::size_t ntk_kernel_bytes(const NtkOptions& o, const NtkPlan& p);

template <typename S>
std::size_t tape_bytes(const Tape<S>& t) {
  std::size_t b = 0;
  for (int i = 0; i < t.size(); ++i) {
    const Node<S>& n = t.node(i);
    b += static_cast<std::size_t>(n.own_value.size() + n.own_grad.size() + n.cache0.size() + n.cache1.size()) *
         sizeof(S);
    b += static_cast<std::size_t>(n.dcache.size()) * sizeof(double);
  }
  return b;
}

// The first example of an input set (to learn output widths and per-example sizes cheaply).
template <typename S>
ModelInput<S> first_example(const ModelInput<S>& X) {
  ModelInput<S> one;
  one.T = X.T;
  if (X.is_tokens())
    one.tokens.assign(X.tokens.begin(), X.tokens.begin() + X.T);
  else
    one.x = X.x.topRows(1);
  return one;
}

// Whether the Gram blocks are formed in float (NtkPrecision::ModelScalar on a float model).
template <typename S>
bool ntk_single(const NtkOptions& o, S) {
  return o.precision == NtkPrecision::ModelScalar && std::is_same_v<S, float>;
}

// Estimate by recording the forward pass on one example of each input and scaling per example.
template <typename S>
NtkMemoryEstimate ntk_estimate(Model<S>& model, const std::vector<const Parameter<S>*>& sel, const ModelInput<S>& X1,
                               const ModelInput<S>* X2, const NtkOptions& o, Index k, Index P) {
  NtkMemoryEstimate e;
  const Index n1 = X1.examples(), n2 = X2 ? X2->examples() : n1;
  const NtkPlan plan = ntk_plan(o, n1, n2, X2 == nullptr, k);
  e.kernel = ntk_kernel_bytes(o, plan);
  const ModelInput<S> one = first_example(X1);
  Tape<S> t;
  model.forward(t, one);
  const std::size_t nsum = static_cast<std::size_t>(n1 + (X2 ? n2 : 0));
  const std::size_t tb = tape_bytes(t);
  e.workspace = tb * nsum;
  const std::size_t kk = o.output == NtkOutput::Full ? static_cast<std::size_t>(plan.outputs.size()) : 1;
  if (o.method == NtkMethod::Structured) {
    std::vector<NtkUse> uses = ntk_uses(t, sel, 1);
    std::size_t shared = 0, per_output = 0, dense = 0;  // dense: the double factors' part of both
    Index Tmax = 1;
    const bool single = ntk_single(o, S(0));
    const std::size_t elem = single ? sizeof(float) : sizeof(double);
    for (const NtkUse& u : uses) {
      Tmax = std::max(Tmax, u.T);
      // shared factors as recorded on one example; cotangents have the consumer's width
      const std::size_t out_w = static_cast<std::size_t>(t.node(u.node).own_value.cols());
      const std::size_t rows = static_cast<std::size_t>(u.T);
      if (u.L_shared) {
        shared += rows * (u.L.sparse() ? static_cast<std::size_t>(u.L.k) * sizeof(Index)
                                       : static_cast<std::size_t>(u.L.cols()) * elem);
        if (!u.L.sparse()) dense += rows * static_cast<std::size_t>(u.L.cols()) * sizeof(double);
      } else {
        per_output += rows * out_w * elem;
        dense += rows * out_w * sizeof(double);
      }
      if (u.R_shared) {
        shared += rows * (u.R.sparse() ? static_cast<std::size_t>(u.R.k) * sizeof(Index)
                                       : static_cast<std::size_t>(u.R.cols()) * elem);
        if (!u.R.sparse()) dense += rows * static_cast<std::size_t>(u.R.cols()) * sizeof(double);
      } else {
        per_output += rows * out_w * elem;
        dense += rows * out_w * sizeof(double);
      }
    }
    // single precision: one pass's factors are held in double while they are converted
    e.gradients = (shared + per_output * kk + (single ? dense : 0)) * nsum;
    const std::size_t b = static_cast<std::size_t>(std::min<Index>(o.block_examples, std::max(n1, n2)) * Tmax);
    e.workspace += 8 * b * b * sizeof(double) + (single ? b * b * sizeof(float) : 0);  // Gram blocks held at once
    if (!o.diagonal && plan.outputs.size() > 1) {
      const std::size_t n1r = static_cast<std::size_t>(n1 * Tmax), n2r = static_cast<std::size_t>(n2 * Tmax);
      e.workspace += std::min(o.gram_cache_bytes, uses.size() * n1r * n2r * sizeof(double));
    }
  } else {
    e.gradients =
        static_cast<std::size_t>(P) * sizeof(double) * nsum * kk + 2 * static_cast<std::size_t>(P) * sizeof(S);
  }
  return e;
}

GROKSCOPE_DEFERRED void ntk_require_memory(const NtkOptions& o, const NtkMemoryEstimate& e);

template <typename S>
Matrix<S> ntk_seed(Index rows, Index cols, Index a) {
  Matrix<S> seed = Matrix<S>::Zero(rows, cols);
  seed.col(a).setOnes();
  return seed;
}

// ----- Structured ------------------------------------------------------------------------------

// Gram blocks keyed by the identity of the factor data and the row ranges. One cache lives across
// the outputs for output-independent factors (within its byte budget); a second one lives for one
// block and output, so that a Gram shared by two uses (a layer's δ for its weight and its bias)
// is computed once.
// One Gram block: in double, or in float when both factors are float (NtkPrecision::ModelScalar),
// so that the accumulation reads the float products directly (K += w·double(GL)·double(GR)).
struct NtkGram {
  Eigen::MatrixXd d;
  Eigen::MatrixXf f;
  bool single = false;
  std::size_t bytes() const {
    return single ? static_cast<std::size_t>(f.size()) * sizeof(float)
                  : static_cast<std::size_t>(d.size()) * sizeof(double);
  }
};

struct NtkGramCache {
  using Key = std::tuple<const void*, const void*, Index, Index, Index, Index>;
  std::map<Key, NtkGram> map;
  std::size_t bytes = 0, budget = 0;
  std::vector<NtkGram>* pool = nullptr;  // storage recycled between blocks
  void clear() {
    if (pool)
      for (auto& e : map) pool->push_back(std::move(e.second));
    if (pool && pool->size() > 16) pool->erase(pool->begin(), pool->end() - 16);
    map.clear();
    bytes = 0;
  }
  ~NtkGramCache() { clear(); }
  NtkGram take(Index rows, Index cols, bool single);
};

// Buffers kept per thread between calls: large short-lived allocations would otherwise be
// returned to the system and faulted in again on every call, which costs as much as the Grams.
template <typename S>
struct NtkWorkspace {
  Tape<S> t1, t2;
  std::vector<NtkGram> pool;
  NtkFactorPool factors;
  bool busy = false;
};

template <typename S>
NtkWorkspace<S>& ntk_workspace() {
  thread_local NtkWorkspace<S> w;
  return w;
}

GROKSCOPE_DEFERRED const void* ntk_data_id(const NtkFactor& f);

GROKSCOPE_DEFERRED const NtkGram& ntk_cached_gram(const NtkFactor& fa, Index ra, Index na, const NtkFactor& fb,
                                                  Index rb, Index nb, NtkGramCache& cache);

// K_block += Σ_{u,v same parameter} blocksum(GL ∘ GR) for examples [i0, i0+ni) × [j0, j0+nj).
GROKSCOPE_DEFERRED void ntk_accumulate_block(const std::vector<NtkUse>& U1, const std::vector<NtkUse>& U2, Index i0,
                                             Index ni, Index j0, Index nj, Eigen::Ref<Eigen::MatrixXd> K,
                                             NtkGramCache& persistent);

// Σ_{u,v} Σ_{t,s} for one example's own rows: the diagonal entry K(i,i).
GROKSCOPE_DEFERRED double ntk_self(const std::vector<NtkUse>& U, Index i, Eigen::MatrixXd& GL, Eigen::MatrixXd& GR);

template <typename S>
Eigen::MatrixXd ntk_structured(Model<S>& model, const std::vector<const Parameter<S>*>& sel, const ModelInput<S>& X1,
                               const ModelInput<S>* X2, const NtkOptions& o) {
  NtkWorkspace<S>& ws = ntk_workspace<S>();
  Tape<S> own1, own2;  // a nested call (a model whose forward computes an NTK) uses its own tapes
  const bool reuse = !ws.busy;
  ws.busy = true;
  struct Release {
    NtkWorkspace<S>& w;
    bool on;
    ~Release() {
      if (on) w.busy = false;
    }
  } release{ws, reuse};
  Tape<S>& t1 = reuse ? ws.t1 : own1;
  Tape<S>& t2 = reuse ? ws.t2 : own2;
  std::vector<NtkGram> own_pool;
  std::vector<NtkGram>* pool = reuse ? &ws.pool : &own_pool;
  NtkFactorPool* factor_pool = reuse ? &ws.factors : nullptr;
  const bool single = ntk_single(o, S(0));
  t1.reset();
  t2.reset();
  const Var<S> f1 = ntk_forward(model, t1, X1, "X1");
  const Index n1 = X1.examples(), k = f1.cols();
  std::vector<NtkUse> U1 = ntk_uses(t1, sel, n1, single, factor_pool), U2;
  Var<S> f2;
  Index n2 = n1;
  if (X2) {
    f2 = ntk_forward(model, t2, *X2, "X2");
    n2 = X2->examples();
    require(f2.cols() == k, "empirical_ntk", "the model gives different output widths on X1 and X2");
    U2 = ntk_uses(t2, sel, n2, single, factor_pool);
    require(U2.size() == U1.size(), "empirical_ntk", "the model records different graphs for X1 and X2");
  }
  const NtkPlan plan = ntk_plan(o, n1, n2, X2 == nullptr, k);
  const bool full = o.output == NtkOutput::Full;
  const Index kk = full ? k : 1;
  const std::vector<NtkUse>& V2 = X2 ? U2 : U1;
  Eigen::MatrixXd GL, GR;

  // Per-output factors: one backward pass per output and input set (the parameters' gradients
  // it accumulates are not read, and are restored by NtkSelection).
  auto pass = [&](Tape<S>& t, const Var<S>& f, std::vector<NtkUse>& U, Index a) {
    t.backward(f, ntk_seed<S>(f.rows(), f.cols(), a));
    ntk_fill(t, U, single, factor_pool);
    if (single) ntk_to_single(U);
  };

  if (o.diagonal) {
    Eigen::MatrixXd K = Eigen::MatrixXd::Zero(n1 * kk, 1);
    for (std::size_t ai = 0; ai < plan.outputs.size(); ++ai) {
      const Index a = plan.outputs[ai];
      pass(t1, f1, U1, a);
      for (Index i = 0; i < n1; ++i) K(full ? i * k + a : i, 0) += ntk_self(U1, i, GL, GR);
    }
    return K;
  }

  const Index B = o.block_examples;
  auto for_blocks = [&](auto&& fn) {
    for (Index i0 = 0; i0 < n1; i0 += B)
      for (Index j0 = 0; j0 < n2; j0 += B) {
        if (plan.symmetric && j0 > i0) continue;
        fn(i0, std::min(B, n1 - i0), j0, std::min(B, n2 - j0));
      }
  };

  Eigen::MatrixXd K;
  if (!full) {
    K.setZero(n1, n2);
    NtkGramCache cache;
    cache.pool = pool;
    cache.budget = plan.outputs.size() > 1 ? o.gram_cache_bytes : 0;
    for (const Index a : plan.outputs) {
      pass(t1, f1, U1, a);
      if (X2) pass(t2, f2, U2, a);
      for_blocks([&](Index i0, Index ni, Index j0, Index nj) {
        ntk_accumulate_block(U1, V2, i0, ni, j0, nj, K.block(i0, j0, ni, nj), cache);
      });
    }
  } else {
    // Every output's cotangent factors are kept; the shared factors are stored once.
    std::vector<std::vector<NtkUse>> F1(static_cast<std::size_t>(k)), F2(X2 ? static_cast<std::size_t>(k) : 0);
    for (Index a = 0; a < k; ++a) {
      pass(t1, f1, U1, a);
      F1[static_cast<std::size_t>(a)] = U1;
      if (X2) {
        pass(t2, f2, U2, a);
        F2[static_cast<std::size_t>(a)] = U2;
      }
    }
    K.setZero(n1 * k, n2 * k);
    Eigen::MatrixXd Kab;
    NtkGramCache cache;
    cache.pool = pool;
    cache.budget = k > 1 ? o.gram_cache_bytes : 0;
    for (Index a = 0; a < k; ++a)
      for (Index b = 0; b < k; ++b) {
        if (plan.symmetric && b > a) continue;
        const auto& A = F1[static_cast<std::size_t>(a)];
        const auto& Bf = X2 ? F2[static_cast<std::size_t>(b)] : F1[static_cast<std::size_t>(b)];
        Kab.setZero(n1, n2);
        const bool same = plan.symmetric && a == b;
        for (Index i0 = 0; i0 < n1; i0 += B)
          for (Index j0 = 0; j0 < n2; j0 += B) {
            if (same && j0 > i0) continue;
            const Index ni = std::min(B, n1 - i0), nj = std::min(B, n2 - j0);
            ntk_accumulate_block(A, Bf, i0, ni, j0, nj, Kab.block(i0, j0, ni, nj), cache);
          }
        if (same) mirror_lower(Kab);
        for (Index i = 0; i < n1; ++i)
          for (Index j = 0; j < n2; ++j) {
            K(i * k + a, j * k + b) = Kab(i, j);
            if (plan.symmetric && a != b) K(j * k + b, i * k + a) = Kab(i, j);
          }
      }
    return K;
  }
  if (plan.symmetric) mirror_lower(K);
  return K;
}

// ----- Jacobian contraction (reference) ---------------------------------------------------------

// Per-example gradients of output a: row i = ∂f_a(x_i)/∂θ over the selected parameters.
template <typename S>
Eigen::MatrixXd ntk_jacobian(Model<S>& model, const std::vector<const Parameter<S>*>& sel, Tape<S>& t, const Var<S>& f,
                             Index a) {
  Index P = 0;
  for (const Parameter<S>* p : sel) P += p->size();
  const Index n = f.rows();
  Eigen::MatrixXd J(n, P);
  Matrix<S> seed = Matrix<S>::Zero(n, f.cols());
  for (Index i = 0; i < n; ++i) {
    for (Parameter<S>* p : model.parameters()) p->zero_grad();
    seed(i, a) = S(1);
    t.backward(f, seed);
    seed(i, a) = S(0);
    Index off = 0;
    for (const Parameter<S>* p : sel) {
      J.row(i).segment(off, p->size()) =
          Eigen::Map<const Eigen::Matrix<S, 1, Eigen::Dynamic>>(p->grad.data(), p->size()).template cast<double>();
      off += p->size();
    }
  }
  return J;
}

template <typename S>
Eigen::MatrixXd ntk_jacobian_contraction(Model<S>& model, const std::vector<const Parameter<S>*>& sel,
                                         const ModelInput<S>& X1, const ModelInput<S>* X2, const NtkOptions& o) {
  Tape<S> t1, t2;
  const Var<S> f1 = ntk_forward(model, t1, X1, "X1");
  const Index n1 = X1.examples(), k = f1.cols();
  Var<S> f2;
  Index n2 = n1;
  if (X2) {
    f2 = ntk_forward(model, t2, *X2, "X2");
    n2 = X2->examples();
    require(f2.cols() == k, "empirical_ntk", "the model gives different output widths on X1 and X2");
  }
  const NtkPlan plan = ntk_plan(o, n1, n2, X2 == nullptr, k);
  const bool full = o.output == NtkOutput::Full;
  if (full) {
    // Rows i·k + a of the stacked Jacobians.
    Index P = 0;
    for (const Parameter<S>* p : sel) P += p->size();
    auto stacked = [&](Tape<S>& t, const Var<S>& f, Index n) {
      Eigen::MatrixXd J(n * k, P);
      for (Index a = 0; a < k; ++a) {
        const Eigen::MatrixXd Ja = ntk_jacobian(model, sel, t, f, a);
        for (Index i = 0; i < n; ++i) J.row(i * k + a) = Ja.row(i);
      }
      return J;
    };
    const Eigen::MatrixXd J1 = stacked(t1, f1, n1);
    if (o.diagonal) return J1.rowwise().squaredNorm();
    if (X2) return J1 * stacked(t2, f2, n2).transpose();
    Eigen::MatrixXd K = Eigen::MatrixXd::Zero(n1 * k, n1 * k);
    K.selfadjointView<Eigen::Lower>().rankUpdate(J1);
    mirror_lower(K);
    return K;
  }
  Eigen::MatrixXd K = Eigen::MatrixXd::Zero(n1, o.diagonal ? 1 : n2);
  for (const Index a : plan.outputs) {
    const Eigen::MatrixXd J1 = ntk_jacobian(model, sel, t1, f1, a);
    if (o.diagonal)
      K.col(0) += J1.rowwise().squaredNorm();
    else if (X2)
      K.noalias() += J1 * ntk_jacobian(model, sel, t2, f2, a).transpose();
    else
      K.selfadjointView<Eigen::Lower>().rankUpdate(J1);
  }
  if (!o.diagonal && !X2) mirror_lower(K);
  return K;
}

template <typename S>
Eigen::MatrixXd ntk_dispatch(Model<S>& model, const ModelInput<S>& X1, const ModelInput<S>* X2, const NtkOptions& o) {
  refresh_thread_budget();  // its GEMMs follow the machine's load (core/parallel.hpp)
  ntk_check_input("empirical_ntk", X1, "X1");
  if (X2) {
    ntk_check_input("empirical_ntk", *X2, "X2");
    require(X1.T == X2->T, "empirical_ntk", "X1 and X2 have different input kinds (tokens per example differ)");
    if (!X1.is_tokens())
      require(X1.x.cols() == X2->x.cols(), "empirical_ntk",
              "X1 has " + std::to_string(X1.x.cols()) + " features but X2 has " + std::to_string(X2->x.cols()));
  }
  NtkSelection<S> selection(model, o.parameters);
  Index k = 0;
  {
    Tape<S> probe;
    const ModelInput<S> one = first_example(X1);
    k = model.forward(probe, one).cols();
  }
  ntk_require_memory(o, ntk_estimate(model, selection.sel, X1, X2, o, k, selection.size()));
  if (o.method == NtkMethod::Structured) return ntk_structured(model, selection.sel, X1, X2, o);
  return ntk_jacobian_contraction(model, selection.sel, X1, X2, o);
}

}  // namespace detail

/// Frees the buffers empirical_ntk keeps on this thread between calls (tapes, factors and Gram
/// blocks).
template <typename S>
void ntk_release_workspace() {
  detail::NtkWorkspace<S>& w = detail::ntk_workspace<S>();
  require(!w.busy, "ntk_release_workspace", "called while an NTK is being computed");
  w.t1.~Tape<S>();
  new (&w.t1) Tape<S>();
  w.t2.~Tape<S>();
  new (&w.t2) Tape<S>();
  std::vector<detail::NtkGram>().swap(w.pool);
  w.factors = detail::NtkFactorPool();
  detail::ntk_single_scratch().resize(0, 0);
}

/// Empirical NTK of `model` between the examples of X1 and X2 (see the file comment for modes).
/// Parameter gradients and requires_grad flags are restored afterwards.
template <typename S>
Eigen::MatrixXd empirical_ntk(Model<S>& model, const ModelInput<S>& X1, const ModelInput<S>& X2,
                              const NtkOptions& options = {}) {
  return detail::ntk_dispatch(model, X1, &X2, options);
}

/// Empirical NTK of `model` on one input set (symmetric: half of the Gram blocks are computed).
template <typename S>
Eigen::MatrixXd empirical_ntk(Model<S>& model, const ModelInput<S>& X, const NtkOptions& options = {}) {
  return detail::ntk_dispatch(model, X, static_cast<const ModelInput<S>*>(nullptr), options);
}

namespace detail {
template <typename S>
NtkMemoryEstimate ntk_memory_estimate(Model<S>& model, const ModelInput<S>& X1, const ModelInput<S>* X2,
                                      const NtkOptions& options) {
  ntk_check_input("ntk_memory_estimate", X1, "X1");
  NtkSelection<S> selection(model, options.parameters);
  const ModelInput<S> one = first_example(X1);
  Tape<S> probe;
  const Index k = model.forward(probe, one).cols();
  return ntk_estimate(model, selection.sel, X1, X2, options, k, selection.size());
}
}  // namespace detail

/// Peak memory that empirical_ntk(model, X, options) would need, before running it.
template <typename S>
NtkMemoryEstimate ntk_memory_estimate(Model<S>& model, const ModelInput<S>& X, const NtkOptions& options = {}) {
  return detail::ntk_memory_estimate(model, X, static_cast<const ModelInput<S>*>(nullptr), options);
}

/// Peak memory that empirical_ntk(model, X1, X2, options) would need, before running it.
template <typename S>
NtkMemoryEstimate ntk_memory_estimate(Model<S>& model, const ModelInput<S>& X1, const ModelInput<S>& X2,
                                      const NtkOptions& options = {}) {
  return detail::ntk_memory_estimate(model, X1, &X2, options);
}

/// The NTK's float and double instantiations, listed once: `X` is `extern template` in the
/// headers (compiled mode) and `template` in the compiled library.
#define GROKSCOPE_NTK_INSTANTIATIONS(X, S)                                                                             \
  X Eigen::MatrixXd detail::ntk_dispatch<S>(Model<S>&, const ModelInput<S>&, const ModelInput<S>*, const NtkOptions&); \
  X NtkMemoryEstimate detail::ntk_memory_estimate<S>(Model<S>&, const ModelInput<S>&, const ModelInput<S>*,            \
                                                     const NtkOptions&);

#if defined(GROKSCOPE_COMPILED)
GROKSCOPE_NTK_INSTANTIATIONS(extern template, float)
GROKSCOPE_NTK_INSTANTIATIONS(extern template, double)
#endif

}  // namespace grokscope

#if GROKSCOPE_HEADER_ONLY
#include <grokscope/measure/detail/ntk-inl.hpp>
#endif
