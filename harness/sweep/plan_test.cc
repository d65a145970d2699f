#include "harness/sweep/plan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

namespace edgebench::harness::sweep {
namespace {

using nlohmann::json;

SweepSpec Spec(const std::string& text) {
  Result<SweepSpec> s = ParseSweepSpec(json::parse(text, nullptr, true, true), "");
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? *s : SweepSpec{};
}

Plan MustPlan(const SweepSpec& s, const PlanOptions& o = {}) {
  Result<Plan> p = MakePlan(s, o);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return p.ok() ? *p : Plan{};
}

std::vector<std::string> Keys(const Plan& p) {
  std::vector<std::string> keys;
  for (const Config& c : p.configs) keys.push_back(c.key);
  return keys;
}

TEST(ConfigId, IsTheFirstEightBytesOfSha256) {
  // SHA-256("") = e3b0c44298fc1c14 9afbf4c8...
  EXPECT_EQ(ConfigId(""), 0xe3b0c44298fc1c14ull);
  // A fixed key's id must never change: stores and resumed sweeps rely on it.
  // (printf '%s' KEY | sha256sum | cut -c1-16)
  EXPECT_EQ(ConfigIdHex(
                ConfigId("device=pi5 model=m.gguf backend=native threads=4 n_prompt=512 "
                         "n_gen=128 n_depth=0 n_batch=512 n_ctx=0 cpus=\"\" "
                         "kv_type=f16")),
            "f1fcf4e907a1eb61");
  EXPECT_EQ(ConfigIdHex(0x00ab), "00000000000000ab");
}

TEST(Plan, ConfigKeysAreCanonical) {
  Plan p = MustPlan(Spec(R"({"devices": ["pi5"], "models": ["m.gguf"],
                             "axes": {"threads": [4], "cpus": ["0,2,4-7"]}})"));
  ASSERT_EQ(p.configs.size(), 1u);
  EXPECT_EQ(
      p.configs[0].key,
      "device=pi5 model=m.gguf backend=native threads=4 n_prompt=512 n_gen=128 n_depth=0 "
      "n_batch=512 n_ctx=0 cpus=0,2,4-7 kv_type=f16");
  EXPECT_EQ(p.configs[0].id, ConfigId(p.configs[0].key));
  // Values with spaces or quotes are quoted, so keys stay unambiguous.
  Plan q = MustPlan(Spec(R"({"devices": ["my phone"], "models": [{"path": "m.gguf",
                             "label": "a \"b\""}]})"));
  EXPECT_EQ(
      q.configs[0].key.rfind(R"(device="my phone" model="a \"b\"" backend=native )", 0),
      0u)
      << q.configs[0].key;
}

TEST(Plan, ModelIsOutermostAndGroupsShareALoadedModel) {
  SweepSpec s = Spec(R"({"devices": ["a", "b"], "models": ["m1.gguf", "m2.gguf"],
                         "backends": ["native", "command"],
                         "command": {"argv": ["x", "{model}"]},
                         "axes": {"threads": [1, 2], "n_prompt": [64, 128]},
                         "warmup": 1, "repetitions": 2})");
  Plan p = MustPlan(s);
  ASSERT_EQ(p.configs.size(), 2u * 2 * 2 * 2 * 2);
  EXPECT_EQ(p.total_configs, p.configs.size());
  // Canonical order: device, model, backend, then threads before n_prompt.
  auto at = [&](size_t i) {
    const Config& c = p.configs[i];
    return std::make_tuple(c.device, s.models[c.model].label, c.backend, c.run.threads,
                           c.run.n_prompt);
  };
  EXPECT_EQ(at(0), std::make_tuple("a", "m1.gguf", "native", 1, 64));
  EXPECT_EQ(at(1), std::make_tuple("a", "m1.gguf", "native", 1, 128));
  EXPECT_EQ(at(2), std::make_tuple("a", "m1.gguf", "native", 2, 64));
  EXPECT_EQ(at(4), std::make_tuple("a", "m1.gguf", "command", 1, 64));
  EXPECT_EQ(at(8), std::make_tuple("a", "m2.gguf", "native", 1, 64));
  EXPECT_EQ(at(16), std::make_tuple("b", "m1.gguf", "native", 1, 64));
  for (size_t i = 0; i < p.configs.size(); ++i) EXPECT_EQ(p.configs[i].index, i);

  // One group per (device, model, backend), in that order, 4 configs each.
  ASSERT_EQ(p.groups.size(), 8u);
  const char* order[][3] = {{"a", "m1.gguf", "native"}, {"a", "m1.gguf", "command"},
                            {"a", "m2.gguf", "native"}, {"a", "m2.gguf", "command"},
                            {"b", "m1.gguf", "native"}, {"b", "m1.gguf", "command"},
                            {"b", "m2.gguf", "native"}, {"b", "m2.gguf", "command"}};
  for (size_t g = 0; g < p.groups.size(); ++g) {
    const Group& gr = p.groups[g];
    EXPECT_EQ(gr.device, order[g][0]);
    EXPECT_EQ(s.models[gr.model].label, order[g][1]);
    EXPECT_EQ(gr.backend, order[g][2]);
    ASSERT_EQ(gr.configs.size(), 4u);
    for (size_t c : gr.configs) {
      EXPECT_EQ(p.configs[c].device, gr.device);
      EXPECT_EQ(p.configs[c].model, gr.model);
      EXPECT_EQ(p.configs[c].backend, gr.backend);
    }
    EXPECT_EQ(gr.slots.size(), 4u * (1 + 2));
  }
  // The run fields reach every configuration.
  EXPECT_EQ(p.configs[3].run.repetitions, 2);
  EXPECT_EQ(p.configs[3].run.warmup, 1);
  EXPECT_TRUE(p.configs[3].run.run_id.empty());
}

