// harness/sweep/internal/product.h — the Cartesian product of a sweep spec,
// pruned by its include/exclude rules, in canonical order; shared by the spec
// checks (spec.cc) and the planner (plan.cc).
//
// Thread-safety: tables and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "harness/sweep/spec.h"
#include "protocol/run_spec.h"

namespace edgebench::harness::sweep::internal {

struct IntAxis {
  std::string_view name;
  std::vector<int> Axes::*list;
  int protocol::RunConfig::*field;
  int64_t min;
  int64_t max;
  std::string_view flag;  // the `edgebench run` flag
};

struct StringAxis {
  std::string_view name;
  std::vector<std::string> Axes::*list;
  std::string protocol::RunConfig::*field;
  std::string_view flag;
};

inline constexpr int64_t kMaxTokens = 1 << 20;  // as the run spec's

// In kAxisNames order: the integer axes, then the string axes.
inline constexpr IntAxis kIntAxes[] = {
    {"threads", &Axes::threads, &protocol::RunConfig::threads, 1, 1024, "-t"},
    {"n_prompt", &Axes::n_prompt, &protocol::RunConfig::n_prompt, 0, kMaxTokens, "-p"},
    {"n_gen", &Axes::n_gen, &protocol::RunConfig::n_gen, 0, kMaxTokens, "-n"},
    {"n_depth", &Axes::n_depth, &protocol::RunConfig::n_depth, 0, kMaxTokens, "--depth"},
    {"n_batch", &Axes::n_batch, &protocol::RunConfig::n_batch, 1, kMaxTokens, "-b"},
    {"n_ctx", &Axes::n_ctx, &protocol::RunConfig::n_ctx, 0, kMaxTokens, "-c"},
};
inline constexpr StringAxis kStringAxes[] = {
    {"cpus", &Axes::cpus, &protocol::RunConfig::cpus, "--cpus"},
    {"kv_type", &Axes::kv_type, &protocol::RunConfig::kv_type, "--kv-type"},
};

// The canonical texts of one axis's values (integers in decimal).
std::vector<std::string> AxisTexts(const Axes& axes, std::string_view axis);

// A value as config keys write it: bare when it is made of [A-Za-z0-9._,:+@/-]
// only and not empty, otherwise in double quotes with \" \\ and \xNN escapes
// (injective, so two values never share a key).
std::string QuoteKeyValue(std::string_view value);

// One configuration of the product, before keys and sharding.
struct ProductEntry {
  size_t device = 0;        // index into spec.devices
  size_t model = 0;         // index into spec.models
  size_t backend = 0;       // index into spec.backends
  protocol::RunConfig run;  // axis values and the sweep-wide run fields; no run_id
};

// (name, canonical text) of every key of a configuration in canonical order:
// device, model (label), backend, then kAxisNames.
std::vector<std::pair<std::string_view, std::string>> Fields(const SweepSpec& spec,
                                                             const ProductEntry& e);

// "device=pixel model=tiny.gguf backend=native threads=4 ... kv_type=f16"
std::string ConfigKey(
    const std::vector<std::pair<std::string_view, std::string>>& fields);

// Every configuration that passes include/exclude, in canonical order
// (device, model, backend, then the axes in kAxisNames order, the first
// varying slowest). Errors: too large a product, nothing left, a
// configuration measuring nothing (n_prompt 0 and n_gen 0).
Result<std::vector<ProductEntry>> EnumerateConfigs(const SweepSpec& spec);

}  // namespace edgebench::harness::sweep::internal
