#include "schedule_ws.h"

#include <fmt/format.h>

#include <algorithm>

#include "errors.h"

namespace hdx {

using detail::ceil_div;
using detail::kib;

int ws_weight_word_bytes(const Accelerator& a) {
  return pow2_at_least(a.dram_bytes_per_cycle, a.pe_cols);
}

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

  // Weights: slots of one fold (pe_rows x pe_cols bytes), each starting on an SRAM word so
  // that loading one slot never writes a word that a read of another slot touches.
  const long long word = ws_weight_word_bytes(a);
  t.fold_pitch = static_cast<int>(ceil_div(1LL * R * C, word) * word);
  t.weight_slots =
      static_cast<int>(std::min<long long>(a.weight_bytes() / t.fold_pitch, 1 << 20));
  if (t.weight_slots < 2)
    throw MappingError(11, fmt::format(
        "layer '{}': weight buffer of {} KiB holds {} weight fold(s) of {}x{} bytes ({} with "
        "their alignment); it needs two for double buffering (set buffers_kib.weight to at "
        "least {})",
        l.name, a.weight_kib, t.weight_slots, R, C, t.fold_pitch, kib(2LL * t.fold_pitch)));
  const long long folds = 1LL * l.groups * t.n_tiles * t.k_folds;
  t.weights_resident = folds <= t.weight_slots;
  t.params_resident = 1LL * l.groups * t.n_tiles <= 2;

  static_cast<IfmapTiling&>(t) = ifmap_tiling(l, a);
  return t;
}

int ifmap_banks(const Accelerator& a) { return pow2_at_least(a.dram_bytes_per_cycle, a.pe_rows); }

IfmapPitch ifmap_pitch(const Layer& l, const Accelerator& a, int groups) {
  const long long cl = 1LL * groups * l.cin_g();
  // rs: the packed row pitch, or one more when that is even.
  if (a.dataflow == Dataflow::RS) return {cl, l.in_w * cl | 1};
  // ws: the smallest pitches >= the packed ones with pp = cin_g and rp = kw * cin_g (mod NB).
  const long long nb = ifmap_banks(a);
  auto up_to = [nb](long long x, long long residue) {
    return x + (((residue - x) % nb) + nb) % nb;
  };
  const long long pp = up_to(cl, l.cin_g());
  return {pp, up_to(l.in_w * pp, 1LL * l.kw * l.cin_g())};
}

IfmapTiling ifmap_tiling(const Layer& l, const Accelerator& a) {
  IfmapTiling t;
  // The whole input if it fits, else two slots of row bands (slots start on a bank row).
  const long long row_bytes = ifmap_pitch(l, a, l.groups).rp;
  const long long in_bytes = l.in_h * row_bytes;
  if (in_bytes <= a.ifmap_bytes()) {
    t.ifmap_resident = true;
    t.ifmap_slot_bytes = in_bytes;
    t.region_out_rows = l.out_h;
    t.groups_per_region = l.groups;
    return t;
  }
  t.ifmap_slot_bytes = a.ifmap_bytes() / 2 / ifmap_banks(a) * ifmap_banks(a);
  const long long band_rows = t.ifmap_slot_bytes / row_bytes;  // input rows of all channels
  if (band_rows >= l.kh) {
    t.region_out_rows =
        static_cast<int>(std::min<long long>(l.out_h, (band_rows - l.kh) / l.stride + 1));
    t.groups_per_region = l.groups;
    return t;
  }
  auto group_band = [&](int g) { return l.kh * ifmap_pitch(l, a, g).rp; };
  if (l.groups > 1 && t.ifmap_slot_bytes >= group_band(1)) {
    t.region_out_rows = 1;
    int g = static_cast<int>(std::min<long long>(
        l.groups, t.ifmap_slot_bytes / (1LL * l.kh * l.in_w * l.cin_g())));
    while (group_band(g) > t.ifmap_slot_bytes) --g;  // padding costs at most a few groups
    t.groups_per_region = g;
    return t;
  }
  const long long need = std::min(in_bytes, 2 * (l.groups > 1 ? group_band(1) : l.kh * row_bytes));
  throw MappingError(12, fmt::format(
      "layer '{}': ifmap buffer of {} KiB cannot hold the input ({} bytes) nor two bands of {} "
      "input rows x {} columns x {} channels (set buffers_kib.ifmap to at least {})",
      l.name, a.ifmap_kib, in_bytes, l.kh, l.in_w, l.groups > 1 ? l.cin_g() : l.in_c,
      kib(need)));
}

