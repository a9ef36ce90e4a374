#include "tech.h"

#include <nlohmann/json.hpp>
#include <vector>

#include "json_util.h"
#include "schedule_ws.h"

namespace hdx {

const Tech& default_tech() {
  // Standard-cell area coefficients: bench/rtl/area.sh's least-squares fit to hdx rtl
  // --synth with techlib/hdx_generic45.lib (bench/RESULTS.md section 10).
  static const Tech t = [] {
    Tech t;
    t.pe_ws_um2 = 903.0;
    t.pe_rs_um2 = 843.0;
    t.spad_um2_per_byte = 145.0;
    t.requant_um2_per_col = 9705.9;
    t.acc_um2_per_col = 890.3;
    t.ifmap_um2_per_bank = 250.7;
    t.weight_um2_per_col = 188.6;
    t.control_ws_um2 = 27531.5;
    t.control_rs_um2 = 36571.7;
    t.control_um2_per_line = 2348.0;
    t.control_um2_per_dram_byte = 0.0;
    t.control_rs_um2_per_drain_input = 20.73;
    return t;
  }();
  return t;
}

namespace {

// The priced memories of an accelerator, by the block that holds them.
struct Priced {
  Memory mem;
  SramPrice price;
};
std::vector<Priced> priced_memories(const Accelerator& a, const Tech& t) {
  std::vector<Priced> v;
  for (const Memory& m : accelerator_memories(a))
    v.push_back({m, price_sram(t.sram_table(), m.kind, m.depth, m.width)});
  return v;
}

}  // namespace

Area accelerator_area(const Accelerator& a, const Tech& t) {
  Area ar;
  const double pes = 1.0 * a.pe_rows * a.pe_cols, C = a.pe_cols;
  const bool rs = a.dataflow == Dataflow::RS;
  ar.pe_array = rs ? pes * (t.pe_rs_um2 + t.spad_um2_per_byte * (a.spad_ifmap + 4.0 * a.spad_psum))
                   : pes * t.pe_ws_um2;
  ar.ifmap = t.ifmap_um2_per_bank * ifmap_banks(a);
  ar.weight = t.weight_um2_per_col * C;
  ar.acc = t.acc_um2_per_col * C;
  ar.output_stage = t.requant_um2_per_col * C;
  // The rs drain picks, for each of C lanes, one of C columns' spad.psum sums: C x C x
  // spad.psum inputs of 32 bits.
  ar.control = (rs ? t.control_rs_um2 : t.control_ws_um2) +
               t.control_um2_per_line * (a.pe_rows + a.pe_cols) +
               t.control_um2_per_dram_byte * a.dram_bytes_per_cycle +
               (rs ? t.control_rs_um2_per_drain_input * C * C * a.spad_psum : 0.0);
  for (const Priced& p : priced_memories(a, t)) {
    const double s = p.price.area_um2 * static_cast<double>(p.mem.count);
    const std::string& b = p.mem.block;
    (b == "ifmap_buffer"    ? ar.ifmap
     : b == "weight_buffer" ? ar.weight
     : b == "accumulator"   ? ar.acc
     : b == "pe_array"      ? ar.spad
                            : ar.param) += s;
  }
  return ar;
}

SramEnergy sram_energy(const Accelerator& a, const Tech& t) {
  SramEnergy e;
  for (const Priced& p : priced_memories(a, t)) {
    const double bytes = p.mem.width / 8.0;  // a word access moves the whole word
    const double rd = p.price.read_pj / bytes, wr = p.price.write_pj / bytes;
    const std::string& b = p.mem.block;
    if (b == "ifmap_buffer") e.ifmap_rd = rd, e.ifmap_wr = wr;
    if (b == "weight_buffer") e.weight_rd = rd, e.weight_wr = wr;
    if (b == "accumulator") e.acc_rd = rd, e.acc_wr = wr;
    if (b == "pe_array") e.filter_rd = rd, e.filter_wr = wr;
  }
  return e;
}

namespace {
struct TechKey {
  const char* key;
  double Tech::*field;
};
const std::vector<TechKey>& tech_keys() {
  static const std::vector<TechKey> k = {
      {"mac_pj", &Tech::mac_pj},
      {"dram_pj_per_byte", &Tech::dram_pj_per_byte},
      {"reg_pj_per_byte", &Tech::reg_pj_per_byte},
      {"pe_ws_um2", &Tech::pe_ws_um2},
      {"pe_rs_um2", &Tech::pe_rs_um2},
      {"spad_um2_per_byte", &Tech::spad_um2_per_byte},
      {"requant_um2_per_col", &Tech::requant_um2_per_col},
      {"acc_um2_per_col", &Tech::acc_um2_per_col},
      {"ifmap_um2_per_bank", &Tech::ifmap_um2_per_bank},
      {"weight_um2_per_col", &Tech::weight_um2_per_col},
      {"control_ws_um2", &Tech::control_ws_um2},
      {"control_rs_um2", &Tech::control_rs_um2},
      {"control_um2_per_line", &Tech::control_um2_per_line},
      {"control_um2_per_dram_byte", &Tech::control_um2_per_dram_byte},
      {"control_rs_um2_per_drain_input", &Tech::control_rs_um2_per_drain_input}};
  return k;
}
}  // namespace

Tech tech_from_json(const nlohmann::json& j) {
  ObjectReader r(j, "");
  std::vector<std::string> allowed = {"name", "sram_lib"};
  for (const auto& k : tech_keys()) allowed.push_back(k.key);
  r.allow_only(allowed);
  Tech t = default_tech();
  t.name = r.get_string("name", t.name);
  for (const auto& k : tech_keys()) t.*k.field = r.get_number(k.key, 0, 1e9, false, t.*k.field);
  if (r.has("sram_lib")) {
    t.sram_lib = r.get_string("sram_lib");
    t.sram = std::make_shared<const SramLib>(load_sram_lib(t.sram_lib));
  }
  return t;
}

Tech load_tech(const std::string& path) { return load_config_file(path, tech_from_json); }

nlohmann::json tech_to_json(const Tech& t) {
  nlohmann::json j = {{"name", t.name}};
  for (const auto& k : tech_keys()) j[k.key] = t.*k.field;
  j["sram_lib"] = t.sram_table().file;
  return j;
}

}  // namespace hdx
