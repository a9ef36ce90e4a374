// The Icarus Verilog (4-state) back end of hdx sim: compiles a generated tree with the
// testbench sim/hdx_tb.sv, cached by configuration hash, and runs jobs on it.
#pragma once
#include <functional>
#include <istream>
#include <string>

#include "accel.h"
#include "job.h"
#include "verilate.h"

namespace hdx {

// Compiles (or finds) the Icarus model of `a`. Throws SimError.
SimModel build_icarus_model(const Accelerator& a,
                            const std::function<void(const std::string&)>& log = {});

// Runs one job on an Icarus model. The result's DRAM image holds the job's output region
// (job.out_addr, job.out_bytes) only; everything else reads as zero. Status 3 is an X or Z
// on a checked signal, with the signal and cycle in the message.
SimResult run_icarus_job(const SimModel& m, const SimJob& job, const std::string& work_dir);

// Reads the testbench's result.txt (status, cycle count, counters, the output bytes in hex,
// message) for `job`, whose output region must lie inside job.dram. Throws SimError naming
// `source` on a short file or a malformed number.
SimResult parse_icarus_result(std::istream& in, const SimJob& job, const std::string& source);

}  // namespace hdx
