// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// grokscope-detect: t_mem, t_grok, gap, sigmoid sharpness and a verdict from CSV training logs
// written by any framework. One file: one JSON report on stdout. Several files (seeds of one
// configuration): {"runs": [...], "aggregate": {...}}. Exit 0 whenever the analysis ran,
// 2 with a one-line message on stderr when a file or column cannot be used, or on any other
// failure (out of memory included): never an uncaught exception.

#include <grokscope/detect/grokking.hpp>
#include <grokscope/detect/slingshot.hpp>
#include <grokscope/io/csv.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <limits>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

[[noreturn]] void fail(const std::string& msg) {
  std::cerr << "grokscope-detect: " << msg << "\n";
  std::exit(2);
}

// The field separator of `path`: as given, or from its header line (the first 64 KiB are looked at:
// tab or ';' when the line has one of them and no comma, else ',').
char separator(const std::string& path, const std::string& sep) {
  if (sep == "tab" || sep == "\t") return '\t';
  if (sep != "auto") return sep[0];
  std::ifstream in(path, std::ios::binary);
  std::string head(65536, '\0');
  in.read(&head[0], static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(std::max<std::streamsize>(in.gcount(), 0)));
  head = head.substr(0, head.find('\n'));
  if (head.find(',') != std::string::npos) return ',';
  if (head.find('\t') != std::string::npos) return '\t';
  if (head.find(';') != std::string::npos) return ';';
  return ',';
}

// Accuracies logged in percent (0–100) become fractions: with `mode` auto when a finite value
// exceeds 1, always with yes. Values above 100, or above 1 with --percent no, are an error.
void percent_to_fraction(std::vector<double>& v, const std::string& column, const std::string& mode,
                         const std::string& file, std::vector<std::string>& notes) {
  double hi = -std::numeric_limits<double>::infinity();
  for (double x : v)
    if (std::isfinite(x)) hi = std::max(hi, x);
  if (!std::isfinite(hi) || mode == "no" || (mode == "auto" && hi <= 1)) {
    if (std::isfinite(hi) && hi > 1)
      fail(file + ": column '" + column + "' reaches " + std::to_string(hi) +
           ", not an accuracy in [0, 1] (--percent no was given)");
    return;
  }
  if (hi > 100)
    fail(file + ": column '" + column + "' reaches " + std::to_string(hi) +
         ", which is neither a fraction nor a percentage");
  for (double& x : v) x /= 100;
  notes.push_back("column '" + column + "' read as percent (largest value " + std::to_string(hi) +
                  ") and divided by 100" + (mode == "auto" ? "; --percent no turns this off" : ""));
}

}  // namespace

