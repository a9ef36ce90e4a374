// Tests of the golden int8 kernels against docs/arithmetic.md and against a slow reference
// written differently (CHW with an explicitly padded input, OIHW weights, 64-bit sums,
// rounding by 128-bit floor division).
#include "golden.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "errors.h"

namespace hdx {
namespace {

constexpr int32_t kI32Min = std::numeric_limits<int32_t>::min();
constexpr int32_t kI32Max = std::numeric_limits<int32_t>::max();

// ---------------------------------------------------------------------------------------------
// Reference output stage: r = floor((2p + 2^shift) / 2^(shift + 1)), one formula for every
// shift (shift 0 included), in 128-bit arithmetic.
__int128 floor_div(__int128 a, __int128 b) {
  __int128 q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

int ref_requant(int64_t acc64, int32_t bias, int32_t mult, int shift, bool relu) {
  // Wrap acc + bias to 32 bits by reducing modulo 2^32.
  int64_t s = (acc64 + bias) % (int64_t{1} << 32);
  if (s < 0) s += int64_t{1} << 32;
  if (s >= (int64_t{1} << 31)) s -= int64_t{1} << 32;
  const __int128 p = static_cast<__int128>(s) * mult;
  const __int128 one = 1;
  __int128 r = floor_div(2 * p + (one << shift), one << (shift + 1));
  if (relu && r < 0) r = 0;
  if (r < -128) r = -128;
  if (r > 127) r = 127;
  return static_cast<int>(r);
}

// ---------------------------------------------------------------------------------------------
// requantize: documented examples and edge cases.

struct Example {
  int32_t acc, bias, mult;
  int shift;
  bool relu;
  int y;
};

TEST(Requantize, WorkedExamplesOfTheDoc) {
  const std::vector<Example> ex = {
      {5, 0, 1 << 30, 31, false, 3},
      {-5, 0, 1 << 30, 31, false, -2},
      {-7, 0, 1 << 30, 31, false, -3},
      {-13, 0, 1 << 30, 32, false, -3},
      {12345, -345, 1518500250, 40, false, 17},
      {1000, 0, 1518500250, 33, false, 127},
      {-1000, 0, 1518500250, 33, false, -128},
      {-1000, 0, 1518500250, 33, true, 0},
      {2147483000, 1000, 1 << 30, 31, false, -128},
      {100, 0, 1, 0, false, 100},
  };
  for (const Example& e : ex) {
    EXPECT_EQ(requantize(e.acc, e.bias, e.mult, e.shift, e.relu), e.y)
        << "acc " << e.acc << " bias " << e.bias << " mult " << e.mult << " shift " << e.shift;
    EXPECT_EQ(ref_requant(e.acc, e.bias, e.mult, e.shift, e.relu), e.y);
  }
}

TEST(Requantize, RoundHalfUpOnBothSigns) {
  // mult / 2^shift = 1/2: s / 2 rounded half up.
  for (int s = -200; s <= 200; ++s) {
    const int want = static_cast<int>(std::floor(s / 2.0 + 0.5));
    EXPECT_EQ(requantize(s, 0, 1 << 30, 31, false), std::clamp(want, -128, 127)) << s;
  }
  // 1/4: quarters. -2.5 -> -2, -2.25 -> -2, -2.75 -> -3, 2.5 -> 3.
  EXPECT_EQ(requantize(-10, 0, 1 << 30, 32, false), -2);
  EXPECT_EQ(requantize(-9, 0, 1 << 30, 32, false), -2);
  EXPECT_EQ(requantize(-11, 0, 1 << 30, 32, false), -3);
  EXPECT_EQ(requantize(10, 0, 1 << 30, 32, false), 3);
  EXPECT_EQ(requantize(9, 0, 1 << 30, 32, false), 2);
  EXPECT_EQ(requantize(11, 0, 1 << 30, 32, false), 3);
  // Ties with shift 1 and mult 1: s / 2.
  EXPECT_EQ(requantize(-1, 0, 1, 1, false), 0);   // -0.5 -> 0
  EXPECT_EQ(requantize(1, 0, 1, 1, false), 1);    // 0.5 -> 1
  EXPECT_EQ(requantize(-3, 0, 1, 1, false), -1);  // -1.5 -> -1
  EXPECT_EQ(requantize(3, 0, 1, 1, false), 2);    // 1.5 -> 2
}

TEST(Requantize, ShiftZeroIsNoRounding) {
  EXPECT_EQ(requantize(0, 0, 1, 0, false), 0);
  EXPECT_EQ(requantize(127, 0, 1, 0, false), 127);
  EXPECT_EQ(requantize(128, 0, 1, 0, false), 127);
  EXPECT_EQ(requantize(-128, 0, 1, 0, false), -128);
  EXPECT_EQ(requantize(-129, 0, 1, 0, false), -128);
  EXPECT_EQ(requantize(-3, 0, 7, 0, false), -21);
  EXPECT_EQ(requantize(-3, 0, 7, 0, true), 0);
  EXPECT_EQ(requantize(kI32Max, 0, kI32Max, 0, false), 127);
  EXPECT_EQ(requantize(kI32Min, 0, kI32Max, 0, false), -128);
}

TEST(Requantize, Shift63IsAlwaysZero) {
  for (int32_t acc : {kI32Min, -1, 0, 1, kI32Max}) {
    EXPECT_EQ(requantize(acc, 0, kI32Max, 63, false), 0) << acc;
  }
  // Shift 62 with extreme values: |p| just below 2^62 gives r in {-1, 0, 1}.
  EXPECT_EQ(requantize(kI32Min, 0, kI32Max, 62, false), -1);  // -0.99999... -> -1
  EXPECT_EQ(requantize(kI32Max, 0, kI32Max, 62, false), 1);   // 0.99999... -> 1
}

TEST(Requantize, SaturatesAtBothEnds) {
  // scale 1: identity within range.
  EXPECT_EQ(requantize(127, 0, 1 << 30, 30, false), 127);
  EXPECT_EQ(requantize(128, 0, 1 << 30, 30, false), 127);
  EXPECT_EQ(requantize(-128, 0, 1 << 30, 30, false), -128);
  EXPECT_EQ(requantize(-129, 0, 1 << 30, 30, false), -128);
  EXPECT_EQ(requantize(kI32Max, 0, kI32Max, 31, false), 127);
  EXPECT_EQ(requantize(kI32Min, 0, kI32Max, 31, false), -128);
  // Rounding pushes 127.5 to 128 which then saturates; -128.5 rounds to -128.
  EXPECT_EQ(requantize(255, 0, 1 << 30, 31, false), 127);
  EXPECT_EQ(requantize(-257, 0, 1 << 30, 31, false), -128);
  EXPECT_EQ(requantize(-256, 0, 1 << 30, 31, false), -128);
}

TEST(Requantize, Relu) {
  EXPECT_EQ(requantize(-1000, 0, 1 << 30, 30, true), 0);
  EXPECT_EQ(requantize(1000, 0, 1 << 30, 30, true), 127);
  EXPECT_EQ(requantize(50, -60, 1 << 30, 30, true), 0);
  EXPECT_EQ(requantize(-1, 0, 1 << 30, 31, true), 0);  // -0.5 rounds to 0 anyway
  EXPECT_EQ(requantize(-3, 0, 1 << 30, 31, true), 0);  // -1.5 -> -1 -> 0
  EXPECT_EQ(requantize(3, 0, 1 << 30, 31, true), 2);
}

TEST(Requantize, AccPlusBiasWrapsAround) {
  // kI32Max + 1 wraps to kI32Min.
  EXPECT_EQ(requantize(kI32Max, 1, 1 << 30, 30, false), -128);
  EXPECT_EQ(requantize(kI32Min, -1, 1 << 30, 30, false), 127);
  // Wrap to a small value: 2^31 - 100 + (2^31 + 150) = 2^32 + 50 -> 50.
  EXPECT_EQ(requantize(kI32Max - 99, kI32Min + 150, 1 << 30, 30, false), 50);
  EXPECT_EQ(requantize(kI32Min + 10, -20, 1 << 30, 61, false), 1);  // kI32Max - 9, ~1
}

TEST(Requantize, MultZero) {
  EXPECT_EQ(requantize(kI32Max, 0, 0, 0, false), 0);
  EXPECT_EQ(requantize(kI32Min, 5, 0, 20, false), 0);
}

TEST(Requantize, RejectsOutOfRangeParameters) {
  EXPECT_THROW(requantize(0, 0, -1, 10, false), SimError);
  EXPECT_THROW(requantize(0, 0, 1, 64, false), SimError);
  EXPECT_THROW(requantize(0, 0, 1, -1, false), SimError);
}

TEST(Requantize, MatchesReferenceOnRandomValues) {
  std::mt19937_64 rng(20240611);
  auto pick32 = [&]() -> int32_t {
    switch (rng() % 8) {
      case 0: return kI32Min + static_cast<int32_t>(rng() % 3);
      case 1: return kI32Max - static_cast<int32_t>(rng() % 3);
      case 2: return static_cast<int32_t>(rng() % 2001) - 1000;
      default: return static_cast<int32_t>(static_cast<uint32_t>(rng()));
    }
  };
  for (int i = 0; i < 200000; ++i) {
    const int32_t acc = pick32();
    const int32_t bias = pick32();
    int32_t mult = static_cast<int32_t>(rng() & 0x7FFFFFFF);
    if (rng() % 8 == 0) mult = kI32Max;
    const int shift = static_cast<int>(rng() % 64);
    const bool relu = rng() & 1;
    ASSERT_EQ(requantize(acc, bias, mult, shift, relu), ref_requant(acc, bias, mult, shift, relu))
        << "acc " << acc << " bias " << bias << " mult " << mult << " shift " << shift
        << " relu " << relu;
  }
}

// ---------------------------------------------------------------------------------------------
// scale_to_mult_shift.

TEST(ScaleToMultShift, Normalizes) {
  EXPECT_EQ(scale_to_mult_shift(0.5), std::make_pair(int32_t{1} << 30, 31));
  EXPECT_EQ(scale_to_mult_shift(1.0), std::make_pair(int32_t{1} << 30, 30));
  EXPECT_EQ(scale_to_mult_shift(0.0123), std::make_pair(int32_t{1690499128}, 37));
  EXPECT_EQ(scale_to_mult_shift(0.0), std::make_pair(int32_t{0}, 0));
  // Rounds up to 2^31: renormalized.
  EXPECT_EQ(scale_to_mult_shift(1.0 - std::ldexp(1.0, -40)), std::make_pair(int32_t{1} << 30, 30));
  // Largest representable: just below 2^31 with shift 0.
  EXPECT_EQ(scale_to_mult_shift(std::ldexp(1.0, 30)), std::make_pair(int32_t{1} << 30, 0));
  // Too small for a normalized mult: shift 63.
  EXPECT_EQ(scale_to_mult_shift(std::ldexp(1.0, -40)), std::make_pair(int32_t{1} << 23, 63));
  EXPECT_THROW(scale_to_mult_shift(std::ldexp(1.0, 31)), SimError);
  EXPECT_THROW(scale_to_mult_shift(-0.5), SimError);
  EXPECT_THROW(scale_to_mult_shift(std::nan("")), SimError);
}

TEST(ScaleToMultShift, RelativeErrorBelow2PowMinus31) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 10000; ++i) {
    const double m = 0.5 + static_cast<double>(rng() >> 11) * 0x1.0p-54;  // [0.5, 1)
    const double scale = std::ldexp(m, static_cast<int>(rng() % 50) - 30);
    const auto [mult, shift] = scale_to_mult_shift(scale);
    ASSERT_GE(mult, int32_t{1} << 30);
    ASSERT_GE(shift, 0);
    ASSERT_LE(shift, 63);
    const double back = std::ldexp(static_cast<double>(mult), -shift);
    ASSERT_LE(std::fabs(back - scale) / scale, std::ldexp(1.0, -31)) << scale;
  }
}

// ---------------------------------------------------------------------------------------------
// conv_golden against a reference written differently.

Layer make_conv(int in_c, int in_h, int in_w, int out_c, int k, int stride, int pad, int groups,
                bool relu) {
  Layer l;
  l.name = "t";
  l.in_c = in_c;
  l.in_h = in_h;
  l.in_w = in_w;
  l.out_c = out_c;
  l.kh = k;
  l.kw = k;
  l.stride = stride;
  l.pad = pad;
  l.groups = groups;
  l.relu = relu;
  l.out_h = (in_h + 2 * pad - k) / stride + 1;
  l.out_w = (in_w + 2 * pad - k) / stride + 1;
  return l;
}

Layer make_fc(int in_c, int in_h, int in_w, int out_c, bool relu) {
  Layer l;
  l.name = "fc";
  l.op = Op::Fc;
  l.in_c = in_c;
  l.in_h = in_h;
  l.in_w = in_w;
  l.out_c = out_c;
  l.out_h = 1;
  l.out_w = 1;
  l.kh = in_h;
  l.kw = in_w;
  l.relu = relu;
  return l;
}

// Reference: input converted to CHW with explicit zero padding, weights to OIHW (kernel
// position slowest within the group channel), int64 sums wrapped at the end.
std::vector<int64_t> ref_conv_acc(const Layer& l, const std::vector<int8_t>& in_hwc,
                                  const std::vector<int8_t>& w) {
  const int C = l.in_c, H = l.in_h, W = l.in_w, P = l.pad;
  const int Hp = H + 2 * P, Wp = W + 2 * P;
  std::vector<int> padded(static_cast<size_t>(C) * Hp * Wp, 0);
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x)
      for (int c = 0; c < C; ++c)
        padded[(static_cast<size_t>(c) * Hp + y + P) * Wp + x + P] = in_hwc[(y * W + x) * C + c];
  const int cg = C / l.groups, og = l.out_c / l.groups;
  // OIHW copy of the weights.
  std::vector<int> oihw(w.size());
  for (int o = 0; o < l.out_c; ++o)
    for (int ky = 0; ky < l.kh; ++ky)
      for (int kx = 0; kx < l.kw; ++kx)
        for (int c = 0; c < cg; ++c)
          oihw[((static_cast<size_t>(o) * cg + c) * l.kh + ky) * l.kw + kx] =
              w[((static_cast<size_t>(o) * l.kh + ky) * l.kw + kx) * cg + c];
  std::vector<int64_t> out(static_cast<size_t>(l.out_h) * l.out_w * l.out_c);
  for (int o = 0; o < l.out_c; ++o) {
    const int first_c = (o / og) * cg;
    for (int oy = 0; oy < l.out_h; ++oy) {
      for (int ox = 0; ox < l.out_w; ++ox) {
        int64_t sum = 0;
        for (int c = 0; c < cg; ++c)
          for (int ky = 0; ky < l.kh; ++ky)
            for (int kx = 0; kx < l.kw; ++kx)
              sum += static_cast<int64_t>(
                         padded[(static_cast<size_t>(first_c + c) * Hp + oy * l.stride + ky) *
                                    Wp +
                                ox * l.stride + kx]) *
                     oihw[((static_cast<size_t>(o) * cg + c) * l.kh + ky) * l.kw + kx];
        out[(static_cast<size_t>(oy) * l.out_w + ox) * l.out_c + o] = sum;
      }
    }
  }
  return out;
}

