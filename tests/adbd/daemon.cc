#include "tests/adbd/daemon.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tests/adbd/wire.h"

namespace edgebench::testing::adbd {
namespace {

using Clock = std::chrono::steady_clock;

// How long a process group that got SIGHUP has before SIGKILL.
constexpr auto kKillGrace = std::chrono::seconds(1);
// The most one read from a child's pipe or a pulled file adds to a stream.
constexpr size_t kReadChunk = 64 * 1024;

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) Reset(std::exchange(o.fd_, -1));
    return *this;
  }
  ~Fd() { Reset(); }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// Bytes appended at the back and consumed from the front; the front is
// dropped lazily so a 1 MiB message taken apart in 64 KiB pieces is not
// moved sixteen times.
class ByteQueue {
 public:
  size_t size() const { return data_.size() - head_; }
  bool empty() const { return size() == 0; }
  std::string_view view() const { return std::string_view(data_).substr(head_); }
  void Append(std::string_view s) { data_.append(s); }
  void Consume(size_t n) {
    head_ += n;
    if (head_ == data_.size()) {
      data_.clear();
      head_ = 0;
    } else if (head_ >= data_.size() / 2) {
      data_.erase(0, head_);
      head_ = 0;
    }
  }
  std::string Take(size_t n) {
    std::string s(view().substr(0, n));
    Consume(s.size());
    return s;
  }
  void Clear() {
    data_.clear();
    head_ = 0;
  }

 private:
  std::string data_;
  size_t head_ = 0;
};

bool g_verbose = false;

void Log(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void Log(const char* fmt, ...) {
  if (!g_verbose) return;
  va_list ap;
  va_start(ap, fmt);
  std::fprintf(stderr, "edgebench-test-adbd: ");
  std::vfprintf(stderr, fmt, ap);
  std::fputc('\n', stderr);
  va_end(ap);
}

std::string Printable(std::string_view s, size_t max = 120) {
  std::string out;
  for (char c : s.substr(0, max)) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) {
      out.push_back(c);
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", u);
      out += hex;
    }
  }
  if (s.size() > max) out += "...";
  return out;
}

void SetNonBlocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

class Daemon;

// One adb stream (an OPEN the client made): what the client writes arrives
// in Receive; what the stream has for the client collects in `out`, which
// the daemon sends as WRTE messages, one unacknowledged at a time.
class Stream {
 public:
  virtual ~Stream() = default;

  // One WRTE payload from the client.
  virtual void Receive(std::string_view data) = 0;
  // True while bytes from the client are still held here (a full stdin
  // pipe): the client's OKAY, and so its next WRTE, waits until then.
  virtual bool Busy() const { return false; }
  // The client closed the stream, or its connection is gone.
  virtual void Abort() = 0;
  // Descriptors to poll; `room` is how many bytes `out` may grow by before
  // the client has taken what is there (0: produce nothing now).
  virtual void AddPollFds(std::vector<pollfd>& fds, size_t room) = 0;
  virtual void OnPollEvent(const pollfd& p) = 0;
  // Called on every turn of the loop: produce output that needs no poll (a
  // file being pulled) and notice the end.
  virtual void Pump(size_t room) = 0;
  // A child this stream started ended with wait status `status`.
  virtual void OnChildExit(pid_t /*pid*/, int /*status*/) {}

  ByteQueue out;      // for the client, not yet sent
  bool done = false;  // nothing more comes: close once `out` is delivered
};

class Daemon {
 public:
  explicit Daemon(const DaemonOptions& options) : options_(options) {}
  int Run();

  const DaemonOptions& options() const { return options_; }

  // A child started by `owner`, reported to it when it ends.
  void WatchChild(pid_t pid, Stream* owner) { children_[pid] = owner; }
  // The owner is going away; the child is reaped without report.
  void DisownChild(pid_t pid) {
    auto it = children_.find(pid);
    if (it != children_.end()) it->second = nullptr;
  }
  void KillGroupLater(pid_t pgid) {
    pending_kills_.push_back({pgid, Clock::now() + kKillGrace});
  }
  void RememberGroup(pid_t pgid) { groups_.insert(pgid); }
  // Pushed file bytes arrived; true once the daemon is to vanish.
  bool CountPushedBytes(uint64_t n) {
    pushed_bytes_ += n;
    if (options_.die_after_sync_bytes > 0 &&
        pushed_bytes_ >= options_.die_after_sync_bytes)
      dying_ = true;
    return dying_;
  }
  bool dying() const { return dying_; }

