#include "harness/sweep/plan.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <system_error>

#include "base/random.h"
#include "harness/sweep/internal/product.h"

namespace edgebench::harness::sweep {

namespace {

using internal::kIntAxes;
using internal::kStringAxes;
using internal::QuoteKeyValue;

std::string GroupKey(const Plan& p, const Group& g) {
  return "device=" + QuoteKeyValue(g.device) +
         " model=" + QuoteKeyValue(p.spec.models[g.model].label) +
         " backend=" + QuoteKeyValue(g.backend);
}

void MakeSlots(const Plan& plan, Group* g) {
  const int warmup = plan.spec.warmup;
  const int reps = plan.spec.repetitions;
  if (!plan.options.interleave) {
    for (size_t c : g->configs) {
      for (int w = 0; w < warmup; ++w) g->slots.push_back({c, w, true});
      for (int r = 0; r < reps; ++r) g->slots.push_back({c, r, false});
    }
    return;
  }
  // Warmups first (they warm the process and the caches, whatever the order),
  // then one round per repetition, each in its own shuffled order.
  for (size_t c : g->configs)
    for (int w = 0; w < warmup; ++w) g->slots.push_back({c, w, true});
  // splitmix64 (base/random.h): the same order on every host and standard
  // library, which std::shuffle does not promise.
  uint64_t rng = plan.options.seed ^ ConfigId(GroupKey(plan, *g));
  std::vector<size_t> order = g->configs;
  for (int r = 0; r < reps; ++r) {
    order = g->configs;
    for (size_t i = order.size(); i > 1; --i) {
      // The modulo bias is below 2^-40 for any group size a sweep allows.
      const size_t j = static_cast<size_t>(SplitMix64(rng) % i);
      std::swap(order[i - 1], order[j]);
    }
    for (size_t c : order) g->slots.push_back({c, r, false});
  }
}

}  // namespace

uint64_t ConfigId(std::string_view key) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  // SHA-256 of a short string in memory cannot fail short of a broken
  // OpenSSL; a zero id would then show up in every test.
  if (EVP_Digest(key.data(), key.size(), md, &n, EVP_sha256(), nullptr) != 1 || n < 8)
    return 0;
  uint64_t id = 0;
  for (int i = 0; i < 8; ++i) id = (id << 8) | md[i];
  return id;
}

std::string ConfigIdHex(uint64_t id) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(id));
  return buf;
}

Result<Plan> MakePlan(const SweepSpec& spec, const PlanOptions& options) {
  if (options.shard_count < 1 || options.shard_index < 1 ||
      options.shard_index > options.shard_count)
    return InvalidArgumentError("--shard " + std::to_string(options.shard_index) + "/" +
                                std::to_string(options.shard_count) +
                                ": expected I/N with 1 <= I <= N");
  ASSIGN_OR_RETURN(std::vector<internal::ProductEntry> entries,
                   internal::EnumerateConfigs(spec));
  Plan plan;
  plan.spec = spec;
  plan.options = options;
  plan.total_configs = entries.size();
  const size_t n = static_cast<size_t>(options.shard_count);
  const size_t mine = static_cast<size_t>(options.shard_index - 1);
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i % n != mine) continue;
    internal::ProductEntry& e = entries[i];
    Config c;
    c.index = i;
    c.device = spec.devices[e.device];
    c.model = e.model;
    c.backend = spec.backends[e.backend];
    c.key = internal::ConfigKey(internal::Fields(spec, e));
    c.id = ConfigId(c.key);
    c.run = std::move(e.run);
    plan.configs.push_back(std::move(c));
  }
  // Canonical order keeps the configurations of a group next to each other.
  for (size_t i = 0; i < plan.configs.size(); ++i) {
    const Config& c = plan.configs[i];
    if (plan.groups.empty() || plan.groups.back().device != c.device ||
        plan.groups.back().model != c.model || plan.groups.back().backend != c.backend)
      plan.groups.push_back({c.device, c.model, c.backend, {}, {}});
    plan.groups.back().configs.push_back(i);
  }
  for (Group& g : plan.groups) MakeSlots(plan, &g);
  return plan;
}

