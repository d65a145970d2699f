#include "runtime/runner.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "backends/command/command_runner.h"
#include "backends/native/native_backend.h"
#include "backends/sampler/sampler.h"
#include "base/build_info.h"
#include "base/cpu_features.h"
#ifdef EDGEBENCH_WITH_LLAMACPP
#include "backends/llamacpp/llamacpp_backend.h"
#endif
#include "protocol/events.h"
#include "protocol/rep_metrics.h"
#include "runtime/telemetry/telemetry.h"

namespace edgebench::runtime {

using nlohmann::json;
using protocol::RunConfig;
using protocol::RunSpec;
using protocol::Sample;

namespace {

// The engines the runtime links, by name: an explicit table, not static
// self-registration (which static linking silently drops).
// The first is the default engine, whose kernels the hello event names as
// the build's `kernel_isa`.
struct BackendEntry {
  const char* name;
  std::unique_ptr<backends::Backend> (*make)();
  backends::EngineBuild (*build)();
};
constexpr BackendEntry kBackends[] = {
    {"native", &native::NewNativeBackend, &native::NativeBuild},
#ifdef EDGEBENCH_WITH_LLAMACPP
    {"llamacpp", &llamacpp::NewLlamaCppBackend, &llamacpp::LlamaCppBuild},
#endif
};

const BackendEntry* FindBackend(std::string_view name) {
  for (const BackendEntry& b : kBackends)
    if (name == b.name) return &b;
  return nullptr;
}

// A backend the spec names that this build does not link.
Status MissingBackend(std::string_view name) {
  if (name == "llamacpp")
    return UnimplementedError(
        "this edgebench-rt was built without llama.cpp (EDGEBENCH_LLAMACPP=OFF), so it has no "
        "llamacpp backend: scripts/setup.sh fetches and builds llama.cpp (scripts/llamacpp.sh) "
        "and links it");
  return InvalidArgumentError("this edgebench-rt has no backend \"" + std::string(name) + "\"");
}

std::string ReadFirstLineWith(const std::string& path, const std::string& key) {
  std::ifstream f(path);
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(key, 0) == 0) {
      const size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string v = line.substr(colon + 1);
      v.erase(0, v.find_first_not_of(" \t"));
      return v;
    }
  return "";
}

json DeviceFacts(const std::string& proc_root) {
  json d;
  std::string cpu = ReadFirstLineWith(proc_root + "/cpuinfo", "model name");
  if (cpu.empty()) cpu = ReadFirstLineWith(proc_root + "/cpuinfo", "Hardware");
  d["cpu_model"] = cpu;
  d["n_cpus"] = static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN));
  const std::string mem = ReadFirstLineWith(proc_root + "/meminfo", "MemTotal");
  d["mem_total_kb"] = mem.empty() ? json(nullptr) : json(std::atoll(mem.c_str()));
  struct utsname u;
  if (::uname(&u) == 0) {
    d["os"] = u.sysname;
    d["kernel"] = u.release;
    d["machine"] = u.machine;
  }
  return d;
}

json ErrorEvent(const Status& s, const std::string& run_id, int rep, bool fatal) {
  json e = {{"ev", "error"},
            {"t_ns", MonotonicNs()},
            {"code", std::string(StatusCodeName(s.code()))},
            {"message", s.message()},
            {"fatal", fatal}};
  if (!run_id.empty()) e["run_id"] = run_id;
  if (rep >= 0) e["rep"] = rep;
  return e;
}

// Deterministic token ids in [0, n_vocab): llama-bench also measures
// synthetic prompts; what matters for speed is the count, not the text.
std::vector<int32_t> SyntheticTokens(int n, int n_vocab, uint64_t seed) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (int32_t& x : t) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    x = static_cast<int32_t>(s % static_cast<uint64_t>(n_vocab));
  }
  return t;
}

Status CancelStatus(const CancelFlag& c) {
  const int why = c.reason.load();
  if (why == kCancelTimeout) return DeadlineExceededError("the spec's timeout_s expired");
  if (why > 0)
    return CancelledError(std::string("stopped by signal ") + std::to_string(why) + " (" +
                          (why == SIGINT ? "SIGINT" : why == SIGTERM ? "SIGTERM" : "signal") +
                          ")");
  return CancelledError("stopped: the host stopped reading events");
}

json HelloJson(const protocol::TelemetrySpec& ts, const Telemetry* tel);

