#include "harness/deploy/deploy.h"

#include <fcntl.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <sstream>

namespace edgebench::harness {
namespace {

// Checks which blobs are already there (whole: a blob of the wrong size is
// removed), and clears partial pushes older than an hour (a younger one
// may belong to another edgebench pushing to this device right now).
// Arguments: blobs dir, then (sha256, size) pairs. Prints "have <sha>".
constexpr const char* kCheckScript = R"sh(d=$1; shift
mkdir -p "$d" || exit 1
find "$d" -name '.tmp-*' -mmin +60 -exec rm -f {} + 2>/dev/null
while [ $# -ge 2 ]; do
  if [ -f "$d/$1" ]; then
    n=$(wc -c < "$d/$1" | tr -d ' ')
    if [ "$n" = "$2" ]; then echo "have $1"; else rm -f "$d/$1"; echo "removed $1 $n"; fi
  fi
  shift 2
done
)sh";

// Verifies a pushed temporary file and gives it its final name.
// Arguments: temporary, final, sha256, size, mode. Without sha256sum on
// the device (rare: toybox, busybox and coreutils all have it) the size is
// checked instead.
constexpr const char* kCommitScript = R"sh(t=$1 f=$2 want=$3 size=$4 mode=$5
if command -v sha256sum >/dev/null 2>&1; then
  got=$(sha256sum "$t") || { rm -f "$t"; exit 4; }
  got=${got%% *}
  check=sha256
else
  got=$(wc -c < "$t" | tr -d ' ')
  want=$size
  check=size
fi
if [ "$got" != "$want" ]; then rm -f "$t"; echo "mismatch $check $got"; exit 3; fi
chmod "$mode" "$t" && mv -f "$t" "$f" && echo "ok $check"
)sh";

std::string Hex(const unsigned char* p, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out.push_back(digits[p[i] >> 4]);
    out.push_back(digits[p[i] & 15]);
  }
  return out;
}

Status ExecError(const Transport& t, const char* what, const ExecResult& r) {
  std::string detail = r.err.empty() ? r.out : r.err;
  while (!detail.empty() && detail.back() == '\n') detail.pop_back();
  return InternalError(t.name() + ": " + what + " failed (" + r.Describe() + ")" +
                       (detail.empty() ? "" : ": " + detail));
}

std::string SelfDir() {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : exe.parent_path().string();
}

}  // namespace

Result<std::string> Sha256File(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoToStatus(errno, "cannot open \"" + path + "\"");
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
    ::close(fd);
    return InternalError("SHA-256: OpenSSL could not start a digest");
  }
  std::string buf(size_t{1} << 20, '\0');
  for (;;) {
    const ssize_t got = ::read(fd, buf.data(), buf.size());
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      const int e = errno;
      ::close(fd);
      return ErrnoToStatus(e, "cannot read \"" + path + "\"");
    }
    if (got == 0) break;
    EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<size_t>(got));
  }
  ::close(fd);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &n);
  return Hex(md, n);
}

Result<std::string> ElfMachine(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoToStatus(errno, "cannot open \"" + path + "\"");
  unsigned char h[20] = {};
  const ssize_t got = ::read(fd, h, sizeof h);
  ::close(fd);
  if (got != static_cast<ssize_t>(sizeof h) || std::memcmp(h, "\x7f" "ELF", 4) != 0)
    return InvalidArgumentError("\"" + path + "\" is not an ELF executable");
  // e_machine at offset 18, in the file's byte order (EI_DATA: 1 little).
  const unsigned m = h[5] == 1 ? h[18] | (h[19] << 8) : (h[18] << 8) | h[19];
  switch (m) {
    case 0x3e: return std::string("x86_64");
    case 0xb7: return std::string("aarch64");
    case 0x28: return std::string("arm");
    case 0xf3: return std::string("riscv64");
    case 0x03: return std::string("x86");
    default: return "machine " + std::to_string(m);
  }
}

