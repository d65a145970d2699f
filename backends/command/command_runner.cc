#include "backends/command/command_runner.h"

#include <chrono>
#include <cstdio>
#include <string_view>
#include <utility>

#include "base/subprocess.h"

namespace edgebench::command {

namespace {

// What the status message quotes of the child's stderr.
constexpr int kTailLines = 20;
constexpr size_t kTailBytes = 4096;

std::string FormatSeconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", s);
  return buf;
}

// "exited with code 3", "killed by signal 11 (SIGSEGV, core dumped)".
std::string HowItEnded(const SubprocessResult& p) {
  if (p.status_lost) return "exit status lost (SIGCHLD ignored by this process?)";
  if (p.signal != 0) {
    return "killed by signal " + std::to_string(p.signal) + " (" +
           SignalName(p.signal) + (p.core_dumped ? ", core dumped" : "") + ")";
  }
  return "exited with code " + std::to_string(p.exit_code);
}

bool ParserNeedsAllOfStdout(std::string_view parser) {
  return parser == "llama-bench-jsonl";
}

}  // namespace

std::vector<std::string> ExpandArgv(const std::vector<std::string>& argv,
                                    const std::string& model,
                                    const protocol::RunConfig& run) {
  const std::pair<std::string_view, std::string> vars[] = {
      {"{model}", model},
      {"{threads}", std::to_string(run.threads)},
      {"{n_prompt}", std::to_string(run.n_prompt)},
      {"{n_gen}", std::to_string(run.n_gen)},
      {"{n_depth}", std::to_string(run.n_depth)},
      {"{repetitions}", std::to_string(run.repetitions)},
      {"{seed}", std::to_string(run.seed)},
  };
  std::vector<std::string> out;
  out.reserve(argv.size());
  for (const std::string& arg : argv) {
    std::string expanded;
    size_t i = 0;
    while (i < arg.size()) {
      bool replaced = false;
      if (arg[i] == '{') {
        for (const auto& [name, value] : vars) {
          if (arg.compare(i, name.size(), name) == 0) {
            expanded += value;
            i += name.size();
            replaced = true;
            break;
          }
        }
      }
      if (!replaced) expanded += arg[i++];
    }
    out.push_back(std::move(expanded));
  }
  return out;
}

ExternalResult RunCommand(const std::vector<std::string>& argv, const std::string& parser,
                          const RunOptions& options) {
  ExternalResult result;
  result.exit_code = -1;
  if (argv.empty() || argv[0].empty()) {
    result.status = InvalidArgumentError("command backend: the command line is empty");
    return result;
  }
  if (parser != "llama-bench-jsonl" && parser != "llama-perf") {
    // Before running anything: the output could never be read.
    result.status =
        InvalidArgumentError("command backend: unknown output parser \"" + parser +
                             "\" (known: llama-bench-jsonl, llama-perf)");
    return result;
  }
  const std::string& program = argv[0];

  SubprocessOptions sub;
  if (options.timeout_s > 0) {
    sub.timeout = std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::duration<double>(options.timeout_s));
  }
  sub.cancel = options.cancel;
  sub.on_start = options.on_start;
  SubprocessResult p = RunSubprocess(argv, sub);
  if (!p.spawn_status.ok()) {
    result.status = p.spawn_status;
    return result;
  }
  result.exit_code = p.exit_code;
  result.signal = p.signal;
  result.stderr_tail = LastLines(p.err, kTailLines, kTailBytes);

  // Parsed even when the run failed: a llama-bench killed during its
  // generation test has already printed its prompt test.
  Result<std::vector<ExternalRep>> parsed = ParseOutput(parser, p.out, p.err);
  if (parsed.ok()) result.reps = std::move(parsed).value();

  // The most specific reason first: how the process ended, then its output.
  Status status;
  if (p.timed_out) {
    status =
        DeadlineExceededError(program + ": timed out after " +
                              FormatSeconds(options.timeout_s) + " s; " + HowItEnded(p));
  } else if (p.cancelled) {
    status = CancelledError(program + ": cancelled; " + HowItEnded(p));
  } else if (p.status_lost) {
    status = InternalError(program + ": " + HowItEnded(p));
  } else if (p.signal != 0 || p.exit_code != 0) {
    status = UnavailableError(program + ": " + HowItEnded(p));
  } else if (!parsed.ok()) {
    status = Status(parsed.status().code(), program + ": " + parsed.status().message());
  } else if (p.out_dropped > 0 && ParserNeedsAllOfStdout(parser)) {
    status = DataLossError(
        program + ": printed more than " + std::to_string(sub.capture_bytes >> 20) +
        " MiB on stdout; the start was dropped, so tests may be missing");
  }
  if (!status.ok() && !result.stderr_tail.empty()) {
    status =
        Status(status.code(), status.message() + "; stderr ends:\n" + result.stderr_tail);
  }
  result.status = std::move(status);
  return result;
}

}  // namespace edgebench::command
