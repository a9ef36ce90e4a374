#include "model.h"

#include <algorithm>

namespace hdx {

bool Events::operator==(const Events& o) const {
  for (auto f : kEventFields)
    if (this->*f != o.*f) return false;
  return true;
}
Events Events::operator-(const Events& o) const {
  Events r;
  for (auto f : kEventFields) r.*f = this->*f - o.*f;
  return r;
}
Events& Events::operator+=(const Events& o) {
  for (auto f : kEventFields) this->*f += o.*f;
  return *this;
}
Events Events::operator*(long long k) const {
  Events r;
  for (auto f : kEventFields) r.*f = this->*f * k;
  return r;
}

std::vector<std::pair<std::string, long long>> event_list(const Events& e) {
  return {{"macs", e.macs},         {"dram_rd_bytes", e.dram_rd_bytes},
          {"dram_wr_bytes", e.dram_wr_bytes}, {"ifmap_wr", e.ifmap_wr},
          {"ifmap_rd", e.ifmap_rd}, {"weight_wr", e.weight_wr},
          {"weight_rd", e.weight_rd}, {"param_wr", e.param_wr},
          {"acc_rd", e.acc_rd},     {"acc_wr", e.acc_wr},
          {"spad_ifmap_rd", e.spad_ifmap_rd},   {"spad_ifmap_wr", e.spad_ifmap_wr},
          {"spad_filter_rd", e.spad_filter_rd}, {"spad_filter_wr", e.spad_filter_wr},
          {"spad_psum_rd", e.spad_psum_rd},     {"spad_psum_wr", e.spad_psum_wr}};
}

namespace {

using u64 = unsigned long long;

// Input positions [0, n) hit by tap t of a sliding window: #{o in [0, out): 0 <= o*s - p + t < n}.
long long taps_in_range(int out, int s, int p, int t, int n) {
  // 0 <= o*s - p + t < n  <=>  ceil((p - t) / s) <= o <= floor((n - 1 + p - t) / s)
  auto floor_div = [](int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); };
  const int lo = std::max(0, -floor_div(t - p, s));
  const int hi = std::min(out - 1, floor_div(n - 1 + p - t, s));
  return hi >= lo ? hi - lo + 1 : 0;
}

// Done times of one engine's commands, by command number (entry 0, "none", is time 0). A run
// of commands that the schedule skipped as periodic is kept as a gap: entry j in it is the
// entry m * d before it, m * P later, for the smallest m that leaves the gap.
class DoneList {
 public:
  void reset() {
    v_.assign(1, 0);
    gaps_.clear();
    n_ = 1;
    hint_ = 0;
  }
  u64 count() const { return n_; }
  u64 stored() const { return v_.size(); }
  void push(u64 t) {
    v_.push_back(t);
    ++n_;
  }
  u64 at(long long j) const {
    if (j <= 0) return 0;
    const u64 u = static_cast<u64>(j);
    if (gaps_.empty() || u >= gaps_.back().end) return v_[u - (n_ - v_.size())];
    return in_gaps(u);
  }
  void skip(u64 len, u64 d, u64 P) {
    if (len == 0) return;
    gaps_.push_back({n_, n_ + len, d, P, n_ - v_.size()});
    n_ += len;
  }

