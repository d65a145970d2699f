#include "backends/native/gguf/gguf.h"

#include <filesystem>
#include <random>

#include <gtest/gtest.h>

#include "tests/testing/testing.h"

namespace edgebench::gguf {
namespace {

// Builds GGUF images byte by byte, so tests can write files that lie.
class Raw {
 public:
  Raw& U8(uint8_t v) { return Put(&v, 1); }
  Raw& U32(uint32_t v) { return Put(&v, 4); }
  Raw& U64(uint64_t v) { return Put(&v, 8); }
  Raw& F32(float v) { return Put(&v, 4); }
  Raw& Str(std::string_view s) {
    U64(s.size());
    return Put(s.data(), s.size());
  }
  Raw& Header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
    return U32(kMagic).U32(version).U64(n_tensors).U64(n_kv);
  }
  // A tensor info record.
  Raw& Tensor(std::string_view name, std::vector<uint64_t> dims, uint32_t type,
              uint64_t offset) {
    Str(name).U32(static_cast<uint32_t>(dims.size()));
    for (uint64_t d : dims) U64(d);
    return U32(type).U64(offset);
  }
  Raw& PadTo(size_t alignment) {
    while (bytes.size() % alignment) bytes.push_back(0);
    return *this;
  }
  Raw& Zeros(size_t n) {
    bytes.resize(bytes.size() + n, 0);
    return *this;
  }
  Raw& Put(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    bytes.insert(bytes.end(), b, b + n);
    return *this;
  }
  std::vector<uint8_t> bytes;
};

Result<std::unique_ptr<GgufFile>> Parse(const std::vector<uint8_t>& bytes) {
  return GgufFile::FromBytes("test.gguf", bytes);
}

// A valid file with every value type, nested arrays and three tensors.
GgufWriter SampleWriter() {
  GgufWriter w;
  w.SetString("general.architecture", "llama");
  w.SetString("general.name", "sample");
  w.SetUint32("llama.block_count", 2);
  w.SetInt32("signed", -7);
  w.SetUint64("big", 1ull << 40);
  w.SetFloat32("llama.rope.freq_base", 10000.5f);
  w.SetBool("flag", true);
  w.SetStringArray("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>", "▁hello", ""});
  w.SetFloat32Array("tokenizer.ggml.scores", {0, -1.5f, -2, -3.25f, 4});
  w.SetInt32Array("tokenizer.ggml.token_type", {2, 3, 3, 1, 1});
  w.AddTensor("a.weight", {64, 2}, TensorType::kF32);
  w.AddTensor("b.weight", {64, 3}, TensorType::kQ4_0);
  w.AddTensor("c.weight", {32}, TensorType::kQ8_0);
  return w;
}

Status FillPattern(size_t index, std::vector<uint8_t>& out, const GgufWriter& w) {
  out.resize(w.TensorBytes(index));
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(i * 7 + index);
  return Status::Ok();
}

std::vector<uint8_t> SampleBytes() {
  GgufWriter w = SampleWriter();
  auto bytes = w.ToBytes([&](size_t i, std::vector<uint8_t>& out) {
    return FillPattern(i, out, w);
  });
  EXPECT_TRUE(bytes.ok());
  return *bytes;
}