int32_t wrap32(int64_t v) {
  return static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(v)));
}

void check_against_reference(const Layer& l, uint64_t seed) {
  SCOPED_TRACE(::testing::Message()
               << "in " << l.in_h << "x" << l.in_w << "x" << l.in_c << " out " << l.out_h << "x"
               << l.out_w << "x" << l.out_c << " k " << l.kh << "x" << l.kw << " s " << l.stride
               << " p " << l.pad << " g " << l.groups << " relu " << l.relu);
  const auto in = random_int8(static_cast<size_t>(l.in_size()), seed);
  const auto w = random_int8(static_cast<size_t>(l.weight_count()), seed + 1);
  const Requant q = random_requant(l, seed + 2);
  const auto acc = conv_acc_golden(l, in, w);
  const auto y = conv_golden(l, in, w, q);
  const auto ref = ref_conv_acc(l, in, w);
  ASSERT_EQ(acc.size(), ref.size());
  ASSERT_EQ(y.size(), ref.size());
  for (size_t i = 0; i < ref.size(); ++i) {
    const size_t o = i % static_cast<size_t>(l.out_c);
    ASSERT_EQ(acc[i], wrap32(ref[i])) << "index " << i;
    ASSERT_EQ(y[i], ref_requant(ref[i], q.bias[o], q.mult[o], q.shift[o], l.relu))
        << "index " << i;
  }
  EXPECT_EQ(output_stage_golden(l, acc, q), y);
}