 private:
  struct Gap {
    u64 begin, end, d, P, before;  // before: entries in earlier gaps
  };
  u64 in_gaps(u64 j) const {
    // The last gap that begins at or before j; reads move forward, so try the last one first.
    size_t g = hint_ < gaps_.size() ? hint_ : 0;
    if (!(gaps_[g].begin <= j && (g + 1 == gaps_.size() || j < gaps_[g + 1].begin))) {
      auto it = std::upper_bound(gaps_.begin(), gaps_.end(), j,
                                 [](u64 x, const Gap& gap) { return x < gap.begin; });
      if (it == gaps_.begin()) return v_[j];
      g = static_cast<size_t>(it - gaps_.begin()) - 1;
    }
    hint_ = g;
    const Gap& gap = gaps_[g];
    if (j >= gap.end) return v_[j - gap.before - (gap.end - gap.begin)];
    const u64 m = (j - gap.begin) / gap.d + 1;
    return at(static_cast<long long>(j - m * gap.d)) + m * gap.P;
  }
  std::vector<u64> v_;
  std::vector<Gap> gaps_;
  u64 n_ = 1;
  mutable size_t hint_ = 0;
};

// Replays the three engines of docs/architecture.md. Cycle 0 is the cycle in which start is
// seen; done(x, i) is the first cycle in which engine x's completed count reads i. With
// Skips, runs of uniform loop iterations that repeat periodically are skipped in one step
// (the scheduler decides when, with the questions below); without, every command is replayed.
// The done lists are kept per thread so that a replay does not allocate.
template <bool Skips>
class Timing {
 public:
  static constexpr bool kSkips = Skips;

  explicit Timing(const Accelerator& a) : R_(a.pe_rows), C_(a.pe_cols), lat_(a.dram_latency_cycles) {
    for (DoneList& d : done_) d.reset();
  }

  void ld(const LdCmd& c) {
    const u64 start = std::max(ld_free_, dep(c.w, 0, ld_free_));
    ld_free_ = start + c.beats();
    done_[0].push(start + c.beats() + lat_ + 1);
    ev.dram_rd_bytes += static_cast<long long>(c.bytes());
    (c.target == kLdIfmap ? ev.ifmap_wr : c.target == kLdWeight ? ev.weight_wr : ev.param_wr) +=
        static_cast<long long>(c.bytes());
  }

  void cmp(const CmpCmd& c) {
    // Setup (lane stepping and weight preload, pe_rows cycles) into bank j % 2 may start
    // once the command is fetched, its waits are met and the bank's previous user (j - 2)
    // has left the array. Streaming starts when setup is done and the previous stream ended.
    const u64 j = done_[1].count() - 1;
    const u64 own = j >= 2 ? std::max(cmp_fetch_, e2_ + C_ - 1) : cmp_fetch_;
    const u64 setup = std::max(own, dep(c.w, 1, own));
    const u64 s = std::max(setup + R_, e1_);
    cmp_fetch_ = s;
    e2_ = e1_;
    e1_ = s + c.m_count;
    done_[1].push(e1_ + R_ + C_ + 1);  // the last pixel's accumulator write (hdx_acc)
    const long long m = c.m_count, bytes_acc = 4LL * C_ * m;
    ev.macs += m * c.k_valid * c.n_valid;
    ev.weight_rd += 1LL * c.k_valid * C_;
    ev.acc_wr += bytes_acc;
    if (!c.first) ev.acc_rd += bytes_acc;
  }

  void st(const StCmd& c) {
    const u64 start = std::max(st_free_, dep(c.w, 2, st_free_));
    const u64 len = u64(c.m_count) * c.beats_per_pix;
    st_free_ = start + len;
    done_[2].push(start + len + 4);  // accumulator read, three output-stage registers
    ev.acc_rd += 4LL * C_ * c.m_count;
    ev.dram_wr_bytes += 1LL * c.m_count * c.n_valid;
  }

