// runtime/runner.h — the measurement loop of edgebench-rt: executes a run
// spec and writes the event stream of protocol/events.h.
//
// For each run of the spec: (re)create the context, then warmup and
// measured repetitions, each: cooldown, clear the KV cache, fill it with
// n_depth tokens (untimed), then request start → tokenize → prefill →
// first token → decode, one timestamp per token. Telemetry samples all
// along; samples are written between repetitions, never during one.
//
// Failures: a run that fails (context too large, context overflow, a
// timeout, an external engine that crashes) gets an error event with its
// run_id and the next run goes on. Loading the model, not enough memory, a
// cancel (SIGINT/SIGTERM, the spec's timeout) end the stream with a fatal
// error and `done`. Every repetition finished before is already written.
//
// Thread-safety: one ExecuteSpec per process; `cancel` may be set from a
// signal handler or another thread.
#pragma once

#include <atomic>
#include <string>

#include "protocol/run_spec.h"
#include "runtime/event_writer.h"

namespace edgebench::runtime {

// Why the run was told to stop: 0 (not), a signal number, or kCancelTimeout.
inline constexpr int kCancelTimeout = -1;

struct CancelFlag {
  std::atomic<int> reason{0};
  std::atomic<bool> requested{false};
  void Request(int why) {
    int none = 0;
    reason.compare_exchange_strong(none, why);
    requested.store(true);
  }
};

// Process exit codes of edgebench-rt.
inline constexpr int kRtExitOk = 0;
inline constexpr int kRtExitFailed = 1;       // a run failed, or a fatal error
inline constexpr int kRtExitUsage = 2;        // bad arguments or an invalid spec
inline constexpr int kRtExitInterrupted = 3;  // SIGINT/SIGTERM/timeout

// Executes `spec`, writing events to `out`. Returns the exit code.
int ExecuteSpec(const protocol::RunSpec& spec, EventWriter& out, CancelFlag& cancel);

// The hello event alone (device facts, build, CPU features, telemetry
// sources), for probing a device.
nlohmann::json HelloEvent(const protocol::TelemetrySpec& telemetry);

// One line per engine this binary links: "engine native: avx512_vnni\n",
// "engine llamacpp: <llama.cpp commit> (avx2 fma ...)\n".
std::string EnginesSummary();

// The licence notices of the third-party engines linked in, each under a
// heading naming it; "" when there are none.
std::string ThirdPartyNotices();

}  // namespace edgebench::runtime
