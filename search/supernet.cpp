#include "supernet.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>

#include "errors.h"

namespace hdx {

namespace {

// Module names may not contain dots; layer names do.
std::string key(std::string s) {
  std::replace(s.begin(), s.end(), '.', '_');
  return s;
}

// He initialization (fan in, ReLU; right for depthwise too) and zero bias: without batch normalization the
// default initialization lets the signal fade in thin deep networks.
// A layer without ReLU (the linear projection) gets gain 1 instead of sqrt(2).
torch::nn::Conv2d init(torch::nn::Conv2d c, bool relu) {
  torch::NoGradGuard ng;
  if (relu) torch::nn::init::kaiming_normal_(c->weight, 0.0, torch::kFanIn, torch::kReLU);
  else torch::nn::init::kaiming_normal_(c->weight, 0.0, torch::kFanIn, torch::kLinear);
  torch::nn::init::zeros_(c->bias);
  return c;
}

torch::nn::Conv2d conv(int in, int out, int k, int stride, int groups, bool relu = true) {
  return init(torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, k).stride(stride).padding(k / 2).groups(groups)), relu);
}

}  // namespace

torch::Tensor gumbel_sample(const torch::Tensor& a, double tau) {
  return torch::nn::functional::gumbel_softmax(
      a / tau, torch::nn::functional::GumbelSoftmaxFuncOptions().tau(1.0).hard(true).dim(0));
}

SuperNetModuleImpl::ConvBn SuperNetModuleImpl::add_conv(const std::string& name, int in, int out,
                                                         int k, int stride, int groups, bool relu) {
  ConvBn c;
  c.conv = register_module(name, conv(in, out, k, stride, groups, relu));
  c.bn = register_module(name + "_bn", torch::nn::BatchNorm2d(out));
  return c;
}

torch::Tensor SuperNetModuleImpl::ConvBn::operator()(const torch::Tensor& x) {
  if (!sliced) return bn->forward(conv->forward(x));
  const int64_t c0 = (conv->weight.size(2) - k) / 2;
  const torch::Tensor w =
      conv->weight.slice(0, 0, out).slice(1, 0, in).slice(2, c0, c0 + k).slice(3, c0, c0 + k)
          .contiguous();
  return bn->forward(torch::conv2d(x, w, conv->bias.slice(0, 0, out), stride, k / 2, 1, groups));
}

SuperNetModuleImpl::SuperNetModuleImpl(const Supernet& n) : n_(n) {
  stem_ = add_conv("stem", n.in_c, n.stem_c, n.stem_k, n.stem_stride, 1, true);
  int last = n.slots.empty() ? n.stem_c : n.slots.back().out_c;
  for (std::size_t s = 0; s < n.slots.size(); ++s) {
    const Slot& sl = n.slots[s];
    blocks_.emplace_back();
    // Weight sharing: per kind (MBConv "mb", fused "fu") one convolution per part, of the
    // largest kernel and expansion among the slot's candidates of that kind; a candidate uses
    // a slice of it (ConvBn::sliced) and has batch normalization of its own.
    std::map<std::string, torch::nn::Conv2d> shared;
    auto make = [&](const Candidate& cd, const std::string& what, int in, int out, int k,
                    int groups, bool relu) {
      const int stride = what == "dw" || what == "conv" ? sl.stride : 1;
      const std::string own = key(sl.name) + "_" + cd.label() + "_" + what;
      if (!n.weight_sharing) return add_conv(own, in, out, k, stride, groups, relu);
      const std::string name = key(sl.name) + (cd.fused ? "_fu_" : "_mb_") + what;
      if (!shared.count(name)) {
        int kmax = 1, emax = 1;
        for (const Candidate& o : sl.cands) {
          if (o.skip || o.fused != cd.fused) continue;
          kmax = std::max(kmax, o.kernel);
          emax = std::max(emax, o.expansion);
        }
        const int m = sl.in_c * emax;
        shared.emplace(name, register_module(
                                 name, what == "expand" ? conv(sl.in_c, m, 1, 1, 1)
                                       : what == "dw"   ? conv(m, m, kmax, sl.stride, m)
                                       : what == "conv" ? conv(sl.in_c, m, kmax, sl.stride, 1)
                                                        : conv(m, sl.out_c, 1, 1, 1, relu)));
      }
      ConvBn c;
      c.conv = shared.at(name);
      c.bn = register_module(own + "_bn", torch::nn::BatchNorm2d(out));
      c.sliced = true;
      c.out = out;
      c.in = in / groups;
      c.k = k;
      c.stride = stride;
      c.groups = groups;
      return c;
    };
    for (std::size_t c = 0; c < sl.cands.size(); ++c) {
      const Candidate& cd = sl.cands[c];
      std::vector<ConvBn> parts;
      if (!cd.skip) {
        const int mid = sl.in_c * cd.expansion;
        if (cd.fused) {
          parts.push_back(make(cd, "conv", sl.in_c, mid, cd.kernel, 1, true));
        } else {
          if (cd.expansion > 1) parts.push_back(make(cd, "expand", sl.in_c, mid, 1, 1, true));
          parts.push_back(make(cd, "dw", mid, mid, cd.kernel, mid, true));
        }
        parts.push_back(make(cd, "project", mid, sl.out_c, 1, 1, false));
      }
      blocks_.back().push_back(parts);
    }
    alphas.push_back(register_parameter(key(sl.name) + "_alpha",
                                        torch::zeros({static_cast<int64_t>(sl.cands.size())})));
  }
  if (n.head_c > 0) {
    head_ = add_conv("head", last, n.head_c, 1, 1, 1, true);
    last = n.head_c;
  }
  fc_ = register_module("fc", torch::nn::Linear(last, n.classes));
}

