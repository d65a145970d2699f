#include "runtime/telemetry/internal/sysfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

namespace edgebench::runtime::telemetry_internal {

SysfsFile::~SysfsFile() { Close(); }

SysfsFile::SysfsFile(SysfsFile&& other) noexcept
    : fd_(other.fd_), path_(std::move(other.path_)) {
  other.fd_ = -1;
}

SysfsFile& SysfsFile::operator=(SysfsFile&& other) noexcept {
  if (this != &other) {
    Close();
    fd_ = other.fd_;
    path_ = std::move(other.path_);
    other.fd_ = -1;
  }
  return *this;
}

Result<SysfsFile> SysfsFile::Open(const std::string& path) {
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return ErrnoToStatus(errno, path);
  SysfsFile f;
  f.fd_ = fd;
  f.path_ = path;
  return f;
}

void SysfsFile::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

ssize_t SysfsFile::Read(char* buf, size_t cap) const {
  if (cap == 0) return -EINVAL;
  if (fd_ < 0) return -EBADF;
  // One pread: sysfs shows an attribute whole (at most a page) at offset
  // 0, and a seq_file (status, smaps_rollup, meminfo) fills the buffer in
  // one call. Reading on to see end-of-file would double the syscalls.
  ssize_t n;
  do {
    n = ::pread(fd_, buf, cap - 1, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return -errno;
  buf[n] = '\0';
  return n;
}

Status SysfsFile::ReadInt(int64_t* value) const {
  char buf[64];
  const ssize_t n = Read(buf, sizeof buf);
  if (n < 0) return ErrnoToStatus(static_cast<int>(-n), path_);
  if (n == 0) return UnavailableError(path_ + ": empty");
  if (!ParseInt(std::string_view(buf, static_cast<size_t>(n)), value))
    return DataLossError(path_ + ": not a number");
  return Status::Ok();
}

bool ParseInt(std::string_view s, int64_t* value) {
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  bool negative = false;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) negative = s[i++] == '-';
  const size_t digits_start = i;
  // Accumulate as a negative number so INT64_MIN parses too.
  int64_t v = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
    const int d = s[i] - '0';
    if (v < (INT64_MIN + d) / 10) return false;
    v = v * 10 - d;
  }
  if (i == digits_start) return false;
  if (!negative) {
    if (v == INT64_MIN) return false;
    v = -v;
  }
  *value = v;
  return true;
}

bool FindKeyInt(std::string_view text, std::string_view key, int64_t* value) {
  size_t pos = 0;
  while (pos < text.size()) {
    if (text.compare(pos, key.size(), key) == 0)
      return ParseInt(text.substr(pos + key.size()), value);
    const size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  return false;
}

Result<std::string> ReadTrimmed(const std::string& path) {
  ASSIGN_OR_RETURN(SysfsFile f, SysfsFile::Open(path));
  std::string buf(64 * 1024, '\0');
  const ssize_t n = f.Read(buf.data(), buf.size());
  if (n < 0) return ErrnoToStatus(static_cast<int>(-n), path);
  buf.resize(static_cast<size_t>(n));
  while (!buf.empty() && (buf.back() == '\n' || buf.back() == ' ' || buf.back() == '\t' ||
                          buf.back() == '\r'))
    buf.pop_back();
  return buf;
}

bool NaturalLess(const std::string& a, const std::string& b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    const bool da = a[i] >= '0' && a[i] <= '9', db = b[j] >= '0' && b[j] <= '9';
    if (da && db) {
      size_t ie = i, je = j;
      while (ie < a.size() && a[ie] >= '0' && a[ie] <= '9') ++ie;
      while (je < b.size() && b[je] >= '0' && b[je] <= '9') ++je;
      // Compare the numbers without converting: strip leading zeros, then
      // the longer is larger, then lexicographic.
      size_t is = i, js = j;
      while (is + 1 < ie && a[is] == '0') ++is;
      while (js + 1 < je && b[js] == '0') ++js;
      if (ie - is != je - js) return ie - is < je - js;
      const int c = a.compare(is, ie - is, b, js, je - js);
      if (c != 0) return c < 0;
      i = ie;
      j = je;
      continue;
    }
    if (a[i] != b[j]) return a[i] < b[j];
    ++i;
    ++j;
  }
  return a.size() - i < b.size() - j;
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return names;
  while (const dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    names.emplace_back(e->d_name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end(), NaturalLess);
  return names;
}

bool PathExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

bool IsDirectory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string RealPath(const std::string& path) {
  char* r = ::realpath(path.c_str(), nullptr);
  if (!r) return path;
  std::string s(r);
  std::free(r);
  return s;
}

std::string SanitizeName(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    char x = c;
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    const bool keep = (x >= 'a' && x <= 'z') || (x >= '0' && x <= '9');
    if (keep) {
      out.push_back(x);
    } else if (!out.empty() && out.back() != '_') {
      out.push_back('_');
    }
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out;
}

std::vector<int> ParseCpuSet(std::string_view s) {
  std::vector<int> cpus;
  size_t i = 0;
  const auto number = [&](int64_t* v) {
    const size_t start = i;
    int64_t x = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9' && x < 1'000'000)
      x = x * 10 + (s[i++] - '0');
    *v = x;
    return i > start;
  };
  while (i < s.size()) {
    if (s[i] < '0' || s[i] > '9') {
      ++i;
      continue;
    }
    int64_t lo = 0, hi = 0;
    number(&lo);
    hi = lo;
    if (i < s.size() && s[i] == '-') {
      ++i;
      if (!number(&hi)) hi = lo;
    }
    // A CPU number past any real machine is a corrupt list, not 10^6 cores.
    if (hi < lo || hi >= 65536) continue;
    for (int64_t c = lo; c <= hi; ++c) cpus.push_back(static_cast<int>(c));
  }
  std::sort(cpus.begin(), cpus.end());
  cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
  return cpus;
}

int TrailingNumber(std::string_view name) {
  size_t i = name.size();
  while (i > 0 && name[i - 1] >= '0' && name[i - 1] <= '9') --i;
  if (i == name.size() || name.size() - i > 9) return -1;
  int v = 0;
  for (size_t k = i; k < name.size(); ++k) v = v * 10 + (name[k] - '0');
  return v;
}

}  // namespace edgebench::runtime::telemetry_internal
