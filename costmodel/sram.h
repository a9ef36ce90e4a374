// SRAM macros: the memories an accelerator's RTL instantiates, and a table of compiled
// macros that prices them (area, read and write energy, access and setup time).
// docs/formats.md, "SRAM table"; docs/costmodel.md, "Area" and "Energy".
#pragma once
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "accel.h"

namespace hdx {

// One memory of the RTL (one line of rtl/memories.json): `count` instances of a
// synchronous-read SRAM wrapper of `depth` words of `width` bits.
struct Memory {
  std::string instance;  // below the core, e.g. "u_ifmap_buf.g_bank[*].u_bank"
  std::string module;    // hdx_sram_2p (one read, one write port) or hdx_sram_1p
  std::string kind;      // "sram_1r1w" or "sram_1rw"
  long long depth = 0, width = 0;
  std::string write_enable;  // "word" or "byte"
  long long count = 1;
  std::string block;  // the synthesis kind holding it: ifmap_buffer, weight_buffer, ...
};

// Every memory of the accelerator's RTL, in the order of rtl/memories.json.
std::vector<Memory> accelerator_memories(const Accelerator& a);

// One compiled macro of the table.
struct SramMacro {
  std::string kind;  // "sram_1r1w" or "sram_1rw"
  long long depth = 0, width = 0;
  double area_um2 = 0, read_pj = 0, write_pj = 0, access_ns = 0, setup_ns = 0;
};

struct SramLib {
  std::string name, file;  // file: where it was read from
  std::vector<SramMacro> macros;
};

// How a memory is built from the table: `tiles` macros of one entry side by side (each
// holds `macro.width` bits of the word), per instance. Energies are per access of the whole
// word; area per instance.
struct SramPrice {
  SramMacro macro;
  long long tiles = 1;
  double area_um2 = 0, read_pj = 0, write_pj = 0, access_ns = 0, setup_ns = 0;
};

// Parses a table (docs/formats.md). Throws ConfigError naming the JSON path.
SramLib sram_lib_from_json(const nlohmann::json& j);
// Reads a table file. Throws ConfigError whose message starts with the file name.
SramLib load_sram_lib(const std::string& path);
// The table hdx ships: DATA/techlib/hdx_sram45.json (read once).
std::string default_sram_lib_path();
const SramLib& default_sram_lib();

// The cheapest way to build a memory of `kind`, `depth` x `width` from the table: among
// the macros of that kind at least `depth` deep, the one whose ceil(width / macro width)
// copies have the least area. Throws ConfigError (kNoSramMacro) naming the table's file and
// the memory when no macro of the kind is deep enough.
SramPrice price_sram(const SramLib& lib, const std::string& kind, long long depth,
                     long long width);

}  // namespace hdx