namespace detail {

std::string kib(long long bytes) { return fmt::format("{}", ceil_div(bytes, 1024)); }

Region region_of(const Layer& l, const Accelerator& a, const IfmapTiling& t, int oh_a,
                 int oh_b, int ga, int gb, int islot) {
  Region r;
  r.oh_a = oh_a;
  r.oh_b = oh_b;
  r.ga = ga;
  r.ir0 = t.ifmap_resident ? 0 : std::max(0, oh_a * l.stride - l.pad);
  r.ir1 = t.ifmap_resident ? l.in_h : std::min(l.in_h, (oh_b - 1) * l.stride - l.pad + l.kh);
  r.cl = (gb - ga) * l.cin_g();
  const IfmapPitch p = ifmap_pitch(l, a, gb - ga);
  r.pp = static_cast<int>(p.pp);
  r.rp = static_cast<int>(p.rp);
  r.islot = islot;
  r.ibase = static_cast<uint32_t>(islot * t.ifmap_slot_bytes);
  return r;
}

std::vector<LdCmd> ifmap_lds(const Layer& l, const DramMap& map, int bpc, const Region& r) {
  const int W = l.in_w, Cin = l.in_c, rows = r.ir1 - r.ir0;
  LdCmd c;
  c.target = kLdIfmap;
  c.dram_addr = map.in + static_cast<uint32_t>((1LL * r.ir0 * W) * Cin + r.ga * l.cin_g());
  c.src_stride = static_cast<uint32_t>(Cin);
  c.dst_addr = r.ibase;
  if (r.pp == Cin && r.rp == W * Cin) {  // the rows are contiguous in DRAM and in the buffer
    c.rows = 1;
    c.row_len = static_cast<uint32_t>(1LL * rows * W * Cin);
  } else if (r.pp == Cin) {  // whole input rows, padded in the buffer
    c.rows = static_cast<uint32_t>(rows);
    c.row_len = static_cast<uint32_t>(W * Cin);
    c.src_stride = static_cast<uint32_t>(W * Cin);
    c.dst_stride = static_cast<uint32_t>(r.rp);
  } else if (r.rp == W * r.pp) {  // positions of the region's channels, evenly spaced
    c.rows = static_cast<uint32_t>(rows * W);
    c.row_len = static_cast<uint32_t>(r.cl);
    c.dst_stride = static_cast<uint32_t>(r.pp);
  } else {  // positions, one command per input row
    std::vector<LdCmd> v;
    for (int i = 0; i < rows; ++i) {
      LdCmd ci = c;
      ci.dram_addr += static_cast<uint32_t>(1LL * i * W * Cin);
      ci.dst_addr += static_cast<uint32_t>(i * r.rp);
      ci.rows = static_cast<uint32_t>(W);
      ci.row_len = static_cast<uint32_t>(r.cl);
      ci.beats_per_row = static_cast<uint32_t>(ceil_div(ci.row_len, bpc));
      ci.dst_stride = static_cast<uint32_t>(r.pp);
      v.push_back(ci);
    }
    return v;
  }
  c.beats_per_row = static_cast<uint32_t>(ceil_div(c.row_len, bpc));
  return {c};
}

LdCmd param_ld(const Layer& l, const DramMap& map, int bpc, int pe_cols, int g, int n0, int nv,
               int pslot) {
  LdCmd c;
  c.target = kLdParam;
  c.dram_addr = map.param + static_cast<uint32_t>((g * l.cout_g() + n0) * kParamBytes);
  c.rows = 1;
  c.row_len = static_cast<uint32_t>(nv * kParamBytes);
  c.beats_per_row = static_cast<uint32_t>(ceil_div(c.row_len, bpc));
  c.src_stride = c.row_len;
  c.dst_addr = static_cast<uint32_t>(pslot * pe_cols * kParamBytes);
  c.dst_stride = c.row_len;
  return c;
}

StCmd store(const Layer& l, const DramMap& map, int bpc, uint32_t acc_addr, long long m_a,
            uint32_t mt, int g, int n0, int nv, int pslot) {
  StCmd c;
  c.acc_addr = acc_addr;
  c.m_count = mt;
  c.n_valid = static_cast<uint32_t>(nv);
  c.beats_per_pix = static_cast<uint32_t>(ceil_div(nv, bpc));
  c.param_slot = static_cast<uint32_t>(pslot);
  c.relu = l.relu;
  c.dram_addr = map.out + static_cast<uint32_t>(m_a * l.out_c + g * l.cout_g() + n0);
  c.dram_stride = static_cast<uint32_t>(l.out_c);
  return c;
}

}  // namespace detail

namespace {
struct Collect {
  static constexpr bool kSkips = false;
  struct Mark {};
  WsProgram p;
  void ld(const LdCmd& c) { p.ld.push_back(c); }
  void cmp(const CmpCmd& c) { p.cmp.push_back(c); }
  void st(const StCmd& c) { p.st.push_back(c); }
};
}  // namespace

WsProgram ws_program(const Layer& l, const Accelerator& a, const DramMap& map) {
  Collect c;
  ws_schedule(l, a, ws_tiling(l, a), map, c);
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
