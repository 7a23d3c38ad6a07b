// The MPI backend: host buffers, non-blocking collectives completed by timed polling.
//
// No silent hangs: every wait polls (MPI_Testall) with a short back-off instead of blocking inside MPI, so a
// wait longer than the timeout throws CommError. Before each collective every rank tells rank 0 that it has
// arrived (a tiny eager message on a duplicate communicator), so that rank 0's timeout names the ranks that
// never came. Polling also yields the core to other ranks when there are more ranks than cores.
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstdio>

#include "common/comm/comm_mpi.h"
#include "common/comm/mpi_check.h"
#include "common/comm/poll_wait.h"
#include "common/util/error.h"

namespace lockstep {
namespace {

constexpr int kTagArrive = 7101;
using Clock = std::chrono::steady_clock;

class MpiComm;

class MpiPending : public PendingReduce {
 public:
  MpiPending(MpiComm* comm, MPI_Request req, uint64_t seq) : comm_(comm), req_(req), seq_(seq) {}
  ~MpiPending() override;
  bool test() override;
  void wait() override;

 private:
  MpiComm* comm_;
  MPI_Request req_;
  uint64_t seq_;
};

class MpiComm : public MpiBackend {
 public:
  MpiComm() {
    LS_CHECK_MPI(MPI_Comm_dup(MPI_COMM_WORLD, &comm_));
    LS_CHECK_MPI(MPI_Comm_dup(MPI_COMM_WORLD, &arrive_comm_));
    LS_CHECK_MPI(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN));
    LS_CHECK_MPI(MPI_Comm_rank(comm_, &rank_));
    LS_CHECK_MPI(MPI_Comm_size(comm_, &size_));
    LS_CHECK_MPI(MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local_));
    LS_CHECK_MPI(MPI_Comm_rank(local_, &local_rank_));
    LS_CHECK_MPI(MPI_Comm_size(local_, &local_size_));
    arrived_.assign(size_, 0);
    spin_s_ = poll_spin_s(local_size_);
    set_allreduce_note("");
  }
  void set_allreduce_note(const std::string& why_not_shared) override {
    if (size_ == 1) path_ = "none (one rank)";
    else if (local_size_ < size_) path_ = "MPI_Iallreduce (ranks on several machines)";
    else path_ = "MPI_Iallreduce" + (why_not_shared.empty() ? std::string() : " (" + why_not_shared + ")");
  }
  ~MpiComm() override {
    MPI_Comm_free(&local_);
    MPI_Comm_free(&arrive_comm_);
    MPI_Comm_free(&comm_);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const override { return local_rank_; }
  int local_size() const override { return local_size_; }
  std::string backend() const override { return "mpi"; }
  std::string allreduce_path() const override { return path_; }
  void set_timeout(double seconds) override { timeout_ = seconds; }

  void broadcast(std::string* bytes, int root) override {
    const uint64_t seq = announce();
    uint64_t len = bytes->size();
    MPI_Request req;
    LS_CHECK_MPI(MPI_Ibcast(&len, 1, MPI_UINT64_T, root, comm_, &req));
    wait(&req, 1, "broadcast", seq);
    bytes->resize(len);
    LS_CHECK(len < INT_MAX, "broadcast of " << len << " bytes");
    LS_CHECK_MPI(MPI_Ibcast(bytes->data(), static_cast<int>(len), MPI_BYTE, root, comm_, &req));
    wait(&req, 1, "broadcast", seq);
  }

  std::vector<std::string> gather(const std::string& bytes, int root) override {
    const uint64_t seq = announce();
    LS_CHECK(bytes.size() < INT_MAX, "gather of " << bytes.size() << " bytes");
    int len = static_cast<int>(bytes.size());
    std::vector<int> lens(rank_ == root ? size_ : 0), displs(lens.size());
    MPI_Request req;
    LS_CHECK_MPI(MPI_Igather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, root, comm_, &req));
    wait(&req, 1, "gather", seq);
    std::string all;
    if (rank_ == root) {
      int64_t total = 0;
      for (int r = 0; r < size_; ++r) displs[r] = static_cast<int>(total), total += lens[r];
      LS_CHECK(total < INT_MAX, "gather of " << total << " bytes");
      all.resize(static_cast<size_t>(total));
    }
    LS_CHECK_MPI(MPI_Igatherv(bytes.data(), len, MPI_BYTE, all.data(), lens.data(), displs.data(), MPI_BYTE, root, comm_, &req));
    wait(&req, 1, "gather", seq);
    std::vector<std::string> out;
    for (size_t r = 0; r < lens.size(); ++r) out.push_back(all.substr(displs[r], lens[r]));
    return out;
  }

