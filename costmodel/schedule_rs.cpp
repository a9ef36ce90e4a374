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
  t.r_h = std::max(1, std::min({C / t.e, static_cast<int>(ceil_div(N, t.p)), C / t.p}));
  t.tile_n = t.p * t.r_h;
  t.n_tiles = static_cast<int>(ceil_div(N, t.tile_n));

  // Weights: one word per weight row whatever the tile's width. All tiles if they fit, else
  // two slots of a tile, else two slots of a pass.
  t.nu = chunks;
  const long long words = a.rs_weight_words(), tiles = 1LL * l.groups * t.n_tiles;
  using WS = RsTiling::WeightSlots;
  auto slot = [&](WS s, int nu, int kh) {
    t.weight_slots = s;
    t.slot_nu = nu;
    t.slot_kh = kh;
    t.weight_slot_words = 1LL * kw * t.q * nu * kh;
  };
  slot(WS::Resident, t.nu, l.kh);
  if (tiles * t.weight_slot_words > words) slot(WS::Tile, t.nu, l.kh);
  if (t.weight_slots == WS::Tile && 2 * t.weight_slot_words > words)
    slot(WS::Pass, t.r_v, t.kh_f);
  if (t.weight_slots == WS::Pass && 2 * t.weight_slot_words > words) {
    const long long banks = a.rs_weight_banks();
    throw MappingError(11, fmt::format(
        "layer '{}': weight buffer of {} KiB holds {} weight rows ({} banks of {}-byte "
        "words); two slots of the {} rows of one pass need {} (set buffers_kib.weight to at "
        "least {})",
        l.name, a.weight_kib, words, banks, C, t.weight_slot_words, 2 * t.weight_slot_words,
        kib(ceil_div(2 * t.weight_slot_words, banks) * banks * C)));
  }
  t.params_resident = 1LL * l.groups * t.n_tiles <= 2;
  return t;
}

