// Fuzz target: the .npz reader (weights.npz, weights_int8.npz): a stored zip of .npy members.
#include <cstddef>
#include <cstdint>

#include "fuzz_common.h"
#include "npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  hdx::fuzz::reads([&] {
    for (const auto& [name, a] : hdx::parse_npz(data, size, "t.npz")) a.check_consistent(name);
  });
  return 0;
}
