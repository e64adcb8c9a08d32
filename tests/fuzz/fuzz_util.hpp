// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// Shared by the fuzz harnesses: a scratch file per process, and the rule for exceptions.
//
// A reader may refuse its input only with std::runtime_error or std::invalid_argument (the
// documented errors, naming the problem). Anything else escapes the harness: a crash, a
// sanitizer report, std::logic_error (a broken invariant), a bare library exception
// (nlohmann::json's type_error, std::out_of_range) or std::bad_alloc from an allocation the
// input should not have been able to ask for.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include <unistd.h>

namespace grokscope::fuzz {

/// A path in a RAM-backed scratch folder, private to this process.
inline std::string scratch(const std::string& name) {
  static const std::string dir = [] {
    const char* shm = "/dev/shm";
    std::string base = std::filesystem::is_directory(shm) ? shm : std::filesystem::temp_directory_path().string();
    std::string d = base + "/grokscope-fuzz-" + std::to_string(::getpid());
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir + "/" + name;
}

inline void write_file(const std::string& path, const std::uint8_t* data, std::size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
}

/// Runs f; the documented refusals are fine, everything else propagates.
template <typename F>
void expect_clean(F&& f) {
  try {
    f();
  } catch (const std::invalid_argument&) {
  } catch (const std::runtime_error&) {
  }
}

}  // namespace grokscope::fuzz