class Executor {
 public:
  Executor(const RunSpec& spec, EventWriter& out, CancelFlag& cancel)
      : spec_(spec), out_(out), cancel_(cancel) {}

  int Run();

 private:
  bool Cancelled() {
    if (out_.broken()) cancel_.Request(SIGPIPE);
    return cancel_.requested.load();
  }
  // Drains the telemetry buffer, dropping samples with no values (the
  // sampler skips sources over its CPU budget), and writes the rest.
  std::vector<Sample> DrainAndWrite() {
    std::vector<Sample> s = tel_->Drain();
    std::erase_if(s, [](const Sample& x) { return x.values.empty(); });
    for (const Sample& x : s) out_.Write(protocol::SampleToJson(x));
    return s;
  }
  // Takes a full reading now, writes everything buffered, returns what was
  // written; *t_now_ns gets the reading's time (the sampler thread may
  // tick once more before the drain, so it need not be the last).
  std::vector<Sample> FlushSamples(int64_t* t_now_ns = nullptr) {
    if (!tel_) return {};
    const int64_t t = tel_->SampleNow().t_ns;
    if (t_now_ns) *t_now_ns = t;
    return DrainAndWrite();
  }
  Status FatalLoadChecks();
  Status RunInProcess(const RunConfig& run);
  Status RunExternal(const RunConfig& run);
  // Cooldown (unless `wait` is false), flush the gap's samples, write
  // rep_start. `opening` gets the sample that opens the repetition.
  Status PrepareRep(const RunConfig& run, int rep, bool warmup, bool wait, json* cooldown,
                    Sample* opening);
  void FinishRep(const RunConfig& run, int rep, protocol::RepTiming timing,
                 const Sample& opening, int n_gen);
  Result<std::vector<int>> ResolveCpus(const RunConfig& run);

  const RunSpec& spec_;
  EventWriter& out_;
  CancelFlag& cancel_;
  std::unique_ptr<Telemetry> tel_;
  std::unique_ptr<backends::Backend> backend_;
  backends::ModelInfo info_;
  double baseline_w_ = NAN;
  int reps_done_ = 0;
  int errors_ = 0;
};

Result<std::vector<int>> Executor::ResolveCpus(const RunConfig& run) {
  if (run.cpus.empty()) return std::vector<int>{};
  if (run.cpus == "big" || run.cpus == "little")
    return ClusterCores(spec_.telemetry.sys_root, run.cpus == "big");
  return protocol::ParseCpuList(run.cpus, "cpus");
}

Status Executor::PrepareRep(const RunConfig& run, int rep, bool warmup, bool wait,
                            json* cooldown, Sample* opening) {
  json c = json::object();
  if (wait && spec_.cooldown.enabled && tel_) {
    const CooldownResult r = WaitForCooldown(*tel_, spec_.cooldown, cancel_.requested);
    c["waited_ms"] = r.waited_ms;
    c["timed_out"] = r.timed_out;
    c["temps_c"] = r.temps_c;
    c["max_temp_c"] = std::isnan(r.max_temp_c) ? json(nullptr) : json(r.max_temp_c);
  } else if (tel_) {
    double hottest = NAN;
    for (const auto& [zone, t] : tel_->Temperatures())
      hottest = std::isnan(hottest) ? t : std::max(hottest, t);
    c["max_temp_c"] = std::isnan(hottest) ? json(nullptr) : json(hottest);
  }
  if (Cancelled()) return CancelStatus(cancel_);
  // Samples of the gap since the last repetition; the last one opens this
  // repetition's energy series.
  const std::vector<Sample> gap = FlushSamples();
  *opening = gap.empty() ? Sample{} : gap.back();
  *cooldown = c;
  out_.Write({{"ev", "rep_start"},
              {"t_ns", MonotonicNs()},
              {"run_id", run.run_id},
              {"rep", rep},
              {"warmup", warmup},
              {"cooldown", c}});
  return Status::Ok();
}

