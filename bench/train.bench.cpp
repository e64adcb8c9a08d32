// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// One full training step (forward, backward, optimiser) of the three reference settings, in
// float32, matched one-to-one by bench/peer/train_torch.py:
//   NandaTransformer  p = 113, 30 % of pairs (full batch 3 830), Nanda et al.'s model, AdamW
//   GromovMLP         p = 97, width 512, half the table (full batch 4 704), MSE, AdamW
//   KumarMLP          D = 100, P = 550, N = 500, φ(h) = h + (ε/2)h², centered, gradient descent
// FLOPs counts the multiply-adds of the step's matrix products (2 per multiply-add), so
// "FLOPs" is the useful FLOP rate; BM_EigenGemm_* measure Eigen's own GEMM rate on the step's
// dominant shapes for comparison.
#include <grokscope/data/modular.hpp>
#include <grokscope/data/regression.hpp>
#include <grokscope/nn/mlp.hpp>
#include <grokscope/nn/transformer.hpp>
#include <grokscope/optim/adam.hpp>
#include <grokscope/optim/sgd.hpp>

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

void gemm(benchmark::State& state, Index m, Index k, Index n) {
  Rng rng(1);
  const Matrix<float> A = rng.normal_matrix<float>(m, k), B = rng.normal_matrix<float>(k, n);
  Matrix<float> C(m, n);
  for (auto _ : state) {
    C.noalias() = A * B;
    benchmark::DoNotOptimize(C.data());
  }
  state.counters["FLOPs"] = benchmark::Counter(2.0 * m * k * n, benchmark::Counter::kIsIterationInvariantRate);
}
void BM_EigenGemm_Nanda_QKV(benchmark::State& s) { gemm(s, 3830 * 3, 128, 128); }
void BM_EigenGemm_Nanda_MLP(benchmark::State& s) { gemm(s, 3830, 128, 512); }
void BM_EigenGemm_Gromov(benchmark::State& s) { gemm(s, 4704, 512, 97); }
void BM_EigenGemm_Kumar(benchmark::State& s) { gemm(s, 550, 100, 500); }
BENCHMARK(BM_EigenGemm_Nanda_QKV)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_EigenGemm_Nanda_MLP)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_EigenGemm_Gromov)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_EigenGemm_Kumar)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
