// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
// grokscope-run: runs an experiment described as JSON — task, split, model, loss, optimiser and
// filters, schedule, training settings, probes, detector settings, seeds and sweep axes — without
// writing C++. One seed and no sweep: a standard run folder (history.csv, summary.json, ...,
// history.png). Several seeds or sweep axes: run_sweep's folder (points/<id>/..., results.csv,
// results.json), resumable. --print-config prints the resolved configuration with every default.
// Every key is checked: an unknown key or a value out of its set names the key and the allowed
// values. Exit 0 when every run finished, 1 when a run diverged or failed, 2 on a bad config.
// Built with MPI, a sweep launched under mpirun spreads its points over the ranks (run_sweep_mpi).

#include <grokscope/data/groups.hpp>
#include <grokscope/data/idx.hpp>
#include <grokscope/data/modular.hpp>
#include <grokscope/data/parity.hpp>
#include <grokscope/data/regression.hpp>
#include <grokscope/detect/grokking.hpp>
#include <grokscope/nn/mlp.hpp>
#include <grokscope/nn/transformer.hpp>
#include <grokscope/optim/adam.hpp>
#include <grokscope/optim/grokfast.hpp>
#include <grokscope/optim/schedule.hpp>
#include <grokscope/optim/sgd.hpp>
#include <grokscope/train/probes.hpp>
#include <grokscope/train/sweep.hpp>
#include <grokscope/train/trainer.hpp>

#include "experiment.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <new>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#if defined(__linux__)
#include <unistd.h>
#endif
#ifdef GROKSCOPE_WITH_MPI
#include <grokscope/train/sweep_mpi.hpp>
#endif

namespace {

using namespace grokscope;
using namespace grokscope::experiment;

std::string plotter() {
#if defined(__linux__)
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n > 0) {
    buf[n] = '\0';
    const std::filesystem::path installed = std::filesystem::path(buf).parent_path() / "grokscope-plot";
    if (std::filesystem::exists(installed)) return installed.string();
  }
#endif
  return std::string(GROKSCOPE_SOURCE_DIR) + "/tools/plot_history.py";
}

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

void plot(const std::string& dir) {
  const std::string cmd = "/usr/bin/python3 " + quote(plotter()) + " " + quote(dir) + " > /dev/null 2>&1";
  if (std::system(cmd.c_str()) == 0)
    std::printf("wrote %s/history.png\n", dir.c_str());
  else
    std::printf("no plot: /usr/bin/python3 with matplotlib is needed for grokscope-plot\n");
}

std::string show(const std::optional<double>& v) { return v ? format_number(*v) : "never"; }

// The most runs (points × seeds) one configuration may ask for: a million runs of the smallest
// model take days; a larger number is a typo (10¹² seeds would be materialised before anything ran).
constexpr std::uint64_t kMaxPoints = 1000000;

