// Checks the "llama" (SentencePiece BPE) tokenizer against SentencePiece
// itself: Debian's spm_train builds a byte-fallback BPE model from the corpus
// in testdata/ with Llama's options, its pieces, scores and types go into GGUF
// metadata, and spm_encode's ids are the reference for many texts.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "backends/native/gguf/gguf.h"
#include "backends/native/tokenizer/tokenizer.h"
#include "backends/native/tokenizer/tokenizer_testing.h"
#include "tests/testing/testing.h"

namespace edgebench::native {
namespace {

using edgebench::testing::ProgramResult;
using edgebench::testing::RunProgram;
using edgebench::testing::TempDir;
using testing::Escape;
using testing::IdsToString;

// The parts of SentencePiece's ModelProto (sentencepiece_model.proto) that a
// GGUF carries: each piece's text, score and type, and the normalizer's name
// and dummy-prefix flag. Protocol buffers are read by hand: the test should
// not need protoc or libprotobuf.
struct SpmPiece {
  std::string text;
  float score = 0;
  int type = 1;  // NORMAL; the enum's values are GGUF's token types
};
struct SpmModel {
  std::vector<SpmPiece> pieces;
  std::string normalizer;
  bool add_dummy_prefix = true;
};

class ProtoReader {
 public:
  explicit ProtoReader(std::string_view data) : data_(data) {}
  bool done() const { return pos_ >= data_.size() || failed_; }
  bool failed() const { return failed_; }

  uint64_t Varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= data_.size()) break;
      const uint8_t b = static_cast<uint8_t>(data_[pos_++]);
      v |= uint64_t{b & 0x7Fu} << shift;
      if (!(b & 0x80)) return v;
    }
    failed_ = true;
    return 0;
  }
  std::string_view Bytes(size_t n) {
    if (n > data_.size() - pos_) {
      failed_ = true;
      return {};
    }
    pos_ += n;
    return data_.substr(pos_ - n, n);
  }
  // Reads a field's value; `wire` is the low 3 bits of its key.
  void Skip(int wire) {
    if (wire == 0) {
      Varint();
    } else if (wire == 1) {
      Bytes(8);
    } else if (wire == 2) {
      Bytes(Varint());
    } else if (wire == 5) {
      Bytes(4);
    } else {
      failed_ = true;
    }
  }

 private:
  std::string_view data_;
  size_t pos_ = 0;
  bool failed_ = false;
};

bool ParseSpmModel(std::string_view data, SpmModel& model) {
  ProtoReader top(data);
  while (!top.done()) {
    const uint64_t key = top.Varint();
    const int field = static_cast<int>(key >> 3), wire = static_cast<int>(key & 7);
    if (field == 1 && wire == 2) {  // repeated SentencePiece pieces
      ProtoReader p(top.Bytes(top.Varint()));
      SpmPiece piece;
      while (!p.done()) {
        const uint64_t k = p.Varint();
        const int f = static_cast<int>(k >> 3), w = static_cast<int>(k & 7);
        if (f == 1 && w == 2) {
          piece.text = std::string(p.Bytes(p.Varint()));
        } else if (f == 2 && w == 5) {
          const std::string_view b = p.Bytes(4);
          if (b.size() == 4) std::memcpy(&piece.score, b.data(), 4);  // little-endian
        } else if (f == 3 && w == 0) {
          piece.type = static_cast<int>(p.Varint());
        } else {
          p.Skip(w);
        }
      }
      if (p.failed()) return false;
      model.pieces.push_back(std::move(piece));
    } else if (field == 3 && wire == 2) {  // NormalizerSpec
      ProtoReader n(top.Bytes(top.Varint()));
      while (!n.done()) {
        const uint64_t k = n.Varint();
        const int f = static_cast<int>(k >> 3), w = static_cast<int>(k & 7);
        if (f == 1 && w == 2) {
          model.normalizer = std::string(n.Bytes(n.Varint()));
        } else if (f == 3 && w == 0) {
          model.add_dummy_prefix = n.Varint() != 0;
        } else {
          n.Skip(w);
        }
      }
      if (n.failed()) return false;
    } else {
      top.Skip(wire);
    }
  }
  return !top.failed() && !model.pieces.empty();
}

// Parses spm_encode's output: one line of space-separated ids per input line.
std::vector<std::vector<int32_t>> ParseIdLines(const std::string& out) {
  std::vector<std::vector<int32_t>> lines(1);
  int32_t v = 0;
  bool in_number = false;
  for (char c : out) {
    if (c >= '0' && c <= '9') {
      v = v * 10 + (c - '0');
      in_number = true;
      continue;
    }
    if (in_number) lines.back().push_back(v);
    v = 0;
    in_number = false;
    if (c == '\n') lines.emplace_back();
  }
  if (in_number) lines.back().push_back(v);
  if (lines.back().empty()) lines.pop_back();
  return lines;
}

