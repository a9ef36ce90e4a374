// Fuzz target: the .npy reader (weights and tensors). An array that reads is consistent
// (shape x itemsize == bytes) and writes back to a file that reads to the same array.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_common.h"
#include "npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  hdx::NpyArray a;
  if (!hdx::fuzz::reads([&] { a = hdx::parse_npy(data, size, "t.npy"); })) return 0;
  a.check_consistent("fuzz");
  std::vector<uint8_t> again;
  // A shape whose header exceeds the 64 KiB of version 1.0 is refused by the writer.
  if (!hdx::fuzz::reads([&] { again = hdx::npy_bytes(a); })) return 0;
  const hdx::NpyArray b = hdx::parse_npy(again.data(), again.size(), "again.npy");
  hdx::fuzz::require(b.dtype == a.dtype && b.shape == a.shape && b.bytes == a.bytes,
                     "npy_bytes of a read array reads back the same");
  return 0;
}