  void allreduce_sum(float* data, size_t count) override {
    for (size_t done = 0; done < count; done += INT_MAX / 2) {
      allreduce_start(data + done, std::min<size_t>(count - done, INT_MAX / 2))->wait();
    }
  }

  std::unique_ptr<PendingReduce> allreduce_start(float* data, size_t count) override {
    LS_CHECK(count < INT_MAX, "allreduce of " << count << " numbers in one piece");
    const uint64_t seq = announce();
    MPI_Request req;
    LS_CHECK_MPI(MPI_Iallreduce(MPI_IN_PLACE, data, static_cast<int>(count), MPI_FLOAT, MPI_SUM, comm_, &req));
    return std::make_unique<MpiPending>(this, req, seq);
  }

  void barrier() override {
    const uint64_t seq = announce();
    MPI_Request req;
    LS_CHECK_MPI(MPI_Ibarrier(comm_, &req));
    wait(&req, 1, "barrier", seq);
  }

  // Polls until the requests complete; throws CommError after the timeout.
  void wait(MPI_Request* reqs, int n, const char* op, uint64_t seq) {
    const auto start = Clock::now();
    const double limit = poll_limit_s(rank_, timeout_);  // rank 0 speaks first: it can name the missing
    for (int polls = 0;; ++polls) {
      int done = 0;
      LS_CHECK_MPI(MPI_Testall(n, reqs, &done, MPI_STATUSES_IGNORE));
      if (done) return;
      if (rank_ == 0) drain_arrivals();
      const double waited = std::chrono::duration<double>(Clock::now() - start).count();
      if (timeout_ > 0 && waited > limit) throw CommError(timeout_message(op, seq, waited));
      poll_pause(waited, spin_s_);
    }
  }

 private:
  // Tells rank 0 that this rank has reached collective number `seq`.
  uint64_t announce() {
    const uint64_t seq = ++seq_;
    if (rank_ == 0) {
      arrived_[0] = seq;
      drain_arrivals();
    } else {
      LS_CHECK_MPI(MPI_Send(&seq, 1, MPI_UINT64_T, 0, kTagArrive, arrive_comm_));
    }
    return seq;
  }

  void drain_arrivals() {
    for (;;) {
      int flag = 0;
      MPI_Status st;
      LS_CHECK_MPI(MPI_Iprobe(MPI_ANY_SOURCE, kTagArrive, arrive_comm_, &flag, &st));
      if (!flag) return;
      uint64_t seq = 0;
      LS_CHECK_MPI(MPI_Recv(&seq, 1, MPI_UINT64_T, st.MPI_SOURCE, kTagArrive, arrive_comm_, MPI_STATUS_IGNORE));
      arrived_[st.MPI_SOURCE] = std::max(arrived_[st.MPI_SOURCE], seq);
    }
  }

  std::string timeout_message(const char* op, uint64_t seq, double waited) {
    std::string msg = std::string(op) + " (collective #" + std::to_string(seq) + ") waited " +
                      std::to_string(static_cast<int>(waited)) + " s on rank " + std::to_string(rank_) +
                      " (engine.collective_timeout_s = " + std::to_string(static_cast<int>(timeout_)) + ")";
    if (rank_ != 0) return msg + "; rank 0 names the ranks that did not arrive";
    std::string missing;
    for (int r = 0; r < size_; ++r) if (arrived_[r] < seq) missing += (missing.empty() ? "" : ", ") + std::to_string(r);
    return msg + "; ranks that did not arrive: " + (missing.empty() ? "none (all arrived; the collective itself is stuck)" : missing);
  }

  friend class MpiPending;
  MPI_Comm comm_, arrive_comm_, local_;
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
  double timeout_ = 0;
  double spin_s_ = 2e-4;
  std::string path_;
  uint64_t seq_ = 0;
  std::vector<uint64_t> arrived_;
};

MpiPending::~MpiPending() {
  // Normally complete by now. If not, an error is unwinding the stack and the job is about to be aborted: a
  // non-blocking collective may be neither freed (MPI-3 5.12) nor waited for (its peers may be gone), so the
  // request is left alone.
}
bool MpiPending::test() {
  int done = 0;
  LS_CHECK_MPI(MPI_Test(&req_, &done, MPI_STATUS_IGNORE));
  return done != 0;
}
void MpiPending::wait() { comm_->wait(&req_, 1, "allreduce", seq_); }

}  // namespace

std::unique_ptr<MpiBackend> make_mpi_comm() { return std::make_unique<MpiComm>(); }

}  // namespace lockstep
