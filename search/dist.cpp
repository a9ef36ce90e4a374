#include "dist.h"

#include <fmt/format.h>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <chrono>
#include <cstdlib>
#include <string>

#include "errors.h"

namespace hdx {

namespace {
const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}
}  // namespace

Ranks launch_ranks() {
  // Open MPI's mpirun, then MPICH / Intel MPI (PMI), then SLURM's srun (SLURM_STEP_NUM_TASKS:
  // an sbatch script's own process has SLURM_PROCID 0 and SLURM_NTASKS but is one process).
  const char* pairs[][2] = {{"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"},
                            {"PMI_RANK", "PMI_SIZE"},
                            {"SLURM_PROCID", "SLURM_STEP_NUM_TASKS"}};
  for (const auto& p : pairs)
    if (env(p[0]) && env(p[1])) {
      Ranks r{std::atoi(env(p[0])), std::atoi(env(p[1]))};
      if (r.size >= 1 && r.rank >= 0 && r.rank < r.size) return r;
    }
  return {};
}

DataParallel::DataParallel(const Ranks& r) : r_(r) {
  if (r_.size <= 1) return;
  const std::string addr = env("MASTER_ADDR") ? env("MASTER_ADDR") : "127.0.0.1";
  const int port = env("MASTER_PORT") ? std::atoi(env("MASTER_PORT")) : 29500;
  try {
    c10d::TCPStoreOptions so;
    so.port = static_cast<uint16_t>(port);
    so.isServer = r_.rank == 0;
    so.numWorkers = r_.size;
    so.waitWorkers = true;
    so.timeout = std::chrono::minutes(5);
    auto store = c10::make_intrusive<c10d::TCPStore>(addr, so);
    auto opts = c10d::ProcessGroupGloo::Options::create(std::chrono::minutes(10));
    const char* ifname = env("GLOO_SOCKET_IFNAME");
    opts->devices.push_back(ifname ? c10d::ProcessGroupGloo::createDeviceForInterface(ifname)
                                   : c10d::ProcessGroupGloo::createDefaultDevice());
    pg_ = c10::make_intrusive<c10d::ProcessGroupGloo>(store, r_.rank, r_.size, opts);
  } catch (const std::exception& e) {
    std::string what = e.what();
    what = what.substr(0, what.find('\n'));
    throw IoError(60, fmt::format("rank {} of {}: joining the data-parallel group at {}:{} failed "
                                  "({}); set MASTER_ADDR to rank 0's host and MASTER_PORT to a "
                                  "free port",
                                  r_.rank, r_.size, addr, port, what));
  }
}

std::pair<int64_t, int64_t> DataParallel::share(int64_t n) const {
  return {n * r_.rank / r_.size, n * (r_.rank + 1) / r_.size};
}

void DataParallel::sum(const std::vector<torch::Tensor>& ts) const {
  if (!pg_ || ts.empty()) return;
  torch::NoGradGuard ng;
  std::vector<torch::Tensor> flat;
  for (const auto& t : ts) flat.push_back(t.detach().to(torch::kCPU, torch::kFloat64).flatten());
  std::vector<at::Tensor> buf = {torch::cat(flat)};
  pg_->allreduce(buf)->wait();
  int64_t at = 0;
  for (const auto& t : ts) {
    const int64_t n = t.numel();
    t.copy_(buf[0].slice(0, at, at + n).view_as(t));
    at += n;
  }
}

double DataParallel::sum(double v) const {
  if (!pg_) return v;
  torch::Tensor t = torch::full({1}, v, torch::kFloat64);
  sum({t});
  return t.item<double>();
}

}  // namespace hdx
