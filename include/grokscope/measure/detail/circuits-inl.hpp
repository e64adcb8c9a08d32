// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Definitions of the non-template functions declared in <grokscope/measure/circuits.hpp>:
/// included by it in header-only mode, compiled once into grokscope::compiled otherwise.

#include <grokscope/measure/circuits.hpp>

#if defined(GROKSCOPE_COMPILED) && !defined(GROKSCOPE_BUILDING_LIBRARY)
#error "grokscope: in compiled mode these definitions are in the library; include the header without -inl"
#endif

#include <algorithm>
#include <map>

namespace grokscope {

GROKSCOPE_DEFERRED_DEF GridSpectrum grid_spectrum(const Eigen::MatrixXd& values) {
  const Index p = detail::grid_p("grid_spectrum", values.rows());
  require_finite("grid_spectrum", "values", values);
  Eigen::MatrixXd A = values;
  A.rowwise() -= A.colwise().mean();
  const Eigen::MatrixXd D = fourier_2d(A);
  const Index h = (p - 1) / 2;
  const auto freq = [](Index f) { return (f + 1) / 2; };  // basis row → frequency (0 const, 2k−1 and 2k → k)
  GridSpectrum r;
  r.share = Eigen::MatrixXd::Zero(h + 1, h + 1);
  for (Index f = 0; f < p; ++f)
    for (Index g = 0; g < p; ++g) r.share(freq(f), freq(g)) += D.row(f * p + g).squaredNorm();
  const double total = r.share.sum();
  if (total > 0) r.share /= total;
  r.dominant_share = r.share.maxCoeff(&r.dominant_a, &r.dominant_b);
  r.per_frequency = Eigen::VectorXd::Zero(h + 1);
  for (Index a = 0; a <= h; ++a)
    for (Index b = 0; b <= h; ++b) {
      if (a > 0) r.per_frequency(a) += r.share(a, b);
      if (b > 0 && b != a) r.per_frequency(b) += r.share(a, b);
    }
  return r;
}

GROKSCOPE_DEFERRED_DEF NeuronClusters neuron_clusters(const Eigen::MatrixXd& activations) {
  require_finite("neuron_clusters", "activations", activations);
  const KeyFrequencies k = key_frequencies(activations);
  Eigen::MatrixXd A = activations;
  A.rowwise() -= A.colwise().mean();
  const Eigen::VectorXd mass = A.colwise().squaredNorm().transpose();  // Parseval: the DFT keeps it
  std::map<Index, IndexList> by;
  double kept = 0;
  for (Index n = 0; n < A.cols(); ++n) {
    by[k.neuron_frequency[static_cast<std::size_t>(n)]].push_back(n);
    kept += k.explained(n) * mass(n);
  }
  NeuronClusters r;
  std::vector<std::pair<Index, IndexList>> groups(by.begin(), by.end());
  std::stable_sort(groups.begin(), groups.end(),
                   [](const auto& x, const auto& y) { return x.second.size() > y.second.size(); });
  for (auto& [f, ns] : groups) {
    double e = 0;
    for (Index n : ns) e += k.explained(n);
    r.frequencies.push_back(f);
    r.explained.push_back(e / static_cast<double>(ns.size()));
    r.neurons.push_back(std::move(ns));
  }
  const double total = mass.sum();
  r.fraction_explained = total > 0 ? kept / total : 0.0;
  return r;
}

}  // namespace grokscope
