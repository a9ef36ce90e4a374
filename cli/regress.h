// hdx regress: a sign-off regression over a list of (network, accelerator[, weights, images])
// entries (docs/formats.md, "Regression list"), each run as `hdx sim` runs it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace hdx::cli {

struct RegressEntry {
  std::string name;                          // names the entry's folder in the output
  std::string network, accelerator, weights;  // as the list writes them
  std::string network_path, accelerator_path, weights_path;  // resolved against the list's folder
  int images = 1, first_image = 0;           // with weights
  uint64_t seed = 1;
};

// Reads a regression list. Throws ConfigError naming the file, the entry (its JSON path,
// /entries/<index>) and the key.
std::vector<RegressEntry> load_regress_list(const std::string& path);

}  // namespace hdx::cli
