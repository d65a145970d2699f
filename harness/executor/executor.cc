#include "harness/executor/executor.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

#include <nlohmann/json.hpp>

#include "base/build_info.h"
#include "harness/deploy/deploy.h"
#include "harness/devices/probe.h"
#include "harness/executor/ingest.h"
#include "protocol/run_spec.h"

namespace edgebench::harness {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using sweep::Config;
using sweep::Group;
using sweep::Plan;
using sweep::Slot;

std::string HostName() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

// "threads=4 n_prompt=512 n_gen=128" with only what varies in the sweep
// would need the whole plan; the progress line shows the usual suspects.
std::string ShortConfig(const Plan& plan, const Config& c) {
  const protocol::RunConfig& r = c.run;
  std::string s = plan.spec.models[c.model].label;
  if (plan.spec.backends.size() > 1) s += " " + c.backend;
  s += " t" + std::to_string(r.threads);
  if (r.n_prompt) s += " pp" + std::to_string(r.n_prompt);
  if (r.n_gen) s += " tg" + std::to_string(r.n_gen);
  if (r.n_depth) s += " @d" + std::to_string(r.n_depth);
  return s;
}

std::string SignalText(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return "signal " + std::to_string(sig) + (abbrev ? std::string(" (SIG") + abbrev + ")" : "");
}

// The last non-empty line of a process's stderr: usually the reason.
std::string LastLine(const std::string& text) {
  size_t end = text.find_last_not_of("\r\n \t");
  if (end == std::string::npos) return "";
  size_t begin = text.rfind('\n', end);
  begin = begin == std::string::npos ? 0 : begin + 1;
  return text.substr(begin, std::min<size_t>(end + 1 - begin, 300));
}

// Per configuration; touched only by its device's worker thread.
struct ConfigState {
  int64_t run_id = 0;   // 0: no run row yet
  bool from_store = false;  // the row is from the resumed sweep
  bool reopened = false;    // its status was set back to running
  std::set<int> stored;     // repetition indexes in the store
  bool finished = false;    // ok, failed or interrupted: nothing more to run now
  bool failed = false;
  bool interrupted = false;
  bool skipped = false;     // complete before this call
  std::map<std::string, double> run_metrics;
};

struct Shared {
  const Plan& plan;
  const ExecutorOptions& opt;
  store::Store& store;
  int64_t sweep_id = 0;
  std::string sweep_uuid;
  std::string host = HostName();
  std::vector<ConfigState> configs;
  std::atomic<bool> stop{false};  // cancel, or the store failed
  std::mutex mu;                  // guards the fields below
  Status store_error;             // the first store write that failed
  size_t reps_stored = 0;
  std::vector<ConfigFailure> failures;
};

class Worker {
 public:
  Worker(Shared& sh, std::string device) : sh_(sh), name_(std::move(device)) {
    progress_.device = name_;
    for (const Group& g : sh_.plan.groups)
      if (g.device == name_) groups_.push_back(&g);
    for (const Group* g : groups_) progress_.configs_total += g->configs.size();
  }

  void Run();

 private:
  int warmup() const { return sh_.plan.spec.warmup; }
  int slots_per_config() const { return sh_.plan.spec.warmup + sh_.plan.spec.repetitions; }

  std::vector<Slot> Pending(const Group& g) const;
  bool Complete(size_t config) const {
    return static_cast<int>(sh_.configs[config].stored.size()) >= slots_per_config();
  }
  Status RunGroup(const Group& g);
  Status Prepare();
  template <class F>
  auto WithRetry(const std::string& what, F f) -> decltype(f());
  bool Sleep(double seconds);

  Status EnsureRun(size_t config, const json* rep_start);
  void StoreRep(IngestedRep&& rep);
  void FinishOk(size_t config);
  void Fail(size_t config, const std::string& code, const std::string& message);
  void FailRemaining(const std::string& code, const std::string& message);
  void InterruptInFlight(const std::vector<size_t>& configs);
  void StoreFailed(const Status& s);