TEST(Gguf, WriterRoundTripsEveryValueType) {
  auto f = Parse(SampleBytes());
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  const GgufFile& g = **f;
  EXPECT_EQ(g.version(), 3u);
  EXPECT_EQ(g.alignment(), 32u);
  EXPECT_EQ(g.data_offset() % 32, 0u);
  EXPECT_EQ(*g.GetString("general.architecture"), "llama");
  EXPECT_EQ(*g.GetInt("llama.block_count"), 2);
  EXPECT_EQ(*g.GetInt("signed"), -7);
  EXPECT_EQ(*g.GetInt("big"), 1ll << 40);
  EXPECT_FLOAT_EQ(static_cast<float>(*g.GetFloat("llama.rope.freq_base")), 10000.5f);
  EXPECT_TRUE(*g.GetBool("flag"));
  EXPECT_EQ(*g.GetInt("absent", 5), 5);
  const MetaValue* tokens = g.Find("tokenizer.ggml.tokens");
  ASSERT_NE(tokens, nullptr);
  ASSERT_EQ(tokens->strings().size(), 5u);
  EXPECT_EQ(tokens->strings()[3], "▁hello");
  EXPECT_EQ(tokens->strings()[4], "");
  EXPECT_EQ(*g.Find("tokenizer.ggml.scores")->FloatArray(),
            (std::vector<float>{0, -1.5f, -2, -3.25f, 4}));
  EXPECT_EQ(*g.Find("tokenizer.ggml.token_type")->IntArray(),
            (std::vector<int64_t>{2, 3, 3, 1, 1}));
  ASSERT_EQ(g.tensors().size(), 3u);
  const TensorInfo* b = g.FindTensor("b.weight");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->type, TensorType::kQ4_0);
  EXPECT_EQ(b->dims, (std::vector<int64_t>{64, 3}));
  EXPECT_EQ(b->n_elements, 192);
  EXPECT_EQ(b->size_bytes, 6u * 18);
  EXPECT_EQ(b->offset % 32, 0u);
  for (size_t i = 0; i < b->size_bytes; ++i)
    ASSERT_EQ(b->data[i], static_cast<uint8_t>(i * 7 + 1));
}

TEST(Gguf, TypedGettersNameFileAndKey) {
  auto f = Parse(SampleBytes());
  ASSERT_TRUE(f.ok());
  auto missing = (*f)->GetInt("llama.context_length");
  EXPECT_EQ(missing.status().message(),
            "test.gguf: metadata key \"llama.context_length\" is missing");
  auto wrong = (*f)->GetInt("general.name");
  EXPECT_EQ(wrong.status().message(),
            "test.gguf: metadata \"general.name\" is string \"sample\", expected an integer");
  EXPECT_FALSE((*f)->GetString("llama.block_count").ok());
  // A present key of the wrong type is an error even with a default.
  EXPECT_FALSE((*f)->GetInt("general.name", 3).ok());
}

TEST(Gguf, CopyValueReproducesArraysAndNesting) {
  Raw r;
  r.Header(0, 2).Str("nested").U32(9).U32(9).U64(2);  // array of 2 arrays
  r.U32(4).U64(3).U32(1).U32(2).U32(3);               // [uint32 × 3]
  r.U32(8).U64(1).Str("x");                           // [string × 1]
  r.Str("u16s").U32(9).U32(2).U64(2).Put("\x01\x00\xff\xff", 4);
  auto f = Parse(r.bytes);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  const MetaValue* nested = (*f)->Find("nested");
  ASSERT_EQ(nested->items().size(), 2u);
  EXPECT_EQ(*nested->items()[0].IntArray(), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(nested->items()[1].strings()[0], "x");
  EXPECT_EQ(*(*f)->Find("u16s")->IntArray(), (std::vector<int64_t>{1, 65535}));

  GgufWriter w;
  for (const auto& [k, v] : (*f)->metadata()) w.CopyValue(std::string(k), v);
  auto again = Parse(*w.ToBytes([](size_t, std::vector<uint8_t>&) { return Status::Ok(); }));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*(*again)->Find("nested")->items()[0].IntArray(), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(*(*again)->Find("u16s")->IntArray(), (std::vector<int64_t>{1, 65535}));
}

TEST(Gguf, ReadsV2AndCustomAlignment) {
  GgufWriter w(2);
  w.SetUint32("general.alignment", 64);
  w.AddTensor("t", {32}, TensorType::kF32);
  w.AddTensor("u", {32}, TensorType::kF16);
  auto bytes = w.ToBytes([&](size_t i, std::vector<uint8_t>& out) {
    out.assign(w.TensorBytes(i), 1);
    return Status::Ok();
  });
  auto f = Parse(*bytes);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ((*f)->version(), 2u);
  EXPECT_EQ((*f)->alignment(), 64u);
  EXPECT_EQ((*f)->data_offset() % 64, 0u);
  EXPECT_EQ((*f)->FindTensor("u")->offset, 128u);  // 128 bytes of t: already aligned
}

TEST(Gguf, WriteIsAtomicAndOpenMaps) {
  testing::TempDir dir;
  const std::string path = dir.File("m.gguf");
  GgufWriter w = SampleWriter();
  // A producer failing halfway leaves neither the file nor its temporary.
  Status s = w.Write(path, [](size_t i, std::vector<uint8_t>& out) {
    if (i == 1) return ResourceExhaustedError("disk full (simulated)");
    out.assign(64 * 2 * 4, 0);
    return Status::Ok();
  });
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  ASSERT_TRUE(w.Write(path, [&](size_t i, std::vector<uint8_t>& out) {
                 return FillPattern(i, out, w);
               }).ok());
  auto f = GgufFile::Open(path);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ((*f)->file_size(), SampleBytes().size());
  EXPECT_EQ((*f)->FindTensor("c.weight")->data[3], static_cast<uint8_t>(3 * 7 + 2));
}

TEST(Gguf, OpenErrorsNameThePath) {
  testing::TempDir dir;
  auto missing = GgufFile::Open(dir.File("none.gguf"));
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), dir.File("none.gguf") + ": No such file or directory");
  EXPECT_EQ(GgufFile::Open(dir.path()).status().message(),
            dir.path() + ": is a directory, expected a GGUF file");
  testing::WriteFile(dir.File("empty.gguf"), "");
  EXPECT_EQ(GgufFile::Open(dir.File("empty.gguf")).status().message(),
            dir.File("empty.gguf") + ": at byte 0: file is empty");
}

