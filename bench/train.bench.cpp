// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// One full training step (forward, backward, optimiser) of the three reference settings, in
// float32, matched one-to-one by bench/peer/train_torch.py:
//   NandaTransformer  p = 113, 30 % of pairs (full batch 3 830), Nanda et al.'s model, AdamW
//   GromovMLP         p = 97, width 512, half the table (full batch 4 704), MSE, AdamW
//   KumarMLP          D = 100, P = 550, N = 500, φ(h) = h + (ε/2)h², centered, gradient descent
// FLOPs counts the multiply-adds of the step's matrix products (2 per multiply-add), so
// "FLOPs" is the useful FLOP rate; BM_EigenGemms_* measure Eigen's own GEMM rate on exactly the
// step's matrix products for comparison. Complexity_NandaTransformer and
// SpectralEntropyPenalty_NandaTransformer time DeMoss et al.'s measure and regulariser on the same
// model (at initialisation), to compare with its step.
#include <grokscope/data/modular.hpp>
#include <grokscope/data/regression.hpp>
#include <grokscope/measure/complexity.hpp>
#include <grokscope/nn/mlp.hpp>
#include <grokscope/nn/transformer.hpp>
#include <grokscope/optim/adam.hpp>
#include <grokscope/optim/sgd.hpp>
#include <grokscope/optim/spectral_entropy.hpp>

#include <benchmark/benchmark.h>

using namespace grokscope;

