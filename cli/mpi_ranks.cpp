#include "mpi_ranks.h"

// The C API only: the C++ bindings are deprecated and would load one more library.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <cstdlib>

namespace hdx::cli {

namespace {

class MpiRanks : public Ranks {
 public:
  MpiRanks() {
    MPI_Init(nullptr, nullptr);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  ~MpiRanks() override { MPI_Finalize(); }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::vector<std::string> gather(const std::string& mine) override {
    return collect(mine, false);
  }
  std::vector<std::string> all_gather(const std::string& mine) override {
    return collect(mine, true);
  }

 private:
  // Gathers the lengths, then the bytes, to rank 0 or to every rank.
  std::vector<std::string> collect(const std::string& mine, bool everyone) {
    int len = static_cast<int>(mine.size());
    std::vector<int> lens(static_cast<size_t>(size_)), at(static_cast<size_t>(size_));
    if (everyone)
      MPI_Allgather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, MPI_COMM_WORLD);
    else
      MPI_Gather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
    int total = 0;
    for (int k = 0; k < size_; ++k) {
      at[static_cast<size_t>(k)] = total;
      total += lens[static_cast<size_t>(k)];
    }
    std::string all(static_cast<size_t>(total), '\0');
    void* send = const_cast<char*>(mine.data());
    if (everyone)
      MPI_Allgatherv(send, len, MPI_CHAR, all.data(), lens.data(), at.data(), MPI_CHAR,
                     MPI_COMM_WORLD);
    else
      MPI_Gatherv(send, len, MPI_CHAR, all.data(), lens.data(), at.data(), MPI_CHAR, 0,
                  MPI_COMM_WORLD);
    if (!everyone && rank_ != 0) return {};
    std::vector<std::string> out;
    for (int k = 0; k < size_; ++k)
      out.push_back(all.substr(static_cast<size_t>(at[static_cast<size_t>(k)]),
                               static_cast<size_t>(lens[static_cast<size_t>(k)])));
    return out;
  }
  int rank_ = 0, size_ = 1;
};

}  // namespace

std::unique_ptr<Ranks> start_mpi_if_launched() {
  // Open MPI's mpirun, PMI-2 (srun --mpi=pmi2, MPICH's launchers) and PMIx (srun --mpi=pmix).
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
    if (std::getenv(v)) return std::make_unique<MpiRanks>();
  return nullptr;
}

}  // namespace hdx::cli
