#include "runtime/telemetry/internal/cpu_clusters.h"

#include <algorithm>
#include <map>

#include "runtime/telemetry/internal/sysfs.h"

namespace edgebench::runtime::telemetry_internal {

namespace {

// Per-core turbo binning (Intel favoured cores, AMD preferred cores) spreads
// maximum frequencies by a few percent; a different core type differs by
// more (Intel P vs E cores by 20-40%).
constexpr double kPerCoreMergeRatio = 1.05;

bool ReadInt(const std::string& path, int64_t* v) {
  auto f = SysfsFile::Open(path);
  return f.ok() && f->ReadInt(v).ok();
}

}  // namespace

Result<CpuTopology> ReadCpuTopology(const std::string& sys_root) {
  const std::string cpu_dir = sys_root + "/devices/system/cpu";
  CpuTopology topo;
  if (auto online = ReadTrimmed(cpu_dir + "/online"); online.ok())
    topo.online = ParseCpuSet(*online);
  if (topo.online.empty()) {
    for (const std::string& name : ListDir(cpu_dir))
      if (name.rfind("cpu", 0) == 0 && TrailingNumber(name) >= 0 &&
          name.size() == 3 + std::to_string(TrailingNumber(name)).size())
        topo.online.push_back(TrailingNumber(name));
    std::sort(topo.online.begin(), topo.online.end());
  }
  if (topo.online.empty()) return NotFoundError(cpu_dir + ": no CPUs found");

  struct Policy {
    std::vector<int> cpus;
    int64_t max_khz = 0;
    int64_t rank_khz = 0;
  };
  std::map<int, Policy> policies;  // by the policy's first core
  for (const int cpu : topo.online) {
    const std::string dir = cpu_dir + "/cpu" + std::to_string(cpu) + "/cpufreq";
    int64_t max_khz = 0;
    if (!ReadInt(dir + "/cpuinfo_max_freq", &max_khz) || max_khz <= 0) continue;
    std::vector<int> related;
    if (auto r = ReadTrimmed(dir + "/related_cpus"); r.ok()) related = ParseCpuSet(*r);
    if (related.empty())
      if (auto r = ReadTrimmed(dir + "/affected_cpus"); r.ok()) related = ParseCpuSet(*r);
    if (std::find(related.begin(), related.end(), cpu) == related.end()) related = {cpu};
    int64_t base_khz = 0;
    ReadInt(dir + "/base_frequency", &base_khz);
    // related_cpus may name offline cores; the policy is keyed by its
    // first core whatever their state, and holds only the online ones.
    Policy& p = policies[related.front()];
    p.cpus.push_back(cpu);
    p.max_khz = std::max(p.max_khz, max_khz);
    p.rank_khz = std::max(p.rank_khz, base_khz > 0 ? base_khz : max_khz);
  }
  if (policies.empty()) return topo;

  std::vector<Policy> sorted;
  for (auto& entry : policies) sorted.push_back(std::move(entry.second));
  topo.per_core_policies = std::all_of(
      sorted.begin(), sorted.end(), [](const Policy& p) { return p.cpus.size() == 1; });
  // Stable: equal ranks keep the order of their first cores.
  std::stable_sort(sorted.begin(), sorted.end(), [](const Policy& a, const Policy& b) {
    return a.rank_khz < b.rank_khz;
  });
  for (const Policy& p : sorted) {
    CpuCluster* c = topo.clusters.empty() ? nullptr : &topo.clusters.back();
    const bool same = c && (c->rank_khz == p.rank_khz ||
                            (topo.per_core_policies &&
                             static_cast<double>(p.rank_khz) <
                                 static_cast<double>(c->rank_khz) * kPerCoreMergeRatio));
    if (!same) {
      topo.clusters.emplace_back();
      c = &topo.clusters.back();
      c->rank_khz = p.rank_khz;  // the cluster's lowest, so merging cannot drift
    }
    c->cpus.insert(c->cpus.end(), p.cpus.begin(), p.cpus.end());
    c->max_khz = std::max(c->max_khz, p.max_khz);
    c->policy_cpus.push_back(p.cpus.front());  // an online core of the policy
  }
  for (CpuCluster& c : topo.clusters) {
    std::sort(c.cpus.begin(), c.cpus.end());
    std::sort(c.policy_cpus.begin(), c.policy_cpus.end());
  }
  return topo;
}

}  // namespace edgebench::runtime::telemetry_internal
