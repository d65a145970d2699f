#include "harness/sweep/spec.h"

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "harness/sweep/internal/product.h"
#include "protocol/json_check.h"

namespace edgebench::harness::sweep {

using nlohmann::json;
using protocol::JoinPointer;
using protocol::JsonObject;

namespace {

// The engines a run may name: in the runtime (native, llamacpp) or a child
// process (command). Whether a runtime links llamacpp is its own to say.
constexpr std::string_view kBackendNames[] = {"native", "llamacpp", "command"};
constexpr const char* kBackendChoices = "one of \"native\", \"llamacpp\", \"command\"";
bool IsBackend(std::string_view b) {
  return std::find(std::begin(kBackendNames), std::end(kBackendNames), b) !=
         std::end(kBackendNames);
}

using internal::IntAxis;
using internal::kIntAxes;
using internal::kStringAxes;
using internal::StringAxis;

// JsonSnippet, but an empty list reads "[]" rather than "an array".
std::string Snippet(const json& v) {
  if (v.is_array() && v.empty()) return "[]";
  if (v.is_object() && v.empty()) return "{}";
  return protocol::JsonSnippet(v);
}

Status TypeError(const std::string& what, std::string_view expected, const json& got) {
  return InvalidArgumentError((what.empty() ? "/" : what) + ": expected " +
                              std::string(expected) + ", got " + Snippet(got));
}

std::string Item(const std::string& ptr, size_t i) {
  return JoinPointer(ptr, std::to_string(i));
}

const IntAxis* FindIntAxis(std::string_view name) {
  for (const IntAxis& a : kIntAxes)
    if (a.name == name) return &a;
  return nullptr;
}
const StringAxis* FindStringAxis(std::string_view name) {
  for (const StringAxis& a : kStringAxes)
    if (a.name == name) return &a;
  return nullptr;
}
bool IsAxis(std::string_view name) { return FindIntAxis(name) || FindStringAxis(name); }

std::string AxisList() {
  std::string s;
  for (std::string_view n : kAxisNames) s += (s.empty() ? "" : ", ") + std::string(n);
  return s;
}

// Names people reach for (llama-bench's, the issue's) that are not ours.
std::string AxisHint(std::string_view name) {
  static const std::pair<std::string_view, std::string_view> kAliases[] = {
      {"depth", "n_depth"},   {"batch", "n_batch"}, {"ctx", "n_ctx"},
      {"prompt", "n_prompt"}, {"gen", "n_gen"},     {"n_threads", "threads"},
      {"t", "threads"},       {"p", "n_prompt"},    {"n", "n_gen"},
      {"b", "n_batch"},       {"c", "n_ctx"},       {"cache_type_k", "kv_type"},
      {"cpu_mask", "cpus"}};
  for (const auto& [alias, axis] : kAliases)
    if (alias == name) return " (did you mean \"" + std::string(axis) + "\"?)";
  return " (axes: " + AxisList() + ")";
}

// Checks one value of `axis`; `what` names it in errors. Its canonical text
// (as config keys and rules write it) into *text.
Status CheckAxisValue(std::string_view axis, const json& v, const std::string& what,
                      std::string* text) {
  if (const IntAxis* a = FindIntAxis(axis)) {
    if (!v.is_number_integer() || v.get<int64_t>() < a->min)
      return TypeError(what, a->min == 1 ? "a positive integer" : "an integer >= 0", v);
    if (v.get<int64_t>() > a->max)
      return TypeError(
          what, "an integer in " + std::to_string(a->min) + ".." + std::to_string(a->max),
          v);
    *text = std::to_string(v.get<int64_t>());
    return Status::Ok();
  }
  if (axis == "cpus") {
    static constexpr std::string_view kWant =
        "\"big\", \"little\" or a CPU list like \"0,2,4-7\"";
    if (!v.is_string()) return TypeError(what, kWant, v);
    const std::string s = v.get<std::string>();
    if (!s.empty() && s != "big" && s != "little")
      RETURN_IF_ERROR(protocol::ParseCpuList(s, what).status());
    *text = s;
    return Status::Ok();
  }
  // kv_type
  if (!v.is_string() || (v.get<std::string>() != "f16" && v.get<std::string>() != "f32"))
    return TypeError(what, "one of \"f16\", \"f32\"", v);
  *text = v.get<std::string>();
  return Status::Ok();
}

// A present axis: a non-empty list of valid values without duplicates.
// `item_what(i)` names item i in errors.
Status ParseAxisList(std::string_view axis, const json& list,
                     const std::string& list_what,
                     const std::function<std::string(size_t)>& item_what,
                     std::vector<std::string>* texts) {
  if (!list.is_array() || list.empty())
    return TypeError(list_what, "a non-empty list", list);
  texts->clear();
  for (size_t i = 0; i < list.size(); ++i) {
    std::string text;
    RETURN_IF_ERROR(CheckAxisValue(axis, list[i], item_what(i), &text));
    for (size_t k = 0; k < texts->size(); ++k)
      if ((*texts)[k] == text)
        return InvalidArgumentError(item_what(i) + ": duplicate value " +
                                    Snippet(list[i]) + ", also at " + item_what(k));
    texts->push_back(std::move(text));
  }
  return Status::Ok();
}

// REQUIRES: `texts` passed ParseAxisList for `axis`.
void SetAxis(Axes* axes, std::string_view axis, const std::vector<std::string>& texts) {
  if (const IntAxis* a = FindIntAxis(axis)) {
    std::vector<int>& list = axes->*a->list;
    list.clear();
    for (const std::string& t : texts) list.push_back(std::stoi(t));
  } else if (const StringAxis* s = FindStringAxis(axis)) {
    axes->*s->list = texts;
  }
}

// A non-empty list of distinct non-empty strings (devices).
Status ParseNameList(const json& v, const std::string& ptr, std::string_view item_kind,
                     std::vector<std::string>* out) {
  if (!v.is_array() || v.empty())
    return TypeError(ptr, "a non-empty list of " + std::string(item_kind) + "s", v);
  out->clear();
  for (size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_string() || v[i].get<std::string>().empty())
      return TypeError(Item(ptr, i),
                       "a " + std::string(item_kind) + " (a non-empty string)", v[i]);
    const std::string s = v[i].get<std::string>();
    for (size_t k = 0; k < out->size(); ++k)
      if ((*out)[k] == s)
        return InvalidArgumentError(Item(ptr, i) + ": duplicate value " + Snippet(v[i]) +
                                    ", also at " + Item(ptr, k));
    out->push_back(s);
  }
  return Status::Ok();
}

std::string ResolvePath(const std::string& base_dir, const std::string& path) {
  namespace fs = std::filesystem;
  if (base_dir.empty() || fs::path(path).is_absolute())
    return fs::path(path).lexically_normal().string();
  return (fs::path(base_dir) / path).lexically_normal().string();
}

// The model label of a path as written: its file name.
std::string DefaultLabel(const std::string& path) {
  return std::filesystem::path(path).filename().string();
}

Status ParseModels(const json& v, const std::string& base_dir,
                   std::vector<ModelSpec>* models, std::vector<std::string>* written) {
  static constexpr std::string_view kWant =
      "a model path or an object {\"path\": ..., \"label\": ...}";
  if (!v.is_array() || v.empty())
    return TypeError("/models", "a non-empty list of models", v);
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string ptr = Item("/models", i);
    std::string path, label;
    std::string label_ptr = ptr;
    if (v[i].is_string()) {
      path = v[i].get<std::string>();
      if (path.empty()) return TypeError(ptr, kWant, v[i]);
    } else if (v[i].is_object()) {
      JsonObject o(v[i], ptr);
      RETURN_IF_ERROR(o.Required("path"));
      RETURN_IF_ERROR(o.String("path", &path));
      if (path.empty())
        return TypeError(o.Pointer("path"), "a non-empty path", v[i]["path"]);
      RETURN_IF_ERROR(o.String("label", &label));
      if (o.Has("label")) {
        label_ptr = o.Pointer("label");
        if (label.empty())
          return TypeError(label_ptr, "a non-empty label", v[i]["label"]);
      }
      RETURN_IF_ERROR(o.NoUnknownKeys());
    } else {
      return TypeError(ptr, kWant, v[i]);
    }
    if (label.empty()) label = DefaultLabel(path);
    if (label.empty() || label == "." || label == "..")
      return InvalidArgumentError(ptr + ": a model path names a file, got \"" + path +
                                  "\"");
    ModelSpec m{ResolvePath(base_dir, path), label};
    for (size_t k = 0; k < models->size(); ++k) {
      if ((*models)[k].label == m.label)
        return InvalidArgumentError(label_ptr + ": duplicate model label \"" + m.label +
                                    "\", also at " + Item("/models", k) +
                                    " (give one a \"label\")");
      if ((*models)[k].path == m.path)
        return InvalidArgumentError(ptr + ": duplicate model \"" + m.path +
                                    "\", also at " + Item("/models", k));
    }
    models->push_back(std::move(m));
    written->push_back(path);
  }
  return Status::Ok();
}