// What a sweep's points share: the configuration without its sweep axes, seeds and output folder,
// as 16 hex digits of FNV-1a over its JSON text (keys in the order given).
std::string config_fingerprint(json cfg) {
  for (const char* k : {"sweep", "seeds", "out"}) cfg.erase(k);
  std::uint64_t h = 1469598103934665603ULL;
  for (const unsigned char c : cfg.dump()) h = (h ^ c) * 1099511628211ULL;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

int run(int argc, char** argv) {
  CLI::App app{"Run a grokking experiment described as JSON", "grokscope-run"};
  std::string config_path, out;
  bool print_config = false, no_plot = false, force = false;
  Index workers = 1;
  std::vector<std::string> sets;
  app.add_option("config", config_path, "the experiment's JSON file (examples/configs/*.json)")->required();
  app.add_option("--out", out, "output folder (default: the config's \"out\", else runs/<file name>)");
  app.add_option("--workers", workers, "sweep points run at once")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--set", sets,
                 "override a value: PATH=JSON, e.g. --set train.steps=500 --set model.preset='\"gromov\"' "
                 "(a bare word is taken as a string: --set optimizer.kind=sgd)");
  app.add_flag("--print-config", print_config, "print the resolved configuration with every default and stop");
  app.add_flag("--no-plot", no_plot, "do not draw history.png");
  app.add_flag("--force", force,
               "replace the run already in the output folder (a sweep: redo the points a different "
               "configuration wrote)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "grokscope-run: %s\n", e.what());
    return 2;
  }
  bool root = true;
#ifdef GROKSCOPE_WITH_MPI
  std::unique_ptr<MpiSession> mpi;
  if (mpi_launched()) {
    mpi = std::make_unique<MpiSession>(argc, argv);
    root = mpi->root();
  }
#endif
  json cfg;
  {
    std::error_code ec;
    if (std::filesystem::is_directory(config_path, ec)) throw ConfigError(config_path + ": is a directory, not a file");
    std::ifstream in(config_path, std::ios::binary);
    if (!in) throw ConfigError(config_path + ": cannot open");
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    cfg = parse_config(text, config_path);
  }
  if (!cfg.is_object()) throw ConfigError(config_path + ": the configuration must be a JSON object");
  for (const std::string& kv : sets) {
    const std::size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) throw ConfigError("--set " + kv + ": expected PATH=VALUE");
    const std::string text = kv.substr(eq + 1);
    json v;
    try {
      v = parse_config(text, "--set " + kv.substr(0, eq));
    } catch (const ConfigError& e) {
      if (std::string(e.what()).find("not valid JSON") == std::string::npos) throw;
      v = text;  // a bare word
    }
    cfg = with_axis(cfg, kv.substr(0, eq), v);
  }
  // seeds and sweep axes
  std::vector<std::uint64_t> seeds{0};
  if (cfg.contains("seeds")) {
    const json& s = cfg["seeds"];
    seeds.clear();
    if (s.is_number_unsigned() && s.get<std::uint64_t>() > kMaxPoints)
      throw ConfigError("config: seeds: " + s.dump() + " seeds is more than the " + std::to_string(kMaxPoints) +
                        " runs a configuration may ask for");
    if (s.is_number_unsigned())
      for (std::uint64_t i = 0; i < s.get<std::uint64_t>(); ++i) seeds.push_back(i);
    else if (s.is_array())
      for (const json& v : s) {
        if (!v.is_number_unsigned())
          throw ConfigError("config: seeds: must be a count or a list of non-negative integers");
        seeds.push_back(v.get<std::uint64_t>());
      }
    if (seeds.empty())
      throw ConfigError("config: seeds: must be a count >= 1 or a non-empty list of non-negative integers");
  }
  std::vector<std::pair<std::string, std::vector<json>>> axes;
  if (cfg.contains("sweep")) {
    const json& sw = cfg["sweep"];
    if (!sw.is_object() || sw.empty())
      throw ConfigError(
          "config: sweep: must map dotted config paths to lists of values, e.g. "
          "{\"optimizer.weight_decay\": [0, 0.1, 1]}");
    for (auto it = sw.begin(); it != sw.end(); ++it) {
      if (!it.value().is_array() || it.value().empty())
        throw ConfigError("config: sweep." + it.key() + ": must be a non-empty list of values");
      axes.push_back({it.key(), std::vector<json>(it.value().begin(), it.value().end())});
    }
  }
  {  // the grid's size, before any of it is made
    double points = static_cast<double>(seeds.size());
    std::string shape = std::to_string(seeds.size()) + " seeds";
    for (const auto& [name, values] : axes) {
      points *= static_cast<double>(values.size());
      shape += " × " + std::to_string(values.size()) + " (" + name + ")";
    }
    if (points > static_cast<double>(kMaxPoints))
      throw ConfigError("config: the sweep has " + format_number(points) + " runs (" + shape + "), more than the " +
                        std::to_string(kMaxPoints) + " a configuration may ask for");
  }
  if (out.empty())
    out = cfg.contains("out") && cfg["out"].is_string() ? cfg["out"].get<std::string>()
                                                        : "runs/" + std::filesystem::path(config_path).stem().string();
  // validate every point before running any
  const auto point_config = [&](const nlohmann::ordered_json& params) {
    json c = cfg;
    for (auto it = params.begin(); it != params.end(); ++it) c = with_axis(c, it.key(), it.value());
    return c;
  };
  {
    std::vector<json> points{json::object()};
    for (const auto& [name, values] : axes) {
      std::vector<json> next;
      for (const json& p : points)
        for (const json& v : values) {
          json q = p;
          q[name] = v;
          next.push_back(q);
        }
      points = next;
    }
    for (const json& p : points) {
      const Experiment e = resolve(point_config(p), seeds.front());
      if (print_config && root) {
        json r = e.resolved;
        r["seeds"] = seeds;
        if (!axes.empty()) r["point"] = p;
        r["out"] = out;
        std::cout << r.dump(2) << "\n";
      }
    }
  }
  if (print_config) return 0;

  if (axes.empty() && seeds.size() == 1) {
    if (!root) return 0;  // one run under mpirun: rank 0 does it
    for (const char* f : {"summary.json", "history.csv"}) {
      std::error_code ec;
      if (!force && std::filesystem::exists(std::filesystem::path(out) / f, ec))
        throw ConfigError(out + " already holds a run (" + f +
                          "): pass --force to replace it, or --out another folder");
    }
    const TrainResult r = run_one(cfg, seeds[0], out);
    std::printf("status %s after %ld steps in %.1f s: train acc %.3f, test acc %.3f\n", train_status_name(r.status),
                static_cast<long>(r.steps_done), r.seconds, r.history.last("train_acc"), r.history.last("test_acc"));
    if (r.report)
      std::printf("t_mem %s, t_grok %s, verdict %s\n", show(r.report->t_mem).c_str(), show(r.report->t_grok).c_str(),
                  verdict_name(r.report->verdict));
    std::printf("wrote %s/history.csv, history.jsonl, summary.json, train_idx.npy, test_idx.npy\n", out.c_str());
    if (!no_plot) plot(out);
    return r.status == TrainStatus::Diverged ? 1 : 0;
  }
  SweepGrid grid;
  for (const auto& [name, values] : axes) {
    std::vector<double> nums;
    std::vector<std::string> strs;
    for (const json& v : values) {
      if (v.is_number())
        nums.push_back(v.get<double>());
      else if (v.is_string())
        strs.push_back(v.get<std::string>());
      else
        throw ConfigError("config: sweep." + name + ": values must be numbers or strings");
    }
    if (!nums.empty() && !strs.empty()) throw ConfigError("config: sweep." + name + ": mixes numbers and strings");
    nums.empty() ? void(grid.axis(name, strs)) : void(grid.axis(name, nums));
  }
  grid.seeds(seeds);
  SweepOptions so;
  so.out_dir = out;
  so.workers = workers;
  so.fingerprint = config_fingerprint(cfg);
  so.redo_mismatched = force;
  const auto run_point = [&](const SweepPoint& pt) {
    SweepOutcome o;
    o.result = run_one(point_config(pt.params), pt.seed, pt.dir);
    if (!no_plot) plot(pt.dir);
    return o;
  };
#ifdef GROKSCOPE_WITH_MPI
  const SweepSummary s = mpi ? run_sweep_mpi(grid, run_point, so) : run_sweep(grid, run_point, so);
  if (!root) return s.errors == 0 ? 0 : 1;
  if (mpi && mpi->size() > 1) std::printf("(%d MPI ranks)\n", mpi->size());
#else
  const SweepSummary s = run_sweep(grid, run_point, so);
#endif
  std::printf("%zu points: %ld run, %ld resumed, %ld errors; wrote %s/results.csv and results.json\n",
              static_cast<std::size_t>(s.table["rows"].size()), static_cast<long>(s.ran), static_cast<long>(s.skipped),
              static_cast<long>(s.errors), out.c_str());
  return s.errors == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "grokscope-run: %s\n", e.what());
    return 2;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "grokscope-run: out of memory\n");
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "grokscope-run: %s\n", e.what());
    return 2;
  }
}
