#include "harness/sweep/spec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "harness/sweep/plan.h"
#include "tests/testing/testing.h"

namespace edgebench::harness::sweep {
namespace {

using nlohmann::json;

// Parses `text` (comments allowed) and returns the error, or "ok".
std::string ParseError(const std::string& text) {
  const json j = json::parse(text, nullptr, true, /*ignore_comments=*/true);
  Result<SweepSpec> s = ParseSweepSpec(j, "");
  return s.ok() ? "ok" : s.status().message();
}

// A minimal valid sweep with `extra` fields added at the top level.
std::string With(const std::string& extra) {
  return R"({"devices": ["pi5"], "models": ["m.gguf"])" +
         (extra.empty() ? "" : ", " + extra) + "}";
}

TEST(SweepSpec, MinimalSpecTakesDefaults) {
  auto s = ParseSweepSpec(json::parse(With("")), "");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->devices, std::vector<std::string>{"pi5"});
  ASSERT_EQ(s->models.size(), 1u);
  EXPECT_EQ(s->models[0].path, "m.gguf");
  EXPECT_EQ(s->models[0].label, "m.gguf");
  EXPECT_EQ(s->backends, std::vector<std::string>{"native"});
  // One value per axis: the run spec's defaults.
  const protocol::RunConfig d;
  EXPECT_EQ(s->axes.threads, std::vector<int>{d.threads});
  EXPECT_EQ(s->axes.n_prompt, std::vector<int>{d.n_prompt});
  EXPECT_EQ(s->axes.n_gen, std::vector<int>{d.n_gen});
  EXPECT_EQ(s->axes.n_depth, std::vector<int>{d.n_depth});
  EXPECT_EQ(s->axes.n_batch, std::vector<int>{d.n_batch});
  EXPECT_EQ(s->axes.n_ctx, std::vector<int>{d.n_ctx});
  EXPECT_EQ(s->axes.cpus, std::vector<std::string>{d.cpus});
  EXPECT_EQ(s->axes.kv_type, std::vector<std::string>{d.kv_type});
  EXPECT_EQ(s->repetitions, d.repetitions);
  EXPECT_EQ(s->warmup, d.warmup);
  EXPECT_FALSE(s->cooldown.enabled);
  EXPECT_EQ(s->telemetry.period_ms, 20);
  EXPECT_EQ(s->timeout_s, 0);
  EXPECT_EQ(s->run_timeout_s, 0);
  EXPECT_TRUE(s->include.empty());
  EXPECT_TRUE(s->exclude.empty());
}

constexpr const char* kFull = R"({
  // Every field, with comments.
  "schema": 1,
  "name": "full",
  "devices": ["pixel", "pi5"],
  "models": ["m/a-q4_0.gguf", {"path": "/abs/b-q8_0.gguf", "label": "b"}],
  "backends": ["native", "command"],
  "command": {"argv": ["llama-bench", "-m", "{model}"], "parser": "llama-bench-jsonl"},
  "axes": {"threads": [1, 2, 4], "n_prompt": [128, 512], "n_gen": [0, 64],
           "n_depth": [0, 1024], "n_batch": [256], "n_ctx": [0, 4096],
           "cpus": ["", "big", "0,2,4-7"], "kv_type": ["f16", "f32"]},
  "repetitions": 7, "warmup": 2, "seed": 42,
  "prompt": {"kind": "text", "text": "Once upon a time"},
  "sampler": {"temperature": 0.5, "top_k": 40, "top_p": 0.9, "min_p": 0.05},
  "cooldown": {"max_temp_c": 42, "timeout_s": 60, "poll_ms": 500},
  "telemetry": {"period_ms": 50, "sources": ["mem", "thermal"], "baseline_ms": 1000},
  "timeout_s": 300, "run_timeout_s": 3600,
  "labels": {"purpose": "test", "owner": "ci"},
  /* pruning */
  "include": [{"model": "b", "threads": [2, 4]}, {"model": "m/a-q4_0.gguf"}],
  "exclude": [{"device": "pi5", "backend": "command"}, {"n_depth": 1024, "cpus": "big"}]
})";

