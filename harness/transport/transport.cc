#include "harness/transport/transport.h"

#include "base/subprocess.h"

namespace edgebench::harness {

std::string ShellQuote(std::string_view arg) {
  // Inside single quotes every byte is literal except the closing quote, so
  // a ' is written as: close, an escaped quote, reopen.
  std::string out;
  out.reserve(arg.size() + 2);
  out.push_back('\'');
  for (const char c : arg) {
    if (c == '\'')
      out += "'\\''";
    else
      out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

std::string ShellCommand(const std::vector<std::string>& argv) {
  std::string out;
  for (const std::string& a : argv) {
    if (!out.empty()) out.push_back(' ');
    out += ShellQuote(a);
  }
  return out;
}

std::string ExecResult::Describe() const {
  if (timed_out) return "timed out";
  if (signal != 0) return "killed by signal " + std::to_string(signal) + " (" + SignalName(signal) + ")";
  return "exit code " + std::to_string(exit_code);
}

}  // namespace edgebench::harness
