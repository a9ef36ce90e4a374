// The weight-stationary tile schedule: one definition, used by the cost model (timing and
// event counts) and by the simulation harness (which feeds the same commands to the RTL).
//
// The ws accelerator runs three engines, each on its own in-order command stream:
//   LD  moves DRAM -> ifmap / weight / param buffers,
//   CMP preloads a weight fold into the array and streams an accumulator tile through it,
//   ST  reads accumulators, applies the output stage and writes int8 results to DRAM.
// Every command carries three waits: it starts only once the LD, CMP and ST engines have
// completed at least that many commands. docs/architecture.md explains the engines.
#pragma once
#include <algorithm>
#include <cstdint>
#include <iterator>
#include <string>
#include <vector>

#include "accel.h"
#include "network.h"

namespace hdx {

struct Waits {
  uint32_t ld = 0, cmp = 0, st = 0;
};

enum LdTarget : uint32_t { kLdIfmap = 0, kLdWeight = 1, kLdParam = 2 };

// Copies `rows` rows of `row_len` bytes from DRAM to a buffer. beats_per_row is for the
// model only; the LD engine counts the bytes left in the row instead.
struct LdCmd {
  Waits w;
  uint32_t target = 0, dram_addr = 0, rows = 0, row_len = 0, beats_per_row = 0,
           src_stride = 0, dst_addr = 0, dst_stride = 0;
  uint64_t beats() const { return uint64_t(rows) * beats_per_row; }
  uint64_t bytes() const { return uint64_t(rows) * row_len; }
};

// Preloads the weight fold at w_addr into the array, then streams m_count output pixels.
// Lane r of the array reads reduction index k0 + r; its (kh, kw, c) and buffer offset are
// stepped from lane 0's by the setup unit (docs/architecture.md, "ws compute engine").
struct CmpCmd {
  Waits w;
  uint32_t w_addr = 0, k_valid = 0, n_valid = 0, m_count = 0;
  int32_t lane0_kh = 0, lane0_kw = 0, lane0_c = 0, lane0_off = 0;
  int32_t cin_g = 0, kw_size = 0, d_kw = 0, d_kh = 0;
  int32_t ih0 = 0, iw0 = 0, pix_base0 = 0, ow0 = 0, wout = 0, stride = 0, iw_start = 0;
  int32_t d_ow = 0, d_oh = 0, in_h = 0, in_w = 0;
  uint32_t acc_addr = 0, first = 0;
};

// Writes m_count accumulator entries, n_valid lanes each, through the output stage.
struct StCmd {
  Waits w;
  uint32_t acc_addr = 0, m_count = 0, n_valid = 0, beats_per_pix = 0, param_slot = 0,
           relu = 0, dram_addr = 0, dram_stride = 0;
};

// How the input is cut into ifmap regions (both dataflows): the whole input, bands of output
// rows over all channels, or one output row over chunks of groups.
struct IfmapTiling {
  bool ifmap_resident = false;          // the whole input fits and is loaded once
  long long ifmap_slot_bytes = 0;       // bytes per ifmap slot (two slots unless resident)
  int region_out_rows = 0;              // output rows per ifmap region
  int groups_per_region = 0;            // groups whose channels one region holds
};
// Throws MappingError (E012) naming the ifmap KiB needed.
IfmapTiling ifmap_tiling(const Layer& l, const Accelerator& a);

// Byte pitches of an ifmap region holding `groups` groups: pp from one input position to the
// next, rp from one input row to the next, padded so that the reads of one cycle fall in
// distinct banks of the ifmap buffer (docs/architecture.md, "Memories"). ws: the smallest
// values >= the packed ones with pp = cin_g and rp = kw * cin_g modulo the bank count (the
// pe_rows lanes of a fold read consecutive reduction indices). rs: pp packed (the region's
// channels), rp odd (the pe_rows ports read consecutive input rows).
struct IfmapPitch {
  long long pp = 0, rp = 0;
};
IfmapPitch ifmap_pitch(const Layer& l, const Accelerator& a, int groups);
// Banks of the ifmap buffer (hdx_ibuf, one byte wide each): the power of two >= 2, pe_rows
// and the DRAM bytes per cycle. Ifmap slots start on a bank row.
int ifmap_banks(const Accelerator& a);

// How a layer is cut into tiles on a ws accelerator.
struct WsTiling : IfmapTiling {
  int n_tiles = 0, k_folds = 0;         // over output channels (pe_cols), reduction (pe_rows)
  int acc_tile_pixels = 0;              // output pixels per accumulator tile (half the buffer)
  int weight_slots = 0;                 // weight folds the weight buffer holds
  int fold_pitch = 0;                   // bytes from one weight slot to the next
  bool weights_resident = false;        // every fold has its own slot, loaded once
  bool params_resident = false;
};

// Throws MappingError naming the buffer that is too small and the KiB it needs.
WsTiling ws_tiling(const Layer& l, const Accelerator& a);

// The word of the ws weight buffer's SRAM banks (hdx_buf): the power of two >= 2, the DRAM
// bytes per cycle and pe_cols. Weight slots start on word boundaries.
int ws_weight_word_bytes(const Accelerator& a);

// Byte addresses of the layer's tensors in DRAM (layouts in docs/arithmetic.md and
// docs/architecture.md): input HWC, weights [group][k][n], params 9 bytes per out channel,
// output HWC.
struct DramMap {
  uint32_t in = 0, weight = 0, param = 0, out = 0;
};

constexpr int kParamBytes = 9;  // int32 bias, int32 mult, uint8 shift, little endian

// Emits the layer's commands in program order to sink.ld(const LdCmd&), sink.cmp(const
// CmpCmd&) and sink.st(const StCmd&); each command's waits name earlier commands only. The
// sink is a template parameter so that the cost model's replay inlines and skips the fields
// only the RTL reads. t must be ws_tiling(l, a). Defined at the end of this header.
template <class Sink>
void ws_schedule(const Layer& l, const Accelerator& a, const WsTiling& t, const DramMap& map,
                 Sink& sink);

struct WsProgram {
  std::vector<LdCmd> ld;
  std::vector<CmpCmd> cmp;
  std::vector<StCmd> st;
};
WsProgram ws_program(const Layer& l, const Accelerator& a, const DramMap& map);

// Command word layout shared by the harness (packing) and rtlgen (the Verilog include
// that the templates unpack with). Every field is one 32-bit word.
struct CmdField {
  const char* name;
  int word;
};
const std::vector<CmdField>& ld_fields();
const std::vector<CmdField>& cmp_fields();
const std::vector<CmdField>& st_fields();
std::vector<uint32_t> pack(const LdCmd& c);
std::vector<uint32_t> pack(const CmpCmd& c);
std::vector<uint32_t> pack(const StCmd& c);

// ---- the schedule ----

namespace detail {

enum Engine { kLd = 0, kCmp = 1, kSt = 2 };

inline long long ceil_div(long long a, long long b) { return (a + b - 1) / b; }
// The KiB that hold `bytes`, as the number an error message asks for.
std::string kib(long long bytes);

// What the waits of later commands read, besides the command just emitted. Commands are
// numbered per engine from 1 in program order; 0 means "none".
struct WsState {
  uint32_t n[3] = {0, 0, 0};       // commands emitted so far: LD, CMP, ST
  uint32_t region_ld = 0;          // the LD that filled the current ifmap region
  uint32_t islot_cmp[2] = {0, 0};  // last CMP that read each ifmap slot
  uint32_t pslot_ld[2] = {0, 0};   // last LD into each param slot
  uint32_t pslot_st[2] = {0, 0};   // last ST that read each param slot
  int pslot_pid[2] = {-1, -1};     // (group, tile) each resident param slot holds
  long long region_no = 0, param_no = 0;  // ifmap regions and param loads so far
  bool operator==(const WsState& o) const {
    auto eq = [](const auto& x, const auto& y) {
      return std::equal(std::begin(x), std::end(x), std::begin(y));
    };
    return eq(n, o.n) && region_ld == o.region_ld && eq(islot_cmp, o.islot_cmp) &&
           eq(pslot_ld, o.pslot_ld) && eq(pslot_st, o.pslot_st) && eq(pslot_pid, o.pslot_pid) &&
           region_no == o.region_no && param_no == o.param_no;
  }
};

// An ifmap region: output rows [oh_a, oh_b) of groups from ga; it holds input rows
// [ir0, ir1) (none when ir1 <= ir0: the rows are all padding) of cl channels per position,
// from byte ibase of the ifmap buffer (slot islot), pp bytes per position and rp per row.
struct Region {
  int oh_a = 0, oh_b = 0, ga = 0, ir0 = 0, ir1 = 0, cl = 0, pp = 0, rp = 0, islot = 0;
  uint32_t ibase = 0;
};
Region region_of(const Layer& l, const Accelerator& a, const IfmapTiling& t, int oh_a,
                 int oh_b, int ga, int gb, int islot);
// The commands both dataflows build alike; the caller sets their waits. A region is one
// load, or one per input row where its rows and positions are both padded.
std::vector<LdCmd> ifmap_lds(const Layer& l, const DramMap& map, int bpc, const Region& r);
LdCmd param_ld(const Layer& l, const DramMap& map, int bpc, int pe_cols, int g, int n0, int nv,
               int pslot);
StCmd store(const Layer& l, const DramMap& map, int bpc, uint32_t acc_addr, long long m_a,
            uint32_t mt, int g, int n0, int nv, int pslot);

// Emits the commands of one layer. Each loop names the range of its iterations that are
// uniform: they emit the same commands up to addresses, and their waits name commands at
// the same distance back. A sink that can fast-forward (Sink::kSkips) is shown the state at
// the start of each uniform iteration; once an iteration does the same work as the one before
// and leaves the schedule and the sink's timing in the state it started from, shifted by
// its commands and by one period of time, every later uniform iteration repeats it, each
// one period later, and the sink skips them in one step (docs/costmodel.md).
template <class Sink>
class WsScheduler {
 public:
  WsScheduler(const Layer& l, const Accelerator& a, const WsTiling& t, const DramMap& map,
              Sink& sink)
      : l_(l), a_(a), t_(t), map_(map), sink_(sink), R_(a.pe_rows), C_(a.pe_cols),
        bpc_(a.dram_bytes_per_cycle), N_(l.cout_g()), K_(static_cast<int>(l.k())),
        cin_g_(l.cin_g()) {}

