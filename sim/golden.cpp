#include "golden.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "errors.h"

namespace hdx {

// The output stage relies on >> of a negative int64 being an arithmetic (floor) shift, which
// C++20 guarantees and every supported compiler already does.
static_assert((int64_t{-5} >> 1) == -3, "arithmetic right shift required");

namespace {

// Error codes of this file (stage "sim").
constexpr int kErrLayerShape = 301;
constexpr int kErrSize = 302;
constexpr int kErrRequant = 303;
constexpr int kErrScale = 304;

std::string layer_label(const Layer& l) {
  return l.name.empty() ? std::string("layer") : fmt::format("layer '{}'", l.name);
}

void check_size(const Layer& l, const char* what, size_t expected, size_t got,
                const char* shape) {
  if (expected != got) {
    throw SimError(kErrSize, fmt::format("{}: {} has {} values, expected {} ({}); pass a "
                                         "tensor of the layer's shape",
                                         layer_label(l), what, got, expected, shape));
  }
}

// Wrap-around int32 addition without undefined behaviour.
inline int32_t wrap_add(int32_t a, int32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b));
}

// Output stage without range checks (the callers have checked mult and shift).
inline int8_t requantize_unchecked(int32_t acc, int32_t bias, int32_t mult, int shift,
                                   bool relu) {
  const int32_t s = wrap_add(acc, bias);
  const int64_t p = static_cast<int64_t>(s) * static_cast<int64_t>(mult);
  int64_t r = shift == 0 ? p : (p + (int64_t{1} << (shift - 1))) >> shift;
  if (relu && r < 0) r = 0;
  if (r < -128) r = -128;
  if (r > 127) r = 127;
  return static_cast<int8_t>(r);
}

}  // namespace

int8_t requantize(int32_t acc, int32_t bias, int32_t mult, int shift, bool relu) {
  if (mult < 0) {
    throw SimError(kErrRequant,
                   fmt::format("requantize: mult {} is negative; mult must be in [0, 2^31-1]",
                               mult));
  }
  if (shift < 0 || shift > 63) {
    throw SimError(kErrRequant,
                   fmt::format("requantize: shift {} is out of range; shift must be in [0, 63]",
                               shift));
  }
  return requantize_unchecked(acc, bias, mult, shift, relu);
}

void check_layer_shape(const Layer& l) {
  auto fail = [&](const std::string& why) {
    throw SimError(kErrLayerShape, fmt::format("{}: {}; fix the layer description",
                                               layer_label(l), why));
  };
  if (l.in_c <= 0 || l.in_h <= 0 || l.in_w <= 0 || l.out_c <= 0 || l.out_h <= 0 ||
      l.out_w <= 0 || l.kh <= 0 || l.kw <= 0 || l.stride <= 0 || l.pad < 0 || l.groups <= 0) {
    fail(fmt::format("shape has a non-positive size (in {}x{}x{}, out {}x{}x{}, kernel {}x{}, "
                     "stride {}, pad {}, groups {})",
                     l.in_h, l.in_w, l.in_c, l.out_h, l.out_w, l.out_c, l.kh, l.kw, l.stride,
                     l.pad, l.groups));
  }
  if (l.in_c % l.groups != 0 || l.out_c % l.groups != 0) {
    fail(fmt::format("groups {} must divide in_c {} and out_c {}", l.groups, l.in_c, l.out_c));
  }
  const long long ph = static_cast<long long>(l.in_h) + 2LL * l.pad;
  const long long pw = static_cast<long long>(l.in_w) + 2LL * l.pad;
  if (ph < l.kh || pw < l.kw) {
    fail(fmt::format("kernel {}x{} is larger than the padded input {}x{}", l.kh, l.kw, ph, pw));
  }
  const long long oh = (ph - l.kh) / l.stride + 1;
  const long long ow = (pw - l.kw) / l.stride + 1;
  if (oh != l.out_h || ow != l.out_w) {
    fail(fmt::format("output {}x{} does not match input {}x{}, kernel {}x{}, stride {}, pad {} "
                     "(expected {}x{})",
                     l.out_h, l.out_w, l.in_h, l.in_w, l.kh, l.kw, l.stride, l.pad, oh, ow));
  }
}

