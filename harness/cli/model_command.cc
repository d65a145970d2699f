// `edgebench model synth|inspect`: make synthetic GGUF models, and describe
// any GGUF file.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "backends/native/gguf/gguf.h"
#include "backends/native/synth/synth.h"
#include "base/exit_code.h"
#include "harness/cli/command.h"
#include "harness/cli/format.h"

namespace edgebench::cli {

namespace {

using nlohmann::json;

struct SynthArgs {
  native::SynthOptions options;
  std::string out;
};

int Synth(const SynthArgs& a) {
  native::SynthOptions o = a.options;
  const bool tty = ::isatty(STDERR_FILENO);
  if (tty)
    o.progress = [](uint64_t done, uint64_t total) {
      std::fprintf(stderr, "\rwriting: %s / %s", HumanBytes(done).c_str(),
                   HumanBytes(total).c_str());
      std::fflush(stderr);
    };
  const auto start = std::chrono::steady_clock::now();
  auto summary = native::SynthesizeModel(o, a.out);
  if (tty) std::fputs("\r\033[K", stderr);
  if (!summary.ok()) return ReportError(summary.status());
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("wrote %s: %s %s %s, %s parameters, %d tensors, %s in %.1f s\n",
              a.out.c_str(), o.arch.c_str(), o.preset.c_str(), o.type.c_str(),
              HumanCount(summary->n_params).c_str(), summary->n_tensors,
              HumanBytes(static_cast<int64_t>(summary->file_bytes)).c_str(), secs);
  return kExitOk;
}

// What `inspect` reports, computed once for both renderings.
struct Inspection {
  std::string arch;
  int64_t n_params = 0;
  uint64_t tensor_bytes = 0;
  // type name -> (tensors, elements, bytes)
  std::map<std::string, std::tuple<int, int64_t, uint64_t>> types;
  std::string tokenizer_model;
  int64_t n_vocab = 0;
};

Inspection Inspect(const gguf::GgufFile& f) {
  Inspection in;
  in.arch = std::string(f.GetString("general.architecture").value_or("unknown"));
  for (const gguf::TensorInfo& t : f.tensors()) {
    in.n_params += t.n_elements;
    in.tensor_bytes += t.size_bytes;
    auto& [count, elements, bytes] =
        in.types[gguf::TypeName(static_cast<uint32_t>(t.type))];
    ++count;
    elements += t.n_elements;
    bytes += t.size_bytes;
  }
  in.tokenizer_model = std::string(f.GetString("tokenizer.ggml.model").value_or(""));
  if (const gguf::MetaValue* tokens = f.Find("tokenizer.ggml.tokens"))
    in.n_vocab = static_cast<int64_t>(tokens->array_size());
  return in;
}

json MetaToJson(const gguf::MetaValue& v) {
  using gguf::ValueType;
  if (v.is_array()) {
    // Big arrays (vocabularies) are summarised, not dumped.
    if (v.array_size() > 16)
      return {{"array", std::string(gguf::ValueTypeName(v.array_type()))},
              {"size", v.array_size()}};
    json a = json::array();
    if (v.array_type() == ValueType::kString)
      for (auto s : v.strings()) a.push_back(std::string(s));
    else if (v.array_type() == ValueType::kArray)
      for (const auto& item : v.items()) a.push_back(MetaToJson(item));
    else if (auto f = v.FloatArray())
      for (float x : *f) a.push_back(x);
    return a;
  }
  if (auto s = v.AsString()) return std::string(*s);
  if (auto b = v.AsBool()) return *b;
  if (v.type() == ValueType::kFloat32 || v.type() == ValueType::kFloat64) return *v.AsFloat();
  if (auto i = v.AsInt()) return *i;
  if (auto u = v.AsUint()) return *u;
  return nullptr;
}

struct InspectArgs {
  std::string path;
  bool json = false;
  bool tensors = false;
};

int InspectCommand(const InspectArgs& a) {
  auto file = gguf::GgufFile::Open(a.path);
  if (!file.ok()) return ReportError(file.status());
  const gguf::GgufFile& f = **file;
  const Inspection in = Inspect(f);
  if (a.json) {
    json j = {{"path", a.path},
              {"gguf_version", f.version()},
              {"architecture", in.arch},
              {"n_params", in.n_params},
              {"file_bytes", f.file_size()},
              {"tensor_bytes", in.tensor_bytes},
              {"tokenizer", {{"model", in.tokenizer_model}, {"n_vocab", in.n_vocab}}}};
    json types = json::object();
    for (const auto& [name, v] : in.types)
      types[name] = {{"tensors", std::get<0>(v)},
                     {"elements", std::get<1>(v)},
                     {"bytes", std::get<2>(v)}};
    j["types"] = types;
    json meta = json::object();
    for (const auto& [k, v] : f.metadata()) meta[std::string(k)] = MetaToJson(v);
    j["metadata"] = meta;
    if (a.tensors) {
      json ts = json::array();
      for (const gguf::TensorInfo& t : f.tensors())
        ts.push_back({{"name", std::string(t.name)},
                      {"type", gguf::TypeName(static_cast<uint32_t>(t.type))},
                      {"dims", t.dims},
                      {"bytes", t.size_bytes},
                      {"offset", f.data_offset() + t.offset}});
      j["tensors"] = ts;
    }
    std::printf("%s\n", j.dump(2).c_str());
    return kExitOk;
  }
  std::printf("file:         %s (GGUF v%u, %s)\n", a.path.c_str(), f.version(),
              HumanBytes(static_cast<int64_t>(f.file_size())).c_str());
  std::printf("architecture: %s\n", in.arch.c_str());
  std::printf("parameters:   %s (%lld)\n", HumanCount(in.n_params).c_str(),
              static_cast<long long>(in.n_params));
  std::printf("tensors:      %zu, %s, %.2f bits per weight\n", f.tensors().size(),
              HumanBytes(static_cast<int64_t>(in.tensor_bytes)).c_str(),
              in.n_params ? 8.0 * static_cast<double>(in.tensor_bytes) /
                                static_cast<double>(in.n_params)
                          : 0.0);
  for (const auto& [name, v] : in.types)
    std::printf("  %-8s %4d tensors %12s elements %12s\n", name.c_str(), std::get<0>(v),
                HumanCount(std::get<1>(v)).c_str(),
                HumanBytes(static_cast<int64_t>(std::get<2>(v))).c_str());
  std::printf("tokenizer:    %s, %lld tokens\n",
              in.tokenizer_model.empty() ? "(none)" : in.tokenizer_model.c_str(),
              static_cast<long long>(in.n_vocab));
  std::printf("metadata:\n");
  for (const auto& [k, v] : f.metadata())
    std::printf("  %-44s %s\n", std::string(k).c_str(), v.ToDisplayString().c_str());
  if (a.tensors) {
    std::printf("tensors:\n");
    for (const gguf::TensorInfo& t : f.tensors()) {
      std::string dims;
      for (int64_t d : t.dims) dims += (dims.empty() ? "" : " x ") + std::to_string(d);
      std::printf("  %-32s %-6s %-22s %s\n", std::string(t.name).c_str(),
                  gguf::TypeName(static_cast<uint32_t>(t.type)).c_str(), dims.c_str(),
                  HumanBytes(static_cast<int64_t>(t.size_bytes)).c_str());
    }
  }
  return kExitOk;
}

}  // namespace

void AddModelCommand(CLI::App& app, Action* action) {
  CLI::App* model = app.add_subcommand("model", "Make synthetic GGUF models and inspect GGUF files");
  model->require_subcommand(1);

  auto s = std::make_shared<SynthArgs>();
  CLI::App* synth = model->add_subcommand(
      "synth", "Write a GGUF model with synthetic weights, real metadata and tokenizer");
  std::vector<std::string> presets, types;
  for (const auto& p : native::SynthPresets()) presets.emplace_back(p.name);
  for (auto t : native::SynthTypes()) types.emplace_back(t);
  synth->add_option("--arch", s->options.arch, "Architecture")
      ->check(CLI::IsMember({"llama", "qwen2"}))
      ->capture_default_str();
  synth->add_option("--preset", s->options.preset, "Shape")
      ->check(CLI::IsMember(presets))
      ->capture_default_str();
  synth->add_option("--type", s->options.type, "File type")
      ->check(CLI::IsMember(types))
      ->capture_default_str();
  synth->add_option("--seed", s->options.seed, "Seed of the weights")->capture_default_str();
  synth->add_option("--threads", s->options.n_threads, "Threads (0: all)")
      ->check(CLI::NonNegativeNumber);
  synth->add_option("-o,--output", s->out, "Output file")->required();
  synth->final_callback([s, action] { *action = [s] { return Synth(*s); }; });

  auto i = std::make_shared<InspectArgs>();
  CLI::App* inspect = model->add_subcommand(
      "inspect", "Architecture, parameters, types, size, tokenizer and metadata of a GGUF file");
  inspect->add_option("file", i->path, "GGUF file")->required();
  inspect->add_flag("--json", i->json, "Print JSON");
  inspect->add_flag("--tensors", i->tensors, "List every tensor");
  inspect->final_callback([i, action] { *action = [i] { return InspectCommand(*i); }; });
}

}  // namespace edgebench::cli
