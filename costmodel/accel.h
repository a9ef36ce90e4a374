// Accelerator description (accelerator.json).
#pragma once
#include <nlohmann/json_fwd.hpp>
#include <string>

namespace hdx {

enum class Dataflow { WS, RS };
const char* dataflow_name(Dataflow d);  // "ws" or "rs"

struct Accelerator {
  std::string name;
  Dataflow dataflow = Dataflow::WS;
  int pe_rows = 8, pe_cols = 8;
  int data_bits = 8, acc_bits = 32;
  // On-chip buffers in KiB: ifmap (int8 activations), weight (int8 weights),
  // ofmap (int32 accumulators, pe_cols lanes per entry).
  int ifmap_kib = 64, weight_kib = 64, ofmap_kib = 64;
  int dram_bytes_per_cycle = 8;  // width of each DRAM channel (read and write) in bytes
  int dram_latency_cycles = 10;  // cycles between a read request and its data, beyond 1
  double clock_mhz = 500.0;
  // Per-PE scratchpads of the rs dataflow, in entries: ifmap and filter entries are int8,
  // psum entries int32. Unused by ws.
  int spad_ifmap = 12, spad_filter = 224, spad_psum = 24;

  long long ifmap_bytes() const { return 1024LL * ifmap_kib; }
  long long weight_bytes() const { return 1024LL * weight_kib; }
  long long ofmap_bytes() const { return 1024LL * ofmap_kib; }
  // Accumulator entries (pe_cols int32 lanes each).
  long long acc_entries() const { return ofmap_bytes() / (4LL * pe_cols); }
  // The rs weight buffer (hdx_wbuf): words of pe_cols bytes (one weight row each) on banks,
  // the power of two >= 2 and pe_rows; every bank holds weight_bytes / (pe_cols * banks)
  // words (rounded down). Byte b of word w has the buffer address w * 2^offset_bits + b.
  int rs_weight_banks() const;
  long long rs_weight_words() const;
  int rs_weight_offset_bits() const;
};

// The smallest power of two >= 2, x and y (bank counts and word widths of the buffers).
int pow2_at_least(int x, int y);

Accelerator accelerator_from_json(const nlohmann::json& j);
Accelerator load_accelerator(const std::string& path);
nlohmann::json accelerator_to_json(const Accelerator& a);

}  // namespace hdx
