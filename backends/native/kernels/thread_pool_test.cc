#include "backends/native/kernels/thread_pool.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace edgebench::native::kernels {
namespace {

std::unique_ptr<ThreadPool> MakePool(int n, std::vector<int> cpus = {}) {
  Result<std::unique_ptr<ThreadPool>> pool = ThreadPool::Create(n, std::move(cpus));
  EXPECT_TRUE(pool.ok()) << pool.status().ToString();
  return pool.ok() ? std::move(pool).value() : nullptr;
}

// Restores this thread's affinity when a test that pins it ends.
class AffinityGuard {
 public:
  AffinityGuard() { pthread_getaffinity_np(pthread_self(), sizeof set_, &set_); }
  ~AffinityGuard() { pthread_setaffinity_np(pthread_self(), sizeof set_, &set_); }
  const cpu_set_t& original() const { return set_; }

 private:
  cpu_set_t set_{};
};

TEST(ThreadPoolTest, CoversEveryIndexExactlyOnce) {
  for (int threads = 1; threads <= 4; ++threads) {
    std::unique_ptr<ThreadPool> pool = MakePool(threads);
    ASSERT_NE(pool, nullptr);
    EXPECT_EQ(pool->size(), threads);
    for (int64_t n : {0, 1, 2, 3, 4, 5, 7, 64, 1000, 4097}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      std::atomic<int> calls{0};
      pool->ParallelFor(n, [&](int64_t begin, int64_t end, int thread) {
        EXPECT_LT(begin, end);
        EXPECT_GE(thread, 0);
        EXPECT_LT(thread, threads);
        calls.fetch_add(1);
        for (int64_t i = begin; i < end; ++i) hits[static_cast<size_t>(i)].fetch_add(1);
      });
      for (int64_t i = 0; i < n; ++i)
        ASSERT_EQ(hits[static_cast<size_t>(i)].load(), 1)
            << "threads=" << threads << " n=" << n;
      EXPECT_LE(calls.load(), threads);
    }
  }
}

TEST(ThreadPoolTest, ChunksAreContiguousAndOnePerThread) {
  std::unique_ptr<ThreadPool> pool = MakePool(3);
  ASSERT_NE(pool, nullptr);
  std::vector<std::pair<int64_t, int64_t>> ranges(3, {-1, -1});
  pool->ParallelFor(10, [&](int64_t begin, int64_t end, int thread) {
    ranges[static_cast<size_t>(thread)] = {begin, end};
  });
  EXPECT_EQ(ranges[0], std::make_pair(int64_t{0}, int64_t{4}));
  EXPECT_EQ(ranges[1], std::make_pair(int64_t{4}, int64_t{8}));
  EXPECT_EQ(ranges[2], std::make_pair(int64_t{8}, int64_t{10}));
}

TEST(ThreadPoolTest, CallerRunsChunkZero) {
  std::unique_ptr<ThreadPool> pool = MakePool(2);
  ASSERT_NE(pool, nullptr);
  for (int round = 0; round < 100; ++round) {
    std::thread::id chunk0;
    pool->ParallelFor(2, [&](int64_t, int64_t, int thread) {
      if (thread == 0) chunk0 = std::this_thread::get_id();
    });
    ASSERT_EQ(chunk0, std::this_thread::get_id());
  }
}

// The workers take part: over many loops, some chunk runs off the caller's
// thread (unless the machine never runs a worker in time, which would make
// the pool useless; 2000 loops of 1 ms give it every chance).
TEST(ThreadPoolTest, WorkersTakePart) {
  std::unique_ptr<ThreadPool> pool = MakePool(2);
  ASSERT_NE(pool, nullptr);
  std::atomic<int> off_caller{0};
  const std::thread::id caller = std::this_thread::get_id();
  for (int round = 0; round < 2000 && off_caller.load() == 0; ++round) {
    pool->ParallelFor(2, [&](int64_t, int64_t, int) {
      if (std::this_thread::get_id() != caller) off_caller.fetch_add(1);
      std::this_thread::sleep_for(std::chrono::microseconds(1000));
    });
  }
  EXPECT_GT(off_caller.load(), 0);
}

// Decode's pattern: thousands of tiny loops back to back. Catches lost
// wake-ups (a hang) and a loop returning before its workers finished.
TEST(ThreadPoolTest, ManyQuickRounds) {
  for (int threads = 2; threads <= 4; ++threads) {
    std::unique_ptr<ThreadPool> pool = MakePool(threads);
    ASSERT_NE(pool, nullptr);
    std::vector<int64_t> sums(static_cast<size_t>(threads));
    int64_t total = 0;
    for (int round = 0; round < 3000; ++round) {
      const int64_t n = 1 + round % 37;
      std::fill(sums.begin(), sums.end(), 0);
      pool->ParallelFor(n, [&](int64_t begin, int64_t end, int thread) {
        for (int64_t i = begin; i < end; ++i) sums[static_cast<size_t>(thread)] += i;
      });
      int64_t s = 0;
      for (int64_t v : sums) s += v;
      ASSERT_EQ(s, n * (n - 1) / 2) << "threads=" << threads << " round=" << round;
      total += s;
    }
    EXPECT_GT(total, 0);
  }
}

// Workers that went to sleep (idle past the spin window) still wake up.
TEST(ThreadPoolTest, WakesSleepingWorkers) {
  std::unique_ptr<ThreadPool> pool = MakePool(3);
  ASSERT_NE(pool, nullptr);
  for (int round = 0; round < 3; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::atomic<int> calls{0};
    pool->ParallelFor(3, [&](int64_t, int64_t, int) { calls.fetch_add(1); });
    EXPECT_EQ(calls.load(), 3);
  }
}

// The process's threads (Linux task ids), to tell the pool's workers apart.
std::set<pid_t> TaskIds() {
  std::set<pid_t> ids;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task", ec))
    ids.insert(static_cast<pid_t>(std::stol(entry.path().filename().string())));
  return ids;
}

std::vector<int> AllowedCpus(pid_t tid) {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(tid, sizeof set, &set) != 0) return cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  return cpus;
}