void Executor::FinishRep(const RunConfig& run, int rep, protocol::RepTiming timing,
                         const Sample& opening, int n_gen) {
  std::vector<Sample> samples;
  if (opening.t_ns) samples.push_back(opening);
  const std::vector<Sample> in_rep = FlushSamples(&timing.t_close_ns);
  samples.insert(samples.end(), in_rep.begin(), in_rep.end());
  for (auto it = in_rep.rbegin(); it != in_rep.rend(); ++it) {
    bool found = false;
    for (const auto& [k, v] : it->values)
      if (k == "mem.hwm_kb") {
        timing.hwm_kb = v;
        found = true;
      }
    if (found) break;
  }
  timing.baseline_w = baseline_w_;
  const std::map<std::string, double> metrics = protocol::ComputeRepMetrics(timing, samples);
  json e = {{"ev", "rep_end"},
            {"t_ns", MonotonicNs()},
            {"t_end_ns", timing.t_end_ns},
            {"run_id", run.run_id},
            {"rep", rep},
            {"warmup", rep < run.warmup},
            {"n_prompt", timing.n_prompt},
            {"n_gen", n_gen},
            {"n_depth", run.n_depth},
            {"metrics", metrics}};
  if (timing.t_close_ns > 0) e["t_close_ns"] = timing.t_close_ns;
  if (!std::isnan(timing.hwm_kb)) e["hwm_kb"] = timing.hwm_kb;
  if (!std::isnan(timing.baseline_w)) e["baseline_w"] = timing.baseline_w;
  out_.Write(e);
  ++reps_done_;
}

Status Executor::RunInProcess(const RunConfig& run) {
  ASSIGN_OR_RETURN(std::vector<int> cpus, ResolveCpus(run));
  backends::ContextOptions co;
  co.n_threads = run.threads;
  co.cpus = cpus;
  co.n_batch = run.n_batch;
  co.kv_type = run.kv_type;
  // Room for the depth, the prompt (at least the one BOS token of a pure
  // generation test; a text prompt as long as it tokenizes, tokenized once
  // here untimed) and the generated tokens.
  int prompt_len = run.n_prompt;
  if (run.prompt.kind == "text" && run.n_prompt == 0) {
    ASSIGN_OR_RETURN(std::vector<int32_t> t, backend_->Tokenize(run.prompt.text, true));
    prompt_len = static_cast<int>(t.size());
  }
  const int needed = run.n_depth + std::max(prompt_len, 1) + run.n_gen;
  co.n_ctx = run.n_ctx > 0 ? run.n_ctx : std::max(needed, 16);
  RETURN_IF_ERROR(backend_->CreateContext(co));
  ASSIGN_OR_RETURN(backends::Sampler sampler,
                   backends::Sampler::Create({.temperature = run.sampler.temperature,
                                            .top_k = run.sampler.top_k,
                                            .top_p = run.sampler.top_p,
                                            .min_p = run.sampler.min_p,
                                            .seed = run.seed}));
  const std::vector<int32_t> depth = SyntheticTokens(run.n_depth, info_.n_vocab, run.seed + 1);
  const std::vector<int32_t> synthetic =
      SyntheticTokens(run.n_prompt, info_.n_vocab, run.seed);
  const int64_t timeout_ns = static_cast<int64_t>(run.timeout_s * 1e9);

  for (int rep = 0; rep < run.warmup + run.repetitions; ++rep) {
    json cooldown;
    Sample opening;
    RETURN_IF_ERROR(PrepareRep(run, rep, rep < run.warmup, true, &cooldown, &opening));
    backend_->ClearCache();
    for (size_t at = 0; at < depth.size(); at += static_cast<size_t>(run.n_batch)) {
      const size_t n = std::min(depth.size() - at, static_cast<size_t>(run.n_batch));
      RETURN_IF_ERROR(backend_->Eval(std::span<const int32_t>(depth).subspan(at, n)));
      if (Cancelled()) return CancelStatus(cancel_);
    }

    protocol::RepTiming t;
    if (cooldown.contains("waited_ms")) t.cooldown_ms = cooldown["waited_ms"].get<double>();
    if (cooldown.contains("max_temp_c") && cooldown["max_temp_c"].is_number())
      t.temp_start_c = cooldown["max_temp_c"].get<double>();

    // ---- timed: request start (tokenization included) to last token ----
    t.t_request_ns = MonotonicNs();
    std::vector<int32_t> prompt;
    if (run.prompt.kind == "text") {
      ASSIGN_OR_RETURN(prompt, backend_->Tokenize(run.prompt.text, /*add_special=*/true));
      if (run.n_prompt > 0 && !prompt.empty()) {
        // Cut or repeat to exactly n_prompt tokens.
        std::vector<int32_t> sized(static_cast<size_t>(run.n_prompt));
        for (size_t i = 0; i < sized.size(); ++i) sized[i] = prompt[i % prompt.size()];
        prompt.swap(sized);
      }
    } else {
      prompt = synthetic;
    }
    if (prompt.empty()) prompt.push_back(std::max(backend_->BosToken(), 0));
    t.n_prompt = static_cast<int>(prompt.size());
    t.prefill_t0_ns = MonotonicNs();
    for (size_t at = 0; at < prompt.size(); at += static_cast<size_t>(run.n_batch)) {
      const size_t n = std::min(prompt.size() - at, static_cast<size_t>(run.n_batch));
      RETURN_IF_ERROR(backend_->Eval(std::span<const int32_t>(prompt).subspan(at, n)));
      if (Cancelled()) return CancelStatus(cancel_);
    }
    t.prefill_t1_ns = MonotonicNs();
    t.token_ns.reserve(static_cast<size_t>(run.n_gen));
    int32_t token = 0;
    for (int i = 0; i < run.n_gen; ++i) {
      if (i > 0) RETURN_IF_ERROR(backend_->Eval(std::span<const int32_t>(&token, 1)));
      token = sampler.Sample(backend_->Logits());
      t.token_ns.push_back(MonotonicNs());
      if (Cancelled()) return CancelStatus(cancel_);
      if (timeout_ns > 0 && t.token_ns.back() - t.t_request_ns > timeout_ns)
        return DeadlineExceededError("repetition " + std::to_string(rep) + " ran past timeout_s " +
                                     std::to_string(run.timeout_s));
    }
    t.t_end_ns = MonotonicNs();
    // ---- end of the timed part ----

    out_.Write({{"ev", "prefill"},
                {"t_ns", t.prefill_t1_ns},
                {"run_id", run.run_id},
                {"rep", rep},
                {"t_request_ns", t.t_request_ns},
                {"t0_ns", t.prefill_t0_ns},
                {"t1_ns", t.prefill_t1_ns},
                {"n", t.n_prompt}});
    out_.Write({{"ev", "decode"},
                {"t_ns", t.t_end_ns},
                {"run_id", run.run_id},
                {"rep", rep},
                {"token_ns", t.token_ns}});
    FinishRep(run, rep, std::move(t), opening, run.n_gen);
  }
  return Status::Ok();
}