  void run() {
    const int ror = t_.region_out_rows, gpr = t_.groups_per_region;
    const int n_bands = (l_.out_h + ror - 1) / ror, n_chunks = (l_.groups + gpr - 1) / gpr;
    // A band is uniform when it is full and its input rows need no clipping by padding.
    auto uniform_band = [&](int b) {
      const int oh_a = b * ror, oh_b = oh_a + ror;
      // (Band 0 loads resident weights on first use, so it is never uniform.)
      return b > 0 && !t_.ifmap_resident && oh_b <= l_.out_h && oh_a * l_.stride - l_.pad >= 0 &&
             (oh_b - 1) * l_.stride - l_.pad + l_.kh <= l_.in_h;
    };
    int b0 = 0;
    while (b0 < n_bands && !uniform_band(b0)) ++b0;
    int b1 = b0;
    while (b1 < n_bands && uniform_band(b1)) ++b1;
    loop(0, n_bands, b0, b1, [&](int b) {
      const int oh_a = b * ror, oh_b = std::min(l_.out_h, oh_a + ror);
      loop(0, n_chunks, 0, l_.groups / gpr, [&](int ck) {
        region(oh_a, oh_b, ck * gpr, std::min(l_.groups, (ck + 1) * gpr));
      });
    });
  }

