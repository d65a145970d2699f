// runtime/telemetry/internal/sysfs.h — reading sysfs and procfs attributes
// cheaply and the small text helpers the telemetry sources share.
//
// A SysfsFile stays open and is re-read with pread() at offset 0: sysfs
// (kernfs) calls the attribute's show() again on every read at offset 0, and
// seq_file procfs files (/proc/<pid>/status, smaps_rollup) regenerate their
// text the same way, so no open()/close() per sample. Reads go into the
// caller's buffer and integers are parsed by hand: a sample allocates
// nothing.
//
// Thread-safety: a SysfsFile is used by one thread at a time; the free
// functions are reentrant.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace edgebench::runtime::telemetry_internal {

class SysfsFile {
 public:
  SysfsFile() = default;
  ~SysfsFile();
  SysfsFile(SysfsFile&& other) noexcept;
  SysfsFile& operator=(SysfsFile&& other) noexcept;
  SysfsFile(const SysfsFile&) = delete;
  SysfsFile& operator=(const SysfsFile&) = delete;

  // Opens `path` read-only (O_CLOEXEC). Errors name the path.
  static Result<SysfsFile> Open(const std::string& path);

  bool is_open() const { return fd_ >= 0; }
  const std::string& path() const { return path_; }
  void Close();

  // Reads the content from offset 0 into buf with one pread (at most
  // cap - 1 bytes, then a NUL; the rest of a longer file is cut off).
  // Returns the number of bytes read (0: empty), or -errno.
  ssize_t Read(char* buf, size_t cap) const;

  // The first integer of the content. An empty file, a read error or text
  // that is not a number is an error: the kernel never shows an attribute
  // that way, so it means the attribute (or its device) is gone.
  Status ReadInt(int64_t* value) const;

 private:
  int fd_ = -1;
  std::string path_;
};

// An optionally signed decimal integer after optional blanks; the rest of
// `s` is ignored. False when there is none or it overflows int64.
bool ParseInt(std::string_view s, int64_t* value);

// The integer after `key` where `key` starts a line ("VmRSS:" in
// "...\nVmRSS:\t  960 kB\n"). False when the key is absent.
bool FindKeyInt(std::string_view text, std::string_view key, int64_t* value);

// The whole content of a small file (at most 64 KiB), with trailing blanks
// and newlines removed.
Result<std::string> ReadTrimmed(const std::string& path);

// The names in `dir` but "." and "..", in natural order (hwmon2 before
// hwmon10); empty when `dir` cannot be read.
std::vector<std::string> ListDir(const std::string& dir);
bool NaturalLess(const std::string& a, const std::string& b);

bool PathExists(const std::string& path);
bool IsDirectory(const std::string& path);  // follows symlinks
// realpath(3), or `path` itself when it cannot be resolved.
std::string RealPath(const std::string& path);

// A sample-name component: lower case, every character outside [a-z0-9]
// becomes '_', runs of '_' collapse, none at either end ("VDD_IN" ->
// "vdd_in", "cpu-thermal" -> "cpu_thermal", "package-0" -> "package_0").
std::string SanitizeName(std::string_view s);

// A CPU list as sysfs writes it: ranges ("0-3,6") in `online`, blank
// separated numbers ("0 1 2 3") in related_cpus. Sorted, unique; invalid
// tokens are skipped.
std::vector<int> ParseCpuSet(std::string_view s);

// The trailing decimal number of a name ("hwmon12" -> 12), or -1.
int TrailingNumber(std::string_view name);

}  // namespace edgebench::runtime::telemetry_internal
