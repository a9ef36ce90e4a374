#include "spec.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <set>

#include "data.h"
#include "json_util.h"

namespace hdx {

using nlohmann::json;

const char* metric_name(Metric m) {
  switch (m) {
    case Metric::LatencyMs:
      return "latency_ms";
    case Metric::EnergyUj:
      return "energy_uj";
    case Metric::AreaMm2:
      return "area_mm2";
    case Metric::Fps:
      return "fps";
  }
  return "?";
}

const char* objective_name(Objective o) {
  return o == Objective::Latency  ? "latency"
         : o == Objective::Energy ? "energy"
         : o == Objective::Area   ? "area"
                                  : "edp";
}

const char* constraint_mode_name(ConstraintMode m) {
  return m == ConstraintMode::Hdx ? "hdx" : m == ConstraintMode::Soft ? "soft" : "none";
}

namespace {

// The largest hardware space whose tables the search fills.
constexpr long long kMaxPoints = 4096;

std::string join(const std::vector<int>& v) {
  std::string s;
  for (int x : v) s += (s.empty() ? "" : ", ") + std::to_string(x);
  return s;
}

// A non-empty array of distinct integers in [lo, hi] (powers of two if asked).
std::vector<int> int_list(const ObjectReader& r, const std::string& key, int lo, int hi,
                          bool pow2, std::vector<int> def = {}) {
  if (!r.has(key) && !def.empty()) return def;
  const json& a = r.get_array(key, true);
  std::vector<int> v;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const std::string p = json_path(r.path_of(key), i);
    if (!a[i].is_number_integer()) {
      config_fail(config_code::kWrongType, p,
                  fmt::format("must be an integer, got {}", json_brief(a[i])));
    }
    const long long x = a[i].get<long long>();
    if (x < lo || x > hi) {
      config_fail(config_code::kOutOfRange, p,
                  fmt::format("must be between {} and {}, got {}", lo, hi, x));
    }
    if (pow2 && (x & (x - 1)) != 0) {
      config_fail(config_code::kNotPowerOfTwo, p,
                  fmt::format("must be a power of two between {} and {}, got {}", lo, hi, x));
    }
    if (std::find(v.begin(), v.end(), static_cast<int>(x)) != v.end()) {
      config_fail(config_code::kOutOfRange, p,
                  fmt::format("values must be distinct, got {} twice in [{}]", x,
                              join(v) + ", " + std::to_string(x)));
    }
    v.push_back(static_cast<int>(x));
  }
  return v;
}

HardwareSpace hardware_from_json(const ObjectReader& r) {
  r.allow_only({"dataflow", "pe_rows", "pe_cols", "buffers_kib", "spad", "dram", "clock_mhz"});
  HardwareSpace h;
  {
    const json& a = r.get_array("dataflow", true);
    h.dataflow.clear();
    for (std::size_t i = 0; i < a.size(); ++i) {
      const std::string p = json_path(r.path_of("dataflow"), i);
      if (!a[i].is_string() || (a[i] != "ws" && a[i] != "rs")) {
        config_fail(a[i].is_string() ? config_code::kNotInSet : config_code::kWrongType, p,
                    fmt::format("must be one of: ws, rs, got {}", json_brief(a[i])));
      }
      if (std::find(h.dataflow.begin(), h.dataflow.end(), a[i].get<std::string>()) !=
          h.dataflow.end()) {
        config_fail(config_code::kOutOfRange, p,
                    fmt::format("values must be distinct, got {} twice", json_brief(a[i])));
      }
      h.dataflow.push_back(a[i].get<std::string>());
    }
  }
  h.pe_rows = int_list(r, "pe_rows", 2, 64, false);
  h.pe_cols = int_list(r, "pe_cols", 2, 64, false);
  {
    ObjectReader b = r.get_object("buffers_kib");
    b.allow_only({"ifmap", "weight", "ofmap"});
    h.ifmap_kib = int_list(b, "ifmap", 1, 16384, false);
    h.weight_kib = int_list(b, "weight", 1, 16384, false);
    h.ofmap_kib = int_list(b, "ofmap", 1, 16384, false);
  }
  if (r.has("spad")) {
    ObjectReader s = r.get_object("spad");
    s.allow_only({"ifmap", "filter", "psum"});
    h.spad_ifmap = int_list(s, "ifmap", 1, 128, false);
    h.spad_filter = int_list(s, "filter", 1, 4096, false);
    h.spad_psum = int_list(s, "psum", 1, 32, false);
  }
  {
    ObjectReader d = r.get_object("dram");
    d.allow_only({"bytes_per_cycle", "latency_cycles"});
    h.dram_bytes_per_cycle = int_list(d, "bytes_per_cycle", 1, 64, true);
    h.dram_latency_cycles = d.get_int("latency_cycles", 0, 1000, 20);
  }
  h.clock_mhz = r.get_number("clock_mhz", 0, 5000, true, 500.0);
  long long points = 1;
  for (std::size_t n : {h.dataflow.size(), h.pe_rows.size(), h.pe_cols.size(), h.ifmap_kib.size(),
                        h.weight_kib.size(), h.ofmap_kib.size(), h.spad_ifmap.size(),
                        h.spad_filter.size(), h.spad_psum.size(), h.dram_bytes_per_cycle.size()})
    points *= static_cast<long long>(n);
  if (points > kMaxPoints) {
    config_fail(config_code::kOutOfRange, r.path(),
                fmt::format("the hardware space has {} points (the product of the list lengths); "
                            "at most {} are searched, shorten some lists",
                            points, kMaxPoints));
  }
  return h;
}

SupernetSpec supernet_from_json(const ObjectReader& r) {
  r.allow_only({"stem", "stages", "head", "candidates", "weight_sharing"});
  SupernetSpec s;
  s.weight_sharing = r.get_bool("weight_sharing", false);
  {
    ObjectReader st = r.get_object("stem");
    st.allow_only({"channels", "kernel", "stride"});
    s.stem_channels = st.get_int("channels", 1, 512);
    s.stem_kernel = st.get_int("kernel", 1, 7, 3);
    s.stem_stride = st.get_int("stride", 1, 2, 1);
  }
  const json& stages = r.get_array("stages", true);
  for (std::size_t i = 0; i < stages.size(); ++i) {
    ObjectReader g(stages[i], json_path(r.path_of("stages"), i));
    g.allow_only({"channels", "repeats", "stride"});
    StageSpec st;
    st.channels = g.get_int("channels", 1, 512);
    st.repeats = g.get_int("repeats", 1, 8, 1);
    st.stride = g.get_int("stride", 1, 2, 1);
    s.stages.push_back(st);
  }
  if (r.has("head")) {
    ObjectReader h = r.get_object("head");
    h.allow_only({"channels"});
    s.head_channels = h.get_int("channels", 1, 2048);
  }
  if (r.has("candidates")) {
    ObjectReader c = r.get_object("candidates");
    c.allow_only({"kernels", "expansions", "fused", "skip"});
    auto odd = [](const ObjectReader& o, const std::vector<int>& ks) {
      for (std::size_t i = 0; i < ks.size(); ++i) {
        if (ks[i] % 2 == 0) {
          config_fail(config_code::kOutOfRange, json_path(o.path_of("kernels"), i),
                      fmt::format("must be odd (the padding keeps the map size), got {}", ks[i]));
        }
      }
    };
    s.kernels = int_list(c, "kernels", 1, 7, false, s.kernels);
    odd(c, s.kernels);
    s.expansions = int_list(c, "expansions", 1, 8, false, s.expansions);
    if (c.has("fused")) {
      ObjectReader f = c.get_object("fused");
      f.allow_only({"kernels", "expansions"});
      s.fused_kernels = int_list(f, "kernels", 1, 7, false);
      odd(f, s.fused_kernels);
      s.fused_expansions = int_list(f, "expansions", 1, 8, false);
    }
    s.skip = c.get_bool("skip", true);
  }
  return s;
}

Constraint constraint_from_json(const ObjectReader& r) {
  Constraint c;
  const std::string m = r.get_enum("metric", {"latency_ms", "energy_uj", "area_mm2", "fps"});
  c.metric = m == "latency_ms" ? Metric::LatencyMs
             : m == "energy_uj" ? Metric::EnergyUj
             : m == "area_mm2"  ? Metric::AreaMm2
                                : Metric::Fps;
  c.is_max = c.metric != Metric::Fps;
  const std::string bound = c.is_max ? "max" : "min";
  r.allow_only({"metric", bound});
  if (!r.has(bound)) {
    config_fail(config_code::kMissingKey, r.path_of(bound),
                fmt::format("missing required key; {} takes a \"{}\" limit (a positive number)", m,
                            bound));
  }
  c.limit = r.get_number(bound, 0, 1e12, true);
  return c;
}

}  // namespace