 private:
  uint32_t beats(uint32_t len) const { return (len + bpc_ - 1) / bpc_; }

  // Runs body(i) for i in [begin, end); iterations [u0, u1) are uniform. A run repeats
  // with a period of one or two iterations (two when the CMP engine's weight banks, which
  // alternate, make every other iteration different).
  template <class Body>
  void loop(int begin, int end, int u0, int u1, Body&& body) {
    int i = begin;
    if constexpr (Sink::kSkips) {
      u0 = std::max(u0, begin);
      u1 = std::min(u1, end);
      if (u1 - u0 >= 8) {  // shorter runs gain too little to pay for the checks
        for (; i < u0; ++i) body(i);
        const WsState first = st_;
        History& hist = history_[depth_++];  // one per nesting level, reused
        WsState* const h_st = hist.st;
        typename Sink::Mark* const h_mk = hist.mk;
        // A run that is not periodic yet is checked again after 1, 2, 4, ... iterations.
        int next_check = u0 + 2, gap = 1;
        for (; i < u1; ++i) {
          const int now = (i - u0) % kH;
          if (i + kH - 1 >= next_check) {
            h_st[now] = st_;
            h_mk[now] = sink_.mark();
          }
          if (i == next_check) {
            for (int q = 1; q <= 2; ++q) {
              const int b = (i - u0 - q) % kH, a = (i - u0 - 2 * q) % kH;
              if (i - 2 * q < u0 || i + q >= u1 ||
                  !sink_.same_work(h_mk[a], h_mk[b], h_mk[now]) ||
                  !repeats(first, h_st[b], h_mk[b], h_mk[now]))
                continue;
              const long long k = (u1 - i) / q;  // iterations i .. i + k * q - 1 are skipped
              sink_.skip(k, h_mk[b], h_mk[now]);
              st_ = shifted(h_st[b], first, k + 1);
              i += static_cast<int>(k * q);
              --depth_;
              for (; i < end; ++i) body(i);
              return;
            }
            next_check = i + gap;
            gap *= 2;
          }
          body(i);
        }
        --depth_;
      }
    }
    for (; i < end; ++i) body(i);
  }