 private:
  struct StreamEntry {
    std::unique_ptr<Stream> stream;
    uint32_t remote_id = 0;
    bool awaiting_okay = false;  // a WRTE of ours is not yet acknowledged
    bool owe_okay = false;       // a WRTE of the client's is not yet acknowledged
    bool is_sync = false;
    Clock::time_point okay_at;  // --sync-okay-delay-ms: not before then
  };
  struct Connection {
    Fd fd;
    ByteQueue in;
    ByteQueue out;
    bool online = false;
    uint32_t max_payload = kMaxPayload;
    std::map<uint32_t, StreamEntry> streams;  // by our local id
    bool dead = false;
  };
  struct PendingKill {
    pid_t pgid;
    Clock::time_point at;
  };
  // What each entry of the poll set belongs to.
  struct PollOwner {
    enum { kSignal, kListen, kConnection, kStream } kind;
    Connection* conn = nullptr;
    Stream* stream = nullptr;
  };

  bool Listen();
  void Accept();
  void ReadConnection(Connection& c);
  void WriteConnection(Connection& c);
  void HandleMessage(Connection& c, const Header& h, std::string_view payload);
  void Open(Connection& c, uint32_t remote_id, std::string_view service);
  void Send(Connection& c, uint32_t command, uint32_t arg0, uint32_t arg1,
            std::string_view payload = {});
  void DropConnection(Connection& c);
  void SendAuthToken(Connection& c);
  void Sweep(Connection& c);
  void HandleSignals(bool* stop);
  void ReapChildren();
  void RunPendingKills(bool all);
  int PollTimeoutMs() const;
  void Shutdown();

  DaemonOptions options_;
  Fd listen_fd_;
  Fd signal_fd_;
  std::vector<std::unique_ptr<Connection>> connections_;
  std::map<pid_t, Stream*> children_;  // unreaped children; owner or null
  std::vector<PendingKill> pending_kills_;
  std::set<pid_t> groups_;  // every process group started, for the final kill
  uint32_t next_local_id_ = 1;
  uint64_t pushed_bytes_ = 0;
  bool dying_ = false;
};

// ---------------------------------------------------------------------------
// shell: `shell,v2,TERM=xterm,raw:<cmd>` (shell protocol) and `shell:<cmd>`
// (raw bytes, stderr mixed into stdout, exit code lost).

class ShellStream : public Stream {
 public:
  ShellStream(Daemon* daemon, bool v2) : daemon_(daemon), v2_(v2) {}
  ~ShellStream() override {
    // A stream ends either after its child was reaped or through Abort.
    if (pid_ > 0 && !exited_) daemon_->DisownChild(pid_);
  }

