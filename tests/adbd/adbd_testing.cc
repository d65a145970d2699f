#include "tests/adbd/adbd_testing.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace edgebench::testing {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Waiting for something another process does: short naps, bounded by a
// generous deadline (CI machines are loaded), never a fixed sleep.
constexpr auto kPollInterval = 10ms;
constexpr auto kStartDeadline = 60s;

std::string ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string Describe(const SubprocessResult& r) {
  std::string s;
  if (!r.spawn_status.ok()) return r.spawn_status.ToString();
  if (r.timed_out) s += "timed out; ";
  s += "exit code " + std::to_string(r.exit_code);
  if (r.signal) s += ", signal " + std::to_string(r.signal);
  s += "; stdout: \"" + r.out + "\"; stderr: \"" + r.err + "\"";
  return s;
}

}  // namespace

std::string FindAdb() {
  const char* path = std::getenv("PATH");
  std::string_view rest = path ? path : "/usr/bin:/bin";
  while (true) {
    const size_t colon = rest.find(':');
    const std::string dir(rest.substr(0, colon));
    const std::string candidate = (dir.empty() ? "." : dir) + "/adb";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    if (colon == std::string_view::npos) return "";
    rest.remove_prefix(colon + 1);
  }
}

int PickFreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
    port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

bool ProcessEnded(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(f, stat)) return true;
  // "pid (comm) S ...": the state follows the last ')'.
  const size_t paren = stat.rfind(')');
  return paren == std::string::npos || stat.substr(paren + 2, 1) == "Z";
}

bool WaitFor(const std::function<bool()>& condition, std::chrono::seconds limit) {
  const auto deadline = Clock::now() + limit;
  while (!condition()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(kPollInterval);
  }
  return true;
}

pid_t ReadPid(const std::string& path) { return std::atoi(ReadAll(path).c_str()); }

// ---------------------------------------------------------------------------

Result<std::unique_ptr<FakeAdbDevice>> FakeAdbDevice::Start(
    const std::vector<std::string>& args) {
  std::unique_ptr<FakeAdbDevice> d(new FakeAdbDevice());
  const std::string program = BinDir() + "/edgebench-test-adbd";
  const std::string port_file = d->dir_.File("port");
  const std::string log = d->dir_.File("adbd.log");
  std::vector<std::string> argv = {program, "--port", "0", "--port-file", port_file};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> ptrs;
  for (std::string& a : argv) ptrs.push_back(a.data());
  ptrs.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Default dispositions and an empty mask, whatever the test runner set.
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  const int rc =
      ::posix_spawn(&d->pid_, program.c_str(), &actions, &attr, ptrs.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    d->pid_ = -1;
    return ErrnoToStatus(rc, "cannot start " + program);
  }

  const auto deadline = Clock::now() + kStartDeadline;
  while (true) {
    const std::string text = ReadAll(port_file);
    if (!text.empty()) {
      d->port_ = std::atoi(text.c_str());
      return d;
    }
    int status = 0;
    if (::waitpid(d->pid_, &status, WNOHANG) == d->pid_) {
      d->reaped_ = true;
      return UnavailableError(program + " exited before listening (status " +
                              std::to_string(status) + "): " + d->Log());
    }
    if (Clock::now() > deadline)
      return DeadlineExceededError(program + " did not listen within 60 s: " + d->Log());
    std::this_thread::sleep_for(kPollInterval);
  }
}

std::optional<int> FakeAdbDevice::WaitExit(std::chrono::milliseconds timeout) {
  if (pid_ <= 0 || reaped_) return std::nullopt;
  const auto deadline = Clock::now() + timeout;
  while (true) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      return status;
    }
    if (r < 0 && errno != EINTR) return std::nullopt;
    if (Clock::now() > deadline) return std::nullopt;
    std::this_thread::sleep_for(kPollInterval);
  }
}

FakeAdbDevice::~FakeAdbDevice() {
  if (pid_ <= 0 || reaped_) return;
  ::kill(pid_, SIGTERM);
  if (WaitExit(30s)) return;
  ::kill(pid_, SIGKILL);
  int status;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
}