TEST(Gguf, ReadsTheRealVocabularies) {
  // Files written by llama.cpp's own converter.
  auto spm = GgufFile::Open("backends/native/vocab/ggml-vocab-llama-spm.gguf");
  ASSERT_TRUE(spm.ok()) << spm.status().ToString();
  EXPECT_EQ(*(*spm)->GetString("tokenizer.ggml.model"), "llama");
  EXPECT_EQ((*spm)->Find("tokenizer.ggml.tokens")->strings().size(), 32000u);
  EXPECT_EQ((*spm)->Find("tokenizer.ggml.scores")->FloatArray()->size(), 32000u);
  EXPECT_EQ((*spm)->Find("tokenizer.ggml.tokens")->strings()[13], "<0x0A>");
  auto bpe = GgufFile::Open("backends/native/vocab/ggml-vocab-gpt-2.gguf");
  ASSERT_TRUE(bpe.ok()) << bpe.status().ToString();
  EXPECT_EQ(*(*bpe)->GetString("tokenizer.ggml.model"), "gpt2");
  EXPECT_EQ((*bpe)->Find("tokenizer.ggml.tokens")->strings().size(), 50257u);
  EXPECT_EQ((*bpe)->Find("tokenizer.ggml.merges")->strings().size(), 50000u);
}

// ---- the broken-file corpus ----

struct BrokenCase {
  const char* name;
  std::vector<uint8_t> bytes;
  const char* expect;  // substring of the error message
};