Status Executor::RunExternal(const RunConfig& run) {
  const std::vector<std::string> argv = command::ExpandArgv(spec_.command.argv, spec_.model, run);
  command::RunOptions ro;
  ro.timeout_s = run.timeout_s;
  ro.cancel = &cancel_.requested;
  ro.on_start = [this](pid_t pid) {
    if (tel_) tel_->SetPid(pid);
  };
  // llama-bench repeats inside one process; the llama-perf parsers read one
  // generation per process, so each repetition is its own process.
  const bool per_process = spec_.command.parser == "llama-perf";
  const int processes = per_process ? run.warmup + run.repetitions : 1;
  for (int p = 0; p < processes; ++p) {
    json cooldown;
    Sample opening;
    if (per_process)
      RETURN_IF_ERROR(PrepareRep(run, p, p < run.warmup, true, &cooldown, &opening));
    const int64_t start_ns = MonotonicNs();
    command::ExternalResult r = command::RunCommand(argv, spec_.command.parser, ro);
    const int64_t end_ns = MonotonicNs();
    if (tel_) tel_->SetPid(::getpid());
    if (Cancelled()) return CancelStatus(cancel_);
    if (r.reps.empty()) {
      RETURN_IF_ERROR(r.status);
      return DataLossError("external engine " + argv[0] + " reported no measurements");
    }
    // Repetitions the engine reported are written even when it then failed;
    // the failure follows as the run's error.
    for (size_t i = 0; i < r.reps.size(); ++i) {
      const command::ExternalRep& x = r.reps[i];
      const int rep = per_process ? p : static_cast<int>(i);
      // llama-bench reports its repetitions after the fact (its own warmup
      // is not among them): their rep_start events follow the process.
      if (!per_process) RETURN_IF_ERROR(PrepareRep(run, rep, false, false, &cooldown, &opening));
      // External engines give durations, not timestamps. With one
      // repetition per process its window is the process's, which gives the
      // telemetry metrics; speed comes from the engine's own numbers.
      std::map<std::string, double> m;
      if (per_process) {
        protocol::RepTiming t;
        t.t_request_ns = start_ns;
        t.t_end_ns = end_ns;
        std::vector<Sample> samples;
        if (opening.t_ns) samples.push_back(opening);
        const std::vector<Sample> in_rep = FlushSamples(&t.t_close_ns);
        samples.insert(samples.end(), in_rep.begin(), in_rep.end());
        m = protocol::ComputeRepMetrics(t, samples);
      }
      if (!std::isnan(x.prefill_ms) && x.n_prompt > 0) {
        m["prefill_ms"] = x.prefill_ms;
        m["prefill_tps"] = x.n_prompt / (x.prefill_ms / 1e3);
      }
      if (!std::isnan(x.decode_ms) && x.n_gen > 0) m["decode_tps"] = x.n_gen / (x.decode_ms / 1e3);
      json e = {{"ev", "rep_end"},
                {"t_ns", MonotonicNs()},
                {"run_id", run.run_id},
                {"rep", rep},
                {"warmup", per_process && p < run.warmup},
                {"n_prompt", x.n_prompt},
                {"n_gen", x.n_gen},
                {"n_depth", run.n_depth},
                {"timing", "external"},
                {"metrics", m}};
      if (!std::isnan(x.load_ms)) e["load_ms"] = x.load_ms;
      // llama-bench -pg: prefill and decode as one span it does not split.
      if (!std::isnan(x.total_ms)) e["total_ms"] = x.total_ms;
      out_.Write(e);
      ++reps_done_;
    }
    RETURN_IF_ERROR(r.status);
  }
  return Status::Ok();
}

