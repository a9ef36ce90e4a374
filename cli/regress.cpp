#include "regress.h"

#include <boost/program_options.hpp>
#include <fcntl.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <map>

#include "commands.h"
#include "errors.h"
#include "json_util.h"
#include "ranks.h"
#include "rtlgen.h"
#include "util.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;
using nlohmann::json;

namespace hdx::cli {

namespace {

bool legal_name(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
          c == '_' || c == '.' || c == '-'))
      return false;
  return true;
}

// The file stem with every character a name may not hold made '_'.
std::string name_part(const std::string& path) {
  std::string s = fs::path(path).stem().string();
  for (char& c : s)
    if (!legal_name(std::string(1, c))) c = '_';
  return s.empty() ? "_" : s;
}

std::vector<RegressEntry> regress_from_json(const json& j, const fs::path& base) {
  ObjectReader r(j, "");
  r.allow_only({"entries"});
  const json& entries = r.get_array("entries", true);
  auto resolve = [&](const std::string& p) {
    return fs::path(p).is_absolute() ? p : (base / p).lexically_normal().string();
  };
  std::vector<RegressEntry> out;
  std::map<std::string, size_t> seen;
  for (size_t i = 0; i < entries.size(); ++i) {
    ObjectReader e(entries[i], json_path(r.path_of("entries"), i));
    e.allow_only({"name", "network", "accelerator", "weights", "images", "first_image", "seed"});
    RegressEntry x;
    x.network = e.get_string("network");
    x.accelerator = e.get_string("accelerator");
    x.network_path = resolve(x.network);
    x.accelerator_path = resolve(x.accelerator);
    if (e.has("weights")) {
      x.weights = e.get_string("weights");
      x.weights_path = resolve(x.weights);
      x.images = e.get_int("images", 1, 10000, 1);
      x.first_image = e.get_int("first_image", 0, 1000000, 0);
    } else {
      for (const char* k : {"images", "first_image"})
        if (e.has(k))
          config_fail(config_code::kUnknownKey, e.path_of(k),
                      "only with \"weights\" (an entry without weights runs one pass of random "
                      "layer data); add weights or remove the key");
    }
    x.seed = static_cast<uint64_t>(e.get_int("seed", 0, 1000000000, 1));
    x.name = e.has("name") ? e.get_string("name")
                           : name_part(x.network) + "-" + name_part(x.accelerator);
    if (!legal_name(x.name))
      config_fail(config_code::kBadName, e.path_of("name"),
                  fmt::format("must be 1 to 64 characters from A-Z a-z 0-9 _ . -, got {}",
                              json_brief(x.name)));
    if (auto it = seen.find(x.name); it != seen.end())
      config_fail(config_code::kDuplicateName, e.path_of("name"),
                  fmt::format("entry names must be unique, and \"{}\" is also the name of {}{}",
                              x.name, json_path(r.path_of("entries"), it->second),
                              e.has("name") ? "" : " (the name made of the two file names); "
                                                   "give one of them a \"name\""));
    seen[x.name] = i;
    out.push_back(std::move(x));
  }
  return out;
}

