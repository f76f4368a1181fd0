//===- runtime/Parallel.cpp - A worker pool for independent iterations --------===//
#include "runtime/Parallel.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace ptl {

namespace {

thread_local bool tInJob = false; ///< this thread is running a job's iteration

/// The pool: workers sleep until a job's generation number changes, run
/// their share of the iterations, and report when they are done. The shares
/// are fixed (worker w of W runs iterations [w n / W, (w + 1) n / W)), so
/// every worker takes part in every job: what a worker sets up on its first
/// iteration (its frame arena) is set up in the first job, whatever the
/// timing, and later jobs allocate nothing.
class Pool {
public:
  static Pool &get() {
    static Pool *pool = new Pool; // never destroyed: workers may outlive static destruction
    return *pool;
  }

  int threads() const { return threads_.load(); }
  void setThreads(int n) { threads_ = n < 1 ? 1 : n; }

  void run(int64_t n, IterationFn body, void *env) {
    int want = threads();
    std::unique_lock<std::mutex> job(jobMutex_, std::try_to_lock);
    if (n < 2 || want < 2 || tInJob || !job.owns_lock()) {
      serial(n, body, env);
      return;
    }
    int helpers = (int)std::min<int64_t>(want - 1, n - 1);
    ensureWorkers(helpers);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      body_ = body;
      env_ = env;
      n_ = n;
      active_ = helpers;
      helpers_ = helpers;
      ++generation_;
    }
    wake_.notify_all();
    work(0);
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return active_ == 0; });
  }

private:
  Pool() {
    unsigned hw = std::thread::hardware_concurrency();
    threads_ = hw ? (int)hw : 1;
  }

  static void serial(int64_t n, IterationFn body, void *env) {
    bool outer = tInJob;
    tInJob = true;
    for (int64_t i = 0; i < n; ++i) body(env, i, 0);
    tInJob = outer;
  }

  /// Runs worker `worker`'s share of the iterations.
  void work(int worker) {
    tInJob = true;
    int64_t shares = helpers_ + 1;
    for (int64_t i = n_ * worker / shares, end = n_ * (worker + 1) / shares; i < end; ++i) body_(env_, i, worker);
    tInJob = false;
  }

  void ensureWorkers(int helpers) {
    while ((int)workers_.size() < helpers) {
      int index = (int)workers_.size() + 1;
      workers_.emplace_back([this, index] { loop(index); });
      workers_.back().detach();
    }
  }

  void loop(int index) {
    uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return generation_ != seen; });
        seen = generation_;
        if (index > helpers_) continue; // not needed for this job
      }
      work(index);
      std::lock_guard<std::mutex> lock(mutex_);
      if (--active_ == 0) done_.notify_one();
    }
  }

  std::atomic<int> threads_{1};
  std::mutex jobMutex_; ///< one job at a time
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  std::vector<std::thread> workers_;
  uint64_t generation_ = 0;
  int active_ = 0, helpers_ = 0;
  IterationFn body_ = nullptr;
  void *env_ = nullptr;
  int64_t n_ = 0;
};

} // namespace

int threadCount() { return Pool::get().threads(); }
void setThreadCount(int n) { Pool::get().setThreads(n); }
void parallelFor(int64_t n, IterationFn body, void *env) { Pool::get().run(n, body, env); }

} // namespace ptl
