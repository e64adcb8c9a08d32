// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// The compiled library's measurements: CKA, Fourier progress measures, kernel tools, Hessian and
// linearized-dynamics tools, weight spectra, circuits.

#include <grokscope/measure/detail/circuits-inl.hpp>
#include <grokscope/measure/detail/cka-inl.hpp>
#include <grokscope/measure/detail/fourier-inl.hpp>
#include <grokscope/measure/detail/hessian-inl.hpp>
#include <grokscope/measure/detail/kernel-inl.hpp>
#include <grokscope/measure/detail/linearized-inl.hpp>
#include <grokscope/measure/detail/spectra-inl.hpp>

namespace grokscope {
template MatrixSpectrum detail::matrix_spectrum<double>(const Eigen::MatrixXd&, std::string);
GROKSCOPE_CKA_INSTANTIATIONS(template, Eigen::MatrixXf)
GROKSCOPE_CKA_INSTANTIATIONS(template, Eigen::MatrixXd)
GROKSCOPE_CKA_INSTANTIATIONS(template, Matrix<float>)
GROKSCOPE_CKA_INSTANTIATIONS(template, Matrix<double>)
}  // namespace grokscope