  // The state `blocks` iterations after `from`, by the shift that leads from `from` to the
  // current state: command numbers emitted inside the loop (after `first`) move on by the
  // commands per iteration, and the two-slot rings turn by the uses per iteration.
  WsState shifted(const WsState& from, const WsState& first, long long blocks) const {
    const WsState& cur = st_;
    long long d[3];
    for (int x = 0; x < 3; ++x) d[x] = static_cast<long long>(cur.n[x]) - from.n[x];
    const long long dr = cur.region_no - from.region_no, dp = cur.param_no - from.param_no;
    auto mv = [&](uint32_t v, int x) {
      return v > first.n[x] ? static_cast<uint32_t>(v + blocks * d[x]) : v;
    };
    auto ring = [&](const uint32_t* src, uint32_t* dst, long long turns, int x) {
      for (int s = 0; s < 2; ++s) dst[(s + turns) % 2] = mv(src[s], x);
    };
    WsState r = from;
    for (int x = 0; x < 3; ++x) r.n[x] = static_cast<uint32_t>(from.n[x] + blocks * d[x]);
    r.region_ld = mv(from.region_ld, kLd);
    ring(from.islot_cmp, r.islot_cmp, blocks * dr, kCmp);
    ring(from.pslot_ld, r.pslot_ld, blocks * dp, kLd);
    ring(from.pslot_st, r.pslot_st, blocks * dp, kSt);
    r.region_no = from.region_no + blocks * dr;
    r.param_no = from.param_no + blocks * dp;
    return r;
  }

  // Whether the iteration from (prev_st, prev_mk) to the current state is one that every
  // later uniform iteration repeats: the schedule's state moved by the iteration's shift,
  // and the sink's timing moved by one period P, in every value a later wait can read that
  // its engine has not already passed.
  template <class Mark>
  bool repeats(const WsState& first, const WsState& prev_st, const Mark& a, const Mark& b) {
    unsigned long long P[3];
    if (!sink_.same_engines(a, b, P) || !(shifted(prev_st, first, 1) == st_)) return false;
    // The waits a later iteration reads, each checked only if the iteration has the
    // command that reads it: region loads (ifmap ring), param loads (param ring, read back
    // by stores), stores (accumulator ring, read by a tile's first CMP), and every CMP.
    const WsState& s = st_;
    const long long dr = s.region_no - prev_st.region_no, dp = s.param_no - prev_st.param_no;
    const bool stores = s.n[kSt] != prev_st.n[kSt];
    auto ref = [&](int reader, int owner, long long ia, long long ib) {
      return sink_.same_wait(a, b, P, reader, owner, ia, ib);
    };
    for (int x = 0; x < 2; ++x) {
      if ((dr && !ref(kLd, kCmp, prev_st.islot_cmp[x], s.islot_cmp[(x + dr) % 2])) ||
          (dp && !ref(kLd, kSt, prev_st.pslot_st[x], s.pslot_st[(x + dp) % 2])) ||
          (stores && !ref(kSt, kLd, prev_st.pslot_ld[x], s.pslot_ld[(x + dp) % 2])))
        return false;
    }
    if (!ref(kCmp, kLd, prev_st.region_ld, s.region_ld) ||
        (stores && !ref(kCmp, kSt, prev_st.n[kSt] - 1LL, s.n[kSt] - 1LL)))
      return false;
    if (!t_.weights_resident) {
      // Weight loads wait for the CMP that used their slot t.weight_slots folds before; from
      // the newest back to the first one both states have passed.
      const long long d = static_cast<long long>(s.n[kCmp]) - prev_st.n[kCmp];
      for (long long j = s.n[kCmp]; j > static_cast<long long>(s.n[kCmp]) - t_.weight_slots &&
                                    j > 0;
           --j) {
        bool passed = false;
        if (!sink_.same_wait(a, b, P, kLd, kCmp, j - d, j, &passed)) return false;
        if (passed) break;
      }
    }
    return true;
  }

