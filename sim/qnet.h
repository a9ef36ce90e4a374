// A quantized network: the int8 weights and integer output-stage parameters of every layer
// (docs/formats.md, "weights_int8.npz"), and the integer-only reference inference that the
// RTL must match bit for bit (docs/arithmetic.md).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "golden.h"
#include "network.h"

namespace hdx {

struct QuantLayer {
  std::vector<int8_t> weight;  // conv / fc: [out_c][kh][kw][cin_g]
  Requant q;                   // conv / fc: bias, mult, shift per output channel
  AddParams add;               // add
  float scale = 0;             // real value of one step of the layer's int8 output
};

struct QuantNet {
  std::vector<QuantLayer> layers;  // one per network layer, in order
};

// Writes DIR/weights_int8.npz-style archive: "<layer>.weight" |i1, ".bias" <i4, ".mult" <i4,
// ".shift" |u1 for accelerator layers; "<layer>.mult" <i4 [2] and ".shift" |u1 [1] for add;
// "<layer>.scale" <f4 [1] for every layer.
void write_qnet(const std::string& path, const Network& n, const QuantNet& q);

// Reads and checks it against the network: every array present with the dtype and shape the
// layer needs and no array the network does not name. Throws IoError naming the file, the
// array and what was expected; SimError for out-of-range mult or shift.
QuantNet load_qnet(const std::string& path, const Network& n);

// Integer-only inference of the whole network on one input (HWC int8): the output of every
// layer (HWC int8), in layer order.
std::vector<std::vector<int8_t>> reference_forward(const Network& n, const QuantNet& q,
                                                   const std::vector<int8_t>& input);

// The input a layer reads (first operand for add) from the outputs computed so far.
const std::vector<int8_t>& layer_input(const Network& n, size_t i, const std::vector<int8_t>& input,
                                       const std::vector<std::vector<int8_t>>& outputs);

// The output of host operation i (add, avgpool) from the outputs computed so far.
std::vector<int8_t> host_op(const Network& n, const QuantNet& q, size_t i,
                            const std::vector<int8_t>& input,
                            const std::vector<std::vector<int8_t>>& outputs);

// The index of the largest value, the lowest index on ties: the predicted class.
int argmax(const std::vector<int8_t>& logits);

}  // namespace hdx