std::vector<BrokenCase> BrokenCorpus() {
  std::vector<BrokenCase> c;
  auto add = [&](const char* name, const Raw& r, const char* expect) {
    c.push_back({name, r.bytes, expect});
  };
  add("bad magic", Raw().U32(0x46554746).U32(3).U64(0).U64(0), "not a GGUF file");
  add("version 1", Raw().Header(0, 0, 1), "GGUF v1 is not supported");
  add("version 7", Raw().Header(0, 0, 7), "unknown GGUF version 7");
  add("short header", Raw().U32(kMagic).U32(3).U64(0), "file ends inside header");
  add("huge kv count", Raw().Header(0, 1ull << 60), "metadata count");
  add("huge tensor count", Raw().Header(1ull << 61, 0), "tensor count");
  add("key length past end", Raw().Header(0, 1).U64(1ull << 50).Put("abcdefghijkl", 12),
      "claims 1125899906842624 bytes");
  add("key length overflow", Raw().Header(0, 1).U64(~0ull).Put("abcd", 4), "claims");
  add("empty key", Raw().Header(0, 1).Str("").U32(4).U32(1), "is empty");
  add("unknown value type", Raw().Header(0, 1).Str("k").U32(13).U32(0), "unknown value type 13");
  add("duplicate key", Raw().Header(0, 2).Str("k").U32(4).U32(1).Str("k").U32(4).U32(2),
      "duplicate metadata key \"k\"");
  add("scalar past end", Raw().Header(0, 1).Str("k").U32(11).U32(1), "file ends inside value");
  add("string value lies", Raw().Header(0, 1).Str("k").U32(8).U64(100).Put("short", 5),
      "claims 100 bytes");
  add("array count lies", Raw().Header(0, 1).Str("k").U32(9).U32(6).U64(1ull << 40).F32(1),
      "claims 1099511627776");
  add("array count overflow", Raw().Header(0, 1).Str("k").U32(9).U32(12).U64(~0ull >> 1),
      "more than the");
  add("string array lies",
      Raw().Header(0, 1).Str("k").U32(9).U32(8).U64(1ull << 40).Str("a"),
      "more than the file can hold");
  add("array of unknown type", Raw().Header(0, 1).Str("k").U32(9).U32(99).U64(1),
      "unknown element type 99");
  {
    Raw r;
    r.Header(0, 1).Str("deep");
    r.U32(9);
    for (int i = 0; i < 12; ++i) r.U32(9).U64(1);
    r.U32(4).U64(0);
    add("arrays nested too deep", r, "nest deeper than");
  }
  add("alignment not a power of two",
      Raw().Header(0, 1).Str("general.alignment").U32(4).U32(48), "not a power of two");
  add("alignment zero", Raw().Header(0, 1).Str("general.alignment").U32(4).U32(0),
      "not a power of two");
  add("alignment wrong type", Raw().Header(0, 1).Str("general.alignment").U32(8).Str("32"),
      "must be a uint32");
  add("zero dims", Raw().Header(1, 0).Str("t").U32(0).U32(0).U64(0).Zeros(16),
      "has 0 dimensions");
  add("five dims", Raw().Header(1, 0).Tensor("t", {1, 1, 1, 1, 1}, 0, 0), "has 5 dimensions");
  add("zero-sized dim", Raw().Header(1, 0).Tensor("t", {32, 0}, 0, 0), "dimension 1 is 0");
  add("negative dim", Raw().Header(1, 0).Tensor("t", {~0ull}, 0, 0), "dimension 0 is");
  add("elements overflow", Raw().Header(1, 0).Tensor("t", {1ull << 32, 1ull << 32}, 0, 0),
      "more elements than fit in 64 bits");
  add("unknown tensor type", Raw().Header(1, 0).Tensor("t", {32}, 77, 0),
      "unknown type id 77");
  add("row not a block multiple", Raw().Header(1, 0).Tensor("t", {33}, 2, 0),
      "not a multiple of the Q4_0 block size 32");
  add("misaligned offset", Raw().Header(1, 0).Tensor("t", {8}, 0, 4).PadTo(32).Zeros(64),
      "not a multiple of the alignment 32");
  add("data past end", Raw().Header(1, 0).Tensor("t", {64}, 0, 0).PadTo(32).Zeros(100),
      "runs past the end of the file");
  add("offset past end", Raw().Header(1, 0).Tensor("t", {8}, 0, 1ull << 62).PadTo(32).Zeros(32),
      "runs past the end of the file");
  add("huge dims, small file",
      Raw().Header(1, 0).Tensor("t", {1ull << 30, 1ull << 30}, 0, 0).PadTo(32).Zeros(32),
      "runs past the end of the file");
  add("no data section", Raw().Header(1, 0).Tensor("t", {8}, 0, 0), "truncated");
  add("overlapping tensors",
      Raw().Header(2, 0).Tensor("a", {16}, 0, 0).Tensor("b", {16}, 0, 32).PadTo(32).Zeros(96),
      "overlaps tensor \"a\"");
  add("duplicate tensor",
      Raw().Header(2, 0).Tensor("a", {8}, 0, 0).Tensor("a", {8}, 0, 32).PadTo(32).Zeros(64),
      "duplicate tensor name \"a\"");
  add("empty tensor name", Raw().Header(1, 0).Tensor("", {8}, 0, 0).PadTo(32).Zeros(32),
      "empty name");
  return c;
}

