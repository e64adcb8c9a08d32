// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Definitions of the functions declared in <grokscope/detect/grokking.hpp>: included by it in
/// header-only mode, compiled once into grokscope::compiled otherwise (core/config.hpp).

#include <grokscope/detect/grokking.hpp>

#if defined(GROKSCOPE_COMPILED) && !defined(GROKSCOPE_BUILDING_LIBRARY)
#error "grokscope: in compiled mode these definitions are in the library; include the header without -inl"
#endif

#include <unsupported/Eigen/LevenbergMarquardt>

namespace grokscope {

GROKSCOPE_DEFERRED_DEF const char* verdict_name(GrokVerdict v) {
  switch (v) {
    case GrokVerdict::Grokked:
      return "grokked";
    case GrokVerdict::NoDelay:
      return "no_delay";
    case GrokVerdict::MemorizedOnly:
      return "memorized_only";
    case GrokVerdict::Partial:
      return "partial";
    case GrokVerdict::Ungrokked:
      return "ungrokked";
    case GrokVerdict::NotFit:
      return "not_fit";
    case GrokVerdict::Undetermined:
      return "undetermined";
  }
  return "?";
}

GROKSCOPE_DEFERRED_DEF const char* status_name(DetectStatus s) {
  switch (s) {
    case DetectStatus::Ok:
      return "ok";
    case DetectStatus::MismatchedLengths:
      return "mismatched_lengths";
    case DetectStatus::TooFewPoints:
      return "too_few_points";
  }
  return "?";
}

}  // namespace grokscope

namespace grokscope::detail {

// Levenberg–Marquardt functor for the 4-parameter logistic in normalised coordinates u.
struct LogisticFunctor : Eigen::DenseFunctor<double> {
  const std::vector<double>& u;
  const std::vector<double>& y;
  LogisticFunctor(const std::vector<double>& uu, const std::vector<double>& yy)
      : Eigen::DenseFunctor<double>(4, static_cast<int>(uu.size())), u(uu), y(yy) {}
  // p = (lower, upper, k, t0): r_i = lower + (upper − lower) σ(k (u_i − t0)) − y_i
  int operator()(const Eigen::VectorXd& p, Eigen::VectorXd& r) const {
    for (std::size_t i = 0; i < u.size(); ++i) {
      const double s = 1.0 / (1.0 + std::exp(-p(2) * (u[i] - p(3))));
      r(static_cast<Index>(i)) = p(0) + (p(1) - p(0)) * s - y[i];
    }
    return 0;
  }
  int df(const Eigen::VectorXd& p, Eigen::MatrixXd& J) const {
    for (std::size_t i = 0; i < u.size(); ++i) {
      const Index r = static_cast<Index>(i);
      const double s = 1.0 / (1.0 + std::exp(-p(2) * (u[i] - p(3))));
      const double ds = (p(1) - p(0)) * s * (1 - s);
      J(r, 0) = 1 - s;               // ∂/∂lower
      J(r, 1) = s;                   // ∂/∂upper
      J(r, 2) = ds * (u[i] - p(3));  // ∂/∂k
      J(r, 3) = -ds * p(2);          // ∂/∂t0
    }
    return 0;
  }
};

template <typename Real>
Curve clean_curve(const std::vector<Real>& steps, const std::vector<Real>& values, const char* name,
                  std::vector<std::string>& notes) {
  static_assert(std::is_same_v<Real, double> || std::is_same_v<Real, float>, "curves are double or float");
  std::vector<std::pair<double, double>> pts;
  Index dropped = 0;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    if (std::isfinite(steps[i]) && std::isfinite(values[i]))
      pts.emplace_back(steps[i], values[i]);
    else
      ++dropped;
  }
  if (dropped > 0)
    notes.push_back(std::to_string(dropped) + " " + name + " record(s) with a NaN or Inf step or value were skipped");
  bool sorted = std::is_sorted(pts.begin(), pts.end(), [](auto& a, auto& b) { return a.first < b.first; });
  if (!sorted) {
    std::stable_sort(pts.begin(), pts.end(), [](auto& a, auto& b) { return a.first < b.first; });
    notes.push_back(std::string(name) + " steps were not in order and were sorted");
  }
  Curve c;
  Index merged = 0;
  for (std::size_t i = 0; i < pts.size();) {
    std::size_t j = i;
    double s = 0;
    while (j < pts.size() && pts[j].first == pts[i].first) s += pts[j++].second;
    merged += static_cast<Index>(j - i - 1);
    c.x.push_back(pts[i].first);
    c.y.push_back(s / static_cast<double>(j - i));
    i = j;
  }
  if (merged > 0)
    notes.push_back(std::to_string(merged) + " duplicate " + name + " step(s) were merged (values averaged)");
  return c;
}