namespace {

template <typename Model>
void run_steps(benchmark::State& state, Model& model, Optimizer<float>& opt, const ModelInput<float>& in,
               const IndexList* labels, const Matrix<float>* targets, double flops) {
  Tape<float> tape;
  for (auto _ : state) {
    tape.reset();
    model.zero_grad();
    const Var<float> out = model.forward(tape, in);
    const Var<float> loss = labels ? cross_entropy(out, *labels) : mse(out, tape.constant(*targets));
    tape.backward(loss);
    opt.step(opt.lr());
    benchmark::DoNotOptimize(model.parameters()[0]->value.data());
  }
  state.SetItemsProcessed(state.iterations() * in.examples());
  state.counters["FLOPs"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_TrainStep_NandaTransformer(benchmark::State& state) {
  Dataset ds = modular_dataset({ModOp::Add, 113, ModEncoding::NandaTokens});
  apply_split(ds, nanda_split(ds, 0.3, 0), "nanda");
  Transformer<float> model(TransformerConfig::nanda2023(113));
  Adam<float> opt(model.parameters(), AdamConfig::grokking(1.0));
  const ModelInput<float> in = ModelInput<float>::from_dataset(ds, ds.train);
  const IndexList y = ds.labels_of(ds.train);
  const double n = static_cast<double>(ds.train.size()), d = 128, T = 3, m = 512, V = 114;
  // forward: K, V on T positions, Q and W_O on the last, MLP and unembed on the last; backward 2×
  const double fwd = 2 * n * (2 * T * d * d + 2 * d * d + 2 * d * m + d * V) + 2 * n * 4 * T * 32 * 2;
  run_steps(state, model, opt, in, &y, nullptr, 3 * fwd);
}
BENCHMARK(BM_TrainStep_NandaTransformer)->Unit(benchmark::kMillisecond)->UseRealTime();

// DeMoss et al.'s complexity (ε = 1 on the training split, the default grid) and the spectral-entropy
// regulariser's gradient on the same model, to set beside one training step.
void BM_Complexity_NandaTransformer(benchmark::State& state) {
  Dataset ds = modular_dataset({ModOp::Add, 113, ModEncoding::NandaTokens});
  apply_split(ds, nanda_split(ds, 0.3, 0), "nanda");
  Transformer<float> model(TransformerConfig::nanda2023(113));
  const ModelInput<float> in = ModelInput<float>::from_dataset(ds, ds.train);
  const IndexList y = ds.labels_of(ds.train);
  const LossFn<float> loss = [&](Tape<float>& t, Model<float>& m) { return cross_entropy(m.forward(t, in), y); };
  Index evaluations = 0;
  for (auto _ : state) {
    const CoarseGrainedComplexity c = coarse_grained_complexity<float>(model, loss, 1.0);
    evaluations = c.evaluations;
    benchmark::DoNotOptimize(c.bytes);
  }
  state.counters["loss_evaluations"] = static_cast<double>(evaluations);
}
BENCHMARK(BM_Complexity_NandaTransformer)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

void BM_SpectralEntropyPenalty_NandaTransformer(benchmark::State& state) {
  Transformer<float> model(TransformerConfig::nanda2023(113));
  SpectralEntropyPenalty<float> pen(0.1);
  for (auto _ : state) {
    pen.apply(model.parameters());
    benchmark::DoNotOptimize(pen.last_penalty());
  }
}
BENCHMARK(BM_SpectralEntropyPenalty_NandaTransformer)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_TrainStep_GromovMLP(benchmark::State& state) {
  Dataset ds = modular_dataset({ModOp::Add, 97, ModEncoding::PairIndices});
  Rng rng(0);
  apply_split(ds, split_by_fraction(ds.size(), 0.5, rng), "random");
  Mlp<float> model(MlpConfig::gromov(97, 512));
  AdamConfig c = AdamConfig::grokking(0.1);
  c.lr = 5e-3;
  Adam<float> opt(model.parameters(), c);
  const ModelInput<float> in = ModelInput<float>::from_dataset(ds, ds.train);
  const Matrix<float> y = ds.one_hot_of(ds.train).cast<float>();
  const double n = static_cast<double>(ds.train.size());
  run_steps(state, model, opt, in, nullptr, &y, 3 * 2 * n * 512 * 97);
}
BENCHMARK(BM_TrainStep_GromovMLP)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_TrainStep_KumarMLP(benchmark::State& state) {
  KumarOptions ko;
  ko.D = 100, ko.n_train = 550, ko.n_test = 1, ko.convention = KumarConvention::B, ko.epsilon = 0.02;
  const Dataset ds = kumar_polynomial(ko);
  Mlp<float> model(MlpConfig::kumar(100, 500, 0.02, 1.0, true));
  SgdConfig sc;
  sc.lr = 500;  // η = N/α², Fig. 1
  Sgd<float> opt(model.parameters(), sc);
  const ModelInput<float> in = ModelInput<float>::from_dataset(ds, ds.train);
  const Matrix<float> y = ds.targets_of(ds.train).cast<float>();
  run_steps(state, model, opt, in, nullptr, &y, 2 * 2 * 550.0 * 100 * 500);
}
BENCHMARK(BM_TrainStep_KumarMLP)->Unit(benchmark::kMillisecond)->UseRealTime();

// Eigen's own GEMM rate on the step's shapes: every matrix product of the step (forward and
// backward, with the same transposes and the same = / += forms as the tape's ops) on random
// matrices, back to back, with nothing else in between. The step's useful FLOP rate divided by
// this rate is the fraction of the machine's GEMM speed that the whole step achieves.
struct Gemm {
  Index m, k, n;
  bool ta, tb, accumulate;  // C (m×n) (+)= op(A) op(B), op(A): m×k, op(B): k×n
};

void gemms(benchmark::State& state, const std::vector<Gemm>& list) {
  Rng rng(1);
  std::vector<Matrix<float>> A, B, C;
  double flops = 0;
  for (const Gemm& g : list) {
    A.push_back(g.ta ? rng.normal_matrix<float>(g.k, g.m) : rng.normal_matrix<float>(g.m, g.k));
    B.push_back(g.tb ? rng.normal_matrix<float>(g.n, g.k) : rng.normal_matrix<float>(g.k, g.n));
    C.push_back(Matrix<float>::Zero(g.m, g.n));
    flops += 2.0 * static_cast<double>(g.m * g.k * g.n);
  }
  for (auto _ : state) {
    for (std::size_t i = 0; i < list.size(); ++i) {
      const Gemm& g = list[i];
      Matrix<float>& c = C[i];
      if (!g.ta && !g.tb)
        g.accumulate ? void(c.noalias() += A[i] * B[i]) : void(c.noalias() = A[i] * B[i]);
      else if (!g.ta && g.tb)
        g.accumulate ? void(c.noalias() += A[i] * B[i].transpose()) : void(c.noalias() = A[i] * B[i].transpose());
      else if (g.ta && !g.tb)
        g.accumulate ? void(c.noalias() += A[i].transpose() * B[i]) : void(c.noalias() = A[i].transpose() * B[i]);
      else
        g.accumulate ? void(c.noalias() += A[i].transpose() * B[i].transpose())
                     : void(c.noalias() = A[i].transpose() * B[i].transpose());
      benchmark::DoNotOptimize(c.data());
    }
  }
  state.counters["FLOPs"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
}

// A linear layer y = x Wᵀ on r rows, in → out: forward, dx = dy W (if wanted), dW = dyᵀ x.
void add_linear(std::vector<Gemm>& l, Index r, Index in, Index out, bool dx = true) {
  l.push_back({r, in, out, false, true, false});
  if (dx) l.push_back({r, out, in, false, false, true});
  l.push_back({out, r, in, true, false, true});
}

void BM_EigenGemms_NandaStep(benchmark::State& state) {
  const Index n = 3830, N = 3 * n, d = 128, m = 512, V = 113;
  std::vector<Gemm> l;
  add_linear(l, n, d, d);                       // W_Q on the last position
  add_linear(l, N, d, d);                       // W_K
  add_linear(l, N, d, d);                       // W_V
  add_linear(l, n, d, d);                       // W_O
  add_linear(l, n, d, m);                       // W_in
  add_linear(l, n, m, d);                       // W_out
  l.push_back({n, d, V, false, false, false});  // logits = x W_U
  l.push_back({n, V, d, false, true, true});    // dx = dlogits W_Uᵀ
  l.push_back({d, n, V, true, false, true});    // dW_U = xᵀ dlogits
  gemms(state, l);
}
void BM_EigenGemms_GromovStep(benchmark::State& state) {
  std::vector<Gemm> l;
  add_linear(l, 4704, 512, 97);  // the readout; the first layer is a gather / scatter-add
  gemms(state, l);
}
void BM_EigenGemms_KumarStep(benchmark::State& state) {
  std::vector<Gemm> l;
  add_linear(l, 550, 100, 500, false);  // the hidden layer (inputs need no gradient)
  gemms(state, l);
}
BENCHMARK(BM_EigenGemms_NandaStep)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_EigenGemms_GromovStep)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_EigenGemms_KumarStep)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
