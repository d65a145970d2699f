// edgebench-test-adbd: a fake adb device for the tests (daemon.h).
//
//   edgebench-test-adbd [--port N] [--port-file F] [--model NAME]
//       [--product NAME] [--device NAME] [--die-after-sync-bytes N]
//       [--on-shell-close kill-group|hup-shell] [--unauthorized]
//       [--shell PATH] [--sync-okay-delay-ms N] [--verbose]
//
// Then: adb -P <server port> connect 127.0.0.1:N.

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "tests/adbd/daemon.h"

namespace {

void Usage() {
  std::fprintf(
      stderr,
      "usage: edgebench-test-adbd [--port N (0: any)] [--port-file FILE]\n"
      "         [--model NAME] [--product NAME] [--device NAME]\n"
      "         [--die-after-sync-bytes N] [--on-shell-close kill-group|hup-shell]\n"
      "         [--unauthorized] [--shell PATH (/bin/sh)] [--sync-okay-delay-ms N]\n"
      "         [--verbose]\n");
}

bool ParseUint(const std::string& s, unsigned long long max, unsigned long long* out) {
  if (s.empty() || s[0] == '-') return false;
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || v > max) return false;
  *out = v;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  edgebench::testing::adbd::DaemonOptions options;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    std::string value;
    const size_t eq = flag.find('=');
    const bool has_inline_value = flag.starts_with("--") && eq != std::string::npos;
    if (has_inline_value) {
      value = flag.substr(eq + 1);
      flag.resize(eq);
    }
    auto next = [&]() -> bool {
      if (has_inline_value) return true;
      if (i + 1 >= argc) {
        std::fprintf(stderr, "edgebench-test-adbd: %s needs a value\n", flag.c_str());
        return false;
      }
      value = argv[++i];
      return true;
    };
    unsigned long long n = 0;
    if (flag == "--verbose" && !has_inline_value) {
      options.verbose = true;
    } else if (flag == "--unauthorized" && !has_inline_value) {
      options.unauthorized = true;
    } else if (flag == "--help" || flag == "-h") {
      Usage();
      return 0;
    } else if (flag == "--port") {
      if (!next()) return 2;
      if (!ParseUint(value, 65535, &n)) {
        std::fprintf(stderr,
                     "edgebench-test-adbd: --port: expected 0..65535, got \"%s\"\n",
                     value.c_str());
        return 2;
      }
      options.port = static_cast<int>(n);
    } else if (flag == "--port-file") {
      if (!next()) return 2;
      options.port_file = value;
    } else if (flag == "--shell") {
      if (!next()) return 2;
      options.shell = value;
    } else if (flag == "--model") {
      if (!next()) return 2;
      options.model = value;
    } else if (flag == "--product") {
      if (!next()) return 2;
      options.product = value;
    } else if (flag == "--device") {
      if (!next()) return 2;
      options.device = value;
    } else if (flag == "--die-after-sync-bytes") {
      if (!next()) return 2;
      if (!ParseUint(value, ~0ull, &n) || n == 0) {
        std::fprintf(stderr,
                     "edgebench-test-adbd: --die-after-sync-bytes: expected a positive "
                     "integer, got \"%s\"\n",
                     value.c_str());
        return 2;
      }
      options.die_after_sync_bytes = n;
    } else if (flag == "--sync-okay-delay-ms") {
      if (!next()) return 2;
      if (!ParseUint(value, 60'000, &n)) {
        std::fprintf(
            stderr,
            "edgebench-test-adbd: --sync-okay-delay-ms: expected 0..60000, got \"%s\"\n",
            value.c_str());
        return 2;
      }
      options.sync_okay_delay_ms = static_cast<int>(n);
    } else if (flag == "--on-shell-close") {
      if (!next()) return 2;
      if (value == "kill-group") {
        options.on_shell_close = edgebench::testing::adbd::OnShellClose::kKillGroup;
      } else if (value == "hup-shell") {
        options.on_shell_close = edgebench::testing::adbd::OnShellClose::kHupShellOnly;
      } else {
        std::fprintf(stderr,
                     "edgebench-test-adbd: --on-shell-close: expected kill-group or "
                     "hup-shell, got \"%s\"\n",
                     value.c_str());
        return 2;
      }
    } else {
      std::fprintf(stderr, "edgebench-test-adbd: unknown argument \"%s\"\n", argv[i]);
      Usage();
      return 2;
    }
  }
  return edgebench::testing::adbd::RunDaemon(options);
}