namespace {
// The loads of weight rows (DRAM: row k = (kr * kw + x) * cin_g + ch of the layer's [k][n]
// weights, nv bytes from `dram`) of kernel rows [kr0, kr0 + nkr) and chunks [u0, u0 + nch)
// into the words of a slot at `slot` (layout in RsTiling). One load per (kernel row, tap,
// chunk) over the chunk's channels, or per (kernel row, tap, channel of a chunk) over the
// chunks when there are more chunks than channels per chunk; either walks DRAM and the slot
// at a constant stride.
std::vector<LdCmd> weight_lds(const Layer& l, const Accelerator& a, const RsTiling& t,
                              uint32_t dram, long long slot, int nv, int kr0, int nkr, int u0,
                              int nch) {
  const int q = t.q, kw = l.kw, cin_g = l.cin_g(), N = l.cout_g();
  const long long snu = t.slot_nu, skh = t.slot_kh;
  const int ob = a.rs_weight_offset_bits();
  const bool over_u = nch > q;
  std::vector<LdCmd> lds;
  for (int kr = kr0; kr < kr0 + nkr; ++kr) {
    for (int x = 0; x < kw; ++x) {
      for (int o = 0; o < (over_u ? q : nch); ++o) {
        // over_u: channel o of every chunk that has it; else the channels of chunk u0 + o.
        const int cc = over_u ? o : 0, u = over_u ? u0 : u0 + o, ch0 = u * q + cc;
        const long long rows =
            over_u ? std::min<long long>(u0 + nch, ceil_div(cin_g - cc, q)) - u0
                   : std::min(q, cin_g - ch0);
        const long long word = slot + ((1LL * x * q + cc) * snu + (u - u0)) * skh + (kr - kr0);
        LdCmd c;
        c.target = kLdWeight;
        c.dram_addr = dram + static_cast<uint32_t>((1LL * (kr * kw + x) * cin_g + ch0) * N);
        c.rows = static_cast<uint32_t>(rows);
        c.row_len = static_cast<uint32_t>(nv);
        c.beats_per_row = static_cast<uint32_t>(ceil_div(nv, a.dram_bytes_per_cycle));
        c.src_stride = static_cast<uint32_t>((over_u ? q : 1) * N);
        c.dst_addr = static_cast<uint32_t>(word << ob);
        c.dst_stride = static_cast<uint32_t>((over_u ? 1 : snu) * skh << ob);
        lds.push_back(c);
      }
    }
  }
  return lds;
}
}  // namespace

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
  uint32_t wslot_pass[2] = {0, 0};          // last pass that read each weight slot
  long long region_no = 0, param_no = 0, wuse_no = 0;
  using WS = RsTiling::WeightSlots;
  // Loads weight rows into the next slot (or the resident slot `pid`); returns the slot's
  // first word and sets w_ld to the last load.
  auto load_weights = [&](int pid, uint32_t dram, int nv, int kr0, int nkr, int u0, int nch,
                          int& wslot, uint32_t& w_ld) {
    wslot = t.weight_slots == WS::Resident ? pid : static_cast<int>(wuse_no++ % 2);
    const long long slot = wslot * t.weight_slot_words;
    for (LdCmd& c : weight_lds(l, a, t, dram, slot, nv, kr0, nkr, u0, nch)) {
      c.w.cmp = t.weight_slots == WS::Resident ? 0 : wslot_pass[wslot];
      sink.ld(c);
      w_ld = ++n_ld;
    }
    return slot;
  };

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
          // The tile's weight rows (nv filters each) into its slot, unless per pass.
          const uint32_t dram = map.weight + static_cast<uint32_t>(1LL * g * K * N + n0);
          int wslot = 0;
          long long tile_slot = 0;
          uint32_t w_ld = 0;
          if (t.weight_slots == WS::Tile || (t.weight_slots == WS::Resident && oh_a == 0))
            tile_slot = load_weights(pid, dram, nv, 0, l.kh, 0, t.nu, wslot, w_ld);
          else if (t.weight_slots == WS::Resident)
            tile_slot = pid * t.weight_slot_words;
          // Strips of e output rows; accumulator slots alternate, one store each.
          for (int oh0 = oh_a; oh0 < oh_b; oh0 += t.e) {
            const int e = std::min(t.e, oh_b - oh0);
            const uint32_t aslot = n_st % 2, acc_addr = aslot * t.acc_tile_pixels;
            const uint32_t acc_free = n_st >= 1 ? n_st - 1 : 0;
            bool first = true;
            for (int fr = 0; fr < t.row_folds; ++fr) {
              for (int cb = 0; cb < t.chan_blocks; ++cb) {
                RsCmd c;
                c.kr0 = static_cast<uint32_t>(fr * t.kh_f);
                c.rows = static_cast<uint32_t>(std::min(t.kh_f, l.kh - fr * t.kh_f));
                c.c0 = static_cast<uint32_t>(cb * t.q * t.r_v);
                c.chunks = static_cast<uint32_t>(
                    std::min<long long>(t.r_v, ceil_div(cin_g - c.c0, t.q)));
                if (t.weight_slots == WS::Pass) {
                  c.w_addr = static_cast<uint32_t>(load_weights(
                      pid, dram, nv, static_cast<int>(c.kr0), static_cast<int>(c.rows),
                      cb * t.r_v, static_cast<int>(c.chunks), wslot, w_ld));
                } else {
                  c.w_addr = static_cast<uint32_t>(
                      tile_slot + 1LL * cb * t.r_v * t.slot_kh + c.kr0);
                }
                c.slot_nu = static_cast<uint32_t>(t.slot_nu);
                c.slot_kh = static_cast<uint32_t>(t.slot_kh);
                c.w.ld = std::max(region_ld, w_ld);
                c.w.st = first ? acc_free : 0;
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
                if (t.weight_slots != WS::Resident) wslot_pass[wslot] = n_pass;
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
      {"WAIT_LD", 0},  {"WAIT_CMP", 1}, {"WAIT_ST", 2},  {"WC", 3},       {"ROWS", 4},
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
  const int64_t rows = c.pe_rows, kw = c.kw, cl = c.cl, skh = c.slot_kh;
  const int64_t wc = int64_t(c.slot_nu) * skh;
  const int64_t s1 = std::min(c.stride, c.kw), rwcl = c.rp;
  return {c.w.ld,  c.w.cmp,  c.w.st, u(wc),     c.rows,   c.c0,     c.chunks, c.nv,
          c.sets,  c.e,      c.q,    c.p,      c.cin_g,  c.kw,     c.stride, c.wout,
          c.in_h,  c.in_w,   u(c.ih0), u(c.iw0), c.cl,   c.acc_addr, c.first,
          u(int64_t(c.q) * kw),                                     // QKW
          u(int64_t(c.q) * wc),                                     // WX
          1,                                                        // WROW
          u(skh),                                                   // WCHUNK
          c.w_addr,                                                 // WBASE
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
