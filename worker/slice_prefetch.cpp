#include "worker/slice_prefetch.h"

#include <chrono>

namespace lockstep {

SlicePrefetch::SlicePrefetch() : thread_([this] { loop(); }) {}

SlicePrefetch::~SlicePrefetch() {
  {
    std::unique_lock<std::mutex> lock(mu_);
    wait_idle(lock);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void SlicePrefetch::wait_idle(std::unique_lock<std::mutex>& lock) {
  cv_.wait(lock, [this] { return !busy_; });
}

void SlicePrefetch::start(const SliceKey& key, std::function<void()> job) {
  {
    std::unique_lock<std::mutex> lock(mu_);
    wait_idle(lock);
    key_ = key;
    job_ = std::move(job);
    busy_ = true;
    has_result_ = false;
    error_ = nullptr;
  }
  cv_.notify_all();
}

double SlicePrefetch::take(const SliceKey& key) {
  std::unique_lock<std::mutex> lock(mu_);
  wait_idle(lock);
  const bool hit = has_result_ && key_ == key;
  has_result_ = false;
  std::exception_ptr error = std::move(error_);
  error_ = nullptr;
  if (!hit) return -1.0;
  if (error) std::rethrow_exception(error);
  return seconds_;
}

void SlicePrefetch::loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stop_ || job_; });
    if (stop_) return;
    std::function<void()> job = std::move(job_);
    job_ = nullptr;
    lock.unlock();
    const auto t0 = std::chrono::steady_clock::now();
    std::exception_ptr error;
    try {
      job();
    } catch (...) {
      error = std::current_exception();
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    lock.lock();
    seconds_ = seconds;
    error_ = error;
    has_result_ = true;
    busy_ = false;
    cv_.notify_all();
  }
}

}  // namespace lockstep
