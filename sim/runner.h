// Runs layers on the Verilated RTL and compares them with the golden kernels and the model.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "accel.h"
#include "golden.h"
#include "job.h"
#include "schedule_ws.h"
#include "model.h"
#include "network.h"
#include "verilate.h"

namespace hdx {

struct LayerData {
  std::vector<int8_t> input;   // HWC
  std::vector<int8_t> weight;  // [out_c][kh][kw][cin_g]
  Requant q;
};
// Seeded random input, weights and requantization parameters.
LayerData random_layer_data(const Layer& l, uint64_t seed);
// Reads DIR/input.npy (HWC int8), weight.npy ([out_c][kh][kw][cin_g] int8), bias.npy and
// mult.npy (int32), shift.npy (uint8); throws IoError naming the file whose type or shape
// does not fit the layer, SimError for out-of-range requantization parameters.
LayerData load_layer_data(const Layer& l, const std::string& dir);

// Packs the program's three command streams into the job (words per command and words).
void set_commands(SimJob& job, const WsProgram& prog);
void set_commands(SimJob& job, const RsProgram& prog);

// How the DRAM model behaves (docs/architecture.md, "DRAM channels").
struct SimOptions {
  double backpressure = 0;  // 0 <= P < 1: per-cycle probability of each kind of DRAM stall
  uint64_t seed = 1;        // of the stalls
};

struct LayerSim {
  std::string name;
  LayerCost model;
  bool backpressure = false;  // the DRAM stalled at random: cycles may exceed the model's
  long long rtl_cycles = 0;
  Events rtl;
  bool outputs_match = false;
  long long mismatches = 0;
  std::vector<int8_t> rtl_out, golden_out;  // HWC
  double seconds = 0;
  // Exact without backpressure; with it, never fewer than the model's.
  bool cycles_match() const {
    return backpressure ? rtl_cycles >= model.cycles : rtl_cycles == model.cycles;
  }
  bool events_match() const { return rtl == model.ev; }
  bool ok() const { return outputs_match && cycles_match() && events_match(); }
};

// Runs one layer. `fst` names a waveform file (the model must be built with tracing).
// Throws SimError on a watchdog expiry, an X (Icarus), an assertion or a harness failure.
LayerSim simulate_layer(const SimModel& m, const Layer& l, const Accelerator& a,
                        const LayerData& d, const std::string& fst = "",
                        const SimOptions& opt = {});

}  // namespace hdx
