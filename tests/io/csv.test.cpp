#include <grokscope/io/csv.hpp>

#include "../test_util.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <fstream>

using namespace grokscope;

TEST_CASE("parse_csv: header, quoting, CRLF, blank trailing lines") {
  const CsvTable t = parse_csv("step, train_acc,note\r\n0,0.5,\"a, b\"\r\n10,1,\"say \"\"hi\"\"\"\r\n\r\n", "log.csv");
  REQUIRE(t.header == std::vector<std::string>{"step", "train_acc", "note"});
  REQUIRE(t.rows.size() == 2);
  CHECK(t.rows[0][2] == "a, b");
  CHECK(t.rows[1][2] == "say \"hi\"");
  CHECK(t.numeric("step") == std::vector<double>{0, 10});
  Index bad = -1;
  const auto note = t.numeric("note", &bad);
  CHECK(bad == 2);
  CHECK(std::isnan(note[0]));
}

TEST_CASE("numeric columns: empty cells and nan are NaN, inf is Inf") {
  const CsvTable t = parse_csv("a\n1.5\n\nnan\ninf\n-2e3\n", "x.csv");
  const auto a = t.numeric("a");
  REQUIRE(a.size() == 4);  // the blank line is skipped
  CHECK(a[0] == 1.5);
  CHECK(std::isnan(a[1]));
  CHECK(std::isinf(a[2]));
  CHECK(a[3] == -2000);
  const CsvTable e = parse_csv("a,b\n1,\n", "y.csv");
  CHECK(std::isnan(e.numeric("b")[0]));
}

TEST_CASE("bad CSV gives runtime_error naming the file and the problem") {
  CHECK_THROWS_WITH_AS(parse_csv("a,b\n1,2,3\n", "bad.csv"),
                       "grokscope::read_csv: bad.csv: line 2 has 3 fields but the header has 2", std::runtime_error);
  CHECK_THROWS_WITH_AS(parse_csv("", "empty.csv"), "grokscope::read_csv: empty.csv: empty file (no header row)",
                       std::runtime_error);
  CHECK_THROWS_WITH_AS(parse_csv("a\n\"open\n", "q.csv"),
                       "grokscope::read_csv: q.csv: unterminated quoted field starting on line 2", std::runtime_error);
  CHECK_THROWS_WITH_AS(parse_csv(std::string("a\n\0\x01", 4), "bin.csv"),
                       "grokscope::read_csv: bin.csv: not a CSV file (contains NUL bytes)", std::runtime_error);
  const CsvTable t = parse_csv("a,b\n1,2\n", "c.csv");
  CHECK_THROWS_WITH_AS(t.column("c"), "grokscope::CsvTable: c.csv: no column 'c' (columns: a, b)", std::runtime_error);
  const std::string missing = test::tmp_path("missing.csv");
  CHECK_THROWS_WITH_AS(read_csv(missing), ("grokscope::read_csv: " + missing + ": no such file").c_str(),
                       std::runtime_error);
}

TEST_CASE("read_csv reads a file; format_number round-trips; csv_field quotes") {
  const std::string p = test::tmp_path("log.csv");
  {
    std::ofstream out(p);
    out << "step,test_acc\n0,0.01\n1000,0.99\n";
  }
  const CsvTable t = read_csv(p);
  CHECK(t.numeric("test_acc")[1] == 0.99);
  for (double v : {0.1, 1.0 / 3.0, 1e-300, 123456789.0, -2.5, 6.02e23})
    CHECK(std::strtod(format_number(v).c_str(), nullptr) == v);
  CHECK(format_number(3.0) == "3");
  CHECK(format_number(0.1) == "0.1");
  CHECK(format_number(std::nan("")) == "nan");
  CHECK(csv_field("a,b") == "\"a,b\"");
  CHECK(csv_field("plain") == "plain");
}

TEST_CASE("hostile inputs: a directory, a device, binary data, an endless stream, a byte-order mark") {
  const std::string dir = test::tmp_path("");
  CHECK_THROWS_WITH_AS(read_csv(dir), doctest::Contains(": is a directory, not a file"), std::runtime_error);
  // /dev/zero never ends: refused at its first chunk, not read until memory runs out.
  CHECK_THROWS_WITH_AS(read_csv("/dev/zero"),
                       "grokscope::read_csv: /dev/zero: not a CSV file (contains NUL bytes near byte 0)",
                       std::runtime_error);
  const std::string p = test::tmp_path("big.csv");
  {
    std::ofstream out(p);
    out << "a\n";
    for (int i = 0; i < 100000; ++i) out << i << "\n";
  }
  CHECK(read_csv(p).rows.size() == 100000);
  CHECK_THROWS_WITH_AS(read_csv(p, ',', 4096), doctest::Contains("larger than the limit of 4096 bytes"),
                       std::runtime_error);
  const CsvTable bom = parse_csv("\xEF\xBB\xBFstep,loss\n1,2\n", "bom.csv");
  CHECK(bom.header == std::vector<std::string>{"step", "loss"});
  CHECK(bom.numeric("step")[0] == 1);
}

TEST_CASE("a comma-decimal locale in the host program changes nothing") {
  const std::string p = test::tmp_path("locale.csv");
  {
    std::ofstream out(p);
    out << "step,loss\n0,0.5\n1000,1.25e-3\n";
  }
  test::CommaLocale comma;
  const CsvTable t = read_csv(p);
  CHECK(t.numeric("loss") == std::vector<double>{0.5, 1.25e-3});
  CHECK(format_number(0.5) == "0.5");
  CHECK(format_number(1234567) == "1234567");
}
