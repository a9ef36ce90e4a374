#include "space.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <map>
#include <mutex>
#include <thread>

#include "errors.h"
#include "model.h"

namespace hdx {

using nlohmann::json;

std::string Candidate::label() const {
  return skip ? "skip" : fmt::format("{}{}e{}", fused ? "fu" : "mb", kernel, expansion);
}

namespace {

// Output size of a convolution with "same" padding (kernel / 2) and the given stride.
int same_out(int in, int stride) { return (in - 1) / stride + 1; }

json conv(const std::string& name, int out_c, int k, int stride, int groups, bool relu,
          const std::string& input) {
  json l = {{"name", name},   {"op", "conv"},         {"out_channels", out_c},
            {"kernel", k},    {"stride", stride},     {"padding", k / 2},
            {"groups", groups}, {"relu", relu}};
  if (!input.empty()) l["input"] = input;
  return l;
}

}  // namespace

Supernet build_supernet(const Spec& s) {
  Supernet n;
  const bool fm = s.dataset.name == "fashion-mnist";
  n.in_c = fm ? 1 : 3;
  n.in_h = n.in_w = fm ? 28 : 32;
  const SupernetSpec& ss = s.supernet;
  n.stem_c = ss.stem_channels;
  n.stem_k = ss.stem_kernel;
  n.stem_stride = ss.stem_stride;
  n.stem_h = same_out(n.in_h, n.stem_stride);
  n.stem_w = same_out(n.in_w, n.stem_stride);
  n.head_c = ss.head_channels;
  n.weight_sharing = ss.weight_sharing;
  int c = n.stem_c, h = n.stem_h, w = n.stem_w;
  for (std::size_t g = 0; g < ss.stages.size(); ++g) {
    for (int r = 0; r < ss.stages[g].repeats; ++r) {
      Slot sl;
      sl.name = fmt::format("s{}.b{}", g, r);
      sl.in_c = c;
      sl.in_h = h;
      sl.in_w = w;
      sl.out_c = ss.stages[g].channels;
      sl.stride = r == 0 ? ss.stages[g].stride : 1;
      for (int k : ss.kernels)
        for (int e : ss.expansions) sl.cands.push_back(Candidate{k, e, false, false});
      for (int k : ss.fused_kernels)
        for (int e : ss.fused_expansions) sl.cands.push_back(Candidate{k, e, false, true});
      if (ss.skip && sl.residual()) sl.cands.push_back(Candidate{0, 0, true, false});
      c = sl.out_c;
      h = same_out(h, sl.stride);
      w = same_out(w, sl.stride);
      n.slots.push_back(std::move(sl));
    }
  }
  return n;
}

json candidate_layers(const Slot& s, const Candidate& c, const std::string& input) {
  json ls = json::array();
  if (c.skip) return ls;
  const int mid = s.in_c * c.expansion;
  std::string from = input;
  if (c.fused) {
    ls.push_back(conv(s.name + ".conv", mid, c.kernel, s.stride, 1, true, from));
  } else if (c.expansion > 1) {
    ls.push_back(conv(s.name + ".expand", mid, 1, 1, 1, true, from));
    from = "";  // the next layer reads the previous one
  }
  if (!c.fused) ls.push_back(conv(s.name + ".dw", mid, c.kernel, s.stride, mid, true, from));
  ls.push_back(conv(s.name + ".project", s.out_c, 1, 1, 1, false, ""));
  if (s.residual() && !input.empty())
    ls.push_back({{"name", s.name + ".add"}, {"op", "add"}, {"inputs", {s.name + ".project", input}}});
  return ls;
}

Network derive_network(const Supernet& n, const std::vector<int>& choice,
                       const std::string& name) {
  json layers = json::array();
  layers.push_back(conv("stem", n.stem_c, n.stem_k, n.stem_stride, 1, true, ""));
  std::string last = "stem";
  for (std::size_t i = 0; i < n.slots.size(); ++i) {
    const Slot& s = n.slots[i];
    const json ls = candidate_layers(s, s.cands.at(static_cast<std::size_t>(choice.at(i))), last);
    for (const json& l : ls) layers.push_back(l);
    if (!ls.empty()) last = ls.back()["name"];
  }
  // Layers after a skipped slot must name what they read.
  auto reads = [&](json l) {
    if (layers.back()["name"] != last) l["input"] = last;
    return l;
  };
  if (n.head_c > 0) {
    layers.push_back(reads(conv("head", n.head_c, 1, 1, 1, true, "")));
    last = "head";
  }
  layers.push_back(reads({{"name", "pool"}, {"op", "avgpool"}}));
  layers.push_back({{"name", "fc"}, {"op", "fc"}, {"out_features", n.classes}});
  return network_from_json({{"name", name},
                            {"input", {{"channels", n.in_c}, {"height", n.in_h}, {"width", n.in_w}}},
                            {"layers", layers}});
}

std::string describe_choice(const Supernet& n, const std::vector<int>& choice) {
  std::string s;
  for (std::size_t i = 0; i < n.slots.size(); ++i)
    s += fmt::format("{}{}={}", i ? " " : "", n.slots[i].name,
                     n.slots[i].cands.at(static_cast<std::size_t>(choice.at(i))).label());
  return s;
}

std::vector<int> HwSpace::decode(long long point) const {
  std::vector<int> idx(dims.size());
  for (std::size_t d = dims.size(); d-- > 0;) {
    const long long n = static_cast<long long>(dims[d].labels.size());
    idx[d] = static_cast<int>(point % n);
    point /= n;
  }
  return idx;
}

long long HwSpace::encode(const std::vector<int>& idx) const {
  long long p = 0;
  for (std::size_t d = 0; d < dims.size(); ++d)
    p = p * static_cast<long long>(dims[d].labels.size()) + idx.at(d);
  return p;
}

Accelerator HwSpace::accel(long long point, const std::string& name) const {
  const std::vector<int> i = decode(point);
  const HardwareSpace& h = space;
  Accelerator a;
  a.name = name;
  a.dataflow = h.dataflow[i[0]] == "rs" ? Dataflow::RS : Dataflow::WS;
  a.pe_rows = h.pe_rows[i[1]];
  a.pe_cols = h.pe_cols[i[2]];
  a.ifmap_kib = h.ifmap_kib[i[3]];
  a.weight_kib = h.weight_kib[i[4]];
  a.ofmap_kib = h.ofmap_kib[i[5]];
  a.spad_ifmap = h.spad_ifmap[i[6]];
  a.spad_filter = h.spad_filter[i[7]];
  a.spad_psum = h.spad_psum[i[8]];
  a.dram_bytes_per_cycle = h.dram_bytes_per_cycle[i[9]];
  a.dram_latency_cycles = h.dram_latency_cycles;
  a.clock_mhz = h.clock_mhz;
  return a;
}

HwSpace build_hw_space(const HardwareSpace& h) {
  HwSpace s;
  s.space = h;
  auto add = [&](const std::string& name, const std::vector<int>& v) {
    HwDim d{name, {}};
    for (int x : v) d.labels.push_back(std::to_string(x));
    s.dims.push_back(d);
  };
  s.dims.push_back(HwDim{"dataflow", h.dataflow});
  add("pe_rows", h.pe_rows);
  add("pe_cols", h.pe_cols);
  add("ifmap_kib", h.ifmap_kib);
  add("weight_kib", h.weight_kib);
  add("ofmap_kib", h.ofmap_kib);
  add("spad_ifmap", h.spad_ifmap);
  add("spad_filter", h.spad_filter);
  add("spad_psum", h.spad_psum);
  add("dram_bytes_per_cycle", h.dram_bytes_per_cycle);
  for (const HwDim& d : s.dims) s.points *= static_cast<long long>(d.labels.size());
  return s;
}

namespace {

// A layer's shape as a key: the cost model reads nothing else of it.
std::string layer_key(const Layer& l) {
  return fmt::format("{} {}x{}x{} {}x{}x{} k{} s{} p{} g{}", op_name(l.op), l.in_c, l.in_h,
                     l.in_w, l.out_c, l.out_h, l.out_w, l.kh, l.stride, l.pad, l.groups);
}

// The accelerator layers of a network built from layer objects on an input shape.
std::vector<Layer> parse_layers(const json& layers, int c, int h, int w) {
  if (layers.empty()) return {};
  const Network n = network_from_json(
      {{"name", "t"}, {"input", {{"channels", c}, {"height", h}, {"width", w}}}, {"layers", layers}});
  std::vector<Layer> out;
  for (const Layer& l : n.layers)
    if (!l.host()) out.push_back(l);
  return out;
}

struct Cell {
  double lat_ms = 0, energy_uj = 0;
  bool ok = true;
  std::string why;
};

}  // namespace

CostTables fill_tables(const Supernet& n, const HwSpace& hw, const Tech& tech,
                       const std::function<void(long long, long long)>& progress, int threads) {
  // The layers of every row, and the fixed layers as one more row.
  std::vector<std::vector<Layer>> rows;
  CostTables t;
  t.points = hw.points;
  for (const Slot& s : n.slots) {
    t.offset.push_back(static_cast<int>(rows.size()));
    t.count.push_back(static_cast<int>(s.cands.size()));
    for (const Candidate& c : s.cands)
      rows.push_back(parse_layers(candidate_layers(s, c, ""), s.in_c, s.in_h, s.in_w));
  }
  {
    const Network d = derive_network(n, std::vector<int>(n.slots.size(), 0), "fixed");
    std::vector<Layer> fixed;
    for (const Layer& l : d.layers)
      if (l.name == "stem" || l.name == "head" || l.name == "fc") fixed.push_back(l);
    rows.push_back(fixed);
  }

  // Distinct layers and distinct accelerators (ws ignores the scratchpad sizes).
  std::map<std::string, std::size_t> lindex, aindex;
  std::vector<const Layer*> layers;
  std::vector<std::vector<std::size_t>> row_layers(rows.size());
  for (std::size_t r = 0; r < rows.size(); ++r)
    for (const Layer& l : rows[r]) {
      auto [it, added] = lindex.emplace(layer_key(l), layers.size());
      if (added) layers.push_back(&l);
      row_layers[r].push_back(it->second);
    }
  std::vector<Accelerator> accels;
  std::vector<std::size_t> point_accel(static_cast<std::size_t>(hw.points));
  for (long long p = 0; p < hw.points; ++p) {
    const Accelerator a = hw.accel(p, "");
    auto [it, added] = aindex.emplace(accelerator_to_json(a).dump(), accels.size());
    if (added) accels.push_back(a);
    point_accel[static_cast<std::size_t>(p)] = it->second;
  }

  // cells[accel][layer], filled by `threads` workers, one accelerator at a time.
  std::vector<std::vector<Cell>> cells(accels.size(), std::vector<Cell>(layers.size()));
  std::atomic<std::size_t> next{0}, done{0};
  std::exception_ptr failure;
  std::mutex mu;
  auto work = [&] {
    for (std::size_t a; (a = next++) < accels.size();) {
      try {
        for (std::size_t l = 0; l < layers.size(); ++l) {
          Cell& c = cells[a][l];
          try {
            const LayerCost lc = layer_cost(*layers[l], accels[a], tech);
            c.lat_ms = lc.latency_us * 1e-3;
            c.energy_uj = lc.energy.total() * 1e-6;
          } catch (const MappingError& e) {
            c.ok = false;
            c.why = e.what();
          }
        }
      } catch (...) {
        std::lock_guard<std::mutex> g(mu);
        failure = std::current_exception();
      }
      ++done;
    }
  };
  std::vector<std::thread> pool;
  for (int i = 0; i < std::max(1, threads); ++i) pool.emplace_back(work);
  for (int tick = 0; done < accels.size(); ++tick) {
    if (progress && tick % 10 == 0)
      progress(static_cast<long long>(done), static_cast<long long>(accels.size()));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (std::thread& th : pool) th.join();
  if (failure) std::rethrow_exception(failure);
  if (progress) progress(static_cast<long long>(done), static_cast<long long>(accels.size()));
  t.layer_evals = static_cast<long long>(accels.size() * layers.size());

  // Sum the layers of each row per point.
  const std::size_t P = static_cast<std::size_t>(hw.points);
  const std::size_t n_rows = rows.size() - 1;
  t.lat_ms.assign(n_rows * P, 0);
  t.energy_uj.assign(n_rows * P, 0);
  t.ok.assign(n_rows * P, 1);
  t.fixed_lat_ms.assign(P, 0);
  t.fixed_energy_uj.assign(P, 0);
  t.fixed_ok.assign(P, 1);
  std::vector<std::string> first_why(rows.size());
  t.area_mm2.resize(P);
  for (std::size_t p = 0; p < P; ++p) {
    const std::vector<Cell>& cs = cells[point_accel[p]];
    t.area_mm2[p] = accelerator_area(accels[point_accel[p]], tech).total() * 1e-6;
    for (std::size_t r = 0; r < rows.size(); ++r) {
      const bool fixed = r == n_rows;
      double& lat = fixed ? t.fixed_lat_ms[p] : t.lat_ms[r * P + p];
      double& en = fixed ? t.fixed_energy_uj[p] : t.energy_uj[r * P + p];
      char& ok = fixed ? t.fixed_ok[p] : t.ok[r * P + p];
      for (std::size_t l : row_layers[r]) {
        lat += cs[l].lat_ms;
        en += cs[l].energy_uj;
        if (!cs[l].ok && ok) {
          ok = 0;
          t.why[r * P + p] = cs[l].why;
          if (first_why[r].empty()) first_why[r] = cs[l].why;
        }
      }
    }
  }
  // A row that maps nowhere leaves the search nothing to choose.
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const bool fixed = r == n_rows;
    bool any = false;
    for (std::size_t p = 0; p < P && !any; ++p) any = fixed ? t.fixed_ok[p] : t.ok[r * P + p];
    if (any) continue;
    std::string what = "the fixed layers (stem, head, fc)";
    for (std::size_t s = 0; s < n.slots.size(); ++s)
      if (!fixed && static_cast<int>(r) >= t.offset[s] && static_cast<int>(r) < t.offset[s] + t.count[s])
        what = fmt::format("candidate {} of {}", n.slots[s].cands[r - t.offset[s]].label(),
                           n.slots[s].name);
    throw MappingError(20, fmt::format("{} fit no point of the hardware space; widen the space "
                                       "or drop the candidate. On the first point: {}",
                                       what, first_why[r]));
  }
  return t;
}

double DesignCost::value(Metric m) const { return metric_value(*this, m); }

DesignCost design_cost(const CostTables& t, const std::vector<int>& choice, long long point) {
  const std::size_t P = static_cast<std::size_t>(t.points);
  const std::size_t p = static_cast<std::size_t>(point);
  DesignCost d;
  d.latency_ms = t.fixed_lat_ms[p];
  d.energy_uj = t.fixed_energy_uj[p];
  d.area_mm2 = t.area_mm2[p];
  if (!t.fixed_ok[p]) {
    d.mappable = false;
    d.why = t.why.at(t.ok.size() + p);
  }
  for (std::size_t s = 0; s < choice.size(); ++s) {
    const std::size_t r = t.row(static_cast<int>(s), choice[s]);
    d.latency_ms += t.lat_ms[r * P + p];
    d.energy_uj += t.energy_uj[r * P + p];
    if (!t.ok[r * P + p] && d.mappable) {
      d.mappable = false;
      d.why = t.why.at(r * P + p);
    }
  }
  return d;
}

}  // namespace hdx