std::vector<torch::Tensor> SuperNetModuleImpl::weights() const {
  std::vector<torch::Tensor> w;
  for (const auto& p : named_parameters())
    if (p.key().size() < 6 || p.key().substr(p.key().size() - 6) != "_alpha") w.push_back(p.value());
  return w;
}

torch::Tensor SuperNetModuleImpl::block(std::size_t slot, std::size_t cand, const torch::Tensor& x) {
  auto& parts = blocks_[slot][cand];
  if (parts.empty()) return x;  // skip
  torch::Tensor y = x;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    y = parts[i](y);
    if (i + 1 < parts.size()) y = torch::relu(y);  // the project conv is linear
  }
  return n_.slots[slot].residual() ? y + x : y;
}

torch::Tensor SuperNetModuleImpl::forward(torch::Tensor x, const PathChoice& how) {
  x = torch::relu(stem_(x));
  for (std::size_t s = 0; s < n_.slots.size(); ++s) {
    const torch::Tensor a = how.arch_grad ? alphas[s] : alphas[s].detach();
    if (how.kind == PathChoice::Fixed) {
      x = block(s, static_cast<std::size_t>(how.fixed.at(s)), x);
    } else if (how.kind == PathChoice::Gumbel) {
      // A draw from softmax(a / tau), the distribution the cost is taken under: the hard
      // sample is argmax(a / tau + g), its straight-through gradient that of
      // softmax(a / tau + g). The noise comes from the CPU's generator on any device, so
      // that a seed draws the same paths on the CPU and on a GPU.
      const torch::Tensor h = gumbel_sample(a.to(torch::kCPU), how.tau);
      const int64_t k = h.argmax().item<int64_t>();
      x = block(s, static_cast<std::size_t>(k), x) * h[k];  // h[k] is 1, with the ST gradient
    } else {
      const torch::Tensor w = torch::softmax(a / how.tau, 0);
      torch::Tensor y;
      for (std::size_t c = 0; c < blocks_[s].size(); ++c) {
        const torch::Tensor t = block(s, c, x) * w[static_cast<int64_t>(c)];
        y = c == 0 ? t : y + t;
      }
      x = y;
    }
  }
  if (head_.conv) x = torch::relu(head_(x));
  return fc_->forward(x.mean({2, 3}));
}

NetModuleImpl::NetModuleImpl(const Network& n, bool batch_norm) : net_(n) {
  for (const Layer& l : n.layers) {
    bns_.emplace_back(nullptr);
    if (l.host()) {
      convs_.emplace_back(nullptr);
      continue;
    }
    if (batch_norm && l.op == Op::Conv)
      bns_.back() = register_module(key(l.name) + "_bn", torch::nn::BatchNorm2d(l.out_c));
    auto o = torch::nn::Conv2dOptions(l.in_c, l.out_c, {l.kh, l.kw})
                 .stride(l.stride)
                 .padding(l.pad)
                 .groups(l.groups);
    convs_.push_back(register_module(key(l.name), init(torch::nn::Conv2d(o), l.relu)));
  }
}

