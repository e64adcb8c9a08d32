// The row-parallel paths of the tape's ops and of the optimisers (core/parallel.hpp), built with
// OpenMP and run on 2 threads: every op gives the same values and gradients on 1 and 2 threads,
// bit for bit, and a repeated run on 2 threads is identical too. The matrix products too: core/gemm.hpp
// splits C's rows over the threads with the whole product's blocking.
#include <grokscope/autodiff/ops.hpp>
#include <grokscope/core/parallel.hpp>
#include <grokscope/core/rng.hpp>
#include <grokscope/measure/ntk.hpp>
#include <grokscope/optim/adam.hpp>
#include <grokscope/optim/sgd.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <thread>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace grokscope;
using P = Parameter<double>;
using M = Matrix<double>;
using V = Var<double>;
using T = Tape<double>;

namespace {

// These tests compare fixed thread counts: the load-aware count (another test executable runs
// beside this one under ctest -j2) is off here, except in the test of it at the end.
const bool fixed_threads = [] {
  adapt_threads_to_load(false);
  return true;
}();

// Large enough for two threads: 600 × 128 entries.
constexpr Index kRows = 600, kCols = 128;

struct Result {
  M value;
  std::vector<M> grads;
};

Result run(int threads, const std::vector<P*>& ps, const std::function<V(T&)>& build) {
  Eigen::setNbThreads(threads);
  for (P* p : ps) p->zero_grad();
  T t;
  const V y = build(t);
  Rng r(7);
  t.backward(y, r.normal_matrix(y.rows(), y.cols()));
  Result out{y.value(), {}};
  for (P* p : ps) out.grads.push_back(p->grad);
  Eigen::setNbThreads(0);
  return out;
}

double max_diff(const M& a, const M& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() ? (a - b).cwiseAbs().maxCoeff() : INFINITY;
}

// Serial and parallel agree (exactly, or to `rel` for Eigen's GEMMs), and two parallel runs are
// identical.
void same_on_1_and_2_threads(const std::vector<P*>& ps, const std::function<V(T&)>& build, double rel = 0) {
  const Result one = run(1, ps, build), two = run(2, ps, build), again = run(2, ps, build);
  CHECK(max_diff(two.value, again.value) == 0);
  CHECK(max_diff(one.value, two.value) <= rel * one.value.cwiseAbs().maxCoeff());
  for (std::size_t i = 0; i < ps.size(); ++i) {
    INFO("gradient of ", ps[i]->name);
    CHECK(max_diff(two.grads[i], again.grads[i]) == 0);
    CHECK(max_diff(one.grads[i], two.grads[i]) <= rel * one.grads[i].cwiseAbs().maxCoeff());
  }
}

P rand_param(Rng& rng, const char* name, Index r, Index c, double scale = 1.0) {
  return P(name, rng.normal_matrix(r, c, 0.0, scale));
}

}  // namespace

TEST_CASE("the parallel paths are live: OpenMP is on and large loops split over 2 threads") {
  Eigen::setNbThreads(2);
  CHECK(detail::parallel_threads(kRows, kCols) == 2);
  CHECK(detail::parallel_threads(4, 4) == 1);  // small loops stay serial
  Eigen::setNbThreads(1);
  CHECK(detail::parallel_threads(kRows, kCols) == 1);
  Eigen::setNbThreads(0);
  std::vector<int> hits(1000, 0);
  detail::parallel_rows(1000, 1000, [&](Index b, Index e) {
    for (Index i = b; i < e; ++i) ++hits[static_cast<std::size_t>(i)];
  });
  CHECK(std::count(hits.begin(), hits.end(), 1) == 1000);  // every row exactly once
}