class SpmReference : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string corpus = testing::TokenizerDir() + "/testdata/spm_corpus.txt";
    // Llama's SentencePiece options, with a small vocabulary so that
    // training takes a fraction of a second.
    ProgramResult r = RunProgram(
        {"spm_train", "--input=" + corpus, "--model_prefix=" + dir_.File("m"),
         "--model_type=bpe", "--vocab_size=3000", "--byte_fallback=true",
         "--normalization_rule_name=identity", "--remove_extra_whitespaces=false",
         "--add_dummy_prefix=true", "--split_digits=true", "--character_coverage=0.9995",
         "--num_threads=1", "--minloglevel=2"});
    ASSERT_EQ(r.exit_code, 0)
        << "spm_train failed (Debian package `sentencepiece`, installed by "
           "scripts/setup.sh):\n"
        << r.err;
    ASSERT_TRUE(ParseSpmModel(edgebench::testing::ReadFile(dir_.File("m.model")), model_))
        << "cannot read " << dir_.File("m.model");
    ASSERT_EQ(model_.normalizer, "identity");

    // The metadata llama.cpp's converter writes for a SentencePiece model.
    gguf::GgufWriter w;
    std::vector<std::string> tokens;
    std::vector<float> scores;
    std::vector<int32_t> types;
    for (const SpmPiece& p : model_.pieces) {
      tokens.push_back(p.text);
      scores.push_back(p.score);
      types.push_back(p.type);
    }
    w.SetString("tokenizer.ggml.model", "llama");
    w.SetString("tokenizer.ggml.pre", "default");
    w.SetStringArray("tokenizer.ggml.tokens", tokens);
    w.SetFloat32Array("tokenizer.ggml.scores", scores);
    w.SetInt32Array("tokenizer.ggml.token_type", types);
    w.SetUint32("tokenizer.ggml.unknown_token_id", 0);
    w.SetUint32("tokenizer.ggml.bos_token_id", 1);
    w.SetUint32("tokenizer.ggml.eos_token_id", 2);
    w.SetBool("tokenizer.ggml.add_space_prefix", model_.add_dummy_prefix);
    ASSERT_TRUE(w.Write(dir_.File("spm.gguf"), [](size_t, std::vector<uint8_t>&) {
                   return Status::Ok();
                 }).ok());
    auto file = gguf::GgufFile::Open(dir_.File("spm.gguf"));
    ASSERT_TRUE(file.ok()) << file.status().ToString();
    auto tok = Tokenizer::FromGguf(**file);
    ASSERT_TRUE(tok.ok()) << tok.status().ToString();
    tok_ = std::move(tok).value();
  }

  // spm_encode's ids for each text (one text a line, so none may hold '\n').
  std::vector<std::vector<int32_t>> SpmEncode(const std::vector<std::string>& texts) {
    std::string input;
    for (const std::string& t : texts) input += t + "\n";
    ProgramResult r = RunProgram({"spm_encode", "--model=" + dir_.File("m.model"),
                                  "--output_format=id", "--minloglevel=2"},
                                 input);
    EXPECT_EQ(r.exit_code, 0) << "spm_encode failed:\n" << r.err;
    auto ids = ParseIdLines(r.out);
    // Trailing empty texts give trailing empty lines, which ParseIdLines
    // cannot tell from the end of the output.
    while (ids.size() < texts.size()) ids.emplace_back();
    EXPECT_EQ(ids.size(), texts.size());
    return ids;
  }

  TempDir dir_;
  SpmModel model_;
  std::unique_ptr<Tokenizer> tok_;
};

TEST_F(SpmReference, ModelHasLlamaShape) {
  // unk, bos, eos, then the 256 byte pieces (byte fallback), then merges.
  ASSERT_GT(model_.pieces.size(), 259u);
  EXPECT_EQ(model_.pieces[0].type, 2);
  EXPECT_EQ(model_.pieces[1].type, 3);
  EXPECT_EQ(model_.pieces[2].type, 3);
  EXPECT_EQ(model_.pieces[3].text, "<0x00>");
  EXPECT_EQ(model_.pieces[3].type, 6);
  EXPECT_EQ(tok_->n_vocab(), 3000);
  EXPECT_EQ(tok_->bos(), 1);
  EXPECT_TRUE(tok_->IsEog(2));
}

