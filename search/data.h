// Image data sets for the search: Fashion-MNIST (IDX files, gzip-compressed, as Debian's
// dataset-fashion-mnist ships them) and CIFAR-10 (the binary batches).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace hdx {

struct Images {
  int n = 0, c = 0, h = 0, w = 0;
  std::vector<uint8_t> pixels;  // n x c x h x w, 0..255
  std::vector<uint8_t> labels;  // n, 0..9
};

// Where Debian installs the data set ("fashion-mnist": dataset-fashion-mnist's folder); empty
// for data sets Debian does not ship (cifar10), whose folder must be given.
std::string default_data_dir(const std::string& name);

// The training or test split of `name` ("fashion-mnist" or "cifar10") from folder `dir`,
// its first `limit` images (all when limit <= 0). Throws IoError naming the file and what to
// install or set when a file is missing or malformed.
Images load_images(const std::string& name, const std::string& dir, bool train, int limit = 0);

}  // namespace hdx