// What a rule may name and the values the sweep has for it.
struct RuleContext {
  const SweepSpec* spec;
  const std::vector<std::string>* model_paths_written;
};

std::string RenderValues(std::string_view key, const std::vector<std::string>& texts) {
  std::string s;
  for (const std::string& t : texts)
    s += (s.empty() ? "" : ", ") + (FindIntAxis(key) ? t : json(t).dump());
  return s;
}

// One rule value: checked, canonical text into *text, and present in the sweep.
Status CheckRuleValue(const RuleContext& c, const std::string& key, const json& v,
                      const std::string& what, std::string* text) {
  const SweepSpec& s = *c.spec;
  std::vector<std::string> have;
  if (key == "device" || key == "backend" || key == "model") {
    if (!v.is_string()) return TypeError(what, "a string", v);
    *text = v.get<std::string>();
    if (key == "device") have = s.devices;
    if (key == "backend") have = s.backends;
    if (key == "model") {
      for (size_t i = 0; i < s.models.size(); ++i) {
        have.push_back(s.models[i].label);
        // A path as the sweep file wrote it names the same model.
        if (*text == (*c.model_paths_written)[i]) *text = s.models[i].label;
      }
    }
  } else {
    RETURN_IF_ERROR(CheckAxisValue(key, v, what, text));
    have = internal::AxisTexts(s.axes, key);
  }
  if (std::find(have.begin(), have.end(), *text) == have.end())
    return InvalidArgumentError(
        what + ": " + Snippet(v) + " is not among the sweep's " + key +
        (key == "device" || key == "model" || key == "backend" ? "s" : "") + " (" +
        RenderValues(key, have) + ")");
  return Status::Ok();
}

