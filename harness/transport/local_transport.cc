// The local transport: commands run directly (execvp, no shell: nothing to
// quote), files are copied on this machine's file system.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cerrno>
#include <mutex>
#include <set>
#include <utility>

#include "base/subprocess.h"
#include "harness/transport/transport.h"

namespace edgebench::harness {
namespace {

using Clock = std::chrono::steady_clock;

// Copies `from` to `to` in chunks, calling `progress` about every 100 ms.
// The destination is created 0755 when it is new (runtime binaries must be
// executable; deploy sets modes explicitly where it matters).
Status CopyFile(const std::string& from, const std::string& to, const ProgressFn& progress) {
  const int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return ErrnoToStatus(errno, "cannot open \"" + from + "\"");
  struct stat st = {};
  ::fstat(in, &st);
  const int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
  if (out < 0) {
    const int e = errno;
    ::close(in);
    return ErrnoToStatus(e, "cannot create \"" + to + "\"");
  }
  TransferProgress p;
  p.total_bytes = static_cast<uint64_t>(st.st_size);
  const Clock::time_point start = Clock::now();
  Clock::time_point last = start;
  std::string buf(size_t{1} << 20, '\0');
  Status status = Status::Ok();
  for (;;) {
    const ssize_t got = ::read(in, buf.data(), buf.size());
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      status = ErrnoToStatus(errno, "cannot read \"" + from + "\"");
      break;
    }
    if (got == 0) break;
    for (ssize_t off = 0; off < got;) {
      const ssize_t put = ::write(out, buf.data() + off, static_cast<size_t>(got - off));
      if (put < 0 && errno == EINTR) continue;
      if (put < 0) {
        status = ErrnoToStatus(errno, "cannot write \"" + to + "\"");
        break;
      }
      off += put;
    }
    if (!status.ok()) break;
    p.done_bytes += static_cast<uint64_t>(got);
    const Clock::time_point now = Clock::now();
    if (progress && now - last >= std::chrono::milliseconds(100)) {
      last = now;
      p.bytes_per_s = static_cast<double>(p.done_bytes) /
                      std::chrono::duration<double>(now - start).count();
      progress(p);
    }
  }
  ::close(in);
  if (::close(out) != 0 && status.ok())
    status = ErrnoToStatus(errno, "cannot write \"" + to + "\"");
  if (status.ok() && progress) {
    const double s = std::chrono::duration<double>(Clock::now() - start).count();
    p.bytes_per_s = s > 0 ? static_cast<double>(p.done_bytes) / s : 0;
    progress(p);
  }
  return status;
}

class LocalTransport final : public Transport {
 public:
  explicit LocalTransport(std::string name) : name_(std::move(name)) {}
  ~LocalTransport() override { (void)KillAll(); }

  std::string_view kind() const override { return "local"; }
  const std::string& name() const override { return name_; }

  Result<ExecResult> Exec(const std::vector<std::string>& argv,
                          const ExecOptions& options) override {
    if (argv.empty()) return InvalidArgumentError(name_ + ": empty command");
    SubprocessOptions o;
    if (options.timeout_s > 0)
      o.timeout = std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::duration<double>(options.timeout_s));
    o.cancel = options.cancel;
    if (!options.stdin_data.empty()) o.stdin_data = options.stdin_data;
    o.on_stdout_line = options.on_line;
    o.capture_bytes = size_t{1} << 20;
    o.on_start = [this](pid_t pid) {
      std::lock_guard<std::mutex> lock(mu_);
      running_.insert(pid);
    };
    SubprocessResult r = RunSubprocess(argv, o);
    {
      std::lock_guard<std::mutex> lock(mu_);
      running_.erase(r.pid);
    }
    if (r.cancelled) return CancelledError(name_ + ": \"" + argv[0] + "\" cancelled");
    ExecResult e;
    if (!r.spawn_status.ok()) {
      // As a shell would: 127, not found or not runnable, with the reason
      // on stderr; the same result a remote transport gives.
      e.exit_code = 127;
      e.err = r.spawn_status.message();
      return e;
    }
    e.exit_code = r.exit_code;
    e.signal = r.signal;
    e.timed_out = r.timed_out;
    e.out = std::move(r.out);
    e.err = std::move(r.err);
    return e;
  }

  Status Push(const std::string& local, const std::string& remote,
              const ProgressFn& progress) override {
    return CopyFile(local, remote, progress).WithContext(name_ + ": push");
  }

  Status Pull(const std::string& remote, const std::string& local) override {
    return CopyFile(remote, local, {}).WithContext(name_ + ": pull");
  }

  Status KillAll() override {
    std::set<pid_t> pids;
    {
      std::lock_guard<std::mutex> lock(mu_);
      pids = running_;
    }
    // Each runs in its own process group (RunSubprocess); the Exec waiting
    // on it reaps it, so the group id stays ours until then.
    for (const pid_t pid : pids) ::kill(-pid, SIGKILL);
    return Status::Ok();
  }

 private:
  const std::string name_;
  std::mutex mu_;
  std::set<pid_t> running_;
};

}  // namespace

std::unique_ptr<Transport> NewLocalTransport(std::string name) {
  return std::make_unique<LocalTransport>(std::move(name));
}

}  // namespace edgebench::harness
