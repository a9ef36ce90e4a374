// Tests of the network.json and accelerator.json readers and of the shared JSON helpers.
#include <gtest/gtest.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "accel.h"
#include "errors.h"
#include "json_util.h"
#include "network.h"

namespace hdx {
namespace {

using nlohmann::json;
namespace cc = config_code;

std::string example(const std::string& name) {
  return std::string(HDX_SOURCE_DIR) + "/examples/" + name;
}

// Runs f, expects a ConfigError with `code` whose message contains every string in `parts`.
void expect_config_error(const std::function<void()>& f, int code,
                         const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "no exception; expected code " << code;
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_EQ(e.stage(), "config");
    EXPECT_EQ(e.exit_code(), 2);
    const std::string msg = e.what();
    for (const auto& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
  }
}

// A scratch file removed at the end of the test.
class TempFile {
 public:
  TempFile(const std::string& name, const std::string& text)
      : path_((std::filesystem::temp_directory_path() /
               ("hdx_formats_test_" + std::to_string(::getpid()) + "_" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name() + "_" + name))
                  .string()) {
    std::ofstream(path_) << text;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

json tiny_net() {
  return json::parse(R"({
    "name": "t", "input": {"channels": 6, "height": 8, "width": 8},
    "layers": [
      {"name": "a", "op": "conv", "out_channels": 16, "kernel": 3, "padding": 1},
      {"name": "b", "op": "conv", "out_channels": 16, "kernel": 3, "stride": 2, "padding": 1, "groups": 16},
      {"name": "c", "op": "fc", "out_features": 10}
    ]})");
}

json good_accel() {
  return json::parse(R"({"name": "ws16", "dataflow": "ws", "pe_rows": 16, "pe_cols": 16,
    "data_bits": 8, "acc_bits": 32, "buffers_kib": {"ifmap": 64, "weight": 64, "ofmap": 64},
    "dram": {"bytes_per_cycle": 8, "latency_cycles": 20}, "clock_mhz": 500})");
}

void expect_same(const Layer& a, const Layer& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.op, b.op);
  EXPECT_EQ(a.input, b.input);
  EXPECT_EQ(a.input2, b.input2);
  EXPECT_EQ(a.in_c, b.in_c);
  EXPECT_EQ(a.in_h, b.in_h);
  EXPECT_EQ(a.in_w, b.in_w);
  EXPECT_EQ(a.out_c, b.out_c);
  EXPECT_EQ(a.out_h, b.out_h);
  EXPECT_EQ(a.out_w, b.out_w);
  EXPECT_EQ(a.kh, b.kh);
  EXPECT_EQ(a.kw, b.kw);
  EXPECT_EQ(a.stride, b.stride);
  EXPECT_EQ(a.pad, b.pad);
  EXPECT_EQ(a.groups, b.groups);
  EXPECT_EQ(a.relu, b.relu);
}

void expect_same(const Network& a, const Network& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.in_c, b.in_c);
  EXPECT_EQ(a.in_h, b.in_h);
  EXPECT_EQ(a.in_w, b.in_w);
  ASSERT_EQ(a.layers.size(), b.layers.size());
  for (std::size_t i = 0; i < a.layers.size(); ++i) expect_same(a.layers[i], b.layers[i]);
}

void expect_same(const Accelerator& a, const Accelerator& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.dataflow, b.dataflow);
  EXPECT_EQ(a.pe_rows, b.pe_rows);
  EXPECT_EQ(a.pe_cols, b.pe_cols);
  EXPECT_EQ(a.data_bits, b.data_bits);
  EXPECT_EQ(a.acc_bits, b.acc_bits);
  EXPECT_EQ(a.ifmap_kib, b.ifmap_kib);
  EXPECT_EQ(a.weight_kib, b.weight_kib);
  EXPECT_EQ(a.ofmap_kib, b.ofmap_kib);
  EXPECT_EQ(a.dram_bytes_per_cycle, b.dram_bytes_per_cycle);
  EXPECT_EQ(a.dram_latency_cycles, b.dram_latency_cycles);
  EXPECT_DOUBLE_EQ(a.clock_mhz, b.clock_mhz);
  EXPECT_EQ(a.spad_ifmap, b.spad_ifmap);
  EXPECT_EQ(a.spad_filter, b.spad_filter);
  EXPECT_EQ(a.spad_psum, b.spad_psum);
}

json good_rs_accel() {
  json j = good_accel();
  j["dataflow"] = "rs";
  j["spad"] = {{"ifmap", 12}, {"filter", 224}, {"psum", 24}};
  return j;
}

// ---------------------------------------------------------------- json_util

TEST(JsonUtil, PathEscapesTildeAndSlash) {
  EXPECT_EQ(json_path("", "a"), "/a");
  EXPECT_EQ(json_path("/x", "a/b~c"), "/x/a~1b~0c");
  EXPECT_EQ(json_path("/layers", std::size_t{3}), "/layers/3");
  EXPECT_EQ(json_path_display(""), "(root)");
}

TEST(JsonUtil, ReaderDefaultsAndTypes) {
  const json j = json::parse(R"({"i": 3, "b": true, "s": "x", "n": 2.5, "p": 16, "o": {}, "a": [1]})");
  ObjectReader r(j, "/top");
  EXPECT_EQ(r.get_int("i", 1, 5), 3);
  EXPECT_EQ(r.get_int("missing", 1, 5, 4), 4);
  EXPECT_TRUE(r.get_bool("b"));
  EXPECT_FALSE(r.get_bool("nob", false));
  EXPECT_EQ(r.get_string("s"), "x");
  EXPECT_DOUBLE_EQ(r.get_number("n", 0, 10, true), 2.5);
  EXPECT_DOUBLE_EQ(r.get_number("i", 0, 10, false), 3.0);
  EXPECT_EQ(r.get_pow2("p", 1, 64), 16);
  EXPECT_EQ(r.get_enum("s", {"x", "y"}), "x");
  EXPECT_EQ(r.get_object("o").path(), "/top/o");
  EXPECT_EQ(r.get_array("a", true).size(), 1u);
  expect_config_error([&] { r.get_int("n", 1, 5); }, cc::kWrongType,
                      {"/top/n: must be an integer between 1 and 5, got 2.5"});
  expect_config_error([&] { r.get_int("b", 1, 5); }, cc::kWrongType, {"/top/b", "got true"});
  expect_config_error([&] { r.get_string("i"); }, cc::kWrongType, {"/top/i: must be a non-empty string, got 3"});
  expect_config_error([&] { r.get_bool("i"); }, cc::kWrongType, {"/top/i: must be true or false, got 3"});
  expect_config_error([&] { r.get_array("o", false); }, cc::kWrongType, {"/top/o: must be an array"});
  expect_config_error([&] { r.get_object("a"); }, cc::kWrongType, {"/top/a: must be an object"});
  expect_config_error([&] { r.allow_only({"i"}); }, cc::kUnknownKey, {"unknown key (allowed: i)"});
  expect_config_error([&] { ObjectReader(json::array(), ""); }, cc::kWrongType,
                      {"(root): must be an object, got []"});
}

