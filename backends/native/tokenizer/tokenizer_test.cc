#include "backends/native/tokenizer/tokenizer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <thread>

#include "backends/native/tokenizer/internal/pretokenize.h"
#include "backends/native/tokenizer/internal/unicode.h"
#include "backends/native/tokenizer/tokenizer_testing.h"

namespace edgebench::native {
namespace {

using testing::EdgeCaseTexts;
using testing::Escape;
using ::testing::HasSubstr;
using testing::IdsToString;
using testing::TokenizerFromWriter;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// ---- the real vocabularies in backends/native/vocab (reference: the ids
// Hugging Face's tokenizers produce, shipped with llama.cpp) ----

struct VocabCase {
  std::string text;
  std::vector<int32_t> ids;
};

std::vector<VocabCase> ReadVocabCases(const std::string& name) {
  const std::string base = testing::VocabDir() + "/" + name;
  const std::string inp = Slurp(base + ".inp");
  const std::string out = Slurp(base + ".out");
  std::vector<VocabCase> cases;
  const std::string sep = "\n__ggml_vocab_test__\n";
  for (size_t at = 0;;) {
    const size_t next = inp.find(sep, at);
    cases.push_back(
        {inp.substr(at, next == std::string::npos ? std::string::npos : next - at), {}});
    if (next == std::string::npos) break;
    at = next + sep.size();
  }
  std::istringstream lines(out);
  std::string line;
  for (size_t i = 0; std::getline(lines, line); ++i) {
    if (i >= cases.size()) break;
    std::istringstream nums(line);
    for (int32_t id; nums >> id;) cases[i].ids.push_back(id);
  }
  return cases;
}

std::unique_ptr<Tokenizer> LoadVocab(const std::string& name) {
  auto file = gguf::GgufFile::Open(testing::VocabDir() + "/" + name);
  EXPECT_TRUE(file.ok()) << file.status().ToString();
  if (!file.ok()) return nullptr;
  auto tok = Tokenizer::FromGguf(**file);
  EXPECT_TRUE(tok.ok()) << tok.status().ToString();
  return tok.ok() ? std::move(tok).value() : nullptr;
}

// Every reference case must match exactly, with parse_special off (as
// llama.cpp's test-tokenizer-0 runs them) and on (no input holds a control
// token's text, so it must not matter).
void ExpectVocabCases(const std::string& name, size_t expected_cases) {
  auto tok = LoadVocab(name + ".gguf");
  ASSERT_NE(tok, nullptr);
  const auto cases = ReadVocabCases(name + ".gguf");
  ASSERT_EQ(cases.size(), expected_cases) << "reference files of " << name << " changed?";
  int matched = 0;
  for (const VocabCase& c : cases) {
    const auto plain =
        tok->Encode(c.text, /*add_special=*/false, /*parse_special=*/false);
    const auto parsed =
        tok->Encode(c.text, /*add_special=*/false, /*parse_special=*/true);
    EXPECT_EQ(IdsToString(plain), IdsToString(c.ids)) << Escape(c.text);
    EXPECT_EQ(IdsToString(parsed), IdsToString(c.ids)) << Escape(c.text);
    matched += plain == c.ids;
  }
  std::printf("%s: %d of %zu reference cases match\n", name.c_str(), matched,
              cases.size());
}

TEST(LlamaSpmVocab, MatchesReferenceIds) { ExpectVocabCases("ggml-vocab-llama-spm", 47); }
TEST(Gpt2Vocab, MatchesReferenceIds) { ExpectVocabCases("ggml-vocab-gpt-2", 47); }

TEST(LlamaSpmVocab, Metadata) {
  auto tok = LoadVocab("ggml-vocab-llama-spm.gguf");
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->model(), "llama");
  EXPECT_EQ(tok->n_vocab(), 32000);
  EXPECT_EQ(tok->bos(), 1);
  EXPECT_EQ(tok->eos(), 2);
  EXPECT_EQ(tok->unk(), 0);
  EXPECT_TRUE(tok->add_bos());
  EXPECT_FALSE(tok->add_eos());
  EXPECT_TRUE(tok->add_space_prefix());
  EXPECT_TRUE(tok->IsEog(2));
  EXPECT_FALSE(tok->IsEog(1));
  EXPECT_FALSE(tok->IsEog(13));
  EXPECT_EQ(tok->TokenText(13), "<0x0A>");
  EXPECT_EQ(tok->token_type(13), TokenType::kByte);
  EXPECT_EQ(tok->TokenToPiece(13), "\n");
  EXPECT_EQ(tok->TokenToPiece(1), "");
  EXPECT_EQ(tok->TokenToPiece(1, /*special=*/true), "<s>");
  EXPECT_EQ(tok->TokenToPiece(0, /*special=*/true), "<unk>");
  EXPECT_EQ(tok->TokenToPiece(-1), "");
  EXPECT_EQ(tok->TokenToPiece(32000), "");
  const int32_t hello = tok->FindToken("\xE2\x96\x81Hello");
  ASSERT_GE(hello, 0);
  EXPECT_EQ(tok->TokenToPiece(hello), " Hello");
}

TEST(LlamaSpmVocab, AddSpecialAndSpecialTokensInText) {
  auto tok = LoadVocab("ggml-vocab-llama-spm.gguf");
  ASSERT_NE(tok, nullptr);
  const int32_t hello = tok->FindToken("\xE2\x96\x81Hello");
  EXPECT_EQ(tok->Encode("Hello", true, false), (std::vector<int32_t>{1, hello}));
  EXPECT_EQ(tok->Encode("", true, false), (std::vector<int32_t>{1}));
  EXPECT_EQ(tok->Encode("", false, false), (std::vector<int32_t>{}));
  // A control token in the text is one id only when asked for, and the text
  // after it gets the dummy prefix again (as llama.cpp does).
  EXPECT_EQ(tok->Encode("<s>Hello</s>", false, true),
            (std::vector<int32_t>{1, hello, 2}));
  const auto plain = tok->Encode("<s>Hello", false, false);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 1), 0) << IdsToString(plain);
  EXPECT_EQ(tok->Decode(plain), "<s>Hello");
  EXPECT_EQ(tok->Decode(std::vector<int32_t>{1, hello, 2}, /*skip_special=*/false),
            "<s> Hello</s>");
}

