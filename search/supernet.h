// LibTorch modules of the search: the weight-sharing supernet with one architecture
// parameter vector per slot, and a plain network built from a network.json description.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "network.h"
#include "space.h"

namespace hdx {

// How the slots mix their candidates in a forward pass.
struct PathChoice {
  enum Kind { Fixed, Gumbel, Softmax } kind = Fixed;
  std::vector<int> fixed;  // Fixed: the candidate of each slot
  double tau = 1.0;        // Gumbel / Softmax temperature
  bool arch_grad = true;   // let the loss reach the architecture parameters
};

// A hard one-hot draw from softmax(a / tau) (Gumbel-max on a / tau) whose straight-through
// gradient is that of softmax(a / tau + g): the distribution the expected cost uses.
torch::Tensor gumbel_sample(const torch::Tensor& a, double tau);

class SuperNetModuleImpl : public torch::nn::Module {
 public:
  explicit SuperNetModuleImpl(const Supernet& n);
  // Gumbel: one candidate per slot drawn from softmax(alpha / tau) by hard Gumbel-softmax
  // (straight-through, so the gradient reaches every logit of the slot); Softmax: the
  // softmax(alpha / tau)-weighted sum of all. Every convolution is followed by batch
  // normalization (the supernet is never exported; the derived network is trained anew).
  torch::Tensor forward(torch::Tensor x, const PathChoice& how);
  std::vector<torch::Tensor> alphas;           // architecture logits, one vector per slot
  std::vector<torch::Tensor> weights() const;  // everything but the alphas

 private:
  torch::Tensor block(std::size_t slot, std::size_t cand, const torch::Tensor& x);
  Supernet n_;
  struct ConvBn {
    torch::nn::Conv2d conv{nullptr};
    torch::nn::BatchNorm2d bn{nullptr};
    // With weight sharing, `conv` is the slot's largest of its kind, shared by the candidates,
    // and this part uses its leading `out` x `in` channels and its central k x k taps.
    bool sliced = false;
    int64_t out = 0, in = 0;
    int k = 1, stride = 1, groups = 1;
    torch::Tensor operator()(const torch::Tensor& x);
  };
  ConvBn add_conv(const std::string& name, int in, int out, int k, int stride, int groups,
                  bool relu);
  ConvBn stem_, head_;
  torch::nn::Linear fc_{nullptr};
  // Per slot and candidate: MBConv expand (absent when e = 1), depthwise, project; fused
  // conv, project; nothing for skip. ReLU after every part but the last (the projection).
  // Batch normalization is the candidate's own, with or without weight sharing.
  std::vector<std::vector<std::vector<ConvBn>>> blocks_;
};
TORCH_MODULE(SuperNetModule);

// Runs a Network with float weights: conv / fc with bias (fc as the convolution that covers
// its input, like the cost model), add, avgpool; ReLU where the layer says. With batch_norm
// (for training), every conv is followed by batch normalization, which export_weights folds
// into the conv's weight and bias (using the running statistics), so that the exported
// network, BN-free, computes what this one computes in eval mode.
class NetModuleImpl : public torch::nn::Module {
 public:
  explicit NetModuleImpl(const Network& n, bool batch_norm = false);
  torch::Tensor forward(torch::Tensor x);  // N x C x H x W -> N x classes
  // The output of every layer (N x C x H x W), in layer order.
  std::vector<torch::Tensor> forward_all(torch::Tensor x);
  // Weights in hdx layout: "<layer>.weight" [out_c][kh][kw][cin_g], "<layer>.bias" [out_c].
  std::vector<std::pair<std::string, torch::Tensor>> export_weights() const;
  // Sets the weights from arrays in that layout (float32), as hdx search writes them to
  // weights.npz; throws IoError naming `source` and the array that is missing, extra or of
  // the wrong shape.
  void import_weights(const std::vector<std::pair<std::string, torch::Tensor>>& w,
                      const std::string& source);

 private:
  Network net_;
  std::vector<torch::nn::Conv2d> convs_;  // per layer; empty for host operations
  std::vector<torch::nn::BatchNorm2d> bns_;  // per layer; empty unless batch_norm and a conv
};
TORCH_MODULE(NetModule);

}  // namespace hdx
