#include "base/subprocess.h"

#include <fcntl.h>
#include <paths.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <utility>

extern char** environ;

namespace edgebench {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A file descriptor closed when it goes out of scope.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { Reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }

  int get() const { return fd_; }
  bool open() const { return fd_ >= 0; }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

struct Pipe {
  Fd read;
  Fd write;
};

// Moves `fd` to a number of at least 3, keeping close-on-exec, so that a
// dup2 onto 0, 1 or 2 in the child can never clobber another of our
// descriptors (possible when the caller closed its own stdio).
Status AboveStdio(Fd* fd) {
  if (fd->get() >= 3) return Status::Ok();
  const int moved = ::fcntl(fd->get(), F_DUPFD_CLOEXEC, 3);
  if (moved < 0) return ErrnoToStatus(errno, "fcntl(F_DUPFD_CLOEXEC)");
  *fd = Fd(moved);
  return Status::Ok();
}

Status MakePipe(Pipe* p) {
  int fds[2];
  // Close-on-exec: the child gets its ends through dup2 onto 1 and 2 only,
  // and no other child the process starts meanwhile inherits them.
  if (::pipe2(fds, O_CLOEXEC) != 0) return ErrnoToStatus(errno, "pipe");
  p->read = Fd(fds[0]);
  p->write = Fd(fds[1]);
  RETURN_IF_ERROR(AboveStdio(&p->read));
  return AboveStdio(&p->write);
}

// Everything the child needs between fork and exec, prepared by the parent:
// after fork in a threaded process the child may only make async-signal-safe
// calls, so it allocates nothing and takes no lock (no execvp, no getenv).
struct ExecPlan {
  std::vector<std::string> candidates;  // paths to try, in execvp's order
  std::vector<char*> candidate_ptrs;    // null-terminated
  std::vector<char*> argv;              // null-terminated
  char** envp = nullptr;                // environ, or env_storage's
  std::vector<std::string> env_storage;
  std::vector<char*> env_ptrs;          // null-terminated
  int in_fd = -1;   // -1: /dev/null
  int out_fd = -1;
  int err_fd = -1;
  int report_fd = -1;  // the child writes exec's errno here
  int max_fd = 0;      // for closing descriptors without close_range
};

// The files execvp would try for `file`: itself when it has a slash, else
// each $PATH entry (an empty one is the current folder; no PATH: the
// system's default).
std::vector<std::string> Candidates(const std::string& file) {
  if (file.find('/') != std::string::npos) return {file};
  const char* env = std::getenv("PATH");
  std::string_view path = env ? env : _PATH_DEFPATH;
  std::vector<std::string> out;
  for (;;) {
    const size_t colon = path.find(':');
    const std::string_view dir = path.substr(0, colon);
    out.push_back(dir.empty() ? file : std::string(dir) + "/" + file);
    if (colon == std::string_view::npos) break;
    path.remove_prefix(colon + 1);
  }
  return out;
}

[[noreturn]] void ReportAndExit(int report_fd, int error) {
  // Best effort: if even this fails, the parent sees exit code 127.
  ssize_t written = ::write(report_fd, &error, sizeof error);
  (void)written;
  ::_exit(127);
}

// Closes every descriptor from 3 up except `keep`.
void CloseFrom3Except(int keep, int max_fd) {
#if defined(SYS_close_range) && !defined(__ANDROID__)
  // Android: the app seccomp policy of older releases does not list it.
  const bool below_ok = keep == 3 || ::syscall(SYS_close_range, 3u, keep - 1u, 0u) == 0;
  if (below_ok && ::syscall(SYS_close_range, keep + 1u, ~0u, 0u) == 0) return;
#endif
  for (int fd = 3; fd < max_fd; ++fd) {
    if (fd != keep) ::close(fd);
  }
}

// The child between fork and exec: async-signal-safe calls only.
[[noreturn]] void ExecChild(const ExecPlan& plan) {
  // Own process group (pgid = pid), so one kill(-pid) reaches everything
  // it starts. The parent does the same, so neither order leaves a window.
  ::setpgid(0, 0);
  // Default dispositions and an empty mask: an ignored SIGPIPE or a blocked
  // SIGTERM in the caller would otherwise survive exec. (sigaction fails
  // harmlessly for SIGKILL, SIGSTOP and the libc's internal signals.)
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);