TEST(SweepSpec, FullSpecParsesAndRoundTrips) {
  auto s = ParseSweepSpec(json::parse(kFull, nullptr, true, true), "/work/sweeps");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->name, "full");
  ASSERT_EQ(s->models.size(), 2u);
  EXPECT_EQ(s->models[0].path, "/work/sweeps/m/a-q4_0.gguf");  // relative to the file
  EXPECT_EQ(s->models[0].label, "a-q4_0.gguf");
  EXPECT_EQ(s->models[1].path, "/abs/b-q8_0.gguf");  // absolute stays
  EXPECT_EQ(s->models[1].label, "b");
  EXPECT_EQ(s->backends, (std::vector<std::string>{"native", "command"}));
  EXPECT_EQ(s->command.argv.size(), 3u);
  EXPECT_EQ(s->axes.threads, (std::vector<int>{1, 2, 4}));
  EXPECT_EQ(s->axes.n_ctx, (std::vector<int>{0, 4096}));
  EXPECT_EQ(s->axes.cpus, (std::vector<std::string>{"", "big", "0,2,4-7"}));
  EXPECT_EQ(s->repetitions, 7);
  EXPECT_EQ(s->warmup, 2);
  EXPECT_EQ(s->seed, 42u);
  EXPECT_EQ(s->prompt.kind, "text");
  EXPECT_FLOAT_EQ(s->sampler.top_p, 0.9f);
  EXPECT_TRUE(s->cooldown.enabled);
  EXPECT_EQ(s->cooldown.max_temp_c, 42);
  EXPECT_EQ(s->telemetry.period_ms, 50);
  EXPECT_EQ(s->telemetry.sources, (std::vector<std::string>{"mem", "thermal"}));
  EXPECT_EQ(s->timeout_s, 300);
  EXPECT_EQ(s->run_timeout_s, 3600);
  EXPECT_EQ(s->labels.at("owner"), "ci");
  ASSERT_EQ(s->include.size(), 2u);
  // A model named by its path as written is stored by its label.
  EXPECT_EQ(s->include[1].match.at("model"), std::vector<std::string>{"a-q4_0.gguf"});
  EXPECT_EQ(s->include[0].match.at("threads"), (std::vector<std::string>{"2", "4"}));
  ASSERT_EQ(s->exclude.size(), 2u);

  const json once = ToJson(*s);
  auto again = ParseSweepSpec(once, "/elsewhere");  // resolved paths are absolute now
  ASSERT_TRUE(again.ok()) << again.status().ToString() << "\n" << once.dump(2);
  EXPECT_EQ(ToJson(*again), once);
  // The same configurations, too.
  auto p1 = MakePlan(*s, {});
  auto p2 = MakePlan(*again, {});
  ASSERT_TRUE(p1.ok() && p2.ok());
  ASSERT_EQ(p1->configs.size(), p2->configs.size());
  for (size_t i = 0; i < p1->configs.size(); ++i)
    EXPECT_EQ(p1->configs[i].key, p2->configs[i].key);
}

TEST(SweepSpec, MinimalSpecRoundTrips) {
  auto s = ParseSweepSpec(json::parse(With(R"("cooldown": null)")), "");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  auto again = ParseSweepSpec(ToJson(*s), "");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(ToJson(*again), ToJson(*s));
  EXPECT_FALSE(again->cooldown.enabled);
}