TEST(Gpt2Vocab, Metadata) {
  auto tok = LoadVocab("ggml-vocab-gpt-2.gguf");
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->model(), "gpt2");
  EXPECT_EQ(tok->pre(), "gpt-2");
  EXPECT_EQ(tok->n_vocab(), 50257);
  EXPECT_EQ(tok->bos(), 50256);
  EXPECT_EQ(tok->eos(), 50256);
  EXPECT_EQ(tok->unk(), -1);
  EXPECT_FALSE(tok->add_bos());
  EXPECT_FALSE(tok->add_space_prefix());
  EXPECT_TRUE(tok->IsEog(50256));
  EXPECT_FALSE(tok->IsEog(198));
  EXPECT_EQ(tok->TokenText(198), "\xC4\x8A");  // "Ċ", GPT-2's character for '\n'
  EXPECT_EQ(tok->TokenToPiece(198), "\n");
  EXPECT_EQ(tok->TokenToPiece(50256), "");
  EXPECT_EQ(tok->TokenToPiece(50256, true), "<|endoftext|>");
  EXPECT_EQ(tok->Encode("Hello", /*add_special=*/true, false),
            (std::vector<int32_t>{15496}));
  EXPECT_EQ(tok->Encode("a<|endoftext|>b", false, true),
            (std::vector<int32_t>{64, 50256, 65}));
  const auto plain = tok->Encode("a<|endoftext|>b", false, false);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 50256), 0) << IdsToString(plain);
  EXPECT_EQ(tok->Decode(plain), "a<|endoftext|>b");
}

// llama.cpp's "default" pre-tokenizer chain has no other reference than
// llama.cpp: its ids for the GPT-2 vocabulary with tokenizer.ggml.pre set to
// "default", recorded with llama.cpp 3f545be (testdata/README.md).
TEST(Gpt2Vocab, DefaultPreTokenizerMatchesLlamaCpp) {
  auto file = gguf::GgufFile::Open(testing::VocabDir() + "/ggml-vocab-gpt-2.gguf");
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  gguf::GgufWriter w;
  for (const auto& [key, value] : (*file)->metadata()) w.CopyValue(std::string(key), value);
  w.SetString("tokenizer.ggml.pre", "default");
  auto tok = TokenizerFromWriter(w, "gpt-2-default.gguf");
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  std::ifstream in(testing::TokenizerDir() + "/testdata/llamacpp_default_pre.json");
  const auto golden = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(golden.is_array() && golden.size() > 200) << "testdata/llamacpp_default_pre.json";
  size_t matched = 0;
  for (const auto& e : golden) {
    const std::string text = e["text"].get<std::string>();
    const auto expected = e["ids"].get<std::vector<int32_t>>();
    const auto ours = (*tok)->Encode(text, false, false);
    EXPECT_EQ(IdsToString(ours), IdsToString(expected)) << Escape(text);
    matched += ours == expected;
  }
  std::printf("llama.cpp, pre \"default\": %zu of %zu texts match\n", matched, golden.size());
}

// Decode(Encode(text)) gives the text back: with and without BOS, for the
// reference inputs and the edge-case texts.
void ExpectRoundTrips(const std::string& name) {
  auto tok = LoadVocab(name + ".gguf");
  ASSERT_NE(tok, nullptr);
  std::vector<std::string> texts;
  for (const auto& c : ReadVocabCases(name + ".gguf")) texts.push_back(c.text);
  for (const auto& t : EdgeCaseTexts()) texts.push_back(t.text);
  for (const std::string& text : texts) {
    EXPECT_EQ(tok->Decode(tok->Encode(text, false, false)), text) << Escape(text);
    EXPECT_EQ(tok->Decode(tok->Encode(text, true, false)), text) << Escape(text);
    std::string pieces;
    for (int32_t id : tok->Encode(text, false, false)) pieces += tok->TokenToPiece(id);
    // Pieces are raw: the llama dummy prefix is still there.
    const bool prefix = tok->add_space_prefix() && !text.empty();
    EXPECT_EQ(pieces, (prefix ? " " : "") + text) << Escape(text);
  }
}