// Runs one entry as hdx sim runs it, into DIR/<name>/, with what it prints in
// DIR/<name>/sim.log; returns its row of the report.
json run_entry(const RegressEntry& e, const std::string& dir, const std::vector<std::string>& more) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::string out = dir + "/" + e.name;
  std::vector<std::string> args = {"--network", e.network_path, "--accel", e.accelerator_path,
                                   "--out", out, "--force", "--seed", std::to_string(e.seed)};
  if (!e.weights.empty())
    args.insert(args.end(), {"--weights", e.weights_path, "--images", std::to_string(e.images),
                             "--first-image", std::to_string(e.first_image)});
  args.insert(args.end(), more.begin(), more.end());
  std::vector<std::string> argv = {"hdx", "sim"};
  argv.insert(argv.end(), args.begin(), args.end());

  json row = {{"name", e.name}, {"network", e.network}, {"accelerator", e.accelerator},
              {"seed", e.seed}, {"out", e.name}};
  if (!e.weights.empty()) {
    row["weights"] = e.weights;
    row["images"] = e.images;
    row["first_image"] = e.first_image;
  }
  std::string error;
  int rc = 0;
  {
    std::error_code ec;
    fs::create_directories(out, ec);
    const std::string log = out + "/sim.log";
    const int fd = ec ? -1 : open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
      throw IoError(12, fmt::format("cannot create {}: {}", ec ? out : log,
                                    ec ? ec.message() : std::strerror(errno)));
    std::fflush(stdout);
    std::fflush(stderr);
    const int saved_out = dup(1), saved_err = dup(2);
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
    try {
      UseComm one(nullptr);  // the entry is this rank's alone
      rc = cmd_sim(args, shell_join(argv));
    } catch (const Error& ex) {
      error = ex.what();
      rc = ex.exit_code();
    } catch (const std::exception& ex) {
      error = fmt::format("[hdx E999] internal error: {}", ex.what());
      rc = 3;
    }
    if (!error.empty()) fmt::print(stderr, "{}\n", error);
    std::fflush(stdout);
    std::fflush(stderr);
    dup2(saved_out, 1);
    dup2(saved_err, 2);
    close(saved_out);
    close(saved_err);
  }
  const std::string report = out + "/sim_report.json";
  bool all_match = false;
  if (error.empty() && fs::exists(report)) {
    const json r = json::parse(read_file(report));
    long long layers = 0;
    bool cycles = true, outputs = true, events = true;
    for (const json& l : r.at("layers")) {
      if (l.contains("outputs_match")) outputs &= l.at("outputs_match").get<bool>();
      if (l.at("host").get<bool>()) continue;
      ++layers;
      cycles &= l.at("cycles_match").get<bool>();
      events &= l.at("events_match").get<bool>();
    }
    all_match = r.at("all_match").get<bool>();
    row["layers"] = layers;
    row["model_cycles"] = r.at("total").at("model_cycles");
    row["rtl_cycles"] = r.at("total").at("rtl_cycles");
    row["cycles_match"] = cycles;
    row["outputs_match"] = outputs;
    row["events_match"] = events;
    if (r.contains("rtl_agreement")) {
      row["rtl_agreement"] = r.at("rtl_agreement");
      row["accuracy"] = r.at("accuracy");
    }
    row["report"] = e.name + "/sim_report.json";
    if (!all_match)
      error = fmt::format("[sim E020] model and RTL disagree (see {}/sim_report.json)", e.name);
  } else if (error.empty()) {
    error = fmt::format("hdx sim ended with exit status {} and wrote no report (see {}/sim.log)",
                        rc, e.name);
  }
  row["pass"] = rc == 0 && all_match;
  if (!row["pass"].get<bool>()) row["error"] = error;
  row["log"] = e.name + "/sim.log";
  row["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return row;
}

}  // namespace

std::vector<RegressEntry> load_regress_list(const std::string& path) {
  const fs::path base = fs::path(path).parent_path();
  return load_config_file(path, [&](const json& j) { return regress_from_json(j, base); });
}

