#include "harness/transport/ssh/ssh_transport.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <string_view>
#include <thread>
#include <utility>

#include "base/subprocess.h"
#include "harness/transport/internal/clients.h"
#include "harness/transport/internal/transfer.h"

namespace edgebench::harness {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::seconds;

// ssh's TCP connect and banner; the whole login (key exchange,
// authentication, a slow board) gets kConnectDeadline.
constexpr int kConnectTimeoutS = 10;
constexpr auto kConnectDeadline = seconds(60);
// How often the master's socket is looked for while it logs in.
constexpr auto kMasterPoll = std::chrono::milliseconds(20);
// Our own short calls: kill, the exit-255 check, clean-up.
constexpr auto kControlDeadline = seconds(15);
// A vanished board (power cut, cable pulled) is noticed after about
// interval × count seconds of silence instead of TCP's minutes.
constexpr int kAliveIntervalS = 3;
constexpr int kAliveCount = 3;
constexpr auto kProgressPeriod = std::chrono::milliseconds(200);
constexpr size_t kCaptureBytes = size_t{1} << 20;

// Every remote command runs as `sh -c WRAPPER sh PIDFILE ARGV...`: it records
// its pid for KillAll and a timeout, then runs ARGV as a child (not exec, so
// the shell reports a signal as 128+N; ssh would turn an exit-signal into its
// own exit code 255), and leaves PIDFILE.255 when ARGV itself exits 255, to
// tell that apart from ssh's failures.
constexpr char kWrapper[] =
    "p=$1; shift; { echo $$ > \"$p\"; } 2>/dev/null; \"$@\"; e=$?; "
    "[ $e -ne 255 ] || { : > \"$p.255\"; } 2>/dev/null; exit $e";

// Kills the process group of each pid in the given pid files (the login
// shell's: sshd starts every session in a group of its own), or the pid alone
// where /proc cannot tell the group. Never its own group, init's or 0.
constexpr char kKillScript[] =
    "me=\n"
    "for f do\n"
    "  if [ -z \"$me\" ] && read -r s < /proc/$$/stat; then\n"
    "    s=${s##*) }; set -- $s; me=$3\n"
    "  fi\n"
    "  read -r p < \"$f\" || continue\n"
    "  case $p in ''|*[!0-9]*) continue;; esac\n"
    "  g=\n"
    "  if read -r s < \"/proc/$p/stat\"; then s=${s##*) }; set -- $s; g=$3; fi\n"
    "  case $g in ''|*[!0-9]*|0|1) ;; *) [ \"$g\" = \"$me\" ] || kill -9 -$g;; esac\n"
    "  kill -9 $p\n"
    "done 2>/dev/null\n"
    "exit 0\n";

constexpr char kMakeRemoteDir[] = "mktemp -d \"${TMPDIR:-/tmp}/edgebench-ssh.XXXXXX\"";

// A new file is created 0755, as the local transport does (runtime binaries
// must be executable); an existing one keeps its mode.
constexpr char kPushScript[] =
    "[ -e \"$1\" ] || { : > \"$1\" && chmod 755 \"$1\"; } || exit; exec cat > \"$1\"";
constexpr char kPullScript[] = "exec cat < \"$1\"";
// Locally: ssh's stdout straight into the file (RunSubprocess keeps stdout
// in memory), without the bytes passing through this process.
constexpr char kPullRedirect[] = "f=$1; shift; exec \"$@\" > \"$f\"";

std::string ErrText(const std::string& err) { return LastLines(err, 6, 2000); }

// The most specific code for a remote cat that failed, from its words.
Status RemoteFileError(const std::string& what, const std::string& err) {
  const std::string text = what + ": " + ErrText(err);
  // GNU, busybox and toybox say "No such file or directory"; dash's
  // redirection says "Directory nonexistent".
  if (err.find("No such file") != std::string::npos ||
      err.find("nonexistent") != std::string::npos)
    return NotFoundError(text);
  if (err.find("Permission denied") != std::string::npos ||
      err.find("Read-only file system") != std::string::npos)
    return PermissionDeniedError(text);
  if (err.find("No space") != std::string::npos) return ResourceExhaustedError(text);
  if (err.find("Is a directory") != std::string::npos) return InvalidArgumentError(text);
  return FailedPreconditionError(text);
}

// The master's socket name in the control folder: one per transport (a
// shared folder never mixes two transports' masters), short (a socket path
// must fit in 108 bytes).
std::string ControlName() {
  static std::atomic<uint64_t> next{0};
  return "m" + std::to_string(::getpid()) + "-" + std::to_string(next++);
}

class SshTransport final : public Transport {
 public:
  SshTransport(SshOptions options, std::string name, std::string control_dir,
               bool own_control_dir)
      : options_(std::move(options)),
        name_(std::move(name)),
        control_dir_(std::move(control_dir)),
        own_control_dir_(own_control_dir),
        control_path_(control_dir_ + "/" + ControlName()) {}

