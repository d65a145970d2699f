// The real edgebench-rt binary on a tiny synthetic model: the event stream's
// structure and invariants, metrics recomputed from raw events, and every
// failure path (missing/corrupt model, not enough memory, context
// overflow, SIGTERM, SIGKILL, a crash).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "backends/native/synth/synth.h"
#include "protocol/events.h"
#include "protocol/metrics.h"
#include "protocol/rep_metrics.h"
#include "tests/testing/testing.h"

namespace edgebench::runtime {
namespace {

using nlohmann::json;
using testing::ProgramResult;
using testing::TempDir;

std::string TinyModel() {
  static TempDir* dir = new TempDir();  // lives for the whole program
  static const std::string path = [] {
    const std::string p = dir->File("tiny-q8_0.gguf");
    auto r = native::SynthesizeModel({.preset = "tiny", .type = "q8_0", .seed = 1}, p);
    if (!r.ok()) std::abort();
    return p;
  }();
  return path;
}

std::string Runtime() { return testing::BinDir() + "/edgebench-rt"; }

std::vector<json> ParseStream(const std::string& out) {
  std::vector<json> events;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    json e = json::parse(line, nullptr, false);
    EXPECT_FALSE(e.is_discarded()) << "not JSON: " << line;
    if (!e.is_discarded()) events.push_back(e);
  }
  return events;
}

ProgramResult RunSpec(const json& spec) {
  return testing::RunProgram({Runtime(), "-"}, spec.dump());
}

json BaseSpec(const std::string& backend = "native") {
  return {{"schema", 1},
          {"backend", backend},
          {"model", TinyModel()},
          {"threads", 2},
          {"n_prompt", 32},
          {"n_gen", 16},
          {"warmup", 1},
          {"repetitions", 2},
          {"telemetry", {{"period_ms", 5}}}};
}

// Every structural rule of protocol/events.h, and the metrics of every
// repetition recomputed from its raw events. Returns the rep_end events.
//
// `rel_tol`: 0 demands bit-equal metrics (the host recomputing its own
// stream). A stream from another architecture may differ in the last bits
// because GCC contracts a*b+c into one fused multiply-add on aarch64.
std::vector<json> CheckStream(const std::vector<json>& ev, const json& spec,
                              double rel_tol = 0) {
  std::vector<json> rep_ends;
  if (ev.empty()) {
    ADD_FAILURE() << "no events";
    return rep_ends;
  }
  EXPECT_EQ(ev.front()["ev"], "hello");
  EXPECT_EQ(ev.back()["ev"], "done");
  // One clock. Events are written in time order; samples are written
  // between repetitions with the times they were taken, so they are in
  // order among themselves (and never empty).
  int64_t last_event = 0, last_sample = 0;
  for (const json& e : ev) {
    EXPECT_TRUE(protocol::IsEventKind(e["ev"].get<std::string>())) << e;
    EXPECT_TRUE(e["t_ns"].is_number_integer()) << e;
    int64_t& last = e["ev"] == "sample" ? last_sample : last_event;
    EXPECT_GE(e["t_ns"].get<int64_t>(), last) << e;
    last = e["t_ns"].get<int64_t>();
    if (e["ev"] == "sample") {
      EXPECT_FALSE(e["v"].empty()) << e;
    }
  }
  // Walk the repetitions.
  std::optional<protocol::Sample> opening;
  std::vector<protocol::Sample> in_rep;
  json rep_start, prefill, decode;
  enum { kOutside, kStarted, kDecoded } state = kOutside;
  for (const json& e : ev) {
    const std::string k = e["ev"];
    if (k == "sample") {
      auto s = protocol::SampleFromJson(e);
      EXPECT_TRUE(s.ok());
      if (state == kOutside) opening = *s;
      if (state == kDecoded) in_rep.push_back(*s);
      EXPECT_NE(state, kStarted) << "a sample written during a repetition";
    } else if (k == "error") {
      // A run that fails ends its unfinished repetition.
      state = kOutside;
      opening.reset();
    } else if (k == "rep_start") {
      EXPECT_EQ(state, kOutside);
      state = kStarted;
      rep_start = e;
      in_rep.clear();
    } else if (k == "prefill") {
      EXPECT_EQ(state, kStarted);
      prefill = e;
    } else if (k == "decode") {
      EXPECT_EQ(state, kStarted);
      state = kDecoded;
      decode = e;
    } else if (k == "rep_end") {
      EXPECT_EQ(state, kDecoded);
      state = kOutside;
      EXPECT_EQ(e["run_id"], rep_start["run_id"]);
      EXPECT_EQ(e["rep"], rep_start["rep"]);
      const auto& tok = decode["token_ns"];
      EXPECT_EQ(tok.size(), e["n_gen"].get<size_t>());
      EXPECT_LE(prefill["t_request_ns"].get<int64_t>(), prefill["t0_ns"].get<int64_t>());
      EXPECT_LT(prefill["t0_ns"].get<int64_t>(), prefill["t1_ns"].get<int64_t>());
      if (!tok.empty()) {
        EXPECT_LE(prefill["t1_ns"].get<int64_t>(), tok[0].get<int64_t>());
      }
      for (size_t i = 1; i < tok.size(); ++i)
        EXPECT_LT(tok[i - 1].get<int64_t>(), tok[i].get<int64_t>());
      // The metrics again, from the raw events alone.
      auto timing = protocol::RepTimingFromEvents(rep_start, prefill, decode, e);
      EXPECT_TRUE(timing.ok()) << timing.status().ToString();
      std::vector<protocol::Sample> samples;
      if (opening) samples.push_back(*opening);
      samples.insert(samples.end(), in_rep.begin(), in_rep.end());
      const auto recomputed = protocol::ComputeRepMetrics(*timing, samples);
      EXPECT_EQ(e["metrics"].size(), recomputed.size()) << e["metrics"];
      for (const auto& [name, value] : recomputed) {
        EXPECT_NE(protocol::FindMetricField(name), nullptr) << name;
        EXPECT_TRUE(e["metrics"].contains(name)) << name;
        if (e["metrics"].contains(name)) {
          if (rel_tol == 0) {
            EXPECT_EQ(e["metrics"][name].get<double>(), value) << name;
          } else {
            EXPECT_NEAR(e["metrics"][name].get<double>(), value, std::fabs(value) * rel_tol)
                << name;
          }
        }
      }
      rep_ends.push_back(e);
      opening.reset();
    }
  }
  EXPECT_EQ(state, kOutside) << "stream ended inside a repetition";
  (void)spec;
  return rep_ends;
}

// The in-process engines run through the same tests: one clock, one
// event order, the same metric definitions and failure handling.
class RuntimeEngines : public ::testing::TestWithParam<std::string> {};

TEST_P(RuntimeEngines, GoldenStreamForTinyModel) {
  const json spec = BaseSpec(GetParam());
  ProgramResult r = RunSpec(spec);
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  const std::vector<json> ev = ParseStream(r.out);
  const std::vector<json> reps = CheckStream(ev, spec);
  ASSERT_EQ(reps.size(), 3u);  // 1 warmup + 2 measured
  EXPECT_TRUE(reps[0]["warmup"].get<bool>());
  EXPECT_FALSE(reps[1]["warmup"].get<bool>());
  for (const json& rep : reps) {
    EXPECT_EQ(rep["n_prompt"], 32);
    EXPECT_EQ(rep["n_gen"], 16);
    for (const char* m : {"ttft_ms", "prefill_tps", "decode_tps", "itl_p50_ms", "itl_p99_ms",
                          "peak_rss_mb", "pss_mb"})
      EXPECT_TRUE(rep["metrics"].contains(m)) << m << " in " << rep["metrics"];
    // No energy source here (FACTS.md): energy is absent, never zero.
    EXPECT_FALSE(rep["metrics"].contains("energy_j"));
  }
  const json& hello = ev.front();
  EXPECT_EQ(hello["schema"], 1);
  EXPECT_FALSE(hello["runtime"]["version"].get<std::string>().empty());
  EXPECT_TRUE(hello["telemetry"]["sources"].is_object());
  const json& load = ev[1];
  EXPECT_EQ(load["ev"], "load");
  EXPECT_EQ(load["model"]["arch"], "llama");
  EXPECT_EQ(load["model"]["quant"], "Q8_0");
  EXPECT_GT(load["load_ms"].get<double>(), 0);
  EXPECT_GT(load["rss_kb"].get<double>(), 0);
  EXPECT_EQ(ev.back()["status"], "ok");
  EXPECT_EQ(ev.back()["reps"], 3);
}

TEST_P(RuntimeEngines, SeveralRunsShareOneLoad) {
  json spec = BaseSpec(GetParam());
  spec["warmup"] = 0;
  spec["repetitions"] = 1;
  spec["runs"] = json::array({{{"run_id", "a"}, {"threads", 1}},
                              {{"run_id", "b"}, {"threads", 2}, {"n_depth", 40}},
                              {{"run_id", "c"},
                               {"n_prompt", 0},
                               {"prompt", {{"kind", "text"}, {"text", "Hello world, hello."}}}},
                              {{"run_id", "d"}, {"n_gen", 1}, {"kv_type", "f32"}}});
  ProgramResult r = RunSpec(spec);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<json> ev = ParseStream(r.out);
  const std::vector<json> reps = CheckStream(ev, spec);
  ASSERT_EQ(reps.size(), 4u);
  int loads = 0;
  for (const json& e : ev) loads += e["ev"] == "load";
  EXPECT_EQ(loads, 1);
  EXPECT_EQ(reps[0]["run_id"], "a");
  EXPECT_EQ(reps[1]["n_depth"], 40);
  // The text prompt, tokenized as it comes: BOS + its tokens.
  EXPECT_GT(reps[2]["n_prompt"].get<int>(), 3);
  EXPECT_LT(reps[2]["n_prompt"].get<int>(), 12);
  // One generated token: no decode rate (it needs two), but a TTFT.
  EXPECT_FALSE(reps[3]["metrics"].contains("decode_tps"));
  EXPECT_TRUE(reps[3]["metrics"].contains("ttft_ms"));
}

// The events of one kind, in order.
std::vector<json> Events(const std::vector<json>& ev, const char* kind) {
  std::vector<json> out;
  for (const json& e : ev)
    if (e["ev"] == kind) out.push_back(e);
  return out;
}

// The error event of a stream, checked to be there exactly once.
json TheError(const std::vector<json>& ev) {
  json found;
  int n = 0;
  for (const json& e : ev)
    if (e["ev"] == "error") {
      found = e;
      ++n;
    }
  EXPECT_EQ(n, 1);
  return found;
}

TEST_P(RuntimeEngines, MissingModel) {
  json spec = BaseSpec(GetParam());
  spec["model"] = "/nonexistent/model.gguf";
  ProgramResult r = RunSpec(spec);
  EXPECT_EQ(r.exit_code, 1);
  const std::vector<json> ev = ParseStream(r.out);
  const json e = TheError(ev);
  EXPECT_EQ(e["code"], "not_found");
  EXPECT_TRUE(e["fatal"].get<bool>());
  EXPECT_NE(e["message"].get<std::string>().find("/nonexistent/model.gguf"), std::string::npos);
  EXPECT_EQ(ev.back()["status"], "failed");
}

TEST_P(RuntimeEngines, CorruptModel) {
  TempDir dir;
  const std::string bad = dir.File("bad.gguf");
  std::string bytes = testing::ReadFile(TinyModel()).substr(0, 5000);  // truncated
  testing::WriteFile(bad, bytes);
  json spec = BaseSpec(GetParam());
  spec["model"] = bad;
  ProgramResult r = RunSpec(spec);
  EXPECT_EQ(r.exit_code, 1);
  const json e = TheError(ParseStream(r.out));
  EXPECT_EQ(e["code"], "data_loss");
  EXPECT_NE(e["message"].get<std::string>().find(bad + ": at byte"), std::string::npos) << e;
}

TEST(Runtime, NotEnoughMemoryIsCheckedBeforeLoading) {
  TempDir dir;
  std::filesystem::create_directories(dir.File("proc"));
  testing::WriteFile(dir.File("proc/meminfo"),
                     "MemTotal:        2048000 kB\nMemFree:           10000 kB\n"
                     "MemAvailable:       4096 kB\n");
  json spec = BaseSpec();
  spec["telemetry"]["proc_root"] = dir.File("proc");
  ProgramResult r = RunSpec(spec);
  EXPECT_EQ(r.exit_code, 1);
  const std::vector<json> ev = ParseStream(r.out);
  const json e = TheError(ev);
  EXPECT_EQ(e["code"], "resource_exhausted");
  EXPECT_NE(e["message"].get<std::string>().find("MemAvailable is 4 MiB"), std::string::npos) << e;
  for (const json& x : ev) EXPECT_NE(x["ev"], "load");  // refused before loading
}

TEST_P(RuntimeEngines, ContextOverflowFailsThatRunOnly) {
  json spec = BaseSpec(GetParam());
  spec["warmup"] = 0;
  spec["repetitions"] = 1;
  spec["runs"] = json::array({{{"run_id", "small"}, {"n_ctx", 20}},  // 32 + 16 > 20
                              {{"run_id", "fine"}}});
  ProgramResult r = RunSpec(spec);
  EXPECT_EQ(r.exit_code, 1);  // one run failed
  const std::vector<json> ev = ParseStream(r.out);
  const json e = TheError(ev);
  EXPECT_EQ(e["code"], "out_of_range");
  EXPECT_EQ(e["run_id"], "small");
  EXPECT_FALSE(e["fatal"].get<bool>());
  EXPECT_NE(e["message"].get<std::string>().find("context overflow"), std::string::npos);
  const std::vector<json> reps = CheckStream(ev, spec);
  ASSERT_EQ(reps.size(), 1u);
  EXPECT_EQ(reps[0]["run_id"], "fine");
  EXPECT_EQ(ev.back()["status"], "failed");
}

TEST(Runtime, InvalidSpecNamesTheField) {
  json spec = BaseSpec();
  spec["runs"] = json::array({{{"threads", "four"}}});
  ProgramResult r = RunSpec(spec);
  EXPECT_EQ(r.exit_code, 2);
  const json e = TheError(ParseStream(r.out));
  EXPECT_EQ(e["message"], "/runs/0/threads: expected an integer in 1..1024, got \"four\"");
  EXPECT_NE(r.err.find("/runs/0/threads"), std::string::npos);
}

// Starts the runtime on a long spec and returns its pid and stdout fd.
struct Child {
  pid_t pid;
  int out_fd;
};

Child StartLong(const json& spec, const std::string& spec_path) {
  testing::WriteFile(spec_path, spec.dump());
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::close(fds[0]);
    const std::string rt = Runtime();
    ::execl(rt.c_str(), rt.c_str(), spec_path.c_str(), nullptr);
    ::_exit(127);
  }
  ::close(fds[1]);
  return {pid, fds[0]};
}

