#include <grokscope/core/file.hpp>

#include "../test_util.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <string>

using namespace grokscope;

TEST_CASE("check_input_path names the path and what is wrong with it") {
  const std::string file = test::tmp_path("file_test.txt");
  std::ofstream(file) << "x";
  CHECK_NOTHROW(detail::check_input_path("f", file));
  CHECK(detail::open_input("f", file).get() == 'x');
  const std::string missing = test::tmp_path("no_such_file.txt");
  CHECK_THROWS_WITH_AS(detail::check_input_path("reader", missing),
                       ("grokscope::reader: " + missing + ": no such file").c_str(), std::runtime_error);
  const std::string dir = test::tmp_path("");
  CHECK_THROWS_WITH_AS(detail::check_input_path("reader", dir),
                       ("grokscope::reader: " + dir + ": is a directory, not a file").c_str(), std::runtime_error);
  CHECK_THROWS_WITH_AS(detail::check_input_path("reader", "/dev/null"),
                       doctest::Contains("/dev/null: is a pipe or device, not a regular file"), std::runtime_error);
  CHECK_NOTHROW(detail::check_input_path("reader", "/dev/null", true));
  CHECK_THROWS_WITH_AS(detail::check_input_path("reader", ""), "grokscope::reader: empty file name",
                       std::runtime_error);
}
