#include "quantize.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <cmath>
#include <limits>
#include <map>
#include <thread>

#include "errors.h"
#include "npy.h"
#include "supernet.h"

namespace hdx {

namespace {

using Clock = std::chrono::steady_clock;

// Activation scales come from this quantile of a layer's output magnitudes (docs/arithmetic.md):
// with the maximum, one rare outlier would set the step of the whole tensor.
constexpr double kCalibQuantile = 0.9999;
// Values per layer the quantile is taken over (evenly strided when there are more).
constexpr int64_t kCalibValues = 4000000;
double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

torch::Tensor images_tensor(const Images& im, int from, int count) {
  const int64_t per = static_cast<int64_t>(im.c) * im.h * im.w;
  return torch::from_blob(const_cast<uint8_t*>(im.pixels.data()) + from * per,
                          {count, im.c, im.h, im.w}, torch::kUInt8)
      .to(torch::kFloat32)
      .div(255.0);
}

// Float32 arrays of an .npz as tensors (the shapes kept).
std::vector<std::pair<std::string, torch::Tensor>> read_float_npz(const std::string& path) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& [name, a] : read_npz(path)) {
    if (!a.holds<float>())
      throw IoError(42, fmt::format("{}: array '{}' is {}, float weights are <f4 (float32); pass "
                                    "the weights.npz that hdx search wrote", path, name, a.dtype), 2);
    std::vector<int64_t> shape(a.shape.begin(), a.shape.end());
    std::vector<float> v = a.as<float>();
    for (size_t i = 0; i < v.size(); ++i)
      if (!std::isfinite(v[i]))
        throw IoError(42, fmt::format("{}: array '{}' holds {} at element {}; the float network "
                                      "did not train (retrain with a lower train.lr)", path, name,
                                      v[i], i), 2);
    out.emplace_back(name, torch::from_blob(v.data(), shape, torch::kFloat32).clone());
  }
  return out;
}

}  // namespace

