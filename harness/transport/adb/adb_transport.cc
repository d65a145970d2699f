#include "harness/transport/adb/adb_transport.h"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <thread>
#include <utility>

#include "base/subprocess.h"
#include "harness/transport/internal/clients.h"
#include "harness/transport/internal/transfer.h"

namespace edgebench::harness {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

// How long a device that adb lists as connecting, authorizing or offline
// (a TCP device right after `adb connect`) may take to become "device".
constexpr auto kConnectDeadline = seconds(20);
constexpr auto kConnectPoll = milliseconds(200);
// Our own short calls: connect, get-state, kill, clean-up.
constexpr auto kControlDeadline = seconds(30);
constexpr auto kProgressPeriod = milliseconds(200);
constexpr size_t kCaptureBytes = size_t{1} << 20;
constexpr char kDefaultRemoteTmp[] = "/data/local/tmp";

// Kills, for each pid file given, the process group of the pid in it (the
// wrapper's: adbd starts every shell in a session of its own, so the group
// has the wrapper's pid, also once the wrapper itself is gone) and the pid
// itself; SIGTERM first, SIGKILL after up to 2 s for what is left. Never its
// own group, init's or 0. The pid files are removed.
constexpr char kKillScript[] =
    "t=\n"
    "for f in \"$@\"; do\n"  // expanded once, before the `set --` below
    "  read -r p < \"$f\" || continue\n"
    "  rm -f \"$f\"\n"
    "  case $p in ''|*[!0-9]*) continue;; esac\n"
    // A wrapper that is gone (adbd's SIGHUP when the client was killed)
    // led its group, which may live on: adbd starts each shell with setsid.
    "  g=$p\n"
    "  if read -r s < /proc/$p/stat; then s=${s##*) }; set -- $s; g=$3; fi\n"
    "  t=\"$t $p:$g\"\n"
    "done 2>/dev/null\n"
    "[ -n \"$t\" ] || exit 0\n"
    "me=\n"
    "if read -r s < /proc/$$/stat; then s=${s##*) }; set -- $s; me=$3; fi\n"
    "each() {\n"  // each SIGNAL: to every pid and its group
    "  for x in $t; do\n"
    "    p=${x%%:*}; g=${x#*:}\n"
    "    case $g in ''|*[!0-9]*|0|1|\"$me\") ;; *) kill -$1 -$g;; esac\n"
    "    kill -$1 $p\n"
    "  done 2>/dev/null\n"
    "}\n"
    "alive() {\n"
    "  for x in $t; do\n"
    "    p=${x%%:*}; g=${x#*:}\n"
    "    kill -0 $p 2>/dev/null && return 0\n"
    "    case $g in ''|*[!0-9]*|0|1|\"$me\") ;;\n"
    "      *) kill -0 -$g 2>/dev/null && return 0;; esac\n"
    "  done\n"
    "  return 1\n"
    "}\n"
    "each TERM\n"
    "i=0\n"
    "while [ $i -lt 20 ] && alive; do sleep 0.1; i=$((i + 1)); done\n"
    "each KILL\n"
    "exit 0\n";

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' '))
    s.remove_suffix(1);
  while (!s.empty() && (s.front() == '\n' || s.front() == ' ')) s.remove_prefix(1);
  return std::string(s);
}

// adb's own words: the end of stderr, else of stdout.
std::string AdbWords(const SubprocessResult& r) {
  if (!r.spawn_status.ok()) return r.spawn_status.message();
  std::string words = Trim(LastLines(r.err, 4, 2000));
  if (words.empty()) words = Trim(LastLines(r.out, 4, 2000));
  if (r.signal != 0 && words.empty()) words = "adb killed by " + SignalName(r.signal);
  if (words.empty()) words = "adb failed (exit code " + std::to_string(r.exit_code) + ")";
  return words;
}