  if (plan.in_fd >= 0) {
    if (::dup2(plan.in_fd, 0) < 0) ReportAndExit(plan.report_fd, errno);
  } else {
    const int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd < 0) ReportAndExit(plan.report_fd, errno);
    if (null_fd != 0 && ::dup2(null_fd, 0) < 0) ReportAndExit(plan.report_fd, errno);
  }
  // All of ours are >= 3 (AboveStdio), so these never clobber each other.
  if (::dup2(plan.out_fd, 1) < 0 || ::dup2(plan.err_fd, 2) < 0) {
    ReportAndExit(plan.report_fd, errno);
  }
  // Ours are close-on-exec anyway; this also keeps out descriptors another
  // part of the process opened without it.
  CloseFrom3Except(plan.report_fd, plan.max_fd);

  // execvp's loop (glibc's, without its /bin/sh retry on ENOEXEC: a file
  // without "#!" is reported, never handed to a shell).
  int error = ENOENT;
  bool eacces = false;
  for (char* const* c = plan.candidate_ptrs.data(); *c != nullptr; ++c) {
    ::execve(*c, plan.argv.data(), plan.envp);
    error = errno;
    if (error == EACCES) {
      eacces = true;
      continue;
    }
    if (error == ENOENT || error == ENOTDIR || error == ESTALE || error == ENODEV ||
        error == ETIMEDOUT) {
      continue;
    }
    ReportAndExit(plan.report_fd, error);
  }
  ReportAndExit(plan.report_fd, eacces ? EACCES : error);
}

// fork and exec (not posix_spawn: its exec-error report and process group
// rely on CLONE_VFORK, which qemu-user emulates as a plain fork, and the
// runtime is tested under qemu).
Status Spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env,
             int in_fd, int out_fd, int err_fd, pid_t* pid) {
  const std::string what = "cannot run \"" + argv[0] + "\"";
  ExecPlan plan;
  plan.envp = environ;
  if (!env.empty()) {
    // environ without the names being set, then the new entries.
    const auto name_of = [](std::string_view e) { return e.substr(0, e.find('=')); };
    for (char** e = environ; e && *e; ++e) {
      const std::string_view entry(*e);
      const bool replaced = std::any_of(env.begin(), env.end(), [&](const std::string& x) {
        return name_of(x) == name_of(entry);
      });
      if (!replaced) plan.env_storage.emplace_back(entry);
    }
    plan.env_storage.insert(plan.env_storage.end(), env.begin(), env.end());
    for (std::string& e : plan.env_storage) plan.env_ptrs.push_back(e.data());
    plan.env_ptrs.push_back(nullptr);
    plan.envp = plan.env_ptrs.data();
  }
  plan.in_fd = in_fd;
  plan.candidates = Candidates(argv[0]);
  for (std::string& c : plan.candidates) plan.candidate_ptrs.push_back(c.data());
  plan.candidate_ptrs.push_back(nullptr);
  for (const std::string& a : argv) plan.argv.push_back(const_cast<char*>(a.c_str()));
  plan.argv.push_back(nullptr);
  plan.out_fd = out_fd;
  plan.err_fd = err_fd;
  rlimit files = {};
  plan.max_fd = ::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < (1u << 16)
                    ? static_cast<int>(files.rlim_cur)
                    : 1 << 16;
  Pipe report;
  RETURN_IF_ERROR(MakePipe(&report));
  plan.report_fd = report.write.get();

  const pid_t child = ::fork();
  if (child < 0) return ErrnoToStatus(errno, what + ": fork");
  if (child == 0) ExecChild(plan);
  ::setpgid(child, child);  // EACCES once it has exec'd: it did it itself
  report.write.Reset();

  // End of file: exec succeeded (the descriptor is close-on-exec).
  int child_errno = 0;
  ssize_t got;
  while ((got = ::read(report.read.get(), &child_errno, sizeof child_errno)) < 0 &&
         errno == EINTR) {
  }
  if (got == 0) {
    *pid = child;
    return Status::Ok();
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (got != static_cast<ssize_t>(sizeof child_errno)) {
    return InternalError(what + ": the child failed before exec without saying why");
  }
  std::string detail;
  if (child_errno == ENOENT && argv[0].find('/') == std::string::npos) {
    const char* path = std::getenv("PATH");
    detail = std::string(" (searched PATH=") + (path ? path : _PATH_DEFPATH) + ")";
  } else if (child_errno == ENOEXEC) {
    detail = " (not a program for this machine, nor a script starting with #!)";
  }
  const Status s = ErrnoToStatus(child_errno, what);
  // ENOEXEC is the spec's mistake (it names a file that is no program),
  // not an edgebench bug, which kInternal would claim.
  return Status(child_errno == ENOEXEC ? StatusCode::kInvalidArgument : s.code(),
                s.message() + detail);
}

enum class ChildState { kRunning, kEnded, kReapedElsewhere };

// Whether the child has ended; leaves it unreaped (WNOWAIT), so its pid and
// process group id cannot be reused while we still signal them.
ChildState PeekChild(pid_t pid) {
  siginfo_t info{};
  while (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) !=
         0) {
    if (errno == EINTR) continue;
    // ECHILD: the process ignores SIGCHLD, so the kernel reaped it and its
    // pid may already belong to someone else.
    return ChildState::kReapedElsewhere;
  }
  return info.si_pid == pid ? ChildState::kEnded : ChildState::kRunning;
}

