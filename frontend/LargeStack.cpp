//===- frontend/LargeStack.cpp - Running deep recursion on a large stack -----===//
#include "frontend/LargeStack.h"

#include <pthread.h>
#include <unistd.h>

#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>

namespace ptl {

namespace {

/// Whether the current thread is a large-stack worker (nested calls run directly).
thread_local bool onLargeStack = false;

/// A thread with a large stack that runs one job at a time for the thread
/// that owns it, and sleeps in between.
class LargeStackWorker {
public:
  /// Starts the thread; `started()` tells whether that worked.
  LargeStackWorker() {
    pthread_attr_t attr;
    started_ = pthread_attr_init(&attr) == 0 && pthread_attr_setstacksize(&attr, kLargeStackBytes) == 0 &&
               pthread_create(&thread_, &attr, &LargeStackWorker::entry, this) == 0;
    pthread_attr_destroy(&attr);
  }

  /// Stops the thread and waits for it.
  ~LargeStackWorker() {
    if (!started_) return;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      quit_ = true;
    }
    wake_.notify_one();
    pthread_join(thread_, nullptr);
  }

  LargeStackWorker(const LargeStackWorker &) = delete;
  LargeStackWorker &operator=(const LargeStackWorker &) = delete;

  bool started() const { return started_; }

  /// Runs `fn` on the worker, waits for it, and rethrows what it threw.
  void run(const std::function<void()> &fn) {
    std::exception_ptr error;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      job_ = &fn;
      error_ = nullptr;
      wake_.notify_one();
      done_.wait(lock, [this] { return job_ == nullptr; });
      error = error_;
      error_ = nullptr;
    }
    if (error) std::rethrow_exception(error);
  }

private:
  static void *entry(void *self) {
    onLargeStack = true;
    static_cast<LargeStackWorker *>(self)->loop();
    return nullptr;
  }

  void loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      wake_.wait(lock, [this] { return quit_ || job_ != nullptr; });
      if (job_ == nullptr) return; // quit, no job pending
      const std::function<void()> *fn = job_;
      lock.unlock();
      std::exception_ptr error;
      try {
        (*fn)();
      } catch (...) {
        error = std::current_exception();
      }
      lock.lock();
      error_ = error;
      job_ = nullptr;
      done_.notify_one();
    }
  }

  pthread_t thread_{};
  bool started_ = false;
  std::mutex mutex_;
  std::condition_variable wake_;        ///< a job or quit_ for the worker
  std::condition_variable done_;        ///< the job finished, for the owner
  const std::function<void()> *job_ = nullptr; ///< the pending or running job
  std::exception_ptr error_;            ///< what the last job threw
  bool quit_ = false;
};

/// The calling thread's worker (started on first use, stopped when the thread
/// exits) and the process it was started in: after a fork() the child has no
/// such thread, so it starts its own (the parent's object is left alone).
struct OwnWorker {
  std::unique_ptr<LargeStackWorker> worker;
  pid_t pid = 0;
  ~OwnWorker() {
    if (worker && pid != getpid()) (void)worker.release(); // not ours to join
  }
};
thread_local OwnWorker own;

} // namespace

void runWithLargeStack(const std::function<void()> &fn) {
  if (onLargeStack) {
    fn();
    return;
  }
  if (own.worker && own.pid != getpid()) (void)own.worker.release(); // forked: the thread is gone
  if (!own.worker) {
    auto w = std::make_unique<LargeStackWorker>();
    if (!w->started()) {
      fn();
      return;
    }
    own.worker = std::move(w);
    own.pid = getpid();
  }
  own.worker->run(fn);
}

} // namespace ptl