std::string FakeAdbDevice::Log() const { return ReadAll(dir_.File("adbd.log")); }

// ---------------------------------------------------------------------------

std::vector<std::string> PrivateAdbServer::Env() const {
  return {"HOME=" + home_.path(), "TMPDIR=" + home_.path()};
}

SubprocessResult PrivateAdbServer::Run(const std::vector<std::string>& args,
                                       std::optional<std::string> stdin_data,
                                       std::chrono::seconds timeout) const {
  std::vector<std::string> argv = {adb_, "-P", std::to_string(port_)};
  argv.insert(argv.end(), args.begin(), args.end());
  SubprocessOptions options;
  options.timeout = timeout;
  options.stdin_data = std::move(stdin_data);
  options.env = Env();
  return RunSubprocess(argv, options);
}

Result<std::unique_ptr<PrivateAdbServer>> PrivateAdbServer::Start(
    const std::string& adb) {
  std::unique_ptr<PrivateAdbServer> s(new PrivateAdbServer());
  s->adb_ = adb;
  std::string last;
  // The port was free when picked; another process may take it first.
  for (int attempt = 0; attempt < 5; ++attempt) {
    s->port_ = PickFreePort();
    if (s->port_ == 0) return InternalError("no free port on 127.0.0.1");
    const SubprocessResult r = s->Run({"start-server"});
    if (r.spawn_status.ok() && !r.timed_out && r.exit_code == 0) return s;
    last = Describe(r);
  }
  s->port_ = 0;
  return UnavailableError("adb start-server failed: " + last);
}

Status PrivateAdbServer::Connect(const std::string& serial) const {
  const SubprocessResult c =
      Run({"connect", serial}, std::nullopt, std::chrono::seconds(60));
  // adb connect exits 0 even when it failed; its words tell.
  if (!c.spawn_status.ok() || c.out.find("connected to") == std::string::npos)
    return UnavailableError("adb connect " + serial + ": " + Describe(c) +
                            "\nserver log:\n" + Log());
  const SubprocessResult w =
      Run({"-s", serial, "wait-for-device"}, std::nullopt, std::chrono::seconds(60));
  if (!w.spawn_status.ok() || w.exit_code != 0)
    return UnavailableError("adb wait-for-device " + serial + ": " + Describe(w) +
                            "\nserver log:\n" + Log());
  return Status::Ok();
}

std::string PrivateAdbServer::Log() const {
  return ReadAll(home_.File("adb." + std::to_string(::getuid()) + ".log"));
}

PrivateAdbServer::~PrivateAdbServer() {
  if (port_ == 0) return;
  Run({"kill-server"}, std::nullopt, std::chrono::seconds(30)).spawn_status.IgnoreError();
  // If the server did not go, end it by its id: the one process whose command
  // line is `adb -L tcp:<port> fork-server server ...`.
  const std::string needle = "tcp:" + std::to_string(port_);
  std::unique_ptr<DIR, int (*)(DIR*)> proc(::opendir("/proc"), ::closedir);
  while (proc) {
    const dirent* de = ::readdir(proc.get());
    if (!de) break;
    const pid_t pid = std::atoi(de->d_name);
    if (pid <= 0) continue;
    std::string cmdline = ReadAll(std::string("/proc/") + de->d_name + "/cmdline");
    std::vector<std::string> args;
    std::stringstream ss(cmdline);
    for (std::string a; std::getline(ss, a, '\0');) args.push_back(a);
    bool fork_server = false, ours = false;
    for (const std::string& a : args) {
      fork_server |= a == "fork-server";
      ours |= a == needle;
    }
    if (fork_server && ours) ::kill(pid, SIGKILL);
  }
}

Result<std::unique_ptr<PrivateAdbServer>> StartAdbServerForChildren() {
  const std::string adb = FindAdb();
  if (adb.empty()) return std::unique_ptr<PrivateAdbServer>();
  ASSIGN_OR_RETURN(std::unique_ptr<PrivateAdbServer> server, PrivateAdbServer::Start(adb));
  ::setenv("ANDROID_ADB_SERVER_PORT", std::to_string(server->port()).c_str(), 1);
  return server;
}

}  // namespace edgebench::testing
