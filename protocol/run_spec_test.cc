#include "protocol/run_spec.h"

#include <gtest/gtest.h>

namespace edgebench::protocol {
namespace {

using nlohmann::json;

TEST(RunSpec, SingleRunAtTopLevelWithDefaults) {
  auto s = ParseRunSpecText(R"({"schema": 1, "model": "m.gguf", "threads": 4,
                                // comments are allowed
                                "n_prompt": 128})");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_EQ(s->runs.size(), 1u);
  EXPECT_EQ(s->runs[0].run_id, "run0");
  EXPECT_EQ(s->runs[0].threads, 4);
  EXPECT_EQ(s->runs[0].n_prompt, 128);
  EXPECT_EQ(s->runs[0].n_gen, 128);       // default
  EXPECT_EQ(s->runs[0].repetitions, 5);   // default
  EXPECT_EQ(s->telemetry.period_ms, 20);  // default
  EXPECT_FALSE(s->cooldown.enabled);
}

TEST(RunSpec, RunsInheritTopLevelFields) {
  auto s = ParseRunSpec(json::parse(R"({
      "schema": 1, "model": "m.gguf", "n_gen": 64, "threads": 2,
      "cooldown": {"max_temp_c": 40},
      "runs": [{"run_id": "a"}, {"run_id": "b", "threads": 8, "cpus": "big"},
               {"run_id": "c", "cpus": "0,2,4-7", "prompt": {"kind": "text", "text": "hi"}}]})"));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_EQ(s->runs.size(), 3u);
  EXPECT_EQ(s->runs[0].threads, 2);
  EXPECT_EQ(s->runs[1].threads, 8);
  EXPECT_EQ(s->runs[2].n_gen, 64);
  EXPECT_EQ(s->runs[2].prompt.kind, "text");
  EXPECT_TRUE(s->cooldown.enabled);
  EXPECT_EQ(s->cooldown.max_temp_c, 40);
  // Round trip through ToJson.
  auto again = ParseRunSpec(ToJson(*s));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(ToJson(*again), ToJson(*s));
}

TEST(RunSpec, ErrorsNameThePointer) {
  struct Case {
    const char* spec;
    const char* error;
  };
  const Case cases[] = {
      {R"({"model": "m"})", "/schema: required field is missing"},
      {R"({"schema": 2, "model": "m"})", "/schema: this runtime reads schema 1, got 2"},
      {R"({"schema": 1})", "/model: required field is missing"},
      {R"({"schema": 1, "model": "m", "threads": 0})",
       "/threads: expected an integer in 1..1024, got 0"},
      {R"({"schema": 1, "model": "m", "runs": [{}, {"threads": "four"}]})",
       "/runs/1/threads: expected an integer in 1..1024, got \"four\""},
      {R"({"schema": 1, "model": "m", "n_prompt": -1})",
       "/n_prompt: expected an integer in 0..1048576, got -1"},
      {R"({"schema": 1, "model": "m", "kv_type": "q8"})",
       "/kv_type: expected one of \"f16\", \"f32\", got \"q8\""},
      {R"({"schema": 1, "model": "m", "thraeds": 2})", "/thraeds: unknown field"},
      {R"({"schema": 1, "model": "m", "runs": [{"n_gen": 1, "colour": 2}]})",
       "/runs/0/colour: unknown field"},
      {R"({"schema": 1, "model": "m", "runs": []})",
       "/runs: expected a non-empty list of runs, got an array"},
      {R"({"schema": 1, "model": "m", "cpus": "0-"})",
       "/cpus: expected \"big\", \"little\" or a CPU list like \"0,2,4-7\", got \"0-\""},
      {R"({"schema": 1, "model": "m", "telemetry": {"sources": ["mem", "gpu"]}})",
       "/telemetry/sources/1: expected one of \"mem\", \"cpufreq\", \"thermal\", "
       "\"power_supply\", \"hwmon\", \"rapl\", got \"gpu\""},
      {R"({"schema": 1, "model": "m", "telemetry": {"period_ms": 0}})",
       "/telemetry/period_ms: expected an integer in 1..60000, got 0"},
      {R"({"schema": 1, "model": "m", "n_prompt": 0, "n_gen": 0})",
       ": n_prompt and n_gen are both 0: nothing to measure"},
      {R"({"schema": 1, "model": "m", "runs": [{"run_id": "x"}, {"run_id": "x"}]})",
       "/runs/1/run_id: \"x\" is used twice"},
      {R"({"schema": 1, "backend": "command"})",
       "/command/argv: the command backend needs a command line"},
      {R"({"schema": 1, "model": "m", "prompt": {"kind": "text"}})",
       "/prompt/text: a text prompt needs a non-empty text"},
      {R"([1, 2])", "/: expected an object, got an array"},
  };
  for (const Case& c : cases) {
    auto s = ParseRunSpecText(c.spec);
    ASSERT_FALSE(s.ok()) << c.spec;
    EXPECT_EQ(s.status().message(), c.error) << c.spec;
    EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
  }
  auto bad = ParseRunSpecText("{\"schema\": 1,");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("not valid JSON"), std::string::npos);
}

TEST(RunSpec, CpuLists) {
  EXPECT_EQ(*ParseCpuList("0,2,4-7", "x"), (std::vector<int>{0, 2, 4, 5, 6, 7}));
  EXPECT_EQ(*ParseCpuList("3", "x"), (std::vector<int>{3}));
  EXPECT_EQ(*ParseCpuList("1,1,0-1", "x"), (std::vector<int>{1, 0}));
  for (const char* bad : {"", ",", "a", "3-1", "-2", "1,,2", "99999"})
    EXPECT_FALSE(ParseCpuList(bad, "x").ok()) << bad;
}

}  // namespace
}  // namespace edgebench::protocol
