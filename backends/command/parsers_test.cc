// The output parsers on real llama.cpp output (testdata/README.md says
// which commit and command produced each file) and on broken variants of it.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "backends/command/command_runner.h"

namespace edgebench::command {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

std::string Fixture(const std::string& name) {
  const std::string path = std::string(EDGEBENCH_COMMAND_TESTDATA) + "/" + name;
  std::ifstream f(path, std::ios::binary);
  EXPECT_TRUE(f.good()) << "cannot open " << path;
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string JoinLines(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) out += l + "\n";
  return out;
}

// One llama-bench line, changed by `edit`, re-serialized as llama-bench
// would (one object a line).
template <typename Edit>
std::string EditLine(const std::string& line, Edit edit) {
  nlohmann::json j = nlohmann::json::parse(line);
  edit(j);
  return j.dump();
}

Result<std::vector<ExternalRep>> Bench(const std::string& stdout_text) {
  return ParseOutput("llama-bench-jsonl", stdout_text, "");
}

Result<std::vector<ExternalRep>> Perf(const std::string& stderr_text,
                                      const std::string& stdout_text = "") {
  return ParseOutput("llama-perf", stdout_text, stderr_text);
}

// The parse failed with kDataLoss and a message containing every part.
#define EXPECT_PARSE_ERROR(result, ...)                                             \
  do {                                                                              \
    const auto& r_ = (result);                                                      \
    ASSERT_FALSE(r_.ok()) << "parsed, expected an error";                           \
    EXPECT_EQ(r_.status().code(), StatusCode::kDataLoss) << r_.status().ToString(); \
    EXPECT_THAT(r_.status().message(), AllOf(__VA_ARGS__));                         \
  } while (0)

// ---- llama-bench -o jsonl: real output ---------------------------------------

TEST(LlamaBenchJsonl, PromptAndGenerationTestsCombinePerRepetition) {
  auto reps = Bench(Fixture("bench_pp64_tg16_r3.stdout"));
  ASSERT_TRUE(reps.ok()) << reps.status().ToString();
  ASSERT_EQ(reps->size(), 3u);
  const double prefill_ms[] = {12.606060, 12.637640, 12.654202};
  const double decode_ms[] = {23.638396, 24.017159, 23.778573};
  for (size_t i = 0; i < 3; ++i) {
    const ExternalRep& r = (*reps)[i];
    EXPECT_EQ(r.n_prompt, 64);
    EXPECT_DOUBLE_EQ(r.prefill_ms, prefill_ms[i]) << i;
    EXPECT_EQ(r.n_gen, 16);
    EXPECT_DOUBLE_EQ(r.decode_ms, decode_ms[i]) << i;
    EXPECT_TRUE(std::isnan(r.total_ms));
    EXPECT_TRUE(std::isnan(r.load_ms));
  }
}

TEST(LlamaBenchJsonl, DepthIsPartOfTheConfigurationNotOfTheTimes) {
  auto reps = Bench(Fixture("bench_pp64_tg16_d128_r3.stdout"));
  ASSERT_TRUE(reps.ok()) << reps.status().ToString();
  ASSERT_EQ(reps->size(), 3u);
  EXPECT_EQ((*reps)[0].n_prompt, 64);
  EXPECT_DOUBLE_EQ((*reps)[0].prefill_ms, 18.156392);
  EXPECT_DOUBLE_EQ((*reps)[1].prefill_ms, 13.615936);
  EXPECT_DOUBLE_EQ((*reps)[2].prefill_ms, 21.647966);
  EXPECT_EQ((*reps)[2].n_gen, 16);
  EXPECT_DOUBLE_EQ((*reps)[0].decode_ms, 37.806717);
  EXPECT_DOUBLE_EQ((*reps)[1].decode_ms, 45.763092);
  EXPECT_DOUBLE_EQ((*reps)[2].decode_ms, 37.624298);
}

TEST(LlamaBenchJsonl, PromptGenerationTestGoesToTotal) {
  auto reps = Bench(Fixture("bench_pp64_tg16_pg64_16_r3.stdout"));
  ASSERT_TRUE(reps.ok()) << reps.status().ToString();
  ASSERT_EQ(reps->size(), 3u);
  const double prefill_ms[] = {12.680221, 12.554049, 20.585238};
  const double decode_ms[] = {23.747023, 15.305372, 23.483460};
  const double total_ms[] = {47.630025, 47.948403, 47.742771};
  for (size_t i = 0; i < 3; ++i) {
    const ExternalRep& r = (*reps)[i];
    EXPECT_EQ(r.n_prompt, 64);
    EXPECT_EQ(r.n_gen, 16);
    EXPECT_DOUBLE_EQ(r.prefill_ms, prefill_ms[i]) << i;
    EXPECT_DOUBLE_EQ(r.decode_ms, decode_ms[i]) << i;
    EXPECT_DOUBLE_EQ(r.total_ms, total_ms[i]) << i;
  }
}

TEST(LlamaBenchJsonl, PromptGenerationTestAlone) {
  auto reps = Bench(Fixture("bench_pg64_16_r3.stdout"));
  ASSERT_TRUE(reps.ok()) << reps.status().ToString();
  ASSERT_EQ(reps->size(), 3u);
  const double total_ms[] = {47.295417, 39.367485, 47.336165};
  for (size_t i = 0; i < 3; ++i) {
    const ExternalRep& r = (*reps)[i];
    EXPECT_EQ(r.n_prompt, 64);
    EXPECT_EQ(r.n_gen, 16);
    EXPECT_TRUE(std::isnan(r.prefill_ms));
    EXPECT_TRUE(std::isnan(r.decode_ms));
    EXPECT_DOUBLE_EQ(r.total_ms, total_ms[i]) << i;
  }
}

TEST(LlamaBenchJsonl, OnlyAPromptTestLeavesDecodeUnknown) {
  const std::vector<std::string> lines = SplitLines(Fixture("bench_pp64_tg16_r3.stdout"));
  auto reps = Bench(lines[0] + "\n");
  ASSERT_TRUE(reps.ok()) << reps.status().ToString();
  ASSERT_EQ(reps->size(), 3u);
  EXPECT_EQ((*reps)[0].n_gen, 0);
  EXPECT_TRUE(std::isnan((*reps)[0].decode_ms));
  EXPECT_DOUBLE_EQ((*reps)[0].prefill_ms, 12.606060);
}

TEST(LlamaBenchJsonl, TwoDepthsInOneOutputAreAnErrorNamingTheField) {
  EXPECT_PARSE_ERROR(Bench(Fixture("bench_two_depths.stdout")),
                     HasSubstr("llama-bench-jsonl: line 3"), HasSubstr("pp64 @ d128"),
                     HasSubstr("line 1 (pp64)"), HasSubstr("\"n_depth\": 128 vs 0"),
                     HasSubstr("one configuration per command"));
}

TEST(LlamaBenchJsonl, ModelThatFailedToLoadGivesNoTests) {
  // llama-bench exits 1 with only an error on stderr: RunCommand reports
  // the exit code; the parser on its own says there is nothing.
  EXPECT_PARSE_ERROR(Bench(Fixture("bench_missing_model.stdout")),
                     HasSubstr("llama-bench-jsonl: no test lines"));
}

TEST(LlamaBenchJsonl, BlankLinesAndCarriageReturnsAreAccepted) {
  std::string text;
  for (const std::string& l : SplitLines(Fixture("bench_pp64_tg16_r3.stdout"))) {
    text += "\r\n" + l + "\r\n";
  }
  auto reps = Bench(text);
  ASSERT_TRUE(reps.ok()) << reps.status().ToString();
  EXPECT_EQ(reps->size(), 3u);
}

// ---- llama-bench -o jsonl: broken output -------------------------------------

TEST(LlamaBenchJsonl, TruncatedLine) {
  std::vector<std::string> lines = SplitLines(Fixture("bench_pp64_tg16_r3.stdout"));
  lines[1] = lines[1].substr(0, lines[1].size() / 2);  // killed mid-write
  EXPECT_PARSE_ERROR(Bench(JoinLines(lines)),
                     HasSubstr("llama-bench-jsonl: line 2: not JSON"),
                     HasSubstr("{\"build_commit\": \"3f545becc\""));
}

TEST(LlamaBenchJsonl, NotJsonAtAll) {
  EXPECT_PARSE_ERROR(Bench("| model | size | params |\n"),
                     HasSubstr("llama-bench-jsonl: line 1: not JSON"),
                     HasSubstr("| model | size"));
}

TEST(LlamaBenchJsonl, JsonArrayOutputIsNotJsonLines) {
  // `-o json` instead of `-o jsonl`: the first line is "[".
  EXPECT_PARSE_ERROR(
      Bench("[\n  {\n"),
      HasSubstr("line 1: a JSON array starts here: llama-bench -o json, not "
                "-o jsonl?"));
  EXPECT_PARSE_ERROR(Bench("[1, 2]\n"), HasSubstr("line 1: not a JSON object: [1, 2]"));
}

TEST(LlamaBenchJsonl, MissingFields) {
  const std::vector<std::string> lines = SplitLines(Fixture("bench_pp64_tg16_r3.stdout"));
  for (const char* field : {"n_prompt", "n_gen", "samples_ns"}) {
    SCOPED_TRACE(field);
    const std::string line =
        EditLine(lines[1], [&](nlohmann::json& j) { j.erase(field); });
    EXPECT_PARSE_ERROR(
        Bench(lines[0] + "\n" + line + "\n"),
        HasSubstr("llama-bench-jsonl: line 2: no \"" + std::string(field) + "\""));
  }
}

TEST(LlamaBenchJsonl, WrongTypes) {
  const std::string line = SplitLines(Fixture("bench_pp64_tg16_r3.stdout"))[0];
  struct Case {
    const char* field;
    nlohmann::json value;
    const char* message;
  } cases[] = {
      {"n_prompt", "64", "\"n_prompt\": expected a non-negative integer, got \"64\""},
      {"n_gen", -1, "\"n_gen\": expected a non-negative integer, got -1"},
      {"n_gen", 1.5, "\"n_gen\": expected a non-negative integer, got 1.5"},
      {"n_depth", nullptr, "\"n_depth\": expected a non-negative integer, got null"},
      {"samples_ns", "12606060", "\"samples_ns\": expected a non-empty array"},
      {"samples_ns", nlohmann::json::array(),
       "\"samples_ns\": expected a non-empty array"},
      {"samples_ns",
       {1, "2"},
       "\"samples_ns\": expected non-negative integers, got \"2\""},
      {"samples_ns", {1, -2}, "\"samples_ns\": expected non-negative integers, got -2"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.message);
    EXPECT_PARSE_ERROR(
        Bench(EditLine(line, [&](nlohmann::json& j) { j[c.field] = c.value; }) + "\n"),
        HasSubstr(std::string("llama-bench-jsonl: line 1: ") + c.message));
  }
}

TEST(LlamaBenchJsonl, NeitherPromptNorGeneration) {
  const std::string line = EditLine(SplitLines(Fixture("bench_pp64_tg16_r3.stdout"))[0],
                                    [](nlohmann::json& j) { j["n_prompt"] = 0; });
  EXPECT_PARSE_ERROR(Bench(line), HasSubstr("line 1: n_prompt and n_gen are both 0"));
}

TEST(LlamaBenchJsonl, SecondPromptTestIsAnError) {
  // What `-p 64,128` prints: two prompt tests of one configuration.
  const std::vector<std::string> lines = SplitLines(Fixture("bench_pp64_tg16_r3.stdout"));
  const std::string pp128 =
      EditLine(lines[0], [](nlohmann::json& j) { j["n_prompt"] = 128; });
  EXPECT_PARSE_ERROR(
      Bench(lines[0] + "\n" + pp128 + "\n" + lines[1] + "\n"),
      HasSubstr("line 2: a second prompt test (pp128) after line 1 (pp64)"),
      HasSubstr("one -p value per command"));
  const std::string tg32 = EditLine(lines[1], [](nlohmann::json& j) { j["n_gen"] = 32; });
  EXPECT_PARSE_ERROR(
      Bench(lines[1] + "\n" + tg32 + "\n"),
      HasSubstr("line 2: a second generation test (tg32) after line 1 (tg16)"));
}

TEST(LlamaBenchJsonl, AnyOtherDifferingFieldIsAnotherConfiguration) {
  // What `-t 1,2` prints.
  const std::vector<std::string> lines = SplitLines(Fixture("bench_pp64_tg16_r3.stdout"));
  const std::string t2 =
      EditLine(lines[1], [](nlohmann::json& j) { j["n_threads"] = 2; });
  EXPECT_PARSE_ERROR(
      Bench(lines[0] + "\n" + t2 + "\n"),
      HasSubstr("line 2: tg16 differs from line 1 (pp64) in \"n_threads\": 2 vs 1"));
  const std::string added =
      EditLine(lines[1], [](nlohmann::json& j) { j["extra"] = true; });
  EXPECT_PARSE_ERROR(Bench(lines[0] + "\n" + added + "\n"),
                     HasSubstr("in \"extra\": true vs (absent)"));
}

TEST(LlamaBenchJsonl, SampleCountsMustAgree) {
  const std::vector<std::string> lines = SplitLines(Fixture("bench_pp64_tg16_r3.stdout"));
  const std::string tg = EditLine(lines[1], [](nlohmann::json& j) {
    j["samples_ns"] = {1000, 2000};
  });
  EXPECT_PARSE_ERROR(Bench(lines[0] + "\n" + tg + "\n"),
                     HasSubstr("line 2: tg16 has 2 samples but line 1 (pp64) has 3"));
}

TEST(LlamaBenchJsonl, PromptGenerationTestMustMatchTheOthers) {
  const std::vector<std::string> lines =
      SplitLines(Fixture("bench_pp64_tg16_pg64_16_r3.stdout"));
  const std::string pg =
      EditLine(lines[2], [](nlohmann::json& j) { j["n_prompt"] = 32; });
  EXPECT_PARSE_ERROR(
      Bench(lines[0] + "\n" + lines[1] + "\n" + pg + "\n"),
      HasSubstr("line 3: pp32+tg16 prefills 32 tokens but line 1 (pp64) 64"));
}

// ---- llama-perf: real output --------------------------------------------------

TEST(LlamaPerf, LlamaSimple) {
  auto reps = Perf(Fixture("simple_n16.stderr"), Fixture("simple_n16.stdout"));
  ASSERT_TRUE(reps.ok()) << reps.status().ToString();
  ASSERT_EQ(reps->size(), 1u);
  const ExternalRep& r = (*reps)[0];
  EXPECT_DOUBLE_EQ(r.load_ms, 83.16);
  EXPECT_EQ(r.n_prompt, 6);
  EXPECT_DOUBLE_EQ(r.prefill_ms, 11.95);
  EXPECT_EQ(r.n_gen, 15);  // -n 16: the first token came from the prompt
  EXPECT_DOUBLE_EQ(r.decode_ms, 45.16);
  EXPECT_TRUE(std::isnan(r.total_ms));
}

TEST(LlamaPerf, LlamaCompletionWithTimestampedLog) {
  auto reps = Perf(Fixture("completion_n16.stderr"), Fixture("completion_n16.stdout"));
  ASSERT_TRUE(reps.ok()) << reps.status().ToString();
  ASSERT_EQ(reps->size(), 1u);
  const ExternalRep& r = (*reps)[0];
  EXPECT_DOUBLE_EQ(r.load_ms, 89.93);
  EXPECT_EQ(r.n_prompt, 6);
  EXPECT_DOUBLE_EQ(r.prefill_ms, 1.40);
  EXPECT_EQ(r.n_gen, 15);
  EXPECT_DOUBLE_EQ(r.decode_ms, 7.30);
}

TEST(LlamaPerf, LlamaCompletionWithColors) {
  auto reps =
      Perf(Fixture("completion_colors.stderr"), Fixture("completion_colors.stdout"));
  ASSERT_TRUE(reps.ok()) << reps.status().ToString();
  const ExternalRep& r = (*reps)[0];
  EXPECT_DOUBLE_EQ(r.load_ms, 91.34);
  EXPECT_EQ(r.n_prompt, 6);
  EXPECT_DOUBLE_EQ(r.prefill_ms, 1.39);
  EXPECT_EQ(r.n_gen, 15);
  EXPECT_DOUBLE_EQ(r.decode_ms, 7.77);
}

TEST(LlamaPerf, NoPerfPrintsZerosWhichAreNotTimes) {
  EXPECT_PARSE_ERROR(
      Perf(Fixture("completion_no_perf.stderr")), HasSubstr("llama-perf: stderr line 19"),
      HasSubstr("prompt eval and eval times are both 0 (run with --no-perf?)"));
}

TEST(LlamaPerf, ReportInStdoutWhenStderrHasNone) {
  // A wrapper that merged stderr into stdout.
  auto reps = Perf("", Fixture("simple_n16.stdout") + Fixture("simple_n16.stderr"));
  ASSERT_TRUE(reps.ok()) << reps.status().ToString();
  EXPECT_DOUBLE_EQ((*reps)[0].decode_ms, 45.16);
}

TEST(LlamaPerf, NoTimingLines) {
  EXPECT_PARSE_ERROR(Perf(Fixture("bench_missing_model.stderr")),
                     HasSubstr("llama-perf: no timing lines"),
                     HasSubstr("stderr or stdout"));
}

// The report format of llama.cpp before September 2024: llama_print_timings,
// as llama.cpp 7a11eb3 (2024-08-01) prints it (testdata/README.md).
TEST(LlamaPerf, OlderLlamaPrintTimings) {
  auto reps = Perf(Fixture("old_simple_n16.stderr"), Fixture("old_simple_n16.stdout"));
  ASSERT_TRUE(reps.ok()) << reps.status().ToString();
  ASSERT_EQ(reps->size(), 1u);
  EXPECT_DOUBLE_EQ((*reps)[0].load_ms, 64.56);
  EXPECT_EQ((*reps)[0].n_prompt, 6);
  EXPECT_DOUBLE_EQ((*reps)[0].prefill_ms, 6.74);
  EXPECT_EQ((*reps)[0].n_gen, 10);  // that llama-simple's -n counted the prompt too
  EXPECT_DOUBLE_EQ((*reps)[0].decode_ms, 6.69);

  reps = Perf(Fixture("old_cli_n16.stderr"), Fixture("old_cli_n16.stdout"));
  ASSERT_TRUE(reps.ok()) << reps.status().ToString();
  EXPECT_DOUBLE_EQ((*reps)[0].load_ms, 86.71);
  EXPECT_EQ((*reps)[0].n_prompt, 6);
  EXPECT_DOUBLE_EQ((*reps)[0].prefill_ms, 1.91);
  EXPECT_EQ((*reps)[0].n_gen, 15);
  EXPECT_DOUBLE_EQ((*reps)[0].decode_ms, 10.06);
}

// ---- llama-perf: broken output ------------------------------------------------

std::string PerfLinesOnly(const std::string& stderr_text) {
  std::string out;
  for (const std::string& l : SplitLines(stderr_text)) {
    if (l.find("_print") != std::string::npos) out += l + "\n";
  }
  return out;
}

TEST(LlamaPerf, CutShortAfterPromptEval) {
  std::vector<std::string> lines = SplitLines(Fixture("simple_n16.stderr"));
  std::string text;
  for (const std::string& l : lines) {
    text += l + "\n";
    if (l.find("prompt eval time") != std::string::npos) break;
  }
  EXPECT_PARSE_ERROR(Perf(text), HasSubstr("llama-perf: stderr line 405"),
                     HasSubstr("no \"eval time\" line (output cut short?)"));
}

TEST(LlamaPerf, UnreadableNumber) {
  std::string text = PerfLinesOnly(Fixture("simple_n16.stderr"));
  text.replace(text.find("45.16 ms"), 8, "4x.16 ms");
  EXPECT_PARSE_ERROR(
      Perf(text), HasSubstr("llama-perf: stderr line 4"),
      HasSubstr("cannot read \"eval time\""),
      HasSubstr("llama_perf_context_print:        eval time =      4x.16 ms"));
}

TEST(LlamaPerf, MissingTokenCount) {
  EXPECT_PARSE_ERROR(
      Perf("llama_perf_context_print: prompt eval time = 11.95 ms\n"
           "llama_perf_context_print:        eval time = 45.16 ms / 15 runs\n"),
      HasSubstr("stderr line 1: cannot read \"prompt eval time\" (expected "
                "\"= <ms> ms / <n> tokens\")"));
  EXPECT_PARSE_ERROR(
      Perf("llama_perf_context_print: prompt eval time = 11.95 ms / 6 tokens\n"
           "llama_perf_context_print:        eval time = 45.16 ms / 15 bananas\n"),
      HasSubstr("stderr line 2: cannot read \"eval time\""));
}

TEST(LlamaPerf, TwoReportsAreAnError) {
  const std::string one = PerfLinesOnly(Fixture("simple_n16.stderr"));
  EXPECT_PARSE_ERROR(Perf(one + one), HasSubstr("llama-perf: stderr line 8"),
                     HasSubstr("a second \"load time\" (the first on line 2)"));
}

TEST(LlamaPerf, ZeroPromptTimeLeavesPrefillUnknown) {
  auto reps = Perf(
      "llama_perf_context_print: prompt eval time = 0.00 ms / 1 tokens\n"
      "llama_perf_context_print:        eval time = 45.16 ms / 15 runs\n");
  ASSERT_TRUE(reps.ok()) << reps.status().ToString();
  EXPECT_EQ((*reps)[0].n_prompt, 0);
  EXPECT_TRUE(std::isnan((*reps)[0].prefill_ms));
  EXPECT_TRUE(std::isnan((*reps)[0].load_ms));
  EXPECT_EQ((*reps)[0].n_gen, 15);
}

TEST(CommandParseOutput, UnknownParser) {
  auto r = ParseOutput("llama-bench-csv", "", "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(),
              HasSubstr("unknown output parser \"llama-bench-csv\""));
}

}  // namespace
}  // namespace edgebench::command