// adb's words for a device it cannot reach, or a stream it lost.
bool SaysDeviceGone(std::string_view words) {
  for (std::string_view w :
       {"' not found", "device offline", "no devices/emulators found",
        "device unauthorized", "device still authorizing", "device still connecting",
        "failed to get feature set", "couldn't read from device", "closed",
        "protocol fault", "no response", "Connection reset",
        "insufficient permissions"}) {
    if (words.find(w) != std::string_view::npos) return true;
  }
  return false;
}

bool IsTcpSerial(const std::string& serial) {
  const size_t colon = serial.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == serial.size())
    return false;
  for (size_t i = colon + 1; i < serial.size(); ++i)
    if (serial[i] < '0' || serial[i] > '9') return false;
  return true;
}

std::string RandomHex(int bytes) {
  std::random_device rd;
  std::string out;
  for (int i = 0; i < bytes; ++i) {
    char hex[3];
    std::snprintf(hex, sizeof hex, "%02x", static_cast<unsigned>(rd() & 0xff));
    out += hex;
  }
  return out;
}

// The command line `adb shell` runs for `argv`: records the wrapper's pid,
// runs the command as a child (so a signal shows as 128+N), removes the pid
// file and ends stderr with "\n<token>:<status>\n".
std::string WrapperLine(const std::string& pid_file, const std::string& token,
                        const std::vector<std::string>& argv) {
  return "p=" + ShellQuote(pid_file) + "; { echo $$ > \"$p\"; } 2>/dev/null; " +
         ShellCommand(argv) + "\ne=$?; rm -f \"$p\"; { echo; echo " + token +
         ":$e; } >&2; exit $e";
}

// Takes the wrapper's status line off the end of `err`; nullopt when it is
// not there (the stream was cut, or the wrapper was killed).
std::optional<int> TakeStatusLine(std::string& err, const std::string& token) {
  const std::string key = "\n" + token + ":";
  const size_t at = err.rfind(key);
  if (at == std::string::npos) return std::nullopt;
  size_t i = at + key.size();
  int code = 0;
  const size_t digits_start = i;
  while (i < err.size() && err[i] >= '0' && err[i] <= '9' && i - digits_start < 4)
    code = code * 10 + (err[i++] - '0');
  if (i == digits_start || err.substr(i) != "\n") return std::nullopt;
  err.erase(at);
  return code;
}

// How far process `pid` has read the file (dev, ino): the file position of
// the descriptor it has open on it. `fd` caches which descriptor that is.
bool ReadFilePos(pid_t pid, dev_t dev, ino_t ino, int* fd, uint64_t* pos) {
  const std::string proc = "/proc/" + std::to_string(pid);
  if (*fd < 0) {
    std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir((proc + "/fd").c_str()),
                                            ::closedir);
    while (dir) {
      const dirent* de = ::readdir(dir.get());
      if (!de) break;
      struct stat st;
      if (de->d_name[0] == '.' || ::stat((proc + "/fd/" + de->d_name).c_str(), &st) != 0)
        continue;
      if (st.st_dev == dev && st.st_ino == ino) {
        *fd = std::atoi(de->d_name);
        break;
      }
    }
    if (*fd < 0) return false;
  }
  if (internal::ReadFdPos(pid, *fd, pos)) return true;
  *fd = -1;  // closed, or another file now: look again next time
  return false;
}

// The most specific code for a push or pull that failed while the device
// stayed reachable, from adb's words.
Status TransferError(const std::string& what, const std::string& words) {
  const std::string text = what + ": " + words;
  if (words.find("No such file") != std::string::npos) return NotFoundError(text);
  if (words.find("Permission denied") != std::string::npos ||
      words.find("Read-only file system") != std::string::npos)
    return PermissionDeniedError(text);
  if (words.find("No space") != std::string::npos) return ResourceExhaustedError(text);
  if (words.find("Is a directory") != std::string::npos ||
      words.find("Not a directory") != std::string::npos)
    return FailedPreconditionError(text);
  return InternalError(text);
}

