// Search specification (spec.json): the task, the supernet, the hardware space, the
// objective, the constraints and the budgets of `hdx search` (docs/formats.md, docs/search.md).
#pragma once
#include <nlohmann/json_fwd.hpp>
#include <cstdint>
#include <string>
#include <vector>

namespace hdx {

struct DatasetSpec {
  std::string name = "fashion-mnist";  // or "cifar10"
  std::string path;                    // folder of the files; default per data set
  int search_train = 10000;  // training images used for the weight steps of the search
  int search_val = 2500;     // held-out training images used for the architecture steps
  int train = 60000;         // training images for the final training (the first ones)
  int test = 10000;          // test images for the final accuracy
};

struct StageSpec {
  int channels = 16, repeats = 1, stride = 1;
};

struct SupernetSpec {
  int stem_channels = 8, stem_kernel = 3, stem_stride = 1;
  std::vector<StageSpec> stages;
  int head_channels = 0;  // a 1x1 conv with ReLU before the pooling; 0: none
  std::vector<int> kernels = {3, 5, 7};     // MBConv candidates: kernel x expansion
  std::vector<int> expansions = {1, 3, 6};
  std::vector<int> fused_kernels;           // fused-MBConv candidates (none by default)
  std::vector<int> fused_expansions;
  bool skip = true;  // offer "skip" where the layer keeps its shape
  // The candidates of a slot of one kind (MBConv, fused) share one set of weights: each uses
  // the leading channels and the central taps of the largest (docs/search.md section 4).
  bool weight_sharing = false;
};

// Final training of the derived network (docs/search.md, "The result").
struct TrainSpec {
  int epochs = 3, batch_size = 128;
  std::string optimizer = "sgd";  // "sgd" (Nesterov momentum) or "adamw"
  double lr = 0.05;               // peak learning rate of the cosine schedule
  double momentum = 0.9;          // sgd
  double weight_decay = 5e-4;     // on conv / fc weights, not on biases or batch norm
  double warmup_share = 0.1;      // share of the steps with a linear ramp to lr
  double label_smoothing = 0.1;
  int crop_pad = 2;               // random crop after zero padding by this many pixels; 0: off
  bool flip = true;               // random horizontal flip
  bool infeasible = false;        // also train and test a design that misses a constraint
                                  // (for studies); the run stays infeasible, no weights
};

// Legal values of each hardware parameter; a list of one value fixes it.
struct HardwareSpace {
  std::vector<std::string> dataflow = {"ws"};
  std::vector<int> pe_rows = {8}, pe_cols = {8};
  std::vector<int> ifmap_kib = {64}, weight_kib = {64}, ofmap_kib = {64};
  std::vector<int> spad_ifmap = {12}, spad_filter = {224}, spad_psum = {24};
  std::vector<int> dram_bytes_per_cycle = {8};
  int dram_latency_cycles = 20;
  double clock_mhz = 500;
};

enum class Metric { LatencyMs, EnergyUj, AreaMm2, Fps };
const char* metric_name(Metric m);  // "latency_ms", ...

// Metric m of anything with latency_ms, energy_uj and area_mm2 members (numbers, or tensors of
// expected values); fps is 1000 / latency_ms.
template <class C>
auto metric_value(const C& c, Metric m) -> decltype(c.latency_ms) {
  switch (m) {
    case Metric::EnergyUj:
      return c.energy_uj;
    case Metric::AreaMm2:
      return c.area_mm2;
    case Metric::Fps:
      return 1000.0 / c.latency_ms;
    case Metric::LatencyMs:
      break;
  }
  return c.latency_ms;
}

struct Constraint {
  Metric metric = Metric::LatencyMs;
  bool is_max = true;  // "max" (value <= limit) or "min" (value >= limit; fps)
  double limit = 0;
};

enum class Objective { Latency, Energy, Edp, Area };
const char* objective_name(Objective o);

enum class ConstraintMode { Hdx, Soft, None };
const char* constraint_mode_name(ConstraintMode m);

struct Spec {
  std::string name;
  uint64_t seed = 1;
  DatasetSpec dataset;
  SupernetSpec supernet;
  HardwareSpace hardware;
  std::string estimator = "exact";  // or "evaluator"
  // evaluator (DANCE): cost-model samples, of which a fifth are held out; MLP width; steps.
  int eval_samples = 3000, eval_hidden = 128, eval_steps = 1500;
  Objective objective = Objective::Latency;
  double objective_weight = 0.02;          // on the hardware logits
  double objective_network_weight = 0;     // on the network logits (docs/search.md section 4)
  std::vector<Constraint> constraints;
  ConstraintMode mode = ConstraintMode::Hdx;
  // Search phase.
  int search_epochs = 4, search_batch = 64;
  double warmup_share = 0.25;  // share of the search epochs that train weights only
  int warmup_epochs() const;   // round(warmup_share * epochs), at most epochs - 1
  std::string relaxation = "gumbel";  // or "softmax"
  double tau_start = 4.0, tau_end = 0.5;
  double weight_lr = 0.002, arch_lr = 0.05;
  // HDX margin: start, growth per step while violated, and its bound.
  double hdx_margin = 0.05, hdx_growth = 1.1, hdx_max_margin = 1.0;
  double soft_weight = 4.0;                    // soft mode: penalty weight
  int max_extra_epochs = 4;  // epochs added while the discrete design misses a constraint
  double search_minutes = 0;  // wall-clock stop of the search phase, reported as such; 0: none
  // After the search (docs/search.md section 6): "argmax" (the design as searched),
  // "hardware" (its hardware point chosen exactly) or "greedy" (also its network, by slot).
  std::string finish = "argmax";
  TrainSpec train;
  int threads = 0;  // 0: all cores
  std::string device = "auto";  // "auto" (CUDA when available, else CPU), "cpu" or "cuda"
  // hdx flow: training images that calibrate the int8 scales; test images run on the RTL.
  int calib_images = 2000, sim_images = 10;
};

// Parse and validate; errors are ConfigError naming the JSON path.
Spec spec_from_json(const nlohmann::json& j);
Spec load_spec(const std::string& path);
nlohmann::json spec_to_json(const Spec& s);

}  // namespace hdx