TEST(ThreadPoolTest, PinsEveryThread) {
  AffinityGuard guard;
  // CPUs this process may use (the test may run under taskset).
  std::vector<int> usable;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &guard.original())) usable.push_back(c);
  ASSERT_FALSE(usable.empty());
  const int a = usable.front(), b = usable.back();
  {
    // Thread i goes to cpus[i % 2]: the caller and worker 2 to a, worker 1
    // to b. Workers are told apart from the caller by their task ids.
    const std::set<pid_t> before = TaskIds();
    std::unique_ptr<ThreadPool> pool = MakePool(3, {a, b});
    ASSERT_NE(pool, nullptr);
    EXPECT_EQ(AllowedCpus(0), std::vector<int>{a});  // the caller
    int on_a = 0, on_b = 0;
    for (pid_t tid : TaskIds()) {
      if (before.count(tid)) continue;
      const std::vector<int> cpus = AllowedCpus(tid);
      on_a += cpus == std::vector<int>{a};
      on_b += cpus == std::vector<int>{b};
    }
    EXPECT_EQ(on_a + on_b, 2);
    if (a != b) {
      EXPECT_EQ(on_a, 1);
      EXPECT_EQ(on_b, 1);
    }
    // And loops still run on pinned threads.
    std::atomic<int64_t> sum{0};
    pool->ParallelFor(100, [&](int64_t begin, int64_t end, int) {
      for (int64_t i = begin; i < end; ++i) sum += i;
    });
    EXPECT_EQ(sum.load(), 4950);
  }
  // The pool gives the creating thread its old affinity back.
  cpu_set_t now;
  pthread_getaffinity_np(pthread_self(), sizeof now, &now);
  EXPECT_TRUE(CPU_EQUAL(&now, &guard.original()));
}

TEST(ThreadPoolTest, PinFailureNamesTheCpu) {
  AffinityGuard guard;
  // A CPU number no machine here has: sched_setaffinity refuses it.
  const int bogus = CPU_SETSIZE - 1;
  Result<std::unique_ptr<ThreadPool>> pool = ThreadPool::Create(2, {bogus});
  ASSERT_FALSE(pool.ok());
  EXPECT_NE(pool.status().message().find("cpu " + std::to_string(bogus)),
            std::string::npos)
      << pool.status().ToString();

  // A worker's failure is reported too (the caller pinned fine).
  int good = -1;
  for (int c = 0; c < CPU_SETSIZE && good < 0; ++c)
    if (CPU_ISSET(c, &guard.original())) good = c;
  pool = ThreadPool::Create(2, {good, bogus});
  ASSERT_FALSE(pool.ok());
  EXPECT_NE(pool.status().message().find("thread 1 to cpu " + std::to_string(bogus)),
            std::string::npos)
      << pool.status().ToString();
}

TEST(ThreadPoolTest, RejectsBadArguments) {
  EXPECT_EQ(ThreadPool::Create(0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ThreadPool::Create(100000).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ThreadPool::Create(2, {-1}).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace edgebench::native::kernels
