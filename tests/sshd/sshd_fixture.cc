#include "tests/sshd/sshd_fixture.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <shadow.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <utility>

namespace edgebench::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr char kTestUser[] = "edgebench-test";
constexpr char kSshd[] = "/usr/sbin/sshd";
// How long sshd may take to start answering on a loaded 2-core CI machine.
constexpr auto kStartDeadline = std::chrono::seconds(30);

// `name` as execvp would find it, also in the sbin folders a non-login
// shell's PATH may lack; empty when absent.
std::string FindProgram(const std::string& name) {
  std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
  path += ":/usr/local/sbin:/usr/sbin:/sbin:/usr/bin:/bin";
  std::stringstream ss(path);
  for (std::string dir; std::getline(ss, dir, ':');) {
    if (dir.empty()) continue;
    const std::string candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

// Runs a helper program; not ok (naming it, with its stderr) unless it
// exits 0.
Status Run(const std::vector<std::string>& argv, std::string* out = nullptr) {
  const std::string program = FindProgram(argv[0]);
  if (program.empty()) return NotFoundError(argv[0] + ": not installed");
  std::vector<std::string> full = argv;
  full[0] = program;
  const ProgramResult r = RunProgram(full);
  if (out) *out = r.out;
  if (r.exit_code == 0) return Status::Ok();
  std::string cmd;
  for (const std::string& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
  std::string err = r.err;
  while (!err.empty() && err.back() == '\n') err.pop_back();
  return InternalError(cmd + ": " +
                       (r.signal ? "signal " + std::to_string(r.signal)
                                 : "exit code " + std::to_string(r.exit_code)) +
                       (err.empty() ? "" : ": " + err));
}

// An exclusive lock on a file under /tmp held for the object's life: the
// tests of several processes (ctest -j) create users and pick subnets.
class FileLock {
 public:
  explicit FileLock(const std::string& path)
      : fd_(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666)) {
    if (fd_ >= 0) {
      while (::flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
      }
    }
  }
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_;
};

// The test user, created once; logins as root are slow (its start-up files)
// and a test should not run remote commands as root anyway. Falls back to
// root, with a warning, where the user cannot be made usable.
std::string EnsureTestUser() {
  FileLock lock("/tmp/edgebench-test-user.lock");
  Status s = Status::Ok();
  if (::getpwnam(kTestUser) == nullptr) {
    // '*': no password, but not locked ('!'), which sshd without PAM would
    // refuse even for key logins.
    s = Run({"useradd", "--create-home", "--shell", "/bin/sh", "--password", "*",
             "--comment", "edgebench integration tests", kTestUser});
    if (!s.ok() && ::getpwnam(kTestUser) != nullptr) s = Status::Ok();
  }
  if (s.ok()) {
    const struct spwd* sp = ::getspnam(kTestUser);
    if (sp && sp->sp_pwdp && sp->sp_pwdp[0] == '!')
      s = Run({"usermod", "--password", "*", kTestUser});
  }
  if (!s.ok()) {
    std::fprintf(stderr, "sshd fixture: cannot set up user %s (%s); logging in as root\n",
                 kTestUser, s.message().c_str());
    return "root";
  }
  return kTestUser;
}

Result<int> FreePort(const std::string& address) {
  sockaddr_in sa = {};
  sa.sin_family = AF_INET;
  if (::inet_pton(AF_INET, address.c_str(), &sa.sin_addr) != 1)
    return InvalidArgumentError("not an IPv4 address: " + address);
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoToStatus(errno, "socket");
  socklen_t len = sizeof sa;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
    const int e = errno;
    ::close(fd);
    return ErrnoToStatus(e, "bind " + address + ":0");
  }
  ::close(fd);
  return static_cast<int>(ntohs(sa.sin_port));
}

// Connects and reads the server's identification line: listening alone is
// not enough (another program may have taken the port).
bool AnswersSsh(const std::string& address, int port) {
  sockaddr_in sa = {};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, address.c_str(), &sa.sin_addr);
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  bool ok = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) {
    pollfd p = {fd, POLLIN, 0};
    char buf[8] = {};
    ok = ::poll(&p, 1, 5000) == 1 && ::recv(fd, buf, 4, MSG_WAITALL) == 4 &&
         std::memcmp(buf, "SSH-", 4) == 0;
  }
  ::close(fd);
  return ok;
}

