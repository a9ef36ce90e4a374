// The row-stationary (Eyeriss-style) tile schedule: one definition, used by the cost model
// (timing and event counts) and by the simulation harness (the commands the RTL runs).
//
// The rs accelerator has the shell of ws (LD and ST engines, buffers, accumulators, output
// stage); its compute engine runs PASS commands on the PE array. A pass maps a strip of
// output rows onto PE sets: PE (v, i; h, j) holds row kr0 + i of p filters of filter set h
// over q channels of chunk v, and slides it over input row (oh0 + j) * stride - pad + kr0 + i:
// filter rows are reused along a PE row, input rows along a diagonal (i + j * stride), and
// partial sums add up a PE column. docs/architecture.md ("rs") has the figure and the timing.
#pragma once
#include <cstdint>
#include <vector>

#include "accel.h"
#include "network.h"
#include "schedule_ws.h"

namespace hdx {

// How a layer maps onto an rs accelerator.
struct RsTiling : IfmapTiling {
  int q = 0;           // input channels per PE (one chunk)
  int p = 0;           // filters per PE
  int kh_f = 0;        // filter rows per row fold (PE rows of one set)
  int row_folds = 0;   // ceil(kh / kh_f)
  int r_v = 0;         // PE sets stacked vertically: channel chunks per pass
  int chan_blocks = 0; // ceil(cin_g / (q * r_v)): passes over the channels
  int e = 0;           // output rows per strip (PE columns of one set)
  int r_h = 0;         // PE sets side by side: filter sets per pass
  int tile_n = 0;      // filters per channel tile: p * r_h (accumulator lanes used)
  int n_tiles = 0;     // ceil(cout_g / tile_n)
  int acc_tile_pixels = 0;  // accumulator entries per slot (half the buffer)
  int nu = 0;          // ceil(cin_g / q): channel chunks of the layer
  // Weight slots (docs/architecture.md, "rs weight buffer"): Resident, one slot per (group,
  // tile), loaded once; Tile, two slots of one (group, tile) in turn, loaded per ifmap
  // region; Pass, two slots of one pass's rows in turn, loaded per pass. A slot holds one
  // word per (tap x, channel c of a chunk, chunk u, kernel row kr): word
  // ((x * q + c) * slot_nu + u) * slot_kh + kr, counting u and kr from the slot's first, so
  // that the PE rows of a cycle (chunk v, row i: word offset v * slot_kh + i) read distinct
  // banks.
  enum class WeightSlots { Resident, Tile, Pass } weight_slots = WeightSlots::Resident;
  int slot_nu = 0, slot_kh = 0;     // chunks and kernel rows a slot has room for
  long long weight_slot_words = 0;  // kw * q * slot_nu * slot_kh
  bool params_resident = false;
};

// Throws MappingError naming the scratchpad or buffer that is too small and the smallest
// value that works.
RsTiling rs_tiling(const Layer& l, const Accelerator& a);

// One pass: a strip of e output rows (all columns) of one channel tile, over filter rows
// [kr0, kr0 + rows) and channels [c0, c0 + chunks * q) of one group. Phases
// (docs/architecture.md, "rs"): filter load, then per output column ifmap delivery and MACs;
// the column sums drain into the accumulators while the next column runs.
struct RsCmd {
  Waits w;
  uint32_t w_addr = 0;           // weight word of chunk c0 / q, kernel row kr0, tap 0, channel 0
  uint32_t slot_nu = 0, slot_kh = 0;  // of the slot (layout in RsTiling)
  uint32_t kr0 = 0, rows = 0;    // filter rows of this fold
  uint32_t c0 = 0, chunks = 0;   // first channel (within the group), vertical sets active
  uint32_t nv = 0, sets = 0;     // valid filters of the tile, horizontal sets active
  uint32_t e = 0;                // output rows of the strip (PE columns of a set)
  uint32_t q = 0, p = 0;         // channels and filters per PE (the mapping's)
  uint32_t cin_g = 0, kw = 0, stride = 0, wout = 0, in_h = 0, in_w = 0;
  int32_t ih0 = 0;       // input row on diagonal 0: oh0 * stride - pad + kr0
  int32_t iw0 = 0;       // input column of tap 0 of output column 0: -pad
  uint32_t ibase = 0;    // ifmap region: base byte, first input row held, channels per
  int32_t ir0 = 0;       // position, first channel of this group within the position
  uint32_t cl = 0, cg0 = 0;
  uint32_t rp = 0;       // bytes from one input row of the region to the next
  uint32_t acc_addr = 0, first = 0;
  uint32_t pe_rows = 0;  // of the array: the command's derived words depend on it

  // Input rows (diagonals) of one chunk, and values per diagonal over all output columns.
  uint64_t span() const { return uint64_t(e - 1) * stride + rows; }
  uint64_t deliver_values() const {
    return uint64_t(q) * (kw + (wout - 1) * std::min(stride, kw));
  }
};

class RsSink {
 public:
  virtual ~RsSink() = default;
  virtual void ld(const LdCmd& c) = 0;
  virtual void pass(const RsCmd& c) = 0;
  virtual void st(const StCmd& c) = 0;
};

void rs_schedule(const Layer& l, const Accelerator& a, const RsTiling& t, const DramMap& map,
                 RsSink& sink);

struct RsProgram {
  std::vector<LdCmd> ld;
  std::vector<RsCmd> pass;
  std::vector<StCmd> st;
};
RsProgram rs_program(const Layer& l, const Accelerator& a, const DramMap& map);

const std::vector<CmdField>& rs_fields();
std::vector<uint32_t> pack(const RsCmd& c);

}  // namespace hdx
