// Network description (network.json): an ordered list of layers. Convolutions and fully
// connected layers run on the accelerator; host operations (residual add, global average
// pooling) run on the host and cost no accelerator cycles.
#pragma once
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace hdx {

enum class Op { Conv, Fc, Add, AvgPool };

const char* op_name(Op op);

// One layer with every shape resolved. A fully connected layer is stored as a convolution
// whose kernel covers its whole input (kh = in_h, kw = in_w, stride 1, no padding), so the
// tile schedule, the golden kernel and the RTL treat both alike.
//
// Host operations: `add` sums two tensors of one shape (input + input2) and keeps the
// shape; `avgpool` averages each channel over the whole map
// (C x H x W -> C x 1 x 1). They carry no kernel: kh = kw = stride = groups = 1, pad = 0.
struct Layer {
  std::string name;
  Op op = Op::Conv;
  std::string input;   // name of the layer read, empty for the network input
  std::string input2;  // `add` only: the second operand
  int in_c = 0, in_h = 0, in_w = 0;
  int out_c = 0, out_h = 0, out_w = 0;
  int kh = 1, kw = 1, stride = 1, pad = 0, groups = 1;
  bool relu = false;

  // Runs on the host, not on the accelerator.
  bool host() const { return op == Op::Add || op == Op::AvgPool; }
  int cin_g() const { return in_c / groups; }
  int cout_g() const { return out_c / groups; }
  // Reduction length of one output value: kh * kw * in_c / groups.
  long long k() const { return static_cast<long long>(kh) * kw * cin_g(); }
  // Accelerator MACs and weights; zero for host operations.
  long long macs() const {
    return host() ? 0 : static_cast<long long>(out_h) * out_w * out_c * k();
  }
  long long weight_count() const { return host() ? 0 : static_cast<long long>(out_c) * k(); }
  long long in_size() const { return static_cast<long long>(in_c) * in_h * in_w; }
  long long out_size() const { return static_cast<long long>(out_c) * out_h * out_w; }
};

struct Network {
  std::string name;
  int in_c = 0, in_h = 0, in_w = 0;
  std::vector<Layer> layers;
};

// Parse and validate; errors are ConfigError naming the JSON path.
Network network_from_json(const nlohmann::json& j);
Network load_network(const std::string& path);
nlohmann::json network_to_json(const Network& n);

// The index of the layer named `name`, or -1.
int find_layer(const Network& n, const std::string& name);

// A single layer as a network of its own (used by tests and benchmarks).
Network single_layer_network(const Layer& l);

}  // namespace hdx