void KillGroup(pid_t pid, int signal) {
  ::kill(-pid, signal);
  // The child may have moved itself to another group.
  ::kill(pid, signal);
}

int CeilMs(Clock::duration d) {
  if (d <= Clock::duration::zero()) return 0;
  return static_cast<int>(
      std::min<int64_t>(std::chrono::ceil<milliseconds>(d).count(), 1000));
}

// write(2) to a pipe whose reader may be gone, without SIGPIPE reaching the
// process (a library must not depend on the caller ignoring it): SIGPIPE is
// blocked on this thread for the call, and one it raised is consumed.
ssize_t WriteNoSigpipe(int fd, const char* data, size_t n) {
  sigset_t pipe_set, old_mask, pending;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  sigpending(&pending);
  const bool was_pending = sigismember(&pending, SIGPIPE) == 1;
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old_mask);
  const ssize_t rc = ::write(fd, data, n);
  const int saved = errno;
  if (rc < 0 && saved == EPIPE && !was_pending) {
    const timespec zero = {0, 0};
    while (sigtimedwait(&pipe_set, nullptr, &zero) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  errno = saved;
  return rc;
}

// Cuts a byte stream into lines for SubprocessOptions::on_stdout_line.
class LineSplitter {
 public:
  explicit LineSplitter(const std::function<void(std::string_view)>& fn) : fn_(fn) {}
  void Append(const char* data, size_t n) {
    partial_.append(data, n);
    size_t begin = 0;
    for (size_t nl; (nl = partial_.find('\n', begin)) != std::string::npos; begin = nl + 1)
      fn_(std::string_view(partial_).substr(begin, nl - begin));
    partial_.erase(0, begin);
  }
  void Finish() {
    if (!partial_.empty()) fn_(partial_);
    partial_.clear();
  }

 private:
  const std::function<void(std::string_view)>& fn_;
  std::string partial_;
};

}  // namespace

void TailBuffer::DropFront(size_t n) {
  if (n == 0) return;
  last_dropped_ = data_[n - 1];
  data_.erase(0, n);
  dropped_ += n;
}

void TailBuffer::Append(const char* data, size_t n) {
  data_.append(data, n);
  // Trim in steps, not on every append, so a chatty child costs amortized
  // O(1) per byte.
  if (data_.size() > capacity_ + capacity_ / 4) DropFront(data_.size() - capacity_);
}

std::string TailBuffer::Take() {
  if (data_.size() > capacity_) DropFront(data_.size() - capacity_);
  if (last_dropped_ != '\n') {
    // A parser must never see the second half of a line.
    const size_t nl = data_.find('\n');
    DropFront(nl == std::string::npos ? data_.size() : nl + 1);
  }
  return std::move(data_);
}

