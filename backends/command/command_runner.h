// backends/command/command_runner.h — benchmarking an engine we do not link
// (llama.cpp's llama-bench, llama-cli, ...) by running it as a child process
// and reading its own timing output with a declared parser.
//
// The runtime runs the command once per run (llama-bench: it repeats
// internally) or once per repetition (llama-perf parsers: one generation per
// process), while its telemetry samples the child's pid. Placeholders in
// argv ({model}, {threads}, {n_prompt}, {n_gen}, {n_depth}, {repetitions},
// {seed}) are replaced per run; arguments are passed to execve as they are,
// never through a shell.
//
// The timings are the external engine's own: llama-bench's decode rate is
// n_gen / total decode time, not edgebench's (n_gen - 1) / (t_last -
// t_first), and there are no per-token timestamps. ExternalRep says which
// fields are known.
//
// Thread-safety: the functions keep no state; several threads may each run
// their own command. `cancel` may be set from another thread (a signal
// handler's flag).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "base/status.h"
#include "protocol/run_spec.h"

namespace edgebench::command {

// One repetition as the external engine reported it.
//
// llama-bench-jsonl: repetition i combines sample i of the prompt test
// (n_prompt > 0, n_gen == 0) with sample i of the generation test (n_prompt
// == 0, n_gen > 0) and of the prompt+generation test (-pg); llama-bench ran
// them one after the other, not in one sequence. A field whose test is not
// in the output stays NaN. Times exclude the n_depth tokens that llama-bench
// puts into the cache before each sample.
//
// llama-perf: n_prompt / prefill_ms is llama.cpp's "prompt eval" (batches of
// more than one token), n_gen / decode_ms its "eval" (one-token batches:
// usually the requested generation length minus one, since the first token
// comes from the prompt's logits). A time printed as 0.00 ms (nothing timed)
// leaves the field NaN and its count 0.
struct ExternalRep {
  int n_prompt = 0;
  double prefill_ms = NAN;  // NaN: not reported
  int n_gen = 0;
  double decode_ms = NAN;  // time of all n_gen decode steps
  double load_ms = NAN;    // llama-perf: load time of this process
  // llama-bench's -pg test: n_prompt tokens of prefill and then n_gen
  // decode steps, timed as one span and not split; its t/s in llama-bench
  // is (n_prompt + n_gen) / total_ms.
  double total_ms = NAN;
};

struct ExternalResult {
  // Why the run failed (exit code, signal, timeout, cancel, unreadable
  // output), naming what happened with the end of the child's stderr; ok
  // when it did not. Codes: kNotFound, kPermissionDenied or
  // kInvalidArgument (exec failed: no such file, not executable, not a
  // program; also empty argv or unknown parser), kUnavailable (non-zero
  // exit, killed by a signal), kDeadlineExceeded (timeout), kCancelled,
  // kDataLoss (unreadable output), kInternal (exit status lost: the
  // process ignores SIGCHLD).
  Status status;
  std::vector<ExternalRep> reps;  // parsed even when status is not ok
  int exit_code = 0;              // -1 when killed by a signal or never started
  int signal = 0;                 // the signal that killed it, 0 if none
  std::string stderr_tail;        // last lines, for error messages
};

// argv with {model}, {threads}, ... replaced for `run`, also inside a longer
// argument ("-p={n_prompt}"). Replacement is one pass: a substituted value
// is never expanded again (a model path with "{seed}" in it stays as it
// is). Any other {...} is left as it is, since engines take braces of their
// own (JSON, grammars); there is no escape for a literal "{model}".
std::vector<std::string> ExpandArgv(const std::vector<std::string>& argv,
                                    const std::string& model,
                                    const protocol::RunConfig& run);

// Reads the output of `parser`:
//  - "llama-bench-jsonl": stdout of `llama-bench -o jsonl` for one
//    configuration (one -m, -t, -d, -b ... value; at most one -p, one -n and
//    one -pg value): one rep per sample. A second test of the same kind or a
//    line that differs in any other field is an error that names them.
//  - "llama-perf": the timing lines llama.cpp prints on exit
//    (llama_perf_context_print / common_perf_print / older
//    llama_print_timings), looked for in stderr, then stdout: one rep. More
//    than one report in the output is an error.
// Errors (kDataLoss; kInvalidArgument for an unknown parser) name the parser
// and the line that could not be read.
Result<std::vector<ExternalRep>> ParseOutput(const std::string& parser,
                                             const std::string& stdout_text,
                                             const std::string& stderr_text);

struct RunOptions {
  double timeout_s = 0;  // 0: none; on expiry the child is killed
  // Called with the child's pid right after it starts (telemetry).
  std::function<void(pid_t)> on_start;
  const std::atomic<bool>* cancel = nullptr;  // kill the child when set
};

// Runs argv to completion and parses its output.
//
// argv[0] is looked up in PATH as execvp does (but a file without "#!" is
// reported as not executable, never handed to sh); stdin is /dev/null; stdout
// and stderr are captured (the last 16 MiB of each). The child leads its own
// process group: timeout and cancel send SIGTERM to the group, then SIGKILL
// after a grace of 2 s, and when the child exits whatever it left running in
// its group is killed (SIGKILL). A process that left the group (setsid) is
// out of reach; its hold on the pipes is waited for 0.5 s at most. The child
// inherits descriptors 0-2 only, default signal dispositions and an empty
// signal mask, whatever the caller has.
ExternalResult RunCommand(const std::vector<std::string>& argv, const std::string& parser,
                          const RunOptions& options);

}  // namespace edgebench::command
