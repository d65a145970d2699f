#include "backends/native/kernels/thread_pool.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace edgebench::native::kernels {

namespace {

// How long an idle worker polls for the next loop before it sleeps. Decode
// dispatches a loop every few tens of microseconds, so a worker that sleeps
// between them pays a futex wake-up (~5-50 us) each time; two milliseconds
// of polling cover the gaps inside a token without burning a core for long
// once the engine goes idle.
constexpr std::chrono::microseconds kSpinBeforeSleep{2000};

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ volatile("yield");
#endif
}

Status PinThread(pthread_t thread, int cpu, int index) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  const int rc = pthread_setaffinity_np(thread, sizeof set, &set);
  if (rc != 0)
    return ErrnoToStatus(
        rc, "pin thread " + std::to_string(index) + " to cpu " + std::to_string(cpu));
  return Status::Ok();
}

// Chunk counts live in 16 bits of the claim word.
constexpr int kMaxThreads = 4096;

}  // namespace

struct ThreadPool::Impl {
  int n_threads = 1;
  std::vector<int> cpus;
  std::vector<std::thread> workers;

  // The current loop. Written by the caller before it publishes the loop in
  // `claim`; read by a worker only after it claimed a chunk of that loop,
  // which the caller cannot finish (and overwrite) before the chunk is done.
  const std::function<void(int64_t, int64_t, int)>* fn = nullptr;
  int64_t n = 0;
  int64_t chunk = 0;

  // Bits 32-63: the loop's generation; 16-31: its number of chunks; 0-15:
  // the next unclaimed chunk. Chunks are claimed by CAS on the whole word,
  // so a worker waking late can neither take a chunk of a later loop nor
  // read a later loop's fields.
  std::atomic<uint64_t> claim{0};
  std::atomic<uint64_t> done{0};        // chunks finished in this loop
  std::atomic<uint32_t> generation{0};  // what polling/sleeping workers watch
  std::atomic<bool> stop{false};

  std::mutex mu;
  std::condition_variable wake;

  // Start-up handshake: each worker reports whether it could pin itself.
  std::mutex start_mu;
  std::condition_variable started_cv;
  int started = 0;
  Status start_status;

  // The creating thread's affinity before it was pinned, restored on
  // destruction when the pool dies on that same thread.
  bool caller_pinned = false;
  pthread_t caller{};
  cpu_set_t caller_old_set{};

  void RunChunk(uint64_t c) {
    const int64_t begin = static_cast<int64_t>(c) * chunk;
    const int64_t end = std::min(n, begin + chunk);
    (*fn)(begin, end, static_cast<int>(c));
    done.fetch_add(1, std::memory_order_acq_rel);
  }

