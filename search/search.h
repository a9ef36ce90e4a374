// `hdx search`: from a spec, the network and accelerator that meet its constraints
// (docs/search.md). No LibTorch in this header; the CLI includes it.
#pragma once
#include <nlohmann/json.hpp>

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "spec.h"

namespace hdx {

struct SearchProgress {
  std::string phase;  // "tables", "evaluator", "search", "train"
  long long done = 0, total = 0;
  double elapsed_s = 0, eta_s = 0;  // of the phase
  std::string text;   // what is happening, one line
};

// This process's place in an MPI launch (mpirun, srun): rank and number of ranks, from the
// launcher's environment (Open MPI, PMI, SLURM); 0 of 1 without one.
struct Ranks {
  int rank = 0, size = 1;
};
Ranks launch_ranks();

struct SearchOptions {
  std::string out_dir;  // must exist
  std::function<void(const SearchProgress&)> progress;
  std::function<void(const std::string&)> log;  // lines worth keeping
  const std::atomic<bool>* stop = nullptr;       // set (by Ctrl-C) to stop at the next step
  // Data parallelism: every rank runs run_search with the same spec on its share of each
  // batch (the batch sizes of the spec are per rank); rank 0 writes the outputs.
  Ranks ranks;
};

struct SearchResult {
  // "feasible": the design meets every constraint (exact model); "infeasible": the budget
  // ended first, the closest design is written as network.infeasible.json and
  // accelerator.infeasible.json; "stopped": interrupted (Ctrl-C), the current design is
  // written as network.partial.json and accelerator.partial.json, without weights.
  std::string status;
  std::vector<std::string> files;  // written, relative to out_dir
  nlohmann::json report;           // the content of search_report.json
};

SearchResult run_search(const Spec& s, const SearchOptions& o);

// The device a spec's "device" names on this machine: "cuda" or "cpu". "auto" is CUDA when
// LibTorch sees a GPU, else the CPU; "cuda" without a GPU (or with a LibTorch built without
// CUDA) is ConfigError E026.
std::string resolve_device(const std::string& want);

}  // namespace hdx
