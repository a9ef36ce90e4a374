// MPI for hdx's sharded commands (sim, regress): linked into hdx only.
#pragma once
#include <memory>

#include "ranks.h"

namespace hdx::cli {

// When mpirun or srun started this process (their environment variables say so), starts MPI
// and returns the ranks of MPI_COMM_WORLD; otherwise returns nullptr and starts nothing.
// MPI ends when the returned object goes. Throws RankError (mpi E003, exit 2) when srun
// started several tasks without an MPI plugin.
std::unique_ptr<Comm> start_mpi_if_launched();

}  // namespace hdx::cli