TEST(ConvGolden, MatchesReferenceOnRandomLayers) {
  std::mt19937_64 rng(12345);
  auto pick = [&](int lo, int hi) { return static_cast<int>(random_uniform(rng, lo, hi)); };
  int tested = 0;
  for (int kernel : {1, 3, 5, 7}) {
    for (int stride : {1, 2}) {
      for (int pad = 0; pad <= 3; ++pad) {
        for (int kind = 0; kind < 3; ++kind) {  // 0: groups 1, 1: depthwise, 2: grouped
          const int groups = kind == 0 ? 1 : kind == 1 ? pick(1, 8) : pick(2, 4);
          const int cin_g = kind == 1 ? 1 : pick(1, 9);
          const int cout_g = kind == 1 ? pick(1, 2) : pick(1, 9);
          const int min_hw = std::max(1, kernel - 2 * pad);
          const int h = pick(min_hw, min_hw + 9), wd = pick(min_hw, min_hw + 9);
          const Layer l = make_conv(groups * cin_g, h, wd, groups * cout_g, kernel, stride, pad,
                                    groups, (pick(0, 1) == 1));
          check_against_reference(l, 1000 + static_cast<uint64_t>(tested));
          ++tested;
        }
      }
    }
  }
  EXPECT_EQ(tested, 4 * 2 * 4 * 3);
}

