// SPDX-License-Identifier: MIT
// Copyright (c) 2026 The grokscope authors
#pragma once
/// \file Definitions of the non-template functions declared in <grokscope/train/sweep.hpp>: included by it in
/// header-only mode, compiled once into grokscope::compiled otherwise (core/config.hpp).

#include <grokscope/core/parallel.hpp>
#include <grokscope/train/sweep.hpp>

#if defined(GROKSCOPE_COMPILED) && !defined(GROKSCOPE_BUILDING_LIBRARY)
#error "grokscope: in compiled mode these definitions are in the library; include the header without -inl"
#endif

namespace grokscope {

GROKSCOPE_INLINE SweepGrid& SweepGrid::point(const nlohmann::ordered_json& params) {
  require(params.is_object() && !params.empty(), "SweepGrid::point", "a point is a non-empty object");
  for (auto it = params.begin(); it != params.end(); ++it) {
    require(it.value().is_number() || it.value().is_string(), "SweepGrid::point",
            "value of '" + it.key() + "' must be a number or a string");
    require(it.key() != "seed", "SweepGrid::point", "'seed' is reserved; use seeds()");
  }
  m_points.push_back(params);
  return *this;
}

GROKSCOPE_INLINE std::vector<SweepPoint> SweepGrid::points() const {
  std::vector<nlohmann::ordered_json> configs;
  if (!m_axes.empty()) {
    configs.emplace_back(nlohmann::ordered_json::object());
    for (const auto& ax : m_axes) {
      std::vector<nlohmann::ordered_json> next;
      for (const auto& c : configs)
        for (const auto& v : ax.second) {
          nlohmann::ordered_json d = c;
          d[ax.first] = v;
          next.push_back(d);
        }
      configs = std::move(next);
    }
  }
  configs.insert(configs.end(), m_points.begin(), m_points.end());
  if (configs.empty()) configs.emplace_back(nlohmann::ordered_json::object());  // seeds alone: one configuration
  std::vector<SweepPoint> out;
  for (const auto& c : configs)
    for (std::uint64_t s : m_seeds) {
      SweepPoint p;
      p.index = static_cast<Index>(out.size());
      p.params = c;
      p.seed = s;
      p.id = point_id(c, s);
      out.push_back(std::move(p));
    }
  for (std::size_t i = 0; i < out.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      require(out[i].id != out[j].id, "SweepGrid::points", "two points have the same id '" + out[i].id + "'");
  return out;
}

GROKSCOPE_INLINE std::string SweepGrid::point_id(const nlohmann::ordered_json& params, std::uint64_t seed) {
  std::string id;
  for (auto it = params.begin(); it != params.end(); ++it) {
    const std::string v =
        it.value().is_string() ? it.value().get<std::string>() : format_number(it.value().get<double>());
    id += it.key() + "=" + v + "_";
  }
  id += "seed=" + std::to_string(seed);
  for (char& ch : id)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '+' || ch == '-' || ch == '=' ||
          ch == '_'))
      ch = '-';
  return id;
}

GROKSCOPE_INLINE SweepGrid& SweepGrid::add_axis(const std::string& name, const std::vector<nlohmann::json>& values) {
  require(!name.empty() && name != "seed", "SweepGrid::axis", "axis name must be non-empty and not 'seed'");
  require(!values.empty(), "SweepGrid::axis", "axis '" + name + "' has no values");
  for (const auto& a : m_axes) require(a.first != name, "SweepGrid::axis", "axis '" + name + "' given twice");
  for (const auto& v : values)
    if (v.is_number())
      require(std::isfinite(v.get<double>()), "SweepGrid::axis", "axis '" + name + "' has a non-finite value");
  m_axes.emplace_back(name, values);
  return *this;
}

}  // namespace grokscope

namespace grokscope::detail {

GROKSCOPE_DEFERRED_DEF void write_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    require(static_cast<bool>(f), "sweep", "cannot write " + tmp);
    f << text;
    f.flush();
    require(static_cast<bool>(f), "sweep", "write to " + tmp + " failed");
  }
  std::filesystem::rename(tmp, path);
}