int run(int argc, char** argv) {
  using namespace grokscope;
  CLI::App app{"Detect grokking in CSV training logs (header row; one row per logged step)", "grokscope-detect"};
  std::vector<std::string> files;
  std::string step_col = "step", train_col, test_col, metric = "acc";
  std::optional<double> threshold;
  bool relative = false, log_x = false, no_fit = false, slingshot = false;
  std::string loss_col = "train_loss", norm_col = "last_layer_norm", sep = "auto", percent = "auto";
  DetectOptions opt;
  app.add_option("files", files, "CSV log files (several files = seeds of one configuration)")->required();
  app.add_option("--step", step_col, "column holding the step or epoch")->capture_default_str();
  app.add_option("--train", train_col, "train column (default train_acc, or train_loss with --metric loss)");
  app.add_option("--test", test_col, "test column (default test_acc, or test_loss with --metric loss)");
  app.add_option("--metric", metric, "acc: reached when >= threshold; loss: reached when <= threshold")
      ->check(CLI::IsMember({"acc", "loss"}))
      ->capture_default_str();
  app.add_option("--threshold", threshold,
                 "acc: default 0.9; loss: an absolute loss (default: 0.1 of each curve's first loss)");
  app.add_option("--test-threshold", opt.test_threshold,
                 "the test curve's own threshold (same units; default: --threshold), e.g. for image data whose "
                 "test accuracy tops out below the memorisation level");
  app.add_flag("--relative", relative, "loss: the threshold is a fraction of each curve's first loss");
  app.add_option("--patience", opt.patience, "consecutive records that must reach the threshold")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--min-delay-ratio", opt.min_delay_ratio, "grokked needs t_grok >= ratio * t_mem")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--min-delay-steps", opt.min_delay_steps, "grokked needs t_grok - t_mem >= this")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--partial-fraction", opt.partial_fraction,
                 "partial: share of the way from the first test value to the threshold")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_flag("--log-x", log_x, "fit the sigmoid and slopes against log10(step)");
  app.add_flag("--no-fit", no_fit, "skip the sigmoid fit");
  app.add_flag("--slingshot", slingshot,
               "also detect slingshot cycles (Thilak et al. 2022): training-loss spikes after fitting, "
               "preceded by fast growth of the last layer's norm");
  app.add_option("--loss-column", loss_col, "--slingshot: the training-loss column")->capture_default_str();
  app.add_option("--norm-column", norm_col, "--slingshot: the last-layer norm column (stability_probe's)")
      ->capture_default_str();
  app.add_option("--sep", sep,
                 "field separator: auto (from the header line: tab or ';' when it has no comma), ',', ';' or tab")
      ->check(CLI::IsMember({"auto", ",", ";", "tab", "\t"}))
      ->capture_default_str();
  app.add_option("--percent", percent,
                 "--metric acc: auto (a column whose values exceed 1 is read as percent and divided by 100, "
                 "with a note), yes or no")
      ->check(CLI::IsMember({"auto", "yes", "no"}))
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fail(e.what());
  }

  opt.metric = metric == "loss" ? GrokMetric::Loss : GrokMetric::Accuracy;
  opt.log_x = log_x;
  opt.fit_sigmoid = !no_fit;
  if (opt.metric == GrokMetric::Loss) {
    opt.loss_relative = relative || !threshold;
    opt.threshold = threshold.value_or(0.1);
  } else {
    if (relative) fail("--relative applies to --metric loss only");
    opt.threshold = threshold.value_or(0.9);
  }
  if (train_col.empty()) train_col = opt.metric == GrokMetric::Loss ? "train_loss" : "train_acc";
  if (test_col.empty()) test_col = opt.metric == GrokMetric::Loss ? "test_loss" : "test_acc";

  std::vector<GrokReport> reports;
  nlohmann::ordered_json runs = nlohmann::ordered_json::array();
  for (const std::string& f : files) {
    GrokReport rep;
    nlohmann::ordered_json sling;
    try {
      const CsvTable t = read_csv(f, separator(f, sep));
      std::vector<double> s = t.numeric(step_col), tr = t.numeric(train_col), te = t.numeric(test_col);
      std::vector<std::string> input_notes;
      if (opt.metric == GrokMetric::Accuracy) {
        percent_to_fraction(tr, train_col, percent, f, input_notes);
        percent_to_fraction(te, test_col, percent, f, input_notes);
      }
      std::size_t numeric_rows = 0;
      for (std::size_t i = 0; i < s.size(); ++i)
        if (std::isfinite(s[i]) && (std::isfinite(tr[i]) || std::isfinite(te[i]))) ++numeric_rows;
      if (numeric_rows == 0)
        fail(f + ": no numeric rows in columns '" + step_col + "', '" + train_col + "', '" + test_col + "'");
      rep = detect_grokking(s, tr, te, opt);
      rep.notes.insert(rep.notes.begin(), input_notes.begin(), input_notes.end());
      if (slingshot) sling = to_json(detect_slingshots(s, t.numeric(loss_col), t.numeric(norm_col)));
    } catch (const std::runtime_error& e) {
      std::string msg = e.what();
      const std::string prefix = "grokscope::";
      if (msg.rfind(prefix, 0) == 0) msg = msg.substr(msg.find(": ") + 2);
      fail(msg);
    } catch (const std::invalid_argument& e) {
      fail(std::string(e.what()) + " (in " + f + ")");
    }
    nlohmann::ordered_json j = to_json(rep);
    if (slingshot) j["slingshot"] = sling;
    if (files.size() > 1) j["file"] = f;
    runs.push_back(j);
    reports.push_back(rep);
  }
  nlohmann::ordered_json out;
  if (files.size() == 1) {
    out = runs[0];
  } else {
    out["runs"] = runs;
    out["aggregate"] = to_json(aggregate_reports(reports));
  }
  out["options"] = {
      {"metric", metric},
      {"threshold", opt.threshold},
      {"test_threshold", opt.test_threshold ? nlohmann::json(*opt.test_threshold) : nlohmann::json(nullptr)},
      {"relative", opt.loss_relative},
      {"patience", opt.patience},
      {"min_delay_ratio", opt.min_delay_ratio},
      {"min_delay_steps", opt.min_delay_steps},
      {"log_x", opt.log_x},
      {"percent", percent},
      {"columns", {step_col, train_col, test_col}}};
  // (a file name that is not UTF-8 is written with U+FFFD instead of stopping the report)
  std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  return 0;
}

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::bad_alloc&) {
    fail("out of memory");
  } catch (const std::exception& e) {
    fail(e.what());
  } catch (...) {
    fail("unknown error");
  }
}