// Reads the child's stdout until `stop(text so far)` or EOF.
std::string ReadUntil(int fd, const std::function<bool(const std::string&)>& stop) {
  std::string out;
  char buf[65536];
  while (!stop(out)) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

size_t Count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

json LongSpec(const std::string& backend) {
  json spec = BaseSpec(backend);
  spec["warmup"] = 0;
  spec["repetitions"] = 1000;
  spec["n_gen"] = 64;
  return spec;
}

TEST_P(RuntimeEngines, SigtermStopsCleanlyAfterFinishedRepetitions) {
  TempDir dir;
  Child c = StartLong(LongSpec(GetParam()), dir.File("spec.json"));
  std::string out = ReadUntil(c.out_fd, [](const std::string& s) {
    return Count(s, "\"ev\":\"rep_end\"") >= 3 && Count(s, "\"ev\":\"rep_start\"") > 3;
  });
  ::kill(c.pid, SIGTERM);
  out += ReadUntil(c.out_fd, [](const std::string&) { return false; });
  ::close(c.out_fd);
  int status = 0;
  ::waitpid(c.pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 3);
  const std::vector<json> ev = ParseStream(out);
  const json e = TheError(ev);
  EXPECT_EQ(e["code"], "cancelled");
  EXPECT_NE(e["message"].get<std::string>().find("SIGTERM"), std::string::npos);
  EXPECT_EQ(ev.back()["ev"], "done");
  EXPECT_EQ(ev.back()["status"], "interrupted");
  // The repetition that was cut has no rep_end; the ones before are whole.
  EXPECT_GE(Events(ev, "rep_end").size(), 3u);
}

TEST_P(RuntimeEngines, SigkillMidDecodeLeavesEveryFinishedRepetitionWhole) {
  TempDir dir;
  Child c = StartLong(LongSpec(GetParam()), dir.File("spec.json"));
  // Kill right after a rep_start: mid-prefill or mid-decode of the next.
  std::string out = ReadUntil(c.out_fd, [](const std::string& s) {
    return Count(s, "\"ev\":\"rep_end\"") >= 2 && Count(s, "\"ev\":\"rep_start\"") == 3;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ::kill(c.pid, SIGKILL);
  out += ReadUntil(c.out_fd, [](const std::string&) { return false; });
  ::close(c.out_fd);
  ::waitpid(c.pid, nullptr, 0);
  // Every line is a whole event; every rep_end has its prefill and decode
  // and checks out; the cut repetition left no rep_end.
  std::vector<json> ev = ParseStream(out);
  ASSERT_FALSE(ev.empty());
  EXPECT_NE(ev.back()["ev"], "done");
  // Trim the unfinished repetition, then the finished ones must pass every
  // structural check.
  while (!ev.empty() && ev.back()["ev"] != "rep_end") ev.pop_back();
  ev.push_back({{"ev", "done"}, {"t_ns", ev.back()["t_ns"]}});
  const std::vector<json> reps = CheckStream(ev, LongSpec(GetParam()));
  EXPECT_EQ(reps.size(), 2u);
}

TEST_P(RuntimeEngines, ACrashStillEndsTheStreamWithAnError) {
  TempDir dir;
  Child c = StartLong(LongSpec(GetParam()), dir.File("spec.json"));
  std::string out = ReadUntil(c.out_fd, [](const std::string& s) {
    return Count(s, "\"ev\":\"rep_end\"") >= 1;
  });
  ::kill(c.pid, SIGSEGV);  // as a crash in an engine would
  out += ReadUntil(c.out_fd, [](const std::string&) { return false; });
  ::close(c.out_fd);
  int status = 0;
  ::waitpid(c.pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status));
  const std::vector<json> ev = ParseStream(out);
  const json e = TheError(ev);
  EXPECT_EQ(e["code"], "internal");
  EXPECT_NE(e["message"].get<std::string>().find("signal 11 (SIGSEGV)"), std::string::npos);
}

#ifdef EDGEBENCH_AARCH64_RT
// The statically linked aarch64 runtime, as pushed to a phone or a board,
// under qemu: a valid stream, and the kernels its CPU model allows.
void CheckAarch64(const char* cpu, const char* want_isa) {
  json spec = BaseSpec();
  spec["repetitions"] = 1;
  spec["n_gen"] = 8;
  ProgramResult r =
      testing::RunProgram({EDGEBENCH_QEMU, "-cpu", cpu, EDGEBENCH_AARCH64_RT, "-"}, spec.dump());
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  const std::vector<json> ev = ParseStream(r.out);
  EXPECT_EQ(CheckStream(ev, spec, 1e-12).size(), 2u);
  EXPECT_EQ(ev.front()["runtime"]["arch"], "aarch64");
  EXPECT_EQ(ev.front()["cpu"]["kernel_isa"], want_isa) << ev.front()["cpu"];
  EXPECT_EQ(ev.back()["status"], "ok");
}

TEST(RuntimeAarch64, UnderQemuWithDotprod) { CheckAarch64("max", "neon_dotprod"); }
TEST(RuntimeAarch64, UnderQemuCortexA53WithoutDotprod) { CheckAarch64("cortex-a53", "neon"); }

#ifdef EDGEBENCH_AARCH64_WITH_LLAMACPP
TEST(RuntimeAarch64, LlamaCppUnderQemu) {
  json spec = BaseSpec("llamacpp");
  spec["repetitions"] = 1;
  spec["n_gen"] = 8;
  ProgramResult r = testing::RunProgram({EDGEBENCH_QEMU, "-cpu", "max", EDGEBENCH_AARCH64_RT, "-"},
                                        spec.dump());
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  const std::vector<json> ev = ParseStream(r.out);
  EXPECT_EQ(CheckStream(ev, spec, 1e-12).size(), 2u);
  EXPECT_NE(ev.front()["engines"]["llamacpp"]["isa"].get<std::string>().find("dotprod"),
            std::string::npos)
      << ev.front()["engines"];
}

// llama.cpp's aarch64 build needs dotprod: a Cortex-A53 gets an error that
// says so, not a SIGILL.
TEST(RuntimeAarch64, LlamaCppOnACpuWithoutDotprodIsAnError) {
  json spec = BaseSpec("llamacpp");
  spec["repetitions"] = 1;
  ProgramResult r = testing::RunProgram(
      {EDGEBENCH_QEMU, "-cpu", "cortex-a53", EDGEBENCH_AARCH64_RT, "-"}, spec.dump());
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const json e = TheError(ParseStream(r.out));
  EXPECT_EQ(e["code"], "failed_precondition");
  EXPECT_NE(e["message"].get<std::string>().find("dotprod"), std::string::npos) << e;
}
#endif
#endif

#ifdef EDGEBENCH_WITH_LLAMACPP
TEST(Runtime, HelloNamesTheLlamaCppBuild) {
  ProgramResult r = testing::RunProgram({Runtime(), "--hello"});
  ASSERT_EQ(r.exit_code, 0);
  const json hello = json::parse(r.out);
  EXPECT_EQ(hello["backends"], json({"native", "llamacpp", "command"}));
  const json& l = hello["engines"]["llamacpp"];
  EXPECT_EQ(l["version"].get<std::string>().size(), 40u) << l;
  EXPECT_NE(l["flags"].get<std::string>().find("GGML_OPENMP=OFF"), std::string::npos) << l;
  EXPECT_FALSE(hello["engines"]["native"]["isa"].get<std::string>().empty());
  EXPECT_EQ(hello["cpu"]["kernel_isa"], hello["engines"]["native"]["isa"]);
  r = testing::RunProgram({Runtime(), "--licenses"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("MIT License"), std::string::npos) << r.out.substr(0, 200);
  EXPECT_NE(r.out.find(l["version"].get<std::string>()), std::string::npos);
  r = testing::RunProgram({Runtime(), "--version"});
  EXPECT_NE(r.out.find("engine llamacpp: " + l["version"].get<std::string>()), std::string::npos)
      << r.out;
}
#else
TEST(Runtime, WithoutLlamaCppTheBackendIsAnErrorThatSaysHowToGetIt) {
  ProgramResult r = RunSpec(BaseSpec("llamacpp"));
  EXPECT_EQ(r.exit_code, 1);
  const json e = TheError(ParseStream(r.out));
  EXPECT_EQ(e["code"], "unimplemented");
  EXPECT_NE(e["message"].get<std::string>().find("scripts/setup.sh"), std::string::npos) << e;
  const json hello = json::parse(testing::RunProgram({Runtime(), "--hello"}).out);
  EXPECT_EQ(hello["backends"], json({"native", "command"}));
}
#endif

// The command backend, with real llama.cpp outputs (backends/command/
// testdata) standing in for the engine: llama-bench repeats inside one
// process, llama-perf output is one repetition per process.
TEST(Runtime, CommandBackendLlamaBench) {
  const json spec = {{"schema", 1},
                     {"backend", "command"},
                     {"model", TinyModel()},
                     {"command",
                      {{"argv", {"cat", "backends/command/testdata/bench_pp64_tg16_r3.stdout"}},
                       {"parser", "llama-bench-jsonl"}}},
                     {"n_prompt", 64},
                     {"n_gen", 16},
                     {"repetitions", 3},
                     {"telemetry", {{"period_ms", 5}}}};
  ProgramResult r = RunSpec(spec);
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  const std::vector<json> ev = ParseStream(r.out);
  const std::vector<json> reps = Events(ev, "rep_end");
  ASSERT_EQ(reps.size(), 3u);
  for (const json& rep : reps) {
    EXPECT_EQ(rep["timing"], "external");
    EXPECT_EQ(rep["n_prompt"], 64);
    EXPECT_EQ(rep["n_gen"], 16);
    EXPECT_GT(rep["metrics"]["prefill_tps"].get<double>(), 0);
    EXPECT_GT(rep["metrics"]["decode_tps"].get<double>(), 0);
  }
  EXPECT_EQ(ev.back()["status"], "ok");
}

TEST(Runtime, CommandBackendOneProcessPerRepetition) {
  const json spec = {{"schema", 1},
                     {"backend", "command"},
                     {"model", TinyModel()},
                     {"command",
                      {{"argv", {"cat", "backends/command/testdata/completion_n16.stderr"}},
                       {"parser", "llama-perf"}}},
                     {"warmup", 1},
                     {"repetitions", 2},
                     {"telemetry", {{"period_ms", 5}}}};
  ProgramResult r = RunSpec(spec);
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  const std::vector<json> ev = ParseStream(r.out);
  const std::vector<json> reps = Events(ev, "rep_end");
  ASSERT_EQ(reps.size(), 3u);
  EXPECT_TRUE(reps[0]["warmup"].get<bool>());
  // 1.40 ms for 6 prompt tokens; 15 decode steps in 7.30 ms.
  EXPECT_NEAR(reps[1]["metrics"]["prefill_tps"].get<double>(), 6 / 1.40e-3, 1e-6);
  EXPECT_NEAR(reps[1]["metrics"]["decode_tps"].get<double>(), 15 / 7.30e-3, 1e-6);
  EXPECT_DOUBLE_EQ(reps[1]["load_ms"].get<double>(), 89.93);
}

TEST(Runtime, CommandBackendEngineCrash) {
  const json spec = {{"schema", 1},
                     {"backend", "command"},
                     {"model", TinyModel()},
                     {"command", {{"argv", {"sh", "-c", "kill -SEGV $$"}}, {"parser", "llama-perf"}}},
                     {"warmup", 0},
                     {"repetitions", 1}};
  ProgramResult r = RunSpec(spec);
  EXPECT_EQ(r.exit_code, 1);
  const json e = TheError(ParseStream(r.out));
  EXPECT_EQ(e["run_id"], "run0");
  EXPECT_NE(e["message"].get<std::string>().find("killed by signal 11 (SIGSEGV)"),
            std::string::npos)
      << e;
}

TEST(Runtime, HelloAndVersion) {
  ProgramResult r = testing::RunProgram({Runtime(), "--hello"});
  ASSERT_EQ(r.exit_code, 0);
  json hello = json::parse(r.out);
  EXPECT_EQ(hello["ev"], "hello");
  EXPECT_GT(hello["device"]["n_cpus"].get<int>(), 0);
  r = testing::RunProgram({Runtime(), "--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.rfind("edgebench-rt ", 0), 0u);
  EXPECT_EQ(testing::RunProgram({Runtime(), "--frobnicate"}).exit_code, 2);
}

INSTANTIATE_TEST_SUITE_P(Engines, RuntimeEngines,
#ifdef EDGEBENCH_WITH_LLAMACPP
                         ::testing::Values("native", "llamacpp"),
#else
                         ::testing::Values("native"),
#endif
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace edgebench::runtime
