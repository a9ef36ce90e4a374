// Tests of the .npy / .npz reader and writer against the NumPy format specification.
#include "npy.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <type_traits>
#include <vector>

#include "errors.h"

namespace hdx {
namespace {

namespace fs = std::filesystem;

std::vector<uint8_t> slurp(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)),
                              std::istreambuf_iterator<char>());
}

void spit(const std::string& p, const std::string& bytes) {
  std::ofstream f(p, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string u16le(size_t v) {
  return std::string{static_cast<char>(v & 0xFF), static_cast<char>((v >> 8) & 0xFF)};
}

// A .npy version 1.0 image: magic, version, little-endian header length, header text padded
// with spaces and ended by '\n' so that the data starts at a multiple of 64, then the data.
std::string npy_image(const std::string& dict, const std::string& data) {
  std::string header = dict;
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  return std::string("\x93NUMPY\x01\x00", 8) + u16le(header.size()) + header + data;
}

class NpyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("hdx_npy_test_" + std::to_string(::getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // Only the given files are in the directory (no temporary file left over).
  void expect_only(std::vector<std::string> want) const {
    std::vector<std::string> got;
    for (const auto& e : fs::directory_iterator(dir_)) got.push_back(e.path().filename().string());
    std::sort(got.begin(), got.end());
    std::sort(want.begin(), want.end());
    EXPECT_EQ(got, want);
  }

  // The message of the IoError that reading p throws ("no error" if none).
  static std::string read_error(const std::string& p) {
    try {
      read_npy(p);
    } catch (const IoError& e) {
      return e.what();
    }
    return "no error";
  }

  fs::path dir_;
};

template <class T>
std::vector<T> test_data(size_t n, uint64_t seed) {
  std::vector<T> data(n);
  uint64_t x = seed;
  for (auto& v : data) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    const uint64_t bits = x >> 11;
    if constexpr (std::is_same_v<T, float>) {
      v = static_cast<float>(static_cast<int64_t>(bits % 2000001) - 1000000) / 1024.0f;
    } else {
      v = static_cast<T>(bits);
    }
  }
  return data;
}

template <class T>
void round_trip(const std::string& p, const std::vector<size_t>& shape, uint64_t seed) {
  SCOPED_TRACE(::testing::Message() << npy_dtype<T>() << " rank " << shape.size());
  size_t n = 1;
  for (size_t d : shape) n *= d;
  const std::vector<T> data = test_data<T>(n, seed);
  write_npy(p, data, shape);
  const NpyArray a = read_npy(p);
  EXPECT_EQ(a.dtype, npy_dtype<T>());
  EXPECT_EQ(a.shape, shape);
  EXPECT_EQ(a.size(), n);
  EXPECT_TRUE(a.holds<T>());
  EXPECT_EQ(a.as<T>(), data);
  // Data starts at a multiple of 64 and the file is exactly header + data.
  const std::vector<uint8_t> file = slurp(p);
  ASSERT_GE(file.size(), 10u);
  const size_t hlen = file[8] | (file[9] << 8);
  EXPECT_EQ((10 + hlen) % 64, 0u);
  EXPECT_EQ(file[10 + hlen - 1], '\n');
  EXPECT_EQ(file.size(), 10 + hlen + n * sizeof(T));
}

TEST_F(NpyTest, RoundTripEveryDtypeAndShape) {
  const std::vector<std::vector<size_t>> shapes = {
      {}, {0}, {1}, {5}, {2, 3}, {3, 0, 2}, {2, 3, 4}, {1, 1, 1, 1, 7}, {4, 3, 2, 2, 1, 3},
      {1000}, {17, 33}};
  uint64_t seed = 1;
  for (const auto& shape : shapes) {
    round_trip<int8_t>(path("a.npy"), shape, seed++);
    round_trip<uint8_t>(path("a.npy"), shape, seed++);
    round_trip<int32_t>(path("a.npy"), shape, seed++);
    round_trip<int64_t>(path("a.npy"), shape, seed++);
    round_trip<float>(path("a.npy"), shape, seed++);
  }
  expect_only({"a.npy"});
}

TEST_F(NpyTest, HeaderIsAlignedForLongShapes) {
  // Shapes whose header text crosses several 64-byte boundaries.
  std::vector<size_t> shape;
  for (int rank = 1; rank <= 24; ++rank) {
    shape.push_back(rank % 3 == 0 ? 2 : 1);
    const std::vector<uint8_t> img =
        npy_bytes(NpyArray::from(std::vector<int32_t>(1u << (rank / 3)), shape));
    const size_t hlen = img[8] | (img[9] << 8);
    EXPECT_EQ((10 + hlen) % 64, 0u) << rank;
    EXPECT_EQ(img[10 + hlen - 1], '\n');
  }
}

TEST_F(NpyTest, ExactBytesOfASmallInt32File) {
  write_npy(path("k.npy"), std::vector<int32_t>{0, 1, 2, -1, 256, 2147483647}, {2, 3});
  // Built by hand from the format: "\x93NUMPY", version 1.0, header length 118 (0x76, 0x00),
  // the dict (59 characters), 58 spaces, '\n' -> 10 + 118 = 128 bytes, then 6 int32 LE.
  const std::string dict = "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }";
  ASSERT_EQ(dict.size(), 59u);
  std::string want = std::string("\x93NUMPY\x01\x00\x76\x00", 10) + dict + std::string(58, ' ') +
                     "\n";
  ASSERT_EQ(want.size(), 128u);
  const unsigned char data[] = {0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
                                0, 1, 0, 0, 0xFF, 0xFF, 0xFF, 0x7F};
  want.append(reinterpret_cast<const char*>(data), sizeof(data));
  const std::vector<uint8_t> got = slurp(path("k.npy"));
  EXPECT_EQ(std::string(got.begin(), got.end()), want);
}

TEST_F(NpyTest, ExactBytesOfA1DInt8FileAndA0DFile) {
  write_npy(path("b.npy"), std::vector<int8_t>{-128, 0, 127}, {3});
  std::string want = std::string("\x93NUMPY\x01\x00\x76\x00", 10) +
                     "{'descr': '|i1', 'fortran_order': False, 'shape': (3,), }" +
                     std::string(60, ' ') + "\n" + std::string("\x80\x00\x7f", 3);
  std::vector<uint8_t> got = slurp(path("b.npy"));
  EXPECT_EQ(std::string(got.begin(), got.end()), want);

  write_npy(path("c.npy"), std::vector<float>{1.0f}, {});
  want = std::string("\x93NUMPY\x01\x00\x76\x00", 10) +
         "{'descr': '<f4', 'fortran_order': False, 'shape': (), }" + std::string(62, ' ') +
         "\n" + std::string("\x00\x00\x80\x3f", 4);
  got = slurp(path("c.npy"));
  EXPECT_EQ(std::string(got.begin(), got.end()), want);
}

TEST_F(NpyTest, ReadsHeadersAsNumpyWritesThem) {
  // Recent NumPy adds spaces inside the header (room to grow the first axis) and may write
  // "<i1"/"<u1"/"=i4"-style descrs; key order and spacing vary between writers.
  const std::string f3 = std::string("\x00\x00\x80\x3f\x00\x00\x00\x40\x00\x00\x40\x40", 12);
  spit(path("np.npy"),
       npy_image("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }" +
                     std::string(21, ' '),
                 f3));
  NpyArray a = read_npy(path("np.npy"));
  EXPECT_EQ(a.as<float>(), (std::vector<float>{1.0f, 2.0f, 3.0f}));

  spit(path("order.npy"), npy_image("{\"shape\":(2,2),\"fortran_order\":False,\"descr\":\"<u1\"}",
                                    std::string("\x01\x02\x03\x04", 4)));
  a = read_npy(path("order.npy"));
  EXPECT_EQ(a.dtype, "|u1");
  EXPECT_EQ(a.shape, (std::vector<size_t>{2, 2}));
  EXPECT_EQ(a.as<uint8_t>(), (std::vector<uint8_t>{1, 2, 3, 4}));

  spit(path("eq.npy"), npy_image("{'descr': '=i8', 'fortran_order': False, 'shape': (1, ), }",
                                 std::string("\x05\x00\x00\x00\x00\x00\x00\x00", 8)));
  EXPECT_EQ(read_npy(path("eq.npy")).as<int64_t>(), std::vector<int64_t>{5});

  // Fortran order is accepted where it equals C order (at most one dimension above 1).
  spit(path("f1.npy"), npy_image("{'descr': '|i1', 'fortran_order': True, 'shape': (1, 3), }",
                                 std::string("\x01\x02\x03", 3)));
  EXPECT_EQ(read_npy(path("f1.npy")).as<int8_t>(), (std::vector<int8_t>{1, 2, 3}));

  // Version 2.0: 4-byte header length.
  std::string h = "{'descr': '<i4', 'fortran_order': False, 'shape': (1,), }";
  while ((12 + h.size() + 1) % 64 != 0) h += ' ';
  h += '\n';
  const std::string v2 = std::string("\x93NUMPY\x02\x00", 8) + u16le(h.size()) +
                         std::string(2, '\0') + h + std::string("\x07\x00\x00\x00", 4);
  spit(path("v2.npy"), v2);
  EXPECT_EQ(read_npy(path("v2.npy")).as<int32_t>(), std::vector<int32_t>{7});
}

TEST_F(NpyTest, BadFilesGiveIoErrorNamingTheFile) {
  const std::string good_dict = "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }";
  const std::string good_data(8, '\x01');
  struct Case {
    std::string name, bytes, expect;
  };
  const std::vector<Case> cases = {
      {"empty.npy", "", "bad magic"},
      {"magic.npy", "\x93NUMPX" + std::string(200, ' '), "bad magic"},
      {"text.npy", "hello world, not an array", "bad magic"},
      {"version.npy", std::string("\x93NUMPY\x04\x00", 8) + "xx", "version 4.0"},
      {"short_header.npy", std::string("\x93NUMPY\x01\x00\xff\x00", 10) + "{'descr'",
       "header bytes"},
      {"dtype.npy", npy_image("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }",
                              std::string(8, '\0')),
       "unsupported dtype '<f8'"},
      {"big_endian.npy", npy_image("{'descr': '>i4', 'fortran_order': False, 'shape': (2,), }",
                                   good_data),
       "unsupported dtype '>i4'"},
      {"fortran.npy", npy_image("{'descr': '<i4', 'fortran_order': True, 'shape': (2, 2), }",
                                std::string(16, '\0')),
       "Fortran"},
      {"missing_key.npy", npy_image("{'descr': '<i4', 'shape': (2,), }", good_data),
       "must have the keys"},
      {"unknown_key.npy",
       npy_image("{'descr': '<i4', 'fortran_order': False, 'shape': (2,), 'x': 1}", good_data),
       "unknown key 'x'"},
      {"bad_shape.npy", npy_image("{'descr': '<i4', 'fortran_order': False, 'shape': (-2,), }",
                                  good_data),
       "non-negative integer"},
      {"not_dict.npy", npy_image("[1, 2, 3]", good_data), "expected '{'"},
      {"truncated.npy", npy_image(good_dict, std::string(7, '\x01')), "needs 8 data bytes"},
      {"too_long.npy", npy_image(good_dict, std::string(9, '\x01')), "file has 9"},
  };
  for (const Case& c : cases) {
    spit(path(c.name), c.bytes);
    const std::string m = read_error(path(c.name));
    EXPECT_NE(m.find(c.expect), std::string::npos) << c.name << ": " << m;
    EXPECT_NE(m.find(c.name), std::string::npos) << c.name << ": " << m;
    EXPECT_NE(m.find("[io E"), std::string::npos) << c.name << ": " << m;
  }
  const std::string m = read_error(path("does_not_exist.npy"));
  EXPECT_NE(m.find("does_not_exist.npy"), std::string::npos) << m;
  // The good image itself reads.
  spit(path("good.npy"), npy_image(good_dict, good_data));
  EXPECT_EQ(read_npy(path("good.npy")).as<int32_t>(),
            (std::vector<int32_t>{0x01010101, 0x01010101}));
}

TEST_F(NpyTest, DtypeMismatchOnAccess) {
  write_npy(path("a.npy"), std::vector<int8_t>{1, 2}, {2});
  const NpyArray a = read_npy(path("a.npy"));
  EXPECT_FALSE(a.holds<int32_t>());
  try {
    a.as<int32_t>();
    FAIL() << "no error";
  } catch (const IoError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("'|i1'"), std::string::npos) << m;
    EXPECT_NE(m.find("'<i4'"), std::string::npos) << m;
    EXPECT_NE(m.find("a.npy"), std::string::npos) << m;
  }
  EXPECT_THROW(a.as<uint8_t>(), IoError);
}

TEST_F(NpyTest, WriteErrors) {
  // Shape and data disagree.
  EXPECT_THROW(write_npy(path("x.npy"), std::vector<int32_t>(5), {2, 3}), IoError);
  // Directory missing.
  try {
    write_npy(path("no/such/dir/x.npy"), std::vector<int8_t>(2), {2});
    FAIL() << "no error";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("x.npy"), std::string::npos) << e.what();
  }
  // Unsupported dtype in a hand-made array.
  NpyArray a;
  a.dtype = "<f8";
  a.shape = {1};
  a.bytes.resize(8);
  EXPECT_THROW(write_npy(path("y.npy"), a), IoError);
  expect_only({});
}