  // Runs chunks of loop `gen` until none is left unclaimed.
  void ClaimChunks(uint32_t gen) {
    uint64_t v = claim.load(std::memory_order_acquire);
    while ((v >> 32) == gen && (v & 0xffff) < ((v >> 16) & 0xffff)) {
      if (claim.compare_exchange_weak(v, v + 1, std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
        RunChunk(v & 0xffff);
        v = claim.load(std::memory_order_acquire);
      }
    }
  }

  void WorkerMain(int thread) {
    Status pin = Status::Ok();
    if (!cpus.empty())
      pin = PinThread(pthread_self(), cpus[static_cast<size_t>(thread) % cpus.size()],
                      thread);
    {
      std::lock_guard<std::mutex> lock(start_mu);
      if (!pin.ok() && start_status.ok()) start_status = pin;
      ++started;
    }
    started_cv.notify_one();

    uint32_t seen = 0;
    for (;;) {
      // Poll first: a loop usually follows within microseconds.
      uint32_t gen = generation.load(std::memory_order_acquire);
      if (gen == seen) {
        const auto deadline = std::chrono::steady_clock::now() + kSpinBeforeSleep;
        for (int i = 0; gen == seen; ++i) {
          CpuRelax();
          gen = generation.load(std::memory_order_acquire);
          if ((i & 127) == 127) {
            // With more threads than free cores (other tenants, or a pool
            // larger than the machine), a spinning worker holds the core a
            // descheduled peer or the caller needs; yielding costs well
            // under a microsecond when nobody else wants the core.
            std::this_thread::yield();
            if (std::chrono::steady_clock::now() > deadline) break;
          }
        }
      }
      if (gen == seen) {
        std::unique_lock<std::mutex> lock(mu);
        wake.wait(lock,
                  [&] { return generation.load(std::memory_order_acquire) != seen; });
        gen = generation.load(std::memory_order_acquire);
      }
      if (stop.load(std::memory_order_acquire)) return;
      seen = gen;
      ClaimChunks(gen);
    }
  }
};

Result<std::unique_ptr<ThreadPool>> ThreadPool::Create(int n_threads,
                                                       std::vector<int> cpus) {
  if (n_threads < 1 || n_threads > kMaxThreads)
    return InvalidArgumentError("thread pool: n_threads must be in 1.." +
                                std::to_string(kMaxThreads) + ", got " +
                                std::to_string(n_threads));
  for (int cpu : cpus)
    if (cpu < 0 || cpu >= CPU_SETSIZE)
      return InvalidArgumentError("thread pool: cpu " + std::to_string(cpu) +
                                  " is outside 0.." + std::to_string(CPU_SETSIZE - 1));

  auto impl = std::make_unique<Impl>();
  impl->n_threads = n_threads;
  impl->cpus = std::move(cpus);
  if (!impl->cpus.empty()) {
    impl->caller = pthread_self();
    if (pthread_getaffinity_np(impl->caller, sizeof impl->caller_old_set,
                               &impl->caller_old_set) != 0)
      CPU_ZERO(&impl->caller_old_set);
    RETURN_IF_ERROR(PinThread(impl->caller, impl->cpus[0], 0));
    impl->caller_pinned = true;
  }
  // The pool owns impl from here, so an early return below joins workers.
  std::unique_ptr<ThreadPool> pool(new ThreadPool(std::move(impl)));
  Impl* p = pool->impl_.get();
  p->workers.reserve(static_cast<size_t>(n_threads - 1));
  for (int t = 1; t < n_threads; ++t)
    p->workers.emplace_back([p, t] { p->WorkerMain(t); });
  std::unique_lock<std::mutex> lock(p->start_mu);
  p->started_cv.wait(lock, [&] { return p->started == n_threads - 1; });
  if (!p->start_status.ok()) return p->start_status;
  return pool;
}

ThreadPool::ThreadPool(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stop.store(true, std::memory_order_release);
    impl_->generation.fetch_add(1, std::memory_order_release);
  }
  impl_->wake.notify_all();
  for (std::thread& t : impl_->workers) t.join();
  if (impl_->caller_pinned && pthread_equal(impl_->caller, pthread_self()) &&
      CPU_COUNT(&impl_->caller_old_set) > 0)
    pthread_setaffinity_np(impl_->caller, sizeof impl_->caller_old_set,
                           &impl_->caller_old_set);
}

int ThreadPool::size() const { return impl_->n_threads; }

void ThreadPool::ParallelFor(
    int64_t n, const std::function<void(int64_t begin, int64_t end, int thread)>& fn) {
  if (n <= 0) return;
  Impl& p = *impl_;
  if (p.n_threads == 1 || n == 1) {
    fn(0, n, 0);
    return;
  }
  p.chunk = (n + p.n_threads - 1) / p.n_threads;
  const uint64_t n_chunks = static_cast<uint64_t>((n + p.chunk - 1) / p.chunk);
  p.n = n;
  p.fn = &fn;
  p.done.store(0, std::memory_order_relaxed);
  const uint32_t gen = p.generation.load(std::memory_order_relaxed) + 1;
  // Chunk 0 is the caller's from the start (the caller always does a share,
  // and gets it without a CAS); workers claim from chunk 1 on.
  p.claim.store((static_cast<uint64_t>(gen) << 32) | (n_chunks << 16) | 1,
                std::memory_order_release);
  {
    // Under the mutex so a worker between its last poll and its wait
    // cannot miss the new generation.
    std::lock_guard<std::mutex> lock(p.mu);
    p.generation.store(gen, std::memory_order_release);
  }
  p.wake.notify_all();

  p.RunChunk(0);
  // Then help with whatever no worker has claimed yet: a worker that is
  // descheduled (more threads than free cores) does not stall the loop.
  p.ClaimChunks(gen);

  // Only chunks already running elsewhere are left.
  for (int i = 0; p.done.load(std::memory_order_acquire) != n_chunks; ++i) {
    CpuRelax();
    if ((i & 127) == 127) std::this_thread::yield();
  }
}

}  // namespace edgebench::native::kernels