std::string DescribePlan(const Plan& plan) {
  const SweepSpec& s = plan.spec;
  size_t slots = 0, warmups = 0;
  std::vector<std::string> devices;
  for (const Group& g : plan.groups) {
    slots += g.slots.size();
    for (const Slot& sl : g.slots) warmups += sl.warmup ? 1 : 0;
    if (std::find(devices.begin(), devices.end(), g.device) == devices.end())
      devices.push_back(g.device);
  }
  auto plural = [](size_t n, const std::string& word) {
    return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
  };

  std::string out = "sweep " + (s.name.empty() ? std::string("(unnamed)") : s.name) +
                    ": " + plural(plan.configs.size(), "configuration") + " x (" +
                    std::to_string(s.warmup) + " warmup + " +
                    plural(s.repetitions, "repetition") + ") on " +
                    plural(devices.size(), "device") + "\n";
  out += "order: ";
  out += plan.options.interleave ? "warmups, then interleaved rounds (seed " +
                                       std::to_string(plan.options.seed) + ")"
                                 : std::string("configuration by configuration");
  out += "; shard " + std::to_string(plan.options.shard_index) + "/" +
         std::to_string(plan.options.shard_count) + " (" +
         std::to_string(plan.configs.size()) + " of " +
         std::to_string(plan.total_configs) + " configurations)\n";

  // Axes with one value in the whole sweep are said once; the table shows
  // the ones that vary.
  std::vector<std::string_view> varying;
  std::string fixed;
  for (std::string_view axis : kAxisNames) {
    const std::vector<std::string> texts = internal::AxisTexts(s.axes, axis);
    if (texts.size() > 1) {
      varying.push_back(axis);
    } else {
      fixed +=
          (fixed.empty() ? "" : " ") + std::string(axis) + "=" + QuoteKeyValue(texts[0]);
    }
  }
  if (!fixed.empty()) out += "fixed: " + fixed + "\n";

  std::string last_device;
  for (const Group& g : plan.groups) {
    if (g.device != last_device) {
      out += "\ndevice " + QuoteKeyValue(g.device) + "\n";
      last_device = g.device;
    }
    const ModelSpec& m = s.models[g.model];
    out += "  model " + QuoteKeyValue(m.label) + " (" + m.path + "), backend " +
           g.backend + ": " + plural(g.configs.size(), "configuration") + ", " +
           plural(g.slots.size(), "repetition") + "\n";
    // Columns: "#" (the canonical index), the varying axes, config_id.
    std::vector<std::string> header = {"#"};
    for (std::string_view a : varying) header.emplace_back(a);
    header.emplace_back("config_id");
    std::vector<std::vector<std::string>> rows;
    for (size_t ci : g.configs) {
      const Config& c = plan.configs[ci];
      std::vector<std::string> row = {std::to_string(c.index)};
      for (std::string_view a : varying) {
        std::string v;
        for (const auto& ia : kIntAxes)
          if (ia.name == a) v = std::to_string(c.run.*ia.field);
        for (const auto& sa : kStringAxes)
          if (sa.name == a) v = QuoteKeyValue(c.run.*sa.field);
        row.push_back(v);
      }
      row.push_back(ConfigIdHex(c.id));
      rows.push_back(std::move(row));
    }
    std::vector<size_t> width(header.size());
    for (size_t k = 0; k < header.size(); ++k) {
      width[k] = header[k].size();
      for (const auto& r : rows) width[k] = std::max(width[k], r[k].size());
    }
    auto line = [&](const std::vector<std::string>& cells) {
      std::string l = "  ";
      for (size_t k = 0; k < cells.size(); ++k)
        l += "  " + std::string(width[k] - cells[k].size(), ' ') + cells[k];
      return l + "\n";
    };
    out += line(header);
    for (const auto& r : rows) out += line(r);
  }
  if (plan.groups.empty()) out += "\nthis shard has no configuration\n";
  out += "\ntotal: " + plural(plan.configs.size(), "configuration") + ", " +
         plural(slots, "repetition") + " (" + std::to_string(warmups) + " warmup), " +
         std::to_string(plan.groups.size()) +
         (plan.groups.size() == 1 ? " runtime process\n" : " runtime processes\n");
  return out;
}

namespace {

double BitsPerWeight(const ModelSpec& m) {
  std::string name = m.label + " " + std::filesystem::path(m.path).filename().string();
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static const std::pair<const char*, double> kBits[] = {
      {"q4_0", 4.5}, {"q4_1", 5.0}, {"q5_0", 5.5}, {"q5_1", 6.0}, {"q8_0", 8.5},
      {"q2_k", 2.6}, {"q3_k", 3.4}, {"q4_k", 4.5}, {"q5_k", 5.5}, {"q6_k", 6.6},
      {"bf16", 16},  {"f16", 16},   {"f32", 32}};
  for (const auto& [tag, bits] : kBits)
    if (name.find(tag) != std::string::npos) return bits;
  return 4.5;
}

}  // namespace

double EstimateSeconds(const Plan& plan, const EstimateInputs& in) {
  double total_s = 0;
  for (const Group& g : plan.groups) {
    const ModelSpec& m = plan.spec.models[g.model];
    auto rates_it = in.device_rates.find(g.device);
    const DeviceRates& rates =
        rates_it == in.device_rates.end() ? in.rates : rates_it->second;
    double bytes = static_cast<double>(in.fallback_model_bytes);
    if (auto it = in.model_bytes.find(m.path); it != in.model_bytes.end()) {
      bytes = static_cast<double>(it->second);
    } else {
      std::error_code ec;
      const auto size = std::filesystem::file_size(m.path, ec);
      if (!ec) bytes = static_cast<double>(size);
    }
    const double params = bytes * 8 / BitsPerWeight(m);
    total_s += bytes / (rates.load_gb_s * 1e9) + rates.process_overhead_s;
    for (const Slot& sl : g.slots) {
      const protocol::RunConfig& r = plan.configs[sl.config].run;
      const double flop_s =
          rates.gflop_s_per_thread * 1e9 * std::min(r.threads, rates.max_scaling_threads);
      total_s += static_cast<double>(r.n_depth + r.n_prompt) * 2 * params / flop_s;
      total_s += static_cast<double>(r.n_gen) * bytes / (rates.mem_bandwidth_gb_s * 1e9);
      if (plan.spec.cooldown.enabled) total_s += in.cooldown_wait_s;
    }
  }
  return total_s;
}

std::string FormatSeconds(double seconds) {
  const long long s = std::llround(std::max(seconds, 0.0));
  char buf[64];
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%lld s", s);
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%lld min %02lld s", s / 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%lld h %02lld min", s / 3600, (s % 3600) / 60);
  }
  return buf;
}

}  // namespace edgebench::harness::sweep
