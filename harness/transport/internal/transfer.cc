#include "harness/transport/internal/transfer.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <string>
#include <utility>

namespace edgebench::harness::internal {

namespace {
constexpr auto kPeriod = std::chrono::milliseconds(200);
}  // namespace

bool ReadFdPos(pid_t pid, int fd, uint64_t* pos) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/fdinfo/" + std::to_string(fd));
  for (std::string line; std::getline(f, line);) {
    if (line.rfind("pos:", 0) == 0) {
      *pos = std::strtoull(line.c_str() + 4, nullptr, 10);
      return true;
    }
  }
  return false;
}

PushProgress::PushProgress(const ProgressFn& progress, uint64_t total_bytes,
                           std::function<bool(pid_t, uint64_t*)> read_pos)
    : progress_(progress),
      total_bytes_(total_bytes),
      read_pos_(std::move(read_pos)),
      start_(std::chrono::steady_clock::now()) {
  if (progress_) progress_(TransferProgress{0, total_bytes_, 0});
}

PushProgress::~PushProgress() { Stop(); }

void PushProgress::Start(pid_t pid) {
  if (!progress_ || thread_.joinable()) return;
  thread_ = std::thread([this, pid] {
    uint64_t last = 0;
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, kPeriod, [this] { return stop_; })) {
      lock.unlock();
      uint64_t pos = 0;
      // A pid reused after the client was reaped could only be read in the
      // moment before Stop, and its numbers are bounded by the file's size.
      if (read_pos_(pid, &pos) && pos > last && (total_bytes_ == 0 || pos < total_bytes_)) {
        last = pos;
        const double s =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
        progress_(TransferProgress{pos, total_bytes_, s > 0 ? static_cast<double>(pos) / s : 0});
      }
      lock.lock();
    }
  });
}

void PushProgress::Stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void PushProgress::Finish(bool succeeded) {
  Stop();
  if (!succeeded || !progress_) return;
  const double s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  progress_(TransferProgress{total_bytes_, total_bytes_,
                             s > 0 ? static_cast<double>(total_bytes_) / s : 0});
}

Status PullIntoPlace(const std::string& local, const std::string& what,
                     const std::function<Status(const std::string& tmp)>& fetch) {
  std::string tmp = local + ".edgebench-part-XXXXXX";
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) return ErrnoToStatus(errno, what + ": cannot create a file beside it");
  ::close(fd);
  Status s = fetch(tmp);
  if (s.ok() && ::chmod(tmp.c_str(), 0644) != 0) s = ErrnoToStatus(errno, what + ": chmod");
  if (s.ok() && ::rename(tmp.c_str(), local.c_str()) != 0)
    s = ErrnoToStatus(errno, what + ": rename");
  if (!s.ok()) ::unlink(tmp.c_str());
  return s;
}

}  // namespace edgebench::harness::internal