TEST(Plan, IncludeAndExcludePruneTheProduct) {
  const std::string base = R"("devices": ["pixel", "pi5"], "models": ["a.gguf", "b.gguf"],
                              "axes": {"threads": [1, 2, 4], "n_prompt": [128, 512]})";
  auto count = [&](const std::string& rules) {
    return MustPlan(Spec("{" + base + (rules.empty() ? "" : ", " + rules) + "}"))
        .configs.size();
  };
  EXPECT_EQ(count(""), 24u);
  // Exclude drops matches of every key of a rule.
  EXPECT_EQ(count(R"("exclude": [{"threads": 4, "n_prompt": 512}])"), 20u);
  EXPECT_EQ(count(R"("exclude": [{"threads": [2, 4]}])"), 8u);
  EXPECT_EQ(count(R"("exclude": [{"device": "pi5"}, {"model": "a.gguf"}])"), 6u);
  // Include keeps only matches of any rule.
  EXPECT_EQ(count(R"("include": [{"model": "a.gguf"}])"), 12u);
  EXPECT_EQ(count(R"("include": [{"model": "a.gguf", "threads": 1},
                                 {"device": "pi5", "n_prompt": 512}])"),
            4u + 6u - 1u);
  // Exclude wins over include.
  EXPECT_EQ(count(R"("include": [{"model": "b.gguf"}], "exclude": [{"threads": 1}])"),
            8u);
  // A value repeated in a rule, or a rule naming every value, changes nothing.
  EXPECT_EQ(count(R"("include": [{"threads": [1, 2, 4, 4]}])"), 24u);

  Plan p =
      MustPlan(Spec("{" + base + R"(, "exclude": [{"threads": 4, "n_prompt": 512}]})"));
  for (const Config& c : p.configs)
    EXPECT_FALSE(c.run.threads == 4 && c.run.n_prompt == 512);
  // Indexes are positions in the pruned product.
  for (size_t i = 0; i < p.configs.size(); ++i) EXPECT_EQ(p.configs[i].index, i);
}

TEST(Plan, ConfigByConfigWithoutInterleave) {
  Plan p = MustPlan(Spec(R"({"devices": ["d"], "models": ["m.gguf"],
                             "axes": {"threads": [1, 2]}, "warmup": 2, "repetitions": 3})"));
  ASSERT_EQ(p.groups.size(), 1u);
  const std::vector<Slot> want = {
      {0, 0, true}, {0, 1, true}, {0, 0, false}, {0, 1, false}, {0, 2, false},
      {1, 0, true}, {1, 1, true}, {1, 0, false}, {1, 1, false}, {1, 2, false}};
  EXPECT_EQ(p.groups[0].slots, want);
}

