// store/store.h — the SQLite results store.
//
// One file (default results/edgebench.db) holds devices, runtime builds,
// models, sweeps, runs, repetitions with their metrics, telemetry samples and
// errors. The file is opened in WAL mode with a busy timeout and foreign keys
// on; every write below is one transaction, so a crash, a disconnect or
// Ctrl-C never loses a committed repetition. The schema version lives in
// PRAGMA user_version: an older file is migrated forward on open, a newer
// one is refused. Metric columns come from protocol/metrics.h.
//
// Thread-safety: a Store may be shared by threads; each method is atomic.
// Several processes may write one file at once (WAL + busy timeout).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace edgebench::store {

namespace internal { class Db; }

// The version this build writes. Bumped by every migration.
int LatestSchemaVersion();

struct OpenOptions {
  bool create_if_missing = true;  // creates the file and its parent folders
  bool migrate = true;            // false: open as is and report pending work
  bool read_only = false;
  int busy_timeout_ms = 10000;
};

struct TableCount {
  std::string table;
  int64_t rows = 0;
};

struct StoreInfo {
  std::string path;
  int schema_version = 0;
  int latest_version = 0;
  std::string journal_mode;
  int64_t size_bytes = 0;      // main file
  int64_t wal_bytes = 0;       // -wal file, 0 when absent
  int64_t page_size = 0;
  int64_t page_count = 0;
  int64_t freelist_count = 0;
  std::vector<TableCount> tables;  // empty when the schema is older than latest
  std::string last_sweep_uuid;     // newest sweep, empty when none
};

// ---- records ----

struct DeviceRecord {
  std::string key;        // unique and stable: "adb:SERIAL", "ssh:HOST", "local"
  std::string name;       // what the user calls it
  std::string transport;  // "local", "ssh", "adb"
  std::string abi;        // "x86_64", "arm64-v8a", "aarch64"
  std::string soc;
  std::string cpu_model;
  std::string os;
  std::string kernel;
  int n_cores = 0;
  int64_t ram_mb = 0;
  std::string probe_json = "{}";
};

struct BuildRecord {
  std::string version;
  std::string git_commit;
  std::string build_type;
  std::string compiler;
  std::string flags;
  std::string isa;         // "x86_64+avx2+avx512f", "aarch64+dotprod"
  std::string sanitizers;  // empty when none
  bool asserts = false;
};

struct ModelRecord {
  std::string sha256;  // of the whole file
  std::string name;
  std::string arch;
  int64_t params = 0;
  std::string quant;   // "Q4_0", "Q4_K_M", "F16"
  int64_t size_bytes = 0;
  std::string meta_json = "{}";
};

enum class SweepStatus { kRunning, kCompleted, kInterrupted, kFailed };
enum class RunStatus { kPending, kRunning, kOk, kFailed, kInterrupted };

struct SweepRecord {
  std::string uuid;  // filled by CreateSweep when empty
  std::string name;
  std::string labels_json = "[]";  // JSON array of strings
  std::string spec_json = "{}";
  std::string host;
  std::string edgebench_version;
  std::string git_commit;
};

struct RunRecord {
  std::string uuid;  // filled by CreateRun when empty
  int64_t sweep_id = 0;
  int64_t device_id = 0;
  std::optional<int64_t> build_id;
  std::optional<int64_t> model_id;
  std::string backend;
  std::string config_key;   // canonical configuration, pairs runs in `compare`
  std::string config_json = "{}";
  int n_threads = 0;
  int n_prompt = 0;
  int n_gen = 0;
  int n_depth = 0;
  int n_batch = 0;
  int n_ctx = 0;
  std::string env_json = "{}";  // environment fingerprint
};

struct SampleRecord {
  int64_t t_ns = 0;     // device monotonic clock
  std::string source;   // "mem", "cpufreq", "thermal", "power", "rapl"
  std::string name;     // "rss_kb", "cluster0_khz", "zone:cpu-0", ...
  double value = 0;
};

