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
  double loop_seconds = 0;  // of that, the model's cycle loop (Verilator)
  double loop_cpu_seconds = 0;  // the CPU time of that loop
  // Exact without backpressure; with it, never fewer than the model's.
  bool cycles_match() const {
    return backpressure ? rtl_cycles >= model.cycles : rtl_cycles == model.cycles;
  }
  bool events_match() const { return rtl == model.ev; }
  bool ok() const { return outputs_match && cycles_match() && events_match(); }
};

// Runs one layer. `fst` names a waveform file (the model must be built with tracing).
// Throws SimError on a watchdog expiry, an X (Icarus), an assertion or a harness failure.
// Each call starts a simulator process of its own.
LayerSim simulate_layer(const SimModel& m, const Layer& l, const Accelerator& a,
                        const LayerData& d, const std::string& fst = "",
                        const SimOptions& opt = {});

// One simulator process that runs any number of jobs (docs/architecture.md, "The job
// stream"): a Verilator model started with --stream, fed job after job through a socket, so
// that a whole network and all its images need one process start. On Icarus, or for a
// traced model, each job still runs as a process of its own (as simulate_layer does). Not
// shared between threads: each worker of a parallel run owns one.
class SimWorker {
 public:
  // `name` names the worker in messages ("worker 2"). The process starts on the first job.
  SimWorker(SimModel m, std::string name);
  ~SimWorker();
  SimWorker(const SimWorker&) = delete;
  SimWorker& operator=(const SimWorker&) = delete;

  const SimModel& model() const { return m_; }
  const std::string& name() const { return name_; }
  long pid() const { return static_cast<long>(pid_); }
  // Runs one job; `what` names it for messages ("image 3, layer 'conv1'"). Throws SimError 15
  // naming the worker, its process, how it ended and `what` when the process dies or breaks the
  // stream; `printed` receives what the model printed during the job (assertion messages).
  SimResult run(const SimJob& job, const std::string& what, std::string* printed);
  // Ends the process (closes its stream and waits for it).
  void stop();

 private:
  void start();
  [[noreturn]] void died(const std::string& what, const std::string& how);
  SimModel m_;
  std::string name_;
  int pid_ = -1;
  int fd_ = -1;              // our end of the socket
  std::string err_path_;     // the process's standard error
  long long err_read_ = 0;   // bytes of it already returned
};

// Runs one layer on the worker's process. `golden`, when given, is the golden output for this
// input (the reference inference's, when the layer's input equals the reference's), which
// spares computing it again; `what` names the job in messages. Throws as simulate_layer does.
LayerSim simulate_layer(SimWorker& w, const Layer& l, const Accelerator& a, const LayerData& d,
                        const SimOptions& opt = {}, const std::vector<int8_t>* golden = nullptr,
                        const std::string& what = "");

}  // namespace hdx