TEST(Plan, InterleaveRunsWarmupsFirstThenShuffledRounds) {
  SweepSpec s = Spec(R"({"devices": ["d"], "models": ["m.gguf", "n.gguf"],
                         "axes": {"threads": [1, 2, 3, 4], "n_prompt": [64, 128]},
                         "warmup": 2, "repetitions": 5})");
  PlanOptions o;
  o.interleave = true;
  o.seed = 7;
  Plan p = MustPlan(s, o);
  ASSERT_EQ(p.groups.size(), 2u);
  bool some_round_shuffled = false;
  std::set<std::vector<size_t>> round_orders;
  for (const Group& g : p.groups) {
    const size_t n = g.configs.size();
    ASSERT_EQ(n, 8u);
    ASSERT_EQ(g.slots.size(), n * (2 + 5));
    // Every (config, repetition, warmup) exactly once.
    std::set<std::tuple<size_t, int, bool>> seen;
    for (const Slot& sl : g.slots) {
      EXPECT_TRUE(std::find(g.configs.begin(), g.configs.end(), sl.config) !=
                  g.configs.end());
      EXPECT_TRUE(seen.insert({sl.config, sl.repetition, sl.warmup}).second);
    }
    // Warmups first, config by config.
    for (size_t i = 0; i < 2 * n; ++i) {
      EXPECT_TRUE(g.slots[i].warmup);
      EXPECT_EQ(g.slots[i].config, g.configs[i / 2]);
      EXPECT_EQ(g.slots[i].repetition, static_cast<int>(i % 2));
    }
    // Then round r: repetition r of every configuration once.
    for (int r = 0; r < 5; ++r) {
      std::vector<size_t> order;
      for (size_t k = 0; k < n; ++k) {
        const Slot& sl = g.slots[2 * n + static_cast<size_t>(r) * n + k];
        EXPECT_FALSE(sl.warmup);
        EXPECT_EQ(sl.repetition, r);
        order.push_back(sl.config);
      }
      if (order != g.configs) some_round_shuffled = true;
      round_orders.insert(order);
      std::sort(order.begin(), order.end());
      EXPECT_EQ(order, g.configs);
    }
  }
  EXPECT_TRUE(some_round_shuffled);
  EXPECT_GT(round_orders.size(), 5u);  // rounds are not all the same order

  // Deterministic: the same seed gives the same order; another seed another.
  Plan again = MustPlan(s, o);
  for (size_t g = 0; g < p.groups.size(); ++g)
    EXPECT_EQ(again.groups[g].slots, p.groups[g].slots);
  o.seed = 8;
  Plan other = MustPlan(s, o);
  EXPECT_NE(other.groups[0].slots, p.groups[0].slots);
  // The fixed order for seed 7 (a change here changes which repetition
  // of which configuration ran when, across versions).
  std::vector<size_t> first_round;
  for (size_t k = 0; k < 8; ++k) first_round.push_back(p.groups[0].slots[16 + k].config);
  EXPECT_EQ(first_round, (std::vector<size_t>{2, 7, 0, 4, 1, 6, 5, 3}));
}

// Shards 1/N..N/N together are the unsharded plan: every configuration in
// exactly one shard, the same keys, the same repetitions.
TEST(Plan, ShardsPartitionTheSweepExactly) {
  const std::string sweeps[] = {
      R"({"devices": ["d"], "models": ["m.gguf"]})",  // 1 configuration
      R"({"devices": ["d"], "models": ["m.gguf"], "axes": {"threads": [1, 2, 3, 4, 5]}})",
      R"({"devices": ["a", "b"], "models": ["m.gguf", "n.gguf"],
          "axes": {"threads": [1, 2, 4], "n_prompt": [128, 512]},
          "exclude": [{"device": "b", "threads": 4}]})",                // 20
      R"({"devices": ["a", "b", "c"], "models": ["m.gguf", "n.gguf", "o.gguf"],
          "axes": {"threads": [1, 2, 4, 8], "n_gen": [16, 32, 64]}})",  // 108
  };
  for (const std::string& text : sweeps) {
    SweepSpec s = Spec(text);
    for (bool interleave : {false, true}) {
      PlanOptions whole_o;
      whole_o.interleave = interleave;
      Plan whole = MustPlan(s, whole_o);
      size_t whole_slots = 0;
      for (const Group& g : whole.groups) whole_slots += g.slots.size();
      for (int n : {1, 2, 3, 4, 7, 200}) {
        std::map<std::string, int> shard_of;
        size_t slots = 0, smallest = SIZE_MAX, largest = 0;
        for (int i = 1; i <= n; ++i) {
          PlanOptions o = whole_o;
          o.shard_index = i;
          o.shard_count = n;
          Plan part = MustPlan(s, o);
          EXPECT_EQ(part.total_configs, whole.configs.size());
          for (const Config& c : part.configs) {
            EXPECT_TRUE(shard_of.emplace(c.key, i).second) << c.key << " in two shards";
            EXPECT_EQ(c.index % static_cast<size_t>(n), static_cast<size_t>(i - 1));
          }
          for (const Group& g : part.groups) {
            EXPECT_FALSE(g.configs.empty());
            slots += g.slots.size();
          }
          smallest = std::min(smallest, part.configs.size());
          largest = std::max(largest, part.configs.size());
        }
        std::set<std::string> union_keys;
        for (const auto& [k, i] : shard_of) union_keys.insert(k);
        const std::vector<std::string> keys = Keys(whole);
        EXPECT_EQ(union_keys, std::set<std::string>(keys.begin(), keys.end())) << n;
        EXPECT_EQ(shard_of.size(), keys.size());
        EXPECT_EQ(slots, whole_slots);
        EXPECT_LE(largest - smallest, 1u);  // balanced
      }
    }
  }
}

