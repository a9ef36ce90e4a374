#include "accel.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "json_util.h"

namespace hdx {

using nlohmann::json;

const char* dataflow_name(Dataflow d) { return d == Dataflow::RS ? "rs" : "ws"; }

int pow2_at_least(int x, int y) {
  int n = 2;
  while (n < x || n < y) n *= 2;
  return n;
}

int Accelerator::rs_weight_banks() const { return pow2_at_least(pe_rows, 2); }

long long Accelerator::rs_weight_words() const {
  const long long banks = rs_weight_banks();
  return weight_bytes() / (banks * pe_cols) * banks;
}

int Accelerator::rs_weight_offset_bits() const {
  int b = 1;
  while ((1 << b) < pe_cols) ++b;
  return b;
}

Accelerator accelerator_from_json(const json& j) {
  ObjectReader r(j, "");
  Accelerator a;
  a.dataflow = r.get_enum("dataflow", {"ws", "rs"}) == "rs" ? Dataflow::RS : Dataflow::WS;
  std::vector<std::string> keys = {"name",     "dataflow",    "pe_rows", "pe_cols",  "data_bits",
                                   "acc_bits", "buffers_kib", "dram",    "clock_mhz"};
  if (a.dataflow == Dataflow::RS) keys.push_back("spad");  // scratchpads exist only in rs PEs
  r.allow_only(keys);
  a.name = r.get_string("name");
  a.pe_rows = r.get_int("pe_rows", 2, 64);
  a.pe_cols = r.get_int("pe_cols", 2, 64);
  a.data_bits = r.get_int("data_bits", 8, 8, 8);
  a.acc_bits = r.get_int("acc_bits", 32, 32, 32);
  {
    ObjectReader b = r.get_object("buffers_kib");
    b.allow_only({"ifmap", "weight", "ofmap"});
    a.ifmap_kib = b.get_int("ifmap", 1, 16384);
    a.weight_kib = b.get_int("weight", 1, 16384);
    a.ofmap_kib = b.get_int("ofmap", 1, 16384);
  }
  {
    ObjectReader d = r.get_object("dram");
    d.allow_only({"bytes_per_cycle", "latency_cycles"});
    a.dram_bytes_per_cycle = d.get_pow2("bytes_per_cycle", 1, 64);
    a.dram_latency_cycles = d.get_int("latency_cycles", 0, 1000);
  }
  a.clock_mhz = r.get_number("clock_mhz", 0, 5000, /*lo_open=*/true, 500.0);
  if (a.dataflow == Dataflow::RS) {
    ObjectReader s = r.get_object("spad");
    s.allow_only({"ifmap", "filter", "psum"});
    a.spad_ifmap = s.get_int("ifmap", 1, 128);
    a.spad_filter = s.get_int("filter", 1, 4096);
    a.spad_psum = s.get_int("psum", 1, 32);
    // Every bank of the weight buffer needs a word, and its addresses (word * 2^offset_bits
    // + byte) have 24 bits.
    const long long bank_row = 1LL * a.rs_weight_banks() * a.pe_cols;
    const long long max_kib = (1LL << (24 - a.rs_weight_offset_bits())) * a.pe_cols / 1024;
    const std::string path = json_path(r.path_of("buffers_kib"), "weight");
    if (a.weight_bytes() < bank_row)
      config_fail(config_code::kOutOfRange, path,
                  fmt::format("an rs weight buffer of {} KiB has less than one word of {} "
                              "bytes per bank ({} banks); set it to at least {}",
                              a.weight_kib, a.pe_cols, a.rs_weight_banks(),
                              (bank_row + 1023) / 1024));
    if (a.weight_kib > max_kib)
      config_fail(config_code::kOutOfRange, path,
                  fmt::format("an rs weight buffer of {} KiB needs more than 24 address bits "
                              "with words of {} bytes; set it to at most {}",
                              a.weight_kib, a.pe_cols, max_kib));
  }
  return a;
}

Accelerator load_accelerator(const std::string& path) {
  return load_config_file(path, [](const json& j) { return accelerator_from_json(j); });
}

json accelerator_to_json(const Accelerator& a) {
  json j{{"name", a.name},
         {"dataflow", dataflow_name(a.dataflow)},
         {"pe_rows", a.pe_rows},
         {"pe_cols", a.pe_cols},
         {"data_bits", a.data_bits},
         {"acc_bits", a.acc_bits},
         {"buffers_kib", {{"ifmap", a.ifmap_kib}, {"weight", a.weight_kib}, {"ofmap", a.ofmap_kib}}},
         {"dram",
          {{"bytes_per_cycle", a.dram_bytes_per_cycle}, {"latency_cycles", a.dram_latency_cycles}}},
         {"clock_mhz", a.clock_mhz}};
  if (a.dataflow == Dataflow::RS)
    j["spad"] = {{"ifmap", a.spad_ifmap}, {"filter", a.spad_filter}, {"psum", a.spad_psum}};
  return j;
}

}  // namespace hdx