TEST(ConvGolden, NonSquareKernelsAndFc) {
  Layer l = make_conv(5, 7, 9, 6, 3, 1, 1, 1, false);
  l.kw = 1;
  l.out_w = (l.in_w + 2 * l.pad - l.kw) / l.stride + 1;
  check_against_reference(l, 1);
  for (int i = 0; i < 20; ++i) {
    const Layer fc = make_fc(1 + i % 7, 1 + i % 4, 1 + (i * 3) % 5, 1 + (i * 5) % 11, i % 2 == 0);
    check_against_reference(fc, 100 + static_cast<uint64_t>(i));
  }
}

TEST(ConvGolden, FcFlattensInHwcOrder) {
  // fc over a 2x2x2 input: weights [out][h][w][c] multiply the HWC input in memory order.
  const Layer l = make_fc(2, 2, 2, 1, false);
  std::vector<int8_t> in = {1, 2, 3, 4, 5, 6, 7, 8};
  std::vector<int8_t> w = {1, 0, 0, 0, 0, 0, 0, 10};  // picks (h0,w0,c0) and (h1,w1,c1)
  EXPECT_EQ(conv_acc_golden(l, in, w), std::vector<int32_t>{1 + 80});
}

TEST(ConvGolden, GroupsReadTheirOwnChannels) {
  // 1x1 conv, 4 input channels, 2 groups, 2 outputs: output o reads channels [2o, 2o+2).
  const Layer l = make_conv(4, 1, 1, 2, 1, 1, 0, 2, false);
  const std::vector<int8_t> in = {1, 2, 3, 4};
  const std::vector<int8_t> w = {1, 10, 100, 1};  // o0: 1*1 + 10*2; o1: 100*3 + 1*4
  EXPECT_EQ(conv_acc_golden(l, in, w), (std::vector<int32_t>{21, 304}));
}