TEST_CASE("elementwise ops and broadcasting adds: identical on 1 and 2 threads") {
  Rng rng(1);
  P a = rand_param(rng, "a", kRows, kCols), row = rand_param(rng, "row", 1, kCols);
  P col = rand_param(rng, "col", kRows, 1), one = rand_param(rng, "one", 1, 1), b = rand_param(rng, "b", kRows, kCols);
  P pos("pos", (a.value.array().abs() + 0.1).matrix());
  const std::vector<std::function<V(const V&)>> unary{[](const V& x) { return relu(x); },
                                                      [](const V& x) { return gelu(x, GeluApprox::Tanh); },
                                                      [](const V& x) { return gelu(x, GeluApprox::Erf); },
                                                      [](const V& x) { return tanh(x); },
                                                      [](const V& x) { return sigmoid(x); },
                                                      [](const V& x) { return square(x); },
                                                      [](const V& x) { return exp(x); },
                                                      [](const V& x) { return linear_quadratic(x, 0.3); },
                                                      [](const V& x) { return scale(x, -1.7); },
                                                      [](const V& x) { return add_scalar(x, 2.5); }};
  for (const auto& f : unary) same_on_1_and_2_threads({&a}, [&](T& t) { return f(t.param(a)); });
  same_on_1_and_2_threads({&pos}, [&](T& t) { return log(t.param(pos)); });
  for (P* other : {&b, &row, &col, &one}) {
    same_on_1_and_2_threads({&a, other}, [&](T& t) { return add(t.param(a), t.param(*other)); });
    same_on_1_and_2_threads({&a, other}, [&](T& t) { return sub(t.param(a), t.param(*other)); });
  }
}

TEST_CASE("linear, matmul, losses and attention: identical on 1 and 2 threads") {
  Rng rng(2);
  P x = rand_param(rng, "x", kRows, kCols), W = rand_param(rng, "W", 64, kCols), bias = rand_param(rng, "bias", 1, 64);
  same_on_1_and_2_threads({&x, &W, &bias}, [&](T& t) { return linear(t.param(x), t.param(W), t.param(bias), 0.25); });
  same_on_1_and_2_threads({&x, &W}, [&](T& t) { return matmul(t.param(x), t.param(W), false, true); });
  P y = rand_param(rng, "y", kRows, 96);
  for (const bool ta : {false, true})
    for (const bool tb : {false, true}) {
      INFO("matmul with ta = ", ta, ", tb = ", tb);
      // op(a) 600 × 128 (a stored 128 × 600 when ta), op(b) 128 × 96
      P a = ta ? P("a", x.value.transpose()) : P("a", x.value);
      P b = tb ? P("b", y.value.topRows(kCols).transpose()) : P("b", y.value.topRows(kCols));
      same_on_1_and_2_threads({&a, &b}, [&](T& t) { return matmul(t.param(a), t.param(b), ta, tb); });
    }
  IndexList labels(static_cast<std::size_t>(kRows));
  for (auto& l : labels) l = rng.integer(kCols);
  same_on_1_and_2_threads({&x}, [&](T& t) { return cross_entropy(t.param(x), labels); });
  P target = rand_param(rng, "target", kRows, kCols);
  same_on_1_and_2_threads({&x, &target}, [&](T& t) { return mse(t.param(x), t.param(target)); });
  // attention: 400 examples of T = 3, 4 heads of 32; every query, and the last one only
  const Index n = 400, Tn = 3, H = 4, d = 128;
  P q = rand_param(rng, "q", n * Tn, d), k = rand_param(rng, "k", n * Tn, d), v = rand_param(rng, "v", n * Tn, d);
  P q_last = rand_param(rng, "q_last", n, d);
  same_on_1_and_2_threads({&q, &k, &v}, [&](T& t) { return attention(t.param(q), t.param(k), t.param(v), Tn, H); });
  same_on_1_and_2_threads({&q_last, &k, &v},
                          [&](T& t) { return attention(t.param(q_last), t.param(k), t.param(v), Tn, H); });
  same_on_1_and_2_threads({&q, &k}, [&](T& t) { return attention(t.param(q), t.param(k), t.param(k), Tn, H, false); });
}

