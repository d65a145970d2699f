// The inline definitions of protocol/run_spec.h (the protocol library is
// header-only so the runtime builds for any ABI with no extra target).
#pragma once

#include <algorithm>
#include <limits>

#include "protocol/json_check.h"

namespace edgebench::protocol {

namespace run_spec_internal {

constexpr int64_t kMaxTokens = 1 << 20;

inline Status ParsePrompt(const nlohmann::json& j, const std::string& ptr, PromptSpec* p) {
  ASSIGN_OR_RETURN(JsonObject o, JsonObject::Open(j, ptr));
  RETURN_IF_ERROR(o.Enum("kind", &p->kind, {"synthetic", "text"}));
  RETURN_IF_ERROR(o.String("text", &p->text));
  if (p->kind == "text" && p->text.empty())
    return InvalidArgumentError(o.Pointer("text") + ": a text prompt needs a non-empty text");
  return o.NoUnknownKeys();
}

inline Status ParseSampler(const nlohmann::json& j, const std::string& ptr, SamplerSpec* s) {
  ASSIGN_OR_RETURN(JsonObject o, JsonObject::Open(j, ptr));
  double temperature = s->temperature, top_p = s->top_p, min_p = s->min_p;
  RETURN_IF_ERROR(o.Number("temperature", &temperature, 0, 100));
  RETURN_IF_ERROR(o.Int("top_k", &s->top_k, 0, 1 << 24));
  RETURN_IF_ERROR(o.Number("top_p", &top_p, 1e-9, 1));
  RETURN_IF_ERROR(o.Number("min_p", &min_p, 0, 0.999999));
  s->temperature = static_cast<float>(temperature);
  s->top_p = static_cast<float>(top_p);
  s->min_p = static_cast<float>(min_p);
  return o.NoUnknownKeys();
}

// The run fields of one object (the top level or an entry of "runs").
inline Status ParseRunFields(JsonObject& o, RunConfig* r) {
  RETURN_IF_ERROR(o.String("run_id", &r->run_id));
  RETURN_IF_ERROR(o.Int("threads", &r->threads, 1, 1024));
  RETURN_IF_ERROR(o.String("cpus", &r->cpus));
  if (!r->cpus.empty() && r->cpus != "big" && r->cpus != "little")
    RETURN_IF_ERROR(ParseCpuList(r->cpus, o.Pointer("cpus")).status());
  RETURN_IF_ERROR(o.Int("n_prompt", &r->n_prompt, 0, kMaxTokens));
  RETURN_IF_ERROR(o.Int("n_gen", &r->n_gen, 0, kMaxTokens));
  RETURN_IF_ERROR(o.Int("n_depth", &r->n_depth, 0, kMaxTokens));
  RETURN_IF_ERROR(o.Int("n_batch", &r->n_batch, 1, kMaxTokens));
  RETURN_IF_ERROR(o.Int("n_ctx", &r->n_ctx, 0, kMaxTokens));
  RETURN_IF_ERROR(o.Enum("kv_type", &r->kv_type, {"f16", "f32"}));
  if (const nlohmann::json* p = o.Raw("prompt"))
    RETURN_IF_ERROR(ParsePrompt(*p, o.Pointer("prompt"), &r->prompt));
  if (const nlohmann::json* s = o.Raw("sampler"))
    RETURN_IF_ERROR(ParseSampler(*s, o.Pointer("sampler"), &r->sampler));
  RETURN_IF_ERROR(o.Int("warmup", &r->warmup, 0, 1000));
  RETURN_IF_ERROR(o.Int("repetitions", &r->repetitions, 1, 100000));
  RETURN_IF_ERROR(o.Uint64("seed", &r->seed));
  RETURN_IF_ERROR(o.Number("timeout_s", &r->timeout_s, 0, 1e7));
  return Status::Ok();
}

inline Status CheckRun(const RunConfig& r, const std::string& ptr) {
  if (r.n_prompt == 0 && r.n_gen == 0)
    return InvalidArgumentError(ptr + ": n_prompt and n_gen are both 0: nothing to measure");
  // An n_ctx smaller than n_depth + n_prompt + n_gen is not refused here:
  // it overflows in the engine and fails that run alone, as on a device.
  return Status::Ok();
}

// The sub-objects as ToJson writes them; also used by the sweep spec.
inline nlohmann::json PromptToJson(const PromptSpec& p) {
  return {{"kind", p.kind}, {"text", p.text}};
}
inline nlohmann::json SamplerToJson(const SamplerSpec& s) {
  return {{"temperature", s.temperature},
          {"top_k", s.top_k},
          {"top_p", s.top_p},
          {"min_p", s.min_p}};
}
inline nlohmann::json TelemetryToJson(const TelemetrySpec& t) {
  return {{"enabled", t.enabled},          {"period_ms", t.period_ms},
          {"sources", t.sources},          {"proc_root", t.proc_root},
          {"sys_root", t.sys_root},        {"baseline_ms", t.baseline_ms}};
}
// Without "enabled": a present cooldown object means enabled.
inline nlohmann::json CooldownToJson(const CooldownSpec& c) {
  return {{"max_temp_c", c.max_temp_c}, {"timeout_s", c.timeout_s}, {"poll_ms", c.poll_ms}};
}

inline nlohmann::json RunToJson(const RunConfig& r) {
  return {{"run_id", r.run_id},
          {"threads", r.threads},
          {"cpus", r.cpus},
          {"n_prompt", r.n_prompt},
          {"n_gen", r.n_gen},
          {"n_depth", r.n_depth},
          {"n_batch", r.n_batch},
          {"n_ctx", r.n_ctx},
          {"kv_type", r.kv_type},
          {"prompt", PromptToJson(r.prompt)},
          {"sampler", SamplerToJson(r.sampler)},
          {"warmup", r.warmup},
          {"repetitions", r.repetitions},
          {"seed", r.seed},
          {"timeout_s", r.timeout_s}};
}

}  // namespace run_spec_internal

inline Result<std::vector<int>> ParseCpuList(std::string_view list, std::string_view what) {
  std::vector<int> cpus;
  auto bad = [&] {
    return InvalidArgumentError(std::string(what) + ": expected \"big\", \"little\" or a CPU "
                                "list like \"0,2,4-7\", got \"" + std::string(list) + "\"");
  };
  size_t i = 0;
  while (i < list.size()) {
    size_t end = list.find(',', i);
    if (end == std::string_view::npos) end = list.size();
    const std::string_view item = list.substr(i, end - i);
    const size_t dash = item.find('-');
    auto number = [&](std::string_view s, int* out) {
      if (s.empty() || s.size() > 4) return false;
      int v = 0;
      for (char c : s) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + (c - '0');
      }
      *out = v;
      return true;
    };
    int a = 0, b = 0;
    if (dash == std::string_view::npos) {
      if (!number(item, &a)) return bad();
      b = a;
    } else if (!number(item.substr(0, dash), &a) || !number(item.substr(dash + 1), &b) || b < a) {
      return bad();
    }
    for (int c = a; c <= b; ++c)
      if (std::find(cpus.begin(), cpus.end(), c) == cpus.end()) cpus.push_back(c);
    i = end + 1;
  }
  if (cpus.empty()) return bad();
  return cpus;
}