TEST(LlamaSpmVocab, RoundTrips) { ExpectRoundTrips("ggml-vocab-llama-spm"); }
TEST(Gpt2Vocab, RoundTrips) { ExpectRoundTrips("ggml-vocab-gpt-2"); }

// Malformed UTF-8 and arbitrary bytes never crash and give ids in range.
TEST(Gpt2Vocab, ArbitraryBytes) {
  auto spm = LoadVocab("ggml-vocab-llama-spm.gguf");
  auto bpe = LoadVocab("ggml-vocab-gpt-2.gguf");
  ASSERT_NE(spm, nullptr);
  ASSERT_NE(bpe, nullptr);
  std::mt19937 rng(7);
  for (int iter = 0; iter < 300; ++iter) {
    std::string text(rng() % 40, '\0');
    for (char& c : text) c = static_cast<char>(rng() % 256);
    for (Tokenizer* tok : {spm.get(), bpe.get()}) {
      for (int32_t id : tok->Encode(text, true, true)) {
        ASSERT_GE(id, 0);
        ASSERT_LT(id, tok->n_vocab());
      }
    }
  }
  // Byte-level BPE reads a malformed byte as U+FFFD, as llama.cpp does.
  EXPECT_EQ(bpe->Decode(bpe->Encode("a\xFF"
                                    "b",
                                    false, false)),
            "a\xEF\xBF\xBD"
            "b");
}

// ---- the pre-tokenizer splits, checked against the regexes run by node
// (JavaScript RegExp with the u flag) when these expectations were written ----

std::vector<std::string> Split(internal::PreTokenizer kind, const std::string& text) {
  std::vector<uint32_t> cpts;
  internal::DecodeUtf8(text, cpts);
  std::vector<uint8_t> flags;
  for (uint32_t c : cpts) flags.push_back(internal::CodepointFlags(c));
  std::vector<internal::Piece> pieces;
  internal::PreTokenize(kind, cpts, flags, pieces);
  std::vector<std::string> out;
  for (const auto& p : pieces) {
    std::string s;
    for (uint32_t i = p.begin; i < p.end; ++i) internal::AppendUtf8(cpts[i], s);
    out.push_back(s);
  }
  return out;
}

TEST(Unicode, CategoriesAndUtf8) {
  using namespace internal;
  EXPECT_EQ(CodepointFlags('a'), kLetter);
  EXPECT_EQ(CodepointFlags(0x4E2D), kLetter);           // 中
  EXPECT_EQ(CodepointFlags(0x0663), kNumber);           // ٣
  EXPECT_EQ(CodepointFlags(0x00BD), kNumber);           // ½
  EXPECT_EQ(CodepointFlags('!'), kPunctuation);
  EXPECT_EQ(CodepointFlags('$'), kSymbol);
  EXPECT_EQ(CodepointFlags(0x0301), kMark);
  EXPECT_EQ(CodepointFlags(' '), kSeparator | kWhitespace);
  EXPECT_EQ(CodepointFlags('\n'), kOther | kWhitespace);
  EXPECT_EQ(CodepointFlags(0x0085), kOther | kWhitespace);  // NEL: White_Space
  EXPECT_EQ(CodepointFlags(0xFEFF), kOther);                // BOM: not White_Space
  EXPECT_EQ(CodepointFlags(0x3000), kSeparator | kWhitespace);
  EXPECT_EQ(CodepointFlags(0x1F999), kSymbol);  // 🦙
  EXPECT_EQ(CodepointFlags(0xE000), kOther);    // private use
  EXPECT_EQ(CodepointFlags(0x0378), 0);         // unassigned
  EXPECT_EQ(CodepointFlags(0x110000), 0);
  for (int b = 0; b < 256; ++b) {
    EXPECT_EQ(Gpt2CodepointToByte(ByteToGpt2Codepoint(static_cast<uint8_t>(b))), b);
  }
  EXPECT_EQ(ByteToGpt2Codepoint(' '), 0x120u);  // "Ġ"
  EXPECT_EQ(ByteToGpt2Codepoint('\n'), 0x10Au);  // "Ċ"
  std::vector<uint32_t> cpts;
  DecodeUtf8("a\xC3\xA9\xF0\x9F\xA6\x99\xFF\xE4\xB8", cpts);
  EXPECT_EQ(cpts, (std::vector<uint32_t>{'a', 0xE9, 0x1F999, 0xFFFD, 0xFFFD, 0xFFFD}));
}

using Words = std::vector<std::string>;