SubprocessResult RunSubprocess(const std::vector<std::string>& argv,
                               const SubprocessOptions& options) {
  SubprocessResult r;
  Pipe out;
  Pipe err;
  Pipe in;         // stdin_data
  Fd in_file;      // stdin_file
  int child_in = -1;
  if (Status s = MakePipe(&out); !s.ok()) {
    r.spawn_status = s;
    return r;
  }
  if (Status s = MakePipe(&err); !s.ok()) {
    r.spawn_status = s;
    return r;
  }
  if (!options.stdin_file.empty()) {
    in_file = Fd(::open(options.stdin_file.c_str(), O_RDONLY | O_CLOEXEC));
    Status s = in_file.open() ? AboveStdio(&in_file)
                              : ErrnoToStatus(errno, "cannot open \"" + options.stdin_file +
                                                         "\" as stdin for \"" + argv[0] + "\"");
    if (!s.ok()) {
      r.spawn_status = s;
      return r;
    }
    child_in = in_file.get();
  } else if (options.stdin_data) {
    if (Status s = MakePipe(&in); !s.ok()) {
      r.spawn_status = s;
      return r;
    }
    child_in = in.read.get();
  }
  pid_t pid = -1;
  r.spawn_status =
      Spawn(argv, options.env, child_in, out.write.get(), err.write.get(), &pid);
  if (!r.spawn_status.ok()) return r;
  // From here only the child (and what it starts) holds the write ends, so
  // end of file means they all closed them.
  out.write.Reset();
  err.write.Reset();
  in.read.Reset();
  in_file.Reset();
  // The bytes for stdin go in as the child reads them, between reads of its
  // output: a child that writes a lot before reading cannot deadlock us.
  std::string_view to_write = options.stdin_data ? std::string_view(*options.stdin_data)
                                                 : std::string_view();
  if (in.write.open()) {
    ::fcntl(in.write.get(), F_SETFL, ::fcntl(in.write.get(), F_GETFL) | O_NONBLOCK);
    if (to_write.empty()) in.write.Reset();
  }
  LineSplitter lines(options.on_stdout_line);
  r.pid = pid;
  const Clock::time_point start = Clock::now();
  if (options.on_start) options.on_start(pid);

  const bool has_deadline = options.timeout > std::chrono::nanoseconds::zero();
  const Clock::time_point deadline =
      has_deadline ? start + std::chrono::duration_cast<Clock::duration>(options.timeout)
                   : Clock::time_point::max();
  TailBuffer out_buf(options.capture_bytes);
  TailBuffer err_buf(options.capture_bytes);
  bool ended = false;
  bool stopping = false;  // SIGTERM sent
  bool killed = false;    // SIGKILL sent
  Clock::time_point ended_at{};
  Clock::time_point term_at{};
  std::vector<char> buf(size_t{1} << 16);

  for (;;) {
    const Clock::time_point now = Clock::now();
    if (!ended) {
      const ChildState state = PeekChild(pid);
      if (state != ChildState::kRunning) {
        ended = true;
        ended_at = now;
        // Anything the child left behind in its group (a grandchild holding
        // the pipes open, a daemon) would skew the next measurement. The
        // unreaped child keeps the group id ours while we signal it.
        if (state == ChildState::kEnded) KillGroup(pid, SIGKILL);
      }
    }
    if (ended) in.write.Reset();
    if (ended && !out.read.open() && !err.read.open()) break;
    // A writer outside the group (it called setsid) is out of reach: stop
    // reading rather than wait for it.
    if (ended && now - ended_at >= options.drain_after_exit) break;
    if (!ended && !stopping) {
      if (options.cancel && options.cancel->load(std::memory_order_relaxed)) {
        r.cancelled = true;
      } else if (has_deadline && now >= deadline) {
        r.timed_out = true;
      }
      if (r.cancelled || r.timed_out) {
        stopping = true;
        term_at = now;
        KillGroup(pid, SIGTERM);
      }
    } else if (!ended && !killed && now - term_at >= options.kill_grace) {
      killed = true;
      KillGroup(pid, SIGKILL);
    }

    // Sleep until output arrives or the next check is due. The child's end
    // is noticed by polling waitid (no SIGCHLD handler: this is a library),
    // more often once the pipes are closed and only the exit is awaited.
    const bool any_open = out.read.open() || err.read.open();
    Clock::duration wait = any_open ? milliseconds(50) : milliseconds(5);
    if (!ended && !stopping && has_deadline) wait = std::min(wait, deadline - now);
    if (!ended && stopping && !killed)
      wait = std::min(wait, term_at + options.kill_grace - now);
    pollfd fds[3];
    int n = 0;
    if (out.read.open()) fds[n++] = {out.read.get(), POLLIN, 0};
    if (err.read.open()) fds[n++] = {err.read.get(), POLLIN, 0};
    if (in.write.open()) fds[n++] = {in.write.get(), POLLOUT, 0};
    const int rc = ::poll(fds, static_cast<nfds_t>(n), CeilMs(wait));
    if (rc < 0) {
      if (errno == EINTR) continue;
      // Cannot happen with valid descriptors; stop reading rather than spin.
      out.read.Reset();
      err.read.Reset();
      continue;
    }
    for (int i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      if (in.write.open() && fds[i].fd == in.write.get()) {
        // POLLERR/POLLHUP: the reader is gone; the rest is dropped.
        const ssize_t put = (fds[i].revents & POLLOUT)
                                ? WriteNoSigpipe(in.write.get(), to_write.data(),
                                                 std::min<size_t>(to_write.size(), 1 << 16))
                                : -1;
        if (put > 0) to_write.remove_prefix(static_cast<size_t>(put));
        if ((put < 0 && errno != EINTR && errno != EAGAIN) || to_write.empty())
          in.write.Reset();
        continue;
      }
      const bool is_out = fds[i].fd == out.read.get();
      Fd& fd = is_out ? out.read : err.read;
      const ssize_t got = ::read(fd.get(), buf.data(), buf.size());
      if (got > 0) {
        if (is_out && options.on_stdout_line)
          lines.Append(buf.data(), static_cast<size_t>(got));
        else
          (is_out ? out_buf : err_buf).Append(buf.data(), static_cast<size_t>(got));
      } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        fd.Reset();
      }
    }
  }
  out.read.Reset();
  err.read.Reset();
  in.write.Reset();
  if (options.on_stdout_line) lines.Finish();

  int status = 0;
  pid_t waited;
  while ((waited = ::waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
  }
  if (waited != pid) {
    r.exit_code = -1;
    r.status_lost = true;
  } else if (WIFEXITED(status)) {
    r.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    r.exit_code = -1;
    r.signal = WTERMSIG(status);
#ifdef WCOREDUMP
    r.core_dumped = WCOREDUMP(status);
#endif
  }
  r.out = out_buf.Take();
  r.err = err_buf.Take();
  r.out_dropped = out_buf.dropped();
  r.err_dropped = err_buf.dropped();
  return r;
}

