#include <grokscope/data/idx.hpp>

#include "../test_util.hpp"

#include <doctest/doctest.h>
#include <zlib.h>

#include <cstring>
#include <fstream>
#include <iterator>

using namespace grokscope;
using test::tmp_path;

namespace {

std::string header(std::uint8_t type, const std::vector<std::uint32_t>& dims) {
  std::string h{'\0', '\0', static_cast<char>(type), static_cast<char>(dims.size())};
  for (std::uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) h += static_cast<char>((d >> s) & 0xff);
  return h;
}

template <typename T>
std::string big_endian(T v) {
  unsigned char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  std::string s;
  for (std::size_t i = sizeof(T); i-- > 0;) s += static_cast<char>(b[i]);
  return s;
}

void write_plain(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void write_gz(const std::string& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  REQUIRE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) == static_cast<int>(bytes.size()));
  gzclose(f);
}

// 6 images of 2 x 3 pixels with values 10·i + j, and labels 0, 1, 2, 0, 1, 2.
std::string small_images() {
  std::string s = header(0x08, {6, 2, 3});
  for (int i = 0; i < 6; ++i)
    for (int j = 0; j < 6; ++j) s += static_cast<char>(10 * i + j);
  return s;
}
std::string small_labels(std::uint32_t n = 6) {
  std::string s = header(0x08, {n});
  for (std::uint32_t i = 0; i < n; ++i) s += static_cast<char>(i % 3);
  return s;
}

}  // namespace

TEST_CASE("every IDX element type round-trips, plain and gzip") {
  struct Case {
    std::uint8_t type;
    std::string payload;
    std::vector<double> values;
  };
  const std::vector<Case> cases{
      {0x08, std::string("\x00\x7f\xff", 3), {0, 127, 255}},
      {0x09, std::string("\x00\x7f\xff", 3), {0, 127, -1}},
      {0x0B,
       big_endian<std::int16_t>(-300) + big_endian<std::int16_t>(2) + big_endian<std::int16_t>(32767),
       {-300, 2, 32767}},
      {0x0C,
       big_endian<std::int32_t>(-70000) + big_endian<std::int32_t>(5) + big_endian<std::int32_t>(1 << 30),
       {-70000, 5, 1 << 30}},
      {0x0D, big_endian<float>(1.5f) + big_endian<float>(-2.25f) + big_endian<float>(0.1f), {1.5, -2.25, double(0.1f)}},
      {0x0E, big_endian<double>(0.1) + big_endian<double>(-1e300) + big_endian<double>(3.0), {0.1, -1e300, 3.0}},
  };
  for (const Case& c : cases) {
    for (bool gz : {false, true}) {
      const std::string path = tmp_path(gz ? "t.idx.gz" : "t.idx");
      const std::string bytes = header(c.type, {3}) + c.payload;
      gz ? write_gz(path, bytes) : write_plain(path, bytes);
      const IdxArray a = read_idx(path);
      REQUIRE(a.dims == std::vector<std::size_t>{3});
      for (std::size_t i = 0; i < 3; ++i) CHECK(a.value(i) == c.values[i]);
    }
  }
  // rank 4
  const std::string r4 = header(0x08, {2, 1, 2, 2}) + std::string(8, '\x05');
  write_plain(tmp_path("r4.idx"), r4);
  const IdxArray a4 = read_idx(tmp_path("r4.idx"));
  CHECK(a4.dims.size() == 4);
  CHECK(idx_matrix(a4, {1}, false).cols() == 4);
}

TEST_CASE("a small image/label pair becomes a dataset: flattening, scaling, subsets") {
  write_gz(tmp_path("img.gz"), small_images());
  write_plain(tmp_path("lbl"), small_labels());
  IdxOptions o;
  o.n_train = 4;
  const Dataset ds = idx_classification(tmp_path("img.gz"), tmp_path("lbl"), tmp_path("img.gz"), tmp_path("lbl"), o);
  CHECK(ds.size() == 10);
  CHECK(ds.features.cols() == 6);
  CHECK(ds.features(1, 2) == doctest::Approx(12.0 / 255.0));
  CHECK(ds.num_classes == 3);
  CHECK(ds.labels[3] == 0);
  CHECK(ds.train.size() == 4);
  CHECK(ds.test.size() == 6);
  IdxOptions bal;
  bal.train_per_class = 2;
  bal.scale01 = false;
  const Dataset db = idx_classification(tmp_path("img.gz"), tmp_path("lbl"), tmp_path("img.gz"), tmp_path("lbl"), bal);
  CHECK(db.train.size() == 6);
  CHECK(db.features(0, 0) == 0.0);  // both class-0 images (0 and 3) are drawn
  IdxOptions too_many;
  too_many.train_per_class = 3;
  CHECK_THROWS_WITH_AS(
      idx_classification(tmp_path("img.gz"), tmp_path("lbl"), tmp_path("img.gz"), tmp_path("lbl"), too_many),
      "grokscope::class_balanced_indices: class 0 has 2 examples, fewer than 3", std::invalid_argument);
  write_plain(tmp_path("lbl5"), small_labels(5));
  CHECK_THROWS_WITH_AS(
      idx_classification(tmp_path("img.gz"), tmp_path("lbl5"), tmp_path("img.gz"), tmp_path("lbl"), {}),
      ("grokscope::idx_classification: " + tmp_path("img.gz") + " has 6 images but " + tmp_path("lbl5") +
       " has 5 labels")
          .c_str(),
      std::runtime_error);
}

