// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// Loss-landscape measurements (measure/hessian.hpp, measure/llc.hpp), matched one-to-one by
// bench/peer/landscape_torch.py on the same settings:
//   Gradient_NandaTransformer        one loss + gradient of Nanda et al.'s transformer (p = 113),
//                                    full batch 3 830, cross-entropy, double: the unit of cost
//   HVP_NandaTransformer             one exact Hessian–vector product of that loss (the R-operator:
//                                    tangent pass and second-order reverse pass on the kept
//                                    recording, as PyHessian keeps its create_graph gradient)
//   HVP_NandaTransformer_FiniteDifference  the older product, central differences of two gradients
//                                    (not the same quantity on this ReLU model: for reference)
//   PowerIteration_NandaTransformer  PyHessian's top-1 eigenvalue, 20 iterations (tol 0, so both
//                                    sides run exactly 20 products, plus our residual check; the
//                                    symmetry check is off), including the recording
//   LLC_GromovMLP                    estimate_llc, 4 chains × 200 draws, batch 128, on the
//                                    flagship's model (Gromov's MLP, p = 59, width 512, 40 % of
//                                    pairs, MSE, float32): 800 SGLD steps with the MALA estimate
#include <grokscope/data/modular.hpp>
#include <grokscope/measure/hessian.hpp>
#include <grokscope/measure/llc.hpp>
#include <grokscope/nn/mlp.hpp>
#include <grokscope/nn/transformer.hpp>
#include <grokscope/train/probes.hpp>

#include <benchmark/benchmark.h>

using namespace grokscope;

namespace {

struct NandaSetting {
  Dataset ds = modular_dataset({ModOp::Add, 113, ModEncoding::NandaTokens});
  Transformer<double> model{TransformerConfig::nanda2023(113)};
  NandaSetting() { apply_split(ds, nanda_split(ds, 0.3, 0), "nanda"); }
  HessianOperator hessian() {
    return HessianOperator(model, dataset_loss<double>(ds, ds.train, LossKind::CrossEntropy));
  }
};

void BM_Gradient_NandaTransformer(benchmark::State& state) {
  NandaSetting s;
  HessianOperator H = s.hessian();
  Eigen::VectorXd g;
  for (auto _ : state) benchmark::DoNotOptimize(H.loss_and_gradient(g));
  state.counters["dim"] = static_cast<double>(H.dim());
}
BENCHMARK(BM_Gradient_NandaTransformer)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_HVP_NandaTransformer(benchmark::State& state) {
  NandaSetting s;
  HessianOperator H = s.hessian();
  Rng rng(1);
  Eigen::VectorXd v(H.dim());
  for (Index i = 0; i < v.size(); ++i) v(i) = rng.normal();
  for (auto _ : state) benchmark::DoNotOptimize(H.apply(v).data());
}
BENCHMARK(BM_HVP_NandaTransformer)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_HVP_NandaTransformer_FiniteDifference(benchmark::State& state) {
  NandaSetting s;
  CurvatureOptions fd;
  fd.method = HvpMethod::FiniteDifference;
  HessianOperator H(s.model, dataset_loss<double>(s.ds, s.ds.train, LossKind::CrossEntropy), fd);
  Rng rng(1);
  Eigen::VectorXd v(H.dim());
  for (Index i = 0; i < v.size(); ++i) v(i) = rng.normal();
  for (auto _ : state) benchmark::DoNotOptimize(H.apply(v).data());
  state.counters["kinks_crossed"] = static_cast<double>(H.kinks_crossed()) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_HVP_NandaTransformer_FiniteDifference)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_PowerIteration_NandaTransformer(benchmark::State& state) {
  NandaSetting s;
  PowerIterationOptions o;
  o.max_iter = 20, o.tol = 0, o.verify = false;
  double top = 0;
  for (auto _ : state) {
    HessianOperator H = s.hessian();  // a fresh recording each time, as PyHessian's constructor
    top = power_iteration(H.as_operator(), o).eigenvalues(0);
  }
  state.counters["top_eigenvalue"] = top;
}
BENCHMARK(BM_PowerIteration_NandaTransformer)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);

void BM_LLC_GromovMLP(benchmark::State& state) {
  Dataset ds = modular_dataset({ModOp::Add, 59, ModEncoding::PairIndices});
  Rng rng(0);
  apply_split(ds, split_by_fraction(ds.size(), 0.4, rng), "random");
  Mlp<float> model(MlpConfig::gromov(59, 512));
  const BatchLossFn<float> loss = dataset_batch_loss<float>(ds, ds.train, LossKind::Mse);
  LlcOptions o;
  o.batch_size = 128;
  double llc = 0;
  for (auto _ : state) llc = estimate_llc<float>(model, loss, static_cast<Index>(ds.train.size()), o).llc_mean;
  state.counters["llc"] = llc;
}
BENCHMARK(BM_LLC_GromovMLP)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);

}  // namespace