TEST_F(NpyTest, OverwriteReplacesAtomically) {
  write_npy(path("w.npy"), std::vector<int32_t>(1000, 7), {1000});
  write_npy(path("w.npy"), std::vector<int8_t>{3}, {1});
  EXPECT_EQ(read_npy(path("w.npy")).as<int8_t>(), std::vector<int8_t>{3});
  expect_only({"w.npy"});
  // A failed write leaves the old file untouched and no temporary behind.
  EXPECT_THROW(write_npy(path("w.npy"), std::vector<int8_t>{1, 2}, {3}), IoError);
  EXPECT_EQ(read_npy(path("w.npy")).as<int8_t>(), std::vector<int8_t>{3});
  expect_only({"w.npy"});
}

// ---- .npz ----

TEST_F(NpyTest, NpzRoundTripAndDeterministicBytes) {
  std::vector<std::pair<std::string, NpyArray>> arrays = {
      {"conv1.weight", NpyArray::from(test_data<int8_t>(3 * 3 * 3 * 8, 1), {8, 3, 3, 3})},
      {"conv1.bias", NpyArray::from(test_data<int32_t>(8, 2), {8})},
      {"conv1.shift", NpyArray::from(test_data<uint8_t>(8, 3), {8})},
      {"scale", NpyArray::from(std::vector<float>{0.25f}, {})},
      {"empty", NpyArray::from(std::vector<int64_t>{}, {0, 4})},
  };
  write_npz(path("m.npz"), arrays);
  const auto back = read_npz(path("m.npz"));
  ASSERT_EQ(back.size(), arrays.size());
  for (size_t i = 0; i < arrays.size(); ++i) {
    EXPECT_EQ(back[i].first, arrays[i].first);
    EXPECT_EQ(back[i].second.dtype, arrays[i].second.dtype);
    EXPECT_EQ(back[i].second.shape, arrays[i].second.shape);
    EXPECT_EQ(back[i].second.bytes, arrays[i].second.bytes);
  }
  const std::vector<uint8_t> first = slurp(path("m.npz"));
  ASSERT_GE(first.size(), 4u);
  EXPECT_EQ(std::string(first.begin(), first.begin() + 4), std::string("PK\x03\x04", 4));
  // Member names end in .npy; each member is a stored .npy image.
  const std::string text(first.begin(), first.end());
  EXPECT_NE(text.find("conv1.weight.npy"), std::string::npos);
  EXPECT_NE(text.find("\x93NUMPY"), std::string::npos);
  write_npz(path("m2.npz"), arrays);
  EXPECT_EQ(slurp(path("m2.npz")), first);
  expect_only({"m.npz", "m2.npz"});
}