TEST(JsonUtil, HugeIntegerIsOutOfRange) {
  const json j = json::parse(R"({"u": 18446744073709551615, "neg": -9223372036854775807})");
  ObjectReader r(j, "");
  expect_config_error([&] { r.get_int("u", 1, 5); }, cc::kOutOfRange,
                      {"/u: must be an integer between 1 and 5, got 18446744073709551615"});
  expect_config_error([&] { r.get_int("neg", 1, 5); }, cc::kOutOfRange, {"/neg", "between 1 and 5"});
}

TEST(JsonUtil, ErrorBodyStripsPrefix) {
  ConfigError e(7, "/a: b");
  EXPECT_EQ(std::string(e.what()), "[config E007] /a: b");
  EXPECT_EQ(error_body(e), "/a: b");
}

// ---------------------------------------------------------------- network: valid input

TEST(Network, ParsesTinyExample) {
  const Network n = load_network(example("net_tiny.json"));
  EXPECT_EQ(n.name, "tiny");
  EXPECT_EQ(n.in_c, 3);
  ASSERT_EQ(n.layers.size(), 3u);
  const Layer& c1 = n.layers[0];
  EXPECT_EQ(c1.input, "");
  EXPECT_EQ(c1.in_c, 3);
  EXPECT_EQ(c1.out_c, 8);
  EXPECT_EQ(c1.out_h, 8);
  EXPECT_EQ(c1.out_w, 8);
  EXPECT_EQ(c1.groups, 1);  // default
  EXPECT_TRUE(c1.relu);
  const Layer& dw = n.layers[1];
  EXPECT_EQ(dw.input, "conv1");
  EXPECT_EQ(dw.groups, dw.in_c);  // depthwise
  EXPECT_EQ(dw.out_h, 4);
  EXPECT_EQ(dw.out_w, 4);
  EXPECT_EQ(dw.cin_g(), 1);
  const Layer& fc = n.layers[2];
  EXPECT_EQ(fc.op, Op::Fc);
  EXPECT_EQ(fc.input, "dw2");
  EXPECT_FALSE(fc.relu);  // default
  EXPECT_EQ(fc.in_c, 8);
  EXPECT_EQ(fc.kh, 4);
  EXPECT_EQ(fc.kw, 4);
  EXPECT_EQ(fc.out_c, 10);
  EXPECT_EQ(fc.out_h, 1);
  EXPECT_EQ(fc.out_w, 1);
  EXPECT_EQ(fc.stride, 1);
  EXPECT_EQ(fc.pad, 0);
  EXPECT_EQ(fc.groups, 1);
  EXPECT_EQ(fc.k(), 8 * 4 * 4);
}

TEST(Network, ParsesAllKindsExample) {
  const Network n = load_network(example("net_all_kinds.json"));
  EXPECT_EQ(n.in_c, 3);
  EXPECT_EQ(n.in_h, 32);
  EXPECT_EQ(n.in_w, 24);
  ASSERT_EQ(n.layers.size(), 9u);
  struct Want {
    const char* name;
    int in_c, in_h, in_w, out_c, out_h, out_w, k, stride, pad, groups;
  };
  const Want want[] = {
      {"conv1", 3, 32, 24, 12, 32, 24, 3, 1, 1, 1},  {"conv2", 12, 32, 24, 20, 16, 12, 5, 2, 2, 1},
      {"dw3", 20, 16, 12, 20, 16, 12, 3, 1, 1, 20},  {"pw4", 20, 16, 12, 24, 16, 12, 1, 1, 0, 1},
      {"gconv5", 24, 16, 12, 24, 8, 6, 3, 2, 1, 4},  {"conv6", 24, 8, 6, 20, 8, 6, 7, 1, 3, 1},
      {"conv7", 20, 8, 6, 16, 6, 4, 3, 1, 0, 1},     {"dw8", 16, 6, 4, 16, 3, 2, 3, 2, 1, 16},
      {"fc", 16, 3, 2, 10, 1, 1, 0, 1, 0, 1},
  };
  long long macs = 0;
  for (std::size_t i = 0; i < n.layers.size(); ++i) {
    const Layer& l = n.layers[i];
    const Want& w = want[i];
    SCOPED_TRACE(w.name);
    EXPECT_EQ(l.name, w.name);
    EXPECT_EQ(l.in_c, w.in_c);
    EXPECT_EQ(l.in_h, w.in_h);
    EXPECT_EQ(l.in_w, w.in_w);
    EXPECT_EQ(l.out_c, w.out_c);
    EXPECT_EQ(l.out_h, w.out_h);
    EXPECT_EQ(l.out_w, w.out_w);
    EXPECT_EQ(l.kh, w.k ? w.k : l.in_h);
    EXPECT_EQ(l.kw, w.k ? w.k : l.in_w);
    EXPECT_EQ(l.stride, w.stride);
    EXPECT_EQ(l.pad, w.pad);
    EXPECT_EQ(l.groups, w.groups);
    EXPECT_EQ(l.input, i > 0 ? n.layers[i - 1].name : "");
    macs += l.macs();
  }
  EXPECT_EQ(n.layers.back().op, Op::Fc);
  EXPECT_LT(macs, 5'000'000);
}

