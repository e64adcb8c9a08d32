// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// The training steps of bench/train.bench.cpp (Nanda et al.'s transformer, Gromov's MLP; float32,
// full batch) and each step's matrix products on their own, timed with whatever matrix-product
// backend this program was compiled for (core/gemm.hpp: Eigen's kernels, or cblas with
// -DGROKSCOPE_USE_CBLAS). bench/peer/compare_backends.py compiles it once per backend and runs it
// beside the PyTorch steps. Prints "name median_ms" lines.
//
// usage: gemm_backends [--threads T] [--repeats R]
#include <grokscope/data/modular.hpp>
#include <grokscope/nn/mlp.hpp>
#include <grokscope/nn/transformer.hpp>
#include <grokscope/optim/adam.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace grokscope;

namespace {

template <typename F>
double median_ms(F&& f, int repeats) {
  for (int i = 0; i < 3; ++i) f();
  std::vector<double> t;
  for (int i = 0; i < repeats; ++i) {
    const auto a = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

// One product op(A) op(B) of the given shape, as the step runs it.
double gemm_ms(Index m, Index n, Index k, bool ta, bool tb, int repeats) {
  Rng rng(0);
  const Matrix<float> A = rng.normal_matrix(ta ? k : m, ta ? m : k).cast<float>();
  const Matrix<float> B = rng.normal_matrix(tb ? n : k, tb ? k : n).cast<float>();
  Matrix<float> C(m, n);
  return median_ms([&] { detail::gemm(C, false, 1.0f, A, ta, B, tb); }, repeats);
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 1, repeats = 20;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--repeats")) repeats = std::atoi(argv[i + 1]);
  }
  Eigen::setNbThreads(threads);
#ifdef GROKSCOPE_USE_CBLAS
  std::printf("# backend cblas, threads %d (the BLAS's own thread setting applies)\n", threads);
#else
  std::printf("# backend eigen, threads %d\n", threads);
#endif
  {
    Dataset ds = modular_dataset({ModOp::Add, 113, ModEncoding::NandaTokens});
    apply_split(ds, nanda_split(ds, 0.3, 0), "nanda");
    Transformer<float> net(TransformerConfig::nanda2023(113));
    Adam<float> opt(net.parameters(), AdamConfig::grokking(1.0));
    const ModelInput<float> in = ModelInput<float>::from_dataset(ds, ds.train);
    const IndexList y = ds.labels_of(ds.train);
    Tape<float> tape;
    std::printf("nanda_step %.3f\n", median_ms(
                                         [&] {
                                           tape.reset();
                                           net.zero_grad();
                                           const Var<float> loss = cross_entropy(net.forward(tape, in), y);
                                           tape.backward(loss);
                                           opt.step(opt.lr());
                                         },
                                         repeats));
  }
  {
    Dataset ds = modular_dataset({ModOp::Add, 97, ModEncoding::PairIndices});
    Rng rng(0);
    apply_split(ds, split_by_fraction(ds.size(), 0.5, rng), "random");
    Mlp<float> net(MlpConfig::gromov(97, 512));
    Adam<float> opt(net.parameters(), AdamConfig::grokking(0.1));
    const ModelInput<float> in = ModelInput<float>::from_dataset(ds, ds.train);
    const Matrix<float> tg = ds.one_hot_of(ds.train).cast<float>();
    Tape<float> tape;
    std::printf("gromov_step %.3f\n", median_ms(
                                          [&] {
                                            tape.reset();
                                            net.zero_grad();
                                            const Var<float> loss = mse(net.forward(tape, in), tape.constant(tg));
                                            tape.backward(loss);
                                            opt.step(opt.lr());
                                          },
                                          repeats));
  }
  // the largest products of the two steps (rows = batch × positions where they apply)
  struct Shape {
    const char* name;
    Index m, n, k;
    bool ta, tb;
  };
  const Shape shapes[] = {{"nanda_qkv_fwd 11490x128x128", 11490, 128, 128, false, true},
                          {"nanda_mlp_in_fwd 3830x512x128", 3830, 512, 128, false, true},
                          {"nanda_mlp_out_bwd_dW 128x512x3830", 128, 512, 3830, true, false},
                          {"nanda_mlp_out_bwd_dx 3830x512x128", 3830, 512, 128, false, false},
                          {"gromov_out_fwd 4704x97x512", 4704, 97, 512, false, true},
                          {"gromov_out_bwd_dW 97x512x4704", 97, 512, 4704, true, false}};
  for (const Shape& s : shapes) std::printf("%s %.3f\n", s.name, gemm_ms(s.m, s.n, s.k, s.ta, s.tb, repeats));
  return 0;
}