  ~SshTransport() override {
    KillAll().IgnoreError();
    std::unique_lock<std::mutex> lock(master_mu_);
    // Clean up on the board only over a live master: a board that is gone
    // would otherwise cost a full connect timeout here.
    if (master_running_ && !remote_dir_.empty()) {
      lock.unlock();
      SubprocessOptions o;
      o.timeout = kControlDeadline;
      RunSubprocess(SshArgv(ShellCommand({"rm", "-rf", remote_dir_})), o);
      lock.lock();
    }
    StopMasterLocked(lock);
    if (own_control_dir_) {
      std::error_code ec;
      std::filesystem::remove_all(control_dir_, ec);
    }
  }

  std::string_view kind() const override { return "ssh"; }
  const std::string& name() const override { return name_; }

  Status Connect() {
    RETURN_IF_ERROR(EnsureMaster());
    SubprocessOptions o;
    o.timeout = kConnectDeadline;
    o.capture_bytes = kCaptureBytes;
    const SubprocessResult r =
        RunSubprocess(SshArgv(ShellCommand({"sh", "-c", kMakeRemoteDir})), o);
    const std::string cannot = name_ + ": cannot connect to " + Destination();
    if (!r.spawn_status.ok())
      return Status(r.spawn_status.code(), cannot + ": " + r.spawn_status.message());
    if (r.timed_out) return UnavailableError(cannot + ": " + SshWords(r));
    if (r.exit_code == 255 || r.signal != 0)
      return UnavailableError(cannot + ": " + SshWords(r));
    std::string dir = r.out;
    while (!dir.empty() && (dir.back() == '\n' || dir.back() == '\r')) dir.pop_back();
    if (r.exit_code != 0 || dir.empty() || dir[0] != '/' ||
        dir.find('\n') != std::string::npos) {
      return FailedPreconditionError(name_ +
                                     ": cannot make a temporary folder on the board (" +
                                     std::string(kMakeRemoteDir) + "): exit code " +
                                     std::to_string(r.exit_code) + ": " + ErrText(r.err));
    }
    remote_dir_ = dir;
    return Status::Ok();
  }

  Result<ExecResult> Exec(const std::vector<std::string>& argv,
                          const ExecOptions& options) override {
    if (argv.empty()) return InvalidArgumentError(name_ + ": empty command");
    RETURN_IF_ERROR(EnsureMaster());
    SubprocessOptions o;
    if (options.timeout_s > 0) {
      o.timeout = std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::duration<double>(options.timeout_s));
    }
    o.cancel = options.cancel;
    if (!options.stdin_data.empty()) o.stdin_data = options.stdin_data;
    o.on_stdout_line = options.on_line;
    o.capture_bytes = kCaptureBytes;
    Tracked t = RunTracked(argv, std::move(o));
    const std::string what = "\"" + argv[0] + "\"";
    if (!t.r.spawn_status.ok())
      return Status(t.r.spawn_status.code(), name_ + ": " + t.r.spawn_status.message());
    if (t.r.cancelled) return CancelledError(name_ + ": " + what + " cancelled");
    ExecResult e;
    e.out = std::move(t.r.out);
    e.err = std::move(t.r.err);
    if (t.r.timed_out || (t.killed && t.r.exit_code != 0)) {
      // Killed on the board by us (after a timeout, or by KillAll).
      e.exit_code = -1;
      e.signal = SIGKILL;
      e.timed_out = t.r.timed_out;
      return e;
    }
    if (t.r.signal != 0) {
      return UnavailableError(name_ + ": " + what + ": the ssh client was killed by " +
                              SignalName(t.r.signal));
    }
    if (t.r.exit_code == 255 && !RemoteExited255(t.pid_file)) {
      return UnavailableError(name_ + ": " + what + ": " + FailureWords(t.r));
    }
    e.exit_code = t.r.exit_code;
    return e;
  }