TEST(Network, InputNamesEarlierLayer) {
  json j = tiny_net();
  j["layers"][2]["input"] = "a";  // fc reads "a" (16x8x8), skipping "b"
  const Network n = network_from_json(j);
  const Layer& fc = n.layers[2];
  EXPECT_EQ(fc.input, "a");
  EXPECT_EQ(fc.in_c, 16);
  EXPECT_EQ(fc.kh, 8);
  EXPECT_EQ(fc.kw, 8);
  // The canonical form keeps the explicit reference and round-trips.
  EXPECT_EQ(network_to_json(n)["layers"][2]["input"], "a");
  expect_same(network_from_json(network_to_json(n)), n);
}

// Host operations: add of two equal shapes, global average pooling; both round-trip.
TEST(Network, HostOperations) {
  const Network n = load_network(example("net_residual.json"));
  ASSERT_EQ(n.layers.size(), 7u);
  const Layer& add = n.layers[4];
  EXPECT_EQ(add.op, Op::Add);
  EXPECT_TRUE(add.host());
  EXPECT_EQ(add.input, "b0.project");
  EXPECT_EQ(add.input2, "stem");
  EXPECT_EQ(add.out_c, 8);
  EXPECT_EQ(add.out_h, 6);
  EXPECT_EQ(add.macs(), 0);
  EXPECT_EQ(add.weight_count(), 0);
  const Layer& pool = n.layers[5];
  EXPECT_EQ(pool.op, Op::AvgPool);
  EXPECT_EQ(pool.input, "b0.add");
  EXPECT_EQ(pool.in_h, 6);
  EXPECT_EQ(pool.out_c, 8);
  EXPECT_EQ(pool.out_h, 1);
  EXPECT_EQ(pool.out_w, 1);
  const Layer& fc = n.layers[6];
  EXPECT_FALSE(fc.host());
  EXPECT_EQ(fc.in_c, 8);
  EXPECT_EQ(fc.kh, 1);
  EXPECT_EQ(network_to_json(n)["layers"][4]["inputs"], json({"b0.project", "stem"}));
  EXPECT_FALSE(network_to_json(n)["layers"][5].contains("relu"));
  expect_same(network_from_json(network_to_json(n)), n);
  EXPECT_STREQ(op_name(Op::Add), "add");
  EXPECT_STREQ(op_name(Op::AvgPool), "avgpool");
}

TEST(Network, HostOperationErrors) {
  json base = tiny_net();
  auto with = [&](json layer) {
    json j = base;
    j["layers"].push_back(std::move(layer));
    return j;
  };
  // Operands of different shapes name both.
  expect_config_error([&] { network_from_json(with({{"name", "s"}, {"op", "add"},
                                                    {"inputs", {"a", "b"}}})); },
                      cc::kShapeMismatch,
                      {"/layers/3/inputs: both operands of add must have one shape",
                       "\"a\" 16x8x8", "\"b\" 16x4x4"});
  expect_config_error([&] { network_from_json(with({{"name", "s"}, {"op", "add"},
                                                    {"inputs", {"a"}}})); },
                      cc::kOutOfRange, {"/layers/3/inputs: must name exactly 2 earlier layers, got 1"});
  expect_config_error([&] { network_from_json(with({{"name", "s"}, {"op", "add"},
                                                    {"inputs", {"a", "zz"}}})); },
                      cc::kBadInputRef, {"/layers/3/inputs/1: must name an earlier layer", "\"zz\""});
  expect_config_error([&] { network_from_json(with({{"name", "s"}, {"op", "add"},
                                                    {"inputs", {"a", 3}}})); },
                      cc::kWrongType, {"/layers/3/inputs/1: must be a layer name"});
  expect_config_error([&] { network_from_json(with({{"name", "s"}, {"op", "add"}})); },
                      cc::kMissingKey, {"/layers/3/inputs"});
  expect_config_error([&] { network_from_json(with({{"name", "s"}, {"op", "add"},
                                                    {"input", "a"}, {"inputs", {"a", "a"}}})); },
                      cc::kUnknownKey, {"/layers/3/input: unknown key"});
  expect_config_error([&] { network_from_json(with({{"name", "p"}, {"op", "avgpool"},
                                                    {"relu", true}})); },
                      cc::kUnknownKey, {"/layers/3/relu: unknown key"});
  // add of a layer with itself is legal (x + x).
  const Network n = network_from_json(with({{"name", "s"}, {"op", "add"}, {"inputs", {"c", "c"}}}));
  EXPECT_EQ(n.layers[3].out_c, 10);
}

TEST(Network, ConvAfterFcSeesOneByOne) {
  json j = tiny_net();
  j["layers"].push_back({{"name", "d"}, {"op", "conv"}, {"out_channels", 4}, {"kernel", 1}});
  const Network n = network_from_json(j);
  const Layer& d = n.layers[3];
  EXPECT_EQ(d.in_c, 10);
  EXPECT_EQ(d.in_h, 1);
  EXPECT_EQ(d.out_h, 1);
}

TEST(Network, OutputSizeFloors) {
  json j = tiny_net();
  j["input"]["height"] = 9;
  j["input"]["width"] = 10;
  j["layers"][0]["kernel"] = 2;
  j["layers"][0]["stride"] = 3;
  j["layers"][0]["padding"] = 0;
  const Network n = network_from_json(j);
  EXPECT_EQ(n.layers[0].out_h, (9 - 2) / 3 + 1);   // 3
  EXPECT_EQ(n.layers[0].out_w, (10 - 2) / 3 + 1);  // 3
}

TEST(Network, RoundTripsExamples) {
  for (const char* f : {"net_tiny.json", "net_all_kinds.json"}) {
    SCOPED_TRACE(f);
    const Network n = load_network(example(f));
    const json canon = network_to_json(n);
    const Network back = network_from_json(canon);
    expect_same(back, n);
    EXPECT_EQ(network_to_json(back), canon);
    // Conv layers list every key explicitly; fc layers use out_features.
    EXPECT_TRUE(canon["layers"][0].contains("groups"));
    EXPECT_TRUE(canon["layers"][0].contains("padding"));
    EXPECT_EQ(canon["layers"].back()["out_features"], 10);
    EXPECT_FALSE(canon["layers"].back().contains("kernel"));
  }
}