std::string SignalName(int signal) {
  switch (signal) {
#define EB_SIGNAL_CASE(s) \
  case s:                 \
    return #s;
    EB_SIGNAL_CASE(SIGHUP)
    EB_SIGNAL_CASE(SIGINT)
    EB_SIGNAL_CASE(SIGQUIT)
    EB_SIGNAL_CASE(SIGILL)
    EB_SIGNAL_CASE(SIGTRAP)
    EB_SIGNAL_CASE(SIGABRT)
    EB_SIGNAL_CASE(SIGBUS)
    EB_SIGNAL_CASE(SIGFPE)
    EB_SIGNAL_CASE(SIGKILL)
    EB_SIGNAL_CASE(SIGUSR1)
    EB_SIGNAL_CASE(SIGSEGV)
    EB_SIGNAL_CASE(SIGUSR2)
    EB_SIGNAL_CASE(SIGPIPE)
    EB_SIGNAL_CASE(SIGALRM)
    EB_SIGNAL_CASE(SIGTERM)
    EB_SIGNAL_CASE(SIGCHLD)
    EB_SIGNAL_CASE(SIGCONT)
    EB_SIGNAL_CASE(SIGSTOP)
    EB_SIGNAL_CASE(SIGTSTP)
    EB_SIGNAL_CASE(SIGTTIN)
    EB_SIGNAL_CASE(SIGTTOU)
    EB_SIGNAL_CASE(SIGURG)
    EB_SIGNAL_CASE(SIGXCPU)
    EB_SIGNAL_CASE(SIGXFSZ)
    EB_SIGNAL_CASE(SIGVTALRM)
    EB_SIGNAL_CASE(SIGPROF)
    EB_SIGNAL_CASE(SIGWINCH)
    EB_SIGNAL_CASE(SIGIO)
    EB_SIGNAL_CASE(SIGSYS)
#undef EB_SIGNAL_CASE
    default:
      return "signal " + std::to_string(signal);
  }
}

std::string LastLines(std::string_view text, int max_lines, size_t max_bytes) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
    text.remove_suffix(1);
  size_t begin = text.size();
  for (int lines = 0; lines < max_lines && begin > 0; ++lines) {
    const size_t nl = text.rfind('\n', begin - 1);
    if (nl == std::string_view::npos) {
      begin = 0;
      break;
    }
    begin = nl;  // the newline before the earliest line kept so far
  }
  std::string_view tail = text.substr(begin);
  if (!tail.empty() && tail.front() == '\n') tail.remove_prefix(1);
  if (tail.size() > max_bytes) tail = tail.substr(tail.size() - max_bytes);
  return std::string(tail);
}

}  // namespace edgebench
