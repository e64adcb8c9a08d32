// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// grokscope-cka: CKA between activation dumps from any framework (.npy, rows = examples,
// float16, float32 or float64, rank 2 or higher flattened per example). Two files: one JSON
// object. More files: the symmetric matrix of every pair as JSON, and with --csv as a CSV table.
// Exit 2 with a one-line message when a file cannot be used or anything else fails (out of memory
// included): never an uncaught exception.

#include <grokscope/core/text.hpp>
#include <grokscope/io/csv.hpp>
#include <grokscope/io/npy.hpp>
#include <grokscope/measure/cka.hpp>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>
#include <new>
#include <string>
#include <vector>

namespace {

int fail(const std::string& msg) {
  std::cerr << "grokscope-cka: " << msg << "\n";
  return 2;
}

int run(int argc, char** argv) {
  using namespace grokscope;
  CLI::App app{"Centered kernel alignment between two activation dumps (.npy, rows = examples)", "grokscope-cka"};
  std::vector<std::string> files;
  std::string kind = "linear", csv_path;
  double threshold = 0.5;
  app.add_option("files", files,
                 ".npy files with the same number of rows (two: one CKA; more: the matrix of every pair)")
      ->required()
      ->expected(2, -1);
  app.add_option("--kind", kind, "linear, rbf or debiased")
      ->check(CLI::IsMember({"linear", "rbf", "debiased"}))
      ->capture_default_str();
  app.add_option("--threshold", threshold, "RBF bandwidth as a fraction of the median distance")->capture_default_str();
  app.add_option("--csv", csv_path, "also write the matrix as CSV (a header row of file names)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return fail(e.what());
  }
  try {
    auto load = [](const std::string& p) {
      const NpyHeader h = read_npy_header(p);
      if (h.dtype != NpyDtype::Float32 && h.dtype != NpyDtype::Float64 && h.dtype != NpyDtype::Float16)
        throw std::runtime_error(p + ": holds " + npy_dtype_name(h.dtype) +
                                 ", expected float16, float32 or float64 activations");
      if (h.shape.size() < 2) throw std::runtime_error(p + ": expected rows = examples and at least one feature axis");
      return load_npy_flat<double>(p);
    };
    const CkaKind k = kind == "rbf" ? CkaKind::Rbf : kind == "debiased" ? CkaKind::DebiasedLinear : CkaKind::Linear;
    std::vector<Eigen::MatrixXd> reps;
    for (std::size_t i = 0; i < files.size(); ++i) {
      reps.push_back(load(files[i]));
      const std::string name = files.size() == 2 ? (i == 0 ? "A" : "B") : files[i];
      require_finite("grokscope-cka", name.c_str(), reps.back());
      if (i > 0 && reps[i].rows() != reps[0].rows())
        throw std::runtime_error(std::string(files.size() == 2 ? "X" : files[0]) + " has " +
                                 std::to_string(reps[0].rows()) + " rows but " + (files.size() == 2 ? "Y" : files[i]) +
                                 " has " + std::to_string(reps[i].rows()));
    }
    if (files.size() == 2) {
      const CkaResult r = cka(reps[0], reps[1], k, threshold);
      nlohmann::ordered_json j = {{"cka", r.value},
                                  {"kind", kind},
                                  {"n", r.n},
                                  {"method", r.method == CkaMethod::Feature ? "feature" : "gram"},
                                  {"defined", r.defined}};
      if (!r.note.empty()) j["note"] = r.note;
      if (!csv_path.empty()) throw std::runtime_error("--csv needs three or more files (the matrix of every pair)");
      std::cout << j.dump() << "\n";
      return 0;
    }
    const std::size_t m = files.size();
    std::vector<std::vector<double>> M(m, std::vector<double>(m, 1.0));
    std::vector<std::vector<bool>> defined(m, std::vector<bool>(m, true));
    nlohmann::ordered_json notes = nlohmann::ordered_json::array();
    // the diagonal is 1 by definition (0 with defined false for a constant representation)
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = i; j < m; ++j) {
        CkaResult r = cka(reps[i], reps[j], k, threshold);
        if (i == j) r.value = r.defined ? 1.0 : 0.0;
        M[i][j] = M[j][i] = r.value;
        defined[i][j] = defined[j][i] = r.defined;
        if (!r.note.empty()) notes.push_back(files[i] + " / " + files[j] + ": " + r.note);
      }
    nlohmann::ordered_json j = {{"kind", kind}, {"n", reps[0].rows()}, {"files", files},
                                {"cka", M},     {"defined", defined},  {"notes", notes}};
    if (!csv_path.empty()) {
      std::ofstream out(csv_path);
      if (!out) throw std::runtime_error(csv_path + ": cannot write");
      out << "file";
      for (const std::string& f : files) out << "," << csv_field(f);
      out << "\n";
      for (std::size_t i = 0; i < m; ++i) {
        out << csv_field(files[i]);
        for (std::size_t c = 0; c < m; ++c) out << "," << format_number(M[i][c]);
        out << "\n";
      }
      if (!out) throw std::runtime_error(csv_path + ": write error");
    }
    std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 0;
  } catch (const std::bad_alloc&) {
    return fail("out of memory");
  } catch (const std::exception& e) {
    std::string msg = e.what();
    if (msg.rfind("grokscope::", 0) == 0) msg = msg.substr(msg.find(": ") + 2);
    return fail(msg);
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::bad_alloc&) {
    return fail("out of memory");
  } catch (const std::exception& e) {
    return fail(e.what());
  } catch (...) {
    return fail("unknown error");
  }
}
