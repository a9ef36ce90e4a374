// Technology table: energy per event and area per component. Energies of arithmetic and
// DRAM are 45 nm figures from M. Horowitz, "Computing's energy problem (and what we can do
// about it)", ISSCC 2014; the SRAM buffers are priced by an SRAM macro table (sram.h), and
// the standard-cell area of each component is a formula fitted to `hdx rtl --synth` of
// generated designs (docs/costmodel.md gives each entry and the fit).
#pragma once
#include <nlohmann/json_fwd.hpp>
#include <memory>
#include <string>

#include "accel.h"
#include "sram.h"

namespace hdx {

struct Tech {
  std::string name = "hdx45";
  double mac_pj = 0.3;              // 8-bit multiply (0.2 pJ) + 32-bit add (0.1 pJ)
  double dram_pj_per_byte = 162.5;  // 1.3 nJ per 64-bit DRAM access
  double reg_pj_per_byte = 0.06;    // flip-flop register file (rs ifmap and psum scratchpads)
  // Standard-cell area (um2); default_tech() holds the values fitted to synthesis with hdx's
  // generic 45 nm cell library (bench/rtl/area.sh, docs/costmodel.md "Area").
  double pe_ws_um2 = 0;             // per ws PE
  double pe_rs_um2 = 0;             // per rs PE, without its ifmap and psum scratchpads
  double spad_um2_per_byte = 0;     // rs ifmap and psum scratchpad registers, per byte per PE
  double requant_um2_per_col = 0;   // one requantizer per PE column
  double acc_um2_per_col = 0;       // accumulator logic per PE column
  double ifmap_um2_per_bank = 0;    // ifmap buffer logic per bank
  double weight_um2_per_col = 0;    // weight buffer logic per PE column
  double control_ws_um2 = 0;        // shell, compute control, load and store engines: fixed
  double control_rs_um2 = 0;
  double control_um2_per_line = 0;  // ... per PE row plus per PE column
  double control_um2_per_dram_byte = 0;  // ... per byte of DRAM port width
  double control_rs_um2_per_drain_input = 0;  // rs: per input of the drain's lane selects
  // SRAM macro table (sram.h) for the buffers' area and energy; empty: hdx's own.
  std::string sram_lib;
  std::shared_ptr<const SramLib> sram;  // loaded from sram_lib; null: hdx's own

  const SramLib& sram_table() const { return sram ? *sram : default_sram_lib(); }
};

// The built-in table: the figures above and the fitted area coefficients (tech.cpp).
const Tech& default_tech();
Tech tech_from_json(const nlohmann::json& j);
Tech load_tech(const std::string& path);
nlohmann::json tech_to_json(const Tech& t);

struct Area {  // um^2 by component; each with its SRAM macros
  double pe_array = 0,  // PE array standard cells (rs: with the ifmap and psum scratchpads)
      spad = 0,          // rs filter scratchpads (SRAM macros)
      ifmap = 0, weight = 0,  // buffers: logic + SRAM macros
      acc = 0,                // accumulator: logic + two SRAM copies
      param = 0,              // the store engine's bias/scale memory (SRAM table entry)
      output_stage = 0, control = 0;
  double total() const {
    return pe_array + spad + ifmap + weight + acc + param + output_stage + control;
  }
};
Area accelerator_area(const Accelerator& a, const Tech& t);

// SRAM energy per byte of the buffers (from the SRAM table: word access energy / bytes per
// word) and of the rs filter scratchpad.
struct SramEnergy {
  double ifmap_rd = 0, ifmap_wr = 0, weight_rd = 0, weight_wr = 0, acc_rd = 0, acc_wr = 0,
         filter_rd = 0, filter_wr = 0;
};
SramEnergy sram_energy(const Accelerator& a, const Tech& t);

}  // namespace hdx
