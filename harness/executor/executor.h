// harness/executor/executor.h — runs a sweep plan on its devices and
// stores every repetition as it finishes.
//
// One worker thread per device, the devices in parallel; on a device the
// (model, backend) groups run one after another, each in one runtime process
// that loads the model once. Per device: open the transport, probe, deploy
// the runtime and the group's models (content-addressed: nothing is sent
// twice), ask the runtime for its build facts (`edgebench-rt --hello`), then
// run each group with its events streamed into the store (harness/executor/
// ingest.h): one transaction per finished repetition, so whatever happens
// next, a finished repetition is kept.
//
// Failures, and what happens to the sweep:
//   a configuration fails (the runtime reports an error, crashes with a
//   signal, runs past run_timeout_s, runs out of memory): that configuration
//   is stored as failed with the cause, the runtime is started again for the
//   rest of the group;
//   the model does not load (bad file, too large): every configuration of
//   the group fails with the cause;
//   the transport fails (connection lost, device gone): retried with
//   exponential backoff; when the retries are spent the device is lost and
//   every configuration it had left fails with the cause; the other devices
//   go on;
//   cancel (Ctrl-C): the running processes are killed, the runs in flight
//   are marked interrupted, the sweep is marked interrupted.
// Resuming (ExecutorOptions::resume_sweep_id) skips every repetition already
// stored: a configuration with some measured repetitions missing runs only
// those (after its warmups again, which are stored only where missing).
//
// Each run stores an environment fingerprint (env_json): host, edgebench
// version and commit, the runtime's build (compiler, flags, ISA), the device
// probe, governor, battery and charging, the temperature at the start, the
// model's SHA-256.
//
// Thread-safety: ExecuteSweep may be called from any thread; the progress
// sink is called from the device threads (serialise inside it).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "harness/devices/devices.h"
#include "harness/sweep/plan.h"
#include "store/store.h"

namespace edgebench::harness {

struct RetryPolicy {
  int attempts = 4;               // tries of one step before the device is lost
  double initial_backoff_s = 1;   // doubled after each failure
  double max_backoff_s = 16;
};

// What a device's worker is doing, for the progress display.
struct DeviceProgress {
  std::string device;
  std::string phase;  // "connect", "probe", "deploy", "run", "retry", "done",
                      // "failed", "interrupted"
  size_t configs_total = 0;
  size_t configs_done = 0;  // finished, ok or failed (skipped on resume included)
  size_t configs_failed = 0;
  size_t reps_total = 0;    // slots this process runs (warmups included)
  size_t reps_done = 0;
  std::string current;      // the configuration running, short form
  double eta_s = -1;        // -1: unknown yet
  double last_decode_tps = -1;
  std::string note;         // the last failure or retry, one line
};

class ProgressSink {
 public:
  virtual ~ProgressSink() = default;
  // Any change of a device's state.
  virtual void Update(const DeviceProgress& progress) = 0;
  // Something worth a line of its own: a configuration finished or failed,
  // a retry, a lost device.
  virtual void Event(const std::string& device, const std::string& message) = 0;
};

struct ExecutorOptions {
  store::Store* store = nullptr;  // REQUIRED
  // Every device the plan names, by the name the sweep uses.
  std::map<std::string, DeviceConfig> devices;
  // The runtime to deploy to every device; empty: the build for each
  // device's ABI (FindRuntime).
  std::string runtime;
  // 0: a new sweep. Else the stored sweep to resume (its plan must be the
  // one given: the caller rebuilt it from the stored spec).
  int64_t resume_sweep_id = 0;
  std::string resume_sweep_uuid;
  // Stored with a new sweep: the spec and plan options as JSON.
  std::string spec_json = "{}";
  RetryPolicy retry;
  const std::atomic<bool>* cancel = nullptr;  // set by Ctrl-C
  ProgressSink* progress = nullptr;           // may be null
};

struct ConfigFailure {
  std::string device;
  std::string config_key;
  std::string code;     // StatusCodeName
  std::string message;
};

struct SweepResult {
  int64_t sweep_id = 0;
  std::string sweep_uuid;
  store::SweepStatus status = store::SweepStatus::kRunning;
  size_t configs_ok = 0;
  size_t configs_failed = 0;
  size_t configs_interrupted = 0;
  size_t configs_skipped = 0;  // already complete in the resumed sweep
  size_t reps_stored = 0;      // by this call
  std::vector<ConfigFailure> failures;
};

// Runs `plan`. Errors are only those that stop the sweep before it starts
// (no store, an unknown device, a resumed sweep that does not exist); a
// failed configuration or device is in the result, and the sweep's status
// says how it ended (kCompleted: everything ok; kFailed: some configuration
// failed; kInterrupted: cancelled).
Result<SweepResult> ExecuteSweep(const sweep::Plan& plan, const ExecutorOptions& options);

// The stored index of a slot: warmups first (0..warmup-1), then the measured
// repetitions.
inline int SlotIndex(const sweep::Slot& slot, int warmup) {
  return slot.warmup ? slot.repetition : warmup + slot.repetition;
}

}  // namespace edgebench::harness