  void SetPhase(const std::string& phase, const std::string& note = {});
  void Publish();
  void Tell(const std::string& message) {
    if (sh_.opt.progress) sh_.opt.progress->Event(name_, message);
  }

  Shared& sh_;
  std::string name_;
  std::vector<const Group*> groups_;
  DeviceProgress progress_;
  Clock::time_point run_started_{};
  size_t reps_timed_ = 0;  // slots finished since run_started_

  // Set by Prepare.
  std::unique_ptr<Transport> transport_;
  DeviceConfig device_;
  DeviceProbe probe_;
  int64_t device_id_ = 0;
  std::optional<int64_t> build_id_;
  json hello_;
  std::string runtime_remote_;
  std::string runtime_sha_;
  std::string work_dir_;
  struct DeployedModel {
    std::string remote, sha256;
    uint64_t bytes = 0;
    int64_t id = 0;
  };
  std::map<size_t, DeployedModel> models_;  // by Plan::spec.models index
};

void Worker::SetPhase(const std::string& phase, const std::string& note) {
  progress_.phase = phase;
  if (!note.empty()) progress_.note = note;
  Publish();
}

void Worker::Publish() {
  progress_.configs_done = 0;
  progress_.configs_failed = 0;
  for (const Group* g : groups_)
    for (size_t c : g->configs) {
      const ConfigState& s = sh_.configs[c];
      progress_.configs_done += s.finished || s.skipped;
      progress_.configs_failed += s.failed;
    }
  if (reps_timed_ > 0 && progress_.reps_total >= progress_.reps_done) {
    const double per =
        std::chrono::duration<double>(Clock::now() - run_started_).count() / reps_timed_;
    progress_.eta_s = per * static_cast<double>(progress_.reps_total - progress_.reps_done);
  }
  if (sh_.opt.progress) sh_.opt.progress->Update(progress_);
}

bool Worker::Sleep(double seconds) {
  const auto until = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < until) {
    if (sh_.stop) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return !sh_.stop;
}

// Retries `f` while it fails with a transport error (kUnavailable), with
// exponential backoff; any other error, or cancel, returns at once.
template <class F>
auto Worker::WithRetry(const std::string& what, F f) -> decltype(f()) {
  const RetryPolicy& p = sh_.opt.retry;
  double backoff = p.initial_backoff_s;
  for (int attempt = 1;; ++attempt) {
    auto r = f();
    if (r.ok() || r.status().code() != StatusCode::kUnavailable || attempt >= p.attempts ||
        sh_.stop)
      return r;
    char note[160];
    std::snprintf(note, sizeof note, "%s failed (try %d of %d), retrying in %.0f s: ",
                  what.c_str(), attempt, p.attempts, backoff);
    const std::string line = note + r.status().message();
    SetPhase("retry", line);
    Tell(line);
    if (!Sleep(backoff)) return r;
    backoff = std::min(backoff * 2, p.max_backoff_s);
  }
}

// The slots of `g` still to run: for a configuration with measured
// repetitions missing, its warmups (again) and those repetitions.
std::vector<Slot> Worker::Pending(const Group& g) const {
  std::set<size_t> needed;
  for (const Slot& s : g.slots) {
    const ConfigState& c = sh_.configs[s.config];
    if (c.finished || c.skipped) continue;
    if (!s.warmup && !c.stored.count(SlotIndex(s, warmup()))) needed.insert(s.config);
  }
  std::vector<Slot> out;
  for (const Slot& s : g.slots)
    if (needed.count(s.config) &&
        (s.warmup || !sh_.configs[s.config].stored.count(SlotIndex(s, warmup()))))
      out.push_back(s);
  return out;
}

// Consecutive slots of one configuration share an entry (one runtime run,
// one context): warmups, then measured repetitions.
std::vector<SpecEntry> MakeEntries(const std::vector<Slot>& slots) {
  std::vector<SpecEntry> entries;
  for (const Slot& s : slots) {
    bool join = !entries.empty() && entries.back().config == s.config;
    if (join && s.warmup && !entries.back().slots.back().warmup) join = false;
    if (!join) {
      entries.push_back({s.config, {}, "e" + std::to_string(entries.size())});
    }
    entries.back().slots.push_back(s);
  }
  return entries;
}

protocol::RunSpec MakeRunSpec(const Plan& plan, const Group& g, const std::string& model,
                              const std::vector<SpecEntry>& entries) {
  protocol::RunSpec spec;
  spec.backend = g.backend;
  spec.model = model;
  spec.telemetry = plan.spec.telemetry;
  spec.cooldown = plan.spec.cooldown;
  spec.command = plan.spec.command;
  for (const SpecEntry& e : entries) {
    protocol::RunConfig r = plan.configs[e.config].run;
    r.run_id = e.run_id;
    int w = 0;
    while (w < static_cast<int>(e.slots.size()) && e.slots[w].warmup) ++w;
    // An entry of warmups only runs them as plain repetitions (the spec
    // needs one measured); the executor knows what they are.
    if (w == static_cast<int>(e.slots.size())) w = 0;
    r.warmup = w;
    r.repetitions = static_cast<int>(e.slots.size()) - w;
    spec.runs.push_back(std::move(r));
  }
  return spec;
}

json ConfigJson(const Config& c) {
  protocol::RunSpec one;
  one.runs = {c.run};
  json j = protocol::ToJson(one)["runs"][0];
  j.erase("run_id");
  return j;
}

void Worker::StoreFailed(const Status& s) {
  std::lock_guard<std::mutex> lock(sh_.mu);
  if (sh_.store_error.ok()) sh_.store_error = s;
  sh_.stop = true;
}

Status Worker::EnsureRun(size_t config, const json* rep_start) {
  ConfigState& st = sh_.configs[config];
  if (st.run_id != 0) {
    if (st.from_store && !st.reopened) {
      RETURN_IF_ERROR(sh_.store.SetRunStatus(st.run_id, store::RunStatus::kRunning));
      st.reopened = true;
    }
    return Status::Ok();
  }
  const Config& c = sh_.plan.configs[config];
  const BuildInfo& b = GetBuildInfo();
  json env = {{"host", sh_.host},
              {"edgebench",
               {{"version", std::string(b.version)},
                {"git_commit", std::string(b.git_commit)},
                {"build_type", std::string(b.build_type)}}},
              {"device",
               {{"name", name_},
                {"key", device_.Key()},
                {"transport", device_.transport},
                {"work_dir", work_dir_}}}};
  if (!hello_.is_null()) {
    env["runtime"] = hello_.value("runtime", json::object());
    env["runtime"]["sha256"] = runtime_sha_;
    env["cpu"] = hello_.value("cpu", json::object());
  }
  if (!probe_.os.empty()) {
    env["probe"] = probe_.ToJson();
    env["governor"] = probe_.governor;
    env["battery_pct"] = probe_.battery_pct < 0 ? json(nullptr) : json(probe_.battery_pct);
    env["battery_status"] = probe_.battery_status;
    env["charging"] = probe_.charging;
  }
  env["temp_start_c"] = nullptr;
  if (rep_start && rep_start->contains("cooldown") && (*rep_start)["cooldown"].is_object()) {
    const json& cd = (*rep_start)["cooldown"];
    if (cd.contains("max_temp_c") && cd["max_temp_c"].is_number())
      env["temp_start_c"] = cd["max_temp_c"];
  }
  const sweep::ModelSpec& m = sh_.plan.spec.models[c.model];
  env["model"] = {{"path", m.path}, {"label", m.label}};
  std::optional<int64_t> model_id;
  if (auto it = models_.find(c.model); it != models_.end()) {
    env["model"]["sha256"] = it->second.sha256;
    env["model"]["bytes"] = it->second.bytes;
    if (it->second.id) model_id = it->second.id;
  }
  if (device_id_ == 0) {
    // The device was never reached: a row with what the devices file says.
    store::DeviceRecord d{.key = device_.Key(), .name = name_, .transport = device_.transport};
    ASSIGN_OR_RETURN(device_id_, sh_.store.UpsertDevice(d));
  }
  store::RunRecord r;
  r.sweep_id = sh_.sweep_id;
  r.device_id = device_id_;
  r.build_id = build_id_;
  r.model_id = model_id;
  r.backend = c.backend;
  r.config_key = c.key;
  r.config_json = ConfigJson(c).dump();
  r.n_threads = c.run.threads;
  r.n_prompt = c.run.n_prompt;
  r.n_gen = c.run.n_gen;
  r.n_depth = c.run.n_depth;
  r.n_batch = c.run.n_batch;
  r.n_ctx = c.run.n_ctx;
  r.env_json = env.dump();
  ASSIGN_OR_RETURN(st.run_id, sh_.store.CreateRun(r));
  return Status::Ok();
}

void Worker::FinishOk(size_t config) {
  ConfigState& st = sh_.configs[config];
  if (st.finished) return;
  st.finished = true;
  if (Status s = sh_.store.FinishRun(st.run_id, store::RunStatus::kOk, st.run_metrics);
      !s.ok())
    StoreFailed(s);
  Tell("done " + ShortConfig(sh_.plan, sh_.plan.configs[config]));
}

void Worker::Fail(size_t config, const std::string& code, const std::string& message) {
  ConfigState& st = sh_.configs[config];
  if (st.finished) return;
  st.finished = true;
  st.failed = true;
  const Config& c = sh_.plan.configs[config];
  Status s = EnsureRun(config, nullptr);
  if (s.ok())
    s = sh_.store.FinishRun(st.run_id, store::RunStatus::kFailed, st.run_metrics, code, message);
  if (s.ok()) {
    store::ErrorRecord e{.sweep_id = sh_.sweep_id, .run_id = st.run_id, .code = code,
                         .message = message, .context = device_.Key() + ": " + c.key};
    s = sh_.store.AddError(e).status();
  }
  if (!s.ok()) StoreFailed(s);
  {
    std::lock_guard<std::mutex> lock(sh_.mu);
    sh_.failures.push_back({name_, c.key, code, message});
  }
  progress_.note = ShortConfig(sh_.plan, c) + ": " + message;
  Tell("FAILED " + ShortConfig(sh_.plan, c) + ": " + code + ": " + message);
}

void Worker::FailRemaining(const std::string& code, const std::string& message) {
  for (const Group* g : groups_)
    for (size_t c : g->configs)
      if (!sh_.configs[c].finished && !sh_.configs[c].skipped) Fail(c, code, message);
}

void Worker::InterruptInFlight(const std::vector<size_t>& configs) {
  for (size_t c : configs) {
    ConfigState& st = sh_.configs[c];
    if (st.finished || st.run_id == 0 || (st.from_store && !st.reopened)) continue;
    st.finished = true;
    st.interrupted = true;
    if (Status s = sh_.store.FinishRun(st.run_id, store::RunStatus::kInterrupted,
                                       st.run_metrics, "cancelled", "the sweep was interrupted");
        !s.ok())
      StoreFailed(s);
  }
}

void Worker::StoreRep(IngestedRep&& in) {
  ConfigState& st = sh_.configs[in.config];
  ++progress_.reps_done;
  ++reps_timed_;
  if (!in.slot.warmup) {
    auto it = in.rep.metrics.find("decode_tps");
    if (it != in.rep.metrics.end()) progress_.last_decode_tps = it->second;
  }
  const int idx = SlotIndex(in.slot, warmup());
  if (st.finished || st.stored.count(idx)) {  // a warmup run again on resume
    Publish();
    return;
  }
  if (Status s = EnsureRun(in.config, &in.rep_start); !s.ok()) return StoreFailed(s);
  in.rep.run_id = st.run_id;
  in.rep.idx = idx;
  if (auto r = sh_.store.AddRep(in.rep); !r.ok()) return StoreFailed(r.status());
  st.stored.insert(idx);
  {
    std::lock_guard<std::mutex> lock(sh_.mu);
    ++sh_.reps_stored;
  }
  Publish();
  if (Complete(in.config)) {
    FinishOk(in.config);
    Publish();
  }
}

Status Worker::Prepare() {
  device_ = sh_.opt.devices.at(name_);
  SetPhase("connect");
  ASSIGN_OR_RETURN(transport_, WithRetry("connect", [&] { return OpenTransport(device_); }));
  SetPhase("probe");
  auto probe = WithRetry("probe", [&] { return ProbeDevice(*transport_); });
  if (!probe.ok()) return probe.status().WithContext("probe");
  probe_ = std::move(*probe);
  store::DeviceRecord d{.key = device_.Key(),
                        .name = name_,
                        .transport = device_.transport,
                        .abi = probe_.abi,
                        .soc = probe_.soc,
                        .cpu_model = probe_.cpu_model,
                        .os = probe_.os_version.empty() ? probe_.os : probe_.os_version,
                        .kernel = probe_.kernel,
                        .n_cores = probe_.n_cpus,
                        .ram_mb = probe_.ram_kb / 1024,
                        .probe_json = probe_.ToJson().dump()};
  ASSIGN_OR_RETURN(device_id_, sh_.store.UpsertDevice(d));

  const std::string abi = device_.abi.empty() ? probe_.abi : device_.abi;
  ASSIGN_OR_RETURN(std::string runtime, FindRuntime(abi, sh_.opt.runtime));
  ASSIGN_OR_RETURN(work_dir_, WithRetry("work dir", [&] {
                     return PrepareWorkDir(*transport_, device_.work_dir,
                                           probe_.os == "android");
                   }));
  // The runtime and the models of the groups with work left.
  std::vector<DeployFile> files = {{runtime, true}};
  std::vector<size_t> model_of_file = {SIZE_MAX};
  std::set<size_t> wanted;
  for (const Group* g : groups_)
    if (!Pending(*g).empty() && wanted.insert(g->model).second) {
      files.push_back({sh_.plan.spec.models[g->model].path, false});
      model_of_file.push_back(g->model);
    }
  SetPhase("deploy");
  DeployOptions dopt;
  ASSIGN_OR_RETURN(DeployReport rep, WithRetry("deploy", [&] {
                     return Deploy(*transport_, work_dir_, files, dopt);
                   }));
  runtime_remote_ = rep.files[0].remote;
  runtime_sha_ = rep.files[0].sha256;
  for (size_t i = 1; i < rep.files.size(); ++i) {
    DeployedModel m{rep.files[i].remote, rep.files[i].sha256, rep.files[i].bytes, 0};
    const sweep::ModelSpec& spec = sh_.plan.spec.models[model_of_file[i]];
    store::ModelRecord mr{.sha256 = m.sha256,
                          .name = spec.label,
                          .size_bytes = static_cast<int64_t>(m.bytes)};
    ASSIGN_OR_RETURN(m.id, sh_.store.UpsertModel(mr));
    models_[model_of_file[i]] = m;
  }

  // The runtime's build facts, before anything is measured with it.
  std::vector<std::string> argv = device_.exec_prefix;
  argv.push_back(runtime_remote_);
  argv.push_back("--hello");
  ExecOptions eo;
  eo.timeout_s = 60;
  eo.cancel = &sh_.stop;
  ASSIGN_OR_RETURN(ExecResult hr, WithRetry("runtime hello", [&] {
                     return transport_->Exec(argv, eo);
                   }));
  if (!hr.ok())
    return FailedPreconditionError("the runtime does not start on the device (" + hr.Describe() +
                                   "): " + LastLine(hr.err));
  hello_ = json::parse(hr.out, nullptr, false);
  if (hello_.is_discarded() || !hello_.is_object() || !hello_.contains("runtime"))
    return FailedPreconditionError("the runtime's --hello is not an event: " +
                                   hr.out.substr(0, 200));
  const json& rt = hello_["runtime"];
  store::BuildRecord br{
      .version = rt.value("version", ""),
      .git_commit = rt.value("git_commit", ""),
      .build_type = rt.value("build_type", ""),
      .compiler = rt.value("compiler", ""),
      .flags = rt.value("flags", ""),
      .isa = rt.value("arch", "") + "+" +
             hello_.value("cpu", json::object()).value("kernel_isa", std::string("generic")),
      .sanitizers = rt.value("sanitizers", ""),
      .asserts = rt.value("asserts", false)};
  ASSIGN_OR_RETURN(int64_t build, sh_.store.UpsertBuild(br));
  build_id_ = build;
  return Status::Ok();
}

Status Worker::RunGroup(const Group& g) {
  const DeployedModel& model = models_.at(g.model);
  int transport_failures = 0;
  for (;;) {
    if (sh_.stop) return CancelledError("stopped");
    const std::vector<Slot> slots = Pending(g);
    if (slots.empty()) return Status::Ok();
    const std::vector<SpecEntry> entries = MakeEntries(slots);
    std::vector<size_t> in_process;
    for (const SpecEntry& e : entries)
      if (std::find(in_process.begin(), in_process.end(), e.config) == in_process.end())
        in_process.push_back(e.config);
    const protocol::RunSpec spec = MakeRunSpec(sh_.plan, g, model.remote, entries);

    std::optional<IngestedError> fatal;
    bool any_progress = false;
    IngestCallbacks cb;
    cb.load = [&](const json& e) {
      if (e.contains("load_ms") && e["load_ms"].is_number())
        for (size_t c : in_process) sh_.configs[c].run_metrics["load_ms"] = e["load_ms"];
      if (e.contains("model") && e["model"].is_object()) {
        const json& m = e["model"];
        store::ModelRecord mr{.sha256 = model.sha256,
                              .name = sh_.plan.spec.models[g.model].label,
                              .arch = m.value("arch", ""),
                              .params = m.value("n_params", int64_t{0}),
                              .quant = m.value("quant", ""),
                              .size_bytes = static_cast<int64_t>(model.bytes),
                              .meta_json = m.dump()};
        if (auto r = sh_.store.UpsertModel(mr); !r.ok()) StoreFailed(r.status());
      }
    };
    cb.rep_start = [&](size_t c, const Slot&, const json& e) {
      progress_.current = ShortConfig(sh_.plan, sh_.plan.configs[c]);
      if (Status s = EnsureRun(c, &e); !s.ok()) StoreFailed(s);
      Publish();
    };
    cb.rep = [&](IngestedRep&& r) {
      any_progress = true;
      StoreRep(std::move(r));
    };
    cb.error = [&](const IngestedError& e) {
      if (e.fatal && !e.config) {
        fatal = e;
        return;
      }
      if (e.config) {
        any_progress = true;
        std::string msg = e.message;
        if (e.rep >= 0) msg = "repetition " + std::to_string(e.rep) + ": " + msg;
        Fail(*e.config, e.code, msg);
      }
    };
    EventIngest ingest(entries, cb);

    std::vector<std::string> argv = device_.exec_prefix;
    argv.push_back(runtime_remote_);
    argv.push_back("-");
    ExecOptions eo;
    eo.stdin_data = protocol::ToJson(spec).dump() + "\n";
    eo.timeout_s = sh_.plan.spec.run_timeout_s;
    eo.cancel = &sh_.stop;
    eo.on_line = [&](std::string_view line) {
      if (Status s = ingest.Feed(line); !s.ok()) {
        store::ErrorRecord er{.sweep_id = sh_.sweep_id, .code = "data_loss",
                              .message = s.message(), .context = device_.Key()};
        (void)sh_.store.AddError(er);
      }
    };
    SetPhase("run");
    if (run_started_ == Clock::time_point{}) run_started_ = Clock::now();
    Result<ExecResult> r = transport_->Exec(argv, eo);

    if (sh_.stop) {
      InterruptInFlight(in_process);
      return CancelledError("stopped");
    }
    if (!r.ok()) {
      // The transport failed: not the configuration's fault. Try again
      // (the repetitions already stored are not run again).
      if (any_progress) transport_failures = 0;
      if (++transport_failures >= sh_.opt.retry.attempts) return r.status();
      double backoff = sh_.opt.retry.initial_backoff_s;
      for (int i = 1; i < transport_failures; ++i)
        backoff = std::min(backoff * 2, sh_.opt.retry.max_backoff_s);
      const std::string note = "runtime connection failed (try " +
                               std::to_string(transport_failures) + " of " +
                               std::to_string(sh_.opt.retry.attempts) + "), retrying in " +
                               std::to_string(static_cast<int>(backoff)) + " s: " +
                               r.status().message();
      SetPhase("retry", note);
      Tell(note);
      if (!Sleep(backoff)) {
        InterruptInFlight(in_process);
        return CancelledError("stopped");
      }
      continue;
    }
    transport_failures = 0;
    if (fatal) {
      // Nothing of this group can run: the model did not load, memory, ...
      for (size_t c : in_process) Fail(c, fatal->code, fatal->message);
      return Status::Ok();
    }
    if (ingest.done()) {
      // It ran to the end; anything still missing was never reported.
      for (size_t c : in_process)
        if (!sh_.configs[c].finished && !Complete(c))
          Fail(c, "internal", "the runtime finished without running every repetition");
      continue;
    }
    // The runtime died: the configuration it was running fails with the
    // cause; the rest of the group runs in a new process.
    const ExecResult& x = *r;
    std::string code = "internal";
    std::string msg;
    if (x.timed_out) {
      code = "deadline_exceeded";
      msg = "the runtime ran past run_timeout_s (" +
            std::to_string(static_cast<int>(sh_.plan.spec.run_timeout_s)) + " s) and was killed";
    } else if (x.signal != 0) {
      msg = "the runtime was killed by " + SignalText(x.signal);
      if (x.signal == SIGKILL) {
        code = "resource_exhausted";
        msg += " (the out-of-memory killer, or someone else)";
      }
    } else {
      msg = "the runtime exited (" + x.Describe() + ") without finishing";
    }
    const std::string last = LastLine(x.err);
    if (!last.empty()) msg += ": " + last;
    const std::optional<size_t> current = ingest.CurrentConfig();
    if (current) Fail(*current, code, msg);
    else if (!any_progress)
      for (size_t c : in_process) Fail(c, code, msg);
  }
}

void Worker::Run() {
  // Resumed configurations with every repetition stored (but not marked
  // ok: the sweep stopped between the last repetition and that) are done.
  for (const Group* g : groups_)
    for (size_t c : g->configs)
      if (!sh_.configs[c].skipped && Complete(c)) FinishOk(c);
  size_t total = 0;
  for (const Group* g : groups_) total += Pending(*g).size();
  progress_.reps_total = total;
  if (total == 0) {
    SetPhase("done");
    return;
  }
  Status s = Prepare();
  if (s.ok()) {
    for (const Group* g : groups_) {
      s = RunGroup(*g);
      if (!s.ok()) break;
    }
  }
  if (sh_.stop) {
    SetPhase("interrupted");
    return;
  }
  if (!s.ok()) {
    const std::string cause = s.code() == StatusCode::kUnavailable
                                  ? "device lost: " + s.message()
                                  : s.message();
    FailRemaining(std::string(StatusCodeName(s.code())), cause);
    SetPhase("failed", cause);
    Tell("device failed, its remaining configurations are marked failed: " + cause);
    return;
  }
  SetPhase("done");
}

}  // namespace