Status ParseRules(const json& v, const std::string& ptr, bool allow_empty,
                  const RuleContext& c, std::vector<Rule>* rules) {
  if (!v.is_array() || (v.empty() && !allow_empty))
    return TypeError(ptr, allow_empty ? "a list of rules" : "a non-empty list of rules",
                     v);
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string rp = Item(ptr, i);
    const json& r = v[i];
    if (!r.is_object()) return TypeError(rp, "a rule (an object of axis: values)", r);
    if (r.empty())
      return InvalidArgumentError(rp + ": an empty rule matches every configuration");
    Rule rule;
    for (auto it = r.begin(); it != r.end(); ++it) {
      const std::string& key = it.key();
      const std::string kp = JoinPointer(rp, key);
      if (key != "device" && key != "model" && key != "backend" && !IsAxis(key)) {
        std::string hint = AxisHint(key);
        if (hint.rfind(" (axes:", 0) == 0)
          hint = " (rules name \"device\", \"model\", \"backend\" or an axis: " +
                 AxisList() + ")";
        return InvalidArgumentError(kp + ": unknown key" + hint);
      }
      std::vector<std::string>& texts = rule.match[key];
      if (it->is_array()) {
        if (it->empty())
          return TypeError(kp, "a value or a non-empty list of values", *it);
        for (size_t k = 0; k < it->size(); ++k) {
          std::string text;
          RETURN_IF_ERROR(CheckRuleValue(c, key, (*it)[k], Item(kp, k), &text));
          texts.push_back(std::move(text));
        }
      } else {
        std::string text;
        RETURN_IF_ERROR(CheckRuleValue(c, key, *it, kp, &text));
        texts.push_back(std::move(text));
      }
    }
    rules->push_back(std::move(rule));
  }
  return Status::Ok();
}

// Fields the run spec defines; the sweep hands them to ParseRunSpec so the
// two never disagree on what is valid.
constexpr std::string_view kRunSpecFields[] = {"warmup",    "repetitions", "seed",
                                               "prompt",    "sampler",     "cooldown",
                                               "telemetry", "command"};

constexpr std::string_view kTopFields[] = {
    "schema",        "name",     "devices",     "models",  "backends",
    "axes",          "warmup",   "repetitions", "seed",    "prompt",
    "sampler",       "cooldown", "telemetry",   "command", "timeout_s",
    "run_timeout_s", "labels",   "include",     "exclude"};

