#include <grokscope/core/rng.hpp>
#include <grokscope/io/params.hpp>

#include "../test_util.hpp"

#include <doctest/doctest.h>

#include <filesystem>

using namespace grokscope;

TEST_CASE("save_parameters / load_parameters round-trip with a manifest") {
  const std::string dir = test::tmp_path("params_rt");
  std::filesystem::remove_all(dir);
  Parameter<float> w("blocks.0.attn.W_Q", Rng(1).normal_matrix<float>(4, 3)), b("mlp.b_in", Matrix<float>::Ones(1, 5));
  save_parameters(dir, std::vector<Parameter<float>*>{&w, &b});
  CHECK(std::filesystem::exists(dir + "/manifest.json"));
  CHECK(std::filesystem::exists(dir + "/blocks.0.attn.W_Q.npy"));
  Parameter<float> w2("blocks.0.attn.W_Q", Matrix<float>::Zero(4, 3)), b2("mlp.b_in", Matrix<float>::Zero(1, 5));
  load_parameters(dir, std::vector<Parameter<float>*>{&w2, &b2});
  CHECK(w2.value == w.value);
  CHECK(b2.value == b.value);
  Parameter<double> wd("blocks.0.attn.W_Q", Matrix<double>::Zero(4, 3)), bd("mlp.b_in", Matrix<double>::Zero(1, 5));
  load_parameters(dir, std::vector<Parameter<double>*>{&wd, &bd});  // float32 files into a double model
  CHECK(wd.value(1, 2) == static_cast<double>(w.value(1, 2)));
}

TEST_CASE("a folder that does not match the model changes nothing and lists every mismatch") {
  const std::string dir = test::tmp_path("params_bad");
  std::filesystem::remove_all(dir);
  Parameter<double> a("a", Matrix<double>::Ones(2, 2)), extra("extra", Matrix<double>::Ones(1, 1));
  save_parameters(dir, std::vector<Parameter<double>*>{&a, &extra});
  Parameter<double> a3("a", Matrix<double>::Zero(3, 2)), c("c", Matrix<double>::Zero(1, 1));
  CHECK_THROWS_WITH_AS(load_parameters(dir, std::vector<Parameter<double>*>{&a3, &c}),
                       ("grokscope::load_parameters: " + dir +
                        ": a is (2, 2) in the file but 3x2 in the model; missing c (1x1); unexpected extra")
                           .c_str(),
                       std::runtime_error);
  CHECK(a3.value.isZero());
  CHECK_THROWS_WITH_AS(load_parameters(test::tmp_path("no_such_dir"), std::vector<Parameter<double>*>{&a}),
                       doctest::Contains("not a directory"), std::runtime_error);
}

TEST_CASE("shapes are checked from the header: a huge or damaged file of the wrong shape is not read") {
  const std::string dir = test::tmp_path("params_header");
  std::filesystem::remove_all(dir);
  Parameter<float> b("b", Matrix<float>::Ones(1, 3)), w("w", Matrix<float>::Ones(2, 3));
  save_parameters(dir, std::vector<Parameter<float>*>{&b, &w});
  // a rank-1 bias, as a PyTorch state_dict has it, loads into (1, 3)
  save_npy(dir + "/b.npy", std::vector<float>{4, 5, 6});
  Parameter<float> b2("b", Matrix<float>::Zero(1, 3)), w2("w", Matrix<float>::Zero(2, 3));
  load_parameters(dir, std::vector<Parameter<float>*>{&b2, &w2});
  CHECK(b2.value(0, 2) == 6);
  // a 10^6 x 10^6 header with no data behind it: reported as the wrong shape before anything is read
  std::ofstream(dir + "/w.npy", std::ios::binary | std::ios::trunc)
      << std::string("\x93NUMPY\x01\x00\x76\x00", 10)
      << "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 1000000), }" + std::string(43, ' ') + "\n";
  w2.value.setZero();
  CHECK_THROWS_WITH_AS(load_parameters(dir, std::vector<Parameter<float>*>{&b2, &w2}), doctest::Contains("w.npy"),
                       std::runtime_error);
  CHECK(w2.value.isZero());
}
