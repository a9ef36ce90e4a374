// Data parallelism over the ranks of an MPI launch (mpirun, srun): every rank runs the same
// search on its share of each batch, and the ranks sum their gradients through a c10d process
// group (Gloo), so that N ranks take the steps of one process with N times the batch
// (docs/search.md, section 8).
#pragma once
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/torch.h>

#include <utility>
#include <vector>

#include "search.h"

namespace hdx {

class DataParallel {
 public:
  // One rank: no group, every call below is the identity. More: joins the group at
  // MASTER_ADDR:MASTER_PORT (default 127.0.0.1:29500), where rank 0 serves the rendezvous;
  // io E060 when that fails.
  explicit DataParallel(const Ranks& r);
  int rank() const { return r_.rank; }
  int size() const { return r_.size; }
  // This rank's part [begin, end) of n items cut into size() parts in rank order.
  std::pair<int64_t, int64_t> share(int64_t n) const;
  // Sums the tensors over the ranks, in place (one all-reduce through a flat CPU buffer).
  void sum(const std::vector<torch::Tensor>& ts) const;
  double sum(double v) const;

 private:
  Ranks r_;
  c10::intrusive_ptr<c10d::ProcessGroup> pg_;
};

}  // namespace hdx