class AdbTransport final : public Transport {
 public:
  AdbTransport(AdbOptions options, std::string name)
      : options_(std::move(options)),
        name_(std::move(name)),
        token_("edgebench-exit-" + RandomHex(8)) {}

  ~AdbTransport() override {
    KillAll().IgnoreError();
    if (!remote_dir_.empty()) {
      SubprocessOptions o;
      o.timeout = kControlDeadline;
      RunSubprocess(AdbArgv({"shell", ShellCommand({"rm", "-rf", remote_dir_})}), o);
    }
  }

  std::string_view kind() const override { return "adb"; }
  const std::string& name() const override { return name_; }

  // Checks the device, then makes the private folder. Used once, by
  // NewAdbTransport.
  Status Connect() {
    if (IsTcpSerial(options_.serial)) {
      const SubprocessResult r = RunControl({"connect", options_.serial});
      RETURN_IF_ERROR(SpawnStatus(r));
      // adb connect exits 0 whether or not it connected; its words tell.
      if (r.out.find("connected to") == std::string::npos) {
        const std::string words = AdbWords(r);
        const bool auth = words.find("authenticate") != std::string::npos;
        return UnavailableError(
            name_ + ": adb connect " + options_.serial + ": " + words +
            (auth ? " (the device is unauthorized: allow debugging for "
                    "this computer on it)"
                  : ""));
      }
    }
    RETURN_IF_ERROR(WaitUntilDevice());

    const SubprocessResult f = RunControl({"features"});
    RETURN_IF_ERROR(SpawnStatus(f));
    if (f.exit_code != 0) return UnavailableError(name_ + ": " + AdbWords(f));
    if (f.out.find("shell_v2") == std::string::npos) {
      return FailedPreconditionError(
          name_ +
          ": the device's adbd lacks the shell protocol (shell_v2, Android 7 and "
          "later): exit codes and stderr would be lost");
    }

    const std::string base =
        options_.remote_tmp.empty() ? kDefaultRemoteTmp : options_.remote_tmp;
    const std::string dir = base + "/edgebench-adb." + RandomHex(6);
    const SubprocessResult m =
        RunControl({"shell", ShellCommand({"mkdir", "-p", "--", dir})});
    RETURN_IF_ERROR(SpawnStatus(m));
    if (m.exit_code != 0) {
      const std::string words = AdbWords(m);
      if (SaysDeviceGone(words)) return UnavailableError(name_ + ": " + words);
      return FailedPreconditionError(name_ + ": cannot make the folder " + dir +
                                     " on the device: " + words);
    }
    remote_dir_ = dir;
    return Status::Ok();
  }

  Result<ExecResult> Exec(const std::vector<std::string>& argv,
                          const ExecOptions& options) override {
    if (argv.empty()) return InvalidArgumentError(name_ + ": empty command");
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
    const std::string what = name_ + ": \"" + argv[0] + "\"";
    RETURN_IF_ERROR(SpawnStatus(t.r));
    if (t.r.cancelled) return CancelledError(what + " cancelled");
    ExecResult e;
    e.out = std::move(t.r.out);
    e.err = t.r.err;  // t.r.err stays whole for AdbWords below
    const std::optional<int> status = TakeStatusLine(e.err, token_);
    if (t.r.timed_out || (t.killed && !status)) {
      // Killed on the device by us (after a timeout, or by KillAll).
      e.exit_code = -1;
      e.signal = SIGKILL;
      e.timed_out = t.r.timed_out;
      return e;
    }
    if (status) {
      e.exit_code = *status;
      return e;
    }
    // No status line: the command did not finish under its wrapper.
    if (t.r.signal != 0)
      return UnavailableError(what + ": the adb client was killed by " +
                              SignalName(t.r.signal));
    const std::string words = AdbWords(t.r);
    if (t.r.exit_code == 0) {
      // adb's exit code when the stream closed without an exit packet.
      return UnavailableError(
          what +
          ": the connection to the device was lost before the "
          "command finished" +
          (e.err.empty() ? "" : " (" + Trim(LastLines(e.err, 2, 500)) + ")"));
    }
    if (SaysDeviceGone(words) || words.rfind("error:", 0) == 0 ||
        words.find("\nerror:") != std::string::npos)
      return UnavailableError(what + ": " + words);
    // The wrapper itself was killed on the device (by someone else): adbd
    // reports 128 + the signal.
    e.exit_code = t.r.exit_code;
    return e;
  }