GROKSCOPE_DEFERRED_DEF ReadJson read_json(const std::string& path, nlohmann::ordered_json& out, std::string* problem) {
  std::error_code ec;
  const auto type = std::filesystem::status(path, ec).type();
  if (type == std::filesystem::file_type::not_found) return ReadJson::Absent;
  auto bad = [&](const std::string& why) {
    if (problem) *problem = why;
    return ReadJson::Damaged;
  };
  if (type != std::filesystem::file_type::regular) return bad("not a regular file");
  std::ifstream f(path, std::ios::binary);
  if (!f) return bad("cannot be opened");
  try {
    out = nlohmann::ordered_json::parse(f);
  } catch (const nlohmann::json::exception& e) {
    return bad("not valid JSON: " + excerpt(e.what(), 200));
  }
  return ReadJson::Ok;
}

GROKSCOPE_DEFERRED_DEF std::string result_problem(const nlohmann::ordered_json& j, const SweepPoint& p) {
  if (!j.is_object()) return "not a JSON object";
  auto has = [&](const char* key, bool (nlohmann::ordered_json::*is)() const noexcept, const char* what) {
    const auto it = j.find(key);
    if (it == j.end()) return std::string("no '") + key + "'";
    if (!((*it).*is)()) return std::string("'") + key + "' is not " + what;
    return std::string();
  };
  using J = nlohmann::ordered_json;
  for (const std::string& e :
       {has("complete", &J::is_boolean, "true or false"), has("id", &J::is_string, "a string"),
        has("params", &J::is_object, "an object"), has("seed", &J::is_number_unsigned, "a non-negative integer"),
        has("status", &J::is_string, "a string"), has("verdict", &J::is_string, "a string"),
        has("final", &J::is_object, "an object")})
    if (!e.empty()) return e;
  for (const char* key : {"t_mem", "t_grok", "gap"}) {
    const auto it = j.find(key);
    if (it == j.end()) return std::string("no '") + key + "'";
    if (!it->is_null() && !it->is_number()) return std::string("'") + key + "' is not a number or null";
  }
  for (auto it = j["final"].begin(); it != j["final"].end(); ++it)
    if (!it->is_null() && !it->is_number()) return "final '" + it.key() + "' is not a number or null";
  if (j["id"].get<std::string>() != p.id)
    return "its id " + excerpt(j["id"].get<std::string>()) + " is not this point's (" + p.id + ")";
  if (j["seed"].get<std::uint64_t>() != p.seed) return "its seed is not this point's";
  if (j["params"] != p.params) return "its params are not this point's";
  return {};
}

GROKSCOPE_DEFERRED_DEF bool finished(const std::string& dir, const SweepPoint& p) {
  nlohmann::ordered_json j;
  return read_json(dir + "/result.json", j) == ReadJson::Ok && result_problem(j, p).empty() &&
         j["complete"].get<bool>() && j["status"].get<std::string>() != "error";
}