torch::Tensor NetModuleImpl::forward(torch::Tensor x) { return forward_all(x).back().flatten(1); }

std::vector<torch::Tensor> NetModuleImpl::forward_all(torch::Tensor x) {
  std::map<std::string, torch::Tensor> out;
  std::vector<torch::Tensor> all;
  torch::Tensor y = x;
  for (std::size_t i = 0; i < net_.layers.size(); ++i) {
    const Layer& l = net_.layers[i];
    const torch::Tensor in = l.input.empty() ? x : out.at(l.input);
    switch (l.op) {
      case Op::Conv:
      case Op::Fc:  // fc: the kernel covers the input, as in the cost model
        y = convs_[i]->forward(in);
        if (bns_[i]) y = bns_[i]->forward(y);
        break;
      case Op::Add:
        y = in + out.at(l.input2);
        break;
      case Op::AvgPool:
        y = in.mean({2, 3}, /*keepdim=*/true);
        break;
    }
    if (l.relu) y = torch::relu(y);
    out[l.name] = y;
    all.push_back(y);
  }
  return all;
}

std::vector<std::pair<std::string, torch::Tensor>> NetModuleImpl::export_weights() const {
  std::vector<std::pair<std::string, torch::Tensor>> w;
  for (std::size_t i = 0; i < net_.layers.size(); ++i) {
    if (!convs_[i]) continue;
    const std::string& name = net_.layers[i].name;
    torch::Tensor wt = convs_[i]->weight.detach(), b = convs_[i]->bias.detach();
    if (bns_[i]) {  // fold: y = (conv(x) + b - mean) * gamma / sqrt(var + eps) + beta
      const auto& bn = bns_[i];
      const torch::Tensor g =
          bn->weight.detach() / (bn->running_var.detach() + bn->options.eps()).sqrt();
      wt = wt * g.view({-1, 1, 1, 1});
      b = (b - bn->running_mean.detach()) * g + bn->bias.detach();
    }
    // PyTorch [out][cin_g][kh][kw] -> hdx [out][kh][kw][cin_g]
    w.emplace_back(name + ".weight", wt.permute({0, 2, 3, 1}).contiguous());
    w.emplace_back(name + ".bias", b.contiguous());
  }
  return w;
}

void NetModuleImpl::import_weights(const std::vector<std::pair<std::string, torch::Tensor>>& w,
                                   const std::string& source) {
  std::map<std::string, torch::Tensor> byname(w.begin(), w.end());
  torch::NoGradGuard ng;
  for (std::size_t i = 0; i < net_.layers.size(); ++i) {
    if (!convs_[i]) continue;
    const Layer& l = net_.layers[i];
    auto take = [&](const std::string& name, std::vector<int64_t> shape) {
      auto it = byname.find(name);
      if (it == byname.end())
        throw IoError(42, fmt::format("{}: no array '{}'; the float weights must be those hdx "
                                      "search wrote for network '{}'", source, name, net_.name), 2);
      torch::Tensor t = it->second;
      byname.erase(it);
      if (t.sizes() != torch::IntArrayRef(shape))
        throw IoError(42, fmt::format("{}: array '{}' has shape {}, layer '{}' needs {}", source,
                                      name, fmt::join(t.sizes(), "x"), l.name,
                                      fmt::join(shape, "x")), 2);
      return t.to(torch::kFloat32);
    };
    // hdx [out][kh][kw][cin_g] -> PyTorch [out][cin_g][kh][kw]
    convs_[i]->weight.copy_(take(l.name + ".weight", {l.out_c, l.kh, l.kw, l.cin_g()})
                                .permute({0, 3, 1, 2}));
    convs_[i]->bias.copy_(take(l.name + ".bias", {l.out_c}));
  }
  if (!byname.empty())
    throw IoError(42, fmt::format("{}: array '{}' belongs to no layer of network '{}'", source,
                                  byname.begin()->first, net_.name), 2);
}

}  // namespace hdx
