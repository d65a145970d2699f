// The engine against the independent numpy reference on the `small` preset
// (≈110M parameters, F32): the acceptance check at scale. Slower
// than the unit tests (the reference takes ~15 s a model), so labelled
// `integration`.
#include <gtest/gtest.h>

#include "backends/native/model/model.h"
#include "backends/native/model/model_testing.h"

namespace edgebench::native {
namespace {

void ExpectSmallMatches(const std::string& arch) {
  const std::string path = testing::SynthModel(arch, "small", "f32");
  auto model = Model::Load(path);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const std::vector<int32_t> prompt = testing::TextPrompt(**model, 64);
  ASSERT_EQ(prompt.size(), 64u);
  model->reset();
  ContextOptions o;
  o.kv_type = gguf::TensorType::kF32;
  o.n_threads = 2;
  auto ours = testing::RunNative(path, prompt, 64, o);
  ASSERT_TRUE(ours.ok()) << ours.status().ToString();
  auto ref = testing::RunReference(path, prompt, 64);
  ASSERT_TRUE(ref.ok()) << ref.status().ToString();
  const double err = testing::MaxRelError(ours->logits, ref->logits, ref->n_vocab);
  std::printf("[ reference ] %s small f32: max relative logit error %.3g, %d distinct tokens\n",
              arch.c_str(), err, testing::Distinct(ref->generated));
  EXPECT_LE(err, 1e-4);  // see model_test.cc for why 1e-4
  EXPECT_EQ(ours->generated, ref->generated);
  EXPECT_GE(testing::Distinct(ref->generated), 8);
}

TEST(ReferenceSmall, LlamaF32) { ExpectSmallMatches("llama"); }
TEST(ReferenceSmall, Qwen2F32) { ExpectSmallMatches("qwen2"); }

}  // namespace
}  // namespace edgebench::native