TEST(Plan, ThreeShardsOfTheExample) {
  SweepSpec s = Spec(R"({"devices": ["pixel", "pi5"], "models": ["t.gguf"],
                         "axes": {"threads": [1, 2, 4], "n_prompt": [128, 512]}})");
  std::vector<std::string> joined;
  for (int i = 1; i <= 3; ++i) {
    PlanOptions o;
    o.shard_index = i;
    o.shard_count = 3;
    for (const std::string& k : Keys(MustPlan(s, o))) joined.push_back(k);
  }
  std::vector<std::string> whole = Keys(MustPlan(s));
  std::sort(joined.begin(), joined.end());
  std::sort(whole.begin(), whole.end());
  EXPECT_EQ(joined, whole);
}

TEST(Plan, EmptyShardWhenShardsOutnumberConfigs) {
  SweepSpec s =
      Spec(R"({"devices": ["d"], "models": ["m.gguf"], "axes": {"threads": [1, 2]}})");
  PlanOptions o;
  o.shard_index = 3;
  o.shard_count = 5;
  Plan p = MustPlan(s, o);
  EXPECT_TRUE(p.configs.empty());
  EXPECT_TRUE(p.groups.empty());
  EXPECT_EQ(p.total_configs, 2u);
  EXPECT_NE(DescribePlan(p).find("this shard has no configuration"), std::string::npos);
}

TEST(Plan, BadShardsAreRefused) {
  SweepSpec s = Spec(R"({"devices": ["d"], "models": ["m.gguf"]})");
  for (auto [i, n] :
       {std::pair{0, 3}, std::pair{4, 3}, std::pair{1, 0}, std::pair{-1, 2}}) {
    PlanOptions o;
    o.shard_index = i;
    o.shard_count = n;
    Result<Plan> p = MakePlan(s, o);
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.status().message(), "--shard " + std::to_string(i) + "/" +
                                        std::to_string(n) +
                                        ": expected I/N with 1 <= I <= N");
  }
}

TEST(Plan, SamePlanTwice) {
  SweepSpec s = Spec(R"({"devices": ["a", "b"], "models": ["m.gguf"],
                         "axes": {"threads": [1, 2], "kv_type": ["f16", "f32"]}})");
  Plan p1 = MustPlan(s), p2 = MustPlan(s);
  EXPECT_EQ(Keys(p1), Keys(p2));
  for (size_t i = 0; i < p1.configs.size(); ++i)
    EXPECT_EQ(p1.configs[i].id, p2.configs[i].id);
  EXPECT_EQ(DescribePlan(p1), DescribePlan(p2));
}

TEST(Plan, DescribePlanVerbatim) {
  SweepSpec s = Spec(R"({"name": "demo", "devices": ["pixel", "pi5"],
                         "models": [{"path": "/m/tiny-q4_0.gguf", "label": "tiny"}],
                         "axes": {"threads": [1, 4], "n_prompt": [32, 128], "n_gen": [16]},
                         "exclude": [{"device": "pi5", "threads": 4}],
                         "warmup": 1, "repetitions": 3})");
  Plan p = MustPlan(s);
  // The ids are SHA-256 prefixes of the keys (checked with sha256sum).
  EXPECT_EQ(DescribePlan(p),
            "sweep demo: 6 configurations x (1 warmup + 3 repetitions) on 2 devices\n"
            "order: configuration by configuration; shard 1/1 (6 of 6 configurations)\n"
            "fixed: n_gen=16 n_depth=0 n_batch=512 n_ctx=0 cpus=\"\" kv_type=f16\n"
            "\n"
            "device pixel\n"
            "  model tiny (/m/tiny-q4_0.gguf), backend native: 4 configurations, 16 "
            "repetitions\n"
            "    #  threads  n_prompt         config_id\n"
            "    0        1        32  dae2372673e06659\n"
            "    1        1       128  198b5df602d13701\n"
            "    2        4        32  1e1984e8dbde3886\n"
            "    3        4       128  c8b8ec800224e485\n"
            "\n"
            "device pi5\n"
            "  model tiny (/m/tiny-q4_0.gguf), backend native: 2 configurations, 8 "
            "repetitions\n"
            "    #  threads  n_prompt         config_id\n"
            "    4        1        32  5730233b0e7939bb\n"
            "    5        1       128  a1a41fc8bcb2721c\n"
            "\n"
            "total: 6 configurations, 24 repetitions (6 warmup), 2 runtime processes\n");
}

