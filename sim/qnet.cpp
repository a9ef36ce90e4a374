#include "qnet.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>

#include "errors.h"
#include "npy.h"

namespace hdx {

namespace {

constexpr int kErrQnet = 40;

std::string shape_str(const std::vector<size_t>& s) { return fmt::format("[{}]", fmt::join(s, ", ")); }

}  // namespace

void write_qnet(const std::string& path, const Network& n, const QuantNet& q) {
  std::vector<std::pair<std::string, NpyArray>> arrays;
  for (size_t i = 0; i < n.layers.size(); ++i) {
    const Layer& l = n.layers[i];
    const QuantLayer& ql = q.layers.at(i);
    const size_t oc = static_cast<size_t>(l.out_c);
    if (!l.host()) {
      arrays.emplace_back(l.name + ".weight",
                          NpyArray::from(ql.weight, {oc, size_t(l.kh), size_t(l.kw),
                                                     size_t(l.cin_g())}));
      arrays.emplace_back(l.name + ".bias", NpyArray::from(ql.q.bias, {oc}));
      arrays.emplace_back(l.name + ".mult", NpyArray::from(ql.q.mult, {oc}));
      arrays.emplace_back(l.name + ".shift", NpyArray::from(ql.q.shift, {oc}));
    } else if (l.op == Op::Add) {
      arrays.emplace_back(l.name + ".mult",
                          NpyArray::from(std::vector<int32_t>{ql.add.mult_a, ql.add.mult_b}, {2}));
      arrays.emplace_back(l.name + ".shift", NpyArray::from(std::vector<uint8_t>{ql.add.shift}, {1}));
    }
    arrays.emplace_back(l.name + ".scale", NpyArray::from(std::vector<float>{ql.scale}, {1}));
  }
  write_npz(path, arrays);
}

QuantNet load_qnet(const std::string& path, const Network& n) {
  std::map<std::string, NpyArray> arrays;
  for (auto& [name, a] : read_npz(path)) arrays[name] = std::move(a);
  const std::string fix = fmt::format(
      "the weights must come from quantizing network '{}' (hdx quantize)", n.name);
  auto take = [&](const std::string& name, const char* dtype, std::vector<size_t> shape) {
    auto it = arrays.find(name);
    if (it == arrays.end())
      throw IoError(kErrQnet, fmt::format("{}: no array '{}'; {}", path, name, fix), 2);
    NpyArray a = std::move(it->second);
    arrays.erase(it);
    if (a.dtype != dtype || a.shape != shape)
      throw IoError(kErrQnet, fmt::format("{}: array '{}' is {} {}, the network needs {} {}; {}",
                                          path, name, a.dtype, shape_str(a.shape), dtype,
                                          shape_str(shape), fix), 2);
    return a;
  };
  QuantNet q;
  for (const Layer& l : n.layers) {
    QuantLayer ql;
    const size_t oc = static_cast<size_t>(l.out_c);
    if (!l.host()) {
      ql.weight = take(l.name + ".weight", "|i1", {oc, size_t(l.kh), size_t(l.kw),
                                                   size_t(l.cin_g())}).as<int8_t>();
      ql.q.bias = take(l.name + ".bias", "<i4", {oc}).as<int32_t>();
      ql.q.mult = take(l.name + ".mult", "<i4", {oc}).as<int32_t>();
      ql.q.shift = take(l.name + ".shift", "|u1", {oc}).as<uint8_t>();
      check_requant(l, ql.q);
    } else if (l.op == Op::Add) {
      const auto m = take(l.name + ".mult", "<i4", {2}).as<int32_t>();
      ql.add = {m[0], m[1], take(l.name + ".shift", "|u1", {1}).as<uint8_t>()[0]};
      if (ql.add.mult_a < 0 || ql.add.mult_b < 0 || ql.add.shift > 63)
        throw SimError(303, fmt::format("{}: layer '{}': add multipliers {} and {} must be in "
                                        "[0, 2^31-1] and shift {} in [0, 63]", path, l.name,
                                        ql.add.mult_a, ql.add.mult_b, ql.add.shift));
    }
    ql.scale = take(l.name + ".scale", "<f4", {1}).as<float>()[0];
    q.layers.push_back(std::move(ql));
  }
  if (!arrays.empty())
    throw IoError(kErrQnet, fmt::format("{}: array '{}' belongs to no layer of network '{}'; {}",
                                        path, arrays.begin()->first, n.name, fix), 2);
  return q;
}

namespace {

// The output of the earlier layer `from` (the network input when empty).
const std::vector<int8_t>& output_of(const Network& n, size_t i, const std::string& from,
                                     const std::vector<int8_t>& input,
                                     const std::vector<std::vector<int8_t>>& outputs) {
  if (from.empty()) return input;
  const int k = find_layer(n, from);
  if (k < 0 || static_cast<size_t>(k) >= std::min(i, outputs.size()))
    throw SimError(41, fmt::format("layer '{}' reads '{}', which is not an earlier layer",
                                   n.layers[i].name, from));
  return outputs[static_cast<size_t>(k)];
}

}  // namespace

const std::vector<int8_t>& layer_input(const Network& n, size_t i, const std::vector<int8_t>& input,
                                       const std::vector<std::vector<int8_t>>& outputs) {
  return output_of(n, i, n.layers[i].input, input, outputs);
}

std::vector<int8_t> host_op(const Network& n, const QuantNet& q, size_t i,
                            const std::vector<int8_t>& input,
                            const std::vector<std::vector<int8_t>>& outputs) {
  const Layer& l = n.layers[i];
  const std::vector<int8_t>& in = layer_input(n, i, input, outputs);
  if (l.op == Op::AvgPool) return avgpool_golden(l, in);
  return add_golden(l, in, output_of(n, i, l.input2, input, outputs), q.layers[i].add);
}

std::vector<std::vector<int8_t>> reference_forward(const Network& n, const QuantNet& q,
                                                   const std::vector<int8_t>& input) {
  std::vector<std::vector<int8_t>> out;
  out.reserve(n.layers.size());
  for (size_t i = 0; i < n.layers.size(); ++i) {
    const Layer& l = n.layers[i];
    out.push_back(l.host() ? host_op(n, q, i, input, out)
                           : conv_golden(l, layer_input(n, i, input, out), q.layers[i].weight,
                                         q.layers[i].q));
  }
  return out;
}

int argmax(const std::vector<int8_t>& logits) {
  return static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

}  // namespace hdx
