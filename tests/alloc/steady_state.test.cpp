// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// No allocation in the steady state, counted rather than timed. This executable replaces
// malloc (and its aligned and zeroing forms) with counting wrappers around glibc's own, so every
// heap request of the process passes through `note`: while armed, requests of at least 4 KB are
// counted. Minor page faults come from getrusage. After two warm-up repetitions (the tape's
// nodes, the packing buffers and the thread pool are made then), 20 more repetitions of a
// training step, a Hessian–vector product or an SGLD chain's step must make neither.
//
// Built only without sanitizers (they replace malloc themselves); ctest runs it with
// GROKSCOPE_ADAPT_THREADS=0, so that the thread count each case sets is the one it gets.

#include <grokscope/data/modular.hpp>
#include <grokscope/measure/hessian.hpp>
#include <grokscope/measure/llc.hpp>
#include <grokscope/nn/mlp.hpp>
#include <grokscope/nn/transformer.hpp>
#include <grokscope/optim/adam.hpp>
#include <grokscope/train/probes.hpp>
#include <grokscope/train/trainer.hpp>

#include <doctest/doctest.h>

#include <malloc.h>
#include <sys/resource.h>
#include <atomic>
#include <cstddef>
#include <cstdlib>

extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
}

namespace {
constexpr std::size_t kThreshold = 4096;
std::atomic<bool> g_armed{false};
std::atomic<long> g_large{0};
std::atomic<std::size_t> g_largest{0};

void note(std::size_t n) {
  if (n < kThreshold || !g_armed.load(std::memory_order_relaxed)) return;
  g_large.fetch_add(1, std::memory_order_relaxed);
  std::size_t seen = g_largest.load(std::memory_order_relaxed);
  while (n > seen && !g_largest.compare_exchange_weak(seen, n)) {
  }
}
}  // namespace

extern "C" {
void* malloc(std::size_t n) {
  note(n);
  return __libc_malloc(n);
}
void* calloc(std::size_t a, std::size_t b) {
  note(a * b);
  return __libc_calloc(a, b);
}
void* realloc(void* p, std::size_t n) {
  note(n);
  return __libc_realloc(p, n);
}
void* memalign(std::size_t al, std::size_t n) {
  note(n);
  return __libc_memalign(al, n);
}
void* aligned_alloc(std::size_t al, std::size_t n) {
  note(n);
  return __libc_memalign(al, n);
}
int posix_memalign(void** out, std::size_t al, std::size_t n) {
  note(n);
  void* p = __libc_memalign(al, n);
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}
}