TEST(Network, SingleLayerNetwork) {
  const Network n = load_network(example("net_all_kinds.json"));
  for (const Layer& l : n.layers) {
    SCOPED_TRACE(l.name);
    const Network s = single_layer_network(l);
    EXPECT_EQ(s.in_c, l.in_c);
    EXPECT_EQ(s.in_h, l.in_h);
    EXPECT_EQ(s.in_w, l.in_w);
    ASSERT_EQ(s.layers.size(), 1u);
    Layer want = l;
    want.input = "";
    expect_same(s.layers[0], want);
    // It is itself a valid network.
    expect_same(network_from_json(network_to_json(s)), s);
  }
}

TEST(Network, OpName) {
  EXPECT_STREQ(op_name(Op::Conv), "conv");
  EXPECT_STREQ(op_name(Op::Fc), "fc");
}

// ---------------------------------------------------------------- network: errors

TEST(NetworkErrors, RootNotObject) {
  expect_config_error([] { network_from_json(json::array()); }, cc::kWrongType, {"(root): must be an object"});
}

TEST(NetworkErrors, UnknownKeyInLayer) {
  json j = tiny_net();
  j["layers"][0]["frobnicate"] = 1;
  expect_config_error([&] { network_from_json(j); }, cc::kUnknownKey,
                      {"/layers/0/frobnicate: unknown key (allowed: name, op, out_channels, kernel, "
                       "stride, padding, groups, relu, input)"});
}

TEST(NetworkErrors, ConvKeyOnFcIsUnknown) {
  json j = tiny_net();
  j["layers"][2]["kernel"] = 3;
  expect_config_error([&] { network_from_json(j); }, cc::kUnknownKey,
                      {"/layers/2/kernel: unknown key (allowed: name, op, out_features, relu, input)"});
}

TEST(NetworkErrors, UnknownKeyTopAndInput) {
  json j = tiny_net();
  j["weights"] = "w.npz";
  expect_config_error([&] { network_from_json(j); }, cc::kUnknownKey,
                      {"/weights: unknown key (allowed: name, input, layers)"});
  j = tiny_net();
  j["input"]["depth"] = 1;
  expect_config_error([&] { network_from_json(j); }, cc::kUnknownKey,
                      {"/input/depth: unknown key (allowed: channels, height, width)"});
}

TEST(NetworkErrors, WrongTypes) {
  struct Case {
    json::json_pointer ptr;
    json value;
    std::string want;
  };
  const std::vector<Case> cases = {
      {json::json_pointer("/layers/0/kernel"), "3", "/layers/0/kernel: must be an integer between 1 and 11, got \"3\""},
      {json::json_pointer("/layers/0/kernel"), 3.0, "/layers/0/kernel: must be an integer between 1 and 11, got 3.0"},
      {json::json_pointer("/layers/0/relu"), 1, "/layers/0/relu: must be true or false, got 1"},
      {json::json_pointer("/layers/0/name"), 5, "/layers/0/name: must be a non-empty string, got 5"},
      {json::json_pointer("/layers/0/op"), 1, "/layers/0/op: must be one of: conv, fc, add, avgpool, got 1"},
      {json::json_pointer("/layers/0/groups"), nullptr, "/layers/0/groups: must be an integer between 1 and 4096, got null"},
      {json::json_pointer("/layers/1"), "b", "/layers/1: must be an object, got \"b\""},
      {json::json_pointer("/layers"), json::object(), "/layers: must be a non-empty array, got {}"},
      {json::json_pointer("/input"), json::array({3, 8, 8}), "/input: must be an object, got [3,8,8]"},
      {json::json_pointer("/input/channels"), true, "/input/channels: must be an integer between 1 and 4096, got true"},
      {json::json_pointer("/name"), json::array(), "/name: must be a non-empty string, got []"},
      {json::json_pointer("/layers/2/out_features"), "10", "/layers/2/out_features: must be an integer between 1 and 65536"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.want);
    json j = tiny_net();
    j[c.ptr] = c.value;
    expect_config_error([&] { network_from_json(j); }, cc::kWrongType, {c.want});
  }
}

TEST(NetworkErrors, OutOfRange) {
  struct Case {
    const char* ptr;
    int value;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"/layers/2/out_features", 65537, "/layers/2/out_features: must be an integer between 1 and 65536, got 65537"},
      {"/layers/0/kernel", 12, "/layers/0/kernel: must be an integer between 1 and 11, got 12"},
      {"/layers/0/kernel", 0, "/layers/0/kernel: must be an integer between 1 and 11, got 0"},
      {"/layers/0/stride", 0, "/layers/0/stride: must be an integer between 1 and 4, got 0"},
      {"/layers/0/stride", 5, "/layers/0/stride: must be an integer between 1 and 4, got 5"},
      {"/layers/0/padding", -1, "/layers/0/padding: must be an integer between 0 and 7, got -1"},
      {"/layers/0/padding", 8, "/layers/0/padding: must be an integer between 0 and 7, got 8"},
      {"/layers/0/out_channels", 4097, "/layers/0/out_channels: must be an integer between 1 and 4096, got 4097"},
      {"/layers/0/groups", 0, "/layers/0/groups: must be an integer between 1 and 4096, got 0"},
      {"/input/channels", 0, "/input/channels: must be an integer between 1 and 4096, got 0"},
      {"/input/height", 4097, "/input/height: must be an integer between 1 and 4096, got 4097"},
      {"/input/width", -3, "/input/width: must be an integer between 1 and 4096, got -3"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.want);
    json j = tiny_net();
    j[json::json_pointer(c.ptr)] = c.value;
    expect_config_error([&] { network_from_json(j); }, cc::kOutOfRange, {c.want});
  }
}

