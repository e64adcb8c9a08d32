// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Finite-difference checks in double against the tape: gradients (gradcheck) and the
/// forward-mode and second-order products of the R-operator (hvpcheck).

#include <grokscope/autodiff/tape.hpp>
#include <grokscope/core/check.hpp>
#include <grokscope/core/rng.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace grokscope {

/// Step and error floor of gradcheck.
struct GradcheckOptions {
  double step = 1e-6;  ///< central-difference step h
  /// Errors are |a − f| / max(|a|, |f|, floor): relative for gradients above `floor`, scaled
  /// absolute below it (entries that are zero up to rounding must not dominate).
  double floor = 1e-4;
  Index max_entries_per_param = -1;  ///< check at most this many entries of each parameter (evenly spaced); -1 = all
};

/// Outcome of gradcheck: the worst entry and where it is.
struct GradcheckResult {
  double max_error = 0;  ///< worst error as defined in GradcheckOptions
  std::string param;     ///< parameter holding the worst entry
  Index row = -1, col = -1;
  double analytic = 0;  ///< tape gradient at the worst entry
  double numeric = 0;   ///< central difference at the worst entry
  Index checked = 0;    ///< number of entries compared
  bool ok(double tol) const { return std::isfinite(max_error) && max_error <= tol; }
};

/// Compares the tape's gradient of the scalar `build(tape)` with central differences, for every
/// entry of every parameter in `params`. `build` records the graph on the tape it is given and
/// returns the 1 × 1 loss; it is called 1 + 2·(entries) times on a freshly reset tape.
template <typename Build>
GradcheckResult gradcheck(Build&& build, const std::vector<Parameter<double>*>& params,
                          const GradcheckOptions& opt = {}) {
  require(!params.empty(), "gradcheck", "no parameters to check");
  require(opt.step > 0 && opt.floor > 0, "gradcheck", "step and floor must be positive");
  Tape<double> tape;
  auto eval = [&]() {
    tape.reset();
    const Var<double> loss = build(tape);
    require(loss.valid() && loss.rows() == 1 && loss.cols() == 1, "gradcheck", "build must return a 1x1 loss");
    return loss;
  };
  for (Parameter<double>* p : params) {
    require(p != nullptr, "gradcheck", "null parameter");
    p->zero_grad();
  }
  tape.backward(eval());
  std::vector<Matrix<double>> analytic;
  for (Parameter<double>* p : params) analytic.push_back(p->grad);

  GradcheckResult res;
  for (std::size_t k = 0; k < params.size(); ++k) {
    Parameter<double>& p = *params[k];
    const Index total = p.value.size();
    const Index want = opt.max_entries_per_param < 0 ? total : std::min(total, opt.max_entries_per_param);
    for (Index e = 0; e < want; ++e) {
      const Index lin = want == total ? e : (e * total) / want;
      double& w = p.value.data()[lin];
      const double saved = w;
      w = saved + opt.step;
      const double up = eval().item();
      w = saved - opt.step;
      const double down = eval().item();
      w = saved;
      const double num = (up - down) / (2 * opt.step);
      const double ana = analytic[k].data()[lin];
      const double denom = std::max({std::abs(ana), std::abs(num), opt.floor});
      double err = std::abs(ana - num) / denom;
      if (!std::isfinite(err)) err = std::numeric_limits<double>::infinity();
      ++res.checked;
      if (err > res.max_error || (res.param.empty() && err >= res.max_error)) {
        res.max_error = err;
        res.param = p.name;
        res.row = lin / p.value.cols();
        res.col = lin % p.value.cols();
        res.analytic = ana;
        res.numeric = num;
      }
    }
  }
  return res;
}

