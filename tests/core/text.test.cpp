#include <grokscope/core/text.hpp>

#include "../test_util.hpp"

#include <doctest/doctest.h>

#include <clocale>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>

using namespace grokscope;

using grokscope::test::CommaLocale;

TEST_CASE("format_number: shortest round-trip text, whole numbers without a point") {
  CHECK(format_number(0.5) == "0.5");
  CHECK(format_number(0.1 + 0.2) == "0.30000000000000004");
  CHECK(format_number(1e-5) == "1e-05");
  CHECK(format_number(1234567) == "1234567");
  CHECK(format_number(-3) == "-3");
  CHECK(format_number(1e15) == "1e+15");
  CHECK(format_number(std::numeric_limits<double>::quiet_NaN()) == "nan");
  CHECK(format_number(-std::numeric_limits<double>::infinity()) == "-inf");
  for (double v : {0.1, 2.0 / 3.0, 1e-300, 5e-324, 1.7976931348623157e308, -123.456e7}) {
    double back = 0;
    REQUIRE(parse_number(format_number(v), back));
    CHECK(back == v);
  }
  CHECK(format_integer(-1234567) == "-1234567");
}

TEST_CASE("parse_number: the whole text, '.' decimal point, strtod's treatment of range") {
  double v = 7;
  CHECK((parse_number(" 1.5\t", v) && v == 1.5));
  CHECK((parse_number("+2e3", v) && v == 2000));
  CHECK((parse_number("-.5", v) && v == -0.5));
  CHECK((parse_number("inf", v) && std::isinf(v) && v > 0));
  CHECK((parse_number("-Infinity", v) && std::isinf(v) && v < 0));
  CHECK((parse_number("NaN", v) && std::isnan(v)));
  CHECK((parse_number("1e400", v) && std::isinf(v) && v > 0));
  CHECK((parse_number("-1e400", v) && std::isinf(v) && v < 0));
  CHECK((parse_number("1e-400", v) && v == 0 && !std::signbit(v)));
  CHECK((parse_number("-0.0001e-400", v) && v == 0 && std::signbit(v)));
  CHECK((parse_number("12345678901234567890e-420", v) && v == 0));  // 1.2e-401
  CHECK((parse_number("0.000001e310", v) && v == 1e304));
  CHECK((parse_number("0.000001e315", v) && std::isinf(v)));  // 1e309
  v = 7;
  for (const char* bad : {"", " ", "1,5", "1.5x", "0x10", "+-1", "--1", "1e", "e5", "1 2", "abc"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_number(bad, v));
    CHECK(v == 7);
  }
}

TEST_CASE("numbers are read and written the same way in a comma-decimal locale") {
  const std::string before_text = format_number(0.5);
  double before = 0;
  REQUIRE(parse_number("1234.25", before));
  {
    CommaLocale comma;
    CHECK(format_number(0.5) == before_text);
    CHECK(format_number(1234567) == "1234567");  // no digit grouping
    double v = 0;
    CHECK((parse_number("1234.25", v) && v == before));
    CHECK_FALSE(parse_number("1234,25", v));
  }
  CHECK(std::localeconv()->decimal_point == std::string("."));
}

TEST_CASE("excerpt: bounded, printable, quoted") {
  CHECK(detail::excerpt("abc") == "\"abc\"");
  CHECK(detail::excerpt(std::string("a\0\x01\xff\"\\", 6)) == "\"a\\x00\\x01\\xff\\\"\\\\\"");
  const std::string big(1 << 20, 'x');
  const std::string e = detail::excerpt(big, 10);
  CHECK(e == "\"xxxxxxxxxx\"... (1048576 bytes)");
}
