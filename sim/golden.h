// Golden int8 reference kernels: the arithmetic of docs/arithmetic.md, written once.
//
// Layouts (docs/arithmetic.md, "Layouts"):
//   activations  HWC int8, channel fastest: in[(y * in_w + x) * in_c + c]
//   weights      [out_c][kh][kw][cin_g] int8: w[((o * kh + ky) * kw + kx) * cin_g + c]
//   accumulators HWC int32, outputs HWC int8
// Output channel o belongs to group o / cout_g and reads input channels
// [g * cin_g, (g + 1) * cin_g). An fc layer is the conv whose kernel covers its whole input.
#pragma once
#include <cstddef>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include "network.h"

namespace hdx {

// Output-stage parameters, one entry per output channel.
struct Requant {
  std::vector<int32_t> bias, mult;  // mult in [0, 2^31 - 1]
  std::vector<uint8_t> shift;       // in [0, 63]
};

// The output stage for one value:
//   s = acc + bias (int32, wraps), p = (int64)s * mult,
//   r = shift == 0 ? p : (p + 2^(shift-1)) >> shift   (floor shift: round half up),
//   r = relu ? max(r, 0) : r, y = clamp(r, -128, 127).
// Throws SimError when mult < 0 or shift is outside [0, 63].
int8_t requantize(int32_t acc, int32_t bias, int32_t mult, int shift, bool relu);

// Checks that the layer's shapes are consistent (groups divide the channels, output size
// matches kernel, stride and padding). Throws SimError naming the layer.
void check_layer_shape(const Layer& l);

// Checks that q has out_c entries per array and every mult/shift is in range. Throws
// SimError naming the layer and the channel.
void check_requant(const Layer& l, const Requant& q);

// Raw accumulators (HWC int32, out_h * out_w * out_c values) before the output stage.
// Padding positions contribute 0; the sum wraps around in two's complement. Throws SimError
// when in_hwc or w do not have the layer's sizes (the message gives expected and actual).
std::vector<int32_t> conv_acc_golden(const Layer& l, const std::vector<int8_t>& in_hwc,
                                     const std::vector<int8_t>& w);

// Applies the output stage (bias, requantize, the layer's ReLU, clamp) to HWC accumulators.
std::vector<int8_t> output_stage_golden(const Layer& l, const std::vector<int32_t>& acc_hwc,
                                        const Requant& q);

// The whole layer: out_h * out_w * out_c int8 values in HWC.
std::vector<int8_t> conv_golden(const Layer& l, const std::vector<int8_t>& in_hwc,
                                const std::vector<int8_t>& w, const Requant& q);

// The (mult, shift) pair for a real scale > 0 (in_scale * w_scale[o] / out_scale), with mult
// normalized into [2^30, 2^31) where the shift range allows it (docs/arithmetic.md). A scale
// of 0 gives (0, 0). Throws SimError for a negative or non-finite scale or one >= 2^31.
std::pair<int32_t, int> scale_to_mult_shift(double scale);

// Host operations (docs/arithmetic.md, "Host operations"), exact integer arithmetic.

// Residual add of two int8 tensors of one shape with scales a_scale, b_scale into out_scale:
// per value r = (a * mult_a + b * mult_b + 2^(shift-1)) >> shift in int64 (no rounding term
// when shift is 0), ReLU if the layer says, clamp to int8.
struct AddParams {
  int32_t mult_a = 0, mult_b = 0;  // in [0, 2^31 - 1]
  uint8_t shift = 0;               // in [0, 63]
};
std::vector<int8_t> add_golden(const Layer& l, const std::vector<int8_t>& a,
                               const std::vector<int8_t>& b, const AddParams& p);

// The (mult_a, mult_b, shift) of an add for the real ratios a_scale / out_scale and
// b_scale / out_scale: the larger ratio gets scale_to_mult_shift's pair, the smaller one the
// same shift. Throws SimError for a ratio that is negative, non-finite or >= 2^31.
AddParams add_params(double ratio_a, double ratio_b);

// Global average pooling, the output keeping the input's scale: per channel, with
// n = in_h * in_w and sum the exact sum of the channel, y = floor((2 * sum + n) / (2 * n)),
// the mean rounded half up (always in [-128, 127]).
std::vector<int8_t> avgpool_golden(const Layer& l, const std::vector<int8_t>& in);

// The network input from image pixels 0..255 (C x H x W, as the data sets store them): HWC
// int8 q = floor((254 * p + 255) / 510), i.e. p * 127 / 255 rounded to nearest (it is never
// a tie), in 0..127; the
// scale of the input is 1/127 (the float network sees p / 255).
std::vector<int8_t> quantize_pixels(const uint8_t* chw, int c, int h, int w);
constexpr double kInputScale = 1.0 / 127;

// Deterministic random data for simulations and tests; the same seed gives the same values on
// every platform (std::mt19937_64 with the project's own mapping to ranges).

// n values uniform over [-128, 127]: each 64-bit draw gives 8 values, low byte first.
std::vector<int8_t> random_int8(size_t n, uint64_t seed);

// Uniform integer in [lo, hi] (lo <= hi): rejection sampling on whole 64-bit draws, so the
// result depends only on the generator's output sequence.
int64_t random_uniform(std::mt19937_64& rng, int64_t lo, int64_t hi);

// Requantization parameters that keep the outputs of a layer with random uniform int8 inputs
// and weights in a useful range: with sigma = sqrt(k) * 128 * 128 / 3 (the standard deviation
// of such an accumulator, k = l.k()), bias is uniform in [-sigma/2, sigma/2], mult uniform in
// [2^30, 2^31 - 1] and shift, the same for all channels, the smallest with
// 2^(shift - 30) >= sigma / 48, so that sigma maps to between 24 and 96 (depending on mult):
// few outputs saturate, few are zero.
Requant random_requant(const Layer& l, uint64_t seed);

}  // namespace hdx
