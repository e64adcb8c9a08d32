// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// grokscope-cka: CKA between two activation dumps from any framework (.npy, rows = examples,
// float32 or float64, rank 2 or higher flattened per example). Prints one JSON object; exit 2
// with a one-line message when a file cannot be used or anything else fails (out of memory
// included): never an uncaught exception.

#include <grokscope/io/npy.hpp>
#include <grokscope/measure/cka.hpp>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <iostream>
#include <new>
#include <string>

namespace {

int fail(const std::string& msg) {
  std::cerr << "grokscope-cka: " << msg << "\n";
  return 2;
}

int run(int argc, char** argv) {
  using namespace grokscope;
  CLI::App app{"Centered kernel alignment between two activation dumps (.npy, rows = examples)", "grokscope-cka"};
  std::string a_path, b_path, kind = "linear";
  double threshold = 0.5;
  app.add_option("A", a_path, "first .npy file")->required();
  app.add_option("B", b_path, "second .npy file")->required();
  app.add_option("--kind", kind, "linear, rbf or debiased")
      ->check(CLI::IsMember({"linear", "rbf", "debiased"}))
      ->capture_default_str();
  app.add_option("--threshold", threshold, "RBF bandwidth as a fraction of the median distance")->capture_default_str();
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
      if (h.dtype != NpyDtype::Float32 && h.dtype != NpyDtype::Float64)
        throw std::runtime_error(p + ": holds " + npy_dtype_name(h.dtype) +
                                 ", expected float32 or float64 activations");
      if (h.shape.size() < 2) throw std::runtime_error(p + ": expected rows = examples and at least one feature axis");
      return load_npy_flat<double>(p);
    };
    const Eigen::MatrixXd A = load(a_path), B = load(b_path);
    require_finite("grokscope-cka", "A", A);
    require_finite("grokscope-cka", "B", B);
    const CkaKind k = kind == "rbf" ? CkaKind::Rbf : kind == "debiased" ? CkaKind::DebiasedLinear : CkaKind::Linear;
    const CkaResult r = cka(A, B, k, threshold);
    nlohmann::ordered_json j = {{"cka", r.value},
                                {"kind", kind},
                                {"n", r.n},
                                {"method", r.method == CkaMethod::Feature ? "feature" : "gram"},
                                {"defined", r.defined}};
    if (!r.note.empty()) j["note"] = r.note;
    std::cout << j.dump() << "\n";
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
