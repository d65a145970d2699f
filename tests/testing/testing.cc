#include "tests/testing/testing.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace edgebench::testing {

namespace {
[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "test helper: %s: %s\n", what.c_str(), std::strerror(errno));
  std::abort();
}
}  // namespace

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/edgebench-test-XXXXXX";
  if (!::mkdtemp(tmpl.data())) Die("mkdtemp " + tmpl);
  path_ = tmpl;
}

TempDir::~TempDir() {
  if (std::getenv("EDGEBENCH_KEEP_TEST_DIRS")) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::File(const std::string& name) const { return path_ + "/" + name; }

std::string BinDir() {
  const char* d = std::getenv("EDGEBENCH_BIN_DIR");
  return d && *d ? d : "build/bin";
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) Die("open " + path);
  f << content;
  if (!f) Die("write " + path);
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

ProgramResult RunProgram(const std::vector<std::string>& argv, const std::string& input) {
  // A child that exits without reading stdin must not kill the test with
  // SIGPIPE; the write then fails with EPIPE, which is handled below.
  static const bool sigpipe_ignored = (::signal(SIGPIPE, SIG_IGN), true);
  (void)sigpipe_ignored;
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) || ::pipe2(out, O_CLOEXEC) || ::pipe2(err, O_CLOEXEC))
    Die("pipe");
  pid_t pid = ::fork();
  if (pid < 0) Die("fork");
  if (pid == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    std::fprintf(stderr, "exec %s: %s\n", args[0], std::strerror(errno));
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  // Feed stdin and drain both outputs together so no pipe fills up.
  size_t written = 0;
  int in_fd = in[1];
  if (input.empty()) { ::close(in_fd); in_fd = -1; }
  ProgramResult r;
  bool out_open = true, err_open = true;
  while (out_open || err_open || in_fd >= 0) {
    pollfd fds[3];
    int n = 0;
    if (out_open) fds[n++] = {out[0], POLLIN, 0};
    if (err_open) fds[n++] = {err[0], POLLIN, 0};
    if (in_fd >= 0) fds[n++] = {in_fd, POLLOUT, 0};
    if (::poll(fds, n, -1) < 0) {
      if (errno == EINTR) continue;
      Die("poll");
    }
    for (int i = 0; i < n; ++i) {
      if (!fds[i].revents) continue;
      if (fds[i].fd == in_fd) {
        ssize_t w = ::write(in_fd, input.data() + written, input.size() - written);
        if (w > 0) written += static_cast<size_t>(w);
        if (w < 0 || written == input.size()) { ::close(in_fd); in_fd = -1; }
        continue;
      }
      char buf[65536];
      ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
      if (got <= 0) {
        if (fds[i].fd == out[0]) out_open = false; else err_open = false;
        continue;
      }
      (fds[i].fd == out[0] ? r.out : r.err).append(buf, static_cast<size_t>(got));
    }
  }
  ::close(out[0]);
  ::close(err[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  return r;
}

std::string RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (size_t i = 0; i < n; i += 8) {
    const uint64_t v = rng();
    std::memcpy(s.data() + i, &v, std::min<size_t>(8, n - i));
  }
  return s;
}

std::vector<std::string> HostileStrings(const std::string& marker) {
  return {"; touch " + marker,
          "; touch " + marker + " #",
          "$(touch " + marker + ")",
          "`touch " + marker + "`",
          "' ; touch " + marker + " ; '",
          "\" ; touch " + marker + " ; \"",
          "a\ntouch " + marker,
          "x && touch " + marker,
          "x || touch " + marker,
          "x | touch " + marker,
          "a;b",
          "-rf",
          "--help",
          "--",
          "-",
          "-c",
          "$HOME ${PATH} $0 $$ $1 $@ ${IFS}",
          "back\\slash\\",
          "*",
          "~",
          "tab\tand  two spaces ",
          " leading space",
          "'",
          "''",
          "\"",
          "it's \"q\"",
          "",
          "model name (Q4_0) [1.1B].gguf",
          "Ünïcödé ✓ 模型",
          "%s%n%x",
          "\x01\x7f\xff raw bytes"};
}

}  // namespace edgebench::testing