  Status Push(const std::string& local, const std::string& remote,
              const ProgressFn& progress) override {
    const std::string what = name_ + ": push \"" + local + "\" to \"" + remote + "\"";
    struct stat st = {};
    if (::stat(local.c_str(), &st) != 0) return ErrnoToStatus(errno, what);
    if (S_ISDIR(st.st_mode)) return InvalidArgumentError(what + ": a folder, not a file");
    // The adb client opens the file itself: its descriptor is found by the
    // file's identity, then followed.
    int fd = -1;
    internal::PushProgress reporter(
        progress, S_ISREG(st.st_mode) ? static_cast<uint64_t>(st.st_size) : 0,
        [&fd, dev = st.st_dev, ino = st.st_ino](pid_t pid, uint64_t* pos) {
          return ReadFilePos(pid, dev, ino, &fd, pos);
        });
    SubprocessOptions o;
    o.capture_bytes = kCaptureBytes;
    o.on_start = [&](pid_t pid) { reporter.Start(pid); };
    // "--": a path that starts with '-' is a path, not an option.
    Tracked t = RunTrackedAdb(AdbArgv({"push", "--", local, remote}), std::move(o));
    const Status s = TransferStatus(t, what);
    reporter.Finish(s.ok());
    RETURN_IF_ERROR(s);
    return Status::Ok();
  }

  Status Pull(const std::string& remote, const std::string& local) override {
    const std::string what = name_ + ": pull \"" + remote + "\" to \"" + local + "\"";
    return internal::PullIntoPlace(local, what, [&](const std::string& tmp) {
      SubprocessOptions o;
      o.capture_bytes = kCaptureBytes;
      Tracked t = RunTrackedAdb(AdbArgv({"pull", "--", remote, tmp}), std::move(o));
      return TransferStatus(t, what);
    });
  }

  Status KillAll() override {
    // Push and pull run without a pid file (nothing of theirs lives on).
    const std::vector<std::string> pid_files = clients_.MarkAllKilled();
    // The device first: once the commands there are gone the local clients
    // end by themselves with the streams; killing a client first would
    // leave its command running (adbd only sends SIGHUP to the wrapper).
    Status remote = Status::Ok();
    if (!pid_files.empty()) remote = KillRemote(pid_files);
    clients_.KillLocal();
    return remote;
  }

 private:
  struct Tracked {
    SubprocessResult r;
    std::string pid_file;
    bool killed = false;
  };

  // adb, its server port and the serial, then `args`.
  std::vector<std::string> AdbArgv(std::vector<std::string> args) const {
    std::vector<std::string> a = {options_.adb};
    if (options_.server_port != 0)
      a.insert(a.end(), {"-P", std::to_string(options_.server_port)});
    a.insert(a.end(), {"-s", options_.serial});
    for (std::string& x : args) a.push_back(std::move(x));
    return a;
  }

  SubprocessResult RunControl(std::vector<std::string> args) const {
    SubprocessOptions o;
    o.timeout = kControlDeadline;
    o.capture_bytes = kCaptureBytes;
    return RunSubprocess(AdbArgv(std::move(args)), o);
  }

  // The adb client could not be run at all.
  Status SpawnStatus(const SubprocessResult& r) const {
    if (r.spawn_status.ok()) return Status::Ok();
    if (r.spawn_status.code() == StatusCode::kNotFound) {
      return NotFoundError(name_ + ": the adb client \"" + options_.adb +
                           "\" is not installed or not on PATH (Debian/Ubuntu: apt-get "
                           "install adb; or the Android SDK platform-tools)");
    }
    return Status(r.spawn_status.code(), name_ + ": " + r.spawn_status.message());
  }

