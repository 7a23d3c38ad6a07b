// Communication between ranks behind one interface (docs/design.md, "Communication").
//
// Contract: every collective is called by all ranks of the communicator in the same order.
//   broadcast        bytes of `root` replace every other rank's bytes
//   gather           every rank's bytes, in rank order, at `root` (other ranks get an empty vector)
//   allreduce_sum    element-wise sum of a float32 buffer, in place, identical on every rank afterwards
//   allreduce_start  the same, started now and completed by PendingReduce::wait(); several may be in flight
//                    and they complete in start order. test() lets a backend make progress (MPI progresses
//                    non-blocking collectives only inside MPI calls).
//   barrier          returns when every rank has entered it
//   reduce_buffer    (collective, the same count on every rank; a second call gets nullptr) memory for `count`
//                    floats, zeroed, where allreduce_start sums most cheaply (the flat gradient buffer lives there):
//                    the shm backend's shared memory, summed in place with no copy in or out; nullptr on every rank
//                    where the backend has no such memory (the caller allocates). `note` says which, for the banner.
// No silent hangs: a wait longer than the communicator's timeout throws CommError naming the operation and,
// where the backend can tell, the ranks that did not arrive.
// Backends (comm_registry.cpp): "self" (a world of one), "mpi" (CPU buffers), "shm" (CPU ranks of one machine:
// gradients summed in shared memory, bytes over MPI), "nccl" (CUDA buffers; bytes over MPI), "local" (threads as
// ranks in one process, for tests). Buffers are raw pointers: no torch here.
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
  virtual float* reduce_buffer(size_t /*count*/, std::string* note) {
    *note = "";
    return nullptr;
  }
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
