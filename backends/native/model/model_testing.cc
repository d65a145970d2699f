#include "backends/native/model/model_testing.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>

#include <nlohmann/json.hpp>

#include "backends/sampler/sampler.h"
#include "backends/native/synth/synth.h"
#include "backends/native/tokenizer/tokenizer.h"
#include "tests/testing/testing.h"

namespace edgebench::native::testing {

namespace {
edgebench::testing::TempDir& Dir() {
  static auto* dir = new edgebench::testing::TempDir();  // lives until exit
  static const bool cleanup = [] {
    std::atexit([] { delete &Dir(); });
    return true;
  }();
  (void)cleanup;
  return *dir;
}
}  // namespace

std::string ModelDir() { return Dir().path(); }

std::string SynthModel(const std::string& arch, const std::string& preset,
                       const std::string& type, uint64_t seed) {
  static std::mutex mu;
  static std::map<std::string, std::string> made;
  std::lock_guard<std::mutex> lock(mu);
  const std::string key = arch + "-" + preset + "-" + type + "-" + std::to_string(seed);
  if (auto it = made.find(key); it != made.end()) return it->second;
  const std::string path = Dir().File(key + ".gguf");
  auto r = SynthesizeModel({.arch = arch, .preset = preset, .type = type, .seed = seed}, path);
  if (!r.ok()) {
    std::fprintf(stderr, "synth %s: %s\n", key.c_str(), r.status().ToString().c_str());
    std::abort();
  }
  return made[key] = path;
}

std::vector<int32_t> TextPrompt(const Model& model, int n) {
  static const char* kText =
      "The quick brown fox jumps over the lazy dog. Benchmarks measure how fast a "
      "language model runs on a phone, a board or a laptop: the time to the first "
      "token, the tokens per second while decoding, the memory it needs and the energy "
      "it spends. A careful benchmark repeats every measurement, keeps the raw samples "
      "and reports the median with its confidence interval, so that a regression of "
      "three percent is told apart from the noise of a busy machine.";
  std::vector<int32_t> ids = model.tokenizer().Encode(kText, /*add_special=*/true,
                                                      /*parse_special=*/false);
  if (ids.empty() || ids[0] != model.tokenizer().bos()) {
    const int32_t bos = model.tokenizer().bos();
    if (bos >= 0) ids.insert(ids.begin(), bos);
  }
  ids.resize(std::min<size_t>(ids.size(), static_cast<size_t>(n)));
  return ids;
}

Result<RunResult> RunNative(const std::string& path, std::span<const int32_t> prompt,
                            int n_gen, ContextOptions options) {
  ASSIGN_OR_RETURN(auto model, Model::Load(path));
  options.all_logits = true;
  options.n_batch = std::max(options.n_batch, static_cast<int>(prompt.size()));
  ASSIGN_OR_RETURN(auto ctx, Context::Create(*model, options));
  RunResult r;
  r.n_vocab = model->config().n_vocab;
  RETURN_IF_ERROR(ctx->Eval(prompt));
  auto all = ctx->AllLogits();
  r.logits.assign(all.begin(), all.end());
  int32_t next = backends::Argmax(ctx->Logits());
  for (int i = 0; i < n_gen; ++i) {
    r.generated.push_back(next);
    if (i + 1 == n_gen) break;
    RETURN_IF_ERROR(ctx->Eval(std::span<const int32_t>(&next, 1)));
    next = backends::Argmax(ctx->Logits());
  }
  return r;
}

Result<RunResult> RunReference(const std::string& path, std::span<const int32_t> prompt,
                               int n_gen) {
  std::string tokens;
  for (int32_t t : prompt) {
    if (!tokens.empty()) tokens += ',';
    tokens += std::to_string(t);
  }
  const std::string base = Dir().File("ref-" + std::filesystem::path(path).stem().string());
  // Debian's interpreter: it has Debian's numpy (FACTS.md: the first python3
  // on PATH may be another one).
  auto p = edgebench::testing::RunProgram(
      {"/usr/bin/python3", "backends/native/reference/llama_ref.py", "--model", path,
       "--tokens", tokens, "--n-gen", std::to_string(n_gen), "--logits-out",
       base + ".logits", "--gen-out", base + ".json"});
  if (p.exit_code != 0)
    return InternalError("reference failed (exit " + std::to_string(p.exit_code) + "): " +
                         p.err);
  RunResult r;
  const std::string raw = edgebench::testing::ReadFile(base + ".logits");
  r.logits.resize(raw.size() / sizeof(float));
  std::memcpy(r.logits.data(), raw.data(), r.logits.size() * sizeof(float));
  r.n_vocab = static_cast<int>(r.logits.size() / prompt.size());
  auto j = nlohmann::json::parse(edgebench::testing::ReadFile(base + ".json"));
  r.generated = j["tokens"].get<std::vector<int32_t>>();
  return r;
}

double MaxRelError(std::span<const float> a, std::span<const float> b, int n_vocab) {
  double worst = 0;
  for (size_t row = 0; row + n_vocab <= b.size(); row += n_vocab) {
    double diff = 0, scale = 0;
    for (int i = 0; i < n_vocab; ++i) {
      diff = std::max(diff, std::fabs(double(a[row + i]) - b[row + i]));
      scale = std::max(scale, std::fabs(double(b[row + i])));
    }
    worst = std::max(worst, diff / scale);
  }
  return worst;
}

int Distinct(std::span<const int32_t> tokens) {
  return static_cast<int>(std::set<int32_t>(tokens.begin(), tokens.end()).size());
}

}  // namespace edgebench::native::testing