  // Until adb lists the device as "device": a device that is still
  // connecting or authorizing (or offline, as a TCP device is for a moment
  // after `adb connect`) gets kConnectDeadline; unauthorized or unknown
  // (USB) is final at once.
  Status WaitUntilDevice() const {
    const Clock::time_point deadline = Clock::now() + kConnectDeadline;
    const bool tcp = IsTcpSerial(options_.serial);
    for (;;) {
      const SubprocessResult r = RunControl({"get-state"});
      RETURN_IF_ERROR(SpawnStatus(r));
      const std::string state = Trim(r.out);
      if (r.exit_code == 0 && state == "device") return Status::Ok();
      const std::string words =
          r.exit_code == 0 ? "state \"" + state + "\"" : AdbWords(r);
      if (words.find("unauthorized") != std::string::npos) {
        return UnavailableError(name_ + ": " + words +
                                " (allow USB debugging for this computer on the device)");
      }
      const bool not_found = words.find("not found") != std::string::npos;
      if ((not_found && !tcp) || Clock::now() >= deadline)
        return UnavailableError(name_ + ": " + words);
      std::this_thread::sleep_for(kConnectPoll);
    }
  }

  // Runs `argv` on the device under the wrapper (see the header), known to
  // KillAll while it runs and killed on the device after a timeout or a
  // cancel.
  Tracked RunTracked(const std::vector<std::string>& argv, SubprocessOptions o) {
    const uint64_t id = clients_.NextId();
    const std::string pid_file = remote_dir_ + "/" + std::to_string(id) + ".pid";
    return RunTrackedAdb(AdbArgv({"shell", WrapperLine(pid_file, token_, argv)}),
                         std::move(o), pid_file, id);
  }

  // Runs the adb client `full`, known to KillAll while it runs.
  // `id`: the one `pid_file` was named after; absent: a fresh one.
  Tracked RunTrackedAdb(const std::vector<std::string>& full, SubprocessOptions o,
                        const std::string& pid_file = "",
                        std::optional<uint64_t> id = std::nullopt) {
    Tracked t;
    t.pid_file = pid_file;
    internal::Clients::Ended ended =
        clients_.Run(id ? *id : clients_.NextId(), full, std::move(o), pid_file);
    t.r = std::move(ended.r);
    t.killed = ended.killed;
    // Killing the local client left the command running on the device.
    if (!pid_file.empty() && (t.r.timed_out || t.r.cancelled) && !t.killed)
      KillRemote({pid_file}).IgnoreError();
    return t;
  }

  // The status of a push or pull that ran.
  Status TransferStatus(const Tracked& t, const std::string& what) const {
    if (!t.r.spawn_status.ok()) return SpawnStatus(t.r);
    if (t.killed) return CancelledError(what + ": killed (KillAll)");
    if (t.r.exit_code == 0 && t.r.signal == 0) return Status::Ok();
    const std::string words = AdbWords(t.r);
    if (t.r.signal != 0 || SaysDeviceGone(words))
      return UnavailableError(what + ": " + words);
    // Words adb may not have: ask whether the device is still there.
    const SubprocessResult s = RunControl({"get-state"});
    if (!s.spawn_status.ok() || s.exit_code != 0 || Trim(s.out) != "device")
      return UnavailableError(what + ": " + words + " (" + AdbWords(s) + ")");
    return TransferError(what, words);
  }

  Status KillRemote(const std::vector<std::string>& pid_files) const {
    std::vector<std::string> remote = {"sh", "-c", kKillScript, "sh"};
    remote.insert(remote.end(), pid_files.begin(), pid_files.end());
    const SubprocessResult r = RunControl({"shell", ShellCommand(remote)});
    if (r.spawn_status.ok() && r.exit_code == 0) return Status::Ok();
    return UnavailableError(name_ +
                            ": cannot kill the commands on the device: " + AdbWords(r));
  }