// Parent pid of every process, from /proc/PID/stat (the field after the
// command name, which may itself hold spaces and parentheses).
std::vector<std::pair<pid_t, pid_t>> ProcessParents() {
  std::vector<std::pair<pid_t, pid_t>> out;
  DIR* d = ::opendir("/proc");
  if (!d) return out;
  while (const dirent* e = ::readdir(d)) {
    char* end = nullptr;
    const long pid = std::strtol(e->d_name, &end, 10);
    if (pid <= 0 || *end != '\0') continue;
    std::ifstream f(std::string("/proc/") + e->d_name + "/stat");
    std::string stat;
    std::getline(f, stat);
    const size_t paren = stat.rfind(')');
    if (paren == std::string::npos) continue;
    std::istringstream rest(stat.substr(paren + 1));
    std::string state;
    long ppid = 0;
    rest >> state >> ppid;
    // A zombie runs nothing and its parent reaps it.
    if (state == "Z") continue;
    out.emplace_back(static_cast<pid_t>(pid), static_cast<pid_t>(ppid));
  }
  ::closedir(d);
  return out;
}

std::vector<pid_t> Descendants(pid_t root) {
  const auto parents = ProcessParents();
  std::set<pid_t> found = {root};
  for (bool grew = true; grew;) {
    grew = false;
    for (const auto& [pid, ppid] : parents) {
      if (found.count(ppid) && found.insert(pid).second) grew = true;
    }
  }
  found.erase(root);
  return {found.begin(), found.end()};
}

std::string KeyLine(const std::string& pub_path) {
  std::string line = ReadFile(pub_path);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  return line;
}

}  // namespace

Status Sshd::Available() {
  if (::access(kSshd, X_OK) != 0)
    return NotFoundError(std::string(kSshd) + ": not installed");
  for (const char* p : {"ssh", "ssh-keygen"}) {
    if (FindProgram(p).empty()) return NotFoundError(std::string(p) + ": not installed");
  }
  return Status::Ok();
}

Result<std::unique_ptr<Sshd>> Sshd::Start(const SshdOptions& options) {
  RETURN_IF_ERROR(Available());
  std::unique_ptr<Sshd> s(new Sshd());
  s->dir_ = std::make_unique<TempDir>();
  const std::string& dir = s->dir_->path();
  const bool root = ::geteuid() == 0;
  if (root) {
    s->user_ = EnsureTestUser();
    // sshd as root insists on its privilege separation folder, which the
    // package's service would have made at boot.
    ::mkdir("/run/sshd", 0755);
  } else {
    const passwd* pw = ::getpwuid(::geteuid());
    if (!pw)
      return InternalError("sshd fixture: who am I (uid " + std::to_string(::geteuid()) +
                           ")?");
    s->user_ = pw->pw_name;
  }
  const passwd* pw = ::getpwnam(s->user_.c_str());
  if (!pw) return InternalError("sshd fixture: no user " + s->user_);
  // sshd reads authorized_keys as the login user.
  ::chmod(dir.c_str(), 0755);

  for (const char* key : {"host_key", "client_key"}) {
    RETURN_IF_ERROR(Run({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
                         std::string("edgebench-test-") + key, "-f", dir + "/" + key}));
  }
  s->identity_ = dir + "/client_key";
  const std::string authorized = dir + "/authorized_keys";
  WriteFile(authorized, KeyLine(dir + "/client_key.pub") + "\n");
  ::chmod(authorized.c_str(), 0644);
  s->user_dir_ = dir + "/user";
  s->tmp_dir_ = dir + "/tmp";
  for (const std::string* d : {&s->user_dir_, &s->tmp_dir_}) {
    ::mkdir(d->c_str(), 0755);
    if (root && ::chown(d->c_str(), pw->pw_uid, pw->pw_gid) != 0)
      return ErrnoToStatus(errno, "chown " + *d);
  }
  s->options_ = options;

  s->address_ = options.address;
  s->config_ = dir + "/sshd_config";
  s->known_hosts_ = dir + "/known_hosts";
  s->ssh_config_ = dir + "/ssh_config";

  // An automatic port can be taken by someone else between our probe and
  // sshd's bind: try another.
  Status last = Status::Ok();
  for (int attempt = 0; attempt < 5; ++attempt) {
    int port = options.port;
    if (port == 0 && !options.netns.empty()) port = 22;
    if (port == 0) {
      ASSIGN_OR_RETURN(port, FreePort(options.address));
    }
    last = s->Launch(options, port);
    bool in_use = false;
    if (last.ok()) last = s->WaitReady(options.address, port, &in_use);
    if (last.ok()) {
      s->port_ = port;
      break;
    }
    s->Kill();
    if (!in_use || options.port != 0) break;
  }
  RETURN_IF_ERROR(last);

  const std::string host_key_line = KeyLine(dir + "/host_key.pub");
  // Only the key type and the key: the comment is not part of the format's
  // match.
  const std::string key = host_key_line.substr(0, host_key_line.rfind(' '));
  const std::string host =
      s->port_ == 22 ? s->address_ : "[" + s->address_ + "]:" + std::to_string(s->port_);
  WriteFile(s->known_hosts_, host + " " + key + "\n");
  s->host_alias_ = "edgebench-sshd-" + std::to_string(s->port_) + "-" +
                   std::to_string(::getpid()) + "-" + std::to_string(s->pid_);
  RETURN_IF_ERROR(WriteSshConfig(s->ssh_config_, {s.get()}));
  return s;
}

