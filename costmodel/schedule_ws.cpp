#include "schedule_ws.h"

#include <fmt/format.h>

#include <algorithm>

#include "errors.h"

namespace hdx {
namespace {

long long ceil_div(long long a, long long b) { return (a + b - 1) / b; }
std::string kib(long long bytes) { return fmt::format("{}", ceil_div(bytes, 1024)); }

}  // namespace

WsTiling ws_tiling(const Layer& l, const Accelerator& a) {
  WsTiling t;
  const int R = a.pe_rows, C = a.pe_cols;
  t.n_tiles = static_cast<int>(ceil_div(l.cout_g(), C));
  t.k_folds = static_cast<int>(ceil_div(l.k(), R));

  // Accumulators: two slots, each a tile of output pixels with pe_cols lanes.
  const long long acc_half = a.acc_entries() / 2;
  if (acc_half < 1)
    throw MappingError(10, fmt::format(
        "layer '{}': ofmap buffer of {} KiB holds {} accumulator entries of {} bytes; it needs "
        "at least 2 (set buffers_kib.ofmap to at least {})",
        l.name, a.ofmap_kib, a.acc_entries(), 4 * C, kib(8LL * C)));
  t.acc_tile_pixels = static_cast<int>(std::min<long long>(acc_half, 1LL << 20));

  // Weights: slots of one fold (pe_rows x pe_cols bytes).
  const long long fold_bytes = 1LL * R * C;
  t.weight_slots = static_cast<int>(std::min<long long>(a.weight_bytes() / fold_bytes, 1 << 20));
  if (t.weight_slots < 2)
    throw MappingError(11, fmt::format(
        "layer '{}': weight buffer of {} KiB holds {} weight fold(s) of {}x{} bytes; it needs "
        "two for double buffering (set buffers_kib.weight to at least {})",
        l.name, a.weight_kib, t.weight_slots, R, C, kib(2 * fold_bytes)));
  const long long folds = 1LL * l.groups * t.n_tiles * t.k_folds;
  t.weights_resident = folds <= t.weight_slots;
  t.params_resident = 1LL * l.groups * t.n_tiles <= 2;

  // Ifmap: the whole input if it fits, else two slots of row bands.
  const long long in_bytes = l.in_size();
  const long long row_bytes = 1LL * l.in_w * l.in_c;
  if (in_bytes <= a.ifmap_bytes()) {
    t.ifmap_resident = true;
    t.ifmap_slot_bytes = in_bytes;
    t.region_out_rows = l.out_h;
    t.groups_per_region = l.groups;
    return t;
  }
  t.ifmap_slot_bytes = a.ifmap_bytes() / 2;
  const long long band_rows = t.ifmap_slot_bytes / row_bytes;  // input rows of all channels
  if (band_rows >= l.kh) {
    t.region_out_rows =
        static_cast<int>(std::min<long long>(l.out_h, (band_rows - l.kh) / l.stride + 1));
    t.groups_per_region = l.groups;
    return t;
  }
  const long long group_band = 1LL * l.kh * l.in_w * l.cin_g();
  if (l.groups > 1 && t.ifmap_slot_bytes >= group_band) {
    t.region_out_rows = 1;
    t.groups_per_region =
        static_cast<int>(std::min<long long>(l.groups, t.ifmap_slot_bytes / group_band));
    return t;
  }
  const long long need =
      std::min(in_bytes, 2 * (l.groups > 1 ? group_band : 1LL * l.kh * row_bytes));
  throw MappingError(12, fmt::format(
      "layer '{}': ifmap buffer of {} KiB cannot hold the input ({} bytes) nor two bands of {} "
      "input rows x {} columns x {} channels (set buffers_kib.ifmap to at least {})",
      l.name, a.ifmap_kib, in_bytes, l.kh, l.in_w, l.groups > 1 ? l.cin_g() : l.in_c,
      kib(need)));
}

void ws_schedule(const Layer& l, const Accelerator& a, const DramMap& map, WsSink& sink) {
  const WsTiling t = ws_tiling(l, a);
  const int R = a.pe_rows, C = a.pe_cols, bpc = a.dram_bytes_per_cycle;
  const int G = l.groups, cin_g = l.cin_g(), N = l.cout_g(), K = static_cast<int>(l.k());
  const int H = l.in_h, W = l.in_w, Cin = l.in_c, s = l.stride, p = l.pad;
  const int Hout = l.out_h, Wout = l.out_w;
  const int NT = t.n_tiles, KT = t.k_folds;
  const uint32_t acc_half = static_cast<uint32_t>(t.acc_tile_pixels);
  auto beats = [bpc](uint32_t len) { return (len + bpc - 1) / bpc; };

  uint32_t n_ld = 0, n_cmp = 0, n_st = 0;  // commands emitted so far, per engine
  uint32_t islot_cmp[2] = {0, 0};          // last CMP reading each ifmap slot
  // Slots in use: every fold's own when resident, else all of the buffer's in turn.
  const size_t wslots = std::min<long long>(t.weight_slots, 1LL * G * NT * KT);
  std::vector<uint32_t> wslot_cmp(wslots, 0), wslot_ld(wslots, 0);
  std::vector<char> fold_loaded(t.weights_resident ? G * NT * KT : 0, 0);
  uint32_t pslot_st[2] = {0, 0}, pslot_ld[2] = {0, 0};
  int pslot_pid[2] = {-1, -1};
  uint32_t aslot_st[2] = {0, 0};
  long long region_no = 0, param_no = 0, acc_no = 0, wuse_no = 0;

  for (int oh_a = 0; oh_a < Hout; oh_a += t.region_out_rows) {
    const int oh_b = std::min(Hout, oh_a + t.region_out_rows);
    for (int ga = 0; ga < G; ga += t.groups_per_region) {
      const int gb = std::min(G, ga + t.groups_per_region);
      // Ifmap region: input rows [ir0, ir1) of channels [ch0, ch0 + cl).
      const int ir0 = t.ifmap_resident ? 0 : std::max(0, oh_a * s - p);
      const int ir1 = t.ifmap_resident ? H : std::min(H, (oh_b - 1) * s - p + l.kh);
      const int ch0 = ga * cin_g, cl = (gb - ga) * cin_g;
      const int islot = t.ifmap_resident ? 0 : static_cast<int>(region_no++ % 2);
      const uint32_t ibase = static_cast<uint32_t>(islot * t.ifmap_slot_bytes);
      // A band of output rows that reads only padding needs no load.
      uint32_t region_ld = 0;
      if (ir1 <= ir0) {
        region_ld = 0;
      } else if (!t.ifmap_resident || (oh_a == 0 && ga == 0)) {
        LdCmd c;
        c.w.cmp = islot_cmp[islot];
        c.target = kLdIfmap;
        c.dram_addr = map.in + static_cast<uint32_t>((1LL * ir0 * W) * Cin + ch0);
        if (cl == Cin) {
          c.rows = 1;
          c.row_len = static_cast<uint32_t>(1LL * (ir1 - ir0) * W * Cin);
        } else {
          c.rows = static_cast<uint32_t>((ir1 - ir0) * W);
          c.row_len = static_cast<uint32_t>(cl);
        }
        c.beats_per_row = beats(c.row_len);
        c.src_stride = static_cast<uint32_t>(Cin);
        c.dst_addr = ibase;
        c.dst_stride = static_cast<uint32_t>(cl);
        sink.ld(c);
        region_ld = ++n_ld;
      } else {
        region_ld = 1;  // the resident input was the first load of the layer
      }
      for (int g = ga; g < gb; ++g) {
        for (int nt = 0; nt < NT; ++nt) {
          const int n0 = nt * C, nv = std::min(C, N - n0);
          const int pid = g * NT + nt;
          const int pslot = t.params_resident ? pid : static_cast<int>(param_no++ % 2);
          if (pslot_pid[pslot] != pid || !t.params_resident) {
            LdCmd c;
            c.w.st = pslot_st[pslot];
            c.target = kLdParam;
            c.dram_addr = map.param + static_cast<uint32_t>((g * N + n0) * kParamBytes);
            c.rows = 1;
            c.row_len = static_cast<uint32_t>(nv * kParamBytes);
            c.beats_per_row = beats(c.row_len);
            c.src_stride = c.row_len;
            c.dst_addr = static_cast<uint32_t>(pslot * C * kParamBytes);
            c.dst_stride = c.row_len;
            sink.ld(c);
            pslot_ld[pslot] = ++n_ld;
            pslot_pid[pslot] = pid;
          }
          const long long m_end = 1LL * oh_b * Wout;
          for (long long m_a = 1LL * oh_a * Wout; m_a < m_end; m_a += acc_half) {
            const uint32_t mt = static_cast<uint32_t>(std::min<long long>(acc_half, m_end - m_a));
            const int aslot = static_cast<int>(acc_no++ % 2);
            const int oh0 = static_cast<int>(m_a / Wout), ow0 = static_cast<int>(m_a % Wout);
            for (int kt = 0; kt < KT; ++kt) {
              const int k0 = kt * R, kv = std::min(R, K - k0);
              const int fold = (g * NT + nt) * KT + kt;
              const int wslot =
                  t.weights_resident ? fold : static_cast<int>(wuse_no++ % t.weight_slots);
              if (!t.weights_resident || !fold_loaded[fold]) {
                LdCmd c;
                c.w.cmp = wslot_cmp[wslot];
                c.target = kLdWeight;
                c.dram_addr = map.weight + static_cast<uint32_t>((1LL * g * K + k0) * N + n0);
                if (nv == N && nv == C) {
                  c.rows = 1;
                  c.row_len = static_cast<uint32_t>(kv * nv);
                } else {
                  c.rows = static_cast<uint32_t>(kv);
                  c.row_len = static_cast<uint32_t>(nv);
                }
                c.beats_per_row = beats(c.row_len);
                c.src_stride = static_cast<uint32_t>(N);
                c.dst_addr = static_cast<uint32_t>(wslot * R * C);
                c.dst_stride = static_cast<uint32_t>(C);
                sink.ld(c);
                wslot_ld[wslot] = ++n_ld;
                if (t.weights_resident) fold_loaded[fold] = 1;
              }
              CmpCmd c;
              c.w.ld = std::max(region_ld, wslot_ld[wslot]);
              c.w.st = kt == 0 ? aslot_st[aslot] : 0;
              c.w_addr = static_cast<uint32_t>(wslot * R * C);
              c.k_valid = static_cast<uint32_t>(kv);
              c.n_valid = static_cast<uint32_t>(nv);
              c.m_count = mt;
              c.lane0_kh = k0 / (l.kw * cin_g);
              c.lane0_kw = (k0 / cin_g) % l.kw;
              c.lane0_c = k0 % cin_g;
              c.lane0_off = (c.lane0_kh * W + c.lane0_kw) * cl + c.lane0_c;
              c.cin_g = cin_g;
              c.kw_size = l.kw;
              c.d_kw = cl - cin_g + 1;
              c.d_kh = W * cl - (l.kw - 1) * cl - cin_g + 1;
              c.ih0 = oh0 * s - p;
              c.iw0 = ow0 * s - p;
              c.pix_base0 = static_cast<int32_t>(ibase) +
                            ((c.ih0 - ir0) * W + c.iw0) * cl + (g - ga) * cin_g;
              c.ow0 = ow0;
              c.wout = Wout;
              c.stride = s;
              c.iw_start = -p;
              c.d_ow = s * cl;
              c.d_oh = s * W * cl - (Wout - 1) * s * cl;
              c.in_h = H;
              c.in_w = W;
              c.acc_addr = static_cast<uint32_t>(aslot) * acc_half;
              c.first = kt == 0;
              sink.cmp(c);
              ++n_cmp;
              islot_cmp[islot] = n_cmp;
              wslot_cmp[wslot] = n_cmp;
            }
            StCmd c;
            c.w.cmp = n_cmp;
            c.w.ld = pslot_ld[pslot];
            c.acc_addr = static_cast<uint32_t>(aslot) * acc_half;
            c.m_count = mt;
            c.n_valid = static_cast<uint32_t>(nv);
            c.beats_per_pix = beats(static_cast<uint32_t>(nv));
            c.param_slot = static_cast<uint32_t>(pslot);
            c.relu = l.relu;
            c.dram_addr = map.out + static_cast<uint32_t>(m_a * l.out_c + g * N + n0);
            c.dram_stride = static_cast<uint32_t>(l.out_c);
            sink.st(c);
            ++n_st;
            aslot_st[aslot] = n_st;
            pslot_st[pslot] = n_st;
          }
        }
      }
    }
  }
}

namespace {
struct Collect : WsSink {
  WsProgram p;
  void ld(const LdCmd& c) override { p.ld.push_back(c); }
  void cmp(const CmpCmd& c) override { p.cmp.push_back(c); }
  void st(const StCmd& c) override { p.st.push_back(c); }
};
}  // namespace

WsProgram ws_program(const Layer& l, const Accelerator& a, const DramMap& map) {
  Collect c;
  ws_schedule(l, a, map, c);
  return std::move(c.p);
}

// ---- command words ----
// Word order: the three waits, then the engine's fields in the order of these tables.

#define HDX_WAITS {"WAIT_LD", 0}, {"WAIT_CMP", 1}, {"WAIT_ST", 2}

const std::vector<CmdField>& ld_fields() {
  static const std::vector<CmdField> f = {
      HDX_WAITS,      {"TARGET", 3},     {"DRAM_ADDR", 4}, {"ROWS", 5},
      {"ROW_LEN", 6}, {"SRC_STRIDE", 7}, {"DST_ADDR", 8},  {"DST_STRIDE", 9}};
  return f;
}
const std::vector<CmdField>& cmp_fields() {
  static const std::vector<CmdField> f = {
      HDX_WAITS,        {"W_ADDR", 3},      {"K_VALID", 4},    {"N_VALID", 5},
      {"M_COUNT", 6},   {"LANE0_KH", 7},    {"LANE0_KW", 8},   {"LANE0_C", 9},
      {"LANE0_OFF", 10}, {"CIN_G", 11},     {"KW_SIZE", 12},   {"D_KW", 13},
      {"D_KH", 14},     {"IH0", 15},        {"IW0", 16},       {"PIX_BASE0", 17},
      {"OW0", 18},      {"WOUT", 19},       {"STRIDE", 20},    {"IW_START", 21},
      {"D_OW", 22},     {"D_OH", 23},       {"IN_H", 24},      {"IN_W", 25},
      {"ACC_ADDR", 26}, {"FIRST", 27}};
  return f;
}
const std::vector<CmdField>& st_fields() {
  static const std::vector<CmdField> f = {
      HDX_WAITS,         {"ACC_ADDR", 3},      {"M_COUNT", 4},   {"N_VALID", 5},
      {"BEATS_PER_PIX", 6}, {"PARAM_SLOT", 7}, {"RELU", 8},      {"DRAM_ADDR", 9},
      {"DRAM_STRIDE", 10}};
  return f;
}
#undef HDX_WAITS

namespace {
uint32_t u(int32_t v) { return static_cast<uint32_t>(v); }
}  // namespace

std::vector<uint32_t> pack(const LdCmd& c) {
  return {c.w.ld,    c.w.cmp,      c.w.st,     c.target,  c.dram_addr,
          c.rows,    c.row_len,    c.src_stride, c.dst_addr, c.dst_stride};
}
std::vector<uint32_t> pack(const CmpCmd& c) {
  return {c.w.ld,         c.w.cmp,       c.w.st,       c.w_addr,      c.k_valid,
          c.n_valid,      c.m_count,     u(c.lane0_kh), u(c.lane0_kw), u(c.lane0_c),
          u(c.lane0_off), u(c.cin_g),    u(c.kw_size), u(c.d_kw),     u(c.d_kh),
          u(c.ih0),       u(c.iw0),      u(c.pix_base0), u(c.ow0),    u(c.wout),
          u(c.stride),    u(c.iw_start), u(c.d_ow),    u(c.d_oh),     u(c.in_h),
          u(c.in_w),      c.acc_addr,    c.first};
}
std::vector<uint32_t> pack(const StCmd& c) {
  return {c.w.ld,    c.w.cmp,      c.w.st,     c.acc_addr,  c.m_count,  c.n_valid,
          c.beats_per_pix, c.param_slot, c.relu, c.dram_addr, c.dram_stride};
}

}  // namespace hdx