Status Executor::FatalLoadChecks() {
  if (!spec_.check_memory) return Status::Ok();
  struct stat st;
  if (::stat(spec_.model.c_str(), &st) != 0) return ErrnoToStatus(errno, spec_.model);
  auto avail = MemAvailableKb(spec_.telemetry.proc_root);
  if (!avail.ok()) return Status::Ok();  // no meminfo: cannot check, do not guess
  const int64_t need_kb = static_cast<int64_t>(st.st_size) / 1024;
  if (need_kb > *avail)
    return ResourceExhaustedError(spec_.model + ": the model needs " +
                                  std::to_string(need_kb / 1024) + " MiB, MemAvailable is " +
                                  std::to_string(*avail / 1024) + " MiB");
  return Status::Ok();
}

int Executor::Run() {
  const protocol::TelemetrySpec& ts = spec_.telemetry;
  if (ts.enabled) {
    auto t = Telemetry::Create(ts);
    if (!t.ok()) {
      out_.Write(ErrorEvent(t.status().WithContext("telemetry"), "", -1, true));
      out_.Write({{"ev", "done"}, {"t_ns", MonotonicNs()}, {"status", "failed"}, {"reps", 0},
                  {"errors", 1}});
      return kRtExitFailed;
    }
    tel_ = std::move(*t);
  }
  out_.Write(HelloJson(ts, tel_.get()));
  auto finish = [&](const char* status, int code) {
    if (tel_) {
      tel_->Stop();
      DrainAndWrite();
    }
    out_.Write({{"ev", "done"},
                {"t_ns", MonotonicNs()},
                {"status", status},
                {"reps", reps_done_},
                {"errors", errors_}});
    return code;
  };
  auto fatal = [&](const Status& s) {
    ++errors_;
    out_.Write(ErrorEvent(s, "", -1, true));
    const bool interrupted =
        s.code() == StatusCode::kCancelled || s.code() == StatusCode::kDeadlineExceeded;
    return finish(interrupted ? "interrupted" : "failed",
                  interrupted ? kRtExitInterrupted : kRtExitFailed);
  };
  if (tel_) {
    if (Status s = tel_->Start(); !s.ok()) return fatal(s.WithContext("telemetry"));
    if (ts.baseline_ms > 0) baseline_w_ = tel_->MeasureIdlePowerW(ts.baseline_ms);
  }

  const bool in_process = spec_.backend != "command";
  if (in_process) {
    const BackendEntry* entry = FindBackend(spec_.backend);
    if (!entry) return fatal(MissingBackend(spec_.backend));
    backend_ = entry->make();
    if (Status s = FatalLoadChecks(); !s.ok()) return fatal(s);
    const int64_t t0 = MonotonicNs();
    auto info = backend_->Load({.model_path = spec_.model, .use_mmap = spec_.use_mmap});
    const int64_t t1 = MonotonicNs();
    if (!info.ok()) return fatal(info.status());
    info_ = *info;
    json load = {{"ev", "load"},
                 {"t_ns", t1},
                 {"t0_ns", t0},
                 {"t1_ns", t1},
                 {"load_ms", static_cast<double>(t1 - t0) / 1e6},
                 {"backend", spec_.backend},
                 {"model",
                  {{"path", spec_.model},
                   {"arch", info_.arch},
                   {"quant", info_.quant},
                   {"n_params", info_.n_params},
                   {"file_bytes", info_.file_bytes},
                   {"weight_bytes", info_.weight_bytes},
                   {"n_vocab", info_.n_vocab},
                   {"n_ctx_train", info_.n_ctx_train}}},
                 {"isa", info_.isa}};
    if (tel_) {
      const Sample s = tel_->SampleNow();
      for (const auto& [k, v] : s.values)
        if (k == "mem.rss_kb") load["rss_kb"] = v;
        else if (k == "mem.hwm_kb") load["hwm_kb"] = v;
    }
    out_.Write(load);
  }

  int failed_runs = 0;
  for (const RunConfig& run : spec_.runs) {
    if (Cancelled()) return fatal(CancelStatus(cancel_));
    const Status s = in_process ? RunInProcess(run) : RunExternal(run);
    if (s.ok()) continue;
    if (s.code() == StatusCode::kCancelled ||
        (cancel_.requested && s.code() == StatusCode::kDeadlineExceeded))
      return fatal(s);
    // The run failed; the next one may well succeed (a smaller context, a
    // different thread count).
    ++errors_;
    ++failed_runs;
    out_.Write(ErrorEvent(s, run.run_id, -1, false));
  }
  return failed_runs ? finish("failed", kRtExitFailed) : finish("ok", kRtExitOk);
}

}  // namespace

