#include "sram.h"

#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "json_util.h"
#include "schedule_ws.h"
#include "util.h"

namespace hdx {

std::vector<Memory> accelerator_memories(const Accelerator& a) {
  std::vector<Memory> list;
  auto add = [&](const std::string& inst, const char* module, const char* kind, long long depth,
                 long long width, const char* we, long long count, const char* block) {
    list.push_back({inst, module, kind, depth, width, we, count, block});
  };
  // hdx_buf: two banks of NB-byte words.
  auto banked = [&](const std::string& inst, long long bytes, long long nb) {
    for (int bank = 0; bank < 2; ++bank)
      add(fmt::format("{}.u_bank{}", inst, bank), "hdx_sram_2p", "sram_1r1w",
          (bytes + 2 * nb - 1) / (2 * nb), nb * 8, "byte", 1, "weight_buffer");
  };
  const int R = a.pe_rows, C = a.pe_cols, nb = ifmap_banks(a);
  add("u_ifmap_buf.g_bank[*].u_bank", "hdx_sram_2p", "sram_1r1w", (a.ifmap_bytes() + nb - 1) / nb,
      8, "word", nb, "ifmap_buffer");
  if (a.dataflow == Dataflow::RS) {
    const int wb = a.rs_weight_banks();
    add("g_rs.u_weight_buf.g_bank[*].u_bank", "hdx_sram_2p", "sram_1r1w",
        a.rs_weight_words() / wb, 8LL * C, "byte", wb, "weight_buffer");
    add("g_rs.u_cmp.u_array.g_row[*].g_col[*].u_pe.u_filt", "hdx_sram_1p", "sram_1rw",
        a.spad_filter, 8, "word", 1LL * R * C, "pe_array");
  } else {
    banked("g_ws.u_weight_buf", a.weight_bytes(), ws_weight_word_bytes(a));
  }
  for (const char* copy : {"u_acc.u_rmw", "u_acc.u_store"})
    add(copy, "hdx_sram_2p", "sram_1r1w", a.acc_entries(), 32LL * C, "word", 1, "accumulator");
  add("u_st.u_param", "hdx_sram_2p", "sram_1r1w", 2, 8LL * kParamBytes * C, "byte", 1,
      "store_engine");
  return list;
}

SramLib sram_lib_from_json(const nlohmann::json& j) {
  ObjectReader r(j, "");
  r.allow_only({"name", "note", "macros"});
  SramLib lib;
  lib.name = r.get_string("name");
  if (r.has("note")) r.get_string("note");
  const nlohmann::json& ms = r.get_array("macros", true);
  for (size_t i = 0; i < ms.size(); ++i) {
    ObjectReader m(ms[i], json_path(r.path_of("macros"), i));
    m.allow_only({"kind", "depth", "width", "area_um2", "read_pj", "write_pj", "access_ns",
                  "setup_ns"});
    SramMacro x;
    x.kind = m.get_enum("kind", {"sram_1r1w", "sram_1rw"});
    x.depth = m.get_int("depth", 1, 1 << 24);
    x.width = m.get_int("width", 1, 4096);
    x.area_um2 = m.get_number("area_um2", 0, 1e9, true);
    x.read_pj = m.get_number("read_pj", 0, 1e6, false);
    x.write_pj = m.get_number("write_pj", 0, 1e6, false);
    x.access_ns = m.get_number("access_ns", 0, 1e3, false);
    x.setup_ns = m.get_number("setup_ns", 0, 1e3, false);
    lib.macros.push_back(x);
  }
  return lib;
}

SramLib load_sram_lib(const std::string& path) {
  SramLib lib = load_config_file(path, sram_lib_from_json);
  lib.file = path;
  return lib;
}

std::string default_sram_lib_path() { return data_dir() + "/techlib/hdx_sram45.json"; }

const SramLib& default_sram_lib() {
  static const SramLib lib = load_sram_lib(default_sram_lib_path());
  return lib;
}

SramPrice price_sram(const SramLib& lib, const std::string& kind, long long depth,
                     long long width) {
  SramPrice best;
  bool found = false;
  for (const SramMacro& m : lib.macros) {
    if (m.kind != kind || m.depth < depth) continue;
    const long long tiles = (width + m.width - 1) / m.width;
    const double area = static_cast<double>(tiles) * m.area_um2;
    if (found && area >= best.area_um2) continue;
    found = true;
    best.macro = m;
    best.tiles = tiles;
    best.area_um2 = area;
  }
  if (!found)
    throw ConfigError(config_code::kNoSramMacro,
                      fmt::format("{}: no {} macro of {} words or more for a memory of {} x {} "
                                  "bits; add one to the SRAM table",
                                  lib.file.empty() ? lib.name : lib.file, kind, depth, depth,
                                  width));
  const double t = static_cast<double>(best.tiles);
  best.read_pj = t * best.macro.read_pj;
  best.write_pj = t * best.macro.write_pj;
  best.access_ns = best.macro.access_ns;
  best.setup_ns = best.macro.setup_ns;
  return best;
}

}  // namespace hdx
