// rtlgen: turns an accelerator description into an output tree of Verilog.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "accel.h"
#include "util.h"

namespace hdx {

struct RtlOptions {
  std::string out_dir;       // DIR; the Verilog goes to DIR/rtl
  bool force = false;        // allow a non-empty DIR
  bool lint = true;          // run verilator --lint-only -Wall
  bool synth = false;        // map with Yosys, time with OpenSTA: DIR/synth/ (synth.h)
  std::string liberty;       // cell library for synth; empty: the one hdx ships
  std::string sram_lib;      // SRAM table for synth (sram.h); empty: the one hdx ships
  std::string command_line;  // for banners and the manifest
};

struct Port {
  std::string name;
  bool input;
  int width;
};

struct RtlResult {
  std::string top;          // top module name
  std::string rtl_dir;      // DIR/rtl
  std::string filelist;     // DIR/rtl/filelist.f
  std::string config_hash;  // 16 hex digits over the configuration and the templates
  std::vector<std::string> files;  // written, relative to DIR
  nlohmann::json synth;     // DIR/synth/report.json when synthesized
};

// Ports of the generated top (one table for the Verilog, the signature and the harness).
std::vector<Port> top_ports(const Accelerator& a);
std::string top_name(const Accelerator& a);
// Hash of the configuration and the template sources; keys the simulation build cache.
std::string config_hash(const Accelerator& a);

// Writes DIR/rtl (templates, generated top, command field include, filelist, signature),
// lints it, optionally synthesizes it, and writes DIR/manifest.json. Throws RtlError.
RtlResult generate_rtl(const Accelerator& a, const RtlOptions& opt);

// Writes DIR/manifest.json: tool version, command, config, dependency versions and the
// SHA-256 of every file listed (paths relative to DIR).
void write_manifest(const std::string& dir, const std::string& command,
                    const nlohmann::json& config, const std::vector<std::string>& files);

// Versions of the tools hdx uses, as they report themselves.
nlohmann::json tool_versions();

}  // namespace hdx