json RulesToJson(const std::vector<Rule>& rules) {
  json out = json::array();
  for (const Rule& r : rules) {
    json o = json::object();
    for (const auto& [key, texts] : r.match) {
      json values = json::array();
      for (const std::string& t : texts)
        values.push_back(FindIntAxis(key) ? json(std::stoll(t)) : json(t));
      o[key] = values;
    }
    out.push_back(o);
  }
  return out;
}

}  // namespace

Result<SweepSpec> ParseSweepSpec(const json& j, const std::string& base_dir) {
  SweepSpec spec;
  ASSIGN_OR_RETURN(JsonObject top, JsonObject::Open(j, ""));
  // Unknown keys first: a misspelt "axes" would otherwise surface as a
  // confusing error about a rule.
  for (auto it = j.begin(); it != j.end(); ++it)
    if (std::find(std::begin(kTopFields), std::end(kTopFields), it.key()) ==
        std::end(kTopFields))
      return InvalidArgumentError(JoinPointer("", it.key()) + ": unknown field");

  RETURN_IF_ERROR(top.Int("schema", &spec.schema, 1, 1000));
  if (spec.schema != kSweepSchema)
    return InvalidArgumentError("/schema: this edgebench reads sweep schema " +
                                std::to_string(kSweepSchema) + ", got " +
                                std::to_string(spec.schema));
  RETURN_IF_ERROR(top.String("name", &spec.name));

  const json* devices = top.Raw("devices");
  if (!devices) return InvalidArgumentError("/devices: required field is missing");
  RETURN_IF_ERROR(ParseNameList(*devices, "/devices", "device name", &spec.devices));

  const json* models = top.Raw("models");
  if (!models) return InvalidArgumentError("/models: required field is missing");
  std::vector<std::string> written;
  RETURN_IF_ERROR(ParseModels(*models, base_dir, &spec.models, &written));

  if (const json* b = top.Raw("backends")) {
    if (!b->is_array() || b->empty())
      return TypeError("/backends", "a non-empty list", *b);
    spec.backends.clear();
    for (size_t i = 0; i < b->size(); ++i) {
      const json& v = (*b)[i];
      if (!v.is_string() || !IsBackend(v.get<std::string>()))
        return TypeError(Item("/backends", i), kBackendChoices, v);
      for (size_t k = 0; k < spec.backends.size(); ++k)
        if (spec.backends[k] == v.get<std::string>())
          return InvalidArgumentError(Item("/backends", i) + ": duplicate value " +
                                      Snippet(v) + ", also at " + Item("/backends", k));
      spec.backends.push_back(v.get<std::string>());
    }
  }

  if (const json* a = top.Raw("axes")) {
    ASSIGN_OR_RETURN(JsonObject axes, JsonObject::Open(*a, "/axes"));
    for (auto it = a->begin(); it != a->end(); ++it)
      if (!IsAxis(it.key()))
        return InvalidArgumentError(axes.Pointer(it.key()) + ": unknown axis" +
                                    AxisHint(it.key()));
    for (std::string_view name : kAxisNames) {
      const json* list = axes.Raw(name);
      if (!list) continue;
      const std::string lp = axes.Pointer(name);
      std::vector<std::string> texts;
      RETURN_IF_ERROR(ParseAxisList(
          name, *list, lp, [&](size_t i) { return Item(lp, i); }, &texts));
      SetAxis(&spec.axes, name, texts);
    }
  }

  // The run spec's own fields, checked by the run spec's parser: its errors
  // name the same pointers, as these sit at the top level in both.
  json run = {{"schema", protocol::kRunSpecSchema}, {"model", "sweep"}};
  if (std::find(spec.backends.begin(), spec.backends.end(), "command") !=
      spec.backends.end())
    run["backend"] = "command";
  for (std::string_view key : kRunSpecFields)
    if (const json* v = top.Raw(key)) run[std::string(key)] = *v;
  ASSIGN_OR_RETURN(protocol::RunSpec rs, protocol::ParseRunSpec(run));
  spec.telemetry = rs.telemetry;
  spec.cooldown = rs.cooldown;
  spec.command = rs.command;
  spec.warmup = rs.runs[0].warmup;
  spec.repetitions = rs.runs[0].repetitions;
  spec.seed = rs.runs[0].seed;
  spec.prompt = rs.runs[0].prompt;
  spec.sampler = rs.runs[0].sampler;

  RETURN_IF_ERROR(top.Number("timeout_s", &spec.timeout_s, 0, 1e7));
  RETURN_IF_ERROR(top.Number("run_timeout_s", &spec.run_timeout_s, 0, 1e7));

  if (const json* l = top.Raw("labels")) {
    if (!l->is_object()) return TypeError("/labels", "an object of string: string", *l);
    for (auto it = l->begin(); it != l->end(); ++it) {
      if (!it->is_string())
        return TypeError(JoinPointer("/labels", it.key()), "a string", *it);
      spec.labels[it.key()] = it->get<std::string>();
    }
  }

  const RuleContext rc{&spec, &written};
  if (const json* v = top.Raw("include"))
    RETURN_IF_ERROR(ParseRules(*v, "/include", /*allow_empty=*/false, rc, &spec.include));
  if (const json* v = top.Raw("exclude"))
    RETURN_IF_ERROR(ParseRules(*v, "/exclude", /*allow_empty=*/true, rc, &spec.exclude));
  RETURN_IF_ERROR(top.NoUnknownKeys());

  // The product itself: not too large, not empty, nothing that measures nothing.
  RETURN_IF_ERROR(internal::EnumerateConfigs(spec).status());
  return spec;
}