TEST(ConvGolden, PaddingContributesZero) {
  // 3x3 all-ones kernel, pad 1, all-ones 3x3 input: corner sums 4, edges 6, center 9.
  const Layer l = make_conv(1, 3, 3, 1, 3, 1, 1, 1, false);
  const std::vector<int8_t> in(9, 1), w(9, 1);
  EXPECT_EQ(conv_acc_golden(l, in, w), (std::vector<int32_t>{4, 6, 4, 6, 9, 6, 4, 6, 4}));
}

TEST(ConvGolden, AccumulatorWrapsAround) {
  // 140000 products of (-128) * (-128) = 2293760000 > 2^31 - 1: wraps to 2293760000 - 2^32.
  const Layer l = make_fc(140000, 1, 1, 1, false);
  const std::vector<int8_t> in(140000, -128), w(140000, -128);
  const auto acc = conv_acc_golden(l, in, w);
  ASSERT_EQ(acc.size(), 1u);
  EXPECT_EQ(acc[0], static_cast<int32_t>(2293760000LL - (1LL << 32)));
}

TEST(ConvGolden, SizeMismatchErrors) {
  const Layer l = make_conv(4, 5, 5, 6, 3, 1, 1, 2, false);
  const auto in = random_int8(static_cast<size_t>(l.in_size()), 1);
  const auto w = random_int8(static_cast<size_t>(l.weight_count()), 2);
  const Requant q = random_requant(l, 3);
  auto message = [&](auto&& f) -> std::string {
    try {
      f();
    } catch (const SimError& e) {
      return e.what();
    }
    return "no error";
  };
  std::string m = message([&] { conv_golden(l, std::vector<int8_t>(99), w, q); });
  EXPECT_NE(m.find("input has 99 values, expected 100"), std::string::npos) << m;
  m = message([&] { conv_golden(l, in, std::vector<int8_t>(5), q); });
  EXPECT_NE(m.find("weights has 5 values, expected 108"), std::string::npos) << m;
  m = message([&] { conv_acc_golden(l, in, std::vector<int8_t>(109)); });
  EXPECT_NE(m.find("expected 108"), std::string::npos) << m;
  Requant bad = q;
  bad.mult.pop_back();
  m = message([&] { conv_golden(l, in, w, bad); });
  EXPECT_NE(m.find("mult has 5 values, expected 6"), std::string::npos) << m;
  bad = q;
  bad.shift.push_back(3);
  m = message([&] { conv_golden(l, in, w, bad); });
  EXPECT_NE(m.find("shift has 7 values, expected 6"), std::string::npos) << m;
  bad = q;
  bad.bias.clear();
  EXPECT_THROW(conv_golden(l, in, w, bad), SimError);
  m = message([&] { output_stage_golden(l, std::vector<int32_t>(3), q); });
  EXPECT_NE(m.find("accumulators has 3 values, expected 150"), std::string::npos) << m;
  EXPECT_NE(m.find("[sim E"), std::string::npos) << m;
}