Status Sshd::Launch(const SshdOptions& options, int port) {
  const std::string& dir = dir_->path();
  std::string cfg;
  cfg += "Port " + std::to_string(port) + "\n";
  cfg += "ListenAddress " + options.address + "\n";
  cfg += "HostKey " + dir + "/host_key\n";
  cfg += "PidFile " + dir + "/sshd.pid\n";
  cfg += "AuthorizedKeysFile " + dir + "/authorized_keys\n";
  cfg += "AllowUsers " + user_ + "\n";
  cfg += "SetEnv TMPDIR=" + tmp_dir_ + "\n";
  if (user_ == "root") cfg += "PermitRootLogin prohibit-password\n";
  cfg +=
      "StrictModes no\n"
      "UsePAM no\n"
      "PubkeyAuthentication yes\n"
      "PasswordAuthentication no\n"
      "KbdInteractiveAuthentication no\n"
      "PrintMotd no\n"
      "PrintLastLog no\n"
      "X11Forwarding no\n"
      "AllowTcpForwarding yes\n"  // -J through this server
      "UseDNS no\n"
      "LogLevel VERBOSE\n"
      "LoginGraceTime 60\n"
      // A ControlMaster multiplexes every Exec of a transport over one
      // connection; tests run several at once.
      "MaxSessions 64\n"
      "MaxStartups 64:30:128\n"
      "Subsystem sftp internal-sftp\n";
  WriteFile(config_, cfg);
  log_ = dir + "/sshd.log";

  std::vector<std::string> argv;
  if (!options.netns.empty()) {
    const std::string ip = FindProgram("ip");
    if (ip.empty()) return NotFoundError("ip: not installed");
    argv = {ip, "netns", "exec", options.netns};
  }
  argv.insert(argv.end(), {kSshd, "-D", "-e", "-f", config_});
  std::vector<char*> args;
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);

  const int log_fd =
      ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return ErrnoToStatus(errno, "open " + log_);
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t parent = ::getpid();
  const pid_t child = ::fork();
  if (child < 0) {
    const int e = errno;
    ::close(log_fd);
    ::close(null_fd);
    return ErrnoToStatus(e, "fork");
  }
  if (child == 0) {
    // Async-signal-safe calls only from here to exec.
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(1);
    // Orphaned descendants (a remote command that daemonised) re-parent to
    // sshd, so Stop finds them all by walking down from it.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    struct sigaction dfl = {};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::dup2(null_fd, 0);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    ::syscall(SYS_close_range, 3u, ~0u, 0u);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(log_fd);
  ::close(null_fd);
  pid_ = child;
  return Status::Ok();
}

