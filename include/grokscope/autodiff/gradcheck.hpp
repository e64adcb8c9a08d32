// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Finite-difference gradient checks: central differences in double against the tape.

#include <grokscope/autodiff/tape.hpp>
#include <grokscope/core/check.hpp>

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

}  // namespace grokscope
