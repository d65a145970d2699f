#include "harness/executor/ingest.h"

#include <gtest/gtest.h>

namespace edgebench::harness {
namespace {

using nlohmann::json;
using sweep::Slot;

struct Seen {
  std::vector<IngestedRep> reps;
  std::vector<IngestedError> errors;
  std::vector<std::pair<size_t, Slot>> starts;
  int hellos = 0, loads = 0, dones = 0;
};

IngestCallbacks Record(Seen& s) {
  IngestCallbacks cb;
  cb.hello = [&](const json&) { ++s.hellos; };
  cb.load = [&](const json&) { ++s.loads; };
  cb.rep_start = [&](size_t c, const Slot& slot, const json&) { s.starts.emplace_back(c, slot); };
  cb.rep = [&](IngestedRep&& r) { s.reps.push_back(std::move(r)); };
  cb.error = [&](const IngestedError& e) { s.errors.push_back(e); };
  cb.done = [&](const json&) { ++s.dones; };
  return cb;
}

// Two entries: config 3 (one warmup, two measured), config 5 (one measured).
std::vector<SpecEntry> Entries() {
  return {{3, {{3, 0, true}, {3, 0, false}, {3, 1, false}}, "e0"}, {5, {{5, 0, false}}, "e1"}};
}

std::vector<std::string> RepEvents(const std::string& run, int rep, int64_t t) {
  return {
      json{{"ev", "sample"}, {"t_ns", t - 5}, {"v", {{"mem.rss_kb", 1}}}}.dump(),  // gap
      json{{"ev", "rep_start"}, {"t_ns", t}, {"run_id", run}, {"rep", rep},
           {"warmup", false}, {"cooldown", {{"waited_ms", 0}, {"max_temp_c", 41.5}}}}.dump(),
      json{{"ev", "prefill"}, {"t_ns", t + 3}, {"run_id", run}, {"rep", rep},
           {"t_request_ns", t + 1}, {"t0_ns", t + 2}, {"t1_ns", t + 3}, {"n", 8}}.dump(),
      json{{"ev", "decode"}, {"t_ns", t + 9}, {"run_id", run}, {"rep", rep},
           {"token_ns", {t + 4, t + 6, t + 9}}}.dump(),
      json{{"ev", "sample"}, {"t_ns", t + 7},
           {"v", {{"mem.rss_kb", 2048}, {"temp.cpu_c", 50}, {"bare", 1}}}}.dump(),
      json{{"ev", "rep_end"}, {"t_ns", t + 10}, {"t_end_ns", t + 9}, {"run_id", run},
           {"rep", rep}, {"warmup", false}, {"n_prompt", 8}, {"n_gen", 3},
           {"metrics", {{"decode_tps", 12.5}, {"ttft_ms", 0.5}, {"from_the_future", 1}}}}
          .dump()};
}

TEST(EventIngest, MapsRepetitionsToSlotsWithTheirEvents) {
  Seen s;
  EventIngest in(Entries(), Record(s));
  ASSERT_TRUE(in.Feed(R"({"ev":"hello","t_ns":1})").ok());
  ASSERT_TRUE(in.Feed(R"({"ev":"load","t_ns":2,"load_ms":3})").ok());
  EXPECT_EQ(in.CurrentConfig(), 3u);
  for (const auto& [run, rep] : std::vector<std::pair<std::string, int>>{
           {"e0", 0}, {"e0", 1}, {"e0", 2}, {"e1", 0}})
    for (const std::string& line : RepEvents(run, rep, 1000 * (rep + 1)))
      ASSERT_TRUE(in.Feed(line).ok()) << line;
  ASSERT_TRUE(in.Feed(R"({"ev":"done","t_ns":9999,"status":"ok"})").ok());
  EXPECT_TRUE(in.done());
  EXPECT_EQ(in.done_status(), "ok");
  EXPECT_FALSE(in.CurrentConfig());
  EXPECT_EQ(s.hellos, 1);
  EXPECT_EQ(s.loads, 1);
  ASSERT_EQ(s.reps.size(), 4u);
  EXPECT_EQ(s.reps[0].config, 3u);
  EXPECT_TRUE(s.reps[0].slot.warmup);
  EXPECT_TRUE(s.reps[0].rep.warmup);
  EXPECT_EQ(s.reps[2].slot, (Slot{3, 1, false}));
  EXPECT_EQ(s.reps[3].config, 5u);
  const store::RepRecord& r = s.reps[1].rep;
  EXPECT_EQ(r.t_start_ns, 2001);  // the request, not the rep_start
  EXPECT_EQ(r.t_end_ns, 2009);
  EXPECT_EQ(r.n_prompt, 8);
  EXPECT_EQ(r.n_gen, 3);
  EXPECT_EQ(r.token_times_ns, (std::vector<int64_t>{2004, 2006, 2009}));
  EXPECT_EQ(r.metrics.size(), 2u);  // the unknown metric is left out
  EXPECT_EQ(r.metrics.at("decode_tps"), 12.5);
  // Only the sample inside the repetition, split into source and name.
  ASSERT_EQ(r.samples.size(), 3u);
  EXPECT_EQ(r.samples[0].source, "");
  EXPECT_EQ(r.samples[0].name, "bare");
  EXPECT_EQ(r.samples[1].source, "mem");
  EXPECT_EQ(r.samples[1].name, "rss_kb");
  EXPECT_EQ(r.samples[1].value, 2048);
  EXPECT_EQ(s.reps[1].rep_start["cooldown"]["max_temp_c"], 41.5);
}

TEST(EventIngest, AKilledRuntimeLeavesNoHalfRepetition) {
  Seen s;
  EventIngest in(Entries(), Record(s));
  const std::vector<std::string> first = RepEvents("e0", 0, 1000);
  const std::vector<std::string> second = RepEvents("e0", 1, 2000);
  for (const std::string& line : first) ASSERT_TRUE(in.Feed(line).ok());
  for (size_t i = 0; i + 1 < second.size(); ++i) ASSERT_TRUE(in.Feed(second[i]).ok());
  // The stream stops before the second rep_end.
  EXPECT_EQ(s.reps.size(), 1u);
  EXPECT_FALSE(in.done());
  EXPECT_EQ(in.CurrentConfig(), 3u);
  EXPECT_EQ(s.starts.size(), 2u);
}

TEST(EventIngest, ErrorsNameTheirConfigurationAndTheStreamMovesOn) {
  Seen s;
  EventIngest in(Entries(), Record(s));
  for (const std::string& line : RepEvents("e0", 0, 1000)) ASSERT_TRUE(in.Feed(line).ok());
  ASSERT_TRUE(in.Feed(RepEvents("e0", 1, 2000)[1]).ok());  // rep_start
  ASSERT_TRUE(in.Feed(R"({"ev":"error","t_ns":5,"code":"deadline_exceeded","message":"slow",)"
                      R"("fatal":false,"run_id":"e0","rep":1})")
                  .ok());
  ASSERT_EQ(s.errors.size(), 1u);
  EXPECT_EQ(s.errors[0].config, 3u);
  EXPECT_EQ(s.errors[0].rep, 1);
  EXPECT_FALSE(s.errors[0].fatal);
  // The failed run is skipped: what runs next is the other configuration.
  EXPECT_EQ(in.CurrentConfig(), 5u);
  ASSERT_TRUE(in.Feed(R"({"ev":"error","t_ns":6,"code":"resource_exhausted",)"
                      R"("message":"no memory","fatal":true})")
                  .ok());
  EXPECT_TRUE(in.fatal_error());
  EXPECT_FALSE(s.errors[1].config);
}

TEST(EventIngest, MalformedLinesAreNamedAndSkipped) {
  Seen s;
  EventIngest in(Entries(), Record(s));
  const struct {
    const char* line;
    const char* error;
  } cases[] = {
      {"not json", "line 1: not an event"},
      {R"({"t_ns": 1})", "line 2: not an event"},
      {R"({"ev":"teleport","t_ns":1})", "line 3: unknown event \"teleport\""},
      {R"({"ev":"rep_start","t_ns":1,"run_id":"zz","rep":0})", "the spec has no run \"zz\""},
      {R"({"ev":"rep_start","t_ns":1,"run_id":"e1","rep":4})", "has no repetition 4"},
      {R"({"ev":"rep_end","t_ns":1,"run_id":"e1","rep":0})", "has not started"},
  };
  for (const auto& c : cases) {
    const Status st = in.Feed(c.line);
    EXPECT_EQ(st.code(), StatusCode::kDataLoss) << c.line;
    EXPECT_NE(st.message().find(c.error), std::string::npos) << st.message();
  }
  // A good repetition after the junk is still taken.
  for (const std::string& line : RepEvents("e1", 0, 5000)) ASSERT_TRUE(in.Feed(line).ok());
  ASSERT_EQ(s.reps.size(), 1u);
  EXPECT_EQ(s.reps[0].config, 5u);
}

TEST(SampleRows, SplitsSourceAndName) {
  const auto rows = SampleRows(json{{"ev", "sample"}, {"t_ns", 7},
                                    {"v", {{"cpufreq.cluster0_khz", 1.8e6},
                                           {"power.battery_w", 2.5}}}});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].t_ns, 7);
  EXPECT_EQ(rows[0].source, "cpufreq");
  EXPECT_EQ(rows[0].name, "cluster0_khz");
  EXPECT_TRUE(SampleRows(json{{"ev", "sample"}}).empty());
}

}  // namespace
}  // namespace edgebench::harness