TEST(SweepSpec, MalformedSpecsGiveOneErrorNamingThePointer) {
  struct Case {
    std::string spec;
    std::string error;
  };
  const std::string axes_list =
      "threads, n_prompt, n_gen, n_depth, n_batch, n_ctx, cpus, kv_type";
  const Case cases[] = {
      // The document and the required lists.
      {R"([1, 2])", "/: expected an object, got an array"},
      {R"({"models": ["m.gguf"]})", "/devices: required field is missing"},
      {R"({"devices": ["pi5"]})", "/models: required field is missing"},
      {R"({"devices": [], "models": ["m.gguf"]})",
       "/devices: expected a non-empty list of device names, got []"},
      {R"({"devices": "pi5", "models": ["m.gguf"]})",
       "/devices: expected a non-empty list of device names, got \"pi5\""},
      {R"({"devices": ["pi5", 3], "models": ["m.gguf"]})",
       "/devices/1: expected a device name (a non-empty string), got 3"},
      {R"({"devices": ["pi5", ""], "models": ["m.gguf"]})",
       "/devices/1: expected a device name (a non-empty string), got \"\""},
      {R"({"devices": ["pi5", "pixel", "pi5"], "models": ["m.gguf"]})",
       "/devices/2: duplicate value \"pi5\", also at /devices/0"},
      {R"({"devices": ["pi5"], "models": []})",
       "/models: expected a non-empty list of models, got []"},
      {R"({"devices": ["pi5"], "models": [3]})",
       "/models/0: expected a model path or an object {\"path\": ..., \"label\": ...}, "
       "got 3"},
      {R"({"devices": ["pi5"], "models": [""]})",
       "/models/0: expected a model path or an object {\"path\": ..., \"label\": ...}, "
       "got \"\""},
      {R"({"devices": ["pi5"], "models": [{"label": "x"}]})",
       "/models/0/path: required field is missing"},
      {R"({"devices": ["pi5"], "models": [{"path": "m.gguf", "lable": "x"}]})",
       "/models/0/lable: unknown field"},
      {R"({"devices": ["pi5"], "models": [{"path": "m.gguf", "label": ""}]})",
       "/models/0/label: expected a non-empty label, got \"\""},
      {R"({"devices": ["pi5"], "models": ["a/m.gguf", "b/m.gguf"]})",
       "/models/1: duplicate model label \"m.gguf\", also at /models/0 (give one a "
       "\"label\")"},
      {R"({"devices": ["pi5"], "models": ["m.gguf", {"path": "m.gguf", "label": "again"}]})",
       "/models/1: duplicate model \"m.gguf\", also at /models/0"},
      {R"({"devices": ["pi5"], "models": ["models/"]})",
       "/models/0: a model path names a file, got \"models/\""},
      // Top level.
      {With(R"("schema": 2)"), "/schema: this edgebench reads sweep schema 1, got 2"},
      {With(R"("name": 3)"), "/name: expected a string, got 3"},
      {With(R"("repetition": 5)"), "/repetition: unknown field"},
      {With(R"("backends": ["native", "gpu"])"),
       "/backends/1: expected one of \"native\", \"llamacpp\", \"command\", got \"gpu\""},
      {With(R"("backends": [])"), "/backends: expected a non-empty list, got []"},
      {With(R"("backends": ["native", "native"])"),
       "/backends/1: duplicate value \"native\", also at /backends/0"},
      {With(R"("backends": ["command"])"),
       "/command/argv: the command backend needs a command line"},
      // Axes.
      {With(R"("axes": {"threads": [1, 2, "four"]})"),
       "/axes/threads/2: expected a positive integer, got \"four\""},
      {With(R"("axes": {"threads": [0]})"),
       "/axes/threads/0: expected a positive integer, got 0"},
      {With(R"("axes": {"threads": [1, 2048]})"),
       "/axes/threads/1: expected an integer in 1..1024, got 2048"},
      {With(R"("axes": {"threads": [1.5]})"),
       "/axes/threads/0: expected a positive integer, got 1.5"},
      {With(R"("axes": {"n_prompt": [-1]})"),
       "/axes/n_prompt/0: expected an integer >= 0, got -1"},
      {With(R"("axes": {"n_batch": [0]})"),
       "/axes/n_batch/0: expected a positive integer, got 0"},
      {With(R"("axes": {"threads": []})"),
       "/axes/threads: expected a non-empty list, got []"},
      {With(R"("axes": {"threads": 4})"),
       "/axes/threads: expected a non-empty list, got 4"},
      {With(R"("axes": {"threads": [1, 2, 1]})"),
       "/axes/threads/2: duplicate value 1, also at /axes/threads/0"},
      {With(R"("axes": {"kv_type": ["f16", "f16"]})"),
       "/axes/kv_type/1: duplicate value \"f16\", also at /axes/kv_type/0"},
      {With(R"("axes": {"depth": [0, 1024]})"),
       "/axes/depth: unknown axis (did you mean \"n_depth\"?)"},
      {With(R"("axes": {"speed": [1]})"),
       "/axes/speed: unknown axis (axes: " + axes_list + ")"},
      {With(R"("axes": [1])"), "/axes: expected an object, got an array"},
      {With(R"("axes": {"kv_type": ["q8_0"]})"),
       "/axes/kv_type/0: expected one of \"f16\", \"f32\", got \"q8_0\""},
      {With(R"("axes": {"cpus": ["0-"]})"),
       "/axes/cpus/0: expected \"big\", \"little\" or a CPU list like \"0,2,4-7\", got "
       "\"0-\""},
      {With(R"("axes": {"cpus": [4]})"),
       "/axes/cpus/0: expected \"big\", \"little\" or a CPU list like \"0,2,4-7\", got "
       "4"},
      {With(R"("axes": {"n_prompt": [0, 128], "n_gen": [0, 16]})"),
       "/axes: n_prompt 0 with n_gen 0 measures nothing (device=pi5 model=m.gguf "
       "backend=native "
       "threads=1 n_prompt=0 n_gen=0 n_depth=0 n_batch=512 n_ctx=0 cpus=\"\" "
       "kv_type=f16); "
       "exclude it with {\"n_prompt\": 0, \"n_gen\": 0}"},
      // The run spec's fields, checked by the run spec's parser.
      {With(R"("repetitions": 0)"),
       "/repetitions: expected an integer in 1..100000, got 0"},
      {With(R"("warmup": -1)"), "/warmup: expected an integer in 0..1000, got -1"},
      {With(R"("seed": "x")"), "/seed: expected an integer >= 0, got \"x\""},
      {With(R"("telemetry": {"period_ms": 0})"),
       "/telemetry/period_ms: expected an integer in 1..60000, got 0"},
      {With(R"("telemetry": {"period": 20})"), "/telemetry/period: unknown field"},
      {With(R"("telemetry": {"sources": ["mem", "gpu"]})"),
       "/telemetry/sources/1: expected one of \"mem\", \"cpufreq\", \"thermal\", "
       "\"power_supply\", \"hwmon\", \"rapl\", got \"gpu\""},
      {With(R"("cooldown": {"max_temp": 40})"), "/cooldown/max_temp: unknown field"},
      {With(R"("cooldown": 45)"), "/cooldown: expected an object, got 45"},
      {With(R"("prompt": {"kind": "text"})"),
       "/prompt/text: a text prompt needs a non-empty text"},
      {With(R"("sampler": {"top_k": -1})"),
       "/sampler/top_k: expected an integer in 0..16777216, got -1"},
      {With(R"("command": {"argv": "llama-bench"})"),
       "/command/argv: expected a list of strings, got \"llama-bench\""},
      // Our own scalars.
      {With(R"("timeout_s": -1)"),
       "/timeout_s: expected a number in [0.0, 10000000.0], got -1"},
      {With(R"("run_timeout_s": "1h")"),
       "/run_timeout_s: expected a number in [0.0, 10000000.0], got \"1h\""},
      {With(R"("labels": ["a"])"),
       "/labels: expected an object of string: string, got an array"},
      {With(R"("labels": {"a": 1})"), "/labels/a: expected a string, got 1"},
      // Rules.
      {With(R"("include": [])"), "/include: expected a non-empty list of rules, got []"},
      {With(R"("exclude": "x")"), "/exclude: expected a list of rules, got \"x\""},
      {With(R"("exclude": [3])"),
       "/exclude/0: expected a rule (an object of axis: values), got 3"},
      {With(R"("exclude": [{}])"),
       "/exclude/0: an empty rule matches every configuration"},
      {With(R"("exclude": [{"depth": 0}])"),
       "/exclude/0/depth: unknown key (did you mean \"n_depth\"?)"},
      {With(R"("include": [{"gpu": 0}])"),
       "/include/0/gpu: unknown key (rules name \"device\", \"model\", \"backend\" or an "
       "axis: " +
           axes_list + ")"},
      {With(R"("axes": {"threads": [1, 2, 4]}, "exclude": [{"threads": 8}])"),
       "/exclude/0/threads: 8 is not among the sweep's threads (1, 2, 4)"},
      {With(R"("axes": {"threads": [1, 2, 4]}, "exclude": [{"threads": [2, "4"]}])"),
       "/exclude/0/threads/1: expected a positive integer, got \"4\""},
      {With(R"("include": [{"model": ["m.gguf", "x.gguf"]}])"),
       "/include/0/model/1: \"x.gguf\" is not among the sweep's models (\"m.gguf\")"},
      {With(R"("exclude": [{"device": "pixel"}])"),
       "/exclude/0/device: \"pixel\" is not among the sweep's devices (\"pi5\")"},
      {With(R"("exclude": [{"backend": "command"}])"),
       "/exclude/0/backend: \"command\" is not among the sweep's backends (\"native\")"},
      {With(R"("exclude": [{"kv_type": "f32"}])"),
       "/exclude/0/kv_type: \"f32\" is not among the sweep's kv_type (\"f16\")"},
      {With(R"("exclude": [{"threads": []}])"),
       "/exclude/0/threads: expected a value or a non-empty list of values, got []"},
      {With(R"("exclude": [{"threads": 1}])"),
       "/exclude: the include and exclude rules leave no configuration to run"},
      {With(R"("axes": {"threads": [1, 2]}, "include": [{"threads": 1}],
                "exclude": [{"n_gen": 128}])"),
       "/include: the include and exclude rules leave no configuration to run"},
  };
  ASSERT_GE(std::size(cases), 25u);
  for (const Case& c : cases) {
    const std::string got = ParseError(c.spec);
    EXPECT_EQ(got, c.error) << "spec: " << c.spec;
    // One line, and it names a pointer.
    EXPECT_EQ(got.find('\n'), std::string::npos) << got;
    EXPECT_EQ(got.front(), '/') << got;
  }
}