Status Sshd::WaitReady(const std::string& address, int port, bool* address_in_use) {
  const Clock::time_point deadline = Clock::now() + kStartDeadline;
  for (;;) {
    int status = 0;
    const pid_t got = ::waitpid(pid_, &status, WNOHANG);
    if (got == pid_) {
      pid_ = -1;
      const std::string log = Log();
      *address_in_use = log.find("Address already in use") != std::string::npos;
      return UnavailableError("sshd exited (" +
                              (WIFEXITED(status)
                                   ? "exit code " + std::to_string(WEXITSTATUS(status))
                                   : "signal " + std::to_string(WTERMSIG(status))) +
                              ") before answering on " + address + ":" +
                              std::to_string(port) + "; its log:\n" + log);
    }
    if (AnswersSsh(address, port)) return Status::Ok();
    if (Clock::now() >= deadline) {
      return DeadlineExceededError(
          "sshd did not answer on " + address + ":" + std::to_string(port) + " within " +
          std::to_string(kStartDeadline.count()) + " s; its log:\n" + Log());
    }
    // Polling interval, not synchronisation: the loop ends on an answer.
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string Sshd::Log() const { return log_.empty() ? "" : ReadFile(log_); }

void Sshd::KillSessions() {
  if (pid_ <= 0) return;
  // New sessions may fork while we look; a few sweeps catch them.
  for (int sweep = 0; sweep < 20; ++sweep) {
    const std::vector<pid_t> pids = Descendants(pid_);
    if (pids.empty()) break;
    for (const pid_t p : pids) ::kill(p, SIGKILL);
  }
}

void Sshd::Reap(int grace_ms) {
  const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(grace_ms);
  for (;;) {
    int status = 0;
    const pid_t got = ::waitpid(pid_, &status, WNOHANG);
    if (got == pid_ || (got < 0 && errno == ECHILD)) break;
    if (Clock::now() >= deadline) {
      ::kill(pid_, SIGKILL);
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling interval
  }
  pid_ = -1;
  // Sessions that sshd had not yet reaped when it died went to init, or
  // were killed already; the sweep above left none running.
}

void Sshd::Kill() {
  if (pid_ <= 0) return;
  // Stop the listener first so it forks no new session while we sweep.
  ::kill(pid_, SIGSTOP);
  KillSessions();
  ::kill(pid_, SIGKILL);
  Reap(10000);
}

void Sshd::Stop() {
  if (pid_ <= 0) return;
  KillSessions();
  ::kill(pid_, SIGTERM);
  ::kill(pid_, SIGCONT);  // after Freeze
  Reap(5000);
}

Status Sshd::Restart() {
  Stop();
  RETURN_IF_ERROR(Launch(options_, port_));
  bool in_use = false;
  Status s = WaitReady(address_, port_, &in_use);
  if (!s.ok()) Kill();
  return s;
}

void Sshd::Freeze() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGSTOP);
  for (const pid_t p : Descendants(pid_)) ::kill(p, SIGSTOP);
}

Sshd::~Sshd() { Stop(); }

Status WriteSshConfig(const std::string& path, const std::vector<const Sshd*>& sshds) {
  std::string cfg;
  for (const Sshd* s : sshds) {
    cfg += "Host " + s->host_alias() + "\n";
    cfg += "  HostName " + s->address() + "\n";
    cfg += "  Port " + std::to_string(s->port()) + "\n";
    cfg += "  User " + s->user() + "\n";
  }
  cfg += "Host *\n";
  for (const Sshd* s : sshds) cfg += "  IdentityFile " + s->identity() + "\n";
  cfg += "  UserKnownHostsFile";
  for (const Sshd* s : sshds) cfg += " " + s->known_hosts();
  cfg +=
      "\n"
      "  GlobalKnownHostsFile /dev/null\n"
      "  StrictHostKeyChecking yes\n"
      "  IdentitiesOnly yes\n"
      "  IdentityAgent none\n"
      "  CheckHostIP no\n"
      "  UpdateHostKeys no\n"
      "  BatchMode yes\n";
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << cfg;
  f.close();
  if (!f) return InternalError("cannot write " + path);
  return Status::Ok();
}

// ---------------------------------------------------------------------------
// NetnsPair

namespace {

constexpr char kNetnsLock[] = "/tmp/edgebench-netns.lock";
constexpr char kSubnetPrefix[] = "10.213.";

std::string NetnsPrefix(pid_t pid) { return "ebt" + std::to_string(pid); }

// Namespaces named after a test process that no longer runs (it was killed
// before its destructors ran).
void RemoveStaleNamespaces() {
  std::string list;
  if (!Run({"ip", "netns", "list"}, &list).ok()) return;
  std::istringstream in(list);
  for (std::string line; std::getline(in, line);) {
    const std::string name = line.substr(0, line.find(' '));
    if (name.rfind("ebt", 0) != 0) continue;
    const size_t n = name.find('n', 3);
    if (n == std::string::npos) continue;
    const std::string pid = name.substr(3, n - 3);
    if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) continue;
    if (::access(("/proc/" + pid).c_str(), F_OK) == 0) continue;
    Run({"ip", "netns", "delete", name}).IgnoreError();
  }
}

}  // namespace

