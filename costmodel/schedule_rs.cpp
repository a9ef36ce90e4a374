#include "schedule_rs.h"

#include <fmt/format.h>

#include <algorithm>

#include "errors.h"

namespace hdx {

using detail::ceil_div;
using detail::kib;

RsTiling rs_tiling(const Layer& l, const Accelerator& a) {
  RsTiling t;
  static_cast<IfmapTiling&>(t) = ifmap_tiling(l, a);
  const int R = a.pe_rows, C = a.pe_cols, kw = l.kw, cin_g = l.cin_g(), N = l.cout_g();
  const long long K = l.k();

  // Scratchpads: a PE holds the kw taps of q channels of its input row (ifmap), kw taps of
  // p filters x q channels of its filter row (filter), and p partial sums (psum).
  if (a.spad_ifmap < kw)
    throw MappingError(13, fmt::format(
        "layer '{}': a filter row of {} taps does not fit the ifmap scratchpad of {} entries "
        "(set spad.ifmap to at least {})",
        l.name, kw, a.spad_ifmap, kw));
  if (a.spad_filter < kw)
    throw MappingError(14, fmt::format(
        "layer '{}': a filter row of {} taps does not fit the filter scratchpad of {} entries "
        "(set spad.filter to at least {})",
        l.name, kw, a.spad_filter, kw));
  t.q = std::min({cin_g, a.spad_ifmap / kw, a.spad_filter / kw});
  t.p = std::min({a.spad_psum, a.spad_filter / (t.q * kw), N, C});

  // PE rows: filter rows (folded when kh > rows), then channel chunks stacked.
  t.kh_f = std::min(l.kh, R);
  t.row_folds = static_cast<int>(ceil_div(l.kh, t.kh_f));
  const int chunks = static_cast<int>(ceil_div(cin_g, t.q));
  t.r_v = std::max(1, std::min(R / t.kh_f, chunks));
  t.chan_blocks = static_cast<int>(ceil_div(chunks, t.r_v));

  // Accumulators: two slots; a strip of e whole output rows fills at most one.
  const long long acc_half = a.acc_entries() / 2;
  if (acc_half < l.out_w)
    throw MappingError(10, fmt::format(
        "layer '{}': ofmap buffer of {} KiB holds {} accumulator entries per slot; a strip of "
        "one output row needs {} (set buffers_kib.ofmap to at least {})",
        l.name, a.ofmap_kib, acc_half, l.out_w, kib(2LL * l.out_w * 4 * C)));
  t.acc_tile_pixels = static_cast<int>(std::min<long long>(acc_half, 1LL << 20));
  t.e = static_cast<int>(
      std::min<long long>({l.out_h, C, acc_half / l.out_w, t.region_out_rows}));

  // PE columns: output rows of the strip, then filter sets side by side; the filters of a
  // tile are accumulator lanes, so p * r_h <= pe_cols.
  auto set_tiles = [&](int p, int r_h) {
    t.p = p;
    t.r_h = r_h;
    t.tile_n = p * r_h;
    t.n_tiles = static_cast<int>(ceil_div(N, t.tile_n));
    t.weight_slot_bytes = K * t.tile_n;
  };
  set_tiles(t.p, std::max(1, std::min({C / t.e, static_cast<int>(ceil_div(N, t.p)), C / t.p})));

  // Weights: a slot holds the K x tile_n weights of one (group, tile); all of them if they
  // fit, else two slots in turn, with fewer filters per tile if even two do not fit.
  const long long wb = a.weight_bytes();
  if (2 * t.weight_slot_bytes > wb && 1LL * l.groups * t.n_tiles * t.weight_slot_bytes > wb) {
    const long long max_n = wb / (2 * K);
    if (max_n < 1)
      throw MappingError(11, fmt::format(
          "layer '{}': weight buffer of {} KiB cannot hold two slots of the {} weights of one "
          "filter (set buffers_kib.weight to at least {})",
          l.name, a.weight_kib, K, kib(2 * K)));
    if (t.p > max_n)
      set_tiles(static_cast<int>(max_n), 1);
    else
      set_tiles(t.p, static_cast<int>(std::min<long long>(t.r_h, max_n / t.p)));
  }
  t.weights_resident = 1LL * l.groups * t.n_tiles * t.weight_slot_bytes <= wb;
  t.params_resident = 1LL * l.groups * t.n_tiles <= 2;
  return t;
}

void rs_schedule(const Layer& l, const Accelerator& a, const RsTiling& t, const DramMap& map,
                 RsSink& sink) {
  using detail::Region;
  const int bpc = a.dram_bytes_per_cycle, C = a.pe_cols;
  const int G = l.groups, N = l.cout_g(), cin_g = l.cin_g(), Wout = l.out_w;
  const long long K = l.k();
  const int ror = t.region_out_rows, gpr = t.groups_per_region;

  uint32_t n_ld = 0, n_pass = 0, n_st = 0;  // commands emitted so far, per engine
  uint32_t islot_pass[2] = {0, 0};          // last pass that read each ifmap slot
  uint32_t pslot_ld[2] = {0, 0}, pslot_st[2] = {0, 0};
  int pslot_pid[2] = {-1, -1};
  uint32_t wslot_pass[2] = {0, 0};          // last pass that read each weight slot (two-slot mode)
  std::vector<uint32_t> tile_ld(t.weights_resident ? G * t.n_tiles : 0, 0);
  long long region_no = 0, param_no = 0, wuse_no = 0;

  for (int oh_a = 0; oh_a < l.out_h; oh_a += ror) {
    const int oh_b = std::min(l.out_h, oh_a + ror);
    for (int ga = 0; ga < G; ga += gpr) {
      const int gb = std::min(G, ga + gpr);
      const int islot = t.ifmap_resident ? 0 : static_cast<int>(region_no++ % 2);
      const Region r = detail::region_of(l, a, t, oh_a, oh_b, ga, gb, islot);
      uint32_t region_ld = 0;
      if (r.ir1 > r.ir0) {
        for (LdCmd& c : detail::ifmap_lds(l, map, bpc, r)) {
          c.w.cmp = islot_pass[islot];
          sink.ld(c);
          region_ld = ++n_ld;
        }
      }
      for (int g = ga; g < gb; ++g) {
        for (int nt = 0; nt < t.n_tiles; ++nt) {
          const int n0 = nt * t.tile_n, nv = std::min(t.tile_n, N - n0);
          const int pid = g * t.n_tiles + nt;
          const int pslot = t.params_resident ? pid : static_cast<int>(param_no++ % 2);
          if (!t.params_resident || pslot_pid[pslot] != pid) {
            LdCmd c = detail::param_ld(l, map, bpc, C, g, n0, nv, pslot);
            c.w.st = pslot_st[pslot];
            sink.ld(c);
            pslot_ld[pslot] = ++n_ld;
            if (t.params_resident) pslot_pid[pslot] = pid;
          }
          // The tile's weights, rows k of nv filters, tile_n bytes apart in the slot.
          const int wslot = t.weights_resident ? pid : static_cast<int>(wuse_no++ % 2);
          const uint32_t w_addr = static_cast<uint32_t>(wslot * t.weight_slot_bytes);
          uint32_t w_ld = 0;
          if (!t.weights_resident || oh_a == 0) {
            LdCmd c;
            c.w.cmp = t.weights_resident ? 0 : wslot_pass[wslot];
            c.target = kLdWeight;
            c.dram_addr = map.weight + static_cast<uint32_t>(1LL * g * K * N + n0);
            if (nv == N && nv == t.tile_n) {
              c.rows = 1;
              c.row_len = static_cast<uint32_t>(K * nv);
            } else {
              c.rows = static_cast<uint32_t>(K);
              c.row_len = static_cast<uint32_t>(nv);
            }
            c.beats_per_row = static_cast<uint32_t>(ceil_div(c.row_len, bpc));
            c.src_stride = static_cast<uint32_t>(N);
            c.dst_addr = w_addr;
            c.dst_stride = static_cast<uint32_t>(t.tile_n);
            sink.ld(c);
            w_ld = ++n_ld;
            if (t.weights_resident) tile_ld[pid] = w_ld;
          }
          // Strips of e output rows; accumulator slots alternate, one store each.
          for (int oh0 = oh_a; oh0 < oh_b; oh0 += t.e) {
            const int e = std::min(t.e, oh_b - oh0);
            const uint32_t aslot = n_st % 2, acc_addr = aslot * t.acc_tile_pixels;
            const uint32_t acc_free = n_st >= 1 ? n_st - 1 : 0;
            bool first = true;
            for (int fr = 0; fr < t.row_folds; ++fr) {
              for (int cb = 0; cb < t.chan_blocks; ++cb) {
                RsCmd c;
                c.w.ld = std::max(region_ld, w_ld);
                c.w.st = first ? acc_free : 0;
                c.w_addr = w_addr;
                c.tile_n = static_cast<uint32_t>(t.tile_n);
                c.kr0 = static_cast<uint32_t>(fr * t.kh_f);
                c.rows = static_cast<uint32_t>(std::min(t.kh_f, l.kh - fr * t.kh_f));
                c.c0 = static_cast<uint32_t>(cb * t.q * t.r_v);
                c.chunks = static_cast<uint32_t>(
                    std::min<long long>(t.r_v, ceil_div(cin_g - c.c0, t.q)));
                c.nv = static_cast<uint32_t>(nv);
                c.sets = static_cast<uint32_t>(ceil_div(nv, t.p));
                c.e = static_cast<uint32_t>(e);
                c.q = static_cast<uint32_t>(t.q);
                c.p = static_cast<uint32_t>(t.p);
                c.cin_g = static_cast<uint32_t>(cin_g);
                c.kw = static_cast<uint32_t>(l.kw);
                c.stride = static_cast<uint32_t>(l.stride);
                c.wout = static_cast<uint32_t>(Wout);
                c.in_h = static_cast<uint32_t>(l.in_h);
                c.in_w = static_cast<uint32_t>(l.in_w);
                c.ih0 = oh0 * l.stride - l.pad + static_cast<int>(c.kr0);
                c.iw0 = -l.pad;
                c.ibase = r.ibase;
                c.ir0 = r.ir0;
                c.cl = static_cast<uint32_t>(r.cl);
                c.rp = static_cast<uint32_t>(r.rp);
                c.cg0 = static_cast<uint32_t>((g - ga) * cin_g);
                c.acc_addr = acc_addr;
                c.first = first;
                c.pe_rows = static_cast<uint32_t>(a.pe_rows);
                sink.pass(c);
                ++n_pass;
                islot_pass[islot] = n_pass;
                if (!t.weights_resident) wslot_pass[wslot] = n_pass;
                first = false;
              }
            }
            StCmd c = detail::store(l, map, bpc, acc_addr, 1LL * oh0 * Wout,
                                    static_cast<uint32_t>(e * Wout), g, n0, nv, pslot);
            c.w.cmp = n_pass;
            c.w.ld = pslot_ld[pslot];
            sink.st(c);
            pslot_st[pslot] = ++n_st;
          }
        }
      }
    }
  }
}

namespace {
struct Collect : RsSink {
  RsProgram p;
  void ld(const LdCmd& c) override { p.ld.push_back(c); }
  void pass(const RsCmd& c) override { p.pass.push_back(c); }
  void st(const StCmd& c) override { p.st.push_back(c); }
};
}  // namespace

RsProgram rs_program(const Layer& l, const Accelerator& a, const DramMap& map) {
  Collect c;
  rs_schedule(l, a, rs_tiling(l, a), map, c);
  return std::move(c.p);
}

// ---- command words: the three waits, then the fields in this order ----

// The command words. Besides the pass's own fields, the host sends values derived from them
// (QKW and after), so that the engine needs no multiplier or divider for its addresses and
// loop bounds (docs/architecture.md, "rs command words"); the weight slot, first filter
// row, ifmap region base and first channel enter the engine only through WBASE and IADDR0.
const std::vector<CmdField>& rs_fields() {
  static const std::vector<CmdField> f = {
      {"WAIT_LD", 0},  {"WAIT_CMP", 1}, {"WAIT_ST", 2},  {"TILE_N", 3},   {"ROWS", 4},
      {"C0", 5},       {"CHUNKS", 6},   {"N_VALID", 7},  {"SETS", 8},     {"E", 9},
      {"Q", 10},       {"P", 11},       {"CIN_G", 12},   {"KW", 13},      {"STRIDE", 14},
      {"WOUT", 15},    {"IN_H", 16},    {"IN_W", 17},    {"IH0", 18},     {"IW0", 19},
      {"CL", 20},      {"ACC_ADDR", 21}, {"FIRST", 22},  {"QKW", 23},     {"WX", 24},
      {"WROW", 25},    {"WCHUNK", 26},  {"WBASE", 27},   {"NB", 28},      {"SPAN", 29},
      {"SMOD", 30},    {"RWCL", 31},    {"BSTEP", 32},   {"IADDR0", 33},  {"IW0CL", 34},
      {"SCL", 35},     {"KWS1CL", 36},  {"SQ", 37},      {"SR", 38}};
  return f;
}

std::vector<uint32_t> pack(const RsCmd& c) {
  auto u = [](int64_t v) { return static_cast<uint32_t>(v); };  // two's complement words
  const int64_t rows = c.pe_rows, tn = c.tile_n, kw = c.kw, cin_g = c.cin_g, cl = c.cl;
  const int64_t s1 = std::min(c.stride, c.kw), rwcl = c.rp;
  return {c.w.ld,  c.w.cmp,  c.w.st, c.tile_n, c.rows,   c.c0,     c.chunks, c.nv,
          c.sets,  c.e,      c.q,    c.p,      c.cin_g,  c.kw,     c.stride, c.wout,
          c.in_h,  c.in_w,   u(c.ih0), u(c.iw0), c.cl,   c.acc_addr, c.first,
          u(int64_t(c.q) * kw),                                     // QKW
          u(cin_g * tn),                                            // WX
          u(kw * cin_g * tn),                                       // WROW
          u(int64_t(c.q) * tn),                                     // WCHUNK
          u(c.w_addr + (int64_t(c.kr0) * kw * cin_g + c.c0) * tn),  // WBASE
          u((int64_t(c.span()) + rows - 1) / rows),                 // NB
          u(int64_t(c.span())),                                     // SPAN
          u(int64_t(c.stride) % kw),                                // SMOD
          u(rwcl),                                                  // RWCL
          u(rows * rwcl),                                           // BSTEP
          u(c.ibase + (int64_t(c.ih0) - c.ir0) * rwcl + c.cg0 + c.c0),  // IADDR0
          u(int64_t(c.iw0) * cl),                                   // IW0CL
          u(int64_t(c.stride) * cl),                                // SCL
          u((kw - s1) * cl),                                        // KWS1CL
          u(int64_t(c.stride) / rows),                              // SQ
          u(int64_t(c.stride) % rows)};                             // SR
}

}  // namespace hdx