namespace {

json HelloJson(const protocol::TelemetrySpec& ts, const Telemetry* tel) {
  const BuildInfo& b = GetBuildInfo();
  json hello = {{"ev", "hello"},
                {"t_ns", MonotonicNs()},
                {"schema", protocol::kRunSpecSchema},
                {"pid", static_cast<int>(::getpid())},
                {"runtime",
                 {{"version", std::string(b.version)},
                  {"git_commit", std::string(b.git_commit)},
                  {"build_type", std::string(b.build_type)},
                  {"compiler", std::string(b.compiler)},
                  {"flags", std::string(b.flags)},
                  {"arch", std::string(b.arch)},
                  {"sanitizers", std::string(b.sanitizers)},
                  {"asserts", b.asserts}}},
                {"cpu",
                 {{"features", CpuFeaturesString(GetCpuFeatures())},
                  {"kernel_isa", kBackends[0].build().isa}}},
                {"device", DeviceFacts(ts.proc_root)}};
  // Every engine this binary can run, with what it is: the llama.cpp
  // commit and the CPU features ggml was built for, our kernels' variant.
  json names = json::array(), engines = json::object();
  for (const BackendEntry& b : kBackends) {
    const backends::EngineBuild e = b.build();
    names.push_back(b.name);
    json one = {{"isa", e.isa}};
    if (!e.version.empty()) one["version"] = e.version;
    if (!e.flags.empty()) one["flags"] = e.flags;
    engines[b.name] = one;
  }
  names.push_back("command");
  hello["backends"] = names;
  hello["engines"] = engines;
  hello["telemetry"] = tel ? tel->Describe() : json(nullptr);
  return hello;
}

}  // namespace

json HelloEvent(const protocol::TelemetrySpec& ts) {
  std::unique_ptr<Telemetry> tel;
  if (ts.enabled)
    if (auto t = Telemetry::Create(ts); t.ok()) tel = std::move(*t);
  return HelloJson(ts, tel.get());
}

std::string EnginesSummary() {
  std::string s;
  for (const BackendEntry& b : kBackends) {
    const backends::EngineBuild e = b.build();
    s += std::string("engine ") + b.name + ": ";
    s += e.version.empty() ? e.isa : e.version + " (" + e.isa + ")";
    s += "\n";
  }
  return s;
}

std::string ThirdPartyNotices() {
  std::string s;
  for (const BackendEntry& b : kBackends) {
    const backends::EngineBuild e = b.build();
    if (e.license.empty()) continue;
    s += std::string("== ") + b.name + (e.version.empty() ? "" : " (" + e.version + ")") +
         "\n" + std::string(e.license) + "\n";
  }
  return s;
}

int ExecuteSpec(const RunSpec& spec, EventWriter& out, CancelFlag& cancel) {
  Executor e(spec, out, cancel);
  return e.Run();
}

}  // namespace edgebench::runtime