Status NetnsPair::Permitted() {
  static const Status permitted = [] {
    if (::geteuid() != 0) {
      return PermissionDeniedError("network namespaces need root (running as uid " +
                                   std::to_string(::geteuid()) + ")");
    }
    if (FindProgram("ip").empty()) return NotFoundError("ip (iproute2): not installed");
    // Root in a container may still lack CAP_NET_ADMIN or mount rights:
    // only trying tells.
    const std::string probe = NetnsPrefix(::getpid()) + "probe";
    Status s = Run({"ip", "netns", "add", probe});
    if (!s.ok())
      return PermissionDeniedError("cannot create a network namespace: " + s.message());
    s = Run({"ip", "link", "add", probe + "0", "type", "veth", "peer", "name",
             probe + "1", "netns", probe});
    if (!s.ok()) {
      Run({"ip", "netns", "delete", probe}).IgnoreError();
      return PermissionDeniedError("cannot create a veth pair: " + s.message());
    }
    // Entering it needs mount rights too (`ip -n` remounts /sys, which
    // fails in a chroot whose / is no mount point).
    s = Run({"ip", "-n", probe, "link", "set", "lo", "up"});
    Run({"ip", "netns", "delete", probe}).IgnoreError();
    Run({"ip", "link", "delete", probe + "0"}).IgnoreError();
    if (!s.ok())
      return PermissionDeniedError("cannot enter a network namespace: " + s.message());
    return Status::Ok();
  }();
  return permitted;
}

Result<std::unique_ptr<NetnsPair>> NetnsPair::Create() {
  RETURN_IF_ERROR(Permitted());
  static std::mutex mu;  // the sequence number and the lock file's fd
  static int next = 0;
  std::lock_guard<std::mutex> guard(mu);
  FileLock lock(kNetnsLock);
  RemoveStaleNamespaces();

  std::unique_ptr<NetnsPair> p(new NetnsPair());
  const std::string prefix = NetnsPrefix(::getpid());
  const int seq = next++;
  p->name_ = prefix + "n" + std::to_string(seq);
  p->host_if_ = prefix + "h" + std::to_string(seq);
  p->board_if_ = prefix + "b" + std::to_string(seq);
  if (p->host_if_.size() > 15)
    return InternalError("interface name too long: " + p->host_if_);

  // A /24 that no interface here uses yet (others' tests, earlier pairs).
  std::string addrs;
  RETURN_IF_ERROR(Run({"ip", "-o", "-4", "addr", "show"}, &addrs));
  int subnet = -1;
  for (int i = 0; i < 254; ++i) {
    const int candidate = 1 + (static_cast<int>(::getpid()) + i) % 254;
    const std::string net = kSubnetPrefix + std::to_string(candidate) + ".";
    if (addrs.find(" " + net) == std::string::npos) {
      subnet = candidate;
      break;
    }
  }
  if (subnet < 0) return ResourceExhaustedError("no free 10.213.x.0/24 subnet");
  const std::string net = kSubnetPrefix + std::to_string(subnet) + ".";
  p->host_address_ = net + "1";
  p->board_address_ = net + "2";

  RETURN_IF_ERROR(Run({"ip", "netns", "add", p->name_}));
  // From here the destructor removes what was made, also on failure.
  const std::vector<std::vector<std::string>> steps = {
      {"ip", "link", "add", p->host_if_, "type", "veth", "peer", "name", p->board_if_,
       "netns", p->name_},
      {"ip", "addr", "add", p->host_address_ + "/24", "dev", p->host_if_},
      {"ip", "link", "set", p->host_if_, "up"},
      {"ip", "-n", p->name_, "addr", "add", p->board_address_ + "/24", "dev",
       p->board_if_},
      {"ip", "-n", p->name_, "link", "set", p->board_if_, "up"},
      {"ip", "-n", p->name_, "link", "set", "lo", "up"},
  };
  for (const auto& step : steps) RETURN_IF_ERROR(Run(step));
  return p;
}

NetnsPair::~NetnsPair() {
  if (name_.empty()) return;
  // Deleting one end of a veth pair deletes both; this also works while a
  // stray process keeps the namespace itself alive.
  Run({"ip", "link", "delete", host_if_}).IgnoreError();
  Run({"ip", "netns", "delete", name_}).IgnoreError();
}

}  // namespace edgebench::testing