  // An rs pass (schedule_rs.h, docs/architecture.md "rs"). The engine takes it when it is
  // free and the waits are met and loads the filter scratchpads (p * q * kw cycles). Each
  // output column then delivers its new input values, pe_rows diagonals of one chunk per
  // cycle, and runs
  // p * q * kw MAC cycles; its sums are copied into the drain register once the previous
  // column's e rows have drained (one accumulator entry per cycle). The engine is free when
  // the last copy is made; the pass completes 3 cycles after the last drain step (the
  // accumulator's read-modify-write pipeline).
  void pass(const RsCmd& c) {
    const u64 t_mac = u64(c.p) * c.q * c.kw, batches = c.chunks * ((c.span() + R_ - 1) / R_);
    const u64 step = batches * c.q * std::min(c.stride, c.kw) + t_mac;  // columns after 0
    u64 t = std::max(cmp_fetch_, dep(c.w, 1, cmp_fetch_)) + t_mac;       // filter load
    t = std::max(t + batches * c.q * c.kw + t_mac, drain_free_);         // column 0 copied
    t += (c.wout - 1) * std::max<u64>(step, c.e);
    cmp_fetch_ = t;
    drain_free_ = t + c.e;
    done_[1].push(drain_free_ + 3);  // the last entry's accumulator write (hdx_acc)
    const int s = static_cast<int>(c.stride), kw = static_cast<int>(c.kw);
    const long long vc = std::min<long long>(1LL * c.chunks * c.q, 1LL * c.cin_g - c.c0);
    const long long vrows =
        taps_in_range(static_cast<int>(c.span()), 1, -c.ih0, 0, static_cast<int>(c.in_h));
    long long vcols = 0;  // input columns delivered that are not padding
    if (s <= kw)
      vcols = taps_in_range(kw + (static_cast<int>(c.wout) - 1) * s, 1, -c.iw0, 0,
                            static_cast<int>(c.in_w));
    else
      for (int x = 0; x < kw; ++x)
        vcols += taps_in_range(static_cast<int>(c.wout), s, -c.iw0, x, static_cast<int>(c.in_w));
    const long long w_reads = 1LL * c.rows * kw * vc * c.nv;
    const long long macs = 1LL * c.wout * c.e * w_reads;
    ev.macs += macs;
    ev.ifmap_rd += vc * vrows * vcols;
    ev.weight_rd += w_reads;
    ev.spad_filter_wr += w_reads * c.e;
    ev.spad_ifmap_wr +=
        static_cast<long long>(c.deliver_values()) * c.rows * c.e * c.chunks * c.sets;
    ev.spad_ifmap_rd += macs;
    ev.spad_filter_rd += macs;
    ev.spad_psum_rd += macs;
    ev.spad_psum_wr += macs;
    const long long bytes_acc = 4LL * C_ * c.wout * c.e;
    ev.acc_wr += bytes_acc;
    if (!c.first) ev.acc_rd += bytes_acc;
  }

  // ---- fast-forward (see WsScheduler) ----
  // Engines are 0 LD, 1 CMP, 2 ST. A period P[x] is how much later engine x does the same
  // work one iteration on; an engine that does not work in the iteration has period 0.
  struct Mark {
    u64 free[3];  // when each engine can take its next command
    u64 e1, e2;
    u64 n[3];
    Events ev;
    // Waits of engine r on engine x (index 3r + x) so far: all, and those that decided the
    // start time.
    uint32_t read[9], bound[9];
  };
  Mark mark() const {
    Mark k;  // every field is set below
    k.free[0] = ld_free_;
    k.free[1] = cmp_fetch_;
    k.free[2] = st_free_;
    k.e1 = e1_;
    k.e2 = e2_;
    for (int x = 0; x < 3; ++x) k.n[x] = done_[x].count();
    k.ev = ev;
    std::copy(read_, read_ + 9, k.read);
    std::copy(bound_, bound_ + 9, k.bound);
    return k;
  }
  // The iterations a -> b and b -> c issue the same commands with the same events.
  static bool same_work(const Mark& a, const Mark& b, const Mark& c) {
    for (int x = 0; x < 3; ++x)
      if (b.n[x] - a.n[x] != c.n[x] - b.n[x]) return false;
    return b.ev - a.ev == c.ev - b.ev;
  }
  // Every engine that works in a -> b is, at b, where it was at a plus its period, and every
  // wait between engines of different periods was on an engine with a shorter one and did
  // not decide a start time (so it never will).
  static bool same_engines(const Mark& a, const Mark& b, u64 P[3]) {
    if (b.n[1] == a.n[1] || a.n[1] < 3) return false;  // CMP works; past its first two
    for (int x = 0; x < 3; ++x) P[x] = b.n[x] == a.n[x] ? 0 : b.free[x] - a.free[x];
    if (b.e1 != a.e1 + P[1] || b.e2 != a.e2 + P[1]) return false;
    for (int r = 0; r < 3; ++r)
      for (int x = 0; x < 3; ++x) {
        const int i = 3 * r + x;
        if (b.read[i] != a.read[i] && P[x] != P[r] && (b.bound[i] != a.bound[i] || P[x] > P[r]))
          return false;
      }
    return true;
  }
  // A wait of `reader` on command ia (at a) or ib (at b) of `owner` acts alike from a and
  // from b: the reader does not work in a -> b, or the done time moved by the period of
  // both engines, or both readers are past it and the owner's period is not the longer
  // (then *passed is set, also when the reader does not work).
  bool same_wait(const Mark& a, const Mark& b, const u64 P[3], int reader, int owner,
                 long long ia, long long ib, bool* passed = nullptr) const {
    const bool idle = b.n[reader] == a.n[reader];
    const u64 va = done_[owner].at(ia), vb = done_[owner].at(ib);
    const bool past = va <= a.free[reader] && vb <= b.free[reader] && P[owner] <= P[reader];
    if (passed) *passed = idle || past;
    return idle || past || (vb == va + P[owner] && P[owner] == P[reader]);
  }
  // Skips k more iterations like a -> b.
  void skip(long long k, const Mark& a, const Mark& b) {
    u64 P[3];
    for (int x = 0; x < 3; ++x) {
      const u64 d = b.n[x] - a.n[x];
      P[x] = d ? b.free[x] - a.free[x] : 0;
      if (d) done_[x].skip(static_cast<u64>(k) * d, d, P[x]);
    }
    ld_free_ += k * P[0];
    cmp_fetch_ += k * P[1];
    e1_ += k * P[1];
    e2_ += k * P[1];
    st_free_ += k * P[2];
    ev += (b.ev - a.ev) * k;
  }

