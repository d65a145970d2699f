#include "runtime/telemetry/testing/device_tree.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

namespace edgebench::runtime::testing {

namespace fs = std::filesystem;

namespace {
[[noreturn]] void Die(const std::string& what) {
  std::perror(what.c_str());
  std::abort();
}

void MakeParents(const std::string& path) {
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  if (ec) Die("mkdir " + path);
}
}  // namespace

DeviceTree& DeviceTree::Files(
    const std::string& dir,
    std::initializer_list<std::pair<std::string, std::string>> files) {
  Dir(dir);
  for (const auto& [name, value] : files) Text(dir + "/" + name, value + "\n");
  return *this;
}

DeviceTree& DeviceTree::Text(const std::string& path, const std::string& content) {
  const std::string p = Path(path);
  MakeParents(p);
  edgebench::testing::WriteFile(p, content);
  return *this;
}

DeviceTree& DeviceTree::Dir(const std::string& path) {
  std::error_code ec;
  fs::create_directories(Path(path), ec);
  if (ec) Die("mkdir " + path);
  return *this;
}

DeviceTree& DeviceTree::Link(const std::string& path, const std::string& target) {
  const std::string p = Path(path);
  MakeParents(p);
  if (::symlink(target.c_str(), p.c_str()) != 0) Die("symlink " + p);
  return *this;
}

void DeviceTree::Rewrite(const std::string& path, const std::string& value) {
  const std::string p = Path(path);
  const int fd = ::open(p.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) Die("open " + p);
  std::string text = value;
  const off_t old_size = ::lseek(fd, 0, SEEK_END);
  if (old_size > 0 && static_cast<size_t>(old_size) > text.size() + 1)
    text.append(static_cast<size_t>(old_size) - text.size() - 1, ' ');
  text += "\n";
  if (::pwrite(fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size()))
    Die("pwrite " + p);
  ::close(fd);
}

void DeviceTree::Truncate(const std::string& path) {
  if (::truncate(Path(path).c_str(), 0) != 0) Die("truncate " + path);
}

void DeviceTree::Remove(const std::string& path) {
  std::error_code ec;
  fs::remove_all(Path(path), ec);
}

protocol::TelemetrySpec DeviceTree::Spec(std::vector<std::string> sources) const {
  protocol::TelemetrySpec spec;
  spec.proc_root = Path("proc");
  spec.sys_root = Path("sys");
  spec.sources = std::move(sources);
  return spec;
}

}  // namespace edgebench::runtime::testing