TEST(Plan, DescribePlanOfAShardWithInterleave) {
  SweepSpec s = Spec(R"({"name": "demo", "devices": ["pixel"], "models": ["/m/a.gguf"],
                         "axes": {"cpus": ["", "big"]}, "warmup": 0, "repetitions": 2})");
  PlanOptions o;
  o.interleave = true;
  o.seed = 3;
  o.shard_index = 2;
  o.shard_count = 2;
  EXPECT_EQ(DescribePlan(MustPlan(s, o)),
            "sweep demo: 1 configuration x (0 warmup + 2 repetitions) on 1 device\n"
            "order: warmups, then interleaved rounds (seed 3); shard 2/2 (1 of 2 "
            "configurations)\n"
            "fixed: threads=1 n_prompt=512 n_gen=128 n_depth=0 n_batch=512 n_ctx=0 "
            "kv_type=f16\n"
            "\n"
            "device pixel\n"
            "  model a.gguf (/m/a.gguf), backend native: 1 configuration, 2 repetitions\n"
            "    #  cpus         config_id\n"
            "    1   big  fc6bccf61bf869e4\n"
            "\n"
            "total: 1 configuration, 2 repetitions (0 warmup), 1 runtime process\n");
}

TEST(Estimate, FollowsTheDocumentedHeuristic) {
  SweepSpec s = Spec(R"({"devices": ["d"], "models": ["/m/x-q4_0.gguf"],
                         "axes": {"threads": [2], "n_prompt": [100], "n_gen": [10],
                                  "n_depth": [50]},
                         "warmup": 1, "repetitions": 3})");
  Plan p = MustPlan(s);
  EstimateInputs in;
  in.model_bytes["/m/x-q4_0.gguf"] = 1'000'000'000;
  const double params = 1e9 * 8 / 4.5;
  const double load_s = 1e9 / 1e9 + 2;
  const double prefill_s = (50 + 100) * 2 * params / (50e9 * 2);
  const double decode_s = 10 * 1e9 / 10e9;
  EXPECT_NEAR(EstimateSeconds(p, in), load_s + 4 * (prefill_s + decode_s), 1e-6);

  // Per-device rates replace the defaults; more threads than scale add nothing.
  in.device_rates["d"] = DeviceRates{.mem_bandwidth_gb_s = 20,
                                     .gflop_s_per_thread = 100,
                                     .max_scaling_threads = 1,
                                     .load_gb_s = 2,
                                     .process_overhead_s = 0};
  EXPECT_NEAR(EstimateSeconds(p, in),
              0.5 + 4 * ((50 + 100) * 2 * params / 100e9 + 10 * 1e9 / 20e9), 1e-6);

  // A cooldown adds its expected wait per repetition; q8_0 has fewer
  // parameters per byte than q4_0.
  SweepSpec c = Spec(R"({"devices": ["d"], "models": ["/m/x-q8_0.gguf"],
                         "axes": {"threads": [2], "n_prompt": [100], "n_gen": [10]},
                         "cooldown": {"max_temp_c": 40}, "warmup": 0, "repetitions": 2})");
  EstimateInputs in2;
  in2.model_bytes["/m/x-q8_0.gguf"] = 1'000'000'000;
  in2.cooldown_wait_s = 5;
  const double params8 = 1e9 * 8 / 8.5;
  EXPECT_NEAR(EstimateSeconds(MustPlan(c), in2),
              3 + 2 * (100 * 2 * params8 / 100e9 + 1 + 5), 1e-6);

  // No size known and no file: the fallback size.
  EstimateInputs in3;
  in3.fallback_model_bytes = 0;
  EXPECT_NEAR(EstimateSeconds(p, in3), 2, 1e-9);
}

TEST(Estimate, FormatSeconds) {
  EXPECT_EQ(FormatSeconds(0), "0 s");
  EXPECT_EQ(FormatSeconds(44.6), "45 s");
  EXPECT_EQ(FormatSeconds(200), "3 min 20 s");
  EXPECT_EQ(FormatSeconds(7500), "2 h 05 min");
  EXPECT_EQ(FormatSeconds(-3), "0 s");
}

}  // namespace
}  // namespace edgebench::harness::sweep