TEST(NetworkErrors, MissingKeys) {
  struct Case {
    const char* ptr;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"/name", "/name: missing required key; must be a non-empty string"},
      {"/input", "/input: missing required key; must be an object"},
      {"/layers", "/layers: missing required key; must be a non-empty array"},
      {"/input/height", "/input/height: missing required key; must be an integer between 1 and 4096"},
      {"/layers/0/name", "/layers/0/name: missing required key; must be a non-empty string"},
      {"/layers/0/op", "/layers/0/op: missing required key; must be one of: conv, fc"},
      {"/layers/0/out_channels", "/layers/0/out_channels: missing required key; must be an integer between 1 and 4096"},
      {"/layers/0/kernel", "/layers/0/kernel: missing required key; must be an integer between 1 and 11"},
      {"/layers/2/out_features", "/layers/2/out_features: missing required key; must be an integer between 1 and 65536"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.want);
    json j = tiny_net();
    const json::json_pointer p(c.ptr);
    j[p.parent_pointer()].erase(p.back());
    expect_config_error([&] { network_from_json(j); }, cc::kMissingKey, {c.want});
  }
}

TEST(NetworkErrors, BadOp) {
  json j = tiny_net();
  j["layers"][1]["op"] = "pool";
  expect_config_error([&] { network_from_json(j); }, cc::kNotInSet,
                      {"/layers/1/op: must be one of: conv, fc, add, avgpool, got \"pool\""});
}

TEST(NetworkErrors, EmptyLayers) {
  json j = tiny_net();
  j["layers"] = json::array();
  expect_config_error([&] { network_from_json(j); }, cc::kEmptyArray,
                      {"/layers: must be a non-empty array, got []"});
}

TEST(NetworkErrors, BadNames) {
  json j = tiny_net();
  j["name"] = "";
  expect_config_error([&] { network_from_json(j); }, cc::kBadName, {"/name: must be a non-empty string"});
  j = tiny_net();
  j["layers"][1]["name"] = "b c";
  expect_config_error([&] { network_from_json(j); }, cc::kBadName,
                      {"/layers/1/name: must be 1 to 64 characters from A-Z a-z 0-9 _ . -, got \"b c\""});
  j = tiny_net();
  j["layers"][1]["name"] = std::string(65, 'x');
  expect_config_error([&] { network_from_json(j); }, cc::kBadName, {"/layers/1/name", "1 to 64 characters"});
  j = tiny_net();
  j["layers"][1]["name"] = std::string(64, 'x');
  EXPECT_NO_THROW(network_from_json(j));
}

TEST(NetworkErrors, DuplicateName) {
  json j = tiny_net();
  j["layers"][2]["name"] = "a";
  expect_config_error([&] { network_from_json(j); }, cc::kDuplicateName,
                      {"/layers/2/name: layer names must be unique, got \"a\" which /layers/0 already uses"});
}

TEST(NetworkErrors, BadGroups) {
  json j = tiny_net();
  j["layers"][1]["groups"] = 4;  // divides 16 and 16: fine
  EXPECT_NO_THROW(network_from_json(j));
  j = tiny_net();
  j["layers"][0]["groups"] = 4;  // in 6, out 16
  expect_config_error([&] { network_from_json(j); }, cc::kBadGroups,
                      {"/layers/0/groups: must divide in_channels (6) and out_channels (16), got 4"});
  j = tiny_net();
  j["layers"][0]["groups"] = 3;  // divides 6, not 16
  expect_config_error([&] { network_from_json(j); }, cc::kBadGroups,
                      {"/layers/0/groups: must divide in_channels (6) and out_channels (16), got 3"});
}

TEST(NetworkErrors, BadInputReference) {
  json j = tiny_net();
  j["layers"][2]["input"] = "nope";
  expect_config_error([&] { network_from_json(j); }, cc::kBadInputRef,
                      {"/layers/2/input: must name an earlier layer (one of: a, b), got \"nope\"",
                       "no layer has that name"});
  j = tiny_net();
  j["layers"][1]["input"] = "b";
  expect_config_error([&] { network_from_json(j); }, cc::kBadInputRef,
                      {"/layers/1/input: must name an earlier layer (one of: a)", "cannot read itself"});
  j = tiny_net();
  j["layers"][1]["input"] = "c";
  expect_config_error([&] { network_from_json(j); }, cc::kBadInputRef,
                      {"/layers/1/input", "earlier layer", "that layer comes later"});
  j = tiny_net();
  j["layers"][0]["input"] = "b";
  expect_config_error([&] { network_from_json(j); }, cc::kBadInputRef,
                      {"/layers/0/input: must name an earlier layer (there is none)"});
}

TEST(NetworkErrors, OutputTooSmall) {
  json j = tiny_net();
  j["input"]["height"] = 4;
  j["layers"][0]["kernel"] = 7;
  j["layers"][0]["padding"] = 1;
  expect_config_error([&] { network_from_json(j); }, cc::kBadOutputSize,
                      {"/layers/0: output size must be at least 1x1, got 0x4 from input 4x8 with kernel 7, "
                       "padding 1, stride 1",
                       "the kernel may be at most min(height, width) + 2*padding = 6"});
  // A later layer: "b" reads a 2x2 map; (2 - 3) / 2 + 1 floors to 0 (truncation would give 1).
  j = tiny_net();
  j["input"]["height"] = 2;
  j["input"]["width"] = 2;
  j["layers"][1]["padding"] = 0;
  expect_config_error([&] { network_from_json(j); }, cc::kBadOutputSize,
                      {"/layers/1: output size must be at least 1x1, got 0x0 from input 2x2 with kernel 3, "
                       "padding 0, stride 2"});
}

// ---------------------------------------------------------------- accelerator

TEST(Accelerator, ParsesExamples) {
  struct Want {
    const char* file;
    int rows, cols, ifmap, weight, ofmap, bpc, lat;
  };
  for (const Want& w : {Want{"accel_ws_4x4.json", 4, 4, 8, 4, 4, 4, 10},
                        Want{"accel_ws_16x16.json", 16, 16, 64, 64, 64, 16, 20},
                        Want{"accel_ws_8x32.json", 8, 32, 32, 32, 32, 8, 30}}) {
    SCOPED_TRACE(w.file);
    const Accelerator a = load_accelerator(example(w.file));
    EXPECT_EQ(a.dataflow, Dataflow::WS);
    EXPECT_EQ(a.pe_rows, w.rows);
    EXPECT_EQ(a.pe_cols, w.cols);
    EXPECT_EQ(a.ifmap_kib, w.ifmap);
    EXPECT_EQ(a.weight_kib, w.weight);
    EXPECT_EQ(a.ofmap_kib, w.ofmap);
    EXPECT_EQ(a.dram_bytes_per_cycle, w.bpc);
    EXPECT_EQ(a.dram_latency_cycles, w.lat);
    EXPECT_EQ(a.data_bits, 8);
    EXPECT_EQ(a.acc_bits, 32);
    EXPECT_DOUBLE_EQ(a.clock_mhz, 500.0);
    const json canon = accelerator_to_json(a);
    expect_same(accelerator_from_json(canon), a);
    EXPECT_EQ(accelerator_to_json(accelerator_from_json(canon)), canon);
  }
}

