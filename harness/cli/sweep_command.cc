// `edgebench sweep FILE` and `edgebench run -d DEVICE -m MODEL ...`: plan a
// sweep, run it on its devices into the store, and print what it measured.
#include <unistd.h>

#include <atomic>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/exit_code.h"
#include "harness/cli/command.h"
#include "harness/cli/format.h"
#include "harness/cli/interrupt.h"
#include "harness/cli/progress.h"
#include "harness/devices/devices.h"
#include "harness/executor/executor.h"
#include "harness/sweep/plan.h"
#include "harness/sweep/spec.h"
#include "reporters/report.h"
#include "reporters/side_by_side.h"
#include "reporters/stats.h"
#include "store/store.h"

namespace edgebench::cli {
namespace {

namespace fs = std::filesystem;
using harness::sweep::Plan;
using harness::sweep::PlanOptions;
using harness::sweep::SweepSpec;
using nlohmann::json;

struct CommonArgs {
  std::string db = kDefaultDbPath;
  std::string devices_file;
  std::string runtime;
  bool dry_run = false;
  bool interleave = false;
  std::string shard;  // "I/N"
  std::vector<std::string> labels;  // k=v
  std::string progress = "auto";    // auto, live, plain, none
  int retries = harness::RetryPolicy{}.attempts;
};

struct SweepArgs {
  CommonArgs common;
  std::string file;
  std::string resume;
};

struct RunArgs {
  CommonArgs common;
  harness::sweep::RunFlags flags;
  double timeout_s = 0;
};

Result<PlanOptions> ParsePlanOptions(const CommonArgs& a) {
  PlanOptions o;
  o.interleave = a.interleave;
  if (!a.shard.empty()) {
    int i = 0, n = 0;
    char extra = 0;
    if (std::sscanf(a.shard.c_str(), "%d/%d%c", &i, &n, &extra) != 2 || n < 1 || i < 1 ||
        i > n)
      return InvalidArgumentError("--shard: expected I/N with 1 <= I <= N, got \"" + a.shard +
                                  "\"");
    o.shard_index = i;
    o.shard_count = n;
  }
  return o;
}

Status ApplyLabels(const std::vector<std::string>& labels, SweepSpec* spec) {
  for (const std::string& l : labels) {
    const size_t eq = l.find('=');
    if (eq == std::string::npos || eq == 0)
      return InvalidArgumentError("--label: expected KEY=VALUE, got \"" + l + "\"");
    spec->labels[l.substr(0, eq)] = l.substr(eq + 1);
  }
  return Status::Ok();
}

// What the store keeps of a sweep, enough to plan it again on --resume.
// The devices file is kept by path: a resumed sweep finds its devices even
// when resumed from another folder.
json StoredSpec(const SweepSpec& spec, const PlanOptions& o, const std::string& devices_file) {
  return {{"spec", harness::sweep::ToJson(spec)},
          {"plan",
           {{"interleave", o.interleave},
            {"shard_index", o.shard_index},
            {"shard_count", o.shard_count},
            {"seed", o.seed}}},
          {"devices_file", devices_file.empty()
                               ? std::string()
                               : fs::absolute(devices_file).lexically_normal().string()}};
}

// ---------------------------------------------------------------------------
// The result table, llama-bench style: one row per configuration and test
// (pp = prefill, tg = decode), mean ± standard deviation of the measured
// repetitions.

std::string MeanSd(const std::vector<double>& v) {
  if (v.empty()) return "-";
  const reporters::Moments m = reporters::ComputeMoments(v);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f ± %.2f", m.mean, m.sd);
  return buf;
}

std::string ResultTable(const std::vector<reporters::ReportRow>& rows) {
  static const std::vector<double> kNone;
  std::vector<std::vector<std::string>> cells = {
      {"device", "model", "size", "backend", "threads", "test", "t/s", "ttft ms", "n"}};
  for (const reporters::ReportRow& r : rows) {
    const auto values = [&](const char* metric) -> const std::vector<double>& {
      auto it = r.values.find(metric);
      return it == r.values.end() ? kNone : it->second;
    };
    const std::vector<double>& prefill = values("prefill_tps");
    const std::vector<double>& decode = values("decode_tps");
    const std::string model = r.model + (r.quant.empty() ? "" : " " + r.quant);
    const std::string size = r.model_bytes ? HumanBytes(r.model_bytes) : "";
    const std::string depth = r.n_depth ? " @ d" + std::to_string(r.n_depth) : "";
    const std::string n = std::to_string(std::max(prefill.size(), decode.size()));
    auto row = [&](const std::string& test, const std::string& tps, const std::string& ttft) {
      cells.push_back({r.device, model, size, r.backend, std::to_string(r.threads), test, tps,
                       ttft, n});
    };
    const auto flagged = [&](const char* flag) {
      return std::find(r.flags.begin(), r.flags.end(), flag) != r.flags.end();
    };
    if (flagged("failed")) {
      row("failed", r.error.substr(0, 60), "");
      continue;
    }
    if (flagged("interrupted")) {
      row("interrupted", "", "");
      continue;
    }
    if (r.n_prompt > 0)
      row("pp" + std::to_string(r.n_prompt) + depth, MeanSd(prefill), MeanSd(values("ttft_ms")));
    if (r.n_gen > 0) row("tg" + std::to_string(r.n_gen) + depth, MeanSd(decode), "");
  }
  std::vector<size_t> width(cells[0].size(), 3);
  // "±" is two bytes and one column.
  auto columns = [](const std::string& s) {
    size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
  };
  for (const auto& row : cells)
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], columns(row[i]));
  const std::vector<bool> right = {false, false, true, false, true, true, true, true, true};
  std::string out;
  for (size_t k = 0; k < cells.size(); ++k) {
    out += "|";
    for (size_t i = 0; i < cells[k].size(); ++i) {
      const std::string pad(width[i] - columns(cells[k][i]), ' ');
      out += " " + (right[i] ? pad + cells[k][i] : cells[k][i] + pad) + " |";
    }
    out += "\n";
    if (k == 0) {
      out += "|";
      for (size_t i = 0; i < width.size(); ++i)
        out += (right[i] ? " " + std::string(width[i] - 1, '-') + ": |"
                         : " " + std::string(width[i], '-') + " |");
      out += "\n";
    }
  }
  return out;
}

