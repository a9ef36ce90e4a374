// The ranks of a run launched by mpirun or srun, as the commands that shard their work (sim,
// regress) see them. A process not launched that way is rank 0 of 1, and every call below
// returns at once. hdx links MPI and installs its ranks (mpi_ranks.cpp); the libraries and
// hdx-train see one process.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "errors.h"

namespace hdx::cli {

// The communicator of this run's ranks (MPI_COMM_WORLD under mpirun; hdx::Ranks in search.h
// is only a rank's place, for the data-parallel search of hdx-train).
class Comm {
 public:
  virtual ~Comm() = default;
  virtual int rank() const { return 0; }
  virtual int size() const { return 1; }
  // Rank 0 receives every rank's text, in rank order; the other ranks receive nothing.
  virtual std::vector<std::string> gather(const std::string& mine) { return {mine}; }
  // Every rank receives every rank's text, in rank order.
  virtual std::vector<std::string> all_gather(const std::string& mine) { return {mine}; }
};

// The ranks of this process: those installed by the innermost UseComm, else one process.
Comm& comm();

// Installs `r` (nullptr: one process) until it goes out of scope.
class UseComm {
 public:
  explicit UseComm(Comm* r);
  ~UseComm();
  UseComm(const UseComm&) = delete;
  UseComm& operator=(const UseComm&) = delete;

 private:
  Comm* saved_;
};

// The failure of another rank, or of a shard, as rank 0 reports it; on the other ranks an
// empty message, which the CLI does not print (rank 0 prints it), and exit code 0 (rank 0's
// exit code is the run's).
class RankError : public Error {
 public:
  RankError(int code, const std::string& msg, int exit_code)
      : Error("mpi", code, msg, exit_code), quiet_(msg.empty()) {}
  bool quiet() const { return quiet_; }

 private:
  bool quiet_;
};

// Prints "[tag] line" and flushes, on rank 0 only (the progress lines of a sharded command).
std::function<void(const std::string&)> rank0_log(const std::string& tag);

// Runs `part` on every rank. When it throws on any rank, every rank throws: rank 0 its own
// error, or else [mpi E001] naming the first rank that failed and its message; the other
// ranks a quiet RankError. One process: runs `part`.
void on_every_rank(const std::function<void()>& part);

// The items [first, last) of `n` that rank `rank` of `size` takes: contiguous blocks, the
// first ranks one item larger when n does not divide.
struct Shard {
  size_t first = 0, last = 0;
};
Shard shard_of(size_t n, int rank, int size);
// "images 4-7 of 10", "entry 3 of 20" (counting from 0), "no entries of 2".
std::string shard_text(const Shard& s, size_t n, const std::string& items);

// What a rank's part of a sharded run ended with, as rank 0 receives it.
struct RankOutcome {
  bool ok = true;
  std::string message;  // the error's one line when !ok
  int exit_code = 0;
  std::string payload;  // the rank's results (JSON text) when ok
};
// Gathers every rank's outcome on rank 0 (in rank order); other ranks receive nothing.
std::vector<RankOutcome> gather_outcomes(const RankOutcome& mine);

}  // namespace hdx::cli