Result<SweepSpec> LoadSweepFile(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    return InvalidArgumentError(path + ": is a folder, not a sweep file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return ErrnoToStatus(errno, path);
  std::stringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return ErrnoToStatus(errno, path);
  const std::string text = buf.str();
  json j;
  try {
    j = json::parse(text, nullptr, /*allow_exceptions=*/true, /*ignore_comments=*/true);
  } catch (const json::parse_error& e) {
    // nlohmann's what(): "[json.exception.parse_error.101] parse error at
    // line 3, column 5: syntax error while parsing ..." -> "PATH:3:5: syntax ...".
    std::string what = e.what();
    const size_t at = what.find("at line ");
    const size_t colon = what.find(": ", at == std::string::npos ? 0 : at);
    if (at != std::string::npos && colon != std::string::npos) {
      std::string pos = what.substr(at + 8, colon - (at + 8));  // "3, column 5"
      const size_t comma = pos.find(", column ");
      if (comma != std::string::npos)
        pos = pos.substr(0, comma) + ":" + pos.substr(comma + 9);
      return InvalidArgumentError(path + ":" + pos + ": " + what.substr(colon + 2));
    }
    return InvalidArgumentError(path + ": not valid JSON: " + what);
  }
  std::string base_dir = std::filesystem::path(path).parent_path().string();
  Result<SweepSpec> spec = ParseSweepSpec(j, base_dir);
  if (!spec.ok()) return spec.status().WithContext(path);
  if (spec->name.empty()) spec->name = std::filesystem::path(path).stem().string();
  return spec;
}

json ToJson(const SweepSpec& s) {
  json models = json::array();
  for (const ModelSpec& m : s.models)
    models.push_back({{"path", m.path}, {"label", m.label}});
  json axes = json::object();
  for (const IntAxis& a : kIntAxes) axes[std::string(a.name)] = s.axes.*a.list;
  for (const StringAxis& a : kStringAxes) axes[std::string(a.name)] = s.axes.*a.list;
  json cooldown = protocol::run_spec_internal::CooldownToJson(s.cooldown);
  cooldown["enabled"] = s.cooldown.enabled;
  json j = {
      {"schema", s.schema},
      {"name", s.name},
      {"devices", s.devices},
      {"models", models},
      {"backends", s.backends},
      {"axes", axes},
      {"repetitions", s.repetitions},
      {"warmup", s.warmup},
      {"seed", s.seed},
      {"prompt", protocol::run_spec_internal::PromptToJson(s.prompt)},
      {"sampler", protocol::run_spec_internal::SamplerToJson(s.sampler)},
      {"cooldown", cooldown},
      {"telemetry", protocol::run_spec_internal::TelemetryToJson(s.telemetry)},
      {"command", {{"argv", s.command.argv}, {"parser", s.command.parser}}},
      {"timeout_s", s.timeout_s},
      {"run_timeout_s", s.run_timeout_s},
      {"labels", s.labels},
  };
  if (!s.include.empty()) j["include"] = RulesToJson(s.include);
  if (!s.exclude.empty()) j["exclude"] = RulesToJson(s.exclude);
  return j;
}

Result<SweepSpec> SweepFromRunFlags(const RunFlags& f) {
  SweepSpec spec;
  spec.name = "run";
  if (f.device.empty()) return InvalidArgumentError("-d: a device is required");
  spec.devices = {f.device};
  if (f.models.empty()) return InvalidArgumentError("-m: at least one model is required");
  for (size_t i = 0; i < f.models.size(); ++i) {
    const std::string what = "-m value " + std::to_string(i + 1);
    const std::string label = DefaultLabel(f.models[i]);
    if (f.models[i].empty() || label.empty() || label == "." || label == "..")
      return InvalidArgumentError(what + ": expected a model file, got \"" + f.models[i] +
                                  "\"");
    for (size_t k = 0; k < spec.models.size(); ++k)
      if (spec.models[k].label == label)
        return InvalidArgumentError(what + ": duplicate model \"" + label +
                                    "\", also at -m value " + std::to_string(k + 1));
    spec.models.push_back({f.models[i], label});
  }
  if (!f.backends.empty()) {
    spec.backends.clear();
    for (size_t i = 0; i < f.backends.size(); ++i) {
      const std::string& b = f.backends[i];
      const std::string what = "--backend value " + std::to_string(i + 1);
      if (!IsBackend(b)) return TypeError(what, kBackendChoices, json(b));
      if (std::find(spec.backends.begin(), spec.backends.end(), b) != spec.backends.end())
        return InvalidArgumentError(what + ": duplicate value \"" + b + "\"");
      spec.backends.push_back(b);
    }
  }
  // A flag item is a number when it looks like one; "x" stays a string so
  // the error shows what was typed.
  auto to_json = [](const std::string& s, bool integer) {
    if (integer && !s.empty() && s.size() <= 18 &&
        std::all_of(s.begin() + (s[0] == '-' ? 1 : 0), s.end(),
                    [](char c) { return c >= '0' && c <= '9'; }) &&
        s != "-")
      return json(std::stoll(s));
    return json(s);
  };
  const std::pair<std::string_view, const std::vector<std::string>*> lists[] = {
      {"threads", &f.threads}, {"n_prompt", &f.n_prompt}, {"n_gen", &f.n_gen},
      {"n_depth", &f.n_depth}, {"n_batch", &f.n_batch},   {"n_ctx", &f.n_ctx},
      {"cpus", &f.cpus},       {"kv_type", &f.kv_type}};
  for (const auto& [axis, items] : lists) {
    if (items->empty()) continue;
    const IntAxis* ia = FindIntAxis(axis);
    const std::string flag(ia ? ia->flag : FindStringAxis(axis)->flag);
    json list = json::array();
    for (const std::string& s : *items) list.push_back(to_json(s, ia != nullptr));
    std::vector<std::string> texts;
    RETURN_IF_ERROR(ParseAxisList(
        axis, list, flag,
        [&](size_t i) { return flag + " value " + std::to_string(i + 1); }, &texts));
    SetAxis(&spec.axes, axis, texts);
  }
  if (f.repetitions < 1 || f.repetitions > 100000)
    return TypeError("-r", "an integer in 1..100000", json(f.repetitions));
  if (f.warmup < 0 || f.warmup > 1000)
    return TypeError("--warmup", "an integer in 0..1000", json(f.warmup));
  spec.repetitions = f.repetitions;
  spec.warmup = f.warmup;
  if (std::find(spec.backends.begin(), spec.backends.end(), "command") !=
      spec.backends.end())
    return InvalidArgumentError(
        "--backend command: the command backend needs a command line; use a sweep file "
        "with "
        "\"command\"");
  // The product's own errors name sweep-file pointers; say them in flag terms.
  const auto& p = spec.axes.n_prompt;
  const auto& g = spec.axes.n_gen;
  if (std::find(p.begin(), p.end(), 0) != p.end() &&
      std::find(g.begin(), g.end(), 0) != g.end())
    return InvalidArgumentError("-p 0 with -n 0 measures nothing");
  double configs = static_cast<double>(spec.models.size() * spec.backends.size());
  for (const IntAxis& a : kIntAxes)
    configs *= static_cast<double>((spec.axes.*a.list).size());
  for (const StringAxis& a : kStringAxes)
    configs *= static_cast<double>((spec.axes.*a.list).size());
  if (configs > static_cast<double>(kMaxConfigs))
    return InvalidArgumentError(
        "the flags give " + std::to_string(static_cast<uint64_t>(configs)) +
        " configurations, more than the limit of " + std::to_string(kMaxConfigs));
  RETURN_IF_ERROR(internal::EnumerateConfigs(spec).status());
  return spec;
}

}  // namespace edgebench::harness::sweep