Result<std::string> FindRuntime(const std::string& abi, const std::string& explicit_path) {
  const std::string machine = abi == "arm64-v8a" ? "aarch64" : abi;
  std::vector<std::string> candidates;
  if (!explicit_path.empty()) {
    candidates.push_back(explicit_path);
  } else {
    const std::string self = SelfDir();
    // Beside edgebench: the host's own runtime; the cross-built trees of
    // the build folder (cmake/toolchains/aarch64_tree.cmake).
    candidates.push_back(self + "/edgebench-rt");
    candidates.push_back(self + "/../" + machine + "/bin/edgebench-rt");
  }
  std::string seen;
  for (const std::string& c : candidates) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(c, ec)) {
      if (!explicit_path.empty()) return NotFoundError("runtime \"" + c + "\" does not exist");
      continue;
    }
    auto m = ElfMachine(c);
    if (m.ok() && *m == machine) return std::filesystem::weakly_canonical(c).string();
    const std::string got = m.ok() ? *m : m.status().message();
    if (!explicit_path.empty())
      return InvalidArgumentError("runtime \"" + c + "\" is for " + got + ", the device is " + abi);
    seen += " " + c + " (" + got + ")";
  }
  return NotFoundError("no edgebench-rt built for " + abi + (seen.empty() ? "" : ";" + seen) +
                       (machine == "aarch64"
                            ? ": build it with -DEDGEBENCH_AARCH64=ON (the default when "
                              "aarch64-linux-gnu-g++ is installed; scripts/setup.sh installs it)"
                            : ": pass --runtime FILE"));
}

Result<std::string> PrepareWorkDir(Transport& transport, const std::string& configured,
                                   bool android) {
  std::string dir = configured;
  if (dir.empty()) dir = android ? "/data/local/tmp/edgebench" : "~/.cache/edgebench";
  if (dir.rfind("~/", 0) == 0) {
    ASSIGN_OR_RETURN(ExecResult home, transport.Exec({"sh", "-c", "printf %s \"$HOME\""}));
    if (!home.ok() || home.out.empty() || home.out.front() != '/')
      return FailedPreconditionError(transport.name() + ": cannot resolve " + dir +
                                     " (no $HOME on the device); set the device's work_dir");
    dir = home.out + dir.substr(1);
  }
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  ASSIGN_OR_RETURN(ExecResult r, transport.Exec({"mkdir", "-p", "--", dir + "/blobs"}));
  if (!r.ok()) return ExecError(transport, ("creating work dir " + dir).c_str(), r);
  return dir;
}

Result<DeployReport> Deploy(Transport& transport, const std::string& work_dir,
                            const std::vector<DeployFile>& files, const DeployOptions& options) {
  DeployReport report;
  report.work_dir = work_dir;
  const std::string blobs = work_dir + "/blobs";
  std::vector<std::string> check = {"sh", "-c", kCheckScript, "sh", blobs};
  for (const DeployFile& f : files) {
    DeployedFile d;
    d.local = f.local;
    ASSIGN_OR_RETURN(d.sha256, Sha256File(f.local));
    std::error_code ec;
    d.bytes = std::filesystem::file_size(f.local, ec);
    if (ec) return ErrnoToStatus(ec.value(), "cannot stat \"" + f.local + "\"");
    d.remote = blobs + "/" + d.sha256;
    check.push_back(d.sha256);
    check.push_back(std::to_string(d.bytes));
    report.files.push_back(std::move(d));
  }
  if (files.empty()) return report;

  ASSIGN_OR_RETURN(ExecResult present, transport.Exec(check));
  if (!present.ok()) return ExecError(transport, "checking the files there", present);
  std::map<std::string, bool> there;  // sha256 -> complete on the device
  std::istringstream lines(present.out);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("have ", 0) == 0) there[line.substr(5)] = true;

  static std::atomic<int> counter{0};
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < files.size(); ++i) {
    DeployedFile& d = report.files[i];
    if (there[d.sha256]) continue;
    const std::string tmp = blobs + "/.tmp-" + d.sha256 + "-" + std::to_string(::getpid()) +
                            "-" + std::to_string(counter++);
    ProgressFn progress;
    if (options.progress)
      progress = [&](const TransferProgress& p) { options.progress(d, p); };
    if (Status s = transport.Push(d.local, tmp, progress); !s.ok()) {
      // Best effort: the device may be gone; the check above removes what
      // is left an hour later, and a .tmp- name is never used.
      (void)transport.Exec({"rm", "-f", "--", tmp}, {.timeout_s = 10});
      return s.WithContext("sending \"" + d.local + "\"");
    }
    ASSIGN_OR_RETURN(ExecResult c,
                     transport.Exec({"sh", "-c", kCommitScript, "sh", tmp, d.remote, d.sha256,
                                     std::to_string(d.bytes),
                                     files[i].executable ? "755" : "644"}));
    if (c.exit_code == 3)
      return DataLossError(transport.name() + ": \"" + d.local + "\" arrived changed (" +
                           c.out.substr(0, c.out.find('\n')) + ", expected " + d.sha256 +
                           "); nothing was kept");
    if (!c.ok()) return ExecError(transport, ("verifying \"" + d.local + "\"").c_str(), c);
    d.sent = true;
    there[d.sha256] = true;
    ++report.files_sent;
    report.bytes_sent += d.bytes;
  }
  report.send_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return report;
}

}  // namespace edgebench::harness