inline Result<RunSpec> ParseRunSpec(const nlohmann::json& j) {
  using namespace run_spec_internal;
  RunSpec spec;
  ASSIGN_OR_RETURN(JsonObject top, JsonObject::Open(j, ""));
  RETURN_IF_ERROR(top.Required("schema"));
  RETURN_IF_ERROR(top.Int("schema", &spec.schema, 1, 1000));
  if (spec.schema != kRunSpecSchema)
    return InvalidArgumentError("/schema: this runtime reads schema " +
                                std::to_string(kRunSpecSchema) + ", got " +
                                std::to_string(spec.schema));
  RETURN_IF_ERROR(top.Enum("backend", &spec.backend, {"native", "llamacpp", "command"}));
  RETURN_IF_ERROR(top.String("model", &spec.model));
  if (spec.backend != "command" && spec.model.empty())
    return InvalidArgumentError("/model: required field is missing");
  RETURN_IF_ERROR(top.Bool("use_mmap", &spec.use_mmap));
  RETURN_IF_ERROR(top.Bool("check_memory", &spec.check_memory));
  RETURN_IF_ERROR(top.Number("timeout_s", &spec.timeout_s, 0, 1e7));
  if (const nlohmann::json* t = top.Raw("telemetry")) {
    ASSIGN_OR_RETURN(JsonObject o, JsonObject::Open(*t, "/telemetry"));
    TelemetrySpec& ts = spec.telemetry;
    RETURN_IF_ERROR(o.Bool("enabled", &ts.enabled));
    RETURN_IF_ERROR(o.Int("period_ms", &ts.period_ms, 1, 60000));
    RETURN_IF_ERROR(o.StringList("sources", &ts.sources));
    for (size_t i = 0; i < ts.sources.size(); ++i) {
      static const char* kKnown[] = {"mem", "cpufreq", "thermal", "power_supply", "hwmon", "rapl"};
      if (std::find(std::begin(kKnown), std::end(kKnown), ts.sources[i]) == std::end(kKnown))
        return InvalidArgumentError(
            JoinPointer(o.Pointer("sources"), std::to_string(i)) +
            ": expected one of \"mem\", \"cpufreq\", \"thermal\", \"power_supply\", \"hwmon\", "
            "\"rapl\", got \"" + ts.sources[i] + "\"");
    }
    RETURN_IF_ERROR(o.String("proc_root", &ts.proc_root));
    RETURN_IF_ERROR(o.String("sys_root", &ts.sys_root));
    RETURN_IF_ERROR(o.Int("baseline_ms", &ts.baseline_ms, 0, 600000));
    RETURN_IF_ERROR(o.NoUnknownKeys());
  }
  if (const nlohmann::json* c = top.Raw("cooldown")) {
    if (!c->is_null()) {
      ASSIGN_OR_RETURN(JsonObject o, JsonObject::Open(*c, "/cooldown"));
      CooldownSpec& cs = spec.cooldown;
      cs.enabled = true;
      RETURN_IF_ERROR(o.Bool("enabled", &cs.enabled));
      RETURN_IF_ERROR(o.Number("max_temp_c", &cs.max_temp_c, -50, 200));
      RETURN_IF_ERROR(o.Number("timeout_s", &cs.timeout_s, 0, 86400));
      RETURN_IF_ERROR(o.Int("poll_ms", &cs.poll_ms, 1, 60000));
      RETURN_IF_ERROR(o.NoUnknownKeys());
    }
  }
  if (const nlohmann::json* c = top.Raw("command")) {
    ASSIGN_OR_RETURN(JsonObject o, JsonObject::Open(*c, "/command"));
    RETURN_IF_ERROR(o.StringList("argv", &spec.command.argv));
    RETURN_IF_ERROR(o.Enum("parser", &spec.command.parser, {"llama-bench-jsonl", "llama-perf"}));
    RETURN_IF_ERROR(o.NoUnknownKeys());
  }
  if (spec.backend == "command" && spec.command.argv.empty())
    return InvalidArgumentError("/command/argv: the command backend needs a command line");

  // Top-level run fields are the defaults of every run.
  RunConfig defaults;
  RETURN_IF_ERROR(ParseRunFields(top, &defaults));
  if (const nlohmann::json* runs = top.Raw("runs")) {
    if (!runs->is_array() || runs->empty())
      return JsonTypeError("/runs", "a non-empty list of runs", *runs);
    for (size_t i = 0; i < runs->size(); ++i) {
      const std::string ptr = "/runs/" + std::to_string(i);
      ASSIGN_OR_RETURN(JsonObject o, JsonObject::Open((*runs)[i], ptr));
      RunConfig r = defaults;
      RETURN_IF_ERROR(ParseRunFields(o, &r));
      RETURN_IF_ERROR(o.NoUnknownKeys());
      if (r.run_id.empty()) r.run_id = "run" + std::to_string(i);
      RETURN_IF_ERROR(CheckRun(r, ptr));
      spec.runs.push_back(std::move(r));
    }
  } else {
    if (defaults.run_id.empty()) defaults.run_id = "run0";
    RETURN_IF_ERROR(CheckRun(defaults, ""));
    spec.runs.push_back(defaults);
  }
  RETURN_IF_ERROR(top.NoUnknownKeys());
  for (size_t i = 0; i < spec.runs.size(); ++i)
    for (size_t k = 0; k < i; ++k)
      if (spec.runs[i].run_id == spec.runs[k].run_id)
        return InvalidArgumentError("/runs/" + std::to_string(i) + "/run_id: \"" +
                                    spec.runs[i].run_id + "\" is used twice");
  return spec;
}