GROKSCOPE_DEFERRED_DEF nlohmann::json opt_json(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

GROKSCOPE_DEFERRED_DEF nlohmann::ordered_json result_json(const SweepPoint& p, const SweepOutcome& o, double seconds) {
  nlohmann::ordered_json j{
      {"complete", true}, {"id", p.id}, {"index", p.index}, {"params", p.params}, {"seed", p.seed}};
  if (!p.fingerprint.empty()) j["fingerprint"] = p.fingerprint;
  j["status"] = train_status_name(o.result.status);
  const GrokReport* r = o.result.report ? &*o.result.report : nullptr;
  j["verdict"] = r ? verdict_name(r->verdict) : "undetermined";
  j["t_mem"] = r ? opt_json(r->t_mem) : nlohmann::json(nullptr);
  j["t_grok"] = r ? opt_json(r->t_grok) : nlohmann::json(nullptr);
  j["gap"] = r ? opt_json(r->gap) : nlohmann::json(nullptr);
  const History& h = o.result.history;
  // Liu et al.'s four phases (detect/phase.hpp, their 90 % / 10⁵ / 10³ rule) beside the verdict
  const auto& cols = h.columns();
  if (h.size() > 0 && std::find(cols.begin(), cols.end(), "train_acc") != cols.end() &&
      std::find(cols.begin(), cols.end(), "test_acc") != cols.end())
    j["liu_phase"] =
        liu_phase_name(classify_liu_phase(h.column("step"), h.column("train_acc"), h.column("test_acc")).phase);
  nlohmann::ordered_json fin = nlohmann::ordered_json::object();
  if (h.size() > 0)
    for (const char* c : {"train_loss", "test_loss", "train_acc", "test_acc", "weight_norm"})
      if (std::find(h.columns().begin(), h.columns().end(), c) != h.columns().end()) {
        const double v = h.last(c);
        fin[c] = std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
      }
  for (const auto& kv : o.extra)
    fin[kv.first] = std::isfinite(kv.second) ? nlohmann::json(kv.second) : nlohmann::json(nullptr);
  j["final"] = fin;
  j["steps_done"] = o.result.steps_done;
  j["seconds"] = seconds;
  return j;
}

GROKSCOPE_DEFERRED_DEF GrokVerdict verdict_from_name(const std::string& s) {
  for (GrokVerdict v : {GrokVerdict::Grokked, GrokVerdict::NoDelay, GrokVerdict::MemorizedOnly, GrokVerdict::Partial,
                        GrokVerdict::Ungrokked, GrokVerdict::NotFit, GrokVerdict::Undetermined})
    if (s == verdict_name(v)) return v;
  return GrokVerdict::Undetermined;
}

GROKSCOPE_DEFERRED_DEF std::optional<double> opt_of(const nlohmann::ordered_json& j, const char* key) {
  if (!j.contains(key) || !j[key].is_number()) return std::nullopt;
  return j[key].get<double>();
}

}  // namespace grokscope::detail