// ---------------------------------------------------------------------------

Result<std::map<std::string, harness::DeviceConfig>> ResolveDevices(
    const SweepSpec& spec, const std::string& devices_file) {
  std::map<std::string, harness::DeviceConfig> out;
  for (const std::string& id : spec.devices) {
    auto e = harness::ResolveDevice(devices_file, id);
    if (!e.ok()) return e.status();
    out[id] = e->config;
  }
  return out;
}

int Execute(const SweepSpec& spec, const PlanOptions& po, const CommonArgs& a,
            const std::string& beside_dir, const store::StoredSweep* resume,
            const std::string& resume_devices_file = {}) {
  auto plan = harness::sweep::MakePlan(spec, po);
  if (!plan.ok()) return ReportError(plan.status());
  if (a.dry_run) {
    std::fputs(harness::sweep::DescribePlan(*plan).c_str(), stdout);
    const double s = harness::sweep::EstimateSeconds(*plan, {});
    std::printf("estimated duration: %s (a phone-class guess; devices one after another)\n",
                harness::sweep::FormatSeconds(s).c_str());
    return kExitOk;
  }
  std::string devices_file = harness::FindDevicesFile(a.devices_file, beside_dir);
  if (resume && a.devices_file.empty() && !resume_devices_file.empty() &&
      fs::exists(resume_devices_file))
    devices_file = resume_devices_file;
  auto devices = ResolveDevices(spec, devices_file);
  if (!devices.ok()) return ReportError(devices.status());
  std::unique_ptr<store::Store> owned;
  auto st = store::Store::Open(a.db);
  if (!st.ok()) return ReportError(st.status());
  owned = std::move(*st);

  harness::ExecutorOptions eo;
  eo.store = owned.get();
  eo.devices = std::move(*devices);
  eo.runtime = a.runtime;
  eo.retry.attempts = a.retries;
  eo.spec_json = StoredSpec(spec, po, devices_file).dump();
  if (resume) {
    eo.resume_sweep_id = resume->id;
    eo.resume_sweep_uuid = resume->record.uuid;
  }
  const bool tty = ::isatty(STDERR_FILENO);
  std::unique_ptr<harness::ProgressSink> progress;
  if (a.progress != "none")
    progress = NewProgress(a.progress == "live" || (a.progress == "auto" && tty), stderr);
  eo.progress = progress.get();
  if (!resume && a.progress != "none")
    std::fprintf(stderr, "%s sweep %s: %zu configurations on %zu device(s), results in %s\n",
                 UtcTimestamp().c_str(), spec.name.c_str(), plan->configs.size(),
                 spec.devices.size(), a.db.c_str());
  // Ctrl-C / SIGTERM: the first stops the sweep cleanly (the executor kills
  // the device processes and marks the sweep interrupted); a second quits
  // at once.
  std::atomic<bool> stop{false};
  Result<harness::SweepResult> res = [&] {
    SignalWatcher watcher([&stop](int count) {
      if (count > 1) {
        std::fputs("\nedgebench: second interrupt, quitting now\n", stderr);
        std::_Exit(130);
      }
      stop = true;
      std::fputs("\nedgebench: stopping: killing the runtime on the devices; what finished "
                 "is stored (Ctrl-C again to quit at once)\n",
                 stderr);
    });
    eo.cancel = &stop;
    return harness::ExecuteSweep(*plan, eo);
  }();
  progress.reset();  // the final frame, before the table
  if (!res.ok()) return ReportError(res.status());

  reporters::LoadOptions lo;
  lo.timeline = false;
  lo.itl = false;
  auto rows = reporters::LoadReport(*owned, reporters::Selector{.sweep = res->sweep_uuid}, lo);
  if (!rows.ok()) return ReportError(rows.status());
  std::printf("%s", ResultTable(rows->rows).c_str());
  // Two engines in one process (native, llamacpp): the same configurations
  // side by side, with the ratio and its CI a reader would otherwise work out.
  std::set<std::string> in_process;
  for (const reporters::ReportRow& r : rows->rows)
    if (r.backend != "command") in_process.insert(r.backend);
  if (in_process.size() > 1) {
    // The runs are stored whatever happens here: a table that cannot be
    // made is a warning, not the sweep's failure.
    auto side = reporters::MakeSideBySide(*rows);
    if (side.ok())
      std::printf("\n%s", reporters::RenderSideBySideMarkdown(*side).c_str());
    else
      std::fprintf(stderr, "warning: side-by-side table: %s\n",
                   side.status().ToString().c_str());
  }
  std::printf("\nsweep %s (%s): %s; %zu ok, %zu failed", res->sweep_uuid.c_str(),
              spec.name.c_str(), std::string(store::SweepStatusName(res->status)).c_str(),
              res->configs_ok, res->configs_failed);
  if (res->configs_skipped) std::printf(", %zu already done", res->configs_skipped);
  if (res->configs_interrupted) std::printf(", %zu interrupted", res->configs_interrupted);
  std::printf("; %zu repetitions stored in %s\n", res->reps_stored, a.db.c_str());
  for (const harness::ConfigFailure& f : res->failures)
    std::fprintf(stderr, "failed: %s: %s: %s\n", f.config_key.c_str(), f.code.c_str(),
                 f.message.c_str());
  if (res->status == store::SweepStatus::kInterrupted) {
    std::fprintf(stderr, "edgebench: interrupted; finish it with: edgebench sweep --resume %s%s\n",
                 res->sweep_uuid.c_str(),
                 a.db == kDefaultDbPath ? "" : (" --db " + a.db).c_str());
    return kExitFailure;
  }
  return res->configs_failed ? kExitFailure : kExitOk;
}

