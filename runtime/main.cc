// edgebench-rt — the on-device runtime. Reads a run spec (a file, or stdin
// with "-" or no argument), measures, and writes JSON Lines events on
// stdout (protocol/events.h). Stderr is for humans only.
//
//   edgebench-rt spec.json        run a spec
//   edgebench-rt - < spec.json    the same, from stdin
//   edgebench-rt --hello          print the hello event (device probe) and exit
//   edgebench-rt --version        this build and its engines
//   edgebench-rt --licenses       third-party notices (llama.cpp's MIT licence)
//
// Exit codes: 0 every run measured, 1 a run or the whole spec failed (the
// stream says why), 2 bad arguments or an invalid spec, 3 interrupted by
// SIGINT/SIGTERM or the spec's timeout.
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

#include "base/build_info.h"
#include "protocol/run_spec.h"
#include "runtime/event_writer.h"
#include "runtime/runner.h"
#include "runtime/telemetry/telemetry.h"

namespace {

using edgebench::runtime::CancelFlag;

CancelFlag g_cancel;

void OnStopSignal(int sig) { g_cancel.Request(sig); }

// Appends the decimal digits of v to buf (async-signal-safe).
size_t AppendInt(char* buf, size_t at, long long v) {
  char tmp[24];
  size_t n = 0;
  const bool neg = v < 0;
  unsigned long long u = neg ? 0ull - static_cast<unsigned long long>(v) : v;
  do {
    tmp[n++] = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u);
  if (neg) buf[at++] = '-';
  while (n) buf[at++] = tmp[--n];
  return at;
}

size_t AppendStr(char* buf, size_t at, const char* s) {
  while (*s) buf[at++] = *s++;
  return at;
}

// A crash still leaves a line on the stream saying what happened, written
// with async-signal-safe calls only; then the default action (core dump)
// runs. Every repetition finished before is already on the host.
void OnCrash(int sig) {
  char buf[256];
  size_t n = 0;
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  n = AppendStr(buf, n, "\n{\"ev\":\"error\",\"t_ns\":");
  n = AppendInt(buf, n, static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec);
  n = AppendStr(buf, n, ",\"code\":\"internal\",\"message\":\"edgebench-rt crashed with signal ");
  n = AppendInt(buf, n, sig);
  const char* name = sig == SIGSEGV ? " (SIGSEGV)"
                     : sig == SIGBUS ? " (SIGBUS)"
                     : sig == SIGILL ? " (SIGILL: an instruction this CPU lacks?)"
                     : sig == SIGFPE ? " (SIGFPE)"
                     : sig == SIGABRT ? " (SIGABRT)"
                                      : "";
  n = AppendStr(buf, n, name);
  n = AppendStr(buf, n, "\",\"fatal\":true}\n");
  ssize_t ignored = ::write(STDOUT_FILENO, buf, n);
  (void)ignored;
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

void InstallHandlers() {
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  // A host that goes away shows up as EPIPE on write (EventWriter), not as
  // a signal that kills us before the stream can end.
  ::signal(SIGPIPE, SIG_IGN);
  struct sigaction crash;
  std::memset(&crash, 0, sizeof crash);
  crash.sa_handler = OnCrash;
  sigemptyset(&crash.sa_mask);
  crash.sa_flags = SA_RESETHAND;
  for (int sig : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT}) ::sigaction(sig, &crash, nullptr);
}

void Usage(std::FILE* to) {
  std::fputs(
      "usage: edgebench-rt [SPEC.json | -]   run a spec (stdin when - or absent)\n"
      "       edgebench-rt --hello           print the hello event and exit\n"
      "       edgebench-rt --version           this build and the engines it links\n"
      "       edgebench-rt --licenses          notices of the third-party code inside\n"
      "Events go to stdout as JSON Lines; see protocol/events.h.\n",
      to);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace edgebench;
  std::string spec_path = "-";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      Usage(stdout);
      return 0;
    }
    if (a == "--version") {
      const BuildInfo& b = GetBuildInfo();
      std::printf("edgebench-rt %.*s (commit %.*s, %.*s, %.*s)\n",
                  static_cast<int>(b.version.size()), b.version.data(),
                  static_cast<int>(b.git_commit.size()), b.git_commit.data(),
                  static_cast<int>(b.build_type.size()), b.build_type.data(),
                  static_cast<int>(b.arch.size()), b.arch.data());
      std::printf("%s", runtime::EnginesSummary().c_str());
      return 0;
    }
    if (a == "--licenses") {
      std::printf("%s", runtime::ThirdPartyNotices().c_str());
      return 0;
    }
    if (a == "--hello") {
      std::printf("%s\n", runtime::HelloEvent({}).dump().c_str());
      return 0;
    }
    if (a.size() > 1 && a[0] == '-' && a != "-") {
      std::fprintf(stderr, "edgebench-rt: unknown option %s\n", a.c_str());
      Usage(stderr);
      return runtime::kRtExitUsage;
    }
    if (i + 1 < argc) {
      std::fprintf(stderr, "edgebench-rt: one spec at a time\n");
      return runtime::kRtExitUsage;
    }
    spec_path = a;
  }

  std::stringstream text;
  if (spec_path == "-") {
    text << std::cin.rdbuf();
  } else {
    std::ifstream f(spec_path);
    if (!f) {
      std::fprintf(stderr, "edgebench-rt: %s: %s\n", spec_path.c_str(), std::strerror(errno));
      return runtime::kRtExitUsage;
    }
    text << f.rdbuf();
  }
  auto spec = protocol::ParseRunSpecText(text.str());
  runtime::EventWriter out(STDOUT_FILENO);
  if (!spec.ok()) {
    // The host reads the stream: the reason goes there as well as to a
    // human on stderr.
    out.Write({{"ev", "error"},
               {"t_ns", runtime::MonotonicNs()},
               {"code", "invalid_argument"},
               {"message", spec.status().message()},
               {"fatal", true}});
    out.Write({{"ev", "done"}, {"t_ns", runtime::MonotonicNs()}, {"status", "failed"},
               {"reps", 0}, {"errors", 1}});
    std::fprintf(stderr, "edgebench-rt: %s\n", spec.status().message().c_str());
    return runtime::kRtExitUsage;
  }

  InstallHandlers();
  // The spec's overall timeout ends the stream cleanly, like a signal.
  std::mutex mu;
  std::condition_variable cv;
  bool finished = false;
  std::thread watchdog;
  if (spec->timeout_s > 0) {
    watchdog = std::thread([&] {
      std::unique_lock<std::mutex> lock(mu);
      if (!cv.wait_for(lock, std::chrono::duration<double>(spec->timeout_s),
                       [&] { return finished; }))
        g_cancel.Request(runtime::kCancelTimeout);
    });
  }
  const int code = runtime::ExecuteSpec(*spec, out, g_cancel);
  {
    std::lock_guard<std::mutex> lock(mu);
    finished = true;
  }
  cv.notify_all();
  if (watchdog.joinable()) watchdog.join();
  return code;
}
