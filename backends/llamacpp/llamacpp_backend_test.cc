// The llamacpp backend through the Backend interface, and the native engine
// checked against it on the same files: files our synth writes, and files
// llama.cpp's own llama-quantize made from an F16 one. Tokenizers: ids of
// both against each other and against the fixtures' reference ids.
#include "backends/llamacpp/llamacpp_backend.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "backends/native/model/model.h"
#include "backends/native/model/model_testing.h"
#include "backends/native/native_backend.h"
#include "backends/sampler/sampler.h"
#include "llama.h"
#include "tests/testing/testing.h"

namespace edgebench::llamacpp {
namespace {

using backends::Backend;
using backends::ContextOptions;
using backends::ModelInfo;

std::unique_ptr<Backend> Loaded(std::unique_ptr<Backend> b, const std::string& path,
                                ModelInfo* info = nullptr) {
  auto i = b->Load({.model_path = path});
  EXPECT_TRUE(i.ok()) << path << ": " << i.status().ToString();
  if (!i.ok()) return nullptr;
  if (info) *info = *i;
  return b;
}

std::unique_ptr<Backend> LoadedLlama(const std::string& path, ModelInfo* info = nullptr) {
  return Loaded(NewLlamaCppBackend(), path, info);
}
std::unique_ptr<Backend> LoadedNative(const std::string& path,
                                      ModelInfo* info = nullptr) {
  return Loaded(native::NewNativeBackend(), path, info);
}

std::vector<int32_t> Prompt(const std::string& path, int n) {
  auto m = native::Model::Load(path);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return native::testing::TextPrompt(**m, n);
}

TEST(LlamaCppBuildTest, NamesTheCommitAndFeatures) {
  const backends::EngineBuild b = LlamaCppBuild();
  EXPECT_EQ(b.version.size(), 40u) << b.version;
  EXPECT_EQ(b.version.find_first_not_of("0123456789abcdef"), std::string::npos)
      << b.version;
  EXPECT_FALSE(b.isa.empty());
#if defined(__aarch64__)
  EXPECT_NE(b.isa.find("dotprod"), std::string::npos) << b.isa;
#elif defined(__x86_64__)
  EXPECT_NE(b.isa.find("avx2"), std::string::npos) << b.isa;
#endif
}

TEST(LlamaCppBackendTest, ReportsTheSameModelFactsAsNative) {
  for (const char* type : {"f32", "q4_k_m"}) {
    const std::string path = native::testing::SynthModel("llama", "tiny-gqa", type);
    ModelInfo a, b;
    ASSERT_TRUE(LoadedLlama(path, &a));
    ASSERT_TRUE(LoadedNative(path, &b));
    EXPECT_EQ(a.arch, b.arch);
    EXPECT_EQ(a.quant, b.quant);
    EXPECT_EQ(a.n_params, b.n_params);
    EXPECT_EQ(a.file_bytes, b.file_bytes);
    EXPECT_EQ(a.weight_bytes, b.weight_bytes);
    EXPECT_EQ(a.n_vocab, b.n_vocab);
    EXPECT_EQ(a.n_ctx_train, b.n_ctx_train);
    EXPECT_EQ(a.isa, LlamaCppBuild().isa);
  }
}

TEST(LlamaCppBackendTest, BadFilesAreErrorsThatNameThem) {
  edgebench::testing::TempDir dir;
  const std::string missing = dir.File("missing.gguf");
  auto r = NewLlamaCppBackend()->Load({.model_path = missing});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound) << r.status().ToString();
  EXPECT_NE(r.status().message().find(missing), std::string::npos)
      << r.status().ToString();

  const std::string junk = dir.File("junk.gguf");
  edgebench::testing::WriteFile(junk, edgebench::testing::RandomBytes(4096, 7));
  r = NewLlamaCppBackend()->Load({.model_path = junk});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find(junk), std::string::npos) << r.status().ToString();

  // A valid header whose tensor data is cut short: our reader or llama.cpp
  // refuses it, naming the file either way.
  const std::string good = native::testing::SynthModel("llama", "tiny-gqa", "q8_0");
  const std::string cut = dir.File("cut.gguf");
  std::filesystem::copy_file(good, cut);
  std::filesystem::resize_file(cut, std::filesystem::file_size(good) / 2);
  r = NewLlamaCppBackend()->Load({.model_path = cut});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find(cut), std::string::npos) << r.status().ToString();
}

