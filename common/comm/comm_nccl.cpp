// NCCL all-reduce on CUDA buffers, ordered after the gradients that LibTorch computes on the default stream.
//
// allreduce_start() records an event on the legacy default stream (where LibTorch's kernels run unless a
// program changes streams), makes a communication stream wait for it, and enqueues ncclAllReduce there, so that
// the reduce of one bucket overlaps the backward kernels of the next. wait() makes the default stream wait for
// the reduce and polls its completion event, so that a stuck collective ends in CommError (and ncclCommAbort)
// after the timeout instead of hanging.
//
// Lifetime: one communicator per job, built when the run starts (engine.backend nccl) and ended with it. A run that
// ends normally waits for its stream and destroys the communicator (ncclCommDestroy); one that ends by an exception
// (bad input, a stop, a timeout: the destructor runs while the exception unwinds the stack) aborts it
// (ncclCommAbort), which waits for no other rank, so no exit path hangs on a peer that is gone.
#include <cuda_runtime.h>
#include <nccl.h>
#include <time.h>

#include <chrono>
#include <cstring>
#include <exception>
#include <string>

#include "common/comm/comm_mpi.h"
#include "common/comm/comm_nccl.h"
#include "common/util/error.h"

#define LS_CHECK_CUDA(call)                                                                                   \
  do {                                                                                                        \
    const cudaError_t ls_cuda_rc_ = (call);                                                                   \
    if (ls_cuda_rc_ != cudaSuccess)                                                                           \
      throw ::lockstep::CommError(std::string(#call) + " failed: " + cudaGetErrorString(ls_cuda_rc_) + " (" + \
                                  __FILE__ + ":" + std::to_string(__LINE__) + ")");                          \
  } while (0)

#define LS_CHECK_NCCL(call)                                                                                   \
  do {                                                                                                        \
    const ncclResult_t ls_nccl_rc_ = (call);                                                                  \
    if (ls_nccl_rc_ != ncclSuccess)                                                                           \
      throw ::lockstep::CommError(std::string(#call) + " failed: " + ncclGetErrorString(ls_nccl_rc_) + " (" + \
                                  __FILE__ + ":" + std::to_string(__LINE__) + ")");                          \
  } while (0)

namespace lockstep {
namespace {

// RAII for a CUDA event.
class Event {
 public:
  Event() { LS_CHECK_CUDA(cudaEventCreateWithFlags(&e_, cudaEventDisableTiming)); }
  ~Event() { cudaEventDestroy(e_); }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  cudaEvent_t get() const { return e_; }

 private:
  cudaEvent_t e_ = nullptr;
};

class NcclComm;

class NcclPending : public PendingReduce {
 public:
  explicit NcclPending(NcclComm* comm) : comm_(comm) {}
  bool test() override {
    const cudaError_t rc = cudaEventQuery(done_.get());
    if (rc == cudaErrorNotReady) return false;
    LS_CHECK_CUDA(rc);
    return true;
  }
  void wait() override;
  Event done_;

 private:
  NcclComm* comm_;
};

class NcclComm : public Comm {
 public:
  NcclComm() : mpi_(make_mpi_comm()) {
    int devices = 0;
    LS_CHECK_CUDA(cudaGetDeviceCount(&devices));
    if (devices == 0) throw BadInput("engine.backend 'nccl': no CUDA device is visible to rank " + std::to_string(mpi_->rank()));
    device_ = mpi_->local_rank() % devices;
    LS_CHECK_CUDA(cudaSetDevice(device_));
    ncclUniqueId id;
    if (mpi_->rank() == 0) LS_CHECK_NCCL(ncclGetUniqueId(&id));
    std::string bytes(reinterpret_cast<const char*>(&id), sizeof id);
    mpi_->broadcast(&bytes, 0);
    std::memcpy(&id, bytes.data(), sizeof id);
    LS_CHECK_NCCL(ncclCommInitRank(&nccl_, mpi_->size(), id, mpi_->rank()));
    LS_CHECK_CUDA(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  }
  ~NcclComm() override {
    if (nccl_) {
      if (std::uncaught_exceptions() > 0) {
        ncclCommAbort(nccl_);
      } else {
        cudaStreamSynchronize(stream_);
        ncclCommDestroy(nccl_);
      }
    }
    if (stream_) cudaStreamDestroy(stream_);
  }
  int rank() const override { return mpi_->rank(); }
  int size() const override { return mpi_->size(); }
  int local_rank() const override { return mpi_->local_rank(); }
  int local_size() const override { return mpi_->local_size(); }
  std::string backend() const override { return "nccl (GPU " + std::to_string(device_) + ")"; }
  bool device_buffers() const override { return true; }
  std::string allreduce_path() const override { return "NCCL (ncclAllReduce on its own stream)"; }
  void set_timeout(double seconds) override {
    timeout_ = seconds;
    mpi_->set_timeout(seconds);
  }
  void broadcast(std::string* bytes, int root) override { mpi_->broadcast(bytes, root); }
  std::vector<std::string> gather(const std::string& bytes, int root) override { return mpi_->gather(bytes, root); }
  void barrier() override { mpi_->barrier(); }
  void allreduce_sum(float* data, size_t count) override { allreduce_start(data, count)->wait(); }

  std::unique_ptr<PendingReduce> allreduce_start(float* data, size_t count) override {
    LS_CHECK_CUDA(cudaSetDevice(device_));  // hooks may run on one of LibTorch's device threads
    auto pending = std::make_unique<NcclPending>(this);
    Event ready;
    LS_CHECK_CUDA(cudaEventRecord(ready.get(), cudaStreamLegacy));
    LS_CHECK_CUDA(cudaStreamWaitEvent(stream_, ready.get(), 0));
    LS_CHECK_NCCL(ncclAllReduce(data, data, count, ncclFloat32, ncclSum, nccl_, stream_));
    LS_CHECK_CUDA(cudaEventRecord(pending->done_.get(), stream_));
    return pending;
  }

  void wait_done(NcclPending* p) {
    LS_CHECK_CUDA(cudaStreamWaitEvent(cudaStreamLegacy, p->done_.get(), 0));  // later kernels see the sums
    const auto start = std::chrono::steady_clock::now();
    while (!p->test()) {
      const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (timeout_ > 0 && waited > timeout_) {
        ncclCommAbort(nccl_);
        nccl_ = nullptr;
        throw CommError("NCCL all-reduce waited " + std::to_string(static_cast<int>(waited)) + " s on rank " +
                        std::to_string(rank()) + " (engine.collective_timeout_s)");
      }
      timespec ts{0, 20000};
      nanosleep(&ts, nullptr);
    }
  }

 private:
  std::unique_ptr<Comm> mpi_;
  int device_ = 0;
  ncclComm_t nccl_ = nullptr;
  cudaStream_t stream_ = nullptr;
  double timeout_ = 0;
};

void NcclPending::wait() { comm_->wait_done(this); }

}  // namespace

std::unique_ptr<Comm> make_nccl_comm() { return std::make_unique<NcclComm>(); }

}  // namespace lockstep
