// Communication between ranks behind one interface (DESIGN.md section 4).
//
// Contract: every call is collective (all ranks of the communicator call it in the same order) and blocking.
//   broadcast   bytes of `root` replace every other rank's bytes
//   gather      every rank's bytes, in rank order, at `root` (other ranks get an empty vector)
//   allreduce   element-wise sum of a float32 buffer, in place, identical on every rank afterwards
//   barrier     returns when every rank has entered it
// Backends: "self" (a world of one, no-op) here; MPI, NCCL and threads-as-ranks join through the registry.
// No torch: buffers are raw pointers, so CUDA device buffers can pass through the NCCL backend unchanged.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace lockstep {

class Comm {
 public:
  virtual ~Comm() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Ranks of this communicator on the same machine, and this rank's index among them.
  virtual int local_rank() const = 0;
  virtual int local_size() const = 0;
  virtual std::string backend() const = 0;
  virtual void broadcast(std::string* bytes, int root) = 0;
  virtual std::vector<std::string> gather(const std::string& bytes, int root) = 0;
  virtual void allreduce_sum(float* data, size_t count) = 0;
  virtual void barrier() = 0;
};

// The world of one: a process started without MPI.
std::unique_ptr<Comm> make_self_comm();

}  // namespace lockstep