  Status Push(const std::string& local, const std::string& remote,
              const ProgressFn& progress) override {
    const std::string what = name_ + ": push \"" + local + "\" to \"" + remote + "\"";
    struct stat st = {};
    if (::stat(local.c_str(), &st) != 0) return ErrnoToStatus(errno, what);
    if (S_ISDIR(st.st_mode)) return InvalidArgumentError(what + ": a folder, not a file");
    RETURN_IF_ERROR(EnsureMaster());
    // ssh reads the file on its stdin (or hands the descriptor to the
    // master, which shares its position).
    internal::PushProgress reporter(
        progress, S_ISREG(st.st_mode) ? static_cast<uint64_t>(st.st_size) : 0,
        [](pid_t pid, uint64_t* pos) { return internal::ReadFdPos(pid, 0, pos); });
    SubprocessOptions o;
    o.stdin_file = local;
    o.capture_bytes = kCaptureBytes;
    o.on_start = [&](pid_t pid) { reporter.Start(pid); };
    Tracked t = RunTracked({"sh", "-c", kPushScript, "sh", remote}, std::move(o));
    const Status s = TransferStatus(t, what);
    reporter.Finish(s.ok());
    RETURN_IF_ERROR(s);
    return Status::Ok();
  }

  Status Pull(const std::string& remote, const std::string& local) override {
    const std::string what = name_ + ": pull \"" + remote + "\" to \"" + local + "\"";
    RETURN_IF_ERROR(EnsureMaster());
    return internal::PullIntoPlace(local, what, [&](const std::string& tmp) {
      SubprocessOptions o;
      o.capture_bytes = kCaptureBytes;
      Tracked t = RunTracked({"sh", "-c", kPullScript, "sh", remote}, std::move(o),
                             {"/bin/sh", "-c", kPullRedirect, "sh", tmp});
      return TransferStatus(t, what);
    });
  }

  Status KillAll() override {
    // Every command here runs under a pid file.
    const std::vector<std::string> pid_files = clients_.MarkAllKilled();
    if (pid_files.empty()) return Status::Ok();
    // The board first: once the remote commands are gone the local clients
    // end by themselves; the other order leaves the commands running.
    const Status remote = KillRemote(pid_files);
    clients_.KillLocal();
    return remote;
  }

 private:
  struct Tracked {
    SubprocessResult r;
    std::string pid_file;
    bool killed = false;
  };

  // "user@host:port (via jump)", as the error messages show it.
  std::string Destination() const {
    std::string d =
        options_.user.empty() ? options_.host : options_.user + "@" + options_.host;
    if (options_.port != 0) d += ":" + std::to_string(options_.port);
    if (!options_.jump.empty()) d += " via " + options_.jump;
    return d;
  }

  // ssh and its options up to the destination (extra_args first: the first
  // value ssh sees for an option wins). `master`: the call that holds the
  // connection; every other call is a client of it, or connects by itself
  // when the master is gone (ControlMaster=no).
  std::vector<std::string> BaseArgv(bool master = false) const {
    std::vector<std::string> a = {options_.ssh};
    a.insert(a.end(), options_.extra_args.begin(), options_.extra_args.end());
    if (!options_.user.empty()) a.insert(a.end(), {"-l", options_.user});
    if (options_.port != 0) a.insert(a.end(), {"-p", std::to_string(options_.port)});
    if (!options_.identity.empty()) a.insert(a.end(), {"-i", options_.identity});
    if (!options_.jump.empty()) a.insert(a.end(), {"-J", options_.jump});
    for (const std::string& o :
         {std::string("BatchMode=yes"),
          "ConnectTimeout=" + std::to_string(kConnectTimeoutS),
          std::string(master ? "ControlMaster=yes" : "ControlMaster=no"),
          "ControlPath=" + control_path_,
          "ServerAliveInterval=" + std::to_string(kAliveIntervalS),
          "ServerAliveCountMax=" + std::to_string(kAliveCount)}) {
      a.insert(a.end(), {"-o", o});
    }
    a.push_back("-T");
    return a;
  }

  // The ssh call running `remote_command` (one argument: a command line for
  // the board's shell).
  std::vector<std::string> SshArgv(const std::string& remote_command) const {
    std::vector<std::string> a = BaseArgv();
    a.insert(a.end(), {options_.host, "--", remote_command});
    return a;
  }

