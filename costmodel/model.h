// Cycle, event, energy and area model of a layer on an accelerator. The cycles are exact:
// they replay the tile schedule of schedule_ws.h with the timing rules of the RTL engines
// (docs/architecture.md), and the event counts equal the RTL's counters.
#pragma once
#include <string>
#include <vector>

#include "accel.h"
#include "network.h"
#include "schedule_rs.h"
#include "schedule_ws.h"
#include "tech.h"

namespace hdx {

// Event counts; buffer traffic in bytes. Names match the RTL counters.
struct Events {
  long long macs = 0;
  long long dram_rd_bytes = 0, dram_wr_bytes = 0;
  long long ifmap_wr = 0, ifmap_rd = 0;
  long long weight_wr = 0, weight_rd = 0;
  long long param_wr = 0;
  long long acc_rd = 0, acc_wr = 0;
  // rs only: PE scratchpad accesses, in entries (ifmap and filter int8, psum int32).
  long long spad_ifmap_rd = 0, spad_ifmap_wr = 0, spad_filter_rd = 0, spad_filter_wr = 0;
  long long spad_psum_rd = 0, spad_psum_wr = 0;
  bool operator==(const Events& o) const;
  Events operator-(const Events& o) const;
  Events& operator+=(const Events& o);
  Events operator*(long long k) const;
};
// Every counter of Events, in event_list's order.
inline constexpr long long Events::*kEventFields[] = {
    &Events::macs,     &Events::dram_rd_bytes, &Events::dram_wr_bytes, &Events::ifmap_wr,
    &Events::ifmap_rd, &Events::weight_wr,     &Events::weight_rd,     &Events::param_wr,
    &Events::acc_rd,   &Events::acc_wr,        &Events::spad_ifmap_rd, &Events::spad_ifmap_wr,
    &Events::spad_filter_rd, &Events::spad_filter_wr, &Events::spad_psum_rd,
    &Events::spad_psum_wr};
// (name, value) pairs in a fixed order, for reports and comparisons.
std::vector<std::pair<std::string, long long>> event_list(const Events& e);

struct Energy {  // picojoules by component
  double mac = 0, dram = 0, ifmap = 0, weight = 0, acc = 0, param = 0, spad = 0;
  double total() const { return mac + dram + ifmap + weight + acc + param + spad; }
};

// Energy of event counts on an accelerator (the cost model's energy, or the RTL's from its
// counters).
Energy event_energy(const Events& e, const Accelerator& a, const Tech& tech = default_tech());

struct LayerCost {
  std::string name;
  long long cycles = 0;
  Events ev;
  double utilization = 0;  // macs / (cycles * pe_rows * pe_cols)
  double latency_us = 0;
  Energy energy;
  long long n_ld = 0, n_cmp = 0, n_st = 0;  // commands per engine
  long long n_replayed = 0;  // commands replayed one by one; the others repeated a period
  WsTiling tiling;           // ws layers
  RsTiling rs;               // rs layers
};

// Throws MappingError when the layer does not fit the accelerator. A host operation
// (Layer::host) costs nothing: zero cycles, events and energy. Runs of loop iterations
// that repeat periodically are skipped in one step (docs/costmodel.md); the figures are those
// of the full replay, which layer_cost_full_replay computes command by command (for tests).
LayerCost layer_cost(const Layer& l, const Accelerator& a, const Tech& tech = default_tech());
LayerCost layer_cost_full_replay(const Layer& l, const Accelerator& a,
                                 const Tech& tech = default_tech());

struct NetworkCost {
  std::vector<LayerCost> layers;
  long long cycles = 0;
  long long macs = 0;
  double latency_us = 0, energy_uj = 0, area_mm2 = 0;
  Area area;
};
NetworkCost network_cost(const Network& n, const Accelerator& a,
                         const Tech& tech = default_tech());

}  // namespace hdx