namespace {
using namespace grokscope;

struct Counts {
  long allocations = 0;  ///< heap requests of at least kThreshold bytes
  std::size_t largest = 0;
  long faults = 0;  ///< minor page faults
};

long minor_faults() {
  rusage r{};
  getrusage(RUSAGE_SELF, &r);
  return r.ru_minflt;
}

// Runs `step` twice to warm up, then `repeats` times counted.
template <typename F>
Counts steady(F&& step, int repeats = 20) {
  step();
  step();
  g_large = 0;
  g_largest = 0;
  const long f0 = minor_faults();
  g_armed = true;
  for (int i = 0; i < repeats; ++i) step();
  g_armed = false;
  return {g_large.load(), g_largest.load(), minor_faults() - f0};
}

void check_zero(const Counts& c) {
  INFO("allocations >= 4 KB: " << c.allocations << " (largest " << c.largest << " bytes), minor faults: " << c.faults);
  CHECK(c.allocations == 0);
  CHECK(c.faults == 0);
}

// The counter itself counts: a fresh matrix per step is seen.
TEST_CASE("the counter sees a per-step allocation") {
  Eigen::setNbThreads(1);
  const Counts c = steady([] {
    Matrix<float> m(64, 64);  // 16 KB
    m.setOnes();
    volatile float s = m.sum();
    (void)s;
  });
  CHECK(c.allocations == 20);
  CHECK(c.largest >= 64 * 64 * sizeof(float));
}

template <typename S>
void transformer_step(int threads) {
  Eigen::setNbThreads(threads);
  Dataset ds = modular_dataset({ModOp::Add, 59, ModEncoding::NandaTokens});
  apply_split(ds, nanda_split(ds, 0.3, 0), "nanda");
  Transformer<S> net(TransformerConfig::nanda2023(59, 0));
  Adam<S> opt(net.parameters(), AdamConfig::grokking(1.0));
  const ModelInput<S> in = ModelInput<S>::from_dataset(ds, ds.train);
  const IndexList labels = ds.labels_of(ds.train);
  Tape<S> tape;
  check_zero(steady([&] {
    tape.reset();
    net.zero_grad();
    const Var<S> loss = cross_entropy(net.forward(tape, in), labels);
    tape.backward(loss);
    opt.step(opt.lr());
  }));
}

template <typename S>
void mlp_step(int threads) {
  Eigen::setNbThreads(threads);
  Dataset ds = modular_dataset({ModOp::Add, 47, ModEncoding::PairIndices});
  Rng rng(0);
  apply_split(ds, split_by_fraction(ds.size(), 0.5, rng), "random");
  Mlp<S> net(MlpConfig::gromov(47, 256));
  Adam<S> opt(net.parameters(), AdamConfig::grokking(0.1));
  const ModelInput<S> in = ModelInput<S>::from_dataset(ds, ds.train);
  const Matrix<S> targets = ds.one_hot_of(ds.train).template cast<S>();
  Tape<S> tape;
  check_zero(steady([&] {
    tape.reset();
    net.zero_grad();
    const Var<S> loss = mse(net.forward(tape, in), tape.constant(targets));
    tape.backward(loss);
    opt.step(opt.lr());
  }));
}

TEST_CASE("a training step allocates nothing after the first: Nanda et al.'s transformer") {
  SUBCASE("float, 1 thread") { transformer_step<float>(1); }
  SUBCASE("double, 1 thread") { transformer_step<double>(1); }
  SUBCASE("float, 2 threads") { transformer_step<float>(2); }
}

TEST_CASE("a training step allocates nothing after the first: Gromov's MLP") {
  SUBCASE("float, 1 thread") { mlp_step<float>(1); }
  SUBCASE("double, 1 thread") { mlp_step<double>(1); }
  SUBCASE("double, 2 threads") { mlp_step<double>(2); }
}

// The Trainer's mini-batch loop, counted as the difference between a 60-step and a 30-step run
// (the same setup, the same two evaluations).
TEST_CASE("the Trainer's mini-batch steps allocate nothing after the first") {
  Eigen::setNbThreads(1);
  Dataset ds = modular_dataset({ModOp::Add, 31, ModEncoding::NandaTokens});
  apply_split(ds, nanda_split(ds, 0.5, 0), "nanda");
  const auto run = [&](Index steps) {
    Transformer<float> net(TransformerConfig::nanda2023(31, 0));
    Adam<float> opt(net.parameters(), AdamConfig::grokking(1.0));
    TrainConfig tc;
    tc.steps = steps;
    tc.eval_every = 0;
    tc.log_points = 0;
    tc.batch_size = 48;  // 10 batches per epoch: every batch has the same shape
    Trainer<float> tr(net, ds, opt, tc);
    g_large = 0;
    const long f0 = minor_faults();
    g_armed = true;
    tr.run();
    g_armed = false;
    return Counts{g_large.load(), g_largest.load(), minor_faults() - f0};
  };
  run(10);  // warm the allocator and the thread pool
  const Counts a = run(30), b = run(60);
  INFO("30 steps: " << a.allocations << " allocations >= 4 KB, " << a.faults << " faults; 60 steps: " << b.allocations
                    << ", " << b.faults);
  CHECK(b.allocations == a.allocations);
}

TEST_CASE("an exact Hessian-vector product allocates nothing after the first") {
  Eigen::setNbThreads(1);
  Dataset ds = modular_dataset({ModOp::Add, 23, ModEncoding::NandaTokens});
  apply_split(ds, nanda_split(ds, 0.5, 0), "nanda");
  Transformer<double> net(TransformerConfig::nanda2023(23, 0));
  const IndexList labels = ds.labels_of(ds.train);
  CurvatureOperator H(net, ModelInput<double>::from_dataset(ds, ds.train),
                      [&labels](Tape<double>&, const Var<double>& out) { return cross_entropy(out, labels); });
  Rng rng(1);
  Eigen::VectorXd v = rng.normal_matrix(H.dim(), 1).col(0), out;
  check_zero(steady([&] {
    H.apply(v, out);
    v = out;
    v.normalize();
  }));
  CHECK(H.gradients() == 1);  // one recording for every product
}

// An SGLD chain's steps, counted as the difference between 60 and 30 draws of one chain.
TEST_CASE("an SGLD step of estimate_llc allocates nothing after the first") {
  Eigen::setNbThreads(1);
  Dataset ds = modular_dataset({ModOp::Add, 31, ModEncoding::NandaTokens});
  apply_split(ds, nanda_split(ds, 0.5, 0), "nanda");
  Transformer<float> net(TransformerConfig::nanda2023(31, 0));
  const BatchLossFn<float> loss = dataset_batch_loss<float>(ds, ds.train, LossKind::CrossEntropy);
  const auto run = [&](Index draws) {
    LlcOptions o;
    o.chains = 1;
    o.draws = draws;
    o.batch_size = 48;
    o.init_loss_batches = 2;
    g_large = 0;
    const long f0 = minor_faults();
    g_armed = true;
    estimate_llc(net, loss, static_cast<Index>(ds.train.size()), o);
    g_armed = false;
    return Counts{g_large.load(), g_largest.load(), minor_faults() - f0};
  };
  run(10);
  const Counts a = run(30), b = run(60);
  INFO("30 draws: " << a.allocations << " allocations >= 4 KB; 60 draws: " << b.allocations);
  CHECK(b.allocations == a.allocations);
}

}  // namespace
