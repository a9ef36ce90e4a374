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
#include <cstdint>
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

// How a layer is cut into tiles on a ws accelerator.
struct WsTiling {
  int n_tiles = 0, k_folds = 0;         // over output channels (pe_cols), reduction (pe_rows)
  bool ifmap_resident = false;          // the whole input fits and is loaded once
  long long ifmap_slot_bytes = 0;       // bytes per ifmap slot (two slots unless resident)
  int region_out_rows = 0;              // output rows per ifmap region
  int groups_per_region = 0;            // groups whose channels one region holds
  int acc_tile_pixels = 0;              // output pixels per accumulator tile (half the buffer)
  int weight_slots = 0;                 // weight folds the weight buffer holds
  bool weights_resident = false;        // every fold has its own slot, loaded once
  bool params_resident = false;
};

// Throws MappingError naming the buffer that is too small and the KiB it needs.
WsTiling ws_tiling(const Layer& l, const Accelerator& a);

// Byte addresses of the layer's tensors in DRAM (layouts in docs/arithmetic.md and
// docs/architecture.md): input HWC, weights [group][k][n], params 9 bytes per out channel,
// output HWC.
struct DramMap {
  uint32_t in = 0, weight = 0, param = 0, out = 0;
};

constexpr int kParamBytes = 9;  // int32 bias, int32 mult, uint8 shift, little endian

// Receives the commands in program order (each command's waits name earlier commands only).
class WsSink {
 public:
  virtual ~WsSink() = default;
  virtual void ld(const LdCmd& c) = 0;
  virtual void cmp(const CmpCmd& c) = 0;
  virtual void st(const StCmd& c) = 0;
};

void ws_schedule(const Layer& l, const Accelerator& a, const DramMap& map, WsSink& sink);

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

}  // namespace hdx