TEST(ConvGolden, ParameterRangeErrorsNameTheChannel) {
  const Layer l = make_conv(2, 3, 3, 5, 1, 1, 0, 1, false);
  const auto in = random_int8(static_cast<size_t>(l.in_size()), 1);
  const auto w = random_int8(static_cast<size_t>(l.weight_count()), 2);
  Requant q = random_requant(l, 3);
  q.mult[3] = -7;
  try {
    conv_golden(l, in, w, q);
    FAIL() << "no error";
  } catch (const SimError& e) {
    EXPECT_NE(std::string(e.what()).find("output channel 3"), std::string::npos) << e.what();
  }
  q = random_requant(l, 3);
  q.shift[4] = 64;
  try {
    conv_golden(l, in, w, q);
    FAIL() << "no error";
  } catch (const SimError& e) {
    EXPECT_NE(std::string(e.what()).find("output channel 4"), std::string::npos) << e.what();
  }
}

TEST(ConvGolden, InconsistentLayerShapes) {
  Layer l = make_conv(4, 5, 5, 6, 3, 1, 1, 2, false);
  Layer bad = l;
  bad.out_h = 4;
  EXPECT_THROW(conv_acc_golden(bad, std::vector<int8_t>(100), std::vector<int8_t>(108)),
               SimError);
  bad = l;
  bad.groups = 3;
  EXPECT_THROW(check_layer_shape(bad), SimError);
  bad = l;
  bad.stride = 0;
  EXPECT_THROW(check_layer_shape(bad), SimError);
  bad = make_conv(1, 2, 2, 1, 1, 1, 0, 1, false);
  bad.kh = 5;
  EXPECT_THROW(check_layer_shape(bad), SimError);
  EXPECT_NO_THROW(check_layer_shape(l));
}

TEST(ConvGolden, MediumLayerIsDeterministic) {
  // ~7 M MACs: 28x28x32 -> 28x28x32, 3x3.
  const Layer l = make_conv(32, 28, 28, 32, 3, 1, 1, 1, true);
  const auto in = random_int8(static_cast<size_t>(l.in_size()), 5);
  const auto w = random_int8(static_cast<size_t>(l.weight_count()), 6);
  const Requant q = random_requant(l, 7);
  const auto a = conv_golden(l, in, w, q);
  const auto b = conv_golden(l, in, w, q);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.size(), static_cast<size_t>(28 * 28 * 32));
}

// ---------------------------------------------------------------------------------------------
// Random data helpers.

TEST(Random, Int8IsDeterministicAndCoversTheRange) {
  const auto a = random_int8(100000, 42);
  EXPECT_EQ(a, random_int8(100000, 42));
  EXPECT_NE(a, random_int8(100000, 43));
  // A prefix is the prefix of a longer draw.
  const auto p = random_int8(13, 42);
  EXPECT_TRUE(std::equal(p.begin(), p.end(), a.begin()));
  std::vector<int> hist(256, 0);
  for (int8_t v : a) ++hist[static_cast<size_t>(v + 128)];
  for (int h : hist) {
    EXPECT_GT(h, 250);  // expected 390
    EXPECT_LT(h, 550);
  }
  // Pinned values: the first draw of std::mt19937_64 seeded with 5489 (its default seed) is
  // 14514284786278117030 = 0xC96D191CF6F6AEA6, split into bytes low byte first.
  const auto d = random_int8(8, 5489);
  const std::vector<int8_t> want = {static_cast<int8_t>(0xA6), static_cast<int8_t>(0xAE),
                                    static_cast<int8_t>(0xF6), static_cast<int8_t>(0xF6),
                                    static_cast<int8_t>(0x1C), static_cast<int8_t>(0x19),
                                    static_cast<int8_t>(0x6D), static_cast<int8_t>(0xC9)};
  EXPECT_EQ(d, want);
}

