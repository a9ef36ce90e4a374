#include "tech.h"

#include <algorithm>
#include <cmath>

namespace hdx {

double Tech::sram_pj_per_byte(long long bytes) const {
  // Log-linear through (8 KiB, e8), (32 KiB, e32), (1 MiB, e1m).
  const double x = std::log2(std::max(1.0, static_cast<double>(bytes)));
  auto lerp = [](double x0, double y0, double x1, double y1, double xv) {
    return y0 + (y1 - y0) * (xv - x0) / (x1 - x0);
  };
  const double v = x <= 15 ? lerp(13, sram_pj_per_byte_8k, 15, sram_pj_per_byte_32k, x)
                           : lerp(15, sram_pj_per_byte_32k, 20, sram_pj_per_byte_1m, x);
  return std::max(v, 0.1 * sram_pj_per_byte_8k);
}

const Tech& default_tech() {
  static const Tech t;
  return t;
}

Area accelerator_area(const Accelerator& a, const Tech& t) {
  Area ar;
  ar.pe_array = t.pe_area_um2 * a.pe_rows * a.pe_cols;
  if (a.dataflow == Dataflow::RS)  // scratchpads: int8 ifmap and int32 psum registers, and
    ar.spad = (t.reg_area_um2_per_byte * (a.spad_ifmap + 4.0 * a.spad_psum) +  // the filter
               t.sram_area_um2_per_kib * a.spad_filter / 1024.0) *             // SRAM
              a.pe_rows * a.pe_cols;
  ar.ifmap = t.sram_area_um2_per_kib * a.ifmap_kib;
  ar.weight = t.sram_area_um2_per_kib * a.weight_kib;
  ar.acc = 2 * t.sram_area_um2_per_kib * a.ofmap_kib;  // two copies: compute's and store's
  ar.param = t.reg_area_um2_per_byte * 2 * a.pe_cols * 9;
  ar.output_stage = t.requant_area_um2 * a.pe_cols;
  ar.control = t.dma_area_um2;
  return ar;
}

}  // namespace hdx

#include <nlohmann/json.hpp>

#include "json_util.h"

namespace hdx {

namespace {
struct TechKey {
  const char* key;
  double Tech::*field;
};
const std::vector<TechKey>& tech_keys() {
  static const std::vector<TechKey> k = {
      {"mac_pj", &Tech::mac_pj},
      {"dram_pj_per_byte", &Tech::dram_pj_per_byte},
      {"sram_pj_per_byte_8k", &Tech::sram_pj_per_byte_8k},
      {"sram_pj_per_byte_32k", &Tech::sram_pj_per_byte_32k},
      {"sram_pj_per_byte_1m", &Tech::sram_pj_per_byte_1m},
      {"reg_pj_per_byte", &Tech::reg_pj_per_byte},
      {"pe_area_um2", &Tech::pe_area_um2},
      {"sram_area_um2_per_kib", &Tech::sram_area_um2_per_kib},
      {"reg_area_um2_per_byte", &Tech::reg_area_um2_per_byte},
      {"requant_area_um2", &Tech::requant_area_um2},
      {"dma_area_um2", &Tech::dma_area_um2}};
  return k;
}
}  // namespace

Tech tech_from_json(const nlohmann::json& j) {
  ObjectReader r(j, "");
  std::vector<std::string> allowed = {"name"};
  for (const auto& k : tech_keys()) allowed.push_back(k.key);
  r.allow_only(allowed);
  Tech t;
  t.name = r.get_string("name", t.name);
  for (const auto& k : tech_keys()) t.*k.field = r.get_number(k.key, 0, 1e9, true, t.*k.field);
  return t;
}

Tech load_tech(const std::string& path) { return load_config_file(path, tech_from_json); }

nlohmann::json tech_to_json(const Tech& t) {
  nlohmann::json j = {{"name", t.name}};
  for (const auto& k : tech_keys()) j[k.key] = t.*k.field;
  return j;
}

}  // namespace hdx
