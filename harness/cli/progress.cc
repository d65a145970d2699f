#include "harness/cli/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <ctime>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "harness/sweep/plan.h"

namespace edgebench::cli {
namespace {

using harness::DeviceProgress;

std::string Counts(const DeviceProgress& p) {
  std::string s = std::to_string(p.configs_done) + "/" + std::to_string(p.configs_total);
  if (p.configs_failed) s += " (" + std::to_string(p.configs_failed) + " failed)";
  return s;
}

std::string Rate(const DeviceProgress& p) {
  if (p.last_decode_tps < 0) return "";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f tok/s", p.last_decode_tps);
  return buf;
}

class LiveProgress : public harness::ProgressSink {
 public:
  explicit LiveProgress(std::FILE* out) : out_(out) {}
  ~LiveProgress() override {
    std::lock_guard<std::mutex> lock(mu_);
    Redraw(/*force=*/true);
  }

  void Update(const DeviceProgress& p) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = devices_.find(p.device);
    const bool new_phase = it == devices_.end() || it->second.phase != p.phase;
    if (it == devices_.end()) order_.push_back(p.device);
    devices_[p.device] = p;
    Redraw(new_phase);
  }

  void Event(const std::string& device, const std::string& message) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::string out = Clear();
    out += device + ": " + message + "\n";
    std::fputs(out.c_str(), out_);
    Redraw(true);
  }

 private:
  // Moves to the top of the live block and clears it.
  std::string Clear() {
    std::string s;
    if (drawn_ > 0) s = "\033[" + std::to_string(drawn_) + "F\033[J";
    drawn_ = 0;
    return s;
  }

  void Redraw(bool force) {
    const auto now = std::chrono::steady_clock::now();
    // At most ten frames a second: a fast tiny model must not spend its
    // time on the terminal.
    if (!force && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    struct winsize ws {};
    int width = 100;
    if (::ioctl(::fileno(out_), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10) width = ws.ws_col;
    std::string out = Clear();
    for (const std::string& name : order_) {
      const DeviceProgress& p = devices_[name];
      std::string line = name + "  " + p.phase + "  " + Counts(p) + " configs";
      if (p.phase == "run" || p.phase == "retry") {
        line += "  " + std::to_string(p.reps_done) + "/" + std::to_string(p.reps_total) + " reps";
        if (!p.current.empty()) line += "  " + p.current;
        const std::string rate = Rate(p);
        if (!rate.empty()) line += "  " + rate;
        if (p.eta_s >= 0) line += "  ETA " + harness::sweep::FormatSeconds(p.eta_s);
      }
      // Never wider than the terminal: a wrapped line breaks the redraw.
      if (static_cast<int>(line.size()) >= width) line.resize(static_cast<size_t>(width - 1));
      out += "\033[2K" + line + "\n";
      ++drawn_;
    }
    std::fputs(out.c_str(), out_);
    std::fflush(out_);
  }

  std::FILE* out_;
  std::mutex mu_;
  std::map<std::string, DeviceProgress> devices_;
  std::vector<std::string> order_;
  int drawn_ = 0;
  std::chrono::steady_clock::time_point last_{};
};

class PlainProgress : public harness::ProgressSink {
 public:
  explicit PlainProgress(std::FILE* out) : out_(out) {}

  void Update(const DeviceProgress& p) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::string& last = phase_[p.device];
    last_[p.device] = p;
    if (last == p.phase) return;
    last = p.phase;
    std::string line = p.phase;
    if (p.phase == "run" && p.reps_total)
      line += ": " + std::to_string(p.reps_total) + " repetitions to run, " +
              std::to_string(p.configs_total - p.configs_done) + " configurations";
    if (p.phase == "done" || p.phase == "failed" || p.phase == "interrupted")
      line += ": " + Counts(p) + " configurations";
    Print(p.device, line);
  }

  void Event(const std::string& device, const std::string& message) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::string line = message;
    auto it = last_.find(device);
    if (it != last_.end()) {
      const DeviceProgress& p = it->second;
      // The event may come before the update that counts it.
      line = "[" + std::to_string(p.reps_done) + "/" + std::to_string(p.reps_total) +
             " reps] " + message;
      const std::string rate = Rate(p);
      if (message.rfind("done ", 0) == 0 && !rate.empty()) line += " (last " + rate + ")";
      if (p.eta_s >= 0) line += ", ETA " + harness::sweep::FormatSeconds(p.eta_s);
    }
    Print(device, line);
  }

 private:
  void Print(const std::string& device, const std::string& line) {
    std::fprintf(out_, "%s %s: %s\n", UtcTimestamp().c_str(), device.c_str(), line.c_str());
    std::fflush(out_);
  }

  std::FILE* out_;
  std::mutex mu_;
  std::map<std::string, std::string> phase_;
  std::map<std::string, DeviceProgress> last_;
};

}  // namespace

std::string UtcTimestamp() {
  const std::time_t t = std::time(nullptr);
  std::tm tm {};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::unique_ptr<harness::ProgressSink> NewProgress(bool live, std::FILE* out) {
  if (live) return std::make_unique<LiveProgress>(out);
  return std::make_unique<PlainProgress>(out);
}

}  // namespace edgebench::cli