void check_requant(const Layer& l, const Requant& q) {
  const size_t n = static_cast<size_t>(l.out_c);
  check_size(l, "requant bias", n, q.bias.size(), "one per output channel");
  check_size(l, "requant mult", n, q.mult.size(), "one per output channel");
  check_size(l, "requant shift", n, q.shift.size(), "one per output channel");
  for (size_t o = 0; o < n; ++o) {
    if (q.mult[o] < 0) {
      throw SimError(kErrRequant,
                     fmt::format("{}: output channel {}: mult {} is negative; mult must be in "
                                 "[0, 2^31-1]",
                                 layer_label(l), o, q.mult[o]));
    }
    if (q.shift[o] > 63) {
      throw SimError(kErrRequant,
                     fmt::format("{}: output channel {}: shift {} is out of range; shift must "
                                 "be in [0, 63]",
                                 layer_label(l), o, q.shift[o]));
    }
  }
}

std::vector<int32_t> conv_acc_golden(const Layer& l, const std::vector<int8_t>& in_hwc,
                                     const std::vector<int8_t>& w) {
  check_layer_shape(l);
  check_size(l, "input", static_cast<size_t>(l.in_size()), in_hwc.size(),
             "in_h*in_w*in_c, HWC");
  check_size(l, "weights", static_cast<size_t>(l.weight_count()), w.size(),
             "out_c*kh*kw*cin_g");

  const int in_c = l.in_c, in_h = l.in_h, in_w = l.in_w;
  const int out_c = l.out_c, out_h = l.out_h, out_w = l.out_w;
  const int kh = l.kh, kw = l.kw, stride = l.stride, pad = l.pad;
  const int cin_g = l.cin_g(), cout_g = l.cout_g();

  std::vector<int32_t> acc(static_cast<size_t>(l.out_size()));
  const int8_t* in = in_hwc.data();
  const int8_t* wt = w.data();
  for (int oy = 0; oy < out_h; ++oy) {
    for (int ox = 0; ox < out_w; ++ox) {
      int32_t* out = acc.data() + (static_cast<size_t>(oy) * out_w + ox) * out_c;
      for (int o = 0; o < out_c; ++o) {
        const int g = o / cout_g;
        const int8_t* wo = wt + static_cast<size_t>(o) * kh * kw * cin_g;
        uint32_t sum = 0;  // unsigned: two's-complement wrap-around without UB
        for (int ky = 0; ky < kh; ++ky) {
          const int iy = oy * stride - pad + ky;
          if (iy < 0 || iy >= in_h) continue;
          for (int kx = 0; kx < kw; ++kx) {
            const int ix = ox * stride - pad + kx;
            if (ix < 0 || ix >= in_w) continue;
            const int8_t* xp = in + (static_cast<size_t>(iy) * in_w + ix) * in_c +
                               static_cast<size_t>(g) * cin_g;
            const int8_t* wp = wo + (static_cast<size_t>(ky) * kw + kx) * cin_g;
            for (int c = 0; c < cin_g; ++c) {
              sum += static_cast<uint32_t>(static_cast<int32_t>(xp[c]) *
                                           static_cast<int32_t>(wp[c]));
            }
          }
        }
        out[o] = static_cast<int32_t>(sum);
      }
    }
  }
  return acc;
}

std::vector<int8_t> output_stage_golden(const Layer& l, const std::vector<int32_t>& acc_hwc,
                                        const Requant& q) {
  check_requant(l, q);
  check_size(l, "accumulators", static_cast<size_t>(l.out_size()), acc_hwc.size(),
             "out_h*out_w*out_c, HWC");
  const size_t out_c = static_cast<size_t>(l.out_c);
  std::vector<int8_t> y(acc_hwc.size());
  for (size_t i = 0; i < acc_hwc.size(); i += out_c) {
    for (size_t o = 0; o < out_c; ++o) {
      y[i + o] = requantize_unchecked(acc_hwc[i + o], q.bias[o], q.mult[o], q.shift[o], l.relu);
    }
  }
  return y;
}