Spec spec_from_json(const json& j) {
  ObjectReader r(j, "");
  r.allow_only({"name", "seed", "dataset", "supernet", "hardware", "cost", "objective",
                "constraints", "constraint_mode", "search", "train", "threads", "device",
                "flow"});
  Spec s;
  s.name = r.get_string("name");
  s.seed = static_cast<uint64_t>(r.get_int("seed", 0, 1 << 30, 1));
  {
    ObjectReader d = r.get_object("dataset");
    d.allow_only({"name", "path", "search_train", "search_val", "train", "test"});
    s.dataset.name = d.get_enum("name", {"fashion-mnist", "cifar10"});
    const bool fm = s.dataset.name == "fashion-mnist";
    const int n_train = fm ? 60000 : 50000;
    if (fm) {
      s.dataset.path = d.get_string("path", default_data_dir("fashion-mnist"));
    } else if (!d.has("path")) {
      config_fail(config_code::kMissingKey, d.path_of("path"),
                  "missing required key; cifar10 needs the folder holding data_batch_1.bin .. "
                  "data_batch_5.bin and test_batch.bin");
    } else {
      s.dataset.path = d.get_string("path");
    }
    s.dataset.search_train = d.get_int("search_train", 1, n_train, 10000);
    s.dataset.search_val = d.get_int("search_val", 1, n_train, 2500);
    if (s.dataset.search_train + s.dataset.search_val > n_train) {
      config_fail(config_code::kOutOfRange, d.path_of("search_val"),
                  fmt::format("search_train + search_val must be at most the {} training images "
                              "of {}, got {} + {}",
                              n_train, s.dataset.name, s.dataset.search_train,
                              s.dataset.search_val));
    }
    s.dataset.train = d.get_int("train", 1, n_train, n_train);
    s.dataset.test = d.get_int("test", 1, 10000, 10000);
  }
  s.supernet = supernet_from_json(r.get_object("supernet"));
  s.hardware = hardware_from_json(r.get_object("hardware"));
  if (r.has("cost")) {
    ObjectReader c = r.get_object("cost");
    c.allow_only({"estimator", "evaluator"});
    s.estimator = c.get_enum("estimator", {"exact", "evaluator"}, "exact");
    if (c.has("evaluator")) {
      ObjectReader e = c.get_object("evaluator");
      e.allow_only({"samples", "hidden", "steps"});
      s.eval_samples = e.get_int("samples", 50, 1000000, s.eval_samples);
      s.eval_hidden = e.get_int("hidden", 4, 4096, s.eval_hidden);
      s.eval_steps = e.get_int("steps", 1, 1000000, s.eval_steps);
    }
  }
  {
    ObjectReader o = r.get_object("objective");
    o.allow_only({"metric", "weight", "network_weight"});
    const std::string m = o.get_enum("metric", {"latency", "energy", "edp", "area"});
    s.objective = m == "latency"  ? Objective::Latency
                  : m == "energy" ? Objective::Energy
                  : m == "area"   ? Objective::Area
                                  : Objective::Edp;
    s.objective_weight = o.get_number("weight", 0, 1000, false, s.objective_weight);
    s.objective_network_weight =
        o.get_number("network_weight", 0, 1000, false, s.objective_network_weight);
  }
  {
    const json& cs = r.get_array("constraints", false);
    std::set<std::string> seen;
    for (std::size_t i = 0; i < cs.size(); ++i) {
      const std::string p = json_path(r.path_of("constraints"), i);
      const Constraint c = constraint_from_json(ObjectReader(cs[i], p));
      if (!seen.insert(metric_name(c.metric)).second) {
        config_fail(config_code::kOutOfRange, json_path(p, "metric"),
                    fmt::format("one constraint per metric, got {} twice", metric_name(c.metric)));
      }
      s.constraints.push_back(c);
    }
  }
  s.mode = [&] {
    const std::string m = r.get_enum("constraint_mode", {"hdx", "soft", "none"}, "hdx");
    return m == "hdx" ? ConstraintMode::Hdx : m == "soft" ? ConstraintMode::Soft
                                                          : ConstraintMode::None;
  }();
  if (r.has("search")) {
    ObjectReader q = r.get_object("search");
    q.allow_only({"epochs", "warmup_share", "batch_size", "relaxation", "temperature",
                  "weight_lr", "arch_lr", "hdx", "soft_weight", "max_extra_epochs",
                  "time_minutes", "finish"});
    s.search_epochs = q.get_int("epochs", 1, 1000, s.search_epochs);
    s.warmup_share = q.get_number("warmup_share", 0, 0.9, false, s.warmup_share);
    s.search_batch = q.get_int("batch_size", 1, 4096, s.search_batch);
    s.relaxation = q.get_enum("relaxation", {"gumbel", "softmax"}, s.relaxation);
    if (q.has("temperature")) {
      ObjectReader t = q.get_object("temperature");
      t.allow_only({"start", "end"});
      s.tau_start = t.get_number("start", 0, 100, true, s.tau_start);
      s.tau_end = t.get_number("end", 0, s.tau_start, true, std::min(s.tau_end, s.tau_start));
    }
    s.weight_lr = q.get_number("weight_lr", 0, 10, true, s.weight_lr);
    s.arch_lr = q.get_number("arch_lr", 0, 100, true, s.arch_lr);
    if (q.has("hdx")) {
      ObjectReader h = q.get_object("hdx");
      h.allow_only({"margin", "growth", "max_margin"});
      s.hdx_margin = h.get_number("margin", 0, 10, true, s.hdx_margin);
      s.hdx_growth = h.get_number("growth", 1, 10, false, s.hdx_growth);
      s.hdx_max_margin = h.get_number("max_margin", s.hdx_margin, 10, false,
                                      std::max(s.hdx_max_margin, s.hdx_margin));
    }
    s.soft_weight = q.get_number("soft_weight", 0, 1e6, false, s.soft_weight);
    s.max_extra_epochs = q.get_int("max_extra_epochs", 0, 1000, s.max_extra_epochs);
    s.search_minutes = q.get_number("time_minutes", 0, 100000, false, s.search_minutes);
    s.finish = q.get_enum("finish", {"argmax", "hardware", "greedy"}, s.finish);
  }
  if (r.has("train")) {
    ObjectReader t = r.get_object("train");
    t.allow_only({"epochs", "batch_size", "optimizer", "lr", "momentum", "weight_decay",
                  "warmup_share", "label_smoothing", "augment", "infeasible"});
    TrainSpec& tr = s.train;
    tr.epochs = t.get_int("epochs", 0, 1000, tr.epochs);
    tr.batch_size = t.get_int("batch_size", 1, 4096, tr.batch_size);
    tr.optimizer = t.get_enum("optimizer", {"sgd", "adamw"}, tr.optimizer);
    if (tr.optimizer == "adamw" && !t.has("lr")) tr.lr = 0.003;
    tr.lr = t.get_number("lr", 0, 10, true, tr.lr);
    tr.momentum = t.get_number("momentum", 0, 0.999, false, tr.momentum);
    tr.weight_decay = t.get_number("weight_decay", 0, 1, false, tr.weight_decay);
    tr.warmup_share = t.get_number("warmup_share", 0, 0.9, false, tr.warmup_share);
    tr.label_smoothing = t.get_number("label_smoothing", 0, 0.9, false, tr.label_smoothing);
    if (t.has("augment")) {
      ObjectReader a = t.get_object("augment");
      a.allow_only({"crop_pad", "flip"});
      tr.crop_pad = a.get_int("crop_pad", 0, 8, tr.crop_pad);
      tr.flip = a.get_bool("flip", tr.flip);
    }
    tr.infeasible = t.get_bool("infeasible", tr.infeasible);
  }
  s.threads = r.get_int("threads", 0, 256, 0);
  s.device = r.get_enum("device", {"auto", "cpu", "cuda"}, "auto");
  if (r.has("flow")) {
    ObjectReader f = r.get_object("flow");
    f.allow_only({"calib_images", "sim_images"});
    s.calib_images = f.get_int("calib_images", 1, 60000, s.calib_images);
    s.sim_images = f.get_int("sim_images", 1, 10000, s.sim_images);
  }
  return s;
}