TEST_CASE("gathers and scatter-adds, with unique and with repeated ids: identical on 1 and 2 threads") {
  Rng rng(3);
  P x = rand_param(rng, "x", kRows, kCols);
  IndexList unique(static_cast<std::size_t>(kRows / 2)), repeated(static_cast<std::size_t>(kRows));
  for (std::size_t i = 0; i < unique.size(); ++i) unique[i] = static_cast<Index>(2 * i + 1);
  for (auto& i : repeated) i = rng.integer(7);
  same_on_1_and_2_threads({&x}, [&](T& t) { return select_rows(t.param(x), unique); });
  same_on_1_and_2_threads({&x}, [&](T& t) { return select_rows(t.param(x), repeated); });
  P E = rand_param(rng, "E", 50, kCols);
  IndexList tokens(static_cast<std::size_t>(3 * kRows));
  for (auto& i : tokens) i = rng.integer(50);
  same_on_1_and_2_threads({&E}, [&](T& t) { return embedding(t.param(E), tokens, 3); });
  P W = rand_param(rng, "W", kCols, 100);  // (out, 2p) for p = 50: ids (a, 50 + b)
  IndexList pairs(static_cast<std::size_t>(2 * kRows));
  for (std::size_t i = 0; i < pairs.size(); ++i) pairs[i] = rng.integer(50) + (i % 2 ? 50 : 0);
  same_on_1_and_2_threads({&W}, [&](T& t) { return onehot_matmul(t.param(W), pairs, 2, 1, 0.5); });
}

TEST_CASE("the NTK's symmetric Gram tiles: identical on 1 and 2 threads, A Aᵀ to rounding") {
  Rng rng(5);
  for (const Index n : {Index(100), Index(300), Index(1001)}) {  // one tile, a few, a ragged last one
    const Eigen::MatrixXd A = rng.normal_matrix(n, 70);
    const Eigen::MatrixXf Af = A.cast<float>();
    Eigen::MatrixXd G1 = Eigen::MatrixXd::Zero(n, n), G2 = G1;
    Eigen::MatrixXf F1 = Eigen::MatrixXf::Zero(n, n), F2 = F1;
    Eigen::setNbThreads(1);
    detail::ntk_sym_gram(A, G1);
    detail::ntk_sym_gram_single(Af, F1);
    Eigen::setNbThreads(2);
    detail::ntk_sym_gram(A, G2);
    detail::ntk_sym_gram_single(Af, F2);
    Eigen::setNbThreads(0);
    const Eigen::MatrixXd ref = A * A.transpose();
    double same_d = 0, same_f = 0, err_d = 0, err_f = 0;  // over the lower triangle
    for (Index j = 0; j < n; ++j)
      for (Index i = j; i < n; ++i) {
        same_d = std::max(same_d, std::abs(G1(i, j) - G2(i, j)));
        same_f = std::max(same_f, double(std::abs(F1(i, j) - F2(i, j))));
        err_d = std::max(err_d, std::abs(G1(i, j) - ref(i, j)));
        err_f = std::max(err_f, std::abs(double(F1(i, j)) - ref(i, j)));
      }
    CAPTURE(n);
    CHECK(same_d == 0.0);
    CHECK(same_f == 0.0);
    CHECK(err_d < 1e-11);
    CHECK(err_f < 1e-3);
  }
}