  // Runs `command` with the shell's -c (the shell reading stdin when empty).
  bool Start(const std::string& term, const std::string& command, std::string* error) {
    int in[2], out[2], err[2] = {-1, -1};
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 ||
        (v2_ && ::pipe2(err, O_CLOEXEC) != 0)) {
      *error = std::string("pipe: ") + std::strerror(errno);
      return false;
    }
    const pid_t pid = ::fork();
    if (pid < 0) {
      *error = std::string("fork: ") + std::strerror(errno);
      for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]})
        if (fd >= 0) ::close(fd);
      return false;
    }
    if (pid == 0) {
      // A session and process group of its own, like adbd's children, so a
      // close can reach everything the command started.
      ::setsid();
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      // Dispositions the daemon inherited (an ignored SIGPIPE or SIGHUP from
      // the test runner) must not reach the command.
      for (int s = 1; s < NSIG; ++s) ::signal(s, SIG_DFL);
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      ::dup2(v2_ ? err[1] : out[1], 2);
      if (!term.empty()) ::setenv("TERM", term.c_str(), 1);
      if (::chdir("/") != 0) _exit(126);
      const char* sh = daemon_->options().shell.c_str();
      if (command.empty()) {
        ::execl(sh, sh, static_cast<char*>(nullptr));
      } else {
        ::execl(sh, sh, "-c", command.c_str(), static_cast<char*>(nullptr));
      }
      static const char kMsg[] = "edgebench-test-adbd: exec of the shell failed\n";
      ssize_t ignored = ::write(2, kMsg, sizeof kMsg - 1);
      (void)ignored;
      _exit(126);
    }
    ::close(in[0]);
    ::close(out[1]);
    if (v2_) ::close(err[1]);
    pid_ = pid;
    stdin_ = Fd(in[1]);
    stdout_ = Fd(out[0]);
    if (v2_) stderr_ = Fd(err[0]);
    SetNonBlocking(stdin_.get());
    SetNonBlocking(stdout_.get());
    if (v2_) SetNonBlocking(stderr_.get());
    daemon_->WatchChild(pid_, this);
    daemon_->RememberGroup(pid_);
    Log("shell pid %d: %s", pid_, Printable(command).c_str());
    return true;
  }

  void Receive(std::string_view data) override {
    if (!v2_) {
      QueueStdin(data);
    } else {
      in_.Append(data);
      std::string_view rest = in_.view();
      while (auto packet = TakeShellPacket(rest)) {
        switch (packet->id) {
          case kShellStdin:
            QueueStdin(packet->data);
            break;
          case kShellCloseStdin:
            close_stdin_ = true;
            break;
          default:  // window size and anything newer: no PTY here
            break;
        }
      }
      in_.Consume(in_.size() - rest.size());
      // A packet the client can never complete within one message is a
      // broken client; drop what it sent rather than buffer without end.
      if (rest.size() >= kShellHeaderBytes && ShellPacketLength(rest) > kMaxPayload)
        in_.Clear();
    }
    WriteStdin();
  }

  bool Busy() const override { return stdin_.valid() && !stdin_buf_.empty(); }

  void Abort() override {
    stdin_.Reset();
    stdout_.Reset();
    stderr_.Reset();
    if (pid_ <= 0) return;
    if (daemon_->options().on_shell_close == OnShellClose::kKillGroup) {
      Log("stream closed: SIGHUP, then SIGKILL, to process group %d", pid_);
      ::kill(-pid_, SIGHUP);
      ::kill(-pid_, SIGCONT);  // a stopped process acts on SIGHUP only once resumed
      daemon_->KillGroupLater(pid_);
    } else if (!exited_) {
      Log("stream closed: SIGHUP to pid %d", pid_);
      ::kill(pid_, SIGHUP);
    }
  }

  void AddPollFds(std::vector<pollfd>& fds, size_t room) override {
    if (room > 0) {
      if (stdout_.valid()) fds.push_back({stdout_.get(), POLLIN, 0});
      if (stderr_.valid()) fds.push_back({stderr_.get(), POLLIN, 0});
    }
    if (stdin_.valid() && !stdin_buf_.empty()) fds.push_back({stdin_.get(), POLLOUT, 0});
  }

  void OnPollEvent(const pollfd& p) override {
    if (p.fd == stdin_.get()) {
      WriteStdin();
    } else if (p.fd == stdout_.get()) {
      ReadOutput(stdout_, kShellStdout);
    } else if (p.fd == stderr_.get()) {
      ReadOutput(stderr_, kShellStderr);
    }
  }

  void Pump(size_t /*room*/) override {
    if (done || stdout_.valid() || stderr_.valid() || !exited_) return;
    // adbd reports the end only when the command exited and both output
    // pipes reached EOF (a background child holding stdout delays it).
    if (v2_) {
      int code = 1;
      if (WIFEXITED(status_)) code = WEXITSTATUS(status_);
      if (WIFSIGNALED(status_)) code = 128 + WTERMSIG(status_);
      const char byte = static_cast<char>(code);
      out.Append(EncodeShellPacket(kShellExit, std::string_view(&byte, 1)));
    }
    Log("shell pid %d ended, status 0x%x", pid_, status_);
    stdin_.Reset();
    done = true;
  }

  void OnChildExit(pid_t /*pid*/, int status) override {
    exited_ = true;
    status_ = status;
  }

 private:
  void QueueStdin(std::string_view data) {
    if (stdin_.valid()) stdin_buf_.Append(data);
  }

  void WriteStdin() {
    while (stdin_.valid() && !stdin_buf_.empty()) {
      const std::string_view pending = stdin_buf_.view();
      const ssize_t n = ::write(stdin_.get(), pending.data(), pending.size());
      if (n > 0) {
        stdin_buf_.Consume(static_cast<size_t>(n));
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && errno == EAGAIN) {
        return;
      } else {
        // The command closed its stdin (EPIPE): the rest has nowhere to go.
        stdin_buf_.Clear();
        stdin_.Reset();
      }
    }
    if (close_stdin_ && stdin_buf_.empty()) stdin_.Reset();
  }

  void ReadOutput(Fd& fd, uint8_t id) {
    char buf[kReadChunk];
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n > 0) {
      const std::string_view data(buf, static_cast<size_t>(n));
      if (v2_) {
        out.Append(EncodeShellPacket(id, data));
      } else {
        out.Append(data);
      }
    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      fd.Reset();
    }
  }

  Daemon* daemon_;
  bool v2_;
  pid_t pid_ = -1;
  bool exited_ = false;
  int status_ = 0;
  Fd stdin_, stdout_, stderr_;
  ByteQueue in_;         // shell protocol bytes not yet a whole packet
  ByteQueue stdin_buf_;  // for the command's stdin
  bool close_stdin_ = false;
};

// ---------------------------------------------------------------------------
// sync: requests (id + length + path), a file's DATA chunks after SEND, and
// DATA chunks back after RECV.

class SyncStream : public Stream {
 public:
  explicit SyncStream(Daemon* daemon) : daemon_(daemon) {}
  ~SyncStream() override { AbandonSend(); }

  void Receive(std::string_view data) override {
    in_.Append(data);
    Process();
  }

  void Abort() override {
    AbandonSend();
    file_.Reset();
    state_ = State::kEnded;
  }

  void AddPollFds(std::vector<pollfd>&, size_t) override {}
  void OnPollEvent(const pollfd&) override {}

