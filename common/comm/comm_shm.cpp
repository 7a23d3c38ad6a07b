// The shared-memory backend: MPI ranks of one machine whose gradient all-reduce runs through shared memory.
#include "common/comm/comm_shm.h"

#include <cstdio>

#include "common/comm/shm_allreduce.h"

namespace lockstep {
namespace {

class ShmComm : public Comm {
 public:
  ShmComm(std::unique_ptr<Comm> mpi, std::unique_ptr<ShmAllreduce> shm) : mpi_(std::move(mpi)), shm_(std::move(shm)) {}
  ~ShmComm() override { shm_.reset(); }  // the shared memory goes before the communicator it was made over
  int rank() const override { return mpi_->rank(); }
  int size() const override { return mpi_->size(); }
  int local_rank() const override { return mpi_->local_rank(); }
  int local_size() const override { return mpi_->local_size(); }
  std::string backend() const override { return "shm"; }
  std::string allreduce_path() const override {
    return "shared memory (" + std::to_string(size()) + " ranks on one machine, " + std::to_string(shm_->mapped_bytes() >> 20) + " MiB)";
  }
  void broadcast(std::string* bytes, int root) override { mpi_->broadcast(bytes, root); }
  std::vector<std::string> gather(const std::string& bytes, int root) override { return mpi_->gather(bytes, root); }
  void barrier() override { mpi_->barrier(); }
  void set_timeout(double seconds) override {
    mpi_->set_timeout(seconds);
    shm_->set_timeout(seconds);
  }
  void allreduce_sum(float* data, size_t count) override { allreduce_start(data, count)->wait(); }
  std::unique_ptr<PendingReduce> allreduce_start(float* data, size_t count) override { return shm_->start(data, count); }

  float* reduce_buffer(size_t count, std::string* note) override {
    std::string why_not;
    float* buffer = shm_->share_buffer(*mpi_, count, &why_not);
    char mib[32];
    std::snprintf(mib, sizeof mib, "%.1f", static_cast<double>(count) * sizeof(float) * size() / (1 << 20));
    *note = buffer != nullptr ? "summed in place in shared memory (" + std::string(mib) + " MiB for " + std::to_string(size()) + " ranks)"
                              : "copied through the all-reduce's slots (a shared buffer of " + std::string(mib) + " MiB failed: " + why_not + ")";
    return buffer;
  }

 private:
  std::unique_ptr<Comm> mpi_;  // broadcast, gather, barrier; the set-up of the shared memory
  std::unique_ptr<ShmAllreduce> shm_;
};

}  // namespace

std::unique_ptr<Comm> make_shm_comm(std::unique_ptr<Comm> mpi, std::unique_ptr<ShmAllreduce> shm) {
  return std::make_unique<ShmComm>(std::move(mpi), std::move(shm));
}

}  // namespace lockstep