TEST_CASE("optimiser steps are identical on 1 and 2 threads") {
  auto steps = [](int threads, const std::function<std::unique_ptr<Optimizer<double>>(std::vector<P*>)>& make) {
    Eigen::setNbThreads(threads);
    Rng rng(4);
    P p("p", rng.normal_matrix(kRows, kCols));
    auto opt = make({&p});
    for (int s = 0; s < 3; ++s) {
      p.grad = rng.normal_matrix(kRows, kCols);
      opt->step(opt->lr());
    }
    Eigen::setNbThreads(0);
    return p.value;
  };
  std::vector<std::function<std::unique_ptr<Optimizer<double>>(std::vector<P*>)>> makers;
  for (WeightDecayMode mode : {WeightDecayMode::Decoupled, WeightDecayMode::CoupledL2})
    makers.push_back([mode](std::vector<P*> ps) {
      AdamConfig c;
      c.lr = 1e-2, c.weight_decay = 0.5, c.decay = mode;
      return std::make_unique<Adam<double>>(ps, c);
    });
  for (bool nesterov : {false, true})
    makers.push_back([nesterov](std::vector<P*> ps) {
      SgdConfig c;
      c.lr = 0.1, c.momentum = 0.9, c.weight_decay = 0.01, c.nesterov = nesterov;
      return std::make_unique<Sgd<double>>(ps, c);
    });
  for (const auto& make : makers) CHECK(steps(1, make) == steps(2, make));
}

TEST_CASE("the thread count follows the load: one thread per core left free, never more than set") {
  const auto [cores, busy0] = detail::load_snapshot();
  REQUIRE(cores >= 1);
  Eigen::setNbThreads(cores);
  adapt_threads_to_load(true);
  // As many busy processes as there are cores: every core is taken, so one thread.
  std::vector<pid_t> children;
  auto load_every_core = [&, cores = cores] {
    for (int i = 0; i < cores; ++i) {
      const pid_t pid = fork();
      REQUIRE(pid >= 0);
      if (pid == 0) {
        const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        volatile unsigned long spin = 0;
        while (std::chrono::steady_clock::now() < end) spin = spin + 1;
        _exit(0);
      }
      children.push_back(pid);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    CHECK(detail::load_snapshot().second >= cores);
    // Two samples 50 ms apart must agree before a core counts as taken.
    detail::refresh_thread_budget();
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
    detail::refresh_thread_budget();
  };
  auto unload = [&] {
    for (pid_t pid : children) kill(pid, SIGKILL);
    for (pid_t pid : children) waitpid(pid, nullptr, 0);
    children.clear();
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
    detail::refresh_thread_budget();
  };
  load_every_core();
  CHECK(Eigen::nbThreads() == 1);
  CHECK(thread_limit() == cores);  // lowered by the load, the limit is still the count set
  // The load gone, the count may rise again, but never above what was set.
  unload();
  CHECK(Eigen::nbThreads() >= 1);
  CHECK(Eigen::nbThreads() <= cores);
  CHECK(thread_limit() == cores);
  // A limit set with set_thread_limit holds even when it equals the count the load brought Eigen
  // to (a bare Eigen::setNbThreads(1) there would look like the budget's own setting).
  load_every_core();
  CHECK(Eigen::nbThreads() == 1);
  set_thread_limit(1);
  CHECK(thread_limit() == 1);
  unload();
  CHECK(Eigen::nbThreads() == 1);
  CHECK(thread_limit() == 1);
  // Eigen::setNbThreads that changes the count is read as the new limit.
  Eigen::setNbThreads(cores + 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  detail::refresh_thread_budget();
  CHECK(thread_limit() == cores + 1);
  CHECK(Eigen::nbThreads() <= cores);  // never more threads than cores
  // So is a count set by the user while the budget is freshly on.
  Eigen::setNbThreads(1);
  adapt_threads_to_load(true);
  detail::refresh_thread_budget();
  CHECK(Eigen::nbThreads() == 1);
  CHECK(thread_limit() == 1);
  CHECK_THROWS_WITH_AS(set_thread_limit(0), "grokscope::set_thread_limit: the thread limit must be at least 1, got 0",
                       std::invalid_argument);
  // Off: the count stays as it is.
  adapt_threads_to_load(false);
  Eigen::setNbThreads(cores);
  detail::refresh_thread_budget();
  CHECK(Eigen::nbThreads() == cores);
  CHECK(thread_limit() == cores);
  (void)busy0;
}