  void Pump(size_t room) override {
    // RECV: the file goes out as DATA chunks while the client keeps up.
    size_t added = 0;
    while (state_ == State::kSendingFile && added < room) {
      char buf[kSyncDataMax];
      const ssize_t n = ::read(file_.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        Fail(std::string("read failed: ") + std::strerror(errno));
        return;
      }
      if (n == 0) {
        file_.Reset();
        out.Append(EncodeSync(kSyncDone, 0));
        state_ = State::kRequest;
        Process();
        return;
      }
      out.Append(EncodeSync(kSyncData, static_cast<uint32_t>(n),
                            std::string_view(buf, static_cast<size_t>(n))));
      added += static_cast<size_t>(n) + 8;
    }
  }

 private:
  enum class State {
    kRequest,      // waiting for a request
    kReceiving,    // after SEND: DATA chunks, then DONE
    kDiscarding,   // a SEND failed: DATA dropped until DONE, then the end
    kSendingFile,  // after RECV: Pump sends the file
    kEnded,
  };

  void Process() {
    while (!daemon_->dying()) {
      const std::string_view buf = in_.view();
      if (state_ == State::kEnded || state_ == State::kSendingFile || buf.size() < 8)
        return;
      const uint32_t id = LoadU32(buf.data());
      const uint32_t value = LoadU32(buf.data() + 4);
      if (state_ == State::kReceiving || state_ == State::kDiscarding) {
        if (id == kSyncData) {
          if (value > kSyncDataMax) return Fail("oversize data message");
          if (buf.size() < 8 + size_t{value}) return;
          if (state_ == State::kReceiving) WriteData(buf.substr(8, value));
          in_.Consume(8 + size_t{value});
        } else if (id == kSyncDone) {
          in_.Consume(8);
          FinishSend(value);
        } else {
          return Fail("invalid data message");
        }
        continue;
      }
      // A request with a path.
      if (value > kSyncPathMax) return Fail("path too long");
      if (buf.size() < 8 + size_t{value}) return;
      const std::string path(buf.substr(8, value));
      in_.Consume(8 + size_t{value});
      Log("sync %s %s", CommandName(id).c_str(), Printable(path).c_str());
      switch (id) {
        case kSyncStat:
          StatV1(path);
          break;
        case kSyncStat2:
        case kSyncLstat2:
          StatV2(id, path);
          break;
        case kSyncList:
        case kSyncList2:
          List(id == kSyncList2, path);
          break;
        case kSyncSend:
          StartSend(path);
          break;
        case kSyncRecv:
          StartRecv(path);
          break;
        case kSyncQuit:
          End();
          return;
        default: {
          char msg[48];
          std::snprintf(msg, sizeof msg, "unknown command %08x", id);
          return Fail(msg);
        }
      }
    }
  }

  void StatV1(const std::string& path) {
    struct stat st = {};
    ::lstat(path.c_str(), &st);  // zeros when missing, as adbd answers
    std::string m;
    AppendU32(m, kSyncStat);
    AppendU32(m, st.st_mode);
    AppendU32(m, static_cast<uint32_t>(st.st_size));
    AppendU32(m, static_cast<uint32_t>(st.st_mtime));
    out.Append(m);
  }

  static void AppendStatV2(std::string& m, const struct stat& st, uint32_t error) {
    AppendU32(m, error);
    AppendU64(m, error ? 0 : st.st_dev);
    AppendU64(m, error ? 0 : st.st_ino);
    AppendU32(m, error ? 0 : st.st_mode);
    AppendU32(m, error ? 0 : static_cast<uint32_t>(st.st_nlink));
    AppendU32(m, error ? 0 : st.st_uid);
    AppendU32(m, error ? 0 : st.st_gid);
    AppendU64(m, error ? 0 : static_cast<uint64_t>(st.st_size));
    AppendU64(m, error ? 0 : static_cast<uint64_t>(st.st_atime));
    AppendU64(m, error ? 0 : static_cast<uint64_t>(st.st_mtime));
    AppendU64(m, error ? 0 : static_cast<uint64_t>(st.st_ctime));
  }

  void StatV2(uint32_t id, const std::string& path) {
    struct stat st = {};
    const int rc =
        id == kSyncStat2 ? ::stat(path.c_str(), &st) : ::lstat(path.c_str(), &st);
    // The wire carries Linux errno values, which these are.
    const uint32_t error = rc == 0 ? 0 : static_cast<uint32_t>(errno);
    std::string m;
    AppendU32(m, id);
    AppendStatV2(m, st, error);
    out.Append(m);
  }

