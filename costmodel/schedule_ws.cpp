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
