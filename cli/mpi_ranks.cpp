#include "mpi_ranks.h"

// The C API only: the C++ bindings are deprecated and would load one more library.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

namespace hdx::cli {

namespace {

class MpiComm : public Comm {
 public:
  MpiComm() {
    MPI_Init(nullptr, nullptr);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  ~MpiComm() override { MPI_Finalize(); }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::vector<std::string> gather(const std::string& mine) override {
    return collect(mine, false);
  }
  std::vector<std::string> all_gather(const std::string& mine) override {
    return collect(mine, true);
  }

 private:
  // Waits for a non-blocking collective, sleeping between tests: a rank that waits (for rank 0
  // to build the model, or for the others to finish their shares) leaves its core to the
  // ranks and simulator processes that work, where a blocking call would spin on it.
  static void wait(MPI_Request& req) {
    useconds_t pause = 100;
    for (int done = 0;;) {
      MPI_Test(&req, &done, MPI_STATUS_IGNORE);
      if (done) return;
      usleep(pause);
      pause = std::min<useconds_t>(pause * 2, 20000);
    }
  }

  // Gathers the lengths, then the bytes, to rank 0 or to every rank.
  std::vector<std::string> collect(const std::string& mine, bool everyone) {
    int len = static_cast<int>(mine.size());
    std::vector<int> lens(static_cast<size_t>(size_)), at(static_cast<size_t>(size_));
    MPI_Request req;
    if (everyone)
      MPI_Iallgather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, MPI_COMM_WORLD, &req);
    else
      MPI_Igather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, 0, MPI_COMM_WORLD, &req);
    wait(req);
    int total = 0;
    for (int k = 0; k < size_; ++k) {
      at[static_cast<size_t>(k)] = total;
      total += lens[static_cast<size_t>(k)];
    }
    std::string all(static_cast<size_t>(total), '\0');
    void* send = const_cast<char*>(mine.data());
    if (everyone)
      MPI_Iallgatherv(send, len, MPI_CHAR, all.data(), lens.data(), at.data(), MPI_CHAR,
                      MPI_COMM_WORLD, &req);
    else
      MPI_Igatherv(send, len, MPI_CHAR, all.data(), lens.data(), at.data(), MPI_CHAR, 0,
                   MPI_COMM_WORLD, &req);
    wait(req);
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

std::unique_ptr<Comm> start_mpi_if_launched() {
  // Open MPI's mpirun, PMI-2 (srun --mpi=pmi2, MPICH's launchers) and PMIx (srun --mpi=pmix).
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"}) {
    if (!std::getenv(v)) continue;
    // Open MPI's shared-memory transport copies large messages between the processes of one
    // machine with process_vm_readv, which containers commonly forbid (the transfer then fails
    // with "Read -1, expected ..."); hdx's messages are reports, so the plain copy costs
    // nothing. A value the user set is kept.
    setenv("OMPI_MCA_btl_vader_single_copy_mechanism", "none", 0);
    return std::make_unique<MpiComm>();
  }
  // srun without an MPI plugin (--mpi=none, its default unless slurm.conf sets MpiDefault)
  // starts every task as a process of its own: each would run the whole job and write the
  // same files. (An sbatch script's own process has SLURM_NTASKS but no SLURM_STEP_NUM_TASKS.)
  const char* tasks = std::getenv("SLURM_STEP_NUM_TASKS");
  if (tasks && std::atoi(tasks) > 1) {
    const char* id = std::getenv("SLURM_PROCID");
    const bool first = !id || std::atoi(id) == 0;
    throw RankError(3, first ? fmt::format(
        "srun started {} tasks without an MPI plugin, so each would run the whole "
        "job alone and write the same files; run srun --mpi=pmix (Debian's Open MPI starts "
        "under PMIx) or set MpiDefault=pmix in slurm.conf", tasks) : "", 2);
  }
  return nullptr;
}

}  // namespace hdx::cli
