// The next tick's slice, drawn on a background thread while this tick computes (data.prefetch).
//
// Contract: one thread and one job at a time. start(key, job) hands `job` to the thread (after any job before it
// has ended) and returns at once. take(key) waits for the job started last: when it was started with `key` it
// rethrows what the job threw and returns the job's seconds; when there was none, or it was started with another
// key (a guess that did not come true, the slices having changed), it drops that job's result and error and returns
// a negative number, and the caller draws the slice itself. The destructor waits and ends the thread. What a job
// writes is the caller's to keep apart from what the caller's thread uses meanwhile; a job's result is the same
// whichever thread runs it (the batch is counter-based: batch.h). No torch.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

namespace lockstep {

struct SliceKey {
  uint64_t tick = 0, global_batch = 0, begin = 0, end = 0;
  bool operator==(const SliceKey& o) const {
    return tick == o.tick && global_batch == o.global_batch && begin == o.begin && end == o.end;
  }
};

class SlicePrefetch {
 public:
  SlicePrefetch();
  ~SlicePrefetch();
  SlicePrefetch(const SlicePrefetch&) = delete;
  SlicePrefetch& operator=(const SlicePrefetch&) = delete;

  void start(const SliceKey& key, std::function<void()> job);
  double take(const SliceKey& key);

 private:
  void loop();
  void wait_idle(std::unique_lock<std::mutex>& lock);

  std::mutex mu_;
  std::condition_variable cv_;
  std::function<void()> job_;  // handed over, not yet running
  bool busy_ = false;          // a job handed over or running
  bool has_result_ = false;    // the last job ended, its result not yet taken
  bool stop_ = false;
  SliceKey key_;
  double seconds_ = 0;
  std::exception_ptr error_;
  std::thread thread_;
};

}  // namespace lockstep