TEST(SweepSpec, TooLargeAProductIsRefused) {
  json j = json::parse(With(""));
  for (int i = 1; i <= 100; ++i) {
    j["axes"]["n_prompt"].push_back(i);
    j["axes"]["n_gen"].push_back(i);
  }
  j["axes"]["threads"] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  auto s = ParseSweepSpec(j, "");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(
      s.status().message(),
      "/axes: the sweep has 110000 configurations (devices x models x backends x axis "
      "values), more than the limit of 100000");
}

TEST(SweepFile, SyntaxErrorsNameFileLineAndColumn) {
  testing::TempDir dir;
  struct Case {
    std::string text;
    std::string error;  // after "PATH:"
  };
  const Case cases[] = {
      {"{\n  // devices to use\n  \"devices\": [\"pi5\"],\n  \"models\": [\"m.gguf\"]\n"
       "  \"axes\": {}\n}\n",
       // nlohmann points at the last character it read: the end of "axes".
       "5:8: syntax error while parsing object - unexpected string literal; expected "
       "'}'"},
      {"{\"devices\": [\"pi5\"], \"models\": [\"m.gguf\"],}\n",
       "1:43: syntax error while parsing object key - unexpected '}'; expected string "
       "literal"},
      {"{\"devices\": [\"pi5\"], /* unterminated\n",
       "2:1: syntax error while parsing object key - invalid comment; missing closing "
       "'*/'; "
       "last read: '\"pi5\"], /* unterminated<U+000A>'; expected string literal"},
      {"",
       "1:1: syntax error while parsing value - unexpected end of input; expected '[', "
       "'{', "
       "or a literal"},
  };
  for (const Case& c : cases) {
    const std::string path = dir.File("bad.json");
    testing::WriteFile(path, c.text);
    auto s = LoadSweepFile(path);
    ASSERT_FALSE(s.ok()) << c.text;
    EXPECT_EQ(s.status().message(), path + ":" + c.error) << c.text;
    EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
  }
}