TEST(Random, UniformStaysInRange) {
  std::mt19937_64 rng(3);
  std::vector<int> seen(7, 0);
  for (int i = 0; i < 7000; ++i) {
    const int64_t v = random_uniform(rng, -3, 3);
    ASSERT_GE(v, -3);
    ASSERT_LE(v, 3);
    ++seen[static_cast<size_t>(v + 3)];
  }
  for (int s : seen) EXPECT_GT(s, 800);
  EXPECT_EQ(random_uniform(rng, 5, 5), 5);
  const int64_t lo = std::numeric_limits<int64_t>::min(), hi = std::numeric_limits<int64_t>::max();
  (void)random_uniform(rng, lo, hi);  // full range: no overflow
}

TEST(Random, RequantIsDeterministicAndInRange) {
  const Layer l = make_conv(16, 8, 8, 64, 3, 1, 1, 1, false);
  const Requant a = random_requant(l, 9), b = random_requant(l, 9), c = random_requant(l, 10);
  EXPECT_EQ(a.bias, b.bias);
  EXPECT_EQ(a.mult, b.mult);
  EXPECT_EQ(a.shift, b.shift);
  EXPECT_NE(a.mult, c.mult);
  ASSERT_EQ(a.bias.size(), 64u);
  ASSERT_EQ(a.mult.size(), 64u);
  ASSERT_EQ(a.shift.size(), 64u);
  for (size_t o = 0; o < 64; ++o) {
    EXPECT_GE(a.mult[o], int32_t{1} << 30);
    EXPECT_LE(a.shift[o], 63);
    EXPECT_LE(std::abs(a.bias[o]), 144 * 256);
  }
  EXPECT_NO_THROW(check_requant(l, a));
}

TEST(Random, RequantKeepsOutputsUseful) {
  // A random 3x3x16 conv: few saturated and few zero outputs.
  for (bool relu : {false, true}) {
    const Layer l = make_conv(16, 16, 16, 32, 3, 1, 1, 1, relu);
    const auto in = random_int8(static_cast<size_t>(l.in_size()), 11);
    const auto w = random_int8(static_cast<size_t>(l.weight_count()), 12);
    const Requant q = random_requant(l, 13);
    const auto y = conv_golden(l, in, w, q);
    size_t sat = 0, zero = 0;
    for (int8_t v : y) {
      sat += (v == 127 || v == -128) ? 1 : 0;
      zero += v == 0 ? 1 : 0;
    }
    const double fs = static_cast<double>(sat) / y.size();
    const double fz = static_cast<double>(zero) / y.size();
    EXPECT_LT(fs, 0.30) << "relu " << relu;
    if (!relu) {
      EXPECT_LT(fz, 0.50);
      EXPECT_LT(fz, 0.05);  // in practice about 1%
    } else {
      EXPECT_GT(fz, 0.30);  // roughly half are negative
      EXPECT_LT(fz, 0.70);
    }
  }
  // Larger reductions too.
  for (int k : {1, 5, 7}) {
    const Layer l = make_conv(64, 9, 9, 8, k, 1, k / 2, 1, false);
    const auto y = conv_golden(l, random_int8(static_cast<size_t>(l.in_size()), 1),
                               random_int8(static_cast<size_t>(l.weight_count()), 2),
                               random_requant(l, 3));
    size_t sat = 0, zero = 0;
    for (int8_t v : y) {
      sat += (v == 127 || v == -128) ? 1 : 0;
      zero += v == 0 ? 1 : 0;
    }
    EXPECT_LT(static_cast<double>(sat) / y.size(), 0.30) << "k " << k;
    EXPECT_LT(static_cast<double>(zero) / y.size(), 0.50) << "k " << k;
  }
}

}  // namespace
}  // namespace hdx

