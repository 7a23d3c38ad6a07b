// Threads as ranks: n Comm objects sharing one rendezvous, for protocol tests in one process.
//
// Every collective is a generation of a shared barrier: each rank deposits its pointer, the last to arrive
// computes the result in rank order (so sums are deterministic), and all leave together. Waits honour the
// timeout and name the ranks that did not arrive.
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>

#include "common/comm/comm.h"

namespace lockstep {
namespace {

struct Shared {
  explicit Shared(int n) : n(n), arrived(n, false), ptrs(n, nullptr), strings(n) {}
  const int n;
  std::mutex mu;
  std::condition_variable cv;
  uint64_t generation = 0;
  int count = 0;
  std::vector<bool> arrived;
  std::vector<float*> ptrs;
  size_t length = 0;
  std::vector<std::string> strings;
  std::vector<float> acc;
  int leaving = 0;  // ranks of the finished generation still collecting their result
};

class LocalComm : public Comm {
 public:
  LocalComm(std::shared_ptr<Shared> s, int rank) : s_(std::move(s)), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return s_->n; }
  int local_rank() const override { return rank_; }
  int local_size() const override { return s_->n; }
  std::string backend() const override { return "local"; }
  void set_timeout(double seconds) override { timeout_ = seconds; }

  void broadcast(std::string* bytes, int root) override {
    collective("broadcast", [&] { s_->strings[rank_] = *bytes; }, [&] {}, [&] { *bytes = s_->strings[root]; });
  }
  std::vector<std::string> gather(const std::string& bytes, int root) override {
    std::vector<std::string> out;
    collective("gather", [&] { s_->strings[rank_] = bytes; }, [&] {},
               [&] { if (rank_ == root) out = s_->strings; });
    return out;
  }
  void allreduce_sum(float* data, size_t count) override {
    collective("allreduce", [&] { s_->ptrs[rank_] = data; s_->length = count; },
               [&] {  // the last to arrive sums in rank order
                 s_->acc.assign(s_->ptrs[0], s_->ptrs[0] + s_->length);
                 for (int r = 1; r < s_->n; ++r)
                   for (size_t i = 0; i < s_->length; ++i) s_->acc[i] += s_->ptrs[r][i];
               },
               [&] { std::memcpy(data, s_->acc.data(), count * sizeof(float)); });
  }
  std::unique_ptr<PendingReduce> allreduce_start(float* data, size_t count) override {
    allreduce_sum(data, count);
    return std::make_unique<DoneReduce>();
  }
  void barrier() override { collective("barrier", [] {}, [] {}, [] {}); }

 private:
  // Deposit under the lock; the last arrival runs `combine`; everyone runs `collect` before leaving, and no
  // rank starts the next collective before every rank has left this one.
  template <class A, class B, class C>
  void collective(const char* op, A deposit, B combine, C collect) {
    std::unique_lock<std::mutex> lock(s_->mu);
    s_->cv.wait(lock, [&] { return s_->leaving == 0; });
    const uint64_t gen = s_->generation;
    deposit();
    s_->arrived[rank_] = true;
    if (++s_->count == s_->n) {
      combine();
      s_->count = 0;
      s_->leaving = s_->n;
      ++s_->generation;
      s_->cv.notify_all();
    } else {
      auto done = [&] { return s_->generation != gen; };
      if (timeout_ > 0) {
        if (!s_->cv.wait_for(lock, std::chrono::duration<double>(timeout_), done)) {
          std::string missing;
          for (int r = 0; r < s_->n; ++r) if (!s_->arrived[r]) missing += (missing.empty() ? "" : ", ") + std::to_string(r);
          throw CommError(std::string(op) + " timed out after " + std::to_string(timeout_) + " s on rank " +
                          std::to_string(rank_) + "; ranks that did not arrive: " + missing);
        }
      } else {
        s_->cv.wait(lock, done);
      }
    }
    collect();
    s_->arrived[rank_] = false;
    if (--s_->leaving == 0) s_->cv.notify_all();
  }

  std::shared_ptr<Shared> s_;
  int rank_;
  double timeout_ = 0;
};

}  // namespace

std::vector<std::unique_ptr<Comm>> make_local_comms(int n) {
  auto shared = std::make_shared<Shared>(n);
  std::vector<std::unique_ptr<Comm>> out;
  for (int r = 0; r < n; ++r) out.push_back(std::make_unique<LocalComm>(shared, r));
  return out;
}

}  // namespace lockstep
