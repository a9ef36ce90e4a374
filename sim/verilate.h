// Verilator build of a generated accelerator, cached by configuration hash: a second build
// of the same configuration (and the same templates) reuses the executable.
#pragma once
#include <functional>
#include <string>

#include "accel.h"

namespace hdx {

enum class Simulator { Verilator, Icarus };
// "verilator" / "icarus".
const char* simulator_name(Simulator s);

struct SimModel {
  Simulator simulator = Simulator::Verilator;
  std::string exe;       // Verilator: the model executable (sim/sim_main.cpp + Verilated RTL);
                         // Icarus: the compiled testbench (sim/hdx_tb.sv) for vvp
  std::string dir;       // its cache folder, holding the generated tree under tree/
  std::string top;
  bool trace = false;    // built with FST tracing
  bool built_now = false;
  double build_seconds = 0;
};

// HDX_CACHE_DIR, else $XDG_CACHE_HOME/hdx, else ~/.cache/hdx.
std::string cache_root();

// Fills a cache entry: `compile` builds into a fresh folder beside m.dir (given as its
// argument; it throws SimError on failure), which is then renamed to m.dir, so an entry
// appears whole or not at all. `what` names the simulator in the progress line. Returns m
// with the build time. For the simulator back ends.
SimModel build_into_cache(SimModel m, const std::string& what, const Accelerator& a,
                          const std::function<void(const std::string&)>& log,
                          const std::function<void(const std::string& tmp)>& compile);

// Builds (or finds) the model; `log` receives progress lines. Tracing is for Verilator only.
// Throws SimError.
SimModel build_sim_model(const Accelerator& a, bool trace,
                         const std::function<void(const std::string&)>& log = {},
                         Simulator sim = Simulator::Verilator);

}  // namespace hdx
