// Fuzz target: the accelerator.json reader (text -> JSON -> accelerator_from_json). A value that reads
// must write back to JSON that reads again, to the same JSON (the written form is a fixed point).
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_common.h"
#include "json_util.h"
#include "accel.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  nlohmann::json once;
  if (!hdx::fuzz::reads([&] { once = hdx::accelerator_to_json(hdx::accelerator_from_json(hdx::parse_json_text(text, "accelerator.json"))); }))
    return 0;
  const nlohmann::json twice = hdx::accelerator_to_json(hdx::accelerator_from_json(once));  // throws nothing
  hdx::fuzz::require(once == twice, "what accelerator_to_json writes reads back the same");
  return 0;
}
