#include <grokscope/io/npy.hpp>

#include "../test_util.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <iterator>

using namespace grokscope;
using grokscope::test::fixture;
using grokscope::test::tmp_path;

namespace {
std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}
}  // namespace

TEST_CASE("save_npy / load_npy round-trip every supported dtype") {
  Matrix<double> d(2, 3);
  d << 1.5, -2, 3, 4, 5e-300, 6;
  save_npy(tmp_path("d.npy"), d);
  CHECK(load_npy<double>(tmp_path("d.npy")) == d);

  const Matrix<float> f = d.cast<float>();
  save_npy(tmp_path("f.npy"), f);
  CHECK(load_npy<float>(tmp_path("f.npy")) == f);
  CHECK(read_npy_header(tmp_path("f.npy")).descr == "<f4");

  Matrix<std::int64_t> i(1, 4);
  i << -1, 0, 1LL << 40, 7;
  save_npy(tmp_path("i.npy"), i);
  CHECK(load_npy<std::int64_t>(tmp_path("i.npy")) == i);

  Matrix<std::uint8_t> u(2, 2);
  u << 0, 255, 7, 9;
  save_npy(tmp_path("u.npy"), u);
  CHECK(load_npy<std::uint8_t>(tmp_path("u.npy")) == u);
  CHECK(read_npy_header(tmp_path("u.npy")).descr == "|u1");

  const std::vector<std::int64_t> ids{3, 1, 4, 1, 5};
  save_npy(tmp_path("ids.npy"), ids);
  const NpyArray<std::int64_t> back = load_npy_array<std::int64_t>(tmp_path("ids.npy"));
  CHECK(back.shape == std::vector<std::size_t>{5});
  CHECK(back.data == ids);
  CHECK(load_npy<std::int64_t>(tmp_path("ids.npy")).rows() == 5);  // rank 1 -> n x 1

  const Matrix<double> empty(0, 3);
  save_npy(tmp_path("empty.npy"), empty);
  const Matrix<double> e2 = load_npy<double>(tmp_path("empty.npy"));
  CHECK(e2.rows() == 0);
  CHECK(e2.cols() == 3);
}

TEST_CASE("files written by NumPy load (C and Fortran order, rank 1-3, long headers)") {
  const Matrix<double> a = load_npy<double>(fixture("npy/f8_3x4.npy"));  // np.arange(12.).reshape(3, 4) / 8
  REQUIRE(a.rows() == 3);
  REQUIRE(a.cols() == 4);
  for (Index r = 0; r < 3; ++r)
    for (Index c = 0; c < 4; ++c) CHECK(a(r, c) == static_cast<double>(r * 4 + c) / 8);
  const Matrix<double> fo = load_npy<double>(fixture("npy/f8_3x4_fortran.npy"));  // same values, Fortran order
  CHECK(fo == a);
  const Matrix<float> f4 = load_npy<float>(fixture("npy/f4_rank1.npy"));  // [0.5, -1, 2]
  REQUIRE(f4.rows() == 3);
  CHECK(f4(1, 0) == -1.0f);
  const Matrix<std::int64_t> i8 = load_npy<std::int64_t>(fixture("npy/i8_2x2.npy"));  // [[1, -2], [3, 1<<40]]
  CHECK(i8(1, 1) == (1LL << 40));
  CHECK(load_npy_as<double>(fixture("npy/u1_2x3.npy"))(1, 2) == 255.0);            // [[0,1,2],[3,4,255]]
  const Matrix<double> flat = load_npy_flat<double>(fixture("npy/f8_2x3x4.npy"));  // arange(24).reshape(2,3,4)
  REQUIRE(flat.rows() == 2);
  REQUIRE(flat.cols() == 12);
  CHECK(flat(1, 11) == 23.0);
  const NpyHeader lh = read_npy_header(fixture("npy/f8_long_header.npy"));  // 32 dims: header > 127 bytes
  CHECK(lh.data_offset > 128);
  CHECK(lh.shape.size() == 32);
  const Matrix<double> lf = load_npy_flat<double>(fixture("npy/f8_long_header.npy"));
  CHECK(lf.size() == 2);
  CHECK(lf(0, 1) == 1.0);
}

TEST_CASE("bad files give runtime_error naming the path and the problem") {
  const std::string missing = tmp_path("does_not_exist.npy");
  CHECK_THROWS_WITH_AS(load_npy<double>(missing),
                       ("grokscope::load_npy: " + missing + ": cannot open file for reading").c_str(),
                       std::runtime_error);
  const std::string f8 = fixture("npy/f8_3x4.npy");
  CHECK_THROWS_WITH_AS(
      load_npy<float>(f8),
      ("grokscope::load_npy: " + f8 + ": holds float64 but float32 was requested (load_npy_as<T> converts)").c_str(),
      std::runtime_error);
  CHECK(load_npy_as<float>(f8)(2, 3) == 11.0f / 8);
  CHECK_THROWS_WITH_AS(load_npy<double>(fixture("npy/c16.npy")), doctest::Contains("unsupported dtype '<c16'"),
                       std::runtime_error);
  CHECK_THROWS_WITH_AS(load_npy<double>(fixture("npy/f8_big_endian.npy")), doctest::Contains("unsupported dtype '>f8'"),
                       std::runtime_error);
  CHECK_THROWS_WITH_AS(load_npy<double>(fixture("npy/f8_2x3x4.npy")),
                       doctest::Contains("rank 3 array cannot be loaded as a matrix"), std::runtime_error);
  write_bytes(tmp_path("text.npy"), "hello, this is not numpy at all");
  CHECK_THROWS_WITH_AS(load_npy<double>(tmp_path("text.npy")), doctest::Contains("not a .npy file (bad magic string)"),
                       std::runtime_error);
  std::string extra = read_bytes(f8) + "xx";
  write_bytes(tmp_path("extra.npy"), extra);
  CHECK_THROWS_WITH_AS(load_npy<double>(tmp_path("extra.npy")), doctest::Contains("2 unexpected bytes after the data"),
                       std::runtime_error);
  CHECK_THROWS_WITH_AS(save_npy(tmp_path("no_such_dir/x.npy"), Matrix<double>::Zero(1, 1)),
                       doctest::Contains("cannot open file for writing"), std::runtime_error);
}

TEST_CASE("every truncation of a valid file is a clean error") {
  const std::string full = read_bytes(fixture("npy/f8_3x4.npy"));
  REQUIRE(full.size() > 128);
  const std::string path = tmp_path("trunc.npy");
  for (std::size_t len = 0; len < full.size(); ++len) {
    write_bytes(path, full.substr(0, len));
    CHECK_THROWS_AS(load_npy<double>(path), std::runtime_error);
  }
}

TEST_CASE("corrupting any header byte never crashes or overreads") {
  const std::string full = read_bytes(fixture("npy/f8_3x4.npy"));
  const std::size_t header_end = read_npy_header(fixture("npy/f8_3x4.npy")).data_offset;
  const std::string path = tmp_path("corrupt.npy");
  int thrown = 0;
  for (std::size_t pos = 0; pos < header_end; ++pos)
    for (int v : {0x00, 0x27, 0x7f, 0xff, int('9'), int('(')}) {
      std::string bad = full;
      bad[pos] = static_cast<char>(v);
      write_bytes(path, bad);
      try {
        const Matrix<double> m = load_npy_as<double>(path);
        CHECK(m.size() <= 12);  // a harmless change (e.g. padding) may still load
      } catch (const std::runtime_error& e) {
        ++thrown;
        CHECK(std::string(e.what()).find(path) != std::string::npos);
      }
    }
  CHECK(thrown > 0);
}
