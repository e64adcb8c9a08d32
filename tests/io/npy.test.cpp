#include <grokscope/io/npy.hpp>

#include "../test_util.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <iterator>
#include <limits>
#include <vector>

using namespace grokscope;
using grokscope::test::fixture;
using grokscope::test::tmp_path;

namespace {
void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}
// A version 1.0 file with the given header dictionary text, padded as NumPy pads it.
std::string npy_file(std::string dict, const std::string& payload) {
  std::size_t total = 10 + dict.size() + 1;
  dict += std::string((64 - total % 64) % 64, ' ') + "\n";
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(dict.size() & 0xff);
  out += static_cast<char>(dict.size() >> 8);
  return out + dict + payload;
}
template <typename T>
std::string bytes_of(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
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

TEST_CASE("float16 files load exactly as float or double (subnormals, the largest half, inf, NaN)") {
  const NpyHeader h = read_npy_header(fixture("npy/f2_2x4.npy"));
  CHECK(h.dtype == NpyDtype::Float16);
  CHECK(std::string(npy_dtype_name(h.dtype)) == "float16");
  CHECK(h.item_size == 2);
  const Matrix<double> d = load_npy_as<double>(fixture("npy/f2_2x4.npy"));
  REQUIRE(d.rows() == 2);
  REQUIRE(d.cols() == 4);
  CHECK(d(0, 0) == 0.5);
  CHECK(d(0, 1) == -1.25);
  CHECK(d(0, 2) == 3.140625);
  CHECK(d(0, 3) == std::ldexp(1.0, -14));  // the smallest normal half
  CHECK(d(1, 0) == std::ldexp(1.0, -24));  // the smallest subnormal half
  CHECK(d(1, 1) == 65504.0);
  CHECK(std::isinf(d(1, 2)));
  CHECK(std::isnan(d(1, 3)));
  const Matrix<float> f = load_npy_as<float>(fixture("npy/f2_2x4.npy"));
  CHECK(f(1, 1) == 65504.0f);
  CHECK_THROWS_WITH_AS(load_npy<float>(fixture("npy/f2_2x4.npy")), doctest::Contains("holds float16 but float32"),
                       std::runtime_error);
  CHECK_THROWS_WITH_AS(load_npy_as<std::int64_t>(fixture("npy/f2_2x4.npy")),
                       doctest::Contains("holds float16; load it as float or double"), std::runtime_error);
}

TEST_CASE("bad files give runtime_error naming the path and the problem") {
  const std::string missing = tmp_path("does_not_exist.npy");
  CHECK_THROWS_WITH_AS(load_npy<double>(missing), ("grokscope::load_npy: " + missing + ": no such file").c_str(),
                       std::runtime_error);
  const std::string f8 = fixture("npy/f8_3x4.npy");
  CHECK_THROWS_WITH_AS(
      load_npy<float>(f8),
      ("grokscope::load_npy: " + f8 + ": holds float64 but float32 was requested (load_npy_as<T> converts)").c_str(),
      std::runtime_error);
  CHECK(load_npy_as<float>(f8)(2, 3) == 11.0f / 8);
  CHECK_THROWS_WITH_AS(load_npy<double>(fixture("npy/c16.npy")), doctest::Contains("unsupported dtype \"<c16\""),
                       std::runtime_error);
  CHECK_THROWS_WITH_AS(load_npy<double>(fixture("npy/f8_big_endian.npy")),
                       doctest::Contains("unsupported dtype \">f8\""), std::runtime_error);
  CHECK_THROWS_WITH_AS(load_npy<double>(fixture("npy/f8_2x3x4.npy")),
                       doctest::Contains("rank 3 array cannot be loaded as a matrix"), std::runtime_error);
  write_bytes(tmp_path("text.npy"), "hello, this is not numpy at all");
  CHECK_THROWS_WITH_AS(load_npy<double>(tmp_path("text.npy")), doctest::Contains("not a .npy file (bad magic string)"),
                       std::runtime_error);
  std::string extra = test::slurp(f8) + "xx";
  write_bytes(tmp_path("extra.npy"), extra);
  CHECK_THROWS_WITH_AS(load_npy<double>(tmp_path("extra.npy")), doctest::Contains("2 unexpected bytes after the data"),
                       std::runtime_error);
  CHECK_THROWS_WITH_AS(save_npy(tmp_path("no_such_dir/x.npy"), Matrix<double>::Zero(1, 1)),
                       doctest::Contains("cannot open file for writing"), std::runtime_error);
}

TEST_CASE("every truncation of a valid file is a clean error") {
  const std::string full = test::slurp(fixture("npy/f8_3x4.npy"));
  REQUIRE(full.size() > 128);
  const std::string path = tmp_path("trunc.npy");
  for (std::size_t len = 0; len < full.size(); ++len) {
    write_bytes(path, full.substr(0, len));
    CHECK_THROWS_AS(load_npy<double>(path), std::runtime_error);
  }
}

TEST_CASE("corrupting any header byte never crashes or overreads") {
  const std::string full = test::slurp(fixture("npy/f8_3x4.npy"));
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

TEST_CASE("the header is parsed as a dictionary: a key's text inside another value is not the key") {
  const std::string payload = bytes_of(std::vector<double>{1, 2, 3, 4, 5, 6});
  const std::string path = tmp_path("dict.npy");
  write_bytes(path, npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", payload));
  const Matrix<double> ok = load_npy<double>(path);
  CHECK(ok.rows() == 2);
  CHECK(ok.cols() == 3);
  CHECK(ok(1, 0) == 4);
  // Keys in another order, double quotes, no trailing comma: still the same file.
  write_bytes(path, npy_file("{\"shape\": (2,3), \"fortran_order\": False, \"descr\": \"<f8\"}", payload));
  CHECK(load_npy<double>(path) == ok);
  // The text 'shape': (6,) inside a value (here the dtype string) must not be taken for the shape.
  write_bytes(path, npy_file("{'descr': \"'shape': (6,)\", 'fortran_order': False, 'shape': (2, 3), }", payload));
  CHECK_THROWS_WITH_AS(load_npy<double>(path), doctest::Contains("unsupported dtype"), std::runtime_error);
  // An extra key is refused, as NumPy refuses it, and a repeated or missing key too.
  write_bytes(path, npy_file("{'descr': '<f8', 'fortran_order': False, 'note': \"'shape': (6,)\", 'shape': (2, 3), }",
                             payload));
  CHECK_THROWS_WITH_AS(load_npy<double>(path), doctest::Contains("unknown key \"note\""), std::runtime_error);
  write_bytes(path, npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (6,), 'shape': (2, 3)}", payload));
  CHECK_THROWS_WITH_AS(load_npy<double>(path), doctest::Contains("key \"shape\" appears twice"), std::runtime_error);
  write_bytes(path, npy_file("{'descr': '<f8', 'shape': (2, 3)}", payload));
  CHECK_THROWS_WITH_AS(load_npy<double>(path), doctest::Contains("missing key 'fortran_order'"), std::runtime_error);
  write_bytes(path, npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3)} x", payload));
  CHECK_THROWS_WITH_AS(load_npy<double>(path), doctest::Contains("text after the dictionary"), std::runtime_error);
  write_bytes(path, npy_file("{'descr': '<f8', 'fortran_order': 0, 'shape': (2, 3)}", payload));
  CHECK_THROWS_WITH_AS(load_npy<double>(path), doctest::Contains("fortran_order must be True or False"),
                       std::runtime_error);
  write_bytes(path, npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (2, -3)}", payload));
  CHECK_THROWS_WITH_AS(load_npy<double>(path), doctest::Contains("shape entries must be integers"), std::runtime_error);
}

TEST_CASE("every dimension is bounded on its own, zeros included") {
  const std::string path = tmp_path("shape.npy");
  // (0, 2^63 + 1): zero elements, but a matrix view would have a column count beyond Index.
  write_bytes(path, npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (0, 9223372036854775809), }", ""));
  CHECK_THROWS_WITH_AS(load_npy<double>(path), doctest::Contains("a dimension is larger than 2^62"),
                       std::runtime_error);
  CHECK_THROWS_AS(load_npy_flat<double>(path), std::runtime_error);
  write_bytes(path, npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (0, 4611686018427387904), }", ""));
  CHECK_THROWS_WITH_AS(load_npy<double>(path), doctest::Contains("shape is too large"), std::runtime_error);
  write_bytes(path,
              npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (0, 65536, 65536, 65536, 65536), }", ""));
  CHECK_THROWS_WITH_AS(load_npy_flat<double>(path), doctest::Contains("shape is too large"), std::runtime_error);
  write_bytes(path, npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (0, 3), }", ""));
  const Matrix<double> empty = load_npy<double>(path);
  CHECK(empty.rows() == 0);
  CHECK(empty.cols() == 3);
  write_bytes(path, npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (0, 3, 5), }", ""));
  const Matrix<double> flat = load_npy_flat<double>(path);
  CHECK(flat.rows() == 0);
  CHECK(flat.cols() == 15);
}

TEST_CASE("load_npy_as converts only what the requested type holds exactly") {
  const std::string path = tmp_path("convert.npy");
  const std::string f8_3 = "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }";
  write_bytes(path, npy_file(f8_3, bytes_of(std::vector<double>{1, -2, 255})));
  const Matrix<std::int64_t> whole = load_npy_as<std::int64_t>(path);
  CHECK(whole(1, 0) == -2);
  CHECK_THROWS_WITH_AS(load_npy_as<std::uint8_t>(path), doctest::Contains("element 1 (-2)"), std::runtime_error);
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  for (double bad : {nan, inf, -inf, 2.5, 1e30, -9.3e18, 9223372036854775808.0}) {
    CAPTURE(bad);
    write_bytes(path, npy_file(f8_3, bytes_of(std::vector<double>{1, bad, 3})));
    CHECK_THROWS_WITH_AS(
        load_npy_as<std::int64_t>(path),
        doctest::Contains(
            ("element 1 (" + format_number(bad) + ") of the float64 data is not representable as int64").c_str()),
        std::runtime_error);
    CHECK_THROWS_AS(load_npy_as<std::int32_t>(path), std::runtime_error);
  }
  write_bytes(path, npy_file(f8_3, bytes_of(std::vector<double>{-9223372036854775808.0, 0, 1})));
  CHECK(load_npy_as<std::int64_t>(path)(0, 0) == std::numeric_limits<std::int64_t>::min());
  // Integer narrowing: 300 does not fit in uint8, -1 neither; 255 and 0 do.
  const std::string i8_2 = "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }";
  write_bytes(path, npy_file(i8_2, bytes_of(std::vector<std::int64_t>{0, 300})));
  CHECK_THROWS_WITH_AS(load_npy_as<std::uint8_t>(path), doctest::Contains("element 1 (300)"), std::runtime_error);
  write_bytes(path, npy_file(i8_2, bytes_of(std::vector<std::int64_t>{-1, 3})));
  CHECK_THROWS_AS(load_npy_as<std::uint8_t>(path), std::runtime_error);
  write_bytes(path, npy_file(i8_2, bytes_of(std::vector<std::int64_t>{std::int64_t(1) << 40, 3})));
  CHECK_THROWS_AS(load_npy_as<std::int32_t>(path), std::runtime_error);
  CHECK(load_npy_as<double>(path)(0, 0) == 1099511627776.0);
  write_bytes(path, npy_file(i8_2, bytes_of(std::vector<std::int64_t>{0, 255})));
  CHECK(load_npy_as<std::uint8_t>(path)(1, 0) == 255);
  // float64 → float32: a finite value beyond float's range is refused; inf and nan stay what they are.
  write_bytes(path, npy_file(f8_3, bytes_of(std::vector<double>{1, 1e300, 3})));
  CHECK_THROWS_WITH_AS(load_npy_as<float>(path), doctest::Contains("not representable as float32 (out of range)"),
                       std::runtime_error);
  write_bytes(path, npy_file(f8_3, bytes_of(std::vector<double>{1, inf, nan})));
  const Matrix<float> f = load_npy_as<float>(path);
  CHECK(std::isinf(f(1, 0)));
  CHECK(std::isnan(f(2, 0)));
}

TEST_CASE("a directory or a device is refused by name") {
  const std::string dir = tmp_path("");
  CHECK_THROWS_WITH_AS(load_npy<double>(dir), doctest::Contains(": is a directory, not a file"), std::runtime_error);
  CHECK_THROWS_WITH_AS(read_npy_header("/dev/zero"), doctest::Contains("/dev/zero: is a pipe or device"),
                       std::runtime_error);
}
