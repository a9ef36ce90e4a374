#include "accel.h"

#include <nlohmann/json.hpp>

#include "json_util.h"

namespace hdx {

using nlohmann::json;

Accelerator accelerator_from_json(const json& j) {
  ObjectReader r(j, "");
  r.allow_only({"name", "dataflow", "pe_rows", "pe_cols", "data_bits", "acc_bits", "buffers_kib",
                "dram", "clock_mhz"});
  Accelerator a;
  a.name = r.get_string("name");
  r.get_enum("dataflow", {"ws"});
  a.dataflow = Dataflow::WS;
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
  return a;
}

Accelerator load_accelerator(const std::string& path) {
  return load_config_file(path, [](const json& j) { return accelerator_from_json(j); });
}

json accelerator_to_json(const Accelerator& a) {
  return json{{"name", a.name},
              {"dataflow", "ws"},
              {"pe_rows", a.pe_rows},
              {"pe_cols", a.pe_cols},
              {"data_bits", a.data_bits},
              {"acc_bits", a.acc_bits},
              {"buffers_kib", {{"ifmap", a.ifmap_kib}, {"weight", a.weight_kib}, {"ofmap", a.ofmap_kib}}},
              {"dram",
               {{"bytes_per_cycle", a.dram_bytes_per_cycle},
                {"latency_cycles", a.dram_latency_cycles}}},
              {"clock_mhz", a.clock_mhz}};
}

}  // namespace hdx