std::vector<int8_t> conv_golden(const Layer& l, const std::vector<int8_t>& in_hwc,
                                const std::vector<int8_t>& w, const Requant& q) {
  check_layer_shape(l);
  check_requant(l, q);  // before the (possibly long) accumulation
  return output_stage_golden(l, conv_acc_golden(l, in_hwc, w), q);
}

std::pair<int32_t, int> scale_to_mult_shift(double scale) {
  if (!std::isfinite(scale) || scale < 0.0) {
    throw SimError(kErrScale, fmt::format("requantization scale {} is negative or not finite; "
                                          "a scale must be in [0, 2^31)",
                                          scale));
  }
  if (scale == 0.0) return {0, 0};
  int e = 0;
  const double m = std::frexp(scale, &e);  // scale = m * 2^e, m in [0.5, 1)
  int64_t mult = std::llround(std::ldexp(m, 31));
  if (mult == (int64_t{1} << 31)) {
    mult = int64_t{1} << 30;
    ++e;
  }
  int shift = 31 - e;
  if (shift < 0) {
    throw SimError(kErrScale, fmt::format("requantization scale {} is too large; a scale must "
                                          "be below 2^31",
                                          scale));
  }
  if (shift > 63) {
    // Too small for a normalized mult: use the largest shift and a smaller mult.
    mult = std::llround(std::ldexp(scale, 63));
    shift = 63;
  }
  return {static_cast<int32_t>(mult), shift};
}

std::vector<int8_t> add_golden(const Layer& l, const std::vector<int8_t>& a,
                               const std::vector<int8_t>& b, const AddParams& p) {
  const size_t n = static_cast<size_t>(l.out_size());
  check_size(l, "first operand", n, a.size(), "H x W x C");
  check_size(l, "second operand", n, b.size(), "H x W x C");
  if (p.mult_a < 0 || p.mult_b < 0 || p.shift > 63)
    throw SimError(kErrRequant, fmt::format("{}: add multipliers {} and {} must be in "
                                            "[0, 2^31-1] and shift {} in [0, 63]",
                                            layer_label(l), p.mult_a, p.mult_b, p.shift));
  std::vector<int8_t> y(n);
  const int64_t round = p.shift == 0 ? 0 : int64_t{1} << (p.shift - 1);
  for (size_t i = 0; i < n; ++i) {
    const int64_t v = int64_t{a[i]} * p.mult_a + int64_t{b[i]} * p.mult_b;
    int64_t r = (v + round) >> p.shift;
    if (l.relu && r < 0) r = 0;
    y[i] = static_cast<int8_t>(std::clamp<int64_t>(r, -128, 127));
  }
  return y;
}

AddParams add_params(double ratio_a, double ratio_b) {
  (void)scale_to_mult_shift(ratio_a);  // range checks of both (NaN included)
  (void)scale_to_mult_shift(ratio_b);
  const auto [m, shift] = scale_to_mult_shift(std::max(ratio_a, ratio_b));
  auto at_shift = [&](double r) {
    return static_cast<int32_t>(std::min<int64_t>(std::llround(std::ldexp(r, shift)),
                                                  std::numeric_limits<int32_t>::max()));
  };
  AddParams p;
  p.shift = static_cast<uint8_t>(shift);
  p.mult_a = ratio_a >= ratio_b ? m : at_shift(ratio_a);
  p.mult_b = ratio_a >= ratio_b ? at_shift(ratio_b) : m;
  return p;
}

