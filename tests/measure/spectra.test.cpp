#include <grokscope/core/rng.hpp>
#include <grokscope/measure/spectra.hpp>
#include <grokscope/nn/transformer.hpp>
#include <grokscope/train/probes.hpp>

#include "../test_util.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>

using namespace grokscope;

namespace {

// U diag(σ) Vᵀ with random orthonormal U (m × r) and V (n × r)
Eigen::MatrixXd with_singular_values(const Eigen::VectorXd& sigma, Index m, Index n, std::uint64_t seed) {
  Rng rng(seed);
  const Index r = sigma.size();
  const Eigen::MatrixXd U = test::householder_q(rng.normal_matrix(m, r)) * Eigen::MatrixXd::Identity(m, r);
  const Eigen::MatrixXd V = test::householder_q(rng.normal_matrix(n, r)) * Eigen::MatrixXd::Identity(n, r);
  return U * sigma.asDiagonal() * V.transpose();
}

double value_of(const Record& r, const std::string& name) {
  for (const auto& kv : r)
    if (kv.first == name) return kv.second;
  FAIL("no column " << name);
  return 0;
}

}  // namespace

TEST_CASE("matrix_spectrum: singular values and ranks of constructed matrices") {
  const Eigen::VectorXd sigma = (Eigen::VectorXd(4) << 5, 3, 2, 0.5).finished();
  const MatrixSpectrum s = matrix_spectrum(with_singular_values(sigma, 7, 6, 1), "W");
  CHECK(s.name == "W");
  REQUIRE(s.singular_values.size() == 6);
  for (Index i = 0; i < 4; ++i) CHECK(s.singular_values(i) == doctest::Approx(sigma(i)).epsilon(1e-12));
  CHECK(s.singular_values(4) == doctest::Approx(0).epsilon(1e-12));
  CHECK(s.spectral_norm == doctest::Approx(5));
  const double sq = 25 + 9 + 4 + 0.25, q = 625 + 81 + 16 + 0.0625;
  CHECK(s.frobenius_norm == doctest::Approx(std::sqrt(sq)));
  CHECK(s.stable_rank == doctest::Approx(sq / 25));
  CHECK(s.participation_ratio == doctest::Approx(sq * sq / q));
  const double sum = 10.5;
  double h = 0;
  for (Index i = 0; i < 4; ++i) h -= sigma(i) / sum * std::log(sigma(i) / sum);
  CHECK(s.effective_rank == doctest::Approx(std::exp(h)).epsilon(1e-10));

  // Equal singular values: every rank is r; rank one: every rank is 1; zero: 0.
  const MatrixSpectrum eq = matrix_spectrum(with_singular_values(Eigen::VectorXd::Constant(5, 2.0), 5, 9, 2));
  CHECK(eq.stable_rank == doctest::Approx(5));
  CHECK(eq.effective_rank == doctest::Approx(5));
  CHECK(eq.participation_ratio == doctest::Approx(5));
  const MatrixSpectrum one = matrix_spectrum(Eigen::VectorXd::LinSpaced(6, 1, 6) * Eigen::RowVectorXd::Ones(4));
  CHECK(one.stable_rank == doctest::Approx(1));
  CHECK(one.effective_rank == doctest::Approx(1).epsilon(1e-6));
  CHECK(one.participation_ratio == doctest::Approx(1));
  const MatrixSpectrum zero = matrix_spectrum(Eigen::MatrixXd::Zero(3, 4));
  CHECK(zero.spectral_norm == 0);
  CHECK(zero.stable_rank == 0);
  CHECK(zero.singular_values.size() == 3);

  // Scale-free: ranks unchanged from 1e-200 to 1e200, norms scale exactly
  const Eigen::MatrixXd W = with_singular_values(sigma, 7, 6, 3);
  for (double c : {1e-200, 1e200}) {
    const MatrixSpectrum t = matrix_spectrum(c * W);
    CHECK(t.stable_rank == doctest::Approx(s.stable_rank));
    CHECK(t.effective_rank == doctest::Approx(s.effective_rank));
    CHECK(t.participation_ratio == doctest::Approx(s.participation_ratio));
    CHECK(t.spectral_norm / c == doctest::Approx(5));
  }
  // Bad input named
  CHECK_THROWS_WITH_AS(matrix_spectrum(Eigen::MatrixXd(0, 3)), doctest::Contains("empty"), std::invalid_argument);
  Eigen::MatrixXd bad = W;
  bad(2, 1) = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH_AS(matrix_spectrum(bad, "blocks.0.mlp.W_in"), doctest::Contains("entry (2, 1)"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(matrix_spectrum(bad, "blocks.0.mlp.W_in"), doctest::Contains("blocks.0.mlp.W_in"),
                       std::invalid_argument);
}

TEST_CASE("parameter_spectra: matrices of a transformer, split per head") {
  TransformerConfig c = TransformerConfig::nanda2023(13);
  c.d_model = 16, c.heads = 4, c.d_mlp = 32;
  Transformer<double> m(c);
  const std::vector<MatrixSpectrum> all = parameter_spectra(m.parameters());
  for (const MatrixSpectrum& s : all) CHECK(s.name.find(".head") == std::string::npos);
  SpectraOptions o;
  o.heads = 4;
  const std::vector<MatrixSpectrum> split = parameter_spectra(m.parameters(), o);
  CHECK(split.size() == all.size() + 4 * 4);  // W_Q, W_K, W_V and W_O, four heads each
  // head h of W_Q is rows [4h, 4h + 4); of W_O columns [4h, 4h + 4)
  const Eigen::MatrixXd WQ = m.parameter("blocks.0.attn.W_Q").value, WO = m.parameter("blocks.0.attn.W_O").value;
  bool seen_q = false, seen_o = false;
  for (const MatrixSpectrum& s : split) {
    if (s.name == "blocks.0.attn.W_Q.head2") {
      seen_q = true;
      const MatrixSpectrum ref = matrix_spectrum(WQ.middleRows(8, 4));
      CHECK((s.singular_values - ref.singular_values).norm() < 1e-12);
    }
    if (s.name == "blocks.0.attn.W_O.head3") {
      seen_o = true;
      CHECK(s.spectral_norm == doctest::Approx(matrix_spectrum(WO.middleCols(12, 4)).spectral_norm));
    }
  }
  CHECK(seen_q);
  CHECK(seen_o);
  // the heads' squared Frobenius norms add up to the matrix's
  double fq = 0;
  for (const MatrixSpectrum& s : split)
    if (s.name.rfind("blocks.0.attn.W_Q.head", 0) == 0) fq += s.frobenius_norm * s.frobenius_norm;
  CHECK(fq == doctest::Approx(WQ.squaredNorm()));
  o.heads = 3;
  CHECK_THROWS_WITH_AS(parameter_spectra(m.parameters(), o), doctest::Contains("not a multiple of 3 heads"),
                       std::invalid_argument);
  SpectraOptions only;
  only.names = {"embed.W_E"};
  const std::vector<MatrixSpectrum> e = parameter_spectra(m.parameters(), only);
  REQUIRE(e.size() == 1);
  CHECK(e[0].name == "embed.W_E");
  only.names = {"nope"};
  CHECK_THROWS_WITH_AS(parameter_spectra(m.parameters(), only), doctest::Contains("no parameter 'nope'"),
                       std::invalid_argument);
}

TEST_CASE("weight_spectrum_probe: columns per matrix and the top singular values") {
  TransformerConfig c = TransformerConfig::nanda2023(7);
  c.d_model = 8, c.heads = 2, c.d_mlp = 16;
  Transformer<float> m(c);
  SpectraOptions o;
  o.names = {"embed.W_E", "blocks.0.attn.W_Q"};
  o.heads = 2;
  const Record r = weight_spectrum_probe<float>(o, 3)(m, 0);
  CHECK(r.size() == 4 * 7);  // W_E, W_Q and its two heads, each 4 summaries and 3 values
  const MatrixSpectrum we = matrix_spectrum(m.parameter("embed.W_E").value.cast<double>());
  CHECK(value_of(r, "spectral_norm_embed.W_E") == doctest::Approx(we.spectral_norm));
  CHECK(value_of(r, "sv1_embed.W_E") == doctest::Approx(we.singular_values(1)));
  CHECK(value_of(r, "stable_rank_blocks.0.attn.W_Q.head1") >= 1.0);
  CHECK(value_of(r, "participation_ratio_blocks.0.attn.W_Q.head0") <= 4.0 + 1e-9);
  CHECK_THROWS_AS(weight_spectrum_probe<float>({}, -1), std::invalid_argument);
}

TEST_CASE("matrix_spectrum at the ends of double's range: 1e-310 I and 1.7e308 I") {
  for (const double a : {1e-310, 1.7e308}) {
    const MatrixSpectrum s = matrix_spectrum(Eigen::MatrixXd(a * Eigen::MatrixXd::Identity(3, 3)));
    INFO("scale " << a);
    CHECK(s.singular_values.allFinite());
    for (Index i = 0; i < 3; ++i) CHECK(s.singular_values(i) == doctest::Approx(a).epsilon(1e-12));
    CHECK(s.spectral_norm == doctest::Approx(a).epsilon(1e-12));
    CHECK(s.stable_rank == doctest::Approx(3.0));
  }
}