TEST_CASE("bad IDX files give runtime_error naming the file and the problem") {
  const std::string p = tmp_path("bad.idx");
  CHECK_THROWS_WITH_AS(read_idx(tmp_path("nope.idx")),
                       ("grokscope::read_idx: " + tmp_path("nope.idx") + ": no such file").c_str(), std::runtime_error);
  write_plain(p, std::string("\x01\x00\x08\x01\x00\x00\x00\x01\x05", 9));
  CHECK_THROWS_WITH_AS(read_idx(p), doctest::Contains("not an IDX file (bad magic bytes)"), std::runtime_error);
  write_plain(p, header(0x0A, {1}) + "x");
  CHECK_THROWS_WITH_AS(read_idx(p), doctest::Contains("unsupported IDX type code 0x0a"), std::runtime_error);
  write_plain(p, header(0x08, {1, 1, 1, 1, 1}) + "x");
  CHECK_THROWS_WITH_AS(read_idx(p), doctest::Contains("unsupported rank 5 (1 to 4)"), std::runtime_error);
  write_plain(p, header(0x08, {}));
  CHECK_THROWS_WITH_AS(read_idx(p), doctest::Contains("unsupported rank 0"), std::runtime_error);
  write_plain(p, header(0x08, {4}) + "abc");
  CHECK_THROWS_WITH_AS(read_idx(p), doctest::Contains("truncated data: expected 4 bytes, got 3"), std::runtime_error);
  write_plain(p, header(0x08, {2}) + "abc");
  CHECK_THROWS_WITH_AS(read_idx(p), doctest::Contains("unexpected bytes after the data"), std::runtime_error);
  write_plain(p, header(0x08, {0xffffffffu, 0xffffffffu, 0xffffffffu}));
  CHECK_THROWS_WITH_AS(read_idx(p), doctest::Contains("dimensions too large"), std::runtime_error);
  // A zero dimension first does not switch the bound off: one example would still be 2^96 values.
  write_plain(p, header(0x08, {0, 0xffffffffu, 0xffffffffu, 0xffffffffu}));
  CHECK_THROWS_WITH_AS(read_idx(p), doctest::Contains("dimensions too large"), std::runtime_error);
  write_plain(p, header(0x08, {0, 28, 28}));
  const IdxArray empty = read_idx(p);
  CHECK(idx_matrix(empty, {}, true).cols() == 28 * 28);
  CHECK_THROWS_WITH_AS(read_idx(tmp_path("")), doctest::Contains("is a directory"), std::runtime_error);
  write_plain(p, header(0x08, {0x7fffffffu, 16}));  // 34 GB promised, none present: no huge allocation
  CHECK_THROWS_WITH_AS(read_idx(p), doctest::Contains("truncated data"), std::runtime_error);
  write_plain(p, header(0x0D, {2}) + big_endian<float>(1.0f) + big_endian<float>(2.0f));
  CHECK_THROWS_WITH_AS(idx_matrix(read_idx(p), {0}, true), doctest::Contains("scaling to [0, 1] needs uint8 data"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(idx_labels(read_idx(p)), doctest::Contains("labels must be integers"), std::runtime_error);
}

TEST_CASE("every truncation and many corruptions of plain and gzip files fail cleanly") {
  const std::string plain = small_images();
  write_gz(tmp_path("ref.gz"), plain);
  const std::string gz = test::slurp(tmp_path("ref.gz"));
  const std::string p = tmp_path("cut.idx");
  for (const std::string* full : {&plain, &gz}) {
    for (std::size_t len = 0; len < full->size(); ++len) {
      write_plain(p, full->substr(0, len));
      CHECK_THROWS_AS(read_idx(p), std::runtime_error);
    }
    int errors = 0;
    for (std::size_t pos = 0; pos < full->size(); ++pos)
      for (unsigned char v : {0x00, 0xff, 0x5a}) {
        std::string bad = *full;
        if (static_cast<unsigned char>(bad[pos]) == v) continue;
        bad[pos] = static_cast<char>(v);
        write_plain(p, bad);
        try {
          const IdxArray a = read_idx(p);
          CHECK(a.bytes.size() == a.count() * idx_type_size(a.type));  // whatever loads is consistent
        } catch (const std::runtime_error& e) {
          ++errors;
          CHECK(std::string(e.what()).find(p) != std::string::npos);
        }
      }
    CHECK(errors > 0);
  }
}

TEST_CASE("Debian's Fashion-MNIST: 60 000 x 28 x 28 training images, 6 000 per class; 10 000 test") {
  const std::string dir = fashion_mnist_dir();
  const IdxArray train_labels = read_idx(dir + "/train-labels-idx1-ubyte.gz");
  const IndexList l = idx_labels(train_labels);
  REQUIRE(l.size() == 60000);
  std::vector<Index> per(10, 0);
  for (Index v : l) {
    REQUIRE(v < 10);
    ++per[static_cast<std::size_t>(v)];
  }
  for (Index c : per) CHECK(c == 6000);
  const IdxArray train_images = read_idx(dir + "/train-images-idx3-ubyte.gz");
  CHECK(train_images.dims == std::vector<std::size_t>{60000, 28, 28});
  CHECK(train_images.type == IdxType::UInt8);
  CHECK(read_idx(dir + "/t10k-images-idx3-ubyte.gz").dims == std::vector<std::size_t>{10000, 28, 28});
  IdxOptions o;
  o.n_train = 1000;
  o.n_test = 500;
  const Dataset ds = fashion_mnist(o);
  CHECK(ds.features.rows() == 1500);
  CHECK(ds.features.cols() == 784);
  CHECK(ds.features.minCoeff() >= 0.0);
  CHECK(ds.features.maxCoeff() <= 1.0);
  CHECK(ds.features.maxCoeff() > 0.9);
  CHECK(ds.num_classes == 10);
  // a truncated copy of the real label file fails cleanly at many cut points
  const std::string full = test::slurp(dir + "/train-labels-idx1-ubyte.gz");
  const std::string p = tmp_path("fm_cut.gz");
  for (std::size_t len = 0; len < full.size(); len += 1 + full.size() / 60) {
    write_plain(p, full.substr(0, len));
    CHECK_THROWS_AS(read_idx(p), std::runtime_error);
  }
}

TEST_CASE("a corrupt label cannot make a huge allocation or a model with billions of classes") {
  Rng rng(0);
  // A label of 5·10^8 among two: no 5·10^8 class lists, a message instead.
  CHECK_THROWS_WITH_AS(class_balanced_indices({0, 500000000}, 1, rng), doctest::Contains("labels run up to 500000000"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(class_balanced_indices({0, -3}, 1, rng), doctest::Contains("negative label -3"),
                       std::invalid_argument);
  CHECK(class_balanced_indices({1, 0, 1, 0}, 2, rng).size() == 4);
  const std::string img = tmp_path("lab_img.idx"), lab = tmp_path("lab_lab.idx");
  std::string images = header(0x08, {2, 1, 1}) + std::string("\x01\x02", 2);
  write_plain(img, images);
  write_plain(lab, header(0x0C, {2}) + big_endian<std::int32_t>(0) + big_endian<std::int32_t>(2147483647));
  CHECK_THROWS_WITH_AS(idx_classification(img, lab, img, lab), doctest::Contains("label 2147483647"),
                       std::runtime_error);
  write_plain(lab, header(0x0C, {2}) + big_endian<std::int32_t>(0) + big_endian<std::int32_t>(1));
  CHECK(idx_classification(img, lab, img, lab).num_classes == 2);
}

TEST_CASE("idx_classification with malformed or empty label files: a message, nothing leaked") {
  write_gz(tmp_path("mimg.gz"), small_images());
  write_plain(tmp_path("mlbl"), small_labels());
  const std::string good = small_labels();
  // every truncation of the label file, plain and gzip, and a few corruptions, as the training
  // labels and as the test labels (LeakSanitizer checks the whole executable at exit)
  std::vector<std::string> bad;
  for (std::size_t k = 0; k < good.size(); ++k) bad.push_back(good.substr(0, k));
  std::string wrong_type = good;
  wrong_type[2] = '\x0D';  // float labels
  bad.push_back(wrong_type);
  std::string big_label = good;
  big_label.back() = '\xff';
  bad.push_back(big_label);
  bad.push_back(header(0x08, {0}));  // no labels at all
  for (std::size_t i = 0; i < bad.size(); ++i)
    for (const bool gz : {false, true}) {
      INFO("variant " << i << (gz ? " gzip" : " plain"));
      const std::string p = tmp_path(gz ? "mbad.gz" : "mbad");
      if (gz)
        write_gz(p, bad[i]);
      else
        write_plain(p, bad[i]);
      IdxOptions o;
      CHECK_THROWS(idx_classification(tmp_path("mimg.gz"), p, tmp_path("mimg.gz"), tmp_path("mlbl"), o));
      CHECK_THROWS(idx_classification(tmp_path("mimg.gz"), tmp_path("mlbl"), tmp_path("mimg.gz"), p, o));
      o.train_per_class = 1;
      CHECK_THROWS(idx_classification(tmp_path("mimg.gz"), p, tmp_path("mimg.gz"), tmp_path("mlbl"), o));
    }
}