TEST(PreTokenize, Gpt2) {
  using internal::PreTokenizer;
  EXPECT_EQ(Split(PreTokenizer::kGpt2, "Hello world"), (Words{"Hello", " world"}));
  EXPECT_EQ(Split(PreTokenizer::kGpt2, "a   b"), (Words{"a", "  ", " b"}));
  EXPECT_EQ(Split(PreTokenizer::kGpt2, "a \t b"), (Words{"a", " \t", " b"}));
  EXPECT_EQ(Split(PreTokenizer::kGpt2, "end   "), (Words{"end", "   "}));
  EXPECT_EQ(Split(PreTokenizer::kGpt2, "I'm don't DON'T"),
            (Words{"I", "'m", " don", "'t", " DON", "'", "T"}));
  EXPECT_EQ(Split(PreTokenizer::kGpt2, "x 12345 ab12"),
            (Words{"x", " 12345", " ab", "12"}));
  EXPECT_EQ(Split(PreTokenizer::kGpt2, "hi!? ...\n\n x"),
            (Words{"hi", "!?", " ...", "\n\n", " x"}));
  EXPECT_EQ(Split(PreTokenizer::kGpt2, "\n\n\n"), (Words{"\n\n\n"}));
  EXPECT_EQ(Split(PreTokenizer::kGpt2, "\u00e9t\u00e9 \u4f60\u597d"),
            (Words{"\u00e9t\u00e9", " \u4f60\u597d"}));
}

TEST(PreTokenize, Llama3AndQwen2) {
  using internal::PreTokenizer;
  EXPECT_EQ(Split(PreTokenizer::kLlama3, "Hello world"), (Words{"Hello", " world"}));
  EXPECT_EQ(Split(PreTokenizer::kLlama3, "1234567"), (Words{"123", "456", "7"}));
  EXPECT_EQ(Split(PreTokenizer::kQwen2, "1234"), (Words{"1", "2", "3", "4"}));
  EXPECT_EQ(Split(PreTokenizer::kLlama3, "DON'T I'M"), (Words{"DON", "'T", " I", "'M"}));
  EXPECT_EQ(Split(PreTokenizer::kLlama3, "\tword (x)"),
            (Words{"\tword", " (", "x", ")"}));
  EXPECT_EQ(Split(PreTokenizer::kLlama3, "a  \n\n  b"),
            (Words{"a", "  \n\n", " ", " b"}));
  EXPECT_EQ(Split(PreTokenizer::kLlama3, "x;\n\ny"), (Words{"x", ";\n\n", "y"}));
  EXPECT_EQ(Split(PreTokenizer::kLlama3, "a   "), (Words{"a", "   "}));
  EXPECT_EQ(Split(PreTokenizer::kLlama3, "'sup"), (Words{"'s", "up"}));
  EXPECT_EQ(Split(PreTokenizer::kLlama3, "$100"), (Words{"$", "100"}));
  EXPECT_EQ(Split(PreTokenizer::kLlama3, " 42"), (Words{" ", "42"}));
}

TEST(PreTokenize, LlamaCppDefaultChain) {
  // [\p{P}$+<=>^~|]+ first, then GPT-2's regex, \p{N}+ and [0-9]{3}.
  using internal::PreTokenizer;
  EXPECT_EQ(Split(PreTokenizer::kDefault, "Hello, world!"),
            (Words{"Hello", ",", " world", "!"}));
  EXPECT_EQ(Split(PreTokenizer::kDefault, " 1234567 x"),
            (Words{" ", "123", "456", "7", " x"}));
  EXPECT_EQ(Split(PreTokenizer::kDefault, "a+=b`c"), (Words{"a", "+=", "b", "`", "c"}));
}

// ---- invalid metadata: an error naming the file and the key, never a crash ----

// A small valid SentencePiece vocabulary: specials, all 256 byte tokens and a
// few pieces.
gguf::GgufWriter SpmWriter() {
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
  std::vector<int32_t> types = {2, 3, 3};
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    tokens.push_back(buf);
    types.push_back(6);
  }
  for (const char* t : {"\xE2\x96\x81", "a", "b",
                        "\xE2\x96\x81"
                        "a",
                        "ab"}) {
    tokens.push_back(t);
    types.push_back(1);
  }
  std::vector<float> scores(tokens.size(), 0.0f);
  gguf::GgufWriter w;
  w.SetString("tokenizer.ggml.model", "llama");
  w.SetStringArray("tokenizer.ggml.tokens", tokens);
  w.SetFloat32Array("tokenizer.ggml.scores", scores);
  w.SetInt32Array("tokenizer.ggml.token_type", types);
  return w;
}

// A small valid byte-level BPE vocabulary: GPT-2's 256 byte characters, one
// merge and an end-of-text token.
gguf::GgufWriter BpeWriter() {
  std::vector<std::string> tokens;
  for (int b = 0; b < 256; ++b) {
    std::string s;
    internal::AppendUtf8(internal::ByteToGpt2Codepoint(static_cast<uint8_t>(b)), s);
    tokens.push_back(s);
  }
  tokens.push_back("ab");
  tokens.push_back("<|endoftext|>");
  std::vector<int32_t> types(tokens.size(), 1);
  types.back() = 3;
  gguf::GgufWriter w;
  w.SetString("tokenizer.ggml.model", "gpt2");
  w.SetString("tokenizer.ggml.pre", "gpt-2");
  w.SetStringArray("tokenizer.ggml.tokens", tokens);
  w.SetInt32Array("tokenizer.ggml.token_type", types);
  w.SetStringArray("tokenizer.ggml.merges", {"a b"});
  w.SetUint32("tokenizer.ggml.eos_token_id", 257);
  return w;
}