TEST_F(NpyTest, NpzErrors) {
  const NpyArray a = NpyArray::from(std::vector<int8_t>{1, 2, 3}, {3});
  EXPECT_THROW(write_npz(path("d.npz"), {{"x", a}, {"x", a}}), IoError);
  EXPECT_THROW(write_npz(path("d.npz"), {{"", a}}), IoError);
  write_npz(path("z.npz"), {{"x", a}});
  const std::vector<uint8_t> good = slurp(path("z.npz"));

  // Corrupted data: CRC mismatch.
  std::string bad(good.begin(), good.end());
  const size_t data_at = bad.find("\x93NUMPY");
  ASSERT_NE(data_at, std::string::npos);
  bad[bad.size() - 22 - 46 - 5 - 1] ^= 0x01;  // last data byte (before central dir of 1 entry)
  spit(path("crc.npz"), bad);
  try {
    read_npz(path("crc.npz"));
    FAIL() << "no error";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("CRC"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("crc.npz"), std::string::npos) << e.what();
  }
  // A compressed member (method 8 in the central directory) is refused with advice.
  bad.assign(good.begin(), good.end());
  const size_t cd = bad.find(std::string("PK\x01\x02", 4));
  ASSERT_NE(cd, std::string::npos);
  bad[cd + 10] = 8;
  spit(path("deflate.npz"), bad);
  try {
    read_npz(path("deflate.npz"));
    FAIL() << "no error";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("compressed"), std::string::npos) << e.what();
  }
  // Not a zip at all, and truncated.
  spit(path("junk.npz"), std::string(100, 'x'));
  EXPECT_THROW(read_npz(path("junk.npz")), IoError);
  spit(path("cut.npz"), std::string(good.begin(), good.begin() + 40));
  EXPECT_THROW(read_npz(path("cut.npz")), IoError);
  EXPECT_THROW(read_npz(path("missing.npz")), IoError);
}

}  // namespace
}  // namespace hdx