TEST(SweepFile, FieldErrorsNameTheFileAndPointer) {
  testing::TempDir dir;
  const std::string path = dir.File("bad.json");
  testing::WriteFile(path,
                     "// threads\n" + With(R"("axes": {"threads": [1, 2, "four"]})"));
  auto s = LoadSweepFile(path);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(),
            path + ": /axes/threads/2: expected a positive integer, got \"four\"");
}

TEST(SweepFile, MissingFileIsNotFound) {
  testing::TempDir dir;
  auto s = LoadSweepFile(dir.File("none.json"));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kNotFound);
  EXPECT_NE(s.status().message().find(dir.File("none.json")), std::string::npos);
}

TEST(SweepFile, AFolderIsNotASweepFile) {
  testing::TempDir dir;
  auto s = LoadSweepFile(dir.path());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(), dir.path() + ": is a folder, not a sweep file");
}

TEST(SweepFile, ModelPathsAreRelativeToTheFileAndNameDefaultsToItsStem) {
  testing::TempDir dir;
  std::filesystem::create_directories(dir.File("sweeps"));
  const std::string path = dir.File("sweeps/nightly.json");
  testing::WriteFile(path, R"({"devices": ["local"],
      "models": ["../models/a.gguf", "/abs/b.gguf", "c.gguf"]})");
  auto s = LoadSweepFile(path);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->name, "nightly");
  EXPECT_EQ(s->models[0].path, dir.File("models/a.gguf"));
  EXPECT_EQ(s->models[1].path, "/abs/b.gguf");
  EXPECT_EQ(s->models[2].path, dir.File("sweeps/c.gguf"));
}