TEST(Accelerator, DefaultsAndFractionalClock) {
  json j = good_accel();
  j.erase("data_bits");
  j.erase("acc_bits");
  j.erase("clock_mhz");
  Accelerator a = accelerator_from_json(j);
  EXPECT_EQ(a.data_bits, 8);
  EXPECT_EQ(a.acc_bits, 32);
  EXPECT_DOUBLE_EQ(a.clock_mhz, 500.0);
  j["clock_mhz"] = 333.3;
  a = accelerator_from_json(j);
  EXPECT_DOUBLE_EQ(a.clock_mhz, 333.3);
  expect_same(accelerator_from_json(accelerator_to_json(a)), a);
}

TEST(AcceleratorErrors, BadDataflow) {
  json j = good_accel();
  j["dataflow"] = "xx";
  expect_config_error([&] { accelerator_from_json(j); }, cc::kNotInSet, {"/dataflow: must be one of: ws, rs, got \"xx\""});
}

TEST(AcceleratorErrors, BytesPerCycleNotPowerOfTwo) {
  json j = good_accel();
  j["dram"]["bytes_per_cycle"] = 12;
  expect_config_error([&] { accelerator_from_json(j); }, cc::kNotPowerOfTwo,
                      {"/dram/bytes_per_cycle: must be a power of two between 1 and 64, got 12"});
  j["dram"]["bytes_per_cycle"] = 128;
  expect_config_error([&] { accelerator_from_json(j); }, cc::kOutOfRange,
                      {"/dram/bytes_per_cycle: must be a power of two between 1 and 64, got 128"});
  for (int ok : {1, 2, 4, 8, 16, 32, 64}) {
    j["dram"]["bytes_per_cycle"] = ok;
    EXPECT_EQ(accelerator_from_json(j).dram_bytes_per_cycle, ok);
  }
}

TEST(AcceleratorErrors, OutOfRange) {
  struct Case {
    const char* ptr;
    json value;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"/pe_rows", 1, "/pe_rows: must be an integer between 2 and 64, got 1"},
      {"/pe_cols", 65, "/pe_cols: must be an integer between 2 and 64, got 65"},
      {"/data_bits", 16, "/data_bits: must be 8, got 16"},
      {"/acc_bits", 24, "/acc_bits: must be 32, got 24"},
      {"/buffers_kib/ifmap", 0, "/buffers_kib/ifmap: must be an integer between 1 and 16384, got 0"},
      {"/buffers_kib/ofmap", 16385, "/buffers_kib/ofmap: must be an integer between 1 and 16384, got 16385"},
      {"/dram/latency_cycles", 1001, "/dram/latency_cycles: must be an integer between 0 and 1000, got 1001"},
      {"/dram/latency_cycles", -1, "/dram/latency_cycles: must be an integer between 0 and 1000, got -1"},
      {"/clock_mhz", 0, "/clock_mhz: must be a number greater than 0 and at most 5000, got 0"},
      {"/clock_mhz", -5.5, "/clock_mhz: must be a number greater than 0 and at most 5000, got -5.5"},
      {"/clock_mhz", 5000.5, "/clock_mhz: must be a number greater than 0 and at most 5000, got 5000.5"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.want);
    json j = good_accel();
    j[json::json_pointer(c.ptr)] = c.value;
    expect_config_error([&] { accelerator_from_json(j); }, cc::kOutOfRange, {c.want});
  }
  json j = good_accel();
  j["clock_mhz"] = 5000;
  EXPECT_DOUBLE_EQ(accelerator_from_json(j).clock_mhz, 5000.0);
}

TEST(AcceleratorErrors, WrongTypes) {
  struct Case {
    const char* ptr;
    json value;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"/pe_rows", "16", "/pe_rows: must be an integer between 2 and 64, got \"16\""},
      {"/pe_cols", 16.5, "/pe_cols: must be an integer between 2 and 64, got 16.5"},
      {"/clock_mhz", "fast", "/clock_mhz: must be a number greater than 0 and at most 5000, got \"fast\""},
      {"/dram", 8, "/dram: must be an object, got 8"},
      {"/dram/bytes_per_cycle", 8.0, "/dram/bytes_per_cycle: must be a power of two between 1 and 64, got 8.0"},
      {"/name", 3, "/name: must be a non-empty string, got 3"},
      {"/dataflow", json::array({"ws"}), "/dataflow: must be one of: ws, rs, got [\"ws\"]"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.want);
    json j = good_accel();
    j[json::json_pointer(c.ptr)] = c.value;
    expect_config_error([&] { accelerator_from_json(j); }, cc::kWrongType, {c.want});
  }
}

TEST(AcceleratorErrors, UnknownKeys) {
  json j = good_accel();
  j["technology"] = "28nm";
  expect_config_error([&] { accelerator_from_json(j); }, cc::kUnknownKey,
                      {"/technology: unknown key (allowed: name, dataflow, pe_rows, pe_cols, data_bits, "
                       "acc_bits, buffers_kib, dram, clock_mhz)"});
  j = good_accel();
  j["dram"]["channels"] = 2;
  expect_config_error([&] { accelerator_from_json(j); }, cc::kUnknownKey,
                      {"/dram/channels: unknown key (allowed: bytes_per_cycle, latency_cycles)"});
  j = good_accel();
  j["buffers_kib"]["psum"] = 2;
  expect_config_error([&] { accelerator_from_json(j); }, cc::kUnknownKey,
                      {"/buffers_kib/psum: unknown key (allowed: ifmap, weight, ofmap)"});
}