  const AdbOptions options_;
  const std::string name_;
  const std::string token_;  // marks the wrapper's status line
  std::string remote_dir_;   // set once by Connect

  internal::Clients clients_;  // the adb clients running, with their pid files
};

}  // namespace

Result<std::unique_ptr<Transport>> NewAdbTransport(const AdbOptions& options) {
  if (options.serial.empty()) return InvalidArgumentError("adb: no device serial given");
  std::string name = options.name.empty() ? "adb:" + options.serial : options.name;
  auto t = std::make_unique<AdbTransport>(options, std::move(name));
  RETURN_IF_ERROR(t->Connect());
  return std::unique_ptr<Transport>(std::move(t));
}

std::vector<AdbDeviceEntry> ParseAdbDevices(std::string_view text) {
  std::vector<AdbDeviceEntry> out;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (Trim(line).empty() || line.rfind("List of devices", 0) == 0 || line[0] == '*' ||
        line.rfind("adb ", 0) == 0 || line.rfind("error:", 0) == 0)
      continue;
    AdbDeviceEntry e;
    std::string_view rest = line;
    // adb writes a device without a serial as "(no serial number)".
    constexpr std::string_view kNoSerial = "(no serial number)";
    if (rest.starts_with(kNoSerial)) {
      e.serial = std::string(kNoSerial);
      rest.remove_prefix(kNoSerial.size());
    } else {
      const size_t end = rest.find_first_of(" \t");
      e.serial = std::string(rest.substr(0, end));
      rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
    }
    // The state runs up to the first "key:value" word adb appends (a state
    // such as "no permissions (...); see [http://...]" has spaces).
    std::vector<std::string> words;
    std::istringstream ws{std::string(rest)};
    for (std::string w; ws >> w;) words.push_back(w);
    std::string state;
    size_t i = 0;
    for (; i < words.size(); ++i) {
      const std::string& w = words[i];
      if (w.starts_with("usb:") || w.starts_with("product:") || w.starts_with("model:") ||
          w.starts_with("device:") || w.starts_with("transport_id:"))
        break;
      state += (state.empty() ? "" : " ") + w;
    }
    for (; i < words.size(); ++i) {
      const std::string& w = words[i];
      const size_t colon = w.find(':');
      const std::string key = w.substr(0, colon);
      const std::string value = colon == std::string::npos ? "" : w.substr(colon + 1);
      if (key == "usb") e.usb = value;
      if (key == "product") e.product = value;
      if (key == "model") e.model = value;
      if (key == "device") e.device = value;
      if (key == "transport_id") e.transport_id = std::atoi(value.c_str());
    }
    if (e.serial.empty() || state.empty()) continue;
    e.state = state;
    out.push_back(std::move(e));
  }
  return out;
}

Result<std::vector<AdbDeviceEntry>> ListAdbDevices(const std::string& adb,
                                                   int server_port) {
  std::vector<std::string> argv = {adb};
  if (server_port != 0) argv.insert(argv.end(), {"-P", std::to_string(server_port)});
  argv.insert(argv.end(), {"devices", "-l"});
  SubprocessOptions o;
  o.timeout = kControlDeadline;
  const SubprocessResult r = RunSubprocess(argv, o);
  if (!r.spawn_status.ok()) {
    if (r.spawn_status.code() == StatusCode::kNotFound) {
      return NotFoundError("no adb client (\"" + adb +
                           "\" is not installed or not on PATH): phones are not listed; "
                           "install it with apt-get install adb, or the Android SDK "
                           "platform-tools");
    }
    return Status(r.spawn_status.code(), "adb devices: " + r.spawn_status.message());
  }
  if (r.timed_out || r.exit_code != 0)
    return UnavailableError("adb devices -l: " +
                            (r.timed_out ? "timed out" : AdbWords(r)));
  return ParseAdbDevices(r.out);
}

}  // namespace edgebench::harness