  // done_o waits for the engines and for the response of the last write beat, which the
  // DRAM returns 1 + latency cycles after the beat (one cycle after the ST count moves).
  u64 end() const {
    u64 t = 0;
    for (const DoneList& d : done_) t = std::max(t, d.at(static_cast<long long>(d.count()) - 1));
    const long long n_st = static_cast<long long>(done_[2].count()) - 1;
    if (n_st > 0) t = std::max(t, done_[2].at(n_st) + 1 + lat_);
    return t;
  }
  long long count(int x) const { return static_cast<long long>(done_[x].count()) - 1; }
  long long replayed() const {
    long long n = 0;
    for (const DoneList& d : done_) n += static_cast<long long>(d.stored()) - 1;
    return n;
  }

  Events ev;

 private:
  // The latest done time that command of engine r waits for; own is the time the engine
  // would start without waits.
  u64 dep(const Waits& w, int r, u64 own) {
    const long long idx[3] = {w.ld, w.cmp, w.st};
    u64 t = 0;
    for (int x = 0; x < 3; ++x) {
      if (idx[x] == 0) continue;
      const u64 v = done_[x].at(idx[x]);
      if constexpr (Skips) {
        ++read_[3 * r + x];
        if (v > own) ++bound_[3 * r + x];
      }
      t = std::max(t, v);
    }
    return t;
  }
  const u64 R_, C_, lat_;
  u64 ld_free_ = 2, st_free_ = 2, cmp_fetch_ = 2;
  u64 e1_ = 0, e2_ = 0;  // stream ends of the previous two CMP commands
  uint32_t read_[9] = {}, bound_[9] = {};
  u64 drain_free_ = 0;  // rs: when the drain register can take the next column's sums
  static thread_local DoneList done_[3];
};
template <bool Skips>
thread_local DoneList Timing<Skips>::done_[3];

// Utilization, latency and energy from the cycles and events.
void finish(LayerCost& r, const Accelerator& a, const Tech& tech) {
  r.utilization = r.cycles > 0 ? static_cast<double>(r.ev.macs) /
                                     (static_cast<double>(r.cycles) * a.pe_rows * a.pe_cols)
                               : 0.0;
  r.latency_us = static_cast<double>(r.cycles) / a.clock_mhz;
  r.energy = event_energy(r.ev, a, tech);
}

template <class T>
void count_commands(LayerCost& r, const T& t) {
  r.n_ld = t.count(0);
  r.n_cmp = t.count(1);
  r.n_st = t.count(2);
  r.n_replayed = t.replayed();
}

template <bool Skips>
LayerCost cost_ws(const Layer& l, const Accelerator& a, const Tech& tech) {
  LayerCost r;
  r.name = l.name;
  r.tiling = ws_tiling(l, a);
  Timing<Skips> t(a);
  ws_schedule(l, a, r.tiling, DramMap{}, t);
  r.cycles = static_cast<long long>(t.end());
  r.ev = t.ev;
  // Every (group, output-channel tile, pixel, reduction index) pair is read once; padding
  // positions are not read.
  long long vh = 0, vw = 0;
  for (int i = 0; i < l.kh; ++i) vh += taps_in_range(l.out_h, l.stride, l.pad, i, l.in_h);
  for (int i = 0; i < l.kw; ++i) vw += taps_in_range(l.out_w, l.stride, l.pad, i, l.in_w);
  r.ev.ifmap_rd = 1LL * l.groups * r.tiling.n_tiles * l.cin_g() * vh * vw;
  count_commands(r, t);
  finish(r, a, tech);
  return r;
}

// The rs schedule is replayed command by command.
LayerCost cost_rs(const Layer& l, const Accelerator& a, const Tech& tech) {
  struct Sink : RsSink {
    Timing<false> t;
    explicit Sink(const Accelerator& a) : t(a) {}
    void ld(const LdCmd& c) override { t.ld(c); }
    void pass(const RsCmd& c) override { t.pass(c); }
    void st(const StCmd& c) override { t.st(c); }
  };
  LayerCost r;
  r.name = l.name;
  r.rs = rs_tiling(l, a);
  Sink s(a);
  rs_schedule(l, a, r.rs, DramMap{}, s);
  r.cycles = static_cast<long long>(s.t.end());
  r.ev = s.t.ev;
  count_commands(r, s.t);
  finish(r, a, tech);
  return r;
}

// A host operation costs no accelerator cycles, events or energy.
LayerCost host_cost(const Layer& l) {
  LayerCost c;
  c.name = l.name;
  return c;
}

}  // namespace

