// Communication between ranks behind one interface (DESIGN.md section 4).
//
// Contract: every collective is called by all ranks of the communicator in the same order.
//   broadcast        bytes of `root` replace every other rank's bytes
//   gather           every rank's bytes, in rank order, at `root` (other ranks get an empty vector)
//   allreduce_sum    element-wise sum of a float32 buffer, in place, identical on every rank afterwards
//   allreduce_start  the same, started now and completed by PendingReduce::wait(); several may be in flight
//                    and they complete in start order. test() lets a backend make progress (MPI progresses
//                    non-blocking collectives only inside MPI calls).
//   barrier          returns when every rank has entered it
//   shared_buffer    (collective, the same count on every rank; a second call gets nullptr) memory for `count` floats, zeroed,
//                    that allreduce_start sums in place without copying in or out when a call's data lies in it
//                    at the same offset on every rank (the flat gradient buffer); nullptr on every rank where the
//                    backend has none. `note` says which, for the start-up banner.
//   shared_memory    true where every rank of the communicator is on this machine and the backend sums through
//                    shared memory (mpi with engine.shm_allreduce): then ShmTeam (shm_team.h) may be made over it.
// No silent hangs: a wait longer than the communicator's timeout throws CommError naming the operation and,
// where the backend can tell, the ranks that did not arrive.
// Backends (comm_registry.cpp): "self" (a world of one), "mpi" (CPU buffers), "nccl" (CUDA buffers; bytes
// over MPI), "local" (threads as ranks in one process, for tests). Buffers are raw pointers: no torch here.
#pragma once

#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace lockstep {

// A collective failed or timed out. Exit code 3 (distributed failure).
class CommError : public std::runtime_error {
 public:
  explicit CommError(const std::string& what) : std::runtime_error(what) {}
};

class PendingReduce {
 public:
  virtual ~PendingReduce() = default;
  virtual bool test() = 0;  // true once complete; never blocks
  virtual void wait() = 0;  // blocks until complete (or throws CommError on timeout)
};

class Comm {
 public:
  virtual ~Comm() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Ranks of this communicator on the same machine, and this rank's index among them.
  virtual int local_rank() const = 0;
  virtual int local_size() const = 0;
  virtual std::string backend() const = 0;
  // How allreduce sums, in words, for the start-up banner ("shared memory (...)", "MPI_Iallreduce", ...).
  virtual std::string allreduce_path() const { return backend(); }
  virtual void broadcast(std::string* bytes, int root) = 0;
  virtual std::vector<std::string> gather(const std::string& bytes, int root) = 0;
  virtual void allreduce_sum(float* data, size_t count) = 0;
  virtual std::unique_ptr<PendingReduce> allreduce_start(float* data, size_t count) = 0;
  virtual void barrier() = 0;
  virtual float* shared_buffer(size_t /*count*/, std::string* note) {
    *note = "";
    return nullptr;
  }
  virtual bool shared_memory() const { return false; }
  // Seconds a collective may wait before CommError; 0 waits forever.
  virtual void set_timeout(double seconds) = 0;
  // Where the gradient buffers must live: false for host memory, true for the CUDA device of this rank.
  virtual bool device_buffers() const { return false; }
};

// A PendingReduce that is already complete (backends whose reduce is synchronous).
class DoneReduce : public PendingReduce {
 public:
  bool test() override { return true; }
  void wait() override {}
};

// The world of one: a process started without MPI.
std::unique_ptr<Comm> make_self_comm();
// `n` communicators that are ranks 0..n-1 of one world of threads in this process.
std::vector<std::unique_ptr<Comm>> make_local_comms(int n);

}  // namespace lockstep