  void List(bool v2, const std::string& path) {
    std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(path.c_str()), ::closedir);
    while (dir) {
      const dirent* de = ::readdir(dir.get());
      if (!de) break;
      const std::string name = de->d_name;
      struct stat st = {};
      const bool ok = ::lstat((path + "/" + name).c_str(), &st) == 0;
      if (!ok && !v2) continue;
      std::string m;
      if (v2) {
        AppendU32(m, kSyncDent2);
        AppendStatV2(m, st, ok ? 0 : static_cast<uint32_t>(errno));
      } else {
        AppendU32(m, kSyncDent);
        AppendU32(m, st.st_mode);
        AppendU32(m, static_cast<uint32_t>(st.st_size));
        AppendU32(m, static_cast<uint32_t>(st.st_mtime));
      }
      AppendU32(m, static_cast<uint32_t>(name.size()));
      m += name;
      out.Append(m);
    }
    // DONE is a whole zeroed entry with the DONE id.
    std::string done_msg;
    AppendU32(done_msg, kSyncDone);
    done_msg.append(v2 ? 72 : 16, '\0');
    out.Append(done_msg);
  }

  void StartSend(const std::string& spec) {
    const size_t comma = spec.rfind(',');
    if (comma == std::string::npos) return Fail("missing , in ID_SEND");
    path_ = spec.substr(0, comma);
    errno = 0;
    mode_t mode = static_cast<mode_t>(std::strtoul(spec.c_str() + comma + 1, nullptr, 0));
    if (errno != 0) return Fail("bad mode");
    if (S_ISLNK(mode)) {
      // Symbolic links are pushed by `adb push` of a link; nothing here needs
      // them.
      return Fail("symlinks are not supported by edgebench-test-adbd");
    }
    // adbd copies the owner's permission bits to group and others.
    mode &= 0777;
    mode |= (mode >> 3) & 0070;
    mode |= (mode >> 3) & 0007;
    // Replacing a file unlinks it first, so a running binary can be
    // replaced (no ETXTBSY).
    struct stat st;
    if (::lstat(path_.c_str(), &st) != 0 || S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))
      ::unlink(path_.c_str());
    file_ = Fd(::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
    if (!file_.valid() && errno == ENOENT) {
      if (!MakeParents(path_)) return FailSend("secure_mkdirs failed: ", errno);
      file_ = Fd(::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
    }
    if (!file_.valid() && errno == EEXIST)
      file_ = Fd(::open(path_.c_str(), O_WRONLY | O_CLOEXEC, mode));
    if (!file_.valid()) return FailSend("couldn't create file: ", errno);
    ::fchmod(file_.get(), mode);
    created_ = true;
    state_ = State::kReceiving;
  }

  void WriteData(std::string_view data) {
    size_t done_bytes = 0;
    while (done_bytes < data.size()) {
      const ssize_t n =
          ::write(file_.get(), data.data() + done_bytes, data.size() - done_bytes);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        FailSend("write failed: ", n == 0 ? ENOSPC : errno);
        return;
      }
      done_bytes += static_cast<size_t>(n);
    }
    daemon_->CountPushedBytes(data.size());
  }

  void FinishSend(uint32_t mtime) {
    if (state_ == State::kDiscarding) {
      // adbd ends the sync service after a failed SEND.
      End();
      return;
    }
    file_.Reset();
    const struct timeval tv[2] = {{static_cast<time_t>(mtime), 0},
                                  {static_cast<time_t>(mtime), 0}};
    ::lutimes(path_.c_str(), tv);
    created_ = false;
    out.Append(EncodeSync(kSyncOkay, 0));
    state_ = State::kRequest;
  }

  void StartRecv(const std::string& path) {
    file_ = Fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!file_.valid()) {
      Fail(std::string("open failed: ") + std::strerror(errno));
      return;
    }
    state_ = State::kSendingFile;
  }

  static bool MakeParents(const std::string& path) {
    for (size_t slash = path.find('/', 1); slash != std::string::npos;
         slash = path.find('/', slash + 1)) {
      const std::string dir = path.substr(0, slash);
      if (::mkdir(dir.c_str(), 0775) != 0 && errno != EEXIST) return false;
    }
    return true;
  }

  // A SEND that cannot go on: FAIL now, the file's DATA is read and dropped
  // until its DONE, then the stream ends (as adbd does).
  void FailSend(const char* what, int err) {
    const std::string msg = std::string(what) + std::strerror(err);
    Log("sync FAIL %s", msg.c_str());
    out.Append(EncodeSync(kSyncFail, static_cast<uint32_t>(msg.size()), msg));
    AbandonSend();
    state_ = State::kDiscarding;
  }

  // FAIL and end the stream.
  void Fail(const std::string& message) {
    Log("sync FAIL %s", message.c_str());
    out.Append(EncodeSync(kSyncFail, static_cast<uint32_t>(message.size()), message));
    AbandonSend();
    End();
  }

  void End() {
    file_.Reset();
    state_ = State::kEnded;
    done = true;
  }

  // A file whose push did not complete is removed, as adbd does.
  void AbandonSend() {
    if (!created_) return;
    file_.Reset();
    ::unlink(path_.c_str());
    created_ = false;
  }

  Daemon* daemon_;
  ByteQueue in_;
  State state_ = State::kRequest;
  Fd file_;
  std::string path_;
  bool created_ = false;  // path_ was created by a SEND still under way
};