struct RepRecord {
  int64_t run_id = 0;
  int idx = 0;              // 0-based within the run, warmups included
  bool warmup = false;
  bool ok = true;
  std::string error_code;   // when !ok
  std::string error_message;
  int64_t t_start_ns = 0;
  int64_t t_end_ns = 0;
  int n_prompt = 0;         // tokens actually processed
  int n_gen = 0;            // tokens actually generated
  std::vector<int64_t> token_times_ns;  // one timestamp per generated token
  std::map<std::string, double> metrics;  // names from protocol/metrics.h
  std::vector<SampleRecord> samples;
};

// A sweep as stored, for `--resume` and the reporters.
struct StoredSweep {
  int64_t id = 0;
  SweepRecord record;
  SweepStatus status = SweepStatus::kRunning;
  std::string started_at;  // ISO 8601 UTC
};

// A run as stored, with the repetitions it already has.
struct StoredRun {
  int64_t id = 0;
  std::string uuid;
  std::string device_key;
  std::string config_key;
  RunStatus status = RunStatus::kPending;
  std::vector<int> rep_idx;  // ascending; every stored repetition
};

struct ErrorRecord {
  std::optional<int64_t> sweep_id;
  std::optional<int64_t> run_id;
  std::string code;     // StatusCodeName()
  std::string message;
  std::string context;  // where: device, phase
};

class Store {
 public:
  // Opens or creates the store at `path`. Errors name the path and the cause:
  // a directory, an unwritable file or folder, a file that is not SQLite, a
  // schema newer than this build.
  static Result<std::unique_ptr<Store>> Open(const std::string& path,
                                             const OpenOptions& options = {});
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::string& path() const;
  int schema_version() const;

  // Applies pending migrations. Returns the version before migrating.
  Result<int> Migrate();
  Result<StoreInfo> Info();
  // VACUUM and truncate the WAL. Returns bytes freed (may be 0).
  Result<int64_t> Vacuum();
  // PRAGMA integrity_check: "ok" or the problems found.
  Result<std::string> IntegrityCheck();

  // Each of these is one transaction.
  Result<int64_t> UpsertDevice(const DeviceRecord& device);
  Result<int64_t> UpsertBuild(const BuildRecord& build);
  Result<int64_t> UpsertModel(const ModelRecord& model);
  Result<int64_t> CreateSweep(SweepRecord& sweep);  // fills sweep.uuid
  Status SetSweepStatus(int64_t sweep_id, SweepStatus status);
  Result<int64_t> CreateRun(RunRecord& run);        // fills run.uuid
  // Run-scope metrics (load_ms, ...) are stored with the final status.
  Status FinishRun(int64_t run_id, RunStatus status,
                   const std::map<std::string, double>& run_metrics,
                   const std::string& error_code = {},
                   const std::string& error_message = {});
  // Stores a repetition, its metrics and its samples atomically.
  Result<int64_t> AddRep(const RepRecord& rep);
  Result<int64_t> AddError(const ErrorRecord& error);

  // The sweep whose UUID is `id` or starts with it (a prefix of at least 8
  // characters naming one sweep), or the newest one for "last". kNotFound
  // names what was asked; an ambiguous prefix is kInvalidArgument.
  Result<StoredSweep> FindSweep(std::string_view id);
  // Every run of a sweep, in creation order.
  Result<std::vector<StoredRun>> RunsOfSweep(int64_t sweep_id);
  // Sets a run's status without touching its metrics or error (a resumed
  // run goes back to running; its finished_at is cleared).
  Status SetRunStatus(int64_t run_id, RunStatus status);

  // For modules that read the store (reporters): the raw connection.
  // REQUIRES: the caller holds no transaction across Store calls.
  internal::Db& db();

 private:
  Store();
  Status Configure(const OpenOptions& options);
  Status EnsureMetricColumns();

  std::unique_ptr<internal::Db> db_;
  std::mutex mu_;
  int schema_version_ = 0;
};

std::string_view SweepStatusName(SweepStatus s);
std::string_view RunStatusName(RunStatus s);

// A random RFC 4122 version-4 UUID.
std::string NewUuid();

}  // namespace edgebench::store
