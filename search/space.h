// The search space without LibTorch: the supernet's layer slots and their candidate blocks,
// the hardware points, and the cost tables the cost model fills for every (slot, candidate,
// hardware point). docs/search.md describes them.
#pragma once
#include <nlohmann/json_fwd.hpp>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "accel.h"
#include "network.h"
#include "spec.h"
#include "tech.h"

namespace hdx {

// One choice of a searchable layer: an MBConv block (1x1 expand with ReLU unless expansion
// is 1, kxk depthwise with ReLU, linear 1x1 project, residual add when the shape is kept),
// a fused-MBConv block (kxk full convolution to in_c * expansion with ReLU, linear 1x1
// project, residual add when the shape is kept), or skip (identity; only where the block
// keeps its shape).
struct Candidate {
  int kernel = 0, expansion = 0;
  bool skip = false;
  bool fused = false;
  std::string label() const;  // "mb5e3", "fu3e2" or "skip"
};

struct Slot {
  std::string name;  // "s<stage>.b<repeat>", the prefix of its layers' names
  int in_c = 0, in_h = 0, in_w = 0, out_c = 0, stride = 1;
  bool residual() const { return stride == 1 && in_c == out_c; }
  std::vector<Candidate> cands;
};

struct Supernet {
  int in_c = 0, in_h = 0, in_w = 0, classes = 10;
  int stem_c = 0, stem_k = 3, stem_stride = 1, stem_h = 0, stem_w = 0;
  int head_c = 0;  // 0: no head conv
  bool weight_sharing = false;  // SupernetSpec::weight_sharing
  std::vector<Slot> slots;
};

// Shapes of the data set: Fashion-MNIST 1x28x28, CIFAR-10 3x32x32, 10 classes each.
Supernet build_supernet(const Spec& s);

// The layer objects (network.json form) of one candidate at its slot, reading `input`
// (a layer name). Skip gives none.
nlohmann::json candidate_layers(const Slot& s, const Candidate& c, const std::string& input);
// The discrete network: choice[i] indexes slots[i].cands. Named after the spec.
Network derive_network(const Supernet& n, const std::vector<int>& choice,
                       const std::string& name);
// The choices as text: "s0.b0=mb3e6 s0.b1=skip ...".
std::string describe_choice(const Supernet& n, const std::vector<int>& choice);

// The hardware space: one categorical dimension per parameter, in a fixed order. A point is
// a mixed-radix index over the dimensions, the first dimension most significant.
struct HwDim {
  std::string name;             // "dataflow", "pe_rows", ...
  std::vector<std::string> labels;  // the legal values as text
};
struct HwSpace {
  HardwareSpace space;
  std::vector<HwDim> dims;
  long long points = 1;
  std::vector<int> decode(long long point) const;  // value index per dimension
  long long encode(const std::vector<int>& idx) const;
  Accelerator accel(long long point, const std::string& name = "searched") const;
};
HwSpace build_hw_space(const HardwareSpace& h);

// Cost of every candidate of every slot on every hardware point, from the cost model
// (exact), plus the fixed layers (stem, head, fc) and the area per point. Flat, row-major
// [slot][cand][point] with slot s's candidates at offset[s].
struct CostTables {
  long long points = 0;
  std::vector<int> offset, count;  // per slot: first row and number of candidates
  std::vector<double> lat_ms, energy_uj;  // [row * points + point]
  std::vector<char> ok;                   // 0 where a layer of the candidate does not map
  std::vector<double> fixed_lat_ms, fixed_energy_uj, area_mm2;  // [point]
  std::vector<char> fixed_ok;
  // Why a cell does not map, keyed by row * points + point; the fixed layers' rows follow
  // the candidates' (key ok.size() + point).
  std::map<std::size_t, std::string> why;
  long long layer_evals = 0;     // distinct (layer, accelerator) pairs evaluated
  std::size_t row(int slot, int cand) const { return static_cast<std::size_t>(offset[slot] + cand); }
};
// Throws MappingError when some candidate, or the fixed layers, map on no point at all.
// `progress(done, total)` is called now and then from the calling thread.
CostTables fill_tables(const Supernet& n, const HwSpace& hw, const Tech& tech,
                       const std::function<void(long long, long long)>& progress = {},
                       int threads = 1);

struct DesignCost {
  double latency_ms = 0, energy_uj = 0, area_mm2 = 0;
  bool mappable = true;
  std::string why;  // the first layer that does not map, when !mappable
  double value(Metric m) const;
};
// Exact cost of a discrete design from the tables (the sum the cost model would compute).
DesignCost design_cost(const CostTables& t, const std::vector<int>& choice, long long point);

}  // namespace hdx