// ---------------------------------------------------------------------------

bool Daemon::Listen() {
  listen_fd_ = Fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!listen_fd_.valid()) {
    std::perror("edgebench-test-adbd: socket");
    return false;
  }
  const int one = 1;
  ::setsockopt(listen_fd_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(options_.port));
  if (::bind(listen_fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_.get(), 16) != 0) {
    std::fprintf(stderr, "edgebench-test-adbd: listen on 127.0.0.1:%d: %s\n",
                 options_.port, std::strerror(errno));
    return false;
  }
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  const int port = ntohs(addr.sin_port);
  Log("listening on 127.0.0.1:%d", port);
  if (!options_.port_file.empty()) {
    // Written whole and renamed into place, so a reader never sees half.
    const std::string tmp = options_.port_file + ".tmp";
    FILE* f = std::fopen(tmp.c_str(), "w");
    if (!f || std::fprintf(f, "%d\n", port) < 0 || std::fclose(f) != 0 ||
        std::rename(tmp.c_str(), options_.port_file.c_str()) != 0) {
      std::fprintf(stderr, "edgebench-test-adbd: cannot write %s: %s\n",
                   options_.port_file.c_str(), std::strerror(errno));
      return false;
    }
  }
  return true;
}

void Daemon::Accept() {
  while (true) {
    Fd fd(::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!fd.valid()) return;
    const int one = 1;
    ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto c = std::make_unique<Connection>();
    c->fd = std::move(fd);
    Log("connection accepted");
    connections_.push_back(std::move(c));
  }
}

void Daemon::Send(Connection& c, uint32_t command, uint32_t arg0, uint32_t arg1,
                  std::string_view payload) {
  Log("-> %s %u %u %zu bytes%s%s", CommandName(command).c_str(), arg0, arg1,
      payload.size(), command == kCnxn ? " " : "",
      command == kCnxn ? Printable(payload).c_str() : "");
  c.out.Append(EncodeMessage(command, arg0, arg1, payload));
}