TEST(AcceleratorErrors, MissingKeys) {
  struct Case {
    const char* ptr;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"/name", "/name: missing required key; must be a non-empty string"},
      {"/dataflow", "/dataflow: missing required key; must be one of: ws, rs"},
      {"/pe_cols", "/pe_cols: missing required key; must be an integer between 2 and 64"},
      {"/buffers_kib", "/buffers_kib: missing required key; must be an object"},
      {"/buffers_kib/weight", "/buffers_kib/weight: missing required key; must be an integer between 1 and 16384"},
      {"/dram/bytes_per_cycle", "/dram/bytes_per_cycle: missing required key; must be a power of two between 1 and 64"},
      {"/dram/latency_cycles", "/dram/latency_cycles: missing required key; must be an integer between 0 and 1000"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.want);
    json j = good_accel();
    const json::json_pointer p(c.ptr);
    j[p.parent_pointer()].erase(p.back());
    expect_config_error([&] { accelerator_from_json(j); }, cc::kMissingKey, {c.want});
  }
}

TEST(Accelerator, ParsesRsExamples) {
  struct Want {
    const char* file;
    int rows, cols, si, sf, sp;
  };
  for (const Want& w : {Want{"accel_rs_12x14.json", 12, 14, 12, 224, 24},
                        Want{"accel_rs_4x4.json", 4, 4, 12, 48, 8}}) {
    SCOPED_TRACE(w.file);
    const Accelerator a = load_accelerator(example(w.file));
    EXPECT_EQ(a.dataflow, Dataflow::RS);
    EXPECT_EQ(a.pe_rows, w.rows);
    EXPECT_EQ(a.pe_cols, w.cols);
    EXPECT_EQ(a.spad_ifmap, w.si);
    EXPECT_EQ(a.spad_filter, w.sf);
    EXPECT_EQ(a.spad_psum, w.sp);
    const json canon = accelerator_to_json(a);
    EXPECT_EQ(canon["dataflow"], "rs");
    expect_same(accelerator_from_json(canon), a);
  }
}

// The scratchpads are required for rs, validated like the rest, and unknown to ws.
TEST(AcceleratorErrors, RsScratchpads) {
  json j = good_rs_accel();
  j["spad"].erase("psum");
  expect_config_error([&] { accelerator_from_json(j); }, cc::kMissingKey,
                      {"/spad/psum: missing required key; must be an integer between 1 and 32"});
  j = good_rs_accel();
  j.erase("spad");
  expect_config_error([&] { accelerator_from_json(j); }, cc::kMissingKey,
                      {"/spad: missing required key; must be an object"});
  j = good_rs_accel();
  j["spad"]["filter"] = 0;
  expect_config_error([&] { accelerator_from_json(j); }, cc::kOutOfRange,
                      {"/spad/filter: must be an integer between 1 and 4096, got 0"});
  j = good_rs_accel();
  j["spad"]["ifmap"] = 129;  // register files: at most 128 bytes (docs/architecture.md)
  expect_config_error([&] { accelerator_from_json(j); }, cc::kOutOfRange,
                      {"/spad/ifmap: must be an integer between 1 and 128, got 129"});
  j = good_rs_accel();
  j["spad"]["psum"] = 33;
  expect_config_error([&] { accelerator_from_json(j); }, cc::kOutOfRange,
                      {"/spad/psum: must be an integer between 1 and 32, got 33"});
  j = good_rs_accel();
  j["spad"]["weights"] = 3;
  expect_config_error([&] { accelerator_from_json(j); }, cc::kUnknownKey,
                      {"/spad/weights: unknown key (allowed: ifmap, filter, psum)"});
  j = good_accel();
  j["spad"] = {{"ifmap", 12}, {"filter", 224}, {"psum", 24}};
  expect_config_error([&] { accelerator_from_json(j); }, cc::kUnknownKey,
                      {"/spad: unknown key (allowed: name, dataflow, pe_rows, pe_cols, data_bits, "
                       "acc_bits, buffers_kib, dram, clock_mhz)"});
}

// The rs weight buffer needs a word per bank and 24-bit addresses (word * 2^6 + byte for
// 33..64 columns); ws has neither limit.
TEST(AcceleratorErrors, RsWeightBufferSize) {
  json j = good_rs_accel();
  j["pe_rows"] = 64;
  j["pe_cols"] = 64;
  j["buffers_kib"]["weight"] = 3;
  expect_config_error([&] { accelerator_from_json(j); }, cc::kOutOfRange,
                      {"/buffers_kib/weight: an rs weight buffer of 3 KiB has less than one word "
                       "of 64 bytes per bank (64 banks); set it to at least 4"});
  j["buffers_kib"]["weight"] = 4;
  EXPECT_EQ(accelerator_from_json(j).rs_weight_words(), 64);
  j["pe_cols"] = 40;
  j["buffers_kib"]["weight"] = 16384;
  expect_config_error([&] { accelerator_from_json(j); }, cc::kOutOfRange,
                      {"/buffers_kib/weight: an rs weight buffer of 16384 KiB needs more than 24 "
                       "address bits with words of 40 bytes; set it to at most 10240"});
  j["buffers_kib"]["weight"] = 10240;
  EXPECT_NO_THROW(accelerator_from_json(j));
  j = good_accel();
  j["pe_rows"] = 64;
  j["pe_cols"] = 40;
  j["buffers_kib"]["weight"] = 1;
  EXPECT_NO_THROW(accelerator_from_json(j));
}

// ---------------------------------------------------------------- files

TEST(Files, UnreadableFile) {
  const std::string missing = example("does_not_exist.json");
  expect_config_error([&] { load_network(missing); }, cc::kCannotRead,
                      {"cannot read " + missing + ": No such file or directory"});
  expect_config_error([&] { load_accelerator(missing); }, cc::kCannotRead, {"cannot read " + missing});
  const std::string dir = std::string(HDX_SOURCE_DIR) + "/examples";
  expect_config_error([&] { load_network(dir); }, cc::kCannotRead, {"cannot read " + dir + ": is a directory"});
}

