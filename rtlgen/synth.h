// Synthesis of a generated tree to a standard-cell library (Yosys) and static timing of the
// mapped netlist (OpenSTA). docs/architecture.md, section 7, "Synthesis".
#pragma once
#include <nlohmann/json.hpp>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "sram.h"

namespace hdx {

// What hdx needs to know of a liberty file.
struct LibertyInfo {
  std::string name;                 // library (NAME)
  std::set<std::string> flip_flops;  // cells with an ff group
  std::set<std::string> inverters;   // one input, function "!A"
  std::map<std::string, double> area;  // of every cell that gives one
  double inverter_cap = 0;           // input capacitance of the first inverter (library units)
};

// Reads the group structure of a liberty file. Throws RtlError (exit 2): E006 when it cannot
// be read or does not parse, E007 when it has no flip-flop or no inverter.
LibertyInfo read_liberty_info(const std::string& path);

// The liberty hdx ships: DATA/techlib/hdx_generic45.lib.
std::string default_liberty();

// The SRAM table of --sram-lib (empty: hdx's own), read and checked to hold a macro for
// every memory of rtl/memories.json (`mems`, that file's "memories" array). Throws
// RtlError E010 (exit 2) naming the file and what is missing or malformed.
SramLib sram_lib_for(const std::string& path, const nlohmann::json& mems);

struct SynthInput {
  std::string dir;                      // DIR; the Verilog is in DIR/rtl
  std::string top;
  std::vector<std::string> rtl_files;   // file names in DIR/rtl, filelist order
  std::string liberty;                  // path
  std::string sram_lib;                 // SRAM table (sram.h); empty: hdx's own
  double clock_mhz = 0;
};

// Maps the tree to the liberty (SRAM wrappers kept as black boxes, priced by the SRAM
// table: their area is added to the standard cells'), writes DIR/synth/
// netlist.v, constraints.sdc, timing.txt and report.json (each written under a temporary
// name and renamed), and returns the report. Appends the files written, relative to DIR, to
// *files. Throws RtlError or IoError.
nlohmann::json synthesize(const SynthInput& in, std::vector<std::string>* files);

}  // namespace hdx