void Daemon::ReadConnection(Connection& c) {
  char buf[256 * 1024];
  while (!c.dead) {
    const ssize_t n = ::read(c.fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    if (n <= 0) {
      Log("connection closed by the client");
      DropConnection(c);
      return;
    }
    c.in.Append(std::string_view(buf, static_cast<size_t>(n)));
    if (static_cast<size_t>(n) < sizeof buf) break;
  }
  while (!c.dead && !dying_ && c.in.size() >= kHeaderBytes) {
    const Header h = DecodeHeader(c.in.view());
    if (h.magic != (h.command ^ 0xffffffffu) || h.data_length > kMaxPayload) {
      std::fprintf(stderr,
                   "edgebench-test-adbd: bad message header (%s, %u bytes); dropping "
                   "the connection\n",
                   CommandName(h.command).c_str(), h.data_length);
      DropConnection(c);
      return;
    }
    if (c.in.size() < kHeaderBytes + h.data_length) break;
    const std::string payload(c.in.view().substr(kHeaderBytes, h.data_length));
    c.in.Consume(kHeaderBytes + h.data_length);
    HandleMessage(c, h, payload);
  }
}

void Daemon::HandleMessage(Connection& c, const Header& h, std::string_view payload) {
  Log("<- %s %u %u %zu bytes%s%s", CommandName(h.command).c_str(), h.arg0, h.arg1,
      payload.size(), h.command == kOpen || h.command == kCnxn ? " " : "",
      h.command == kOpen || h.command == kCnxn ? Printable(payload).c_str() : "");
  if (h.command == kCnxn) {
    // A new CNXN on a live connection restarts it: the host forgot its
    // streams.
    for (auto& [id, e] : c.streams) e.stream->Abort();
    c.streams.clear();
    if (options_.unauthorized) {
      SendAuthToken(c);
      return;
    }
    c.online = true;
    c.max_payload = std::min(h.arg1, kMaxPayload);
    const std::string banner = "device::ro.product.name=" + options_.product +
                               ";ro.product.model=" + options_.model +
                               ";ro.product.device=" + options_.device +
                               ";features=shell_v2,cmd,stat_v2,ls_v2,fixed_push_mkdir";
    Send(c, kCnxn, kVersion, kMaxPayload, banner);
    return;
  }
  if (h.command == kAuth && options_.unauthorized) {
    // A signature never verifies: ask again, as adbd does, until the host
    // offers its public key, which then waits for a user who never comes.
    if (h.arg0 == kAuthSignature) SendAuthToken(c);
    return;
  }
  if (!c.online) return;
  switch (h.command) {
    case kOpen:
      if (h.arg0 != 0) Open(c, h.arg0, payload);
      break;
    case kOkay: {
      auto it = c.streams.find(h.arg1);
      if (it != c.streams.end()) it->second.awaiting_okay = false;
      break;
    }
    case kWrte: {
      auto it = c.streams.find(h.arg1);
      if (it == c.streams.end()) break;
      it->second.stream->Receive(payload);
      it->second.owe_okay = true;  // sent by Sweep once the stream took it all
      if (it->second.is_sync && options_.sync_okay_delay_ms > 0)
        it->second.okay_at =
            Clock::now() + std::chrono::milliseconds(options_.sync_okay_delay_ms);
      break;
    }
    case kClse: {
      auto it = c.streams.find(h.arg1);
      if (it == c.streams.end()) break;
      it->second.stream->Abort();
      c.streams.erase(it);
      break;
    }
    default:
      break;  // AUTH (never asked for) and anything newer
  }
}

void Daemon::Open(Connection& c, uint32_t remote_id, std::string_view service) {
  // The client sends the name NUL-terminated.
  while (!service.empty() && service.back() == '\0') service.remove_suffix(1);
  std::unique_ptr<Stream> stream;
  if (service == "shell" || service.starts_with("shell:") ||
      service.starts_with("shell,")) {
    // shell[,arg,...]:command — arguments: v2, TERM=..., raw, pty.
    const size_t colon = service.find(':');
    const std::string command(
        colon == std::string_view::npos ? "" : service.substr(colon + 1));
    std::string_view args = service.substr(0, colon);
    args.remove_prefix(5);  // "shell"
    bool v2 = false;
    std::string term;
    while (!args.empty()) {
      args.remove_prefix(1);  // ','
      const std::string_view arg = args.substr(0, args.find(','));
      args.remove_prefix(arg.size());
      if (arg == "v2") v2 = true;
      if (arg.starts_with("TERM=")) term = std::string(arg.substr(5));
    }
    auto shell = std::make_unique<ShellStream>(this, v2);
    std::string error;
    if (!shell->Start(term, command, &error)) {
      std::fprintf(stderr, "edgebench-test-adbd: %s\n", error.c_str());
    } else {
      stream = std::move(shell);
    }
  } else if (service == "sync:") {
    stream = std::make_unique<SyncStream>(this);
  }
  if (!stream) {
    Send(c, kClse, 0, remote_id);
    return;
  }
  const uint32_t local_id = next_local_id_++;
  if (next_local_id_ == 0) next_local_id_ = 1;
  StreamEntry& e = c.streams[local_id];
  e.is_sync = service == "sync:";
  e.stream = std::move(stream);
  e.remote_id = remote_id;
  Send(c, kOkay, local_id, remote_id);
}

void Daemon::SendAuthToken(Connection& c) {
  // Any 20 bytes do: nobody can sign them to our liking.
  Send(c, kAuth, kAuthToken, 0, std::string(20, 'e'));
}

void Daemon::DropConnection(Connection& c) {
  for (auto& [id, e] : c.streams) e.stream->Abort();
  c.streams.clear();
  c.fd.Reset();
  c.dead = true;
}

void Daemon::Sweep(Connection& c) {
  for (auto it = c.streams.begin(); it != c.streams.end();) {
    StreamEntry& e = it->second;
    Stream& s = *e.stream;
    const size_t room = s.out.size() < c.max_payload ? c.max_payload - s.out.size() : 0;
    s.Pump(room);
    if (e.owe_okay && !s.Busy() && Clock::now() >= e.okay_at) {
      Send(c, kOkay, it->first, e.remote_id);
      e.owe_okay = false;
    }
    if (!e.awaiting_okay && !s.out.empty()) {
      const std::string chunk = s.out.Take(c.max_payload);
      Send(c, kWrte, it->first, e.remote_id, chunk);
      e.awaiting_okay = true;
    }
    if (s.done && s.out.empty() && !e.awaiting_okay) {
      Send(c, kClse, it->first, e.remote_id);
      it = c.streams.erase(it);
    } else {
      ++it;
    }
  }
}

void Daemon::WriteConnection(Connection& c) {
  while (!c.dead && !c.out.empty()) {
    const std::string_view pending = c.out.view();
    const ssize_t n = ::send(c.fd.get(), pending.data(), pending.size(), MSG_NOSIGNAL);
    if (n > 0) {
      c.out.Consume(static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && errno == EAGAIN) {
      return;
    } else {
      Log("connection lost: %s", std::strerror(errno));
      DropConnection(c);
    }
  }
}

void Daemon::ReapChildren() {
  while (true) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    auto it = children_.find(pid);
    if (it == children_.end()) continue;
    Stream* owner = it->second;
    children_.erase(it);
    if (owner) owner->OnChildExit(pid, status);
  }
}

void Daemon::RunPendingKills(bool all) {
  const auto now = Clock::now();
  for (auto it = pending_kills_.begin(); it != pending_kills_.end();) {
    if (all || it->at <= now) {
      if (::kill(-it->pgid, SIGKILL) == 0) Log("SIGKILL to process group %d", it->pgid);
      it = pending_kills_.erase(it);
    } else {
      ++it;
    }
  }
}

int Daemon::PollTimeoutMs() const {
  std::optional<Clock::time_point> next;
  auto consider = [&](Clock::time_point t) { next = next ? std::min(*next, t) : t; };
  for (const PendingKill& k : pending_kills_) consider(k.at);
  for (const auto& c : connections_) {
    for (const auto& [id, e] : c->streams)
      if (e.owe_okay && e.okay_at != Clock::time_point()) consider(e.okay_at);
  }
  if (!next) return -1;
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(*next - Clock::now()).count();
  return static_cast<int>(std::clamp<int64_t>(ms + 1, 0, 60'000));
}

void Daemon::HandleSignals(bool* stop) {
  signalfd_siginfo info;
  while (::read(signal_fd_.get(), &info, sizeof info) == sizeof info) {
    if (info.ssi_signo == SIGCHLD) {
      ReapChildren();
    } else {
      Log("signal %u: stopping", info.ssi_signo);
      *stop = true;
    }
  }
}

void Daemon::Shutdown() {
  for (auto& c : connections_) {
    if (!c->dead) DropConnection(*c);
  }
  connections_.clear();
  // Nothing a test started outlives its fake device.
  for (pid_t pgid : groups_) ::kill(-pgid, SIGKILL);
  pending_kills_.clear();
  for (const auto& [pid, owner] : children_) {
    int status;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  children_.clear();
}

int Daemon::Run() {
  g_verbose = options_.verbose;
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t mask;
  sigemptyset(&mask);
  for (int s : {SIGCHLD, SIGTERM, SIGINT, SIGHUP}) sigaddset(&mask, s);
  ::sigprocmask(SIG_BLOCK, &mask, nullptr);
  signal_fd_ = Fd(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!signal_fd_.valid()) {
    std::perror("edgebench-test-adbd: signalfd");
    return 1;
  }
  if (!Listen()) return 1;

  bool stop = false;
  std::vector<pollfd> fds;
  std::vector<PollOwner> owners;
  while (!stop) {
    fds.clear();
    owners.clear();
    fds.push_back({signal_fd_.get(), POLLIN, 0});
    owners.push_back({PollOwner::kSignal});
    fds.push_back({listen_fd_.get(), POLLIN, 0});
    owners.push_back({PollOwner::kListen});
    for (auto& c : connections_) {
      fds.push_back(
          {c->fd.get(), static_cast<short>(POLLIN | (c->out.empty() ? 0 : POLLOUT)), 0});
      owners.push_back({PollOwner::kConnection, c.get()});
      for (auto& [id, e] : c->streams) {
        Stream& s = *e.stream;
        const size_t room =
            s.out.size() < c->max_payload ? c->max_payload - s.out.size() : 0;
        const size_t before = fds.size();
        s.AddPollFds(fds, room);
        for (size_t i = before; i < fds.size(); ++i)
          owners.push_back({PollOwner::kStream, c.get(), &s});
      }
    }
    const int ready = ::poll(fds.data(), fds.size(), PollTimeoutMs());
    if (ready < 0 && errno != EINTR) {
      std::perror("edgebench-test-adbd: poll");
      break;
    }
    for (size_t i = 0; ready > 0 && i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      const PollOwner& o = owners[i];
      switch (o.kind) {
        case PollOwner::kSignal:
          HandleSignals(&stop);
          break;
        case PollOwner::kListen:
          Accept();
          break;
        case PollOwner::kConnection:
          if (o.conn->dead) break;
          if (fds[i].revents & POLLOUT) WriteConnection(*o.conn);
          if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) ReadConnection(*o.conn);
          break;
        case PollOwner::kStream: {
          // The stream may have gone with an earlier event of this turn.
          bool alive = false;
          for (auto& [id, e] : o.conn->streams) alive |= e.stream.get() == o.stream;
          if (alive) o.stream->OnPollEvent(fds[i]);
          break;
        }
      }
      if (dying_) break;
    }
    if (dying_) {
      std::fprintf(stderr,
                   "edgebench-test-adbd: %llu bytes pushed: vanishing "
                   "(--die-after-sync-bytes)\n",
                   static_cast<unsigned long long>(pushed_bytes_));
      break;
    }
    ReapChildren();
    RunPendingKills(false);
    for (auto& c : connections_) {
      if (c->dead) continue;
      Sweep(*c);
      WriteConnection(*c);
    }
    std::erase_if(connections_, [](const auto& c) { return c->dead; });
  }
  Shutdown();
  return 0;
}

}  // namespace

int RunDaemon(const DaemonOptions& options) {
  Daemon daemon(options);
  return daemon.Run();
}

}  // namespace edgebench::testing::adbd