GROKSCOPE_DEFERRED_DEF std::optional<std::size_t> first_reaching(const Curve& c, double thr, bool higher_is_better,
                                                                 Index patience) {
  const std::size_t need = static_cast<std::size_t>(std::max<Index>(patience, 1));
  std::size_t run = 0;
  for (std::size_t i = 0; i < c.y.size(); ++i) {
    const bool ok = higher_is_better ? c.y[i] >= thr : c.y[i] <= thr;
    run = ok ? run + 1 : 0;
    if (run == need) return i + 1 - need;
  }
  return std::nullopt;
}

// The values as doubles: the vector itself for double, a widened copy for float.
template <typename Real>
decltype(auto) as_doubles(const std::vector<Real>& v) {
  if constexpr (std::is_same_v<Real, double>)
    return (v);
  else
    return std::vector<double>(v.begin(), v.end());
}

GROKSCOPE_DEFERRED_DEF double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace grokscope::detail

namespace grokscope {

template <typename Real>
std::optional<SigmoidFit> fit_sigmoid(const std::vector<Real>& x_in, const std::vector<Real>& y_in,
                                      double smooth_fraction) {
  static_assert(std::is_same_v<Real, double> || std::is_same_v<Real, float>, "curves are double or float");
  require(x_in.size() == y_in.size(), "fit_sigmoid",
          "x has " + std::to_string(x_in.size()) + " entries but y has " + std::to_string(y_in.size()));
  const auto& x = detail::as_doubles(x_in);
  const auto& y = detail::as_doubles(y_in);
  const std::size_t n = x.size();
  if (n < 5) return std::nullopt;
  const double xmin = x.front(), xmax = x.back();
  const auto [ymin_it, ymax_it] = std::minmax_element(y.begin(), y.end());
  const double yrange = *ymax_it - *ymin_it;
  if (!(xmax > xmin) || !(yrange > 1e-12 * std::max(1.0, std::abs(*ymax_it)))) return std::nullopt;
  // Normalised coordinates keep the problem well conditioned for any step scale.
  // (halves first: xmax − xmin overflows for steps near ±1e308)
  const double xmid = 0.5 * xmin + 0.5 * xmax, xs = 0.5 * xmax - 0.5 * xmin;
  std::vector<double> u(n);
  for (std::size_t i = 0; i < n; ++i) u[i] = (x[i] - xmid) / xs;
  const std::vector<double> sm = moving_average(u, y, std::max(2.0 * smooth_fraction, 1e-12));
  const std::size_t head = std::max<std::size_t>(1, n / 10);
  const double y0 = detail::median_of(std::vector<double>(sm.begin(), sm.begin() + static_cast<long>(head)));
  const double y1 = detail::median_of(std::vector<double>(sm.end() - static_cast<long>(head), sm.end()));
  const double dir = y1 >= y0 ? 1.0 : -1.0;
  std::size_t best_i = 0;
  double best_slope = 0;
  for (std::size_t i = 0; i + 1 < n; ++i) {
    const double du = u[i + 1] - u[i];
    if (du <= 0) continue;
    const double s = dir * (sm[i + 1] - sm[i]) / du;
    if (s > best_slope) best_slope = s, best_i = i;
  }
  const double t_slope = 0.5 * (u[best_i] + u[best_i + 1]);
  double t_cross = t_slope;
  for (std::size_t i = 0; i < n; ++i)
    if (dir * (sm[i] - 0.5 * (y0 + y1)) >= 0) {
      t_cross = u[i];
      break;
    }
  const double amp = (y1 - y0) != 0 ? (y1 - y0) : dir * yrange;
  const double k0 = std::clamp(4.0 * dir * best_slope / std::abs(amp), 0.5, 1e4);

  detail::LogisticFunctor f(u, y);
  std::optional<SigmoidFit> best;
  double best_sse = std::numeric_limits<double>::infinity();
  for (double t_start : {t_slope, t_cross}) {
    Eigen::VectorXd p(4);
    p << y0, y1, k0, t_start;
    if (y1 == y0) p(1) = y0 + amp;
    Eigen::LevenbergMarquardt<detail::LogisticFunctor> lm(f);
    lm.setMaxfev(2000);
    lm.setXtol(1e-12);
    lm.setFtol(1e-12);
    const auto info = lm.minimize(p);
    Eigen::VectorXd r(static_cast<Index>(n));
    f(p, r);
    const double sse = r.squaredNorm();
    if (!p.allFinite() || !std::isfinite(sse) || sse >= best_sse) continue;
    best_sse = sse;
    SigmoidFit fit;
    double lower = p(0), upper = p(1), k = p(2);
    if (k < 0) std::swap(lower, upper), k = -k;  // σ(−z) = 1 − σ(z): keep k > 0
    fit.lower = lower;
    fit.upper = upper;
    fit.k = k / xs;
    fit.t0 = xmid + xs * p(3);
    fit.width = fit.k > 0 ? 2.0 * std::log(9.0) / fit.k : std::numeric_limits<double>::infinity();
    const double mean = std::accumulate(y.begin(), y.end(), 0.0) / static_cast<double>(n);
    double sst = 0;
    for (double v : y) sst += (v - mean) * (v - mean);
    fit.r2 = sst > 0 ? 1.0 - sse / sst : 0.0;
    fit.iterations = lm.iterations();
    using namespace Eigen::LevenbergMarquardtSpace;
    fit.converged = (info == RelativeReductionTooSmall || info == RelativeErrorTooSmall ||
                     info == RelativeErrorAndReductionTooSmall || info == CosinusTooSmall || info == XtolTooSmall ||
                     info == FtolTooSmall) &&
                    k > 0 && std::isfinite(fit.width) && fit.t0 >= xmin && fit.t0 <= xmax;
    best = fit;
  }
  return best;
}

template <typename Real>
GrokReport detect_grokking(const std::vector<Real>& steps, const std::vector<Real>& train,
                           const std::vector<Real>& test, const DetectOptions& opt) {
  require(opt.patience >= 1 && opt.ungrok_patience >= 1 && opt.min_points >= 2, "detect_grokking",
          "patience, ungrok_patience must be >= 1 and min_points >= 2");
  require(opt.min_delay_ratio >= 0 && opt.min_delay_steps >= 0 && opt.partial_fraction > 0 &&
              opt.partial_fraction <= 1 && std::isfinite(opt.threshold) &&
              std::isfinite(opt.test_threshold.value_or(0.0)) && opt.smooth_fraction >= 0,
          "detect_grokking",
          "options out of range (min_delay_ratio, min_delay_steps >= 0; partial_fraction in (0, 1]; "
          "threshold, test_threshold finite; smooth_fraction >= 0)");
  GrokReport rep;
  if (steps.size() != train.size() || steps.size() != test.size()) {
    rep.status = DetectStatus::MismatchedLengths;
    rep.notes.push_back("steps, train and test have " + std::to_string(steps.size()) + ", " +
                        std::to_string(train.size()) + " and " + std::to_string(test.size()) + " entries");
    return rep;
  }
  const detail::Curve tr = detail::clean_curve(steps, train, "train", rep.notes);
  detail::Curve te = detail::clean_curve(steps, test, "test", rep.notes);
  rep.n_train = static_cast<Index>(tr.x.size());
  rep.n_test = static_cast<Index>(te.x.size());
  if (rep.n_train < opt.min_points || rep.n_test < opt.min_points) {
    rep.status = DetectStatus::TooFewPoints;
    rep.notes.push_back("need at least " + std::to_string(opt.min_points) + " valid records per curve, have " +
                        std::to_string(rep.n_train) + " (train) and " + std::to_string(rep.n_test) + " (test)");
    return rep;
  }
  const bool acc = opt.metric == GrokMetric::Accuracy;
  rep.train_threshold = (!acc && opt.loss_relative) ? opt.threshold * tr.y.front() : opt.threshold;
  const double test_thr = opt.test_threshold.value_or(opt.threshold);
  rep.test_threshold = (!acc && opt.loss_relative) ? test_thr * te.y.front() : test_thr;
  rep.test_initial = te.y.front();
  rep.test_final = te.y.back();
  rep.test_best = acc ? *std::max_element(te.y.begin(), te.y.end()) : *std::min_element(te.y.begin(), te.y.end());

  const auto im = detail::first_reaching(tr, rep.train_threshold, acc, opt.patience);
  const auto ig = detail::first_reaching(te, rep.test_threshold, acc, opt.patience);
  if (im) rep.t_mem = tr.x[*im];
  if (ig) rep.t_grok = te.x[*ig];
  if (rep.t_mem && rep.t_grok) {
    rep.gap = *rep.t_grok - *rep.t_mem;
    if (*rep.t_mem > 0)
      rep.ratio = *rep.t_grok / *rep.t_mem;
    else
      rep.notes.push_back(
          std::string(*rep.t_mem == 0 ? "t_mem is 0" : "t_mem is negative (steps counted from before 0)") +
          ": the ratio t_grok / t_mem is undefined");
    if (*rep.t_grok != 0) rep.gap_over_t_grok = *rep.gap / *rep.t_grok;
  }

  // 10–90 % rise time of the test curve, by linear interpolation between records.
  if (rep.t_grok && rep.test_best != rep.test_initial) {
    auto crossing = [&](double level) -> std::optional<double> {
      const double sgn = acc ? 1.0 : -1.0;
      for (std::size_t i = 0; i < te.y.size(); ++i)
        if (sgn * (te.y[i] - level) >= 0) {
          if (i == 0) return te.x[0];
          const double a = te.y[i - 1], b = te.y[i];
          return te.x[i - 1] + (te.x[i] - te.x[i - 1]) * (level - a) / (b - a);
        }
      return std::nullopt;
    };
    const double lo = rep.test_initial + 0.1 * (rep.test_best - rep.test_initial);
    const double hi = rep.test_initial + 0.9 * (rep.test_best - rep.test_initial);
    const auto t10 = crossing(lo), t90 = crossing(hi);
    if (t10 && t90) {
      rep.rise_time = *t90 - *t10;
      if (*rep.t_grok != 0) rep.rise_over_t_grok = *rep.rise_time / *rep.t_grok;
    }
  }

  // Slope and sigmoid on x = step or log10(step).
  detail::Curve fx = te;
  if (opt.log_x) {
    detail::Curve pos;
    for (std::size_t i = 0; i < te.x.size(); ++i)
      if (te.x[i] > 0) pos.x.push_back(std::log10(te.x[i])), pos.y.push_back(te.y[i]);
    if (pos.x.size() < te.x.size())
      rep.notes.push_back(std::to_string(te.x.size() - pos.x.size()) +
                          " test record(s) at step <= 0 left out of the log-step fit");
    fx = pos;
  }
  if (fx.x.size() >= 2 && fx.x.back() > fx.x.front()) {
    const double width = opt.smooth_fraction * (fx.x.back() - fx.x.front());
    const std::vector<double> sm = moving_average(fx.x, fx.y, width);
    const double sgn = acc ? 1.0 : -1.0;
    double best = 0;
    for (std::size_t i = 0; i + 1 < sm.size(); ++i) {
      const double s = (sm[i + 1] - sm[i]) / (fx.x[i + 1] - fx.x[i]);
      if (sgn * s > sgn * best || (i == 0 && sgn * s > 0)) {
        best = s;
        const double mid = 0.5 * (fx.x[i] + fx.x[i + 1]);
        rep.max_slope = s;
        rep.max_slope_step = opt.log_x ? std::pow(10.0, mid) : mid;
      }
    }
  }
  if (opt.fit_sigmoid) {
    if (static_cast<Index>(fx.x.size()) < opt.min_points) {
      rep.notes.push_back("too few points for a sigmoid fit");
    } else {
      rep.sigmoid = fit_sigmoid(fx.x, fx.y, opt.smooth_fraction);
      if (!rep.sigmoid) {
        rep.notes.push_back("test curve is constant: no sigmoid fit");
      } else {
        rep.sigmoid->log_x = opt.log_x;
        if (opt.log_x) rep.sigmoid->t0 = std::pow(10.0, rep.sigmoid->t0);
        if (!rep.sigmoid->converged)
          rep.notes.push_back("sigmoid fit did not converge to a transition inside the data");
      }
    }
  }

  // Verdict.
  if (!rep.t_mem) {
    rep.verdict = GrokVerdict::NotFit;
  } else if (rep.t_grok) {
    const std::size_t k = static_cast<std::size_t>(opt.ungrok_patience);
    bool fell = te.y.size() >= *ig + 1 + k;
    for (std::size_t i = te.y.size() - std::min(k, te.y.size()); fell && i < te.y.size(); ++i)
      fell = acc ? te.y[i] < rep.test_threshold : te.y[i] > rep.test_threshold;
    if (fell) {
      rep.verdict = GrokVerdict::Ungrokked;
    } else {
      const bool delayed = *rep.t_grok >= opt.min_delay_ratio * *rep.t_mem && *rep.gap >= opt.min_delay_steps &&
                           *rep.t_grok > *rep.t_mem;
      rep.verdict = delayed ? GrokVerdict::Grokked : GrokVerdict::NoDelay;
    }
  } else {
    const double span = rep.test_threshold - rep.test_initial;
    const double progress = span != 0 ? (rep.test_best - rep.test_initial) / span : 0.0;
    rep.verdict = progress >= opt.partial_fraction ? GrokVerdict::Partial : GrokVerdict::MemorizedOnly;
  }
  return rep;
}

GROKSCOPE_DEFERRED_DEF double quantile(std::vector<double> v, double q) {
  require(!v.empty(), "quantile", "empty sample");
  require(q >= 0 && q <= 1, "quantile", "q must be in [0, 1]");
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const std::size_t lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

GROKSCOPE_DEFERRED_DEF GrokAggregate aggregate_reports(const std::vector<GrokReport>& reports) {
  GrokAggregate a;
  a.runs = static_cast<Index>(reports.size());
  for (GrokVerdict v : {GrokVerdict::Grokked, GrokVerdict::NoDelay, GrokVerdict::MemorizedOnly, GrokVerdict::Partial,
                        GrokVerdict::Ungrokked, GrokVerdict::NotFit, GrokVerdict::Undetermined})
    a.verdicts[verdict_name(v)] = 0;
  std::vector<double> tm, tg, gp;
  for (const GrokReport& r : reports) {
    ++a.verdicts[verdict_name(r.verdict)];
    if (r.t_mem) tm.push_back(*r.t_mem);
    if (r.t_grok) tg.push_back(*r.t_grok);
    if (r.gap) gp.push_back(*r.gap);
  }
  auto quart = [](const std::vector<double>& v) -> std::optional<Quartiles> {
    if (v.empty()) return std::nullopt;
    return Quartiles{quantile(v, 0.5), quantile(v, 0.25), quantile(v, 0.75), static_cast<Index>(v.size())};
  };
  a.t_mem = quart(tm);
  a.t_grok = quart(tg);
  a.gap = quart(gp);
  return a;
}

}  // namespace grokscope

namespace grokscope::detail {

GROKSCOPE_DEFERRED_DEF nlohmann::ordered_json number_or_null(const std::optional<double>& v) {
  if (!v || !std::isfinite(*v)) return nullptr;
  if (*v == std::floor(*v) && std::abs(*v) < 9e15) return static_cast<long long>(*v);
  return *v;
}

GROKSCOPE_DEFERRED_DEF nlohmann::ordered_json finite_or_null(double v) {
  return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json();
}

}  // namespace grokscope::detail

namespace grokscope {

GROKSCOPE_DEFERRED_DEF nlohmann::ordered_json to_json(const GrokReport& r) {
  using detail::number_or_null;
  nlohmann::ordered_json j;
  j["t_mem"] = number_or_null(r.t_mem);
  j["t_grok"] = number_or_null(r.t_grok);
  j["gap"] = number_or_null(r.gap);
  j["ratio"] = number_or_null(r.ratio);
  if (r.sigmoid) {
    const SigmoidFit& s = *r.sigmoid;
    j["sigmoid"] = {{"t0", detail::finite_or_null(s.t0)},
                    {"k", detail::finite_or_null(s.k)},
                    {"lower", detail::finite_or_null(s.lower)},
                    {"upper", detail::finite_or_null(s.upper)},
                    {"width", detail::finite_or_null(s.width)},
                    {"r2", detail::finite_or_null(s.r2)},
                    {"converged", s.converged},
                    {"log_x", s.log_x}};
  } else {
    j["sigmoid"] = nullptr;
  }
  j["verdict"] = verdict_name(r.verdict);
  j["status"] = status_name(r.status);
  j["gap_over_t_grok"] = number_or_null(r.gap_over_t_grok);
  j["rise_time"] = number_or_null(r.rise_time);
  j["rise_over_t_grok"] = number_or_null(r.rise_over_t_grok);
  j["max_slope"] = number_or_null(r.max_slope);
  j["max_slope_step"] = number_or_null(r.max_slope_step);
  j["train_threshold"] = detail::finite_or_null(r.train_threshold);
  j["test_threshold"] = detail::finite_or_null(r.test_threshold);
  j["test_initial"] = detail::finite_or_null(r.test_initial);
  j["test_best"] = detail::finite_or_null(r.test_best);
  j["test_final"] = detail::finite_or_null(r.test_final);
  j["n_train"] = r.n_train;
  j["n_test"] = r.n_test;
  j["notes"] = r.notes;
  return j;
}

GROKSCOPE_DEFERRED_DEF nlohmann::ordered_json to_json(const DetectOptions& o) {
  return {{"metric", o.metric == GrokMetric::Loss ? "loss" : "accuracy"},
          {"threshold", o.threshold},
          {"test_threshold", detail::number_or_null(o.test_threshold)},
          {"loss_relative", o.loss_relative},
          {"patience", o.patience},
          {"min_delay_ratio", o.min_delay_ratio},
          {"min_delay_steps", o.min_delay_steps},
          {"partial_fraction", o.partial_fraction},
          {"ungrok_patience", o.ungrok_patience},
          {"log_x", o.log_x},
          {"fit_sigmoid", o.fit_sigmoid},
          {"smooth_fraction", o.smooth_fraction},
          {"min_points", o.min_points}};
}

GROKSCOPE_DEFERRED_DEF nlohmann::ordered_json to_json(const GrokAggregate& a) {
  auto q = [](const std::optional<Quartiles>& v) -> nlohmann::ordered_json {
    if (!v) return nullptr;
    return {{"median", v->median}, {"q1", v->q1}, {"q3", v->q3}, {"iqr", v->q3 - v->q1}, {"count", v->count}};
  };
  return {
      {"runs", a.runs}, {"t_mem", q(a.t_mem)}, {"t_grok", q(a.t_grok)}, {"gap", q(a.gap)}, {"verdicts", a.verdicts}};
}

}  // namespace grokscope
