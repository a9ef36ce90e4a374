// Technology table: energy per event and area per component. Defaults are 45 nm figures
// from M. Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC 2014
// (see docs/costmodel.md for the derivation of each entry).
#pragma once
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "accel.h"

namespace hdx {

struct Tech {
  std::string name = "horowitz45";
  double mac_pj = 0.3;              // 8-bit multiply (0.2 pJ) + 32-bit add (0.1 pJ)
  double dram_pj_per_byte = 162.5;  // 1.3 nJ per 64-bit DRAM access
  // SRAM read or write per byte: 8 KiB 1.25 pJ, 32 KiB 2.5 pJ, 1 MiB 12.5 pJ (64-bit
  // accesses of 10, 20 and 100 pJ); log-linear in between and beyond.
  double sram_pj_per_byte_8k = 1.25, sram_pj_per_byte_32k = 2.5, sram_pj_per_byte_1m = 12.5;
  double reg_pj_per_byte = 0.06;    // flip-flop register file (param buffer)
  double pe_area_um2 = 282 + 137 + 57 * 4.5;  // 8-bit mult, 32-bit add, 57 flip-flops
  double sram_area_um2_per_kib = 5000;  // 6T cell 0.3 um2 * 8192 bits, x2 periphery
  double reg_area_um2_per_byte = 36;     // 8 flip-flops of 4.5 um2
  double requant_area_um2 = 3495 + 2 * 137 + 100 * 4.5;  // 32-bit mult, adders, regs per lane
  double dma_area_um2 = 20000;           // DMA engines, command queues, counters

  double sram_pj_per_byte(long long bytes) const;
};

const Tech& default_tech();
Tech tech_from_json(const nlohmann::json& j);
Tech load_tech(const std::string& path);
nlohmann::json tech_to_json(const Tech& t);

struct Area {  // um^2 by component
  double pe_array = 0, spad = 0, ifmap = 0, weight = 0, acc = 0, param = 0, output_stage = 0,
         control = 0;
  double total() const {
    return pe_array + spad + ifmap + weight + acc + param + output_stage + control;
  }
};
Area accelerator_area(const Accelerator& a, const Tech& t);

}  // namespace hdx