TEST(Gguf, BrokenCorpusGivesClearErrors) {
  for (const BrokenCase& b : BrokenCorpus()) {
    auto f = Parse(b.bytes);
    ASSERT_FALSE(f.ok()) << b.name;
    const std::string& msg = f.status().message();
    EXPECT_EQ(msg.rfind("test.gguf: at byte ", 0), 0u) << b.name << ": " << msg;
    EXPECT_NE(msg.find(b.expect), std::string::npos) << b.name << ": " << msg;
    EXPECT_EQ(f.status().code(), StatusCode::kDataLoss) << b.name;
  }
}

TEST(Gguf, BrokenCorpusThroughFiles) {
  // The same corpus through mmap: the mapping ends exactly at the file end,
  // so a read past it would fault under any build.
  testing::TempDir dir;
  int i = 0;
  for (const BrokenCase& b : BrokenCorpus()) {
    const std::string path = dir.File("broken" + std::to_string(i++) + ".gguf");
    testing::WriteFile(path, std::string(b.bytes.begin(), b.bytes.end()));
    auto f = GgufFile::Open(path);
    ASSERT_FALSE(f.ok()) << b.name;
    EXPECT_EQ(f.status().message().rfind(path + ": at byte ", 0), 0u)
        << b.name << ": " << f.status().message();
  }
}

TEST(Gguf, EveryTruncationIsAnError) {
  const std::vector<uint8_t> full = SampleBytes();
  auto parsed = Parse(full);
  ASSERT_TRUE(parsed.ok());
  // The writer pads the last tensor to the alignment, as ggml does; cutting
  // only that padding leaves a valid file.
  uint64_t data_end = 0;
  for (const TensorInfo& t : (*parsed)->tensors())
    data_end = std::max(data_end, (*parsed)->data_offset() + t.offset + t.size_bytes);
  ASSERT_LT(full.size() - data_end, 32u);
  for (size_t n = 0; n < data_end; ++n) {
    std::vector<uint8_t> cut(full.begin(), full.begin() + n);
    auto f = Parse(cut);
    ASSERT_FALSE(f.ok()) << "truncated to " << n << " bytes parsed";
    ASSERT_NE(f.status().message().find("at byte"), std::string::npos) << n;
  }
}

TEST(Gguf, RandomCorruptionNeverCrashes) {
  // Flip bytes and splice in extreme values at random places; every result
  // is either a valid file or a DataLoss error. Run under ASan/UBSan.
  const std::vector<uint8_t> full = SampleBytes();
  std::mt19937_64 rng(1234);
  int ok = 0, rejected = 0;
  for (int iter = 0; iter < 4000; ++iter) {
    std::vector<uint8_t> b = full;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t at = rng() % b.size();
      switch (rng() % 4) {
        case 0: b[at] ^= static_cast<uint8_t>(1u << (rng() % 8)); break;
        case 1: b[at] = static_cast<uint8_t>(rng()); break;
        case 2: {  // an extreme 64-bit value, as a lying length would be
          const uint64_t v = rng() % 2 ? ~0ull : (1ull << (rng() % 64));
          for (int k = 0; k < 8 && at + k < b.size(); ++k) b[at + k] = static_cast<uint8_t>(v >> (8 * k));
          break;
        }
        case 3: b.resize(at + 1); break;
      }
    }
    auto f = Parse(b);
    if (f.ok()) {
      ++ok;
      // Whatever parsed must be safe to walk.
      for (const auto& [k, v] : (*f)->metadata()) (void)v.ToDisplayString();
      for (const TensorInfo& t : (*f)->tensors())
        if (t.size_bytes) (void)t.data[t.size_bytes - 1];
    } else {
      ++rejected;
      ASSERT_EQ(f.status().code(), StatusCode::kDataLoss) << f.status().ToString();
    }
  }
  EXPECT_GT(rejected, 1000);
  EXPECT_GT(ok, 0);  // some edits only touch tensor data
}

}  // namespace
}  // namespace edgebench::gguf
