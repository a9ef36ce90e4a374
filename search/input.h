// Test images as the network's int8 input: shared by hdx quantize and hdx sim, needs no
// LibTorch.
#pragma once
#include <cstdint>
#include <vector>

#include "data.h"
#include "network.h"

namespace hdx {

// Throws ConfigError (E022) unless the images have the network's input shape.
void check_image_shape(const Network& n, const Images& images);

// Image i as the network's int8 input (quantize_pixels of docs/arithmetic.md).
std::vector<int8_t> image_input(const Images& images, int i);

}  // namespace hdx