// ---------------------------------------------------------------------------------------------
// Host operations (docs/arithmetic.md, "Host operations").
namespace hdx {
namespace {

Layer host_layer(Op op, int c, int h, int w, bool relu = false) {
  Layer l;
  l.name = op == Op::Add ? "res" : "pool";
  l.op = op;
  l.in_c = c, l.in_h = h, l.in_w = w;
  l.out_c = c, l.out_h = op == Op::Add ? h : 1, l.out_w = op == Op::Add ? w : 1;
  l.relu = relu;
  return l;
}

TEST(HostOps, AddRoundsHalfUpAndClamps) {
  const Layer l = host_layer(Op::Add, 5, 1, 1);
  // mult 2^30 / shift 31 halves each operand: (a + b) / 2 rounded half up.
  const AddParams half{1 << 30, 1 << 30, 31};
  EXPECT_EQ(add_golden(l, {1, -1, -3, 100, 127}, {2, -2, 0, 100, 127}, half),
            (std::vector<int8_t>{2, -1, -1, 100, 127}));  // 1.5->2, -1.5->-1, -1.5->-1
  // Unequal scales: a * 1.5 + b * 0.25 at shift 2 (mult 6 and 1).
  EXPECT_EQ(add_golden(l, {10, -10, 100, -100, 3}, {2, 2, 100, -100, 1}, {6, 1, 2}),
            (std::vector<int8_t>{16, -14, 127, -128, 5}));  // 15.5->16, -14.5->-14, sat, sat, 4.75->5
  const Layer lr = host_layer(Op::Add, 2, 1, 1, true);
  EXPECT_EQ(add_golden(lr, {-5, 5}, {1, 1}, {1, 1, 0}), (std::vector<int8_t>{0, 6}));
  EXPECT_THROW(add_golden(l, {1}, {1, 2, 3, 4, 5}, half), SimError);
  EXPECT_THROW(add_golden(l, {1, 2, 3, 4, 5}, {1, 2, 3, 4, 5}, {-1, 1, 3}), SimError);
}

TEST(HostOps, AddParamsEncodeBothRatios) {
  for (auto [ra, rb] : {std::pair{0.8, 0.3}, {0.3, 0.8}, {1.7, 1.7}, {0.02, 3.5}}) {
    const AddParams p = add_params(ra, rb);
    EXPECT_NEAR(std::ldexp(p.mult_a, -p.shift), ra, ra * 1e-6) << ra << " " << rb;
    EXPECT_NEAR(std::ldexp(p.mult_b, -p.shift), rb, rb * 1e-6) << ra << " " << rb;
    EXPECT_GE(std::max(p.mult_a, p.mult_b), 1 << 30);  // the larger one is normalized
  }
  EXPECT_THROW(add_params(-1.0, 0.5), SimError);
  EXPECT_THROW(add_params(0.5, std::nan("")), SimError);
  EXPECT_THROW(add_params(std::nan(""), 0.5), SimError);
}

TEST(HostOps, AvgPoolIsTheMeanRoundedHalfUp) {
  // 2 x 1 map, 3 channels: sums 3, -3, -5 over n = 2: 1.5 -> 2, -1.5 -> -1, -2.5 -> -2.
  const Layer l = host_layer(Op::AvgPool, 3, 2, 1);
  EXPECT_EQ(avgpool_golden(l, {1, -1, -2, 2, -2, -3}), (std::vector<int8_t>{2, -1, -2}));
  // Against floor(mean + 1/2) on random maps.
  std::mt19937_64 rng(7);
  const Layer big = host_layer(Op::AvgPool, 4, 7, 5);
  for (int t = 0; t < 20; ++t) {
    const std::vector<int8_t> in = random_int8(static_cast<size_t>(big.in_size()), rng());
    const std::vector<int8_t> y = avgpool_golden(big, in);
    for (int c = 0; c < 4; ++c) {
      long sum = 0;
      for (int i = 0; i < 35; ++i) sum += in[static_cast<size_t>(i * 4 + c)];
      EXPECT_EQ(y[static_cast<size_t>(c)], static_cast<int8_t>(std::floor(sum / 35.0 + 0.5)));
    }
  }
}

TEST(HostOps, PixelsToInt8) {
  const uint8_t px[6] = {0, 1, 2, 128, 254, 255};  // 1 x 2 x 3 -> HWC (C = 1: same order)
  EXPECT_EQ(quantize_pixels(px, 1, 2, 3), (std::vector<int8_t>{0, 0, 1, 64, 127, 127}));  // 126.502 -> 127
  // C x H x W -> H x W x C.
  const uint8_t rgb[6] = {0, 255, 2, 128, 254, 1};  // R: 0 255, G: 2 128, B: 254 1
  EXPECT_EQ(quantize_pixels(rgb, 3, 1, 2), (std::vector<int8_t>{0, 1, 127, 127, 64, 0}));
  for (int p = 0; p < 256; ++p) {
    const uint8_t v = static_cast<uint8_t>(p);
    EXPECT_EQ(quantize_pixels(&v, 1, 1, 1)[0], static_cast<int8_t>(std::floor(p * 127.0 / 255 + 0.5)));
  }
}

}  // namespace
}  // namespace hdx