int Sweep(const SweepArgs& a) {
  if (a.resume.empty()) {
    if (a.file.empty()) return ReportError(InvalidArgumentError("sweep: give a sweep FILE, or "
                                                                "--resume SWEEP_ID"));
    auto spec = harness::sweep::LoadSweepFile(a.file);
    if (!spec.ok()) return ReportError(spec.status());
    if (Status s = ApplyLabels(a.common.labels, &*spec); !s.ok()) return ReportError(s);
    // Stored absolute: a resumed sweep finds its models from any folder.
    for (harness::sweep::ModelSpec& m : spec->models)
      m.path = fs::absolute(m.path).lexically_normal().string();
    auto po = ParsePlanOptions(a.common);
    if (!po.ok()) return ReportError(po.status());
    return Execute(*spec, *po, a.common, fs::path(a.file).parent_path().string(), nullptr);
  }
  if (!a.common.shard.empty() || a.common.interleave || !a.common.labels.empty())
    return ReportError(InvalidArgumentError(
        "--resume: the shard, order and labels are the resumed sweep's; leave them out"));
  auto st = store::Store::Open(a.common.db, {.create_if_missing = false});
  if (!st.ok()) return ReportError(st.status());
  auto found = (*st)->FindSweep(a.resume);
  if (!found.ok()) return ReportError(found.status());
  st->reset();
  const json stored = json::parse(found->record.spec_json, nullptr, false);
  if (stored.is_discarded() || !stored.is_object() || !stored.contains("spec") ||
      !stored.contains("plan"))
    return ReportError(DataLossError(a.common.db + ": sweep " + found->record.uuid +
                                     " has no stored plan to resume"));
  auto spec = harness::sweep::ParseSweepSpec(stored["spec"], "");
  if (!spec.ok())
    return ReportError(spec.status().WithContext(a.common.db + ": sweep " +
                                                 found->record.uuid));
  PlanOptions po;
  const json& p = stored["plan"];
  po.interleave = p.value("interleave", false);
  po.shard_index = p.value("shard_index", 1);
  po.shard_count = p.value("shard_count", 1);
  po.seed = p.value("seed", uint64_t{0});
  if (!a.file.empty()) {
    auto file = harness::sweep::LoadSweepFile(a.file);
    if (!file.ok()) return ReportError(file.status());
    file->labels = spec->labels;
    for (harness::sweep::ModelSpec& m : file->models)
      m.path = fs::absolute(m.path).lexically_normal().string();
    if (harness::sweep::ToJson(*file) != harness::sweep::ToJson(*spec))
      return ReportError(FailedPreconditionError(
          a.file + " is not the sweep " + found->record.uuid +
          " ran; resume without the file, or start a new sweep"));
  }
  std::fprintf(stderr, "%s resuming sweep %s (%s, %s)\n", UtcTimestamp().c_str(),
               found->record.uuid.c_str(), found->record.name.c_str(),
               std::string(store::SweepStatusName(found->status)).c_str());
  const std::string beside = a.file.empty() ? "." : fs::path(a.file).parent_path().string();
  return Execute(*spec, po, a.common, beside, &*found, stored.value("devices_file", ""));
}

