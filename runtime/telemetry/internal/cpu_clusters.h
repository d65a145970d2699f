// runtime/telemetry/internal/cpu_clusters.h — grouping a device's cores
// into clusters from cpufreq sysfs, for ClusterCores() ("big"/"little"
// affinity) and the per-cluster frequency samples.
//
// A cluster is a set of cores of one kind. On phones and boards each
// cluster shares one clock: cpufreq exposes it as a policy whose
// related_cpus lists the cores (cpuN/cpufreq is a link to
// cpufreq/policyM), and the kinds differ by cpuinfo_max_freq (Snapdragon
// 8 Gen 2: 2.0 / 2.8 / 3.2 GHz). Policies with the same rank form one
// cluster, the rank being cpuinfo_max_freq, or intel_pstate's
// base_frequency where it exists: Intel's "favoured" cores (Turbo Boost
// Max 3.0) have a higher cpuinfo_max_freq than their siblings but the same
// base frequency, while E-cores have a lower one.
//
// x86 also has one policy per core, and AMD's preferred cores (amd-pstate)
// differ in cpuinfo_max_freq by a few percent with no base_frequency to
// tell. So when every policy holds a single core, ranks within 5% of a
// cluster's lowest merge into it. Shared-clock clusters are never merged:
// there a few percent is a different core (Snapdragon 8 Gen 3 runs its
// A720s at 2.96 and 3.15 GHz in two clusters).
//
// Thread-safety: pure functions of the tree they read.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace edgebench::runtime::telemetry_internal {

struct CpuCluster {
  std::vector<int> cpus;         // ascending
  int64_t max_khz = 0;           // highest cpuinfo_max_freq of its cores
  int64_t rank_khz = 0;          // what it was grouped and ordered by
  std::vector<int> policy_cpus;  // one core per cpufreq policy in it
};

struct CpuTopology {
  std::vector<int> online;           // ascending
  std::vector<CpuCluster> clusters;  // slowest first; empty without cpufreq
  bool per_core_policies = false;    // every policy holds one core
};

// Reads <sys_root>/devices/system/cpu: the online cores ("online", or the
// cpuN folders when it is missing) and their cpufreq attributes. Cores
// without cpufreq belong to no cluster. NotFound when no core is found.
Result<CpuTopology> ReadCpuTopology(const std::string& sys_root);

}  // namespace edgebench::runtime::telemetry_internal
