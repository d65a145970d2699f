// backends/native/kernels/thread_pool.h — a persistent pool of worker
// threads for the engine's data-parallel loops.
//
// Decode runs ~150 parallel loops per token, so dispatch must cost
// microseconds: workers spin briefly on a generation counter before they
// sleep, and the calling thread takes a share of the work itself.
//
// Thread-safety: one thread at a time calls ParallelFor; the pool's own
// workers never call it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "base/status.h"

namespace edgebench::native::kernels {

class ThreadPool {
 public:
  // `n_threads` >= 1 threads in all, the caller included. When `cpus` is not
  // empty, thread i is pinned to cpus[i % cpus.size()] (the caller too).
  static Result<std::unique_ptr<ThreadPool>> Create(int n_threads,
                                                    std::vector<int> cpus = {});
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const;

  // Calls fn(begin, end, thread) over [0, n) split into at most size()
  // contiguous chunks, and returns when all are done. `thread` is the
  // chunk's index (chunk i starts at i * ceil(n / size())), unique within a
  // call, so it can index per-thread scratch space. The caller runs chunk 0;
  // chunk i normally runs on worker i, but a thread that is done takes the
  // chunks nobody has started, so a descheduled worker does not stall the
  // loop.
  void ParallelFor(int64_t n,
                   const std::function<void(int64_t begin, int64_t end, int thread)>& fn);

 private:
  struct Impl;
  explicit ThreadPool(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace edgebench::native::kernels