namespace grokscope {

GROKSCOPE_DEFERRED_DEF nlohmann::ordered_json collect_sweep(const SweepGrid& grid, const std::string& out_dir) {
  const std::vector<SweepPoint> pts = grid.points();
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  std::vector<std::string> missing;
  nlohmann::ordered_json damaged = nlohmann::ordered_json::array();
  std::vector<std::string> axes;
  std::vector<std::string> finals;
  for (const SweepPoint& p : pts) {
    for (auto it = p.params.begin(); it != p.params.end(); ++it)
      if (std::find(axes.begin(), axes.end(), it.key()) == axes.end()) axes.push_back(it.key());
    nlohmann::ordered_json j;
    const std::string file = out_dir + "/points/" + p.id + "/result.json";
    std::string problem;
    const detail::ReadJson got = detail::read_json(file, j, &problem);
    if (got == detail::ReadJson::Ok) problem = detail::result_problem(j, p);
    if (got == detail::ReadJson::Absent || (problem.empty() && !j["complete"].get<bool>())) {
      missing.push_back(p.id);
      continue;
    }
    if (!problem.empty()) {  // reported, left out of the table, redone by the next run_sweep
      damaged.push_back({{"id", p.id}, {"path", file}, {"problem", problem}});
      continue;
    }
    if (j.contains("final") && j["final"].is_object())
      for (auto it = j["final"].begin(); it != j["final"].end(); ++it)
        if (std::find(finals.begin(), finals.end(), it.key()) == finals.end()) finals.push_back(it.key());
    rows.push_back(j);
  }
  // aggregate over seeds: points with the same params
  std::map<std::string, std::vector<const nlohmann::ordered_json*>> groups;
  std::vector<std::string> order;
  for (const auto& r : rows) {
    const std::string key = r["params"].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (!groups.count(key)) order.push_back(key);
    groups[key].push_back(&r);
  }
  nlohmann::ordered_json agg = nlohmann::ordered_json::array();
  for (const std::string& key : order) {
    std::vector<GrokReport> reps;
    for (const auto* r : groups[key]) {
      GrokReport g;
      g.verdict = detail::verdict_from_name((*r).value("verdict", std::string("undetermined")));
      g.t_mem = detail::opt_of(*r, "t_mem");
      g.t_grok = detail::opt_of(*r, "t_grok");
      g.gap = detail::opt_of(*r, "gap");
      reps.push_back(g);
    }
    nlohmann::ordered_json a{{"params", (*groups[key].front())["params"]}};
    a["summary"] = to_json(aggregate_reports(reps));
    agg.push_back(a);
  }
  nlohmann::ordered_json table{{"out_dir", out_dir}, {"points", pts.size()}, {"finished", rows.size()},
                               {"missing", missing}, {"damaged", damaged},   {"rows", rows},
                               {"aggregate", agg}};
  std::filesystem::create_directories(out_dir);
  // (invalid UTF-8, say in a path, is written as U+FFFD rather than stopping the table)
  detail::write_atomically(out_dir + "/results.json",
                           table.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  // CSV: id, axes..., seed, status, verdict, t_mem, t_grok, gap, finals...
  std::ostringstream csv;
  csv << "id";
  for (const auto& a : axes) csv << "," << a;
  csv << ",seed,status,verdict,t_mem,t_grok,gap";
  for (const auto& f : finals) csv << "," << f;
  csv << "\n";
  auto cell = [](const nlohmann::ordered_json& v) -> std::string {
    if (v.is_null()) return "";
    if (v.is_string()) return v.get<std::string>();
    if (v.is_number()) return format_number(v.get<double>());
    return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  };
  for (const auto& r : rows) {
    csv << r["id"].get<std::string>();
    for (const auto& a : axes) csv << "," << (r["params"].contains(a) ? cell(r["params"][a]) : "");
    csv << "," << std::to_string(r["seed"].get<std::uint64_t>()) << "," << cell(r["status"]) << ","
        << cell(r["verdict"]) << "," << cell(r["t_mem"]) << "," << cell(r["t_grok"]) << "," << cell(r["gap"]);
    for (const auto& f : finals) csv << "," << (r["final"].contains(f) ? cell(r["final"][f]) : "");
    csv << "\n";
  }
  detail::write_atomically(out_dir + "/results.csv", csv.str());
  return table;
}

}  // namespace grokscope

namespace grokscope::detail {

GROKSCOPE_DEFERRED_DEF void resolve_shard(SweepOptions& o) {
  if (o.use_slurm_env && o.shard_count == 1 && o.shard_index == 0) {
    const char* id = std::getenv("SLURM_ARRAY_TASK_ID");
    const char* count = std::getenv("SLURM_ARRAY_TASK_COUNT");
    if (id && count) {
      o.shard_index = std::atol(id);
      o.shard_count = std::atol(count);
      const char* lo = std::getenv("SLURM_ARRAY_TASK_MIN");
      if (lo) o.shard_index -= std::atol(lo);
    }
  }
  require(o.shard_count >= 1 && o.shard_index >= 0 && o.shard_index < o.shard_count, "run_sweep",
          "shard " + std::to_string(o.shard_index) + "/" + std::to_string(o.shard_count) + " is not valid");
}

GROKSCOPE_DEFERRED_DEF std::vector<SweepPoint> pending_points(const SweepGrid& grid, const SweepOptions& o,
                                                              SweepSummary& s) {
  std::vector<SweepPoint> pts = grid.points();
  s.total = static_cast<Index>(pts.size());
  std::vector<SweepPoint> pending;
  for (SweepPoint& p : pts) {
    if (p.index % o.shard_count != o.shard_index) continue;
    ++s.assigned;
    p.dir = o.out_dir + "/points/" + p.id;
    nlohmann::ordered_json j;
    std::string problem;
    const ReadJson got = read_json(p.dir + "/result.json", j, &problem);
    if (got == ReadJson::Ok) problem = result_problem(j, p);
    if (got != ReadJson::Absent && !problem.empty()) {
      ++s.damaged;
      if (o.verbose) std::fprintf(stderr, "grokscope: redoing %s/result.json: %s\n", p.dir.c_str(), problem.c_str());
    } else if (got == ReadJson::Ok && j["complete"].get<bool>() && j["status"].get<std::string>() != "error") {
      const auto f = j.find("fingerprint");
      const std::string theirs = f != j.end() && f->is_string() ? f->get<std::string>() : std::string("none");
      if (o.fingerprint.empty() || theirs == o.fingerprint) {
        ++s.skipped;
        continue;
      }
      if (!o.redo_mismatched)
        throw std::runtime_error("grokscope::run_sweep: " + p.dir +
                                 "/result.json was written by another configuration (fingerprint " + excerpt(theirs) +
                                 ", this one " + o.fingerprint +
                                 "): its result would be resumed as this sweep's. Write to a new folder, or redo the "
                                 "points (grokscope-run --force)");
      if (o.verbose) std::fprintf(stderr, "grokscope: redoing %s: its configuration changed\n", p.dir.c_str());
    }
    p.fingerprint = o.fingerprint;
    pending.push_back(p);
  }
  return pending;
}

GROKSCOPE_DEFERRED_DEF nlohmann::ordered_json run_point(const std::function<SweepOutcome(const SweepPoint&)>& fn,
                                                        const SweepPoint& p) {
  std::filesystem::create_directories(p.dir);
  const auto t0 = std::chrono::steady_clock::now();
  try {
    const SweepOutcome out = fn(p);
    const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return detail::result_json(p, out, sec);
  } catch (const std::exception& e) {
    return {{"complete", true},
            {"id", p.id},
            {"index", p.index},
            {"params", p.params},
            {"seed", p.seed},
            {"status", "error"},
            {"verdict", "undetermined"},
            {"t_mem", nullptr},
            {"t_grok", nullptr},
            {"gap", nullptr},
            {"error", e.what()},
            {"final", nlohmann::ordered_json::object()},
            {"fingerprint", p.fingerprint}};
  }
}

GROKSCOPE_DEFERRED_DEF std::string point_line(const nlohmann::ordered_json& j) {
  const std::string id = j.value("id", std::string());
  if (j.value("status", std::string()) == "error") return id + ": error: " + j.value("error", std::string());
  return id + ": " + j.value("status", std::string()) + ", " + j.value("verdict", std::string());
}

}  // namespace grokscope::detail

namespace grokscope {

GROKSCOPE_DEFERRED_DEF SweepSummary run_sweep(const SweepGrid& grid,
                                              const std::function<SweepOutcome(const SweepPoint&)>& fn,
                                              SweepOptions o) {
  require(o.workers >= 1, "run_sweep", "workers must be >= 1");
  detail::resolve_shard(o);
  SweepSummary s;
  const std::vector<SweepPoint> pending = detail::pending_points(grid, o, s);
  std::atomic<std::size_t> next{0};
  std::atomic<Index> ran{0}, errors{0};
  std::mutex out_mutex;
  std::exception_ptr fatal;  // a failure of the runner itself (not of a point): stops the sweep
  // The limit, not Eigen::nbThreads(): the load may have lowered the count.
  const int eigen_threads = thread_limit();
  if (o.workers > 1) set_thread_limit(1);
  auto work_points = [&]() {
    for (std::size_t i = next++; i < pending.size(); i = next++) {
      const SweepPoint& p = pending[i];
      const nlohmann::ordered_json j = detail::run_point(fn, p);
      if (j["status"] == "error") ++errors;
      detail::write_atomically(p.dir + "/result.json",
                               j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
      ++ran;
      if (o.verbose) {
        std::lock_guard<std::mutex> lock(out_mutex);
        std::printf("[%ld/%ld] %s\n", static_cast<long>(ran.load()), static_cast<long>(pending.size()),
                    detail::point_line(j).c_str());
        std::fflush(stdout);
      }
    }
  };
  auto work = [&]() {
    try {
      work_points();
    } catch (...) {
      std::lock_guard<std::mutex> lock(out_mutex);
      if (!fatal) fatal = std::current_exception();
      next = pending.size();
    }
  };
  const Index nthreads = std::min<Index>(o.workers, static_cast<Index>(pending.size()));
  if (nthreads <= 1) {
    work();
  } else {
    std::vector<std::thread> threads;
    for (Index t = 0; t < nthreads; ++t) threads.emplace_back(work);
    for (auto& t : threads) t.join();
  }
  if (o.workers > 1) set_thread_limit(eigen_threads);
  if (fatal) std::rethrow_exception(fatal);
  s.ran = ran.load();
  s.errors = errors.load();
  s.table = collect_sweep(grid, o.out_dir);
  return s;
}

}  // namespace grokscope