  // Ok once the master is logged in (it is started, or restarted after it
  // died: a board that rebooted), else kUnavailable with ssh's words.
  //
  // The master runs in the foreground (-N) on a thread of ours for as long
  // as the transport lives, not daemonised by ControlPersist: a daemonised
  // master leaves its ProxyJump/ProxyCommand child in the process group of
  // the call that started it, which RunSubprocess kills when that call ends,
  // taking the master's connection with it.
  Status EnsureMaster() {
    std::unique_lock<std::mutex> lock(master_mu_);
    if (master_running_) return Status::Ok();
    if (master_thread_.joinable()) master_thread_.join();
    // A master that was killed leaves its socket behind; a new one would
    // then run without multiplexing ("already exists") and the wait below
    // would take the stale file for it. The path is ours alone.
    ::unlink(control_path_.c_str());
    master_running_ = true;
    master_stop_ = false;
    master_thread_ = std::thread([this] {
      std::vector<std::string> argv = BaseArgv(/*master=*/true);
      argv.insert(argv.end(), {"-N", options_.host});
      SubprocessOptions o;
      o.cancel = &master_stop_;
      o.on_start = [this](pid_t pid) { master_pid_ = pid; };
      o.capture_bytes = kCaptureBytes;
      SubprocessResult r = RunSubprocess(argv, o);
      std::lock_guard<std::mutex> lock(master_mu_);
      master_result_ = std::move(r);
      master_running_ = false;
      master_cv_.notify_all();
    });
    // The socket appears once the master has logged in.
    const Clock::time_point deadline = Clock::now() + kConnectDeadline;
    const std::string cannot = name_ + ": cannot connect to " + Destination();
    for (;;) {
      if (!master_running_) {
        master_thread_.join();
        const SubprocessResult& r = master_result_;
        if (!r.spawn_status.ok())
          return Status(r.spawn_status.code(), cannot + ": " + r.spawn_status.message());
        return UnavailableError(cannot + ": " + SshWords(r));
      }
      struct stat st = {};
      if (::stat(control_path_.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) break;
      if (Clock::now() >= deadline) {
        StopMasterLocked(lock);
        return UnavailableError(
            cannot + ": not logged in within " +
            std::to_string(kConnectDeadline.count()) + " s" +
            (master_result_.err.empty() ? "" : ": " + ErrText(master_result_.err)));
      }
      master_cv_.wait_for(lock, kMasterPoll);
    }
    if (!remote_dir_.empty()) {  // not the first master: Connect makes the folder
      // The board may have rebooted and cleared its /tmp: the pid files
      // need their folder back (without it KillAll could not find them).
      SubprocessOptions o;
      o.timeout = kControlDeadline;
      RunSubprocess(
          SshArgv(ShellCommand({"mkdir", "-p", "-m", "700", "--", remote_dir_})), o);
    }
    return Status::Ok();
  }

  // REQUIRES: `lock` holds master_mu_.
  void StopMasterLocked(std::unique_lock<std::mutex>& lock) {
    master_stop_ = true;  // RunSubprocess: SIGTERM to the master and its proxy
    master_cv_.wait(lock, [this] { return !master_running_; });
    if (master_thread_.joinable()) master_thread_.join();
  }

  // ssh's own words for a failure (exit code 255).
  static std::string SshWords(const SubprocessResult& r) {
    if (r.timed_out) return "no answer" + (r.err.empty() ? "" : ": " + ErrText(r.err));
    if (r.signal != 0) return "ssh killed by " + SignalName(r.signal);
    const std::string err = ErrText(r.err);
    return err.empty() ? "ssh failed (exit code 255) without saying why" : err;
  }

  // Runs `argv` on the board under the wrapper, known to KillAll while it
  // runs and killed on the board after a timeout or cancel. `local_prefix`
  // goes before the ssh command line (the pull's redirection).
  Tracked RunTracked(const std::vector<std::string>& argv, SubprocessOptions o,
                     const std::vector<std::string>& local_prefix = {}) {
    Tracked t;
    const uint64_t id = clients_.NextId();
    t.pid_file = remote_dir_ + "/" + std::to_string(id);
    std::vector<std::string> remote = {"sh", "-c", kWrapper, "sh", t.pid_file};
    remote.insert(remote.end(), argv.begin(), argv.end());
    std::vector<std::string> full = local_prefix;
    for (std::string& a : SshArgv(ShellCommand(remote))) full.push_back(std::move(a));
    internal::Clients::Ended ended = clients_.Run(id, full, std::move(o), t.pid_file);
    t.r = std::move(ended.r);
    t.killed = ended.killed;
    // Killing the local client left the command running on the board.
    if ((t.r.timed_out || t.r.cancelled) && !t.killed)
      KillRemote({t.pid_file}).IgnoreError();
    return t;
  }

  // The status of a push or pull that ran.
  Status TransferStatus(const Tracked& t, const std::string& what) {
    if (!t.r.spawn_status.ok())
      return Status(t.r.spawn_status.code(), what + ": " + t.r.spawn_status.message());
    if (t.killed) return CancelledError(what + ": killed (KillAll)");
    if (t.r.exit_code == 255 || t.r.signal != 0)
      return UnavailableError(what + ": " + FailureWords(t.r));
    if (t.r.exit_code != 0) return RemoteFileError(what, t.r.err);
    return Status::Ok();
  }

  Status KillRemote(const std::vector<std::string>& pid_files) {
    std::vector<std::string> remote = {"sh", "-c", kKillScript, "sh"};
    remote.insert(remote.end(), pid_files.begin(), pid_files.end());
    SubprocessOptions o;
    o.timeout = kControlDeadline;
    const SubprocessResult r = RunSubprocess(SshArgv(ShellCommand(remote)), o);
    if (r.spawn_status.ok() && r.exit_code == 0) return Status::Ok();
    return UnavailableError(
        name_ + ": cannot kill the commands on the board: " +
        (r.spawn_status.ok() ? SshWords(r) : r.spawn_status.message()));
  }

  // Whether the master process runs (it may have ended a moment before its
  // thread says so).
  bool MasterAlive() const {
    const pid_t pid = master_pid_;
    if (pid <= 0) return false;
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string stat;
    if (!std::getline(f, stat)) return false;
    const size_t paren = stat.rfind(')');
    return paren != std::string::npos && paren + 2 < stat.size() &&
           stat[paren + 2] != 'Z';
  }

  // Why a call failed with ssh's exit code 255: its own words, and when the
  // master is gone, the master's ("Timeout, server not responding"), which a
  // client of it never sees.
  std::string FailureWords(const SubprocessResult& r) {
    std::string words = r.err.empty() && r.signal == 0 ? "" : SshWords(r);
    std::unique_lock<std::mutex> lock(master_mu_);
    if (master_running_ && MasterAlive()) return words.empty() ? SshWords(r) : words;
    // The master's thread ends soon after the process: wait for its words.
    master_cv_.wait_for(lock, kControlDeadline, [this] { return !master_running_; });
    const std::string master = ErrText(master_result_.err);
    if (master.empty()) return words.empty() ? SshWords(r) : words;
    return (words.empty() ? "" : words + "; ") + "the connection dropped: " + master;
  }

  // After ssh exited 255: did the remote command exit 255 itself (the
  // wrapper left a mark), or did ssh fail? Asked only over a live master:
  // without one ssh would try a connection of its own, which on a board
  // that went away costs a full ConnectTimeout.
  bool RemoteExited255(const std::string& pid_file) {
    if (!MasterAlive()) return false;
    SubprocessOptions o;
    o.timeout = kControlDeadline;
    return RunSubprocess(SshArgv(ShellCommand({"test", "-e", pid_file + ".255"})), o)
               .exit_code == 0;
  }

  const SshOptions options_;
  const std::string name_;
  const std::string control_dir_;
  const bool own_control_dir_;
  const std::string control_path_;  // the master's socket
  std::string remote_dir_;          // set once by Connect

  std::mutex master_mu_;  // guards the master_ fields
  std::condition_variable master_cv_;
  std::thread master_thread_;
  bool master_running_ = false;
  std::atomic<pid_t> master_pid_{-1};
  std::atomic<bool> master_stop_{false};
  SubprocessResult master_result_;  // of the last master, once it ended

  internal::Clients clients_;  // the ssh clients running, with their pid files
};

// A fresh 0700 folder for the master's socket. Short: a socket path must fit
// in 108 bytes.
Result<std::string> MakeControlDir() {
  const char* runtime = std::getenv("XDG_RUNTIME_DIR");
  std::string base = runtime && *runtime ? runtime : "/tmp";
  if (base.size() > 50 || ::access(base.c_str(), W_OK) != 0) base = "/tmp";
  std::string dir = base + "/edgebench-ssh-XXXXXX";
  if (!::mkdtemp(dir.data())) return ErrnoToStatus(errno, "cannot create " + dir);
  return dir;
}

}  // namespace

Result<std::unique_ptr<Transport>> NewSshTransport(const SshOptions& options) {
  if (options.host.empty()) return InvalidArgumentError("ssh: no host given");
  const std::string name = options.name.empty() ? "ssh:" + options.host : options.name;
  std::string control_dir = options.control_dir;
  const bool own = control_dir.empty();
  if (own) {
    Result<std::string> dir = MakeControlDir();
    if (!dir.ok()) return std::move(dir).status().WithContext(name);
    control_dir = *dir;
  } else if (::mkdir(control_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoToStatus(errno, name + ": cannot create " + control_dir);
  }
  auto t = std::make_unique<SshTransport>(options, name, control_dir, own);
  RETURN_IF_ERROR(t->Connect());
  return std::unique_ptr<Transport>(std::move(t));
}

}  // namespace edgebench::harness