int RunCmd(RunArgs a) {
  for (std::string& m : a.flags.models)
    if (!m.empty()) m = fs::absolute(m).lexically_normal().string();
  auto spec = harness::sweep::SweepFromRunFlags(a.flags);
  if (!spec.ok()) return ReportError(spec.status());
  spec->timeout_s = a.timeout_s;
  if (Status s = ApplyLabels(a.common.labels, &*spec); !s.ok()) return ReportError(s);
  auto po = ParsePlanOptions(a.common);
  if (!po.ok()) return ReportError(po.status());
  return Execute(*spec, *po, a.common, ".", nullptr);
}

void AddCommon(CLI::App* app, CommonArgs& a) {
  app->add_option("--db", a.db, "Store file")->capture_default_str();
  app->add_option("--devices", a.devices_file,
                  "Devices file (default: devices.json beside the sweep file or here, else "
                  "~/.config/edgebench/devices.json)");
  app->add_option("--runtime", a.runtime,
                  "The edgebench-rt to deploy (default: the build for each device's ABI)");
  app->add_flag("--dry-run", a.dry_run, "Print the plan and its estimated duration; run nothing");
  app->add_flag("--interleave", a.interleave,
                "Spread the repetitions of the configurations over time (rounds), so slow "
                "drift does not bias one configuration");
  app->add_option("--shard", a.shard, "Run shard I of N (1-based), e.g. 2/3");
  app->add_option("--label", a.labels, "KEY=VALUE stored with the sweep (repeatable)");
  app->add_option("--retries", a.retries,
                  "Tries of a step that fails for want of the device (connection lost) before "
                  "the device counts as lost; the backoff doubles from 1 s")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  app->add_option("--progress", a.progress, "auto (live on a terminal), live, plain, none")
      ->check(CLI::IsMember({"auto", "live", "plain", "none"}))
      ->capture_default_str();
}

}  // namespace

