// Post-training int8 quantization of a trained network (docs/arithmetic.md, "Quantizing a
// trained network") and its float and integer accuracy.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "data.h"
#include "input.h"
#include "network.h"
#include "qnet.h"

namespace hdx {

struct QuantizeResult {
  QuantNet q;
  int calib_images = 0, test_images = 0;
  double float_accuracy = 0, int8_accuracy = 0;
  double agreement = 0;  // share of test images where float and int8 predict the same class
  std::vector<int> int8_predictions;  // per test image
  double calib_s = 0, float_s = 0, int8_s = 0;
};

// Quantizes network `n` with the float weights of `float_weights` (weights.npz of hdx
// search: "<layer>.weight" [out_c][kh][kw][cin_g] and "<layer>.bias", float32): activation
// scales from the 99.99th percentile of each layer's output magnitudes over the first `calib`
// images of `calib_set`, weights per output channel, integer bias, mult and shift. Then measures float
// and int8 (integer reference) accuracy on `test`, using `threads` threads for the latter.
// The float passes (calibration, float accuracy) run on `device` ("cpu" or "cuda"; see
// resolve_device); the integer reference always runs on the CPU.
// Throws IoError naming the file and the array when the weights do not fit the network.
QuantizeResult quantize(const Network& n, const std::string& float_weights, const Images& calib_set,
                        int calib, const Images& test, int threads,
                        const std::function<void(const std::string&)>& log = {},
                        const std::string& device = "cpu");

// The integer reference's predicted class of test images [from, from + count).
std::vector<int> int8_predict(const Network& n, const QuantNet& q, const Images& images, int from,
                              int count, int threads);

}  // namespace hdx