Result<SweepResult> ExecuteSweep(const Plan& plan, const ExecutorOptions& options) {
  if (!options.store) return InvalidArgumentError("ExecuteSweep needs a store");
  if (options.resume_sweep_id && options.resume_sweep_uuid.empty())
    return InvalidArgumentError("resuming needs the sweep's UUID");
  for (const Config& c : plan.configs)
    if (!options.devices.count(c.device))
      return InvalidArgumentError("device \"" + c.device + "\" is not resolved");
  Shared sh{plan, options, *options.store};
  sh.configs.resize(plan.configs.size());

  if (options.resume_sweep_id) {
    sh.sweep_id = options.resume_sweep_id;
    sh.sweep_uuid = options.resume_sweep_uuid;
    ASSIGN_OR_RETURN(std::vector<store::StoredRun> runs,
                     sh.store.RunsOfSweep(options.resume_sweep_id));
    std::map<std::string, const store::StoredRun*> by_key;
    for (const store::StoredRun& r : runs) by_key[r.config_key] = &r;
    const int per_config = plan.spec.warmup + plan.spec.repetitions;
    for (size_t i = 0; i < plan.configs.size(); ++i) {
      auto it = by_key.find(plan.configs[i].key);
      if (it == by_key.end()) continue;
      ConfigState& st = sh.configs[i];
      st.run_id = it->second->id;
      st.from_store = true;
      st.stored.insert(it->second->rep_idx.begin(), it->second->rep_idx.end());
      st.skipped = static_cast<int>(st.stored.size()) >= per_config &&
                   it->second->status == store::RunStatus::kOk;
    }
    RETURN_IF_ERROR(sh.store.SetSweepStatus(sh.sweep_id, store::SweepStatus::kRunning));
  } else {
    const BuildInfo& b = GetBuildInfo();
    json labels = json::array();
    for (const auto& [k, v] : plan.spec.labels) labels.push_back(k + "=" + v);
    store::SweepRecord rec{.name = plan.spec.name,
                           .labels_json = labels.dump(),
                           .spec_json = options.spec_json,
                           .host = sh.host,
                           .edgebench_version = std::string(b.version),
                           .git_commit = std::string(b.git_commit)};
    ASSIGN_OR_RETURN(sh.sweep_id, sh.store.CreateSweep(rec));
    sh.sweep_uuid = rec.uuid;
  }

  // Ctrl-C arrives as options.cancel; the workers watch sh.stop, which a
  // failed store write sets too.
  std::atomic<bool> finished{false};
  std::thread watcher([&] {
    while (!finished) {
      if (options.cancel && options.cancel->load()) sh.stop = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  std::vector<std::string> devices;
  for (const Group& g : plan.groups)
    if (std::find(devices.begin(), devices.end(), g.device) == devices.end())
      devices.push_back(g.device);
  std::vector<std::unique_ptr<Worker>> workers;
  for (const std::string& d : devices) workers.push_back(std::make_unique<Worker>(sh, d));
  std::vector<std::thread> threads;
  for (auto& w : workers) threads.emplace_back([&w] { w->Run(); });
  for (std::thread& t : threads) t.join();
  finished = true;
  watcher.join();

  SweepResult res;
  res.sweep_id = sh.sweep_id;
  res.sweep_uuid = sh.sweep_uuid;
  for (const ConfigState& c : sh.configs) {
    if (c.skipped) ++res.configs_skipped;
    else if (c.failed) ++res.configs_failed;
    else if (c.interrupted || !c.finished) ++res.configs_interrupted;
    else ++res.configs_ok;
  }
  res.reps_stored = sh.reps_stored;
  res.failures = sh.failures;
  const bool cancelled = options.cancel && options.cancel->load();
  res.status = !sh.store_error.ok() ? store::SweepStatus::kFailed
               : cancelled          ? store::SweepStatus::kInterrupted
               : res.configs_interrupted ? store::SweepStatus::kInterrupted
                                         : store::SweepStatus::kCompleted;
  Status st = sh.store.SetSweepStatus(sh.sweep_id, res.status);
  if (!sh.store_error.ok())
    return sh.store_error.WithContext("the store failed mid-sweep; every repetition stored "
                                      "before is kept (resume the sweep when it is fixed)");
  RETURN_IF_ERROR(st);
  return res;
}

}  // namespace edgebench::harness