/// Outcome of hvpcheck: relative errors of the exact products against central differences.
struct HvpcheckResult {
  double hvp_error = 0;  ///< ‖Hv − [∇L(θ + hv) − ∇L(θ − hv)]/2h‖ / max(‖difference‖, floor)
  double jvp_error = 0;  ///< |L̇ − [L(θ + hv) − L(θ − hv)]/2h| / max(|difference|, floor)
  double hvp_norm = 0;   ///< ‖Hv‖ (exact)
  bool ok(double tol) const {
    return std::isfinite(hvp_error) && std::isfinite(jvp_error) && hvp_error <= tol && jvp_error <= tol;
  }
};

/// Checks the tape's exact Hessian–vector product (forward_tangents, backward,
/// backward_tangents) and its directional derivative of the scalar `build(tape)` along a
/// random direction (N(0, 1) entries from `seed`) against central differences of the tape's
/// gradient and of the loss, with step `step`. The parameters are restored; their gradients are
/// left zeroed. Smooth graphs only: a difference step that crosses a ReLU kink measures
/// something else (the reason the exact product exists).
template <typename Build>
HvpcheckResult hvpcheck(Build&& build, const std::vector<Parameter<double>*>& params, std::uint64_t seed = 0,
                        double step = 1e-5, double floor = 1e-6) {
  require(!params.empty(), "hvpcheck", "no parameters to check");
  require(step > 0 && floor > 0, "hvpcheck", "step and floor must be positive");
  Rng rng(seed);
  std::vector<Matrix<double>> dir, base;
  for (Parameter<double>* p : params) {
    require(p != nullptr, "hvpcheck", "null parameter");
    dir.push_back(rng.normal_matrix<double>(p->rows(), p->cols(), 0.0, 1.0));
    base.push_back(p->value);
  }
  const auto flat = [&](auto&& get) {
    std::vector<double> out;
    for (Parameter<double>* p : params) {
      const Matrix<double>& m = get(*p);
      out.insert(out.end(), m.data(), m.data() + m.size());
    }
    return out;
  };
  Tape<double> tape;
  for (std::size_t k = 0; k < params.size(); ++k) tape.tangent_of(*params[k]) = dir[k];
  for (Parameter<double>* p : params) p->zero_grad();
  Var<double> L = build(tape);
  require(L.valid() && L.rows() == 1 && L.cols() == 1, "hvpcheck", "build must return a 1x1 loss");
  tape.forward_tangents();
  const double jvp = tape.tangent(L)(0, 0);
  tape.backward(L);
  tape.backward_tangents(L);
  const std::vector<double> hv =
      flat([&](Parameter<double>& p) -> const Matrix<double>& { return tape.second_grad(p); });
  const auto at = [&](double h, double& loss) {
    for (std::size_t k = 0; k < params.size(); ++k) params[k]->value = base[k] + h * dir[k];
    for (Parameter<double>* p : params) p->zero_grad();
    tape.reset();
    tape.clear_tangents();
    const Var<double> l = build(tape);
    loss = l.item();
    tape.backward(l);
    return flat([](Parameter<double>& p) -> const Matrix<double>& { return p.grad; });
  };
  double up = 0, down = 0;
  const std::vector<double> gp = at(step, up), gm = at(-step, down);
  for (std::size_t k = 0; k < params.size(); ++k) params[k]->value = base[k];
  for (Parameter<double>* p : params) p->zero_grad();
  double diff = 0, ref = 0, norm = 0;
  for (std::size_t i = 0; i < hv.size(); ++i) {
    const double fd = (gp[i] - gm[i]) / (2 * step);
    diff += (hv[i] - fd) * (hv[i] - fd);
    ref += fd * fd;
    norm += hv[i] * hv[i];
  }
  HvpcheckResult r;
  r.hvp_norm = std::sqrt(norm);
  r.hvp_error = std::sqrt(diff) / std::max(std::sqrt(ref), floor);
  const double jfd = (up - down) / (2 * step);
  r.jvp_error = std::abs(jvp - jfd) / std::max(std::abs(jfd), floor);
  return r;
}

}  // namespace grokscope