  void region(int oh_a, int oh_b, int ga, int gb) {
    const int islot = t_.ifmap_resident ? 0 : static_cast<int>(st_.region_no++ % 2);
    const Region r = region_of(l_, a_, t_, oh_a, oh_b, ga, gb, islot);
    st_.region_ld = 0;
    if (r.ir1 > r.ir0) {
      for (LdCmd& c : ifmap_lds(l_, map_, bpc_, r)) {
        c.w.cmp = st_.islot_cmp[islot];
        sink_.ld(c);
        st_.region_ld = ++st_.n[kLd];
      }
    }
    loop(ga, gb, ga, gb, [&](int g) {
      loop(0, t_.n_tiles, 0, t_.params_resident ? 0 : t_.n_tiles - 1,
           [&](int nt) { tile(r, g, nt); });
    });
  }

  // Output channels [nt * C, nt * C + nv) of group g over the region's output rows.
  void tile(const Region& r, int g, int nt) {
    const int n0 = nt * C_, nv = std::min(C_, N_ - n0);
    const int pid = g * t_.n_tiles + nt;
    const int pslot = t_.params_resident ? pid : static_cast<int>(st_.param_no++ % 2);
    if (!t_.params_resident || st_.pslot_pid[pslot] != pid) {
      LdCmd c = param_ld(l_, map_, bpc_, C_, g, n0, nv, pslot);
      c.w.st = st_.pslot_st[pslot];
      sink_.ld(c);
      st_.pslot_ld[pslot] = ++st_.n[kLd];
      if (t_.params_resident) st_.pslot_pid[pslot] = pid;
    }
    const long long m_begin = 1LL * r.oh_a * l_.out_w, m_end = 1LL * r.oh_b * l_.out_w;
    const long long half = t_.acc_tile_pixels;
    const int n_m = static_cast<int>((m_end - m_begin + half - 1) / half);
    loop(0, n_m, 1, n_m - 1, [&](int i) {
      const long long m_a = m_begin + i * half;
      mtile(r, g, n0, nv, pslot, m_a, static_cast<uint32_t>(std::min(half, m_end - m_a)));
    });
  }