Energy event_energy(const Events& e, const Accelerator& a, const Tech& tech) {
  Energy en;
  en.mac = tech.mac_pj * static_cast<double>(e.macs);
  en.dram = tech.dram_pj_per_byte * static_cast<double>(e.dram_rd_bytes + e.dram_wr_bytes);
  const SramEnergy s = sram_energy(a, tech);
  auto d = [](long long n) { return static_cast<double>(n); };
  en.ifmap = s.ifmap_rd * d(e.ifmap_rd) + s.ifmap_wr * d(e.ifmap_wr);
  en.weight = s.weight_rd * d(e.weight_rd) + s.weight_wr * d(e.weight_wr);
  en.acc = s.acc_rd * d(e.acc_rd) + 2 * s.acc_wr * d(e.acc_wr);  // writes go to both copies
  en.param = tech.reg_pj_per_byte * d(e.param_wr);
  en.spad = tech.reg_pj_per_byte *
                d(e.spad_ifmap_rd + e.spad_ifmap_wr + 4 * (e.spad_psum_rd + e.spad_psum_wr)) +
            s.filter_rd * d(e.spad_filter_rd) + s.filter_wr * d(e.spad_filter_wr);
  return en;
}

LayerCost layer_cost(const Layer& l, const Accelerator& a, const Tech& tech) {
  if (l.host()) return host_cost(l);
  return a.dataflow == Dataflow::RS ? cost_rs(l, a, tech) : cost_ws<true>(l, a, tech);
}

LayerCost layer_cost_full_replay(const Layer& l, const Accelerator& a, const Tech& tech) {
  if (l.host()) return host_cost(l);
  return a.dataflow == Dataflow::RS ? cost_rs(l, a, tech) : cost_ws<false>(l, a, tech);
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