TEST(SweepFile, ExampleSweepsParse) {
  // ctest runs from the source root.
  struct Example {
    const char* file;
    size_t configs;
  };
  const Example examples[] = {
      {"workloads/sweeps/local-quick.json", 4},
      {"workloads/sweeps/phone-vs-board.json", 2 * 3 * 2 * 2 - 2},
      {"workloads/sweeps/quant-compare.json", 3 * 2 * 2},
      {"workloads/sweeps/quickstart.json", 2 * 2 + 2},  // tinyllama at 2 threads only
  };
  for (const Example& e : examples) {
    auto s = LoadSweepFile(e.file);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    auto p = MakePlan(*s, {});
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    EXPECT_EQ(p->configs.size(), e.configs) << e.file;
  }
  // And nothing else sits there untested.
  size_t n = 0;
  for (const auto& entry : std::filesystem::directory_iterator("workloads/sweeps"))
    n += entry.path().extension() == ".json";
  EXPECT_EQ(n, std::size(examples));
}

TEST(RunFlags, BuildTheSameSweepAsAFile) {
  RunFlags f;
  f.device = "pixel";
  f.models = {"m/a.gguf", "b.gguf"};
  f.n_prompt = {"128", "512"};
  f.n_gen = {"128"};
  f.threads = {"1", "2", "4"};
  f.n_depth = {"0", "1024"};
  f.cpus = {"0,2,4-7"};
  f.repetitions = 5;
  f.warmup = 1;
  auto s = SweepFromRunFlags(f);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  auto file = ParseSweepSpec(json::parse(R"({"name": "run", "devices": ["pixel"],
      "models": ["m/a.gguf", "b.gguf"],
      "axes": {"n_prompt": [128, 512], "n_gen": [128], "threads": [1, 2, 4],
               "n_depth": [0, 1024], "cpus": ["0,2,4-7"]},
      "repetitions": 5, "warmup": 1})"),
                             "");
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(ToJson(*s), ToJson(*file));
  auto plan = MakePlan(*s, {});
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->configs.size(), 2u * 2 * 3 * 2);
  EXPECT_EQ(plan->groups.size(), 2u);
}

TEST(RunFlags, ErrorsNameTheFlag) {
  struct Case {
    RunFlags flags;
    std::string error;
  };
  auto base = [] {
    RunFlags f;
    f.device = "pixel";
    f.models = {"m.gguf"};
    return f;
  };
  std::vector<Case> cases;
  {
    RunFlags f = base();
    f.device.clear();
    cases.push_back({f, "-d: a device is required"});
  }
  {
    RunFlags f = base();
    f.models.clear();
    cases.push_back({f, "-m: at least one model is required"});
  }
  {
    RunFlags f = base();
    f.models = {"a/m.gguf", "b/m.gguf"};
    cases.push_back({f, "-m value 2: duplicate model \"m.gguf\", also at -m value 1"});
  }
  {
    RunFlags f = base();
    f.threads = {"1", "2", "x"};
    cases.push_back({f, "-t value 3: expected a positive integer, got \"x\""});
  }
  {
    RunFlags f = base();
    f.threads = {"1", "2", "1"};
    cases.push_back({f, "-t value 3: duplicate value 1, also at -t value 1"});
  }
  {
    RunFlags f = base();
    f.n_depth = {"-5"};
    cases.push_back({f, "--depth value 1: expected an integer >= 0, got -5"});
  }
  {
    RunFlags f = base();
    f.kv_type = {"q8"};
    cases.push_back(
        {f, "--kv-type value 1: expected one of \"f16\", \"f32\", got \"q8\""});
  }
  {
    RunFlags f = base();
    f.backends = {"gpu"};
    cases.push_back(
        {f, "--backend value 1: expected one of \"native\", \"llamacpp\", \"command\", got \"gpu\""});
  }
  {
    RunFlags f = base();
    f.repetitions = 0;
    cases.push_back({f, "-r: expected an integer in 1..100000, got 0"});
  }
  {
    RunFlags f = base();
    f.n_prompt = {"0"};
    f.n_gen = {"0", "16"};
    cases.push_back({f, "-p 0 with -n 0 measures nothing"});
  }
  for (const Case& c : cases) {
    auto s = SweepFromRunFlags(c.flags);
    ASSERT_FALSE(s.ok()) << c.error;
    EXPECT_EQ(s.status().message(), c.error);
  }
}

}  // namespace
}  // namespace edgebench::harness::sweep
