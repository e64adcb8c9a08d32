// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// Measurements, matched by bench/peer/ntk_torch.py and bench/peer/cka_numpy.py on the same inputs:
//   NTK_Structured_KumarMLP/1000   one-hidden-layer ReLU MLP with biases, D = 100, N = 500, one
//                                  output, all parameters, n = 1000 (symmetric kernel, double)
//   NTK_Structured_KumarMLP_Float32/1000         the same MLP in float32, Grams in double
//   NTK_Structured_KumarMLP_Float32Grams/1000    the same, NtkPrecision::ModelScalar (float Grams)
//   NTK_Jacobian_KumarMLP/1000     the same kernel by explicit per-example gradients (reference)
//   NTK_Structured_MLP784/500      784-512-512-10 ReLU MLP, full 5000 × 5000 kernel on 500 inputs;
//                                  the estimated peak memory is reported as a counter
//   NTK_Structured_NandaTransformer/128   Nanda et al.'s transformer (p = 113), trace over the
//                                  114 outputs, 128 sequences
//   CKA_Linear/10000/512           linear CKA of two 10 000 × 512 float representations
//   LocalComplexity_HumayunMLP/1000  Humayun et al.'s MNIST network (784-200-200-200-10 ReLU, float32):
//                                  local complexity at 1 000 inputs, their 40 vertices and r = 0.005,
//                                  beside TrainStep_HumayunMLP/200, one Adam step on their batch of 200
#include <grokscope/core/rng.hpp>
#include <grokscope/measure/cka.hpp>
#include <grokscope/measure/local_complexity.hpp>
#include <grokscope/measure/ntk.hpp>
#include <grokscope/nn/mlp.hpp>
#include <grokscope/nn/transformer.hpp>
#include <grokscope/optim/adam.hpp>

#include <benchmark/benchmark.h>

using namespace grokscope;

namespace {

MlpConfig relu_mlp(Index in, std::vector<Index> hidden, Index out) {
  MlpConfig c;
  c.input = in, c.hidden = std::move(hidden), c.output = out, c.activation = Activation::Relu;
  c.seed = 1;
  return c;
}

void BM_NTK_Structured_KumarMLP(benchmark::State& state) {
  Mlp<double> m(relu_mlp(100, {500}, 1));
  ModelInput<double> X;
  X.x = Rng(2).normal_matrix(state.range(0), 100);
  for (auto _ : state) benchmark::DoNotOptimize(empirical_ntk(m, X).data());
}
BENCHMARK(BM_NTK_Structured_KumarMLP)->Arg(1000)->Unit(benchmark::kMillisecond);

void kumar_ntk_float(benchmark::State& state, NtkPrecision precision) {
  Mlp<float> m(relu_mlp(100, {500}, 1));
  ModelInput<float> X;
  X.x = Rng(2).normal_matrix(state.range(0), 100).cast<float>();
  NtkOptions o;
  o.precision = precision;
  for (auto _ : state) benchmark::DoNotOptimize(empirical_ntk(m, X, o).data());
}
void BM_NTK_Structured_KumarMLP_Float32(benchmark::State& state) { kumar_ntk_float(state, NtkPrecision::Double); }
void BM_NTK_Structured_KumarMLP_Float32Grams(benchmark::State& state) {
  kumar_ntk_float(state, NtkPrecision::ModelScalar);
}
BENCHMARK(BM_NTK_Structured_KumarMLP_Float32)->Arg(1000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_NTK_Structured_KumarMLP_Float32Grams)->Arg(1000)->Unit(benchmark::kMillisecond);

void BM_NTK_Jacobian_KumarMLP(benchmark::State& state) {
  Mlp<double> m(relu_mlp(100, {500}, 1));
  ModelInput<double> X;
  X.x = Rng(2).normal_matrix(state.range(0), 100);
  NtkOptions o;
  o.method = NtkMethod::JacobianContraction;
  for (auto _ : state) benchmark::DoNotOptimize(empirical_ntk(m, X, o).data());
}
BENCHMARK(BM_NTK_Jacobian_KumarMLP)->Arg(1000)->Unit(benchmark::kMillisecond)->Iterations(1);

void BM_NTK_Structured_MLP784(benchmark::State& state) {
  Mlp<double> m(relu_mlp(784, {512, 512}, 10));
  ModelInput<double> X;
  X.x = Rng(3).uniform_matrix(state.range(0), 784);
  NtkOptions o;
  o.output = NtkOutput::Full;
  const NtkMemoryEstimate e = ntk_memory_estimate(m, X, o);
  for (auto _ : state) benchmark::DoNotOptimize(empirical_ntk(m, X, o).data());
  state.counters["peak_MiB"] = static_cast<double>(e.total()) / (1024.0 * 1024.0);
  NtkOptions j = o;
  j.method = NtkMethod::JacobianContraction;
  state.counters["jacobian_peak_MiB"] = static_cast<double>(ntk_memory_estimate(m, X, j).total()) / (1024.0 * 1024.0);
}
BENCHMARK(BM_NTK_Structured_MLP784)->Arg(500)->Unit(benchmark::kMillisecond);

void BM_NTK_Structured_NandaTransformer(benchmark::State& state) {
  Transformer<double> m(TransformerConfig::nanda2023(113));
  const Index n = state.range(0);
  ModelInput<double> X;
  X.T = 3;
  Rng rng(4);
  for (Index i = 0; i < n; ++i) {
    X.tokens.push_back(rng.integer(113));
    X.tokens.push_back(rng.integer(113));
    X.tokens.push_back(113);
  }
  for (auto _ : state) benchmark::DoNotOptimize(empirical_ntk(m, X).data());
}
BENCHMARK(BM_NTK_Structured_NandaTransformer)->Arg(128)->Unit(benchmark::kMillisecond);

void BM_CKA_Linear(benchmark::State& state) {
  const Index n = state.range(0), d = state.range(1);
  const Matrix<float> X = Rng(5).normal_matrix(n, d).cast<float>();
  const Matrix<float> Y = (X * Rng(6).normal_matrix(d, d).cast<float>()).array() + 0.1f;
  for (auto _ : state) benchmark::DoNotOptimize(linear_cka(X, Y).value);
}
BENCHMARK(BM_CKA_Linear)->Args({10000, 512})->Unit(benchmark::kMillisecond);

MlpConfig humayun_mlp() {
  MlpConfig c = relu_mlp(784, {200, 200, 200}, 10);
  c.seed = 2;
  return c;
}

void BM_LocalComplexity_HumayunMLP(benchmark::State& state) {
  Mlp<float> m(humayun_mlp());
  const Eigen::MatrixXd X = Rng(7).normal_matrix<double>(state.range(0), 784);
  for (auto _ : state) benchmark::DoNotOptimize(local_complexity(m, X).mean);
}
BENCHMARK(BM_LocalComplexity_HumayunMLP)->Arg(1000)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_TrainStep_HumayunMLP(benchmark::State& state) {
  Mlp<float> m(humayun_mlp());
  Adam<float> opt(m.parameters(), AdamConfig{});
  ModelInput<float> in;
  in.x = Rng(8).normal_matrix<double>(state.range(0), 784).cast<float>();
  IndexList y;
  for (Index i = 0; i < state.range(0); ++i) y.push_back(i % 10);
  Tape<float> t;
  for (auto _ : state) {
    t.reset();
    m.zero_grad();
    t.backward(cross_entropy(m.forward(t, in), y));
    opt.step(opt.lr());
    benchmark::DoNotOptimize(m.parameters()[0]->value.data());
  }
}
BENCHMARK(BM_TrainStep_HumayunMLP)->Arg(200)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