inline Result<RunSpec> ParseRunSpecText(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false,
                                           /*ignore_comments=*/true);
  if (j.is_discarded()) {
    // Parse again with exceptions for the position and reason.
    try {
      nlohmann::json again = nlohmann::json::parse(text, nullptr, true, true);
      (void)again;
    } catch (const nlohmann::json::parse_error& e) {
      return InvalidArgumentError(std::string("run spec is not valid JSON: ") + e.what());
    }
    return InvalidArgumentError("run spec is not valid JSON");
  }
  return ParseRunSpec(j);
}

inline nlohmann::json ToJson(const RunSpec& s) {
  nlohmann::json runs = nlohmann::json::array();
  for (const RunConfig& r : s.runs) runs.push_back(run_spec_internal::RunToJson(r));
  nlohmann::json j = {
      {"schema", s.schema},
      {"backend", s.backend},
      {"model", s.model},
      {"use_mmap", s.use_mmap},
      {"check_memory", s.check_memory},
      {"timeout_s", s.timeout_s},
      {"telemetry", run_spec_internal::TelemetryToJson(s.telemetry)},
      {"runs", runs}};
  if (s.cooldown.enabled) j["cooldown"] = run_spec_internal::CooldownToJson(s.cooldown);
  if (!s.command.argv.empty())
    j["command"] = {{"argv", s.command.argv}, {"parser", s.command.parser}};
  return j;
}

}  // namespace edgebench::protocol