std::vector<int> int8_predict(const Network& n, const QuantNet& q, const Images& images, int from,
                              int count, int threads) {
  std::vector<int> pred(static_cast<size_t>(count));
  threads = std::max(1, threads);
  std::vector<std::exception_ptr> errors(static_cast<size_t>(threads));
  auto work = [&](int t) {
    try {
      for (int i = t; i < count; i += threads)
        pred[static_cast<size_t>(i)] =
            argmax(reference_forward(n, q, image_input(images, from + i)).back());
    } catch (...) {
      errors[static_cast<size_t>(t)] = std::current_exception();
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work, t);
  work(0);
  for (auto& th : pool) th.join();
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
  return pred;
}

QuantizeResult quantize(const Network& n, const std::string& float_weights, const Images& calib_set,
                        int calib, const Images& test, int threads,
                        const std::function<void(const std::string&)>& log,
                        const std::string& device) {
  auto say = [&](const std::string& s) { if (log) log(s); };
  check_image_shape(n, calib_set);
  check_image_shape(n, test);
  torch::NoGradGuard ng;
  const torch::Device dev(device == "cuda" ? torch::kCUDA : torch::kCPU);
  NetModule net(n);
  net->import_weights(read_float_npz(float_weights), float_weights);
  net->eval();
  net->to(dev);
  QuantizeResult r;

  // Calibration: the magnitudes of every layer's output.
  auto t0 = Clock::now();
  r.calib_images = std::min(calib, calib_set.n);
  const size_t L = n.layers.size();
  std::vector<std::vector<torch::Tensor>> mags(L);
  for (int b = 0; b < r.calib_images; b += 500) {
    const int cnt = std::min(500, r.calib_images - b);
    const auto outs = net->forward_all(images_tensor(calib_set, b, cnt).to(dev));
    for (size_t i = 0; i < L; ++i) mags[i].push_back(outs[i].abs().flatten().to(torch::kCPU));
  }
  std::vector<double> amax(L, 0.0);
  for (size_t i = 0; i < L; ++i) {
    torch::Tensor m = torch::cat(mags[i]);
    const int64_t step = std::max<int64_t>(1, m.numel() / kCalibValues);
    m = std::get<0>(m.slice(0, 0, m.numel(), step).sort());
    amax[i] = m[static_cast<int64_t>(kCalibQuantile * static_cast<double>(m.numel() - 1))]
                  .item<double>();
  }
  r.calib_s = since(t0);

  // Float accuracy on the test images (on the device), then everything on the CPU.
  t0 = Clock::now();
  r.test_images = test.n;
  std::vector<int> fpred;
  for (int b = 0; b < test.n; b += 500) {
    const int cnt = std::min(500, test.n - b);
    const torch::Tensor p = net->forward(images_tensor(test, b, cnt).to(dev)).argmax(1).to(torch::kCPU);
    for (int k = 0; k < cnt; ++k) fpred.push_back(static_cast<int>(p[k].item<int64_t>()));
  }
  r.float_s = since(t0);
  net->to(torch::kCPU);

  // Scales of every tensor; avgpool keeps its input's scale (docs/arithmetic.md).
  std::vector<double> scale(L);
  auto in_scale = [&](const std::string& from) {  // inputs are earlier layers (validated)
    return from.empty() ? kInputScale : scale[static_cast<size_t>(find_layer(n, from))];
  };
  const auto params = net->export_weights();
  std::map<std::string, torch::Tensor> fw(params.begin(), params.end());
  for (size_t i = 0; i < L; ++i) {
    const Layer& l = n.layers[i];
    QuantLayer ql;
    const double si = in_scale(l.input);
    scale[i] = l.op == Op::AvgPool ? si : (amax[i] > 0 ? amax[i] / 127 : si);
    try {
      if (l.op == Op::Add) {
        const double sb = in_scale(l.input2);
        ql.add = add_params(si / scale[i], sb / scale[i]);
      } else if (!l.host()) {
        const torch::Tensor w = fw.at(l.name + ".weight").to(torch::kFloat64);  // [o][kh][kw][c]
        const torch::Tensor b = fw.at(l.name + ".bias").to(torch::kFloat64);
        const torch::Tensor wmax = w.abs().flatten(1).amax(1);
        const torch::Tensor ws = torch::where(wmax > 0, wmax / 127, torch::ones_like(wmax));
        const torch::Tensor r = w / ws.view({-1, 1, 1, 1});  // round half away from zero:
        const torch::Tensor wq =
            (r.sign() * (r.abs() + 0.5).floor()).clamp(-127, 127).to(torch::kInt8).contiguous();
        ql.weight.assign(wq.data_ptr<int8_t>(), wq.data_ptr<int8_t>() + wq.numel());
        for (int o = 0; o < l.out_c; ++o) {
          const double wso = ws[o].item<double>();
          const double bq = std::round(b[o].item<double>() / (si * wso));
          ql.q.bias.push_back(static_cast<int32_t>(std::clamp<double>(
              bq, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max())));
          const auto [m, sh] = scale_to_mult_shift(si * wso / scale[i]);
          ql.q.mult.push_back(m);
          ql.q.shift.push_back(static_cast<uint8_t>(sh));
        }
      }
    } catch (const SimError& e) {  // a scale out of range: say which layer
      const std::string msg = e.what();
      throw SimError(e.code(), fmt::format("layer '{}' (input scale {:g}, output scale {:g}): {}",
                                           l.name, si, scale[i], msg.substr(msg.find("] ") + 2)));
    }
    ql.scale = static_cast<float>(scale[i]);
    r.q.layers.push_back(std::move(ql));
  }
  say(fmt::format("calibrated {} activation scales on {} training images in {:.1f} s", L,
                  r.calib_images, r.calib_s));

  // Int8 accuracy on the test images.
  t0 = Clock::now();
  r.int8_predictions = int8_predict(n, r.q, test, 0, test.n, threads);
  r.int8_s = since(t0);
  int fc = 0, ic = 0, agree = 0;
  for (int k = 0; k < test.n; ++k) {
    const int y = test.labels[static_cast<size_t>(k)];
    fc += fpred[static_cast<size_t>(k)] == y;
    ic += r.int8_predictions[static_cast<size_t>(k)] == y;
    agree += fpred[static_cast<size_t>(k)] == r.int8_predictions[static_cast<size_t>(k)];
  }
  const double nt = std::max(1, test.n);
  r.float_accuracy = fc / nt;
  r.int8_accuracy = ic / nt;
  r.agreement = agree / nt;
  say(fmt::format("test accuracy on {} images: float {:.2f}%, int8 {:.2f}% (same class on "
                  "{:.2f}%); int8 reference {:.1f} s", test.n, 100 * r.float_accuracy,
                  100 * r.int8_accuracy, 100 * r.agreement, r.int8_s));
  return r;
}

}  // namespace hdx
