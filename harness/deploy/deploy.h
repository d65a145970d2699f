// harness/deploy/deploy.h — putting the runtime, models and workload files
// on a device, content-addressed.
//
// Layout on the device, under its work dir (/data/local/tmp/edgebench on
// Android, ~/.cache/edgebench on Linux, or the device's `work_dir`):
//   blobs/<sha256>          a complete, verified file; never rewritten
//   blobs/.tmp-<sha256>-<n> a push in progress (or one that died)
// A file is pushed to a temporary name, its SHA-256 checked on the device,
// then renamed: a file under its final name is always whole, so a push cut
// off by a vanished device, a full disk or Ctrl-C is never used later. A
// file whose blob is already there is never sent again.
//
// Thread-safety: functions without shared state; one Deploy per transport
// at a time.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/status.h"
#include "harness/transport/transport.h"

namespace edgebench::harness {

// SHA-256 of a file's contents, lowercase hex (OpenSSL's EVP).
Result<std::string> Sha256File(const std::string& path);

// The machine an ELF executable is for: "aarch64", "x86_64", "arm",
// "riscv64"; an error naming the file when it is not ELF.
Result<std::string> ElfMachine(const std::string& path);

// The runtime (edgebench-rt) built for `abi` ("x86_64", "aarch64",
// "arm64-v8a"): `explicit_path` when given (checked to be for that ABI),
// else the build tree beside the running edgebench (bin/edgebench-rt for
// the host, aarch64/bin/edgebench-rt for arm64: it is static, so it runs
// on Android as well as on Linux boards). The error says how to build it.
Result<std::string> FindRuntime(const std::string& abi, const std::string& explicit_path);

// The work dir on the device: `configured` with a leading ~/ expanded there,
// or the default for the device's OS; created if missing.
Result<std::string> PrepareWorkDir(Transport& transport, const std::string& configured,
                                   bool android);

struct DeployFile {
  std::string local;        // path on this machine
  bool executable = false;  // mode 0755 on the device (else 0644)
};

struct DeployedFile {
  std::string local;
  std::string sha256;
  uint64_t bytes = 0;
  std::string remote;  // <work_dir>/blobs/<sha256>
  bool sent = false;   // false: it was already there
};

struct DeployReport {
  std::string work_dir;
  std::vector<DeployedFile> files;  // in the order asked
  int files_sent = 0;
  uint64_t bytes_sent = 0;
  double send_seconds = 0;  // time spent pushing and verifying
};

struct DeployOptions {
  // Called while a file is being sent.
  std::function<void(const DeployedFile& file, const TransferProgress& progress)> progress;
};

// Deploys `files` into `work_dir` (from PrepareWorkDir). The same content
// given twice is sent once.
Result<DeployReport> Deploy(Transport& transport, const std::string& work_dir,
                            const std::vector<DeployFile>& files,
                            const DeployOptions& options = {});

}  // namespace edgebench::harness