TEST(Files, SyntaxError) {
  TempFile f("net.json", "{\n  \"name\": \"x\",\n  \"layers\": [1, 2,]\n}\n");
  expect_config_error([&] { load_network(f.path()); }, cc::kSyntax,
                      {f.path() + ": invalid JSON at byte", "line 3, column", "syntax error"});
  TempFile empty("empty.json", "");
  expect_config_error([&] { load_accelerator(empty.path()); }, cc::kSyntax,
                      {empty.path() + ": invalid JSON at byte 1", "line 1, column 1"});
}

TEST(Files, ValidationErrorNamesFile) {
  json j = tiny_net();
  j["layers"][2]["out_features"] = 0;
  TempFile f("net.json", j.dump(2));
  expect_config_error([&] { load_network(f.path()); }, cc::kOutOfRange,
                      {"[config E007] " + f.path() + ": /layers/2/out_features: must be an integer between 1 and 65536, got 0"});
  json a = good_accel();
  a["pe_rows"] = 1;
  TempFile g("acc.json", a.dump());
  expect_config_error([&] { load_accelerator(g.path()); }, cc::kOutOfRange,
                      {g.path() + ": /pe_rows: must be an integer between 2 and 64, got 1"});
}

TEST(Files, DuplicateJsonKey) {
  TempFile f("net.json", R"({"name": "t", "input": {"channels": 3, "height": 8, "width": 8},
    "layers": [{"name": "a", "op": "conv", "out_channels": 4, "kernel": 3},
               {"name": "b", "op": "conv", "out_channels": 4, "kernel": 3, "kernel": 5}]})");
  expect_config_error([&] { load_network(f.path()); }, cc::kDuplicateKey,
                      {f.path() + ": /layers/1/kernel: duplicate key"});
  TempFile g("acc.json", R"({"name": "a", "dram": {"latency_cycles": 1, "latency_cycles": 2}})");
  expect_config_error([&] { load_accelerator(g.path()); }, cc::kDuplicateKey, {"/dram/latency_cycles: duplicate key"});
  // Same key in different objects is fine.
  TempFile h("ok.json", R"({"a": [{"k": 1}, {"k": 2}], "k": [[1], {"k": {"k": 3}}]})");
  EXPECT_EQ(read_json_file(h.path())["k"][1]["k"]["k"], 3);
}

// A value nested `depth` arrays deep around `inner`: "[[[...inner...]]]".
std::string nested(int depth, const std::string& inner) {
  return std::string(static_cast<size_t>(depth), '[') + inner + std::string(static_cast<size_t>(depth), ']');
}

TEST(Files, DeepNestingIsAConfigError) {
  // 100,000 levels (a 200 KB file) crashed the reader: the error path serialized the value.
  auto acc = [](const std::string& pe_rows) {
    return R"({"name": "a", "dataflow": "ws", "pe_rows": )" + pe_rows + R"(, "pe_cols": 4})";
  };
  TempFile deep("acc.json", acc(nested(100000, "1")));
  expect_config_error([&] { load_accelerator(deep.path()); }, cc::kTooDeep,
                      {"[config E017] " + deep.path() + ": arrays and objects nested more than 64 deep",
                       "(at /pe_rows/0/0/"});
  std::string objs;
  for (int k = 0; k < 100000; ++k) objs += R"({"k":)";
  TempFile objects("net.json", objs + "1" + std::string(100000, '}'));
  expect_config_error([&] { load_network(objects.path()); }, cc::kTooDeep, {"nested more than 64 deep", "/k/k/k"});
  // The root is level 1: 64 levels parse, 65 do not.
  TempFile ok("ok.json", nested(kMaxJsonDepth, "7"));
  EXPECT_EQ(read_json_file(ok.path()).dump(), nested(kMaxJsonDepth, "7"));
  TempFile over("over.json", nested(kMaxJsonDepth + 1, "7"));
  expect_config_error([&] { read_json_file(over.path()); }, cc::kTooDeep, {"(at /0/0/"});
  // Within the limit, the value is reported as a wrong type as before.
  TempFile wrong("wrong.json", acc(nested(40, "1")));
  expect_config_error([&] { load_accelerator(wrong.path()); }, cc::kWrongType,
                      {"/pe_rows: must be an integer between 2 and 64, got [[[[[[["});
}

TEST(Files, NumberBeyondDoubleNamesTheKey) {
  TempFile f("acc.json", R"({"name": "a", "dataflow": "ws", "pe_rows": 4, "pe_cols": 4, "clock_mhz": 1e400})");
  expect_config_error([&] { load_accelerator(f.path()); }, cc::kNumberTooLarge,
                      {"[config E018] " + f.path() + ": /clock_mhz: number 1e400 is too large"});
  TempFile g("net.json", R"({"layers": [{"name": "a"}, {"kernel": [3, -1e999]}]})");
  expect_config_error([&] { read_json_file(g.path()); }, cc::kNumberTooLarge, {": /layers/1/kernel/1: number -1e999"});
  TempFile h("digits.json", "[" + std::string(400, '9') + "]");
  expect_config_error([&] { read_json_file(h.path()); }, cc::kNumberTooLarge, {": /0: number 9999"});
  TempFile root("root.json", "1e400");
  expect_config_error([&] { read_json_file(root.path()); }, cc::kNumberTooLarge, {": (root): number 1e400"});
  // The largest finite doubles still read.
  TempFile big("big.json", R"({"x": 1.7e308})");
  EXPECT_EQ(read_json_file(big.path())["x"].get<double>(), 1.7e308);
}

TEST(JsonBrief, CutsWithoutSerializingTheWholeValue) {
  json deep = 1;
  for (int k = 0; k < 200000; ++k) deep = json::array({std::move(deep)});
  EXPECT_EQ(json_brief(deep), std::string(37, '[') + "...");
  EXPECT_EQ(json_brief(json::parse(R"({"a": [1, 2], "b": "x"})")), R"({"a":[1,2],"b":"x"})");
  EXPECT_EQ(json_brief(json(std::string(100000, 'z'))), "\"" + std::string(36, 'z') + "...");
  EXPECT_EQ(json_brief(json::array()), "[]");
  json wide = json::array();
  for (int k = 0; k < 100000; ++k) wide.push_back(k);
  EXPECT_EQ(json_brief(wide), "[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,1...");
}

}  // namespace
}  // namespace hdx
