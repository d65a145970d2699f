#include "harness/sweep/internal/product.h"

#include <algorithm>
#include <array>
#include <cstdio>

namespace edgebench::harness::sweep::internal {

std::vector<std::string> AxisTexts(const Axes& axes, std::string_view axis) {
  std::vector<std::string> out;
  for (const IntAxis& a : kIntAxes)
    if (a.name == axis)
      for (int v : axes.*a.list) out.push_back(std::to_string(v));
  for (const StringAxis& a : kStringAxes)
    if (a.name == axis) out = axes.*a.list;
  return out;
}

std::string QuoteKeyValue(std::string_view value) {
  auto safe = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("._,:+@/-").find(c) != std::string_view::npos;
  };
  if (!value.empty() && std::all_of(value.begin(), value.end(), safe))
    return std::string(value);
  std::string out = "\"";
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::vector<std::pair<std::string_view, std::string>> Fields(const SweepSpec& spec,
                                                             const ProductEntry& e) {
  std::vector<std::pair<std::string_view, std::string>> f;
  f.reserve(3 + kAxisNames.size());
  f.emplace_back("device", spec.devices[e.device]);
  f.emplace_back("model", spec.models[e.model].label);
  f.emplace_back("backend", spec.backends[e.backend]);
  for (const IntAxis& a : kIntAxes)
    f.emplace_back(a.name, std::to_string(e.run.*a.field));
  for (const StringAxis& a : kStringAxes) f.emplace_back(a.name, e.run.*a.field);
  return f;
}

std::string ConfigKey(
    const std::vector<std::pair<std::string_view, std::string>>& fields) {
  std::string key;
  for (const auto& [name, value] : fields) {
    if (!key.empty()) key += ' ';
    key += name;
    key += '=';
    key += QuoteKeyValue(value);
  }
  return key;
}

namespace {

bool Matches(const Rule& rule,
             const std::vector<std::pair<std::string_view, std::string>>& fields) {
  for (const auto& [key, values] : rule.match) {
    auto it = std::find_if(fields.begin(), fields.end(),
                           [&](const auto& f) { return f.first == key; });
    // The spec parser accepts only known keys; an unknown one matches nothing.
    if (it == fields.end()) return false;
    if (std::find(values.begin(), values.end(), it->second) == values.end()) return false;
  }
  return true;
}

}  // namespace

Result<std::vector<ProductEntry>> EnumerateConfigs(const SweepSpec& spec) {
  // Sizes of every dimension, outermost first.
  std::vector<size_t> sizes = {spec.devices.size(), spec.models.size(),
                               spec.backends.size()};
  for (const IntAxis& a : kIntAxes) sizes.push_back((spec.axes.*a.list).size());
  for (const StringAxis& a : kStringAxes) sizes.push_back((spec.axes.*a.list).size());
  double total_d = 1;
  for (size_t n : sizes) total_d *= static_cast<double>(n);
  if (total_d > static_cast<double>(kMaxConfigs))
    return InvalidArgumentError("/axes: the sweep has " +
                                std::to_string(static_cast<uint64_t>(total_d)) +
                                " configurations (devices x models x backends x axis "
                                "values), more than the limit of " +
                                std::to_string(kMaxConfigs));
  const size_t total = static_cast<size_t>(total_d);
  if (total == 0) return InvalidArgumentError("/: the sweep has no configuration");

  std::vector<ProductEntry> out;
  std::vector<size_t> idx(sizes.size(), 0);
  for (size_t t = 0; t < total; ++t) {
    // Mixed radix, the last dimension fastest.
    size_t rest = t;
    for (size_t d = sizes.size(); d-- > 0;) {
      idx[d] = rest % sizes[d];
      rest /= sizes[d];
    }
    ProductEntry e;
    e.device = idx[0];
    e.model = idx[1];
    e.backend = idx[2];
    protocol::RunConfig& r = e.run;
    size_t d = 3;
    for (const IntAxis& a : kIntAxes) r.*a.field = (spec.axes.*a.list)[idx[d++]];
    for (const StringAxis& a : kStringAxes) r.*a.field = (spec.axes.*a.list)[idx[d++]];
    r.prompt = spec.prompt;
    r.sampler = spec.sampler;
    r.warmup = spec.warmup;
    r.repetitions = spec.repetitions;
    r.seed = spec.seed;
    r.timeout_s = spec.timeout_s;

    const auto fields = Fields(spec, e);
    bool keep = spec.include.empty();
    for (const Rule& rule : spec.include) keep = keep || Matches(rule, fields);
    for (const Rule& rule : spec.exclude) keep = keep && !Matches(rule, fields);
    if (!keep) continue;
    if (r.n_prompt == 0 && r.n_gen == 0)
      return InvalidArgumentError("/axes: n_prompt 0 with n_gen 0 measures nothing (" +
                                  ConfigKey(fields) +
                                  "); exclude it with {\"n_prompt\": 0, \"n_gen\": 0}");
    out.push_back(std::move(e));
  }
  if (out.empty())
    return InvalidArgumentError(
        std::string(spec.include.empty() ? "/exclude" : "/include") +
        ": the include and exclude rules leave no configuration to run");
  return out;
}

}  // namespace edgebench::harness::sweep::internal