void AddSweepCommand(CLI::App& app, Action* action) {
  auto s = std::make_shared<SweepArgs>();
  CLI::App* sweep = app.add_subcommand(
      "sweep", "Run a sweep file (devices x models x backends x axes) into the store");
  sweep->add_option("FILE", s->file, "Sweep file (JSON, comments allowed)");
  sweep->add_option("--resume", s->resume,
                    "Finish a stored sweep (its UUID, 8+ characters of it, or \"last\"): "
                    "repetitions already stored are not run again");
  AddCommon(sweep, s->common);
  sweep->final_callback([s, action] { *action = [s] { return Sweep(*s); }; });

  auto r = std::make_shared<RunArgs>();
  CLI::App* run = app.add_subcommand(
      "run", "Measure on one device, llama-bench style: -d DEVICE -m MODEL -p 512 -n 128 -t 4");
  harness::sweep::RunFlags& f = r->flags;
  run->add_option("-d,--device", f.device, "Device name, key (ssh:pi5) or adb serial")
      ->required();
  run->add_option("-m,--model", f.models, "Model file(s), comma-separated")
      ->delimiter(',')
      ->required();
  run->add_option("-p,--n-prompt", f.n_prompt, "Prompt tokens (list)")->delimiter(',');
  run->add_option("-n,--n-gen", f.n_gen, "Generated tokens (list)")->delimiter(',');
  run->add_option("-t,--threads", f.threads, "Threads (list)")->delimiter(',');
  run->add_option("--depth", f.n_depth, "Tokens already in the context (list)")->delimiter(',');
  run->add_option("-b,--batch", f.n_batch, "Batch size (list)")->delimiter(',');
  run->add_option("-c,--ctx", f.n_ctx, "Context size, 0: fit (list)")->delimiter(',');
  run->add_option("--cpus", f.cpus, "CPU affinity: big, little or 0,2,4-7 (repeat for a list)");
  run->add_option("--kv-type", f.kv_type, "KV cache type f16|f32 (list)")->delimiter(',');
  run->add_option("--backend", f.backends, "native|llamacpp|command (list)")->delimiter(',');
  run->add_option("-r,--repetitions", f.repetitions, "Measured repetitions")
      ->capture_default_str();
  run->add_option("--warmup", f.warmup, "Warmup repetitions (not counted)")
      ->capture_default_str();
  run->add_option("--timeout", r->timeout_s, "Seconds per repetition, 0: none");
  AddCommon(run, r->common);
  run->final_callback([r, action] { *action = [r] { return RunCmd(*r); }; });
}

}  // namespace edgebench::cli