TEST(Metadata, SmallVocabulariesLoad) {
  auto spm = TokenizerFromWriter(SpmWriter(), "spm.gguf");
  ASSERT_TRUE(spm.ok()) << spm.status().ToString();
  EXPECT_EQ((*spm)->Encode("ab a", false, false),
            (std::vector<int32_t>{(*spm)->FindToken("\xE2\x96\x81"
                                                    "a"),
                                  (*spm)->FindToken("b"),
                                  (*spm)->FindToken("\xE2\x96\x81"
                                                    "a")}));
  auto bpe = TokenizerFromWriter(BpeWriter(), "bpe.gguf");
  ASSERT_TRUE(bpe.ok()) << bpe.status().ToString();
  EXPECT_EQ((*bpe)->Encode("abc", false, false), (std::vector<int32_t>{256, 'c'}));
  EXPECT_TRUE((*bpe)->IsEog(257));
}

TEST(Metadata, DefaultsFollowLlamaCpp) {
  // add_bos: on for llama, off for gpt2, on for the Llama 3 pre-tokenizers.
  gguf::GgufWriter w = BpeWriter();
  auto gpt2 = TokenizerFromWriter(w, "gpt2.gguf");
  ASSERT_TRUE(gpt2.ok()) << gpt2.status().ToString();
  EXPECT_FALSE((*gpt2)->add_bos());
  EXPECT_EQ((*gpt2)->bos(), -1);
  w.SetString("tokenizer.ggml.pre", "llama-bpe");
  w.SetUint32("tokenizer.ggml.bos_token_id", 256);
  auto llama3 = TokenizerFromWriter(w, "llama3.gguf");
  ASSERT_TRUE(llama3.ok()) << llama3.status().ToString();
  EXPECT_TRUE((*llama3)->add_bos());
  EXPECT_EQ((*llama3)->Encode("ab", true, false), (std::vector<int32_t>{256, 256}));
  w.SetBool("tokenizer.ggml.add_bos_token", false);
  auto no_bos = TokenizerFromWriter(w, "no-bos.gguf");
  ASSERT_TRUE(no_bos.ok());
  EXPECT_FALSE((*no_bos)->add_bos());
  // A missing pre-tokenizer is llama.cpp's "default".
  gguf::GgufWriter d = BpeWriter();
  d.SetStringArray("tokenizer.ggml.tokens", {"a", "b", "ab"});
  d.SetInt32Array("tokenizer.ggml.token_type", {1, 1, 1});
  gguf::GgufWriter none;
  for (const char* key : {"tokenizer.ggml.model", "tokenizer.ggml.tokens",
                          "tokenizer.ggml.token_type", "tokenizer.ggml.merges"}) {
    auto bytes = d.ToBytes([](size_t, std::vector<uint8_t>&) { return Status::Ok(); });
    ASSERT_TRUE(bytes.ok());
    auto f = gguf::GgufFile::FromBytes("d.gguf", std::move(*bytes));
    ASSERT_TRUE(f.ok());
    none.CopyValue(key, *(*f)->Find(key));
  }
  auto def = TokenizerFromWriter(none, "default.gguf");
  ASSERT_TRUE(def.ok()) << def.status().ToString();
  EXPECT_EQ((*def)->pre(), "default");
}

TEST(Metadata, EndOfGenerationTokens) {
  // Chat-model end tokens count as end of generation by their text, and are
  // control tokens even when the file calls them normal (as in llama.cpp).
  gguf::GgufWriter w = BpeWriter();
  std::vector<std::string> tokens;
  for (int b = 0; b < 256; ++b) {
    std::string s;
    internal::AppendUtf8(internal::ByteToGpt2Codepoint(static_cast<uint8_t>(b)), s);
    tokens.push_back(s);
  }
  for (const char* t :
       {"<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|fim_pad|>", "<think>"}) {
    tokens.push_back(t);
  }
  std::vector<int32_t> types(tokens.size(), 1);
  types[257] = 3;  // <|im_start|>
  types[260] = 4;  // <think>
  w.SetStringArray("tokenizer.ggml.tokens", tokens);
  w.SetInt32Array("tokenizer.ggml.token_type", types);
  w.SetStringArray("tokenizer.ggml.merges", {});
  w.SetString("tokenizer.ggml.pre", "qwen2");
  w.SetUint32("tokenizer.ggml.eos_token_id", 256);
  auto tok = TokenizerFromWriter(w, "chat.gguf");
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  EXPECT_TRUE((*tok)->IsEog(256));   // eos, <|endoftext|>
  EXPECT_FALSE((*tok)->IsEog(257));  // <|im_start|>
  EXPECT_TRUE((*tok)->IsEog(258));   // <|im_end|>
  EXPECT_TRUE((*tok)->IsEog(259));   // <|fim_pad|>
  EXPECT_FALSE((*tok)->IsEog(260));
  EXPECT_EQ((*tok)->eot(), 258);
  EXPECT_EQ((*tok)->token_type(258), TokenType::kControl);
  // Control tokens in text only with parse_special; user-defined always.
  EXPECT_EQ((*tok)->Encode("<|im_end|><think>", false, true),
            (std::vector<int32_t>{258, 260}));
  const auto plain = (*tok)->Encode("<|im_end|><think>", false, false);
  EXPECT_EQ(plain.back(), 260);
  EXPECT_GT(plain.size(), 2u);
  EXPECT_EQ((*tok)->TokenToPiece(258), "");
  EXPECT_EQ((*tok)->TokenToPiece(260), "<think>");
}