std::vector<int8_t> avgpool_golden(const Layer& l, const std::vector<int8_t>& in) {
  check_size(l, "input", static_cast<size_t>(l.in_size()), in.size(), "H x W x C");
  const int64_t n = int64_t{l.in_h} * l.in_w;
  std::vector<int8_t> y(static_cast<size_t>(l.in_c));
  for (int c = 0; c < l.in_c; ++c) {
    int64_t sum = 0;
    for (int64_t i = 0; i < n; ++i) sum += in[static_cast<size_t>(i * l.in_c + c)];
    const int64_t num = 2 * sum + n, den = 2 * n;  // floor division of num by den
    const int64_t q = num / den - ((num % den != 0) && (num < 0));
    y[static_cast<size_t>(c)] = static_cast<int8_t>(std::clamp<int64_t>(q, -128, 127));
  }
  return y;
}

std::vector<int8_t> quantize_pixels(const uint8_t* chw, int c, int h, int w) {
  std::vector<int8_t> q(static_cast<size_t>(c) * h * w);
  for (int ch = 0; ch < c; ++ch)
    for (int i = 0; i < h * w; ++i)
      q[static_cast<size_t>(i) * c + ch] =
          static_cast<int8_t>((254 * int{chw[static_cast<size_t>(ch) * h * w + i]} + 255) / 510);
  return q;
}

int64_t random_uniform(std::mt19937_64& rng, int64_t lo, int64_t hi) {
  if (lo > hi) std::swap(lo, hi);
  const uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);  // n - 1
  if (span == std::numeric_limits<uint64_t>::max()) {
    return static_cast<int64_t>(static_cast<uint64_t>(lo) + rng());
  }
  const uint64_t n = span + 1;
  // Largest multiple of n that fits: draws at or above it are rejected, so v % n is uniform.
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  const uint64_t limit = kMax - (kMax % n + 1) % n;
  uint64_t v = rng();
  while (v > limit) v = rng();
  return static_cast<int64_t>(static_cast<uint64_t>(lo) + v % n);
}

std::vector<int8_t> random_int8(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<int8_t> v(n);
  size_t i = 0;
  while (i < n) {
    uint64_t r = rng();
    for (int b = 0; b < 8 && i < n; ++b, ++i) {
      v[i] = static_cast<int8_t>(static_cast<uint8_t>(r & 0xFF));
      r >>= 8;
    }
  }
  return v;
}

Requant random_requant(const Layer& l, uint64_t seed) {
  const long long k = l.groups > 0 && l.k() > 0 ? l.k() : 1;
  // Standard deviation of a sum of k products of independent uniform int8 values:
  // E[x^2] ~= 128^2 / 3, so sigma ~= sqrt(k) * 128 * 128 / 3. Only IEEE-exact operations
  // (sqrt, *, /, ldexp) so the result is the same on every platform.
  const double sigma = std::sqrt(static_cast<double>(k)) * (128.0 * 128.0 / 3.0);
  constexpr double kTarget = 48.0;
  // The smallest shift with 2^(shift - 30) >= sigma / kTarget: then sigma * mult / 2^shift is
  // in (kTarget / 2, 2 * kTarget) for mult in [2^30, 2^31).
  const double x = sigma / kTarget;
  int shift = 0;
  while (shift < 63 && std::ldexp(1.0, shift - 30) < x) ++shift;
  const int64_t bias_range = static_cast<int64_t>(sigma / 2.0);

  std::mt19937_64 rng(seed);
  Requant q;
  const size_t n = l.out_c > 0 ? static_cast<size_t>(l.out_c) : 0;
  q.bias.resize(n);
  q.mult.resize(n);
  q.shift.assign(n, static_cast<uint8_t>(shift));
  for (size_t o = 0; o < n; ++o) {
    q.bias[o] = static_cast<int32_t>(random_uniform(rng, -bias_range, bias_range));
    q.mult[o] =
        static_cast<int32_t>(random_uniform(rng, int64_t{1} << 30, (int64_t{1} << 31) - 1));
  }
  return q;
}

}  // namespace hdx