TEST(LlamaCppBackendTest, CallsOutOfOrderFailCleanly) {
  auto b = NewLlamaCppBackend();
  EXPECT_EQ(b->CreateContext({}).code(), StatusCode::kFailedPrecondition);
  const int32_t t = 1;
  EXPECT_EQ(b->Eval(std::span<const int32_t>(&t, 1)).code(),
            StatusCode::kFailedPrecondition);
  EXPECT_TRUE(b->Logits().empty());
  const std::string path = native::testing::SynthModel("llama", "tiny-gqa", "q8_0");
  ASSERT_TRUE(b->Load({.model_path = path}).ok());
  EXPECT_EQ(b->Load({.model_path = path}).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(b->CreateContext({.kv_type = "q4_0"}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(b->CreateContext({.n_threads = 0}).code(), StatusCode::kInvalidArgument);
}

TEST(LlamaCppBackendTest, ContextOverflowLeavesTheCacheAsItWas) {
  const std::string path = native::testing::SynthModel("llama", "tiny-gqa", "q8_0");
  auto b = LoadedLlama(path);
  ASSERT_TRUE(b);
  ASSERT_TRUE(b->CreateContext({.n_ctx = 32, .n_batch = 16}).ok());
  const std::vector<int32_t> p = Prompt(path, 24);
  ASSERT_TRUE(b->Eval(p).ok());
  EXPECT_EQ(b->n_past(), 24);
  const std::vector<float> before(b->Logits().begin(), b->Logits().end());
  const Status s = b->Eval(std::span<const int32_t>(p).first(9));
  EXPECT_EQ(s.code(), StatusCode::kOutOfRange) << s.ToString();
  EXPECT_EQ(b->n_past(), 24);
  // The cache still holds the 24 tokens: one more token gives the logits a
  // fresh run of 25 tokens gives.
  ASSERT_TRUE(b->Eval(std::span<const int32_t>(p).subspan(5, 1)).ok());
  const std::vector<float> after(b->Logits().begin(), b->Logits().end());
  b->ClearCache();
  EXPECT_EQ(b->n_past(), 0);
  std::vector<int32_t> p25(p);
  p25.push_back(p[5]);
  ASSERT_TRUE(b->Eval(p25).ok());
  const std::vector<float> fresh(b->Logits().begin(), b->Logits().end());
  EXPECT_LE(native::testing::MaxRelError(after, fresh, static_cast<int>(fresh.size())),
            1e-3);
  EXPECT_GT(native::testing::MaxRelError(before, fresh, static_cast<int>(fresh.size())),
            1e-3);
  const int32_t bad = 1 << 30;
  EXPECT_EQ(b->Eval(std::span<const int32_t>(&bad, 1)).code(),
            StatusCode::kInvalidArgument);
}

TEST(LlamaCppBackendTest, BatchSplitsAndThreadsGiveTheSameLogits) {
  const std::string path = native::testing::SynthModel("llama", "tiny-gqa", "f32");
  auto b = LoadedLlama(path);
  ASSERT_TRUE(b);
  const std::vector<int32_t> p = Prompt(path, 40);
  std::vector<std::vector<float>> runs;
  for (auto [threads, batch] : {std::pair{1, 64}, std::pair{2, 7}, std::pair{3, 40}}) {
    ASSERT_TRUE(
        b->CreateContext(
             {.n_threads = threads, .n_ctx = 64, .n_batch = batch, .kv_type = "f32"})
            .ok());
    ASSERT_TRUE(b->Eval(p).ok());
    runs.emplace_back(b->Logits().begin(), b->Logits().end());
  }
  for (size_t i = 1; i < runs.size(); ++i)
    EXPECT_LE(
        native::testing::MaxRelError(runs[i], runs[0], static_cast<int>(runs[0].size())),
        1e-4);
}

// ---- parity: native against llama.cpp on the same file ----

struct Parity {
  double rel_err = 0;      // max |native - llama| / max |llama| over the last logits
  double correlation = 0;  // Pearson, last logits
  bool same_top1 = false;
  int greedy_checked = 0;    // steps where both picked the same token
  int greedy_diverged = -1;  // a step where they differed with a clear margin
};

double Correlation(std::span<const float> a, std::span<const float> b) {
  double ma = 0, mb = 0;
  for (size_t i = 0; i < a.size(); ++i) ma += a[i], mb += b[i];
  ma /= a.size(), mb /= b.size();
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) * (a[i] - ma);
    sbb += (b[i] - mb) * (b[i] - mb);
  }
  return sab / std::sqrt(saa * sbb);
}

// llama.cpp's top-2 margin, relative to its largest |logit|: below this a
// difference of rounding order may rightly pick the other token.
constexpr double kSmallMargin = 0.02;

double Top2Margin(std::span<const float> l) {
  float a = -INFINITY, b = -INFINITY, scale = 0;
  for (float x : l) {
    scale = std::max(scale, std::fabs(x));
    if (x > a)
      b = a, a = x;
    else if (x > b)
      b = x;
  }
  return (a - b) / scale;
}

Parity CompareEngines(const std::string& path, int n_prompt, int n_gen) {
  Parity r;
  auto ours = LoadedNative(path);
  auto ref = LoadedLlama(path);
  if (!ours || !ref) return r;
  const ContextOptions co{.n_threads = 2, .n_ctx = 256, .n_batch = 64, .kv_type = "f32"};
  EXPECT_TRUE(ours->CreateContext(co).ok());
  EXPECT_TRUE(ref->CreateContext(co).ok());
  const std::vector<int32_t> p = Prompt(path, n_prompt);
  EXPECT_TRUE(ours->Eval(p).ok());
  EXPECT_TRUE(ref->Eval(p).ok());
  std::span<const float> a = ours->Logits(), b = ref->Logits();
  r.rel_err = native::testing::MaxRelError(a, b, static_cast<int>(b.size()));
  r.correlation = Correlation(a, b);
  r.same_top1 = backends::Argmax(a) == backends::Argmax(b);
  // Greedy: both continue with the same tokens while they agree. They may
  // part only where llama.cpp itself nearly had a tie (its top-2 margin
  // below kSmallMargin): there rounding order rightly picks either token.
  for (int i = 0; i < n_gen; ++i) {
    const int32_t ta = backends::Argmax(ours->Logits());
    const int32_t tb = backends::Argmax(ref->Logits());
    if (ta != tb) {
      if (Top2Margin(ref->Logits()) >= kSmallMargin) r.greedy_diverged = i;
      break;
    }
    ++r.greedy_checked;
    EXPECT_TRUE(ours->Eval(std::span<const int32_t>(&ta, 1)).ok());
    EXPECT_TRUE(ref->Eval(std::span<const int32_t>(&tb, 1)).ok());
  }
  return r;
}

// Max relative logit error allowed between the engines, per weight type.
// Measured on tiny-gqa (x86 AVX-512, both engines), the bounds ~1.5x that:
// F32 3e-4, F16 1.1e-3, BF16 5e-3, Q8_0 2.2e-2, Q6_K 2.8e-2, Q4_0 2.2e-2,
// Q4_K_M 3.2e-2. Even at F32 the engines differ by ~3e-4 of the largest logit (measured):
// llama.cpp's flash attention accumulates the softmax online and in another
// order, and its RoPE and norms round differently; that is the floor. At
// F16/BF16 llama.cpp also rounds activations to 16 bits against 16-bit
// weights where the native engine keeps F32 (BF16: ~5e-3, its own rounding
// error against F32 is ~7e-3). For block-quantized weights both engines
// round activations the same way (Q8_0 blocks for Q4_0/Q8_0, Q8_K for the
// K-quants), and each bound is also checked against a quarter of the error
// llama.cpp itself makes by quantizing (its error on the F32 file).
// On aarch64 with FP16 vector arithmetic (our armv8.2-a+fp16 build) ggml's
// F16 dot product also accumulates in half precision (vfmaq_f16), which
// measured 3.3e-3 under qemu (CI of 2026-12-02): F16 gets 6e-3 there.
const std::map<std::string, double>& Tolerances() {
#if defined(__aarch64__)
  constexpr double kF16 = 6e-3;
#else
  constexpr double kF16 = 2e-3;
#endif
  static const std::map<std::string, double> k = {
      {"f32", 1e-3},  {"f16", kF16},    {"bf16", 1.5e-2}, {"q8_0", 3e-2},
      {"q4_0", 5e-2}, {"q4_k_m", 5e-2}, {"q6_k", 4e-2},
  };
  return k;
}

void ExpectParity(const std::string& label, const std::string& path, double tol,
                  double quant_err) {
  const Parity p = CompareEngines(path, 64, 24);
  char quant[64] = "";
  if (quant_err > 0)
    std::snprintf(quant, sizeof quant, ", llama.cpp's 4-bit quantization error %.2e",
                  quant_err);
  std::printf(
      "[ parity    ] %-22s rel err %.2e (tolerance %.0e%s), correlation %.6f, top-1 %s, "
      "greedy %d steps%s\n",
      label.c_str(), p.rel_err, tol, quant, p.correlation,
      p.same_top1 ? "same" : "DIFFERENT", p.greedy_checked,
      p.greedy_diverged >= 0 ? " DIVERGED" : " identical");
  EXPECT_LE(p.rel_err, tol) << label;
  // At 4 bits a correct engine's difference from llama.cpp is far below
  // what quantizing the weights costs (~10x measured). At 8 and 6 bits the
  // weights' error is as small as the 8-bit rounding of activations both
  // engines do, which is what separates them (~2e-2 here, as at 4 bits), so
  // there is nothing larger to compare with: 0 skips this.
  if (quant_err > 0) {
    EXPECT_LE(p.rel_err, quant_err / 4) << label;
  }
  EXPECT_GE(p.correlation, 0.9995) << label;
  EXPECT_TRUE(p.same_top1) << label;
  EXPECT_EQ(p.greedy_diverged, -1) << label << " at step " << p.greedy_diverged;
  // At least a few steps, unless a near-tie came first.
  if (p.greedy_checked < 4)
    std::printf("[ parity    ] %s: near-tie at step %d\n", label.c_str(),
                p.greedy_checked);
  EXPECT_GE(p.greedy_checked, 1) << label;
}

// llama.cpp's logits error on `path` against its own on the F32 file: what
// quantizing (or rounding to 16 bits) costs, the yardstick for the bounds.
double QuantizationError(const std::string& path, const std::string& f32_path) {
  auto q = LoadedLlama(path);
  auto f = LoadedLlama(f32_path);
  if (!q || !f) return 0;
  const ContextOptions co{.n_threads = 2, .n_ctx = 128, .n_batch = 64, .kv_type = "f32"};
  EXPECT_TRUE(q->CreateContext(co).ok());
  EXPECT_TRUE(f->CreateContext(co).ok());
  const std::vector<int32_t> p = Prompt(f32_path, 64);
  EXPECT_TRUE(q->Eval(p).ok());
  EXPECT_TRUE(f->Eval(p).ok());
  return native::testing::MaxRelError(q->Logits(), f->Logits(),
                                      static_cast<int>(f->Logits().size()));
}

// The yardstick ExpectParity compares with: llama.cpp's quantization error
// for the 4-bit types, 0 (none) for the others.
double FourBitError(const std::string& type, const std::string& path,
                    const std::string& f32) {
  return type == "q4_0" || type == "q4_k_m" ? QuantizationError(path, f32) : 0;
}

class SynthParityTest : public ::testing::TestWithParam<std::string> {};

TEST_P(SynthParityTest, NativeMatchesLlamaCpp) {
  const std::string type = GetParam();
  const std::string f32 = native::testing::SynthModel("llama", "tiny-gqa", "f32");
  const std::string path = native::testing::SynthModel("llama", "tiny-gqa", type);
  ExpectParity("synth " + type, path, Tolerances().at(type),
               FourBitError(type, path, f32));
}

INSTANTIATE_TEST_SUITE_P(EveryType, SynthParityTest,
                         ::testing::Values("f32", "f16", "bf16", "q8_0", "q4_0",
                                           "q4_k_m"));

TEST(SynthParityTest, Qwen2NativeMatchesLlamaCpp) {
  // Q/K/V biases and the BPE vocabulary.
  const std::string path = native::testing::SynthModel("qwen2", "tiny-gqa", "q8_0");
  ExpectParity("synth qwen2 q8_0", path, Tolerances().at("q8_0"), 0);
}

#ifdef EDGEBENCH_LLAMA_QUANTIZE
// Files quantized by llama.cpp's own llama-quantize from our F16 file: the
// native engine reads llama.cpp's blocks, not only our writer's.
class QuantizedByLlamaCppTest : public ::testing::TestWithParam<std::string> {};

TEST_P(QuantizedByLlamaCppTest, NativeMatchesLlamaCpp) {
  const std::string type = GetParam();
  const std::string f16 = native::testing::SynthModel("llama", "tiny-gqa", "f16");
  const std::string f32 = native::testing::SynthModel("llama", "tiny-gqa", "f32");
  const std::string out =
      native::testing::ModelDir() + "/llama-quantize-" + type + ".gguf";
  if (!std::filesystem::exists(out)) {
    std::string upper = type;
    for (char& c : upper) c = static_cast<char>(std::toupper(c));
    auto r =
        edgebench::testing::RunProgram({EDGEBENCH_LLAMA_QUANTIZE, f16, out, upper, "2"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  ExpectParity("llama-quantize " + type, out, Tolerances().at(type),
               FourBitError(type, out, f32));
}

INSTANTIATE_TEST_SUITE_P(EveryNativeType, QuantizedByLlamaCppTest,
                         ::testing::Values("q8_0", "q4_0", "q4_k_m", "q6_k", "bf16"));
#endif

// ---- tokenizers: the same ids as llama.cpp's on the fixture texts ----

std::vector<std::string> FixtureInputs(const std::string& vocab) {
  const std::string text = edgebench::testing::ReadFile(std::string(EDGEBENCH_VOCAB_DIR) +
                                                        "/" + vocab + ".inp");
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> out;
  size_t at = 0;
  for (size_t next; (next = text.find(sep, at)) != std::string::npos;
       at = next + sep.size())
    out.push_back(text.substr(at, next - at));
  return out;
}

// Every fixture input through both backends' tokenizers on a synthetic
// model of that vocabulary (llama: Llama SPM; qwen2: GPT-2 BPE with
// qwen2's pre-tokenizer).
TEST(LlamaCppTokenizerTest, SameIdsAsNativeOnEveryShippedVocabulary) {
  for (auto [arch, vocab] : {std::pair{"llama", "ggml-vocab-llama-spm.gguf"},
                             std::pair{"qwen2", "ggml-vocab-gpt-2.gguf"}}) {
    const std::string path = native::testing::SynthModel(arch, "tiny-gqa", "q8_0");
    auto a = LoadedLlama(path);
    auto b = LoadedNative(path);
    ASSERT_TRUE(a && b);
    int n = 0;
    for (const std::string& in : FixtureInputs(vocab)) {
      for (bool special : {false, true}) {
        Result<std::vector<int32_t>> ta = a->Tokenize(in, special);
        Result<std::vector<int32_t>> tb = b->Tokenize(in, special);
        ASSERT_TRUE(ta.ok() && tb.ok());
        const std::vector<int32_t> va = *ta, vb = *tb;
        EXPECT_EQ(va, vb) << arch << " add_special=" << special << " on \"" << in << "\"";
        ++n;
      }
      const std::vector<int32_t> ids = *a->Tokenize(in, false);
      for (int32_t t : ids) EXPECT_EQ(a->TokenToPiece(t), b->TokenToPiece(t));
    }
    EXPECT_GT(n, 20) << vocab;
    EXPECT_EQ(a->BosToken(), b->BosToken());
    for (int32_t t = 0; t < 300; ++t)
      EXPECT_EQ(a->IsEndOfGeneration(t), b->IsEndOfGeneration(t));
  }
}

// The fixture vocabularies themselves (vocabulary-only files, which the
// Backend interface does not load): llama.cpp's ids equal the reference ids
// the fixtures ship, which the native tokenizer's own tests also check.
TEST(LlamaCppTokenizerTest, FixtureVocabulariesGiveTheReferenceIds) {
  for (const char* vocab : {"ggml-vocab-llama-spm.gguf", "ggml-vocab-gpt-2.gguf"}) {
    const std::string path = std::string(EDGEBENCH_VOCAB_DIR) + "/" + vocab;
    llama_backend_init();
    llama_model_params mp = llama_model_default_params();
    mp.vocab_only = true;
    llama_model* m = llama_model_load_from_file(path.c_str(), mp);
    ASSERT_NE(m, nullptr) << path;
    const llama_vocab* v = llama_model_get_vocab(m);
    const std::vector<std::string> inputs = FixtureInputs(vocab);
    std::ifstream expected(path + ".out");
    std::string line;
    for (const std::string& in : inputs) {
      ASSERT_TRUE(std::getline(expected, line));
      std::vector<llama_token> ids(in.size() + 16);
      const int n =
          llama_tokenize(v, in.data(), static_cast<int32_t>(in.size()), ids.data(),
                         static_cast<int32_t>(ids.size()), false, false);
      ASSERT_GE(n, 0);
      std::string got;
      for (int i = 0; i < n; ++i) got += (i ? " " : "") + std::to_string(ids[i]);
      // The .out files separate ids by spaces and may end with one.
      while (!line.empty() && line.back() == ' ') line.pop_back();
      while (!line.empty() && line.front() == ' ') line.erase(0, 1);
      EXPECT_EQ(got, line) << vocab << " on \"" << in << "\"";
    }
    llama_model_free(m);
  }
}

}  // namespace
}  // namespace edgebench::llamacpp