  // One accumulator tile: m_count output pixels from m_a, all reduction folds, then the store.
  void mtile(const Region& r, int g, int n0, int nv, int pslot, long long m_a, uint32_t mt) {
    // Accumulator slots alternate per tile, one store each: the tile's first CMP waits for
    // the store of the tile two back.
    const uint32_t aslot = st_.n[kSt] % 2, acc_addr = aslot * t_.acc_tile_pixels;
    const uint32_t acc_free = st_.n[kSt] >= 1 ? st_.n[kSt] - 1 : 0;
    const int W = l_.in_w, Wout = l_.out_w, s = l_.stride, p = l_.pad;
    const int oh0 = static_cast<int>(m_a / Wout), ow0 = static_cast<int>(m_a % Wout);
    loop(0, t_.k_folds, 1, t_.k_folds - 1, [&](int kt) {
      const int k0 = kt * R_, kv = std::min(R_, K_ - k0);
      const int fold = (g * t_.n_tiles + n0 / C_) * t_.k_folds + kt;
      // Weight slots: every fold its own when resident (loaded on first use, in the first
      // tile), else the buffer's slots in turn, one per CMP. A later use of a resident fold
      // needs no wait: its first use, earlier on the same engine, waited for the load.
      uint32_t w_addr = 0, fold_ld = 0;
      if (t_.weights_resident) {
        w_addr = static_cast<uint32_t>(1LL * fold * t_.fold_pitch);
      } else {
        w_addr = static_cast<uint32_t>(1LL * (st_.n[kCmp] % t_.weight_slots) * t_.fold_pitch);
      }
      if (!t_.weights_resident || m_a == 0) {
        LdCmd c;
        // The slot's previous user is the CMP weight_slots folds back.
        const long long prev_user = t_.weights_resident
                                        ? 0
                                        : static_cast<long long>(st_.n[kCmp]) + 1 - t_.weight_slots;
        c.w.cmp = static_cast<uint32_t>(std::max(0LL, prev_user));
        c.target = kLdWeight;
        c.dram_addr = map_.weight + static_cast<uint32_t>((1LL * g * K_ + k0) * N_ + n0);
        if (nv == N_ && nv == C_) {
          c.rows = 1;
          c.row_len = static_cast<uint32_t>(kv * nv);
        } else {
          c.rows = static_cast<uint32_t>(kv);
          c.row_len = static_cast<uint32_t>(nv);
        }
        c.beats_per_row = beats(c.row_len);
        c.src_stride = static_cast<uint32_t>(N_);
        c.dst_addr = w_addr;
        c.dst_stride = static_cast<uint32_t>(C_);
        sink_.ld(c);
        fold_ld = ++st_.n[kLd];
      }
      CmpCmd c;
      c.w.ld = std::max(st_.region_ld, fold_ld);
      c.w.st = kt == 0 ? acc_free : 0;
      c.w_addr = w_addr;
      c.k_valid = static_cast<uint32_t>(kv);
      c.n_valid = static_cast<uint32_t>(nv);
      c.m_count = mt;
      c.lane0_kh = k0 / (l_.kw * cin_g_);
      c.lane0_kw = (k0 / cin_g_) % l_.kw;
      c.lane0_c = k0 % cin_g_;
      c.lane0_off = c.lane0_kh * r.rp + c.lane0_kw * r.pp + c.lane0_c;
      c.cin_g = cin_g_;
      c.kw_size = l_.kw;
      c.d_kw = r.pp - cin_g_ + 1;
      c.d_kh = r.rp - (l_.kw - 1) * r.pp - cin_g_ + 1;
      c.ih0 = oh0 * s - p;
      c.iw0 = ow0 * s - p;
      c.pix_base0 = static_cast<int32_t>(r.ibase) + (c.ih0 - r.ir0) * r.rp + c.iw0 * r.pp +
                    (g - r.ga) * cin_g_;
      c.ow0 = ow0;
      c.wout = Wout;
      c.stride = s;
      c.iw_start = -p;
      c.d_ow = s * r.pp;
      c.d_oh = s * r.rp - (Wout - 1) * s * r.pp;
      c.in_h = l_.in_h;
      c.in_w = W;
      c.acc_addr = acc_addr;
      c.first = kt == 0;
      sink_.cmp(c);
      st_.islot_cmp[r.islot] = ++st_.n[kCmp];
    });
    StCmd c = store(l_, map_, bpc_, acc_addr, m_a, mt, g, n0, nv, pslot);
    c.w.cmp = st_.n[kCmp];
    c.w.ld = st_.pslot_ld[pslot];
    sink_.st(c);
    st_.pslot_st[pslot] = ++st_.n[kSt];
  }

  const Layer& l_;
  const Accelerator& a_;
  const WsTiling& t_;
  const DramMap& map_;
  Sink& sink_;
  const int R_, C_, bpc_, N_, K_, cin_g_;
  WsState st_;
  // States at the start of the last kH iterations of a loop, per nesting level (band, chunk,
  // group, tile, accumulator tile, fold).
  static constexpr int kH = 5;
  struct History {
    WsState st[kH];
    typename Sink::Mark mk[kH];
  };
  static thread_local History history_[6];
  int depth_ = 0;
};

template <class Sink>
thread_local typename WsScheduler<Sink>::History WsScheduler<Sink>::history_[6];

}  // namespace detail

template <class Sink>
void ws_schedule(const Layer& l, const Accelerator& a, const WsTiling& t, const DramMap& map,
                 Sink& sink) {
  detail::WsScheduler<Sink>(l, a, t, map, sink).run();
}

}  // namespace hdx
