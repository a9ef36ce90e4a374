// Post-training quantization and the integer reference: weights_int8.npz round trip and
// errors, every layer's int8 output against the float network it came from, and
// `hdx quantize` on a slice of Fashion-MNIST.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "data.h"
#include "errors.h"
#include "json_util.h"
#include "npy.h"
#include "qnet.h"
#include "quantize.h"
#include "supernet.h"
#include "util.h"

namespace fs = std::filesystem;
using namespace hdx;
using nlohmann::json;

namespace {

const std::string kHdx = std::string(HDX_BINARY_DIR) + "/cli/hdx";
const std::string kFmnist = "/usr/share/datasets/fashion-mnist";

// A residual network on 28 x 28 images: stem, one MBConv block with its add, a second
// stride-2 conv, global pooling, fc.
Network residual_net() {
  return network_from_json(json::parse(R"({
    "name": "qres", "input": {"channels": 1, "height": 28, "width": 28},
    "layers": [
      {"name": "stem", "op": "conv", "out_channels": 8, "kernel": 3, "stride": 2, "padding": 1, "relu": true},
      {"name": "b.expand", "op": "conv", "out_channels": 16, "kernel": 1, "relu": true},
      {"name": "b.dw", "op": "conv", "out_channels": 16, "kernel": 3, "padding": 1, "groups": 16, "relu": true},
      {"name": "b.project", "op": "conv", "out_channels": 8, "kernel": 1},
      {"name": "b.add", "op": "add", "inputs": ["b.project", "stem"]},
      {"name": "down", "op": "conv", "out_channels": 12, "kernel": 3, "stride": 2, "padding": 1, "relu": true},
      {"name": "pool", "op": "avgpool"},
      {"name": "fc", "op": "fc", "out_features": 10}
    ]})"));
}

fs::path tmp_dir(const std::string& name) {
  const fs::path d = fs::path(HDX_BINARY_DIR) / "test-tmp" / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// He-initialized float weights with random biases, written as hdx search writes them.
std::string write_float_weights(const Network& n, const fs::path& dir, NetModule& m) {
  torch::manual_seed(5);
  m = NetModule(n);
  std::vector<std::pair<std::string, torch::Tensor>> w = m->export_weights();
  for (auto& [name, t] : w)
    if (name.size() > 5 && name.substr(name.size() - 5) == ".bias") t = torch::randn_like(t) * 0.1;
  m->import_weights(w, "test");
  std::vector<std::pair<std::string, NpyArray>> arrays;
  for (const auto& [name, t] : w) {
    const torch::Tensor c = t.contiguous();
    std::vector<size_t> shape(c.sizes().begin(), c.sizes().end());
    arrays.emplace_back(name, NpyArray::from(std::vector<float>(c.data_ptr<float>(),
                                                                c.data_ptr<float>() + c.numel()),
                                             shape));
  }
  const std::string path = (dir / "weights.npz").string();
  write_npz(path, arrays);
  return path;
}

}  // namespace

// Each layer's int8 output, times its scale, is close to the float network's output: the
// scales, the per-channel weights, the integer bias, the add and the pooling all fit.
TEST(Quantize, EveryLayerTracksTheFloatNetwork) {
  const fs::path dir = tmp_dir("quant-layers");
  const Network n = residual_net();
  NetModule m{nullptr};
  const std::string wpath = write_float_weights(n, dir, m);
  const Images train = load_images("fashion-mnist", kFmnist, true, 300);
  const Images test = load_images("fashion-mnist", kFmnist, false, 200);
  const QuantizeResult r = quantize(n, wpath, train, 300, test, 2);
  ASSERT_EQ(r.q.layers.size(), n.layers.size());
  EXPECT_EQ(r.test_images, 200);
  EXPECT_EQ(r.calib_images, 300);
  // The pooled scale is the scale of what it pools.
  EXPECT_EQ(r.q.layers[6].scale, r.q.layers[5].scale);

  torch::NoGradGuard ng;
  m->eval();
  const auto x = torch::from_blob(const_cast<uint8_t*>(test.pixels.data()), {50, 1, 28, 28},
                                  torch::kUInt8).to(torch::kFloat32).div(255.0);
  const auto fouts = m->forward_all(x);
  for (size_t i = 0; i < n.layers.size(); ++i) {
    double num = 0, den = 0;
    for (int img = 0; img < 50; ++img) {
      const auto outs = reference_forward(
          n, r.q, quantize_pixels(test.pixels.data() + img * 784, 1, 28, 28));
      // float CHW of this image -> HWC like the int8 output
      const torch::Tensor f = fouts[i][img].permute({1, 2, 0}).contiguous().flatten();
      for (int64_t k = 0; k < f.numel(); ++k) {
        const double d = outs[i][static_cast<size_t>(k)] * double(r.q.layers[i].scale) -
                         f[k].item<double>();
        num += d * d;
        den += f[k].item<double>() * f[k].item<double>();
      }
    }
    EXPECT_LT(std::sqrt(num / den), 0.06) << n.layers[i].name;
  }
  EXPECT_GT(r.agreement, 0.8);
  // int8_predict is the argmax of the reference's last layer.
  const std::vector<int> p = int8_predict(n, r.q, test, 3, 4, 1);
  for (int k = 0; k < 4; ++k)
    EXPECT_EQ(p[static_cast<size_t>(k)], r.int8_predictions[static_cast<size_t>(3 + k)]);
  fs::remove_all(dir);
}

// Training uses batch normalization; the exported weights fold it in: the BN-free network
// built from them computes what the trained one computes in eval mode.
TEST(Quantize, BatchNormFoldsIntoTheExportedWeights) {
  const Network n = residual_net();
  torch::manual_seed(9);
  NetModule bn(n, /*batch_norm=*/true);
  torch::optim::Adam opt(bn->parameters(), torch::optim::AdamOptions(0.01));
  const Images im = load_images("fashion-mnist", kFmnist, true, 256);
  const torch::Tensor x = torch::from_blob(const_cast<uint8_t*>(im.pixels.data()), {256, 1, 28, 28},
                                           torch::kUInt8).to(torch::kFloat32).div(255.0);
  const torch::Tensor y = torch::from_blob(const_cast<uint8_t*>(im.labels.data()), {256},
                                           torch::kUInt8).to(torch::kLong);
  for (int step = 0; step < 20; ++step) {  // moves the weights and the running statistics
    opt.zero_grad();
    torch::cross_entropy_loss(bn->forward(x), y).backward();
    opt.step();
  }
  torch::NoGradGuard ng;
  bn->eval();
  NetModule plain(n);
  plain->import_weights(bn->export_weights(), "folded");
  const auto a = bn->forward_all(x.slice(0, 0, 32)), c = plain->forward_all(x.slice(0, 0, 32));
  for (size_t i = 0; i < n.layers.size(); ++i) {
    const double scale = a[i].abs().max().item<double>();
    EXPECT_LT((a[i] - c[i]).abs().max().item<double>(), 1e-4 * std::max(1.0, scale))
        << n.layers[i].name;
  }
  EXPECT_GT(a[0].abs().max().item<double>(), 0.0);
}

TEST(QuantNet, RoundTripAndMismatchErrors) {
  const fs::path dir = tmp_dir("qnet");
  const Network n = residual_net();
  NetModule m{nullptr};
  const std::string wpath = write_float_weights(n, dir, m);
  const Images train = load_images("fashion-mnist", kFmnist, true, 100);
  const QuantizeResult r = quantize(n, wpath, train, 100, load_images("fashion-mnist", kFmnist, false, 10), 1);
  const std::string q = (dir / "weights_int8.npz").string();
  write_qnet(q, n, r.q);
  const QuantNet back = load_qnet(q, n);
  for (size_t i = 0; i < n.layers.size(); ++i) {
    EXPECT_EQ(back.layers[i].weight, r.q.layers[i].weight);
    EXPECT_EQ(back.layers[i].q.mult, r.q.layers[i].q.mult);
    EXPECT_EQ(back.layers[i].q.bias, r.q.layers[i].q.bias);
    EXPECT_EQ(back.layers[i].add.mult_b, r.q.layers[i].add.mult_b);
    EXPECT_EQ(back.layers[i].scale, r.q.layers[i].scale);
  }
  auto expect_io = [&](const std::string& path, const Network& net, const std::string& want) {
    try {
      load_qnet(path, net);
      ADD_FAILURE() << "no error; wanted " << want;
    } catch (const IoError& e) {
      EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << e.what();
    }
  };
  // Another network: a layer with more channels, a layer it lacks.
  json other = network_to_json(n);
  other["layers"][5]["out_channels"] = 16;
  expect_io(q, network_from_json(other), "array 'down.weight' is |i1 [12, 3, 3, 8], the network "
                                         "needs |i1 [16, 3, 3, 8]");
  other = network_to_json(n);
  other["layers"][7]["name"] = "classifier";
  expect_io(q, network_from_json(other), "no array 'classifier.weight'");
  other["layers"][7]["name"] = "fc";
  other["layers"].erase(4);  // no residual add: its arrays are left over
  expect_io(q, network_from_json(other), "array 'b.add.mult' belongs to no layer");
  // Float weights where int8 ones belong.
  expect_io(wpath, n, "array 'stem.weight' is <f4 [8, 3, 3, 1], the network needs |i1");
  // Float weights that are not numbers.
  {
    auto arrays = read_npz(wpath);
    std::vector<float> v = arrays[0].second.as<float>();
    v[3] = std::nanf("");
    arrays[0].second = NpyArray::from(v, arrays[0].second.shape);
    const std::string bad = (dir / "nan.npz").string();
    write_npz(bad, arrays);
    try {
      quantize(n, bad, train, 10, train, 1);
      ADD_FAILURE();
    } catch (const IoError& e) {
      EXPECT_NE(std::string(e.what()).find("array '" + arrays[0].first + "' holds nan at element 3"),
                std::string::npos) << e.what();
    }
  }
  // Float weights that do not fit the network (one conv fewer: fc reads 8 channels).
  other = network_to_json(n);
  other["layers"].erase(5);
  try {
    quantize(network_from_json(other), wpath, train, 10, train, 1);
    ADD_FAILURE();
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("array 'fc.weight' has shape 10x1x1x12, layer 'fc' "
                                         "needs 10x1x1x8"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

TEST(QuantizeCli, WritesWeightsAndReport) {
  const fs::path dir = tmp_dir("quant-cli");
  const Network n = residual_net();
  NetModule m{nullptr};
  const std::string wpath = write_float_weights(n, dir, m);
  write_file_atomic((dir / "net.json").string(), network_to_json(n).dump(2));
  const std::string out = (dir / "q").string();
  std::string log;
  ASSERT_EQ(run_command({kHdx, "quantize", "--network", (dir / "net.json").string(), "--weights",
                         wpath, "--out", out, "--calib", "200", "--test", "300"}, &log), 0) << log;
  EXPECT_NE(log.find("test accuracy float"), std::string::npos) << log;
  const json rep = json::parse(read_file(out + "/quant_report.json"));
  EXPECT_EQ(rep["test_images"], 300);
  EXPECT_EQ(rep["calibration_images"], 200);
  EXPECT_GE(rep["accuracy"]["int8"].get<double>(), 0.0);
  EXPECT_NO_THROW(load_qnet(out + "/weights_int8.npz", n));
  EXPECT_TRUE(fs::exists(out + "/manifest.json"));
  // A missing data set: a plain message and exit 2, nothing written.
  const std::string out2 = (dir / "q2").string();
  EXPECT_EQ(run_command({kHdx, "quantize", "--network", (dir / "net.json").string(), "--weights",
                         wpath, "--out", out2, "--data", "/nonexistent"}, &log), 2) << log;
  EXPECT_NE(log.find("/nonexistent/train-images-idx3-ubyte.gz: data set file not found"),
            std::string::npos) << log;
  EXPECT_FALSE(fs::exists(out2));
  fs::remove_all(dir);
}

// Real test images end to end on the generated RTL: every accelerator layer bit-exact and at
// the model's cycles, host operations on the host, the RTL's class equal to the reference's.
// Weights of another network stop before anything is built or written.
TEST(SimCli, RealImagesOnTheRtl) {
  const fs::path dir = tmp_dir("sim-real");
  const Network n = residual_net();
  NetModule m{nullptr};
  const std::string wpath = write_float_weights(n, dir, m);
  const QuantizeResult r = quantize(n, wpath, load_images("fashion-mnist", kFmnist, true, 200),
                                    200, load_images("fashion-mnist", kFmnist, false, 2), 1);
  const std::string q = (dir / "weights_int8.npz").string(), net = (dir / "net.json").string();
  write_qnet(q, n, r.q);
  write_file_atomic(net, network_to_json(n).dump(2));
  std::string log;
  for (const char* a : {"accel_ws_4x4.json", "accel_rs_4x4.json"}) {  // both dataflows
    SCOPED_TRACE(a);
    const std::string accel = std::string(HDX_SOURCE_DIR) + "/examples/" + a;
    const std::string out = (dir / "sim").string();
    ASSERT_EQ(run_command({kHdx, "sim", "--network", net, "--accel", accel, "--weights", q,
                           "--images", "2", "--out", out, "--force"}, &log), 0) << log;
    EXPECT_NE(log.find("2 test images on the RTL: predicted class equals the int8 reference on "
                       "2/2 (100%)"), std::string::npos) << log;
    EXPECT_NE(log.find("all 6 accelerator layers x 2 images: outputs bit-exact"),
              std::string::npos) << log;
    const json rep = json::parse(read_file(out + "/sim_report.json"));
    EXPECT_TRUE(rep["all_match"].get<bool>());
    EXPECT_EQ(rep["rtl_agreement"], 1.0);
    ASSERT_EQ(rep["images"].size(), 2u);
    EXPECT_EQ(rep["images"][1]["rtl_class"], r.int8_predictions[1]);
    EXPECT_EQ(rep["images"][1]["label"], 2);
    for (const auto& l : rep["layers"]) {
      EXPECT_TRUE(l["outputs_match"].get<bool>()) << l["name"];
      EXPECT_EQ(l["model_cycles"], l["rtl_cycles"]) << l["name"];
    }
    EXPECT_TRUE(rep["layers"][4]["host"].get<bool>());
  }
  const std::string accel = std::string(HDX_SOURCE_DIR) + "/examples/accel_ws_4x4.json";

  json other = network_to_json(n);
  other["layers"][5]["out_channels"] = 16;
  write_file_atomic((dir / "other.json").string(), other.dump(2));
  const std::string out2 = (dir / "sim2").string();
  EXPECT_EQ(run_command({kHdx, "sim", "--network", (dir / "other.json").string(), "--accel",
                         accel, "--weights", q, "--out", out2}, &log), 2) << log;
  EXPECT_NE(log.find("array 'down.weight' is |i1 [12, 3, 3, 8], the network needs |i1 "
                     "[16, 3, 3, 8]"), std::string::npos) << log;
  EXPECT_FALSE(fs::exists(out2));
  fs::remove_all(dir);
}