int cmd_regress(const Args& args, const std::string& command_line) {
  po::options_description od("options");
  od.add_options()("help,h", "this text")(
      "list", po::value<std::string>()->required(),
      "regression list (JSON): the (network, accelerator[, weights, images]) entries")(
      "out", po::value<std::string>()->required(),
      "output folder: one folder per entry, report.json")(
      "jobs", po::value<int>(), "simulator processes per entry (hdx sim --jobs; default: one "
                                "per core)")(
      "force", "write into a non-empty output folder");
  add_data_options(od);
  po::variables_map vm;
  if (!parse(args, od, vm, "usage: hdx regress --list F --out DIR [--jobs N] [--force]",
             "  hdx regress --list bench/regress/list20.json --out out/regress\n"
             "  mpirun -n 4 hdx regress --list bench/regress/list20.json --out out/regress\n"))
    return 0;
  Comm& rk = comm();
  const bool lead = rk.rank() == 0;
  const auto log = rank0_log("regress");
  const std::string list = vm["list"].as<std::string>(), dir = vm["out"].as<std::string>();
  std::vector<RegressEntry> entries;
  std::vector<std::string> more;  // options every entry's hdx sim gets
  on_every_rank([&] {
    entries = load_regress_list(list);
    if (vm.count("jobs")) {
      const int jobs = vm["jobs"].as<int>();
      if (jobs < 1)
        throw ConfigError(25, fmt::format("--jobs {}: must be at least 1 (simulator processes "
                                          "per entry)", jobs));
      more.insert(more.end(), {"--jobs", std::to_string(jobs)});
    }
    more.insert(more.end(), {"--dataset", vm["dataset"].as<std::string>()});
    if (vm.count("data")) more.insert(more.end(), {"--data", vm["data"].as<std::string>()});
    if (lead) prepare_out(dir, vm.count("force") > 0);
  });
  const auto t0 = std::chrono::steady_clock::now();
  const size_t n = entries.size();
  const Shard sh = shard_of(n, rk.rank(), rk.size());
  if (rk.size() == 1)
    log(fmt::format("{} entries from {}", n, list));
  else
    log(fmt::format("{} entries from {} over {} ranks; rank 0 takes {}", n, list, rk.size(),
                    shard_text(sh, n, "entries")));

  RankOutcome me;
  json mine = json::array();
  try {
    for (size_t k = sh.first; k < sh.last; ++k) {
      mine.push_back(run_entry(entries[k], dir, more));
      const json& row = mine.back();
      log(fmt::format("[{}/{}] {}: {} ({:.1f} s)", k + 1, n, entries[k].name,
                      row["pass"].get<bool>() ? "pass" : "FAIL", row["seconds"].get<double>()));
    }
    me.payload = mine.dump();
  } catch (const Error& e) {
    if (rk.size() == 1) throw;
    me = {false, e.what(), e.exit_code(), ""};
  } catch (const std::exception& e) {
    if (rk.size() == 1) throw;
    me = {false, fmt::format("[hdx E999] internal error: {}", e.what()), 3, ""};
  }
  std::vector<RankOutcome> all = {me};
  if (rk.size() > 1) all = gather_outcomes(me);
  if (!lead) return 0;  // rank 0 reports for every rank

  json rows = json::array();
  std::string why;
  int exit_code = 0;
  for (size_t r = 0; r < all.size(); ++r) {
    if (!all[r].ok) {
      const Shard rs = shard_of(n, static_cast<int>(r), static_cast<int>(all.size()));
      std::string names;
      for (size_t k = rs.first; k < rs.last; ++k)
        names += (names.empty() ? "" : ", ") + entries[k].name;
      why += fmt::format("{}rank {} of {} ({}: {}) failed: {}", why.empty() ? "" : "; ", r,
                         all.size(), shard_text(rs, n, "entries"), names, all[r].message);
      if (!exit_code) exit_code = all[r].exit_code;
      continue;
    }
    for (json& row : json::parse(all[r].payload)) rows.push_back(std::move(row));
  }
  if (!why.empty()) throw RankError(2, why + "; no report was written", exit_code == 2 ? 2 : 1);

  int passed = 0;
  fmt::print("\n{:<28} {:>6} {:>11} {:>11} {:>9} {:>7} {:>6} {:>8}\n", "entry", "layers",
             "model cyc", "rtl cyc", "outputs", "images", "result", "seconds");
  for (const json& row : rows) {
    const bool pass = row["pass"].get<bool>();
    passed += pass;
    auto num = [&](const char* k) {
      return row.contains(k) ? std::to_string(row[k].get<long long>()) : std::string("-");
    };
    const std::string outputs = !row.contains("outputs_match") ? "-"
                                : row["outputs_match"].get<bool>() ? "exact" : "DIFFER";
    const std::string images = row.contains("rtl_agreement")
        ? fmt::format("{:.0f}%", 100 * row["rtl_agreement"].get<double>()) : "-";
    fmt::print("{:<28} {:>6} {:>11} {:>11} {:>9} {:>7} {:>6} {:>8.1f}\n",
               row["name"].get<std::string>(), num("layers"), num("model_cycles"),
               num("rtl_cycles"), outputs, images, pass ? "pass" : "FAIL",
               row["seconds"].get<double>());
  }
  const int failed = static_cast<int>(rows.size()) - passed;
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const json report = {{"list", list},
                       {"command", command_line},
                       {"entries", rows},
                       {"passed", passed},
                       {"failed", failed},
                       {"verdict", failed ? "FAIL" : "PASS"},
                       {"ranks", rk.size()},
                       {"seconds", secs}};
  write_file_atomic(dir + "/report.json", report.dump(2) + "\n");
  json config = json::array();
  for (const RegressEntry& e : entries)
    config.push_back({{"name", e.name}, {"network", e.network_path},
                      {"accelerator", e.accelerator_path}, {"weights", e.weights_path},
                      {"images", e.images}, {"first_image", e.first_image}, {"seed", e.seed}});
  write_manifest(dir, command_line, {{"entries", config}}, {"report.json"});
  fmt::print("\n");
  if (failed) {
    std::string names;
    for (const json& row : rows)
      if (!row["pass"].get<bool>())
        names += fmt::format("{}{}: {}", names.empty() ? "" : "; ", row["name"].get<std::string>(),
                             row["error"].get<std::string>());
    fmt::print(stderr, "[sim E030] regression: {} of {} entries failed: {} (report: {}/report.json)\n",
               failed, rows.size(), names, dir);
    return 1;
  }
  fmt::print("regression: all {} entries pass, {:.1f} s (report: {}/report.json)\n", rows.size(),
             secs, dir);
  return 0;
}

}  // namespace hdx::cli