int Spec::warmup_epochs() const {
  const int w = static_cast<int>(std::lround(warmup_share * search_epochs));
  return std::clamp(w, 0, std::max(0, search_epochs - 1));
}

Spec load_spec(const std::string& path) {
  return load_config_file(path, [](const json& j) { return spec_from_json(j); });
}

json spec_to_json(const Spec& s) {
  const HardwareSpace& h = s.hardware;
  json stages = json::array();
  for (const StageSpec& g : s.supernet.stages)
    stages.push_back({{"channels", g.channels}, {"repeats", g.repeats}, {"stride", g.stride}});
  json supernet = {{"stem",
                    {{"channels", s.supernet.stem_channels},
                     {"kernel", s.supernet.stem_kernel},
                     {"stride", s.supernet.stem_stride}}},
                   {"stages", stages},
                   {"candidates",
                    {{"kernels", s.supernet.kernels},
                     {"expansions", s.supernet.expansions},
                     {"skip", s.supernet.skip}}},
                   {"weight_sharing", s.supernet.weight_sharing}};
  if (!s.supernet.fused_kernels.empty())
    supernet["candidates"]["fused"] = {{"kernels", s.supernet.fused_kernels},
                                       {"expansions", s.supernet.fused_expansions}};
  if (s.supernet.head_channels > 0) supernet["head"] = {{"channels", s.supernet.head_channels}};
  json constraints = json::array();
  for (const Constraint& c : s.constraints)
    constraints.push_back({{"metric", metric_name(c.metric)}, {c.is_max ? "max" : "min", c.limit}});
  return {
      {"name", s.name},
      {"seed", s.seed},
      {"dataset",
       {{"name", s.dataset.name},
        {"path", s.dataset.path},
        {"search_train", s.dataset.search_train},
        {"search_val", s.dataset.search_val},
        {"train", s.dataset.train},
        {"test", s.dataset.test}}},
      {"supernet", supernet},
      {"hardware",
       {{"dataflow", h.dataflow},
        {"pe_rows", h.pe_rows},
        {"pe_cols", h.pe_cols},
        {"buffers_kib", {{"ifmap", h.ifmap_kib}, {"weight", h.weight_kib}, {"ofmap", h.ofmap_kib}}},
        {"spad", {{"ifmap", h.spad_ifmap}, {"filter", h.spad_filter}, {"psum", h.spad_psum}}},
        {"dram",
         {{"bytes_per_cycle", h.dram_bytes_per_cycle}, {"latency_cycles", h.dram_latency_cycles}}},
        {"clock_mhz", h.clock_mhz}}},
      {"cost",
       {{"estimator", s.estimator},
        {"evaluator",
         {{"samples", s.eval_samples}, {"hidden", s.eval_hidden}, {"steps", s.eval_steps}}}}},
      {"objective",
       {{"metric", objective_name(s.objective)},
        {"weight", s.objective_weight},
        {"network_weight", s.objective_network_weight}}},
      {"constraints", constraints},
      {"constraint_mode", constraint_mode_name(s.mode)},
      {"search",
       {{"epochs", s.search_epochs},
        {"warmup_share", s.warmup_share},
        {"batch_size", s.search_batch},
        {"relaxation", s.relaxation},
        {"temperature", {{"start", s.tau_start}, {"end", s.tau_end}}},
        {"weight_lr", s.weight_lr},
        {"arch_lr", s.arch_lr},
        {"hdx",
         {{"margin", s.hdx_margin}, {"growth", s.hdx_growth}, {"max_margin", s.hdx_max_margin}}},
        {"soft_weight", s.soft_weight},
        {"max_extra_epochs", s.max_extra_epochs},
        {"time_minutes", s.search_minutes},
        {"finish", s.finish}}},
      {"train",
       {{"epochs", s.train.epochs},
        {"batch_size", s.train.batch_size},
        {"optimizer", s.train.optimizer},
        {"lr", s.train.lr},
        {"momentum", s.train.momentum},
        {"weight_decay", s.train.weight_decay},
        {"warmup_share", s.train.warmup_share},
        {"label_smoothing", s.train.label_smoothing},
        {"augment", {{"crop_pad", s.train.crop_pad}, {"flip", s.train.flip}}},
        {"infeasible", s.train.infeasible}}},
      {"threads", s.threads},
      {"device", s.device},
      {"flow", {{"calib_images", s.calib_images}, {"sim_images", s.sim_images}}}};
}

}  // namespace hdx