TEST_F(SpmReference, IdsMatchSpmEncode) {
  std::vector<std::string> texts;
  std::vector<std::string> categories;
  for (const std::string& line :
       testing::ReadLines(testing::TokenizerDir() + "/testdata/spm_corpus.txt")) {
    texts.push_back(line);
    categories.push_back("corpus");
  }
  size_t skipped_newline = 0;
  for (const auto& t : testing::EdgeCaseTexts()) {
    // spm_encode reads one text a line; texts with newlines are covered by
    // the llama vocabulary's reference ids and the npm references.
    if (t.text.find('\n') != std::string::npos) {
      ++skipped_newline;
      continue;
    }
    texts.push_back(t.text);
    categories.push_back(t.category);
  }
  // Characters the 3000-piece vocabulary lacks: byte fallback everywhere.
  for (const char* t : {"Ω≈ç√∫˜µ≤≥÷", "ᚠᛇᚻ᛫ᛒᛦᚦ", "ⴰⵣⵓⵍ", "ꦲꦏ꧀ꦱꦫ", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "zzzqqqxxjj",
                        "Qwfpgj Zxcvb Mnbvc", "\xC2\xA9\xC2\xAE\xE2\x84\xA2"}) {
    texts.push_back(t);
    categories.push_back("byte-fallback");
  }

  // Random strings over an alphabet of pieces, characters and separators
  // that interact at merge boundaries.
  const std::vector<std::string> alphabet = {
      "a",      "e",    "t",      "h",      "the",    "ing",   "and",  " ",
      " ",      " ",    "  ",     "\t",     "\r",     ".",     ",",    "'",
      "1",      "2",    "0",      "é",      "ö",      "中",    "道",   "あ",
      "ש",      "🦙", "\u0301", "\u00A0", "\u3000", "<s>",   "</s>", "<unk>",
      "<0x41>", "\x01", "\uE000", "\u2581", "\u0085", "\uFEFF"};
  std::mt19937 rng(2024);
  for (int i = 0; i < 400; ++i) {
    std::string s;
    for (size_t n = rng() % 12; n > 0; --n) s += alphabet[rng() % alphabet.size()];
    texts.push_back(s);
    categories.push_back("random");
  }

  const auto reference = SpmEncode(texts);
  ASSERT_EQ(reference.size(), texts.size());
  size_t matched = 0, byte_fallback_cases = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    const auto ours =
        tok_->Encode(texts[i], /*add_special=*/false, /*parse_special=*/false);
    EXPECT_EQ(IdsToString(ours), IdsToString(reference[i]))
        << categories[i] << " " << Escape(texts[i]);
    matched += ours == reference[i];
    byte_fallback_cases += std::any_of(ours.begin(), ours.end(), [&](int32_t id) {
      return tok_->token_type(id) == TokenType::kByte;
    });
    // And back: the dummy prefix is dropped again. A literal "▁" in the text
    // cannot come back; it reads as a space (SentencePiece's decoder agrees).
    if (texts[i].find("\xE2\x96\x81") == std::string::npos) {
      EXPECT_EQ(tok_->Decode(ours), texts[i]) << Escape(texts[i]);
    }
  }
  std::printf(
      "spm_encode: %zu of %zu texts match (%zu use byte fallback; %zu texts with "
      "newlines left to the other references)\n",
      matched, texts.size(), byte_fallback_cases, skipped_newline);
  EXPECT_GT(byte_fallback_cases, 20u);
}

// With BOS/EOS requested the ids are spm_encode's with its bos:eos option.
TEST_F(SpmReference, SpecialTokensMatchSpmEncodeExtraOptions) {
  const std::vector<std::string> texts = {"Hello world", " two  spaces", ""};
  std::string input;
  for (const auto& t : texts) input += t + "\n";
  ProgramResult r =
      RunProgram({"spm_encode", "--model=" + dir_.File("m.model"), "--output_format=id",
                  "--extra_options=bos:eos", "--minloglevel=2"},
                 input);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto reference = ParseIdLines(r.out);
  ASSERT_EQ(reference.size(), texts.size());
  gguf::GgufWriter w;  // the same vocabulary with add_eos_token on
  auto file = gguf::GgufFile::Open(dir_.File("spm.gguf"));
  ASSERT_TRUE(file.ok());
  for (const auto& [key, value] : (*file)->metadata())
    w.CopyValue(std::string(key), value);
  w.SetBool("tokenizer.ggml.add_eos_token", true);
  auto tok = testing::TokenizerFromWriter(w, "spm-eos.gguf");
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  for (size_t i = 0; i < texts.size(); ++i) {
    EXPECT_EQ(IdsToString((*tok)->Encode(texts[i], true, false)),
              IdsToString(reference[i]))
        << Escape(texts[i]);
  }
}

}  // namespace
}  // namespace edgebench::native