// Longest special token first, then left to right, as llama.cpp partitions.
TEST(Metadata, OverlappingSpecialTokens) {
  gguf::GgufWriter w = BpeWriter();
  std::vector<std::string> tokens;
  for (int b = 0; b < 256; ++b) {
    std::string s;
    internal::AppendUtf8(internal::ByteToGpt2Codepoint(static_cast<uint8_t>(b)), s);
    tokens.push_back(s);
  }
  for (const char* t : {"AB", "BCD", "aa"}) tokens.push_back(t);
  w.SetStringArray("tokenizer.ggml.tokens", tokens);
  w.SetInt32Array("tokenizer.ggml.token_type", std::vector<int32_t>(tokens.size(), 4));
  w.SetStringArray("tokenizer.ggml.merges", {});
  auto tok = TokenizerFromWriter(w, "overlap.gguf");
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  // "BCD" (longer) wins over the earlier "AB"; "aa" repeats without overlap.
  EXPECT_EQ((*tok)->Encode("ABCD", false, false), (std::vector<int32_t>{'A', 257}));
  EXPECT_EQ((*tok)->Encode("aaaaa", false, false), (std::vector<int32_t>{258, 258, 'a'}));
}

// Encode and Decode are const and share nothing: many threads, same answers.
TEST(Concurrency, EncodeFromManyThreads) {
  auto tok = LoadVocab("ggml-vocab-llama-spm.gguf");
  ASSERT_NE(tok, nullptr);
  std::vector<std::string> texts;
  for (const auto& t : EdgeCaseTexts()) texts.push_back(t.text);
  std::vector<std::vector<int32_t>> expected;
  std::vector<std::string> decoded;
  for (const auto& t : texts) {
    expected.push_back(tok->Encode(t, true, true));
    decoded.push_back(tok->Decode(expected.back()));
  }
  std::vector<std::thread> threads;
  std::vector<int> bad(4, 0);
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&, k] {
      for (int rep = 0; rep < 20; ++rep) {
        for (size_t i = 0; i < texts.size(); ++i) {
          bad[k] += tok->Encode(texts[i], true, true) != expected[i];
          bad[k] += tok->Decode(expected[i]) != decoded[i];
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(bad, std::vector<int>(4, 0));
}

struct BadCase {
  std::string name;
  std::function<void(gguf::GgufWriter&)> edit;
  std::string key;  // must appear in the message
  bool bpe = false;
};

std::vector<std::string> ManyTokens(size_t n) {
  std::vector<std::string> t;
  for (size_t i = 0; i < n; ++i) t.push_back("t" + std::to_string(i));
  return t;
}

TEST(Metadata, InvalidMetadataIsAnErrorNamingFileAndKey) {
  const std::vector<BadCase> cases = {
      {"no model",
       [](auto& w) {
         w = gguf::GgufWriter();
         w.SetStringArray("tokenizer.ggml.tokens", {"a"});
       },
       "tokenizer.ggml.model"},
      {"unknown model", [](auto& w) { w.SetString("tokenizer.ggml.model", "bert"); },
       "tokenizer.ggml.model"},
      {"model not a string", [](auto& w) { w.SetUint32("tokenizer.ggml.model", 1); },
       "tokenizer.ggml.model"},
      {"no tokens",
       [](auto& w) {
         w = gguf::GgufWriter();
         w.SetString("tokenizer.ggml.model", "llama");
       },
       "tokenizer.ggml.tokens"},
      {"tokens not strings",
       [](auto& w) {
         w.SetInt32Array("tokenizer.ggml.tokens", {1, 2});
       },
       "tokenizer.ggml.tokens"},
      {"tokens empty",
       [](auto& w) {
         w = gguf::GgufWriter();
         w.SetString("tokenizer.ggml.model", "llama");
         w.SetStringArray("tokenizer.ggml.tokens", {});
       },
       "tokenizer.ggml.tokens"},
      {"duplicate token",
       [](auto& w) {
         w.SetStringArray("tokenizer.ggml.tokens", {"a", "b", "a"});
       },
       "tokenizer.ggml.tokens"},
      {"scores too short",
       [](auto& w) { w.SetFloat32Array("tokenizer.ggml.scores", {0.0f}); },
       "tokenizer.ggml.scores"},
      {"scores not numbers",
       [](auto& w) { w.SetStringArray("tokenizer.ggml.scores", {"x"}); },
       "tokenizer.ggml.scores"},
      {"types too long",
       [](auto& w) {
         w.SetInt32Array("tokenizer.ggml.token_type", std::vector<int32_t>(999, 1));
       },
       "tokenizer.ggml.token_type"},
      {"type out of range",
       [](auto& w) {
         std::vector<int32_t> t(264, 1);
         t[5] = 9;
         w.SetInt32Array("tokenizer.ggml.token_type", t);
       },
       "tokenizer.ggml.token_type"},
      {"byte type on a non-byte token",
       [](auto& w) {
         std::vector<int32_t> t(264, 1);
         t[0] = 6;
         w.SetInt32Array("tokenizer.ggml.token_type", t);
       },
       "tokenizer.ggml.token_type"},
      {"bos out of range",
       [](auto& w) { w.SetUint32("tokenizer.ggml.bos_token_id", 264); },
       "tokenizer.ggml.bos_token_id"},
      {"eos negative", [](auto& w) { w.SetInt32("tokenizer.ggml.eos_token_id", -1); },
       "tokenizer.ggml.eos_token_id"},
      {"unk huge",
       [](auto& w) { w.SetUint64("tokenizer.ggml.unknown_token_id", 1ull << 40); },
       "tokenizer.ggml.unknown_token_id"},
      {"eot out of range",
       [](auto& w) { w.SetUint32("tokenizer.ggml.eot_token_id", 100000); },
       "tokenizer.ggml.eot_token_id"},
      {"add_bos not a bool",
       [](auto& w) { w.SetString("tokenizer.ggml.add_bos_token", "yes"); },
       "tokenizer.ggml.add_bos_token"},
      {"add_bos without a bos",
       [](auto& w) {
         w.SetStringArray("tokenizer.ggml.tokens", {"x"});
         w.SetFloat32Array("tokenizer.ggml.scores", {0.0f});
         w.SetInt32Array("tokenizer.ggml.token_type", {1});
       },
       "tokenizer.ggml.add_bos_token"},
      {"prefix flag not a bool",
       [](auto& w) { w.SetUint32("tokenizer.ggml.add_space_prefix", 1); },
       "tokenizer.ggml.add_space_prefix"},
      {"no merges",
       [](auto& w) {
         gguf::GgufWriter n;
         n.SetString("tokenizer.ggml.model", "gpt2");
         n.SetStringArray("tokenizer.ggml.tokens", {"a", "b"});
         w = n;
       },
       "tokenizer.ggml.merges", true},
      {"merges not strings",
       [](auto& w) { w.SetInt32Array("tokenizer.ggml.merges", {1}); },
       "tokenizer.ggml.merges", true},
      {"merge without a space",
       [](auto& w) {
         w.SetStringArray("tokenizer.ggml.merges", {"a b", "ab"});
       },
       "tokenizer.ggml.merges", true},
      {"merge names an unknown token",
       [](auto& w) { w.SetStringArray("tokenizer.ggml.merges", {"a zz"}); },
       "tokenizer.ggml.merges", true},
      {"merge of one space",
       [](auto& w) { w.SetStringArray("tokenizer.ggml.merges", {" "}); },
       "tokenizer.ggml.merges", true},
      {"unknown pre-tokenizer",
       [](auto& w) { w.SetString("tokenizer.ggml.pre", "klingon"); },
       "tokenizer.ggml.pre", true},
      {"pre not a string", [](auto& w) { w.SetUint32("tokenizer.ggml.pre", 3); },
       "tokenizer.ggml.pre", true},
      {"bpe add_bos without a bos",
       [](auto& w) { w.SetBool("tokenizer.ggml.add_bos_token", true); },
       "tokenizer.ggml.add_bos_token", true},
      {"bpe add_eos without an eos",
       [](auto& w) {
         gguf::GgufWriter n;
         n.SetString("tokenizer.ggml.model", "gpt2");
         n.SetString("tokenizer.ggml.pre", "qwen2");
         n.SetStringArray("tokenizer.ggml.tokens", {"a", "b"});
         n.SetStringArray("tokenizer.ggml.merges", {"a b"});
         n.SetBool("tokenizer.ggml.add_eos_token", true);
         w = n;
       },
       "tokenizer.ggml.add_eos_token", true},
      {"many tokens, short scores",
       [](auto& w) {
         w.SetStringArray("tokenizer.ggml.tokens", ManyTokens(5000));
         w.SetInt32Array("tokenizer.ggml.token_type", std::vector<int32_t>(5000, 1));
         w.SetFloat32Array("tokenizer.ggml.scores", std::vector<float>(4999));
       },
       "tokenizer.ggml.scores"},
  };
  for (const BadCase& c : cases) {
    gguf::GgufWriter w = c.bpe ? BpeWriter() : SpmWriter();
    c.edit(w);
    auto tok =
        TokenizerFromWriter(w, "bad-" + std::to_string(&c - cases.data()) + ".gguf");
    ASSERT_FALSE(tok.ok()) << c.name;
    const std::string msg = tok.status().message();
    EXPECT_THAT(msg, HasSubstr("bad-" + std::to_string(&c - cases.data()) + ".gguf"))
        << c.name;
    EXPECT_THAT(msg, HasSubstr(c.key)) << c.name << ": " << msg;
  }
}

// Random vocabularies and merges, random text: no crash, ids in range.
TEST(Metadata, RandomVocabulariesNeverCrash) {
  std::mt19937 rng(1234);
  auto random_piece = [&](size_t max_len) {
    std::string s(1 + rng() % max_len, '\0');
    for (char& c : s) c = "ab \xE2\x96\x81<>|sx\n\xC4\xA0"[rng() % 14];
    return s;
  };
  for (int iter = 0; iter < 200; ++iter) {
    const bool bpe = iter % 2;
    std::vector<std::string> tokens;
    std::vector<int32_t> types;
    for (int i = 0; i < 60; ++i) {
      std::string t = random_piece(5);
      if (std::find(tokens.begin(), tokens.end(), t) != tokens.end()) continue;
      tokens.push_back(t);
      types.push_back(static_cast<int32_t>(rng() % 7));
      if (types.back() == 6) types.back() = 1;
    }
    std::vector<std::string> merges;
    for (int i = 0; i < 40; ++i) {
      const std::string& a = tokens[rng() % tokens.size()];
      const std::string& b = tokens[rng() % tokens.size()];
      if (a.find(' ', 1) == std::string::npos && b.find(' ') == std::string::npos) {
        merges.push_back(a + " " + b);
      }
    }
    gguf::GgufWriter w;
    w.SetString("tokenizer.ggml.model", bpe ? "gpt2" : "llama");
    w.SetString(
        "tokenizer.ggml.pre",
        std::vector<std::string>{"gpt-2", "llama-bpe", "qwen2", "default"}[iter % 4]);
    w.SetStringArray("tokenizer.ggml.tokens", tokens);
    w.SetInt32Array("tokenizer.ggml.token_type", types);
    std::vector<float> scores(tokens.size());
    for (float& s : scores) s = static_cast<float>(rng() % 100) - 50.0f;
    w.SetFloat32Array("tokenizer.ggml.scores", scores);
    w.SetStringArray("tokenizer.ggml.merges", merges);
    w.SetBool("tokenizer.ggml.add_bos_token", false);
    auto tok = TokenizerFromWriter(w, "random.gguf");
    if (!tok.ok()) continue;  // e.g. a merge whose parts are not tokens
    for (int k = 0; k < 10; ++k) {
      std::string text = random_piece(30);
      for (int32_t id : (*tok)->Encode(text, true, k % 2)) {
        ASSERT_GE(id, 0);
        ASSERT_LT(id, (*tok)->n_vocab());
      }
      (*tok)->Decode((*tok)->Encode(text, false, true), k % 2).swap(text);
    }
  }
}

// ---- speed: a 512-token prompt well under a millisecond or two, and no
// quadratic blow-up on long inputs ----

std::string Prompt(size_t bytes) {
  const std::string corpus = Slurp(testing::TokenizerDir() + "/testdata/spm_corpus.txt");
  return corpus.substr(0, std::min(bytes, corpus.size()));
}

double MedianEncodeMs(const Tokenizer& tok, const std::string& text, int reps) {
  std::vector<double> ms;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto ids = tok.Encode(text, true, true);
    const auto t1 = std::chrono::steady_clock::now();
    EXPECT_FALSE(ids.empty());
    ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

// Times are asserted only in optimized, unsanitized, native builds; elsewhere
// (Debug, ASan, qemu: EDGEBENCH_TOKENIZER_NO_TIMING) they are only reported.
bool TimingCounts() {
#if defined(NDEBUG) && !defined(__SANITIZE_ADDRESS__)
  return std::getenv("EDGEBENCH_TOKENIZER_NO_TIMING") == nullptr;
#else
  return false;
#endif
}

TEST(Speed, PromptOf512Tokens) {
  for (const char* name : {"ggml-vocab-llama-spm.gguf", "ggml-vocab-gpt-2.gguf"}) {
    auto tok = LoadVocab(name);
    ASSERT_NE(tok, nullptr);
    std::string text = Prompt(2400);
    while (tok->Encode(text, false, false).size() > 512) text.pop_back();
    const size_t n = tok->Encode(text, false, false).size();
    const double ms = MedianEncodeMs(*tok, text, 21);
    std::printf("%s: %zu tokens in %.3f ms (median of 21)\n", name, n, ms);
    EXPECT_GE(n, 400u);
    if (TimingCounts()) {
      EXPECT_LT(ms, 2.0) << name;
    }
  }
}

TEST(Speed, LongInputsScaleLinearly) {
  auto spm = LoadVocab("ggml-vocab-llama-spm.gguf");
  auto bpe = LoadVocab("ggml-vocab-gpt-2.gguf");
  ASSERT_NE(spm, nullptr);
  ASSERT_NE(bpe, nullptr);
  // One huge symbol run, one huge word, one huge whitespace run, and a long
  // text full of special-token look-alikes.
  const std::vector<std::string> texts = {
      std::string(200000, 'a'),
      std::string(200000, ' '),
      std::string(100000, '\n'),
      [] {
        std::string s;
        for (int i = 0; i < 20000; ++i) s += "<s><|endoftext|>< s>";
        return s;
      }(),
  };
  for (const std::string& text : texts) {
    for (Tokenizer* tok : {spm.get(), bpe.get()}) {
      const auto t0 = std::chrono::steady_clock::now();
      const auto ids = tok->Encode(text, false, true);
      const double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
              .count();
      EXPECT_FALSE(ids.empty());
      EXPECT_LT(ms, TimingCounts() ? 2000.0 : 60000.0)
          << tok->model() << " " << text.size();
      EXPECT_EQ(tok->Decode(tok->Encode(text, false, false)), text);
    }
  }
}

}  // namespace
}  // namespace edgebench::native
