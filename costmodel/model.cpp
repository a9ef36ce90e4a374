#include "model.h"

#include <algorithm>

namespace hdx {

bool Events::operator==(const Events& o) const { return event_list(*this) == event_list(o); }

std::vector<std::pair<std::string, long long>> event_list(const Events& e) {
  return {{"macs", e.macs},         {"dram_rd_bytes", e.dram_rd_bytes},
          {"dram_wr_bytes", e.dram_wr_bytes}, {"ifmap_wr", e.ifmap_wr},
          {"ifmap_rd", e.ifmap_rd}, {"weight_wr", e.weight_wr},
          {"weight_rd", e.weight_rd}, {"param_wr", e.param_wr},
          {"acc_rd", e.acc_rd},     {"acc_wr", e.acc_wr}};
}

namespace {

using u64 = unsigned long long;

// Replays the three engines of docs/architecture.md. Cycle 0 is the cycle in which start is
// seen; done_x[i] is the first cycle in which engine x's completed count reads i.
class Timing : public WsSink {
 public:
  Timing(const Accelerator& a) : R_(a.pe_rows), C_(a.pe_cols), lat_(a.dram_latency_cycles) {
    done_ld_.push_back(0);
    done_cmp_.push_back(0);
    done_st_.push_back(0);
  }

  void ld(const LdCmd& c) override {
    const u64 start = std::max(ld_free_, dep(c.w));
    ld_free_ = start + c.beats();
    done_ld_.push_back(start + c.beats() + lat_ + 1);
    ev.dram_rd_bytes += static_cast<long long>(c.bytes());
    (c.target == kLdIfmap ? ev.ifmap_wr : c.target == kLdWeight ? ev.weight_wr : ev.param_wr) +=
        static_cast<long long>(c.bytes());
  }

  void cmp(const CmpCmd& c) override {
    // Setup (lane stepping and weight preload, pe_rows cycles) into bank j % 2 may start
    // once the command is fetched, its waits are met and the bank's previous user (j - 2)
    // has left the array. Streaming starts when setup is done and the previous stream ended.
    const size_t j = done_cmp_.size() - 1;
    u64 setup = std::max(cmp_fetch_, dep(c.w));
    if (j >= 2) setup = std::max(setup, e2_ + C_ - 1);
    const u64 s = std::max(setup + R_, e1_);
    cmp_fetch_ = s;
    e2_ = e1_;
    e1_ = s + c.m_count;
    done_cmp_.push_back(e1_ + R_ + C_);
    const long long m = c.m_count, bytes_acc = 4LL * C_ * m;
    ev.macs += m * c.k_valid * c.n_valid;
    ev.weight_rd += 1LL * c.k_valid * C_;
    ev.acc_wr += bytes_acc;
    if (!c.first) ev.acc_rd += bytes_acc;
  }

  void st(const StCmd& c) override {
    const u64 start = std::max(st_free_, dep(c.w));
    const u64 len = u64(c.m_count) * c.beats_per_pix;
    st_free_ = start + len;
    done_st_.push_back(start + len + 2);
    ev.acc_rd += 4LL * C_ * c.m_count;
    ev.dram_wr_bytes += 1LL * c.m_count * c.n_valid;
  }

  u64 end() const {
    return std::max({done_ld_.back(), done_cmp_.back(), done_st_.back()});
  }

  Events ev;
  std::vector<u64> done_ld_, done_cmp_, done_st_;

 private:
  u64 dep(const Waits& w) const {
    return std::max({done_ld_[w.ld], done_cmp_[w.cmp], done_st_[w.st]});
  }
  const u64 R_, C_, lat_;
  u64 ld_free_ = 2, st_free_ = 2, cmp_fetch_ = 2;
  u64 e1_ = 0, e2_ = 0;  // stream ends of the previous two CMP commands
};

// Input positions [0, n) hit by tap t of a sliding window: #{o in [0, out): 0 <= o*s - p + t < n}.
long long taps_in_range(int out, int s, int p, int t, int n) {
  long long cnt = 0;
  for (int o = 0; o < out; ++o) {
    const int i = o * s - p + t;
    cnt += (i >= 0 && i < n);
  }
  return cnt;
}

double sram_pj(const Tech& t, long long buf_bytes, long long bytes) {
  return t.sram_pj_per_byte(buf_bytes) * static_cast<double>(bytes);
}

}  // namespace

LayerCost layer_cost(const Layer& l, const Accelerator& a, const Tech& tech) {
  LayerCost r;
  r.name = l.name;
  r.tiling = ws_tiling(l, a);
  Timing t(a);
  ws_schedule(l, a, DramMap{}, t);
  r.cycles = static_cast<long long>(t.end());
  r.ev = t.ev;
  // Every (group, output-channel tile, pixel, reduction index) pair is read once; padding
  // positions are not read.
  long long vh = 0, vw = 0;
  for (int i = 0; i < l.kh; ++i) vh += taps_in_range(l.out_h, l.stride, l.pad, i, l.in_h);
  for (int i = 0; i < l.kw; ++i) vw += taps_in_range(l.out_w, l.stride, l.pad, i, l.in_w);
  r.ev.ifmap_rd = 1LL * l.groups * r.tiling.n_tiles * l.cin_g() * vh * vw;
  r.n_ld = static_cast<long long>(t.done_ld_.size()) - 1;
  r.n_cmp = static_cast<long long>(t.done_cmp_.size()) - 1;
  r.n_st = static_cast<long long>(t.done_st_.size()) - 1;
  r.utilization = r.cycles > 0 ? static_cast<double>(r.ev.macs) /
                                     (static_cast<double>(r.cycles) * a.pe_rows * a.pe_cols)
                               : 0.0;
  r.latency_us = static_cast<double>(r.cycles) / a.clock_mhz;
  r.energy.mac = tech.mac_pj * static_cast<double>(r.ev.macs);
  r.energy.dram =
      tech.dram_pj_per_byte * static_cast<double>(r.ev.dram_rd_bytes + r.ev.dram_wr_bytes);
  r.energy.ifmap = sram_pj(tech, a.ifmap_bytes(), r.ev.ifmap_rd + r.ev.ifmap_wr);
  r.energy.weight = sram_pj(tech, a.weight_bytes(), r.ev.weight_rd + r.ev.weight_wr);
  r.energy.acc = sram_pj(tech, a.ofmap_bytes(), r.ev.acc_rd + r.ev.acc_wr);
  r.energy.param = tech.reg_pj_per_byte * static_cast<double>(r.ev.param_wr);
  return r;
}

NetworkCost network_cost(const Network& n, const Accelerator& a, const Tech& tech) {
  NetworkCost c;
  for (const Layer& l : n.layers) {
    c.layers.push_back(layer_cost(l, a, tech));
    const LayerCost& lc = c.layers.back();
    c.cycles += lc.cycles;
    c.macs += lc.ev.macs;
    c.energy_uj += lc.energy.total() * 1e-6;
  }
  c.latency_us = static_cast<double>(c.cycles) / a.clock_mhz;
  c.area = accelerator_area(a, tech);
  c.area_mm2 = c.area.total() * 1e-6;
  return c;
}

}  // namespace hdx
